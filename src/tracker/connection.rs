//! One connection as the tracker follows it: from its first event or snapshot to its ghost.

use super::transition::{ConnId, Reset, Source, Step, Transition};
use crate::model::{Family, Owner, SocketRecord, TcpState, TimerKind};
use std::net::SocketAddr;

/// One line of a connection's timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimelineEntry {
    pub ts_ns: u64,
    pub from: Step,
    pub to: Step,
    pub source: Source,
    pub reset: Option<Reset>,
}

/// Where the connection is in its life, beyond its TCP state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// A full socket.
    Live,
    /// The tracepoint said FIN_WAIT2→CLOSE or CLOSING→CLOSE: a timewait socket may have
    /// taken over (the tracepoint never reports TIME_WAIT). The next snapshot decides.
    /// `maybe_closed`: the kernel was out of timewait sockets then, so it may be a real close.
    AwaitingTimewait {
        at_ns: u64,
        from: TcpState,
        maybe_closed: bool,
    },
    /// A timewait socket (TIME_WAIT, or FIN_WAIT2 after close()): no events, snapshots only.
    Timewait,
    /// CLOSE: out of the tables, freed when its owner closes the fd (tcp_destroy_sock).
    Closed,
    /// Gone: kept as a ghost for a while.
    Gone,
}

/// Identifies a socket in a snapshot. Listeners also carry their inode, because a
/// SO_REUSEPORT group shares one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct TupleKey {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub listener_inode: u64,
}

impl TupleKey {
    pub fn of_record(rec: &SocketRecord) -> TupleKey {
        let listener_inode = if rec.state == TcpState::Listen {
            rec.inode
        } else {
            0
        };
        TupleKey {
            local: rec.local,
            remote: rec.remote,
            listener_inode,
        }
    }
}

/// A socket in a snapshot that is a timewait socket (no inode, timewait timer).
pub(super) fn is_timewait(rec: &SocketRecord) -> bool {
    rec.inode == 0
        && matches!(rec.state, TcpState::TimeWait | TcpState::FinWait2)
        && rec.timer.is_some_and(|t| t.kind == TimerKind::Timewait)
}

/// The owners of a socket no one was seen to hold: one shared empty list, not one each.
fn no_owners() -> std::sync::Arc<[Owner]> {
    static EMPTY: std::sync::LazyLock<std::sync::Arc<[Owner]>> =
        std::sync::LazyLock::new(|| std::sync::Arc::from([]));
    EMPTY.clone()
}

/// The longest timeline kept; older entries are dropped (counted).
pub const TIMELINE_CAP: usize = 64;

#[derive(Debug, Clone)]
pub struct Connection {
    pub id: ConnId,
    pub family: Family,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub state: Step,
    pub inode: u64,
    /// The owners last seen; kept after the socket loses its inode (TIME_WAIT has none).
    /// Shared with every transition it makes: a reference count, not a copy, per transition.
    pub owners: std::sync::Arc<[Owner]>,
    pub timeline: Vec<TimelineEntry>,
    /// The socket as the last snapshot showed it (queues, timer, tcp_info); boxed, as most
    /// connections a busy host churns through are never in a snapshot.
    pub last_seen: Option<Box<SocketRecord>>,
    pub timeline_dropped: u32,
    pub first_seen_ns: u64,
    /// When it went GONE; a ghost until `closed_ns + ghost time`.
    pub closed_ns: Option<u64>,
    pub(super) phase: Phase,
    pub(super) skaddr: u64,
    /// With its ends, its key in the tracker's 4-tuple map (listeners of a SO_REUSEPORT group
    /// share an address and are told apart by inode).
    pub(super) listener_inode: u64,
    pub(super) last_event_ns: u64,
    /// A snapshot or a process of this namespace vouched for it (see `Tracker`).
    pub(super) confirmed: bool,
    /// Transitions held back until the connection is confirmed (tracefs events only). Boxed:
    /// one pointer in every connection instead of a Vec's three, for the few that wait.
    #[allow(clippy::box_collection)]
    pub(super) pending: Option<Box<Vec<Transition>>>,
    /// When a reset was received, until a →CLOSE within the reset window takes it (0: none).
    pub(super) reset_received: u64,
    /// When a reset was sent with no →CLOSE to attach it to yet (0: none).
    pub(super) reset_sent_pending: u64,
    /// The snapshot generation that last showed it.
    pub(super) seen_gen: u32,
    /// When a snapshot first failed to show it (see `Tracker::apply_partial_snapshot`; 0:
    /// none did).
    pub(super) missed_ns: u64,
    /// For a timewait socket: when its timer runs out, as the last snapshot showed it.
    pub(super) expires_ns: u64,
    /// The connection this one displaced from its 4-tuple (0: none).
    pub(super) prev_on_tuple: ConnId,
}

impl Connection {
    pub(super) fn new(
        id: ConnId,
        family: Family,
        local: SocketAddr,
        remote: SocketAddr,
        state: TcpState,
        ts_ns: u64,
    ) -> Self {
        Connection {
            id,
            family,
            local,
            remote,
            state: Step::State(state),
            inode: 0,
            owners: no_owners(),
            // A whole life (handshake, teardown, gone) is six entries: no regrowth.
            timeline: Vec::with_capacity(6),
            last_seen: None,
            timeline_dropped: 0,
            first_seen_ns: ts_ns,
            closed_ns: None,
            phase: Phase::Live,
            skaddr: 0,
            listener_inode: 0,
            last_event_ns: 0,
            confirmed: false,
            pending: None,
            reset_received: 0,
            reset_sent_pending: 0,
            seen_gen: 0,
            missed_ns: 0,
            expires_ns: 0,
            prev_on_tuple: 0,
        }
    }

    /// Its key in the tracker's 4-tuple map.
    pub(super) fn key(&self) -> TupleKey {
        TupleKey {
            local: self.local,
            remote: self.remote,
            listener_inode: self.listener_inode,
        }
    }

    pub fn is_ghost(&self) -> bool {
        self.phase == Phase::Gone
    }

    /// Records a transition in the timeline and hands it out (or holds it until confirmed).
    pub(super) fn record(
        &mut self,
        out: &mut Vec<Transition>,
        ts_ns: u64,
        to: Step,
        source: Source,
        reset: Option<Reset>,
    ) {
        let from = self.state;
        self.state = to;
        if to == Step::Gone {
            self.phase = Phase::Gone;
            self.closed_ns = Some(ts_ns);
            // A ghost changes no more: give back what it does not use.
            self.last_seen = None;
            self.pending = None;
        }
        if self.timeline.len() == TIMELINE_CAP {
            self.timeline.remove(0);
            self.timeline_dropped += 1;
        }
        self.timeline.push(TimelineEntry {
            ts_ns,
            from,
            to,
            source,
            reset,
        });
        let t = Transition {
            ts_ns,
            conn: self.id,
            family: self.family,
            local: self.local,
            remote: self.remote,
            from,
            to,
            source,
            reset,
            owners: self.owners.clone(),
        };
        if self.confirmed {
            out.push(t);
        } else {
            self.pending.get_or_insert_default().push(t);
        }
    }

    /// Marks the connection as ours and releases what was held back.
    pub(super) fn confirm(&mut self, out: &mut Vec<Transition>) {
        if !self.confirmed {
            self.confirmed = true;
            for mut t in self.pending.take().map(|p| *p).unwrap_or_default() {
                if t.owners.is_empty() {
                    t.owners.clone_from(&self.owners);
                }
                out.push(t);
            }
        }
    }
}
