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
    AwaitingTimewait {
        at_ns: u64,
        from: TcpState,
        destroyed_ns: Option<u64>,
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
    pub owners: Vec<Owner>,
    pub timeline: Vec<TimelineEntry>,
    /// The socket as the last snapshot showed it (queues, timer, tcp_info).
    pub last_seen: Option<SocketRecord>,
    pub timeline_dropped: usize,
    pub first_seen_ns: u64,
    /// When it went GONE; a ghost until `closed_ns + ghost time`.
    pub closed_ns: Option<u64>,
    pub(super) phase: Phase,
    pub(super) skaddr: u64,
    /// Its key in the tracker's 4-tuple map.
    pub(super) key: TupleKey,
    pub(super) last_event_ns: u64,
    /// A snapshot or a process of this namespace vouched for it (see `Tracker`).
    pub(super) confirmed: bool,
    /// Transitions held back until the connection is confirmed.
    pub(super) pending: Vec<Transition>,
    /// When a reset was received, until a →CLOSE within the reset window takes it.
    pub(super) reset_received: Option<u64>,
    /// When a reset was sent with no →CLOSE to attach it to yet.
    pub(super) reset_sent_pending: Option<u64>,
    /// The snapshot generation that last showed it.
    pub(super) seen_gen: u64,
    /// When a snapshot first failed to show it (see `Tracker::apply_partial_snapshot`).
    pub(super) missed_ns: Option<u64>,
    /// For a timewait socket: when its timer runs out, as the last snapshot showed it.
    pub(super) expires_ns: u64,
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
            owners: Vec::new(),
            timeline: Vec::with_capacity(8),
            last_seen: None,
            timeline_dropped: 0,
            first_seen_ns: ts_ns,
            closed_ns: None,
            phase: Phase::Live,
            skaddr: 0,
            key: TupleKey {
                local,
                remote,
                listener_inode: 0,
            },
            last_event_ns: 0,
            confirmed: false,
            pending: Vec::new(),
            reset_received: None,
            reset_sent_pending: None,
            seen_gen: 0,
            missed_ns: None,
            expires_ns: 0,
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
            self.pending.push(t);
        }
    }

    /// Marks the connection as ours and releases what was held back.
    pub(super) fn confirm(&mut self, out: &mut Vec<Transition>) {
        if !self.confirmed {
            self.confirmed = true;
            for mut t in self.pending.drain(..) {
                if t.owners.is_empty() {
                    t.owners.clone_from(&self.owners);
                }
                out.push(t);
            }
        }
    }
}
