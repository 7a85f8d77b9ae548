//! One connection as the tracker follows it: from its first event or snapshot to its ghost.

use super::transition::{ConnId, Phase, Reset, Source, Transition};
use crate::model::{Endpoint, Family, Owner, SocketRecord, TcpState, Timer, TimerKind};
use std::net::SocketAddr;

/// One line of a connection's timeline: 12 bytes (its time in two halves, so that the
/// entry is aligned to 4 and six fit where a list's header and heap block were).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimelineEntry {
    ts_hi: u32,
    ts_lo: u32,
    pub from: Phase,
    pub to: Phase,
    pub source: Source,
    pub reset: Option<Reset>,
}

impl TimelineEntry {
    pub fn new(ts_ns: u64, from: Phase, to: Phase, source: Source, reset: Option<Reset>) -> Self {
        TimelineEntry {
            ts_hi: (ts_ns >> 32) as u32,
            // The low half, by design.
            ts_lo: ts_ns as u32,
            from,
            to,
            source,
            reset,
        }
    }

    pub fn ts_ns(&self) -> u64 {
        (u64::from(self.ts_hi) << 32) | u64::from(self.ts_lo)
    }
}

/// A connection's timeline. A whole life (handshake, teardown, gone) is six entries: they
/// are kept in the connection itself, with no allocation of their own.
pub type Timeline = smallvec::SmallVec<[TimelineEntry; 6]>;

/// What few connections need for a while (held transitions, a reset waiting for its close, a
/// snapshot's miss): boxed, one pointer in every connection instead of 40 bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Rare {
    /// Transitions held back until the connection is confirmed (tracefs events only).
    pub held: Vec<Transition>,
    /// When a reset was received, until a →CLOSE within the reset window takes it (0: none).
    pub reset_received: u64,
    /// When a reset was sent with no →CLOSE to attach it to yet (0: none).
    pub reset_sent_pending: u64,
    /// When a snapshot first failed to show it (see `Tracker::apply_partial_snapshot`; 0:
    /// none did).
    pub missed_ns: u64,
}

/// Where the connection is in its life, beyond its TCP state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Life {
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
    /// The namespace's inode with `--netns all`; with one namespace, always that one's.
    pub netns: u32,
    pub local: Endpoint,
    pub remote: Endpoint,
    pub listener_inode: u64,
}

impl TupleKey {
    pub fn new(netns: u32, local: SocketAddr, remote: SocketAddr, listener_inode: u64) -> TupleKey {
        TupleKey {
            netns,
            local: local.into(),
            remote: remote.into(),
            listener_inode,
        }
    }

    pub fn of_record(netns: u32, rec: &SocketRecord) -> TupleKey {
        let listener_inode = if rec.state == TcpState::Listen {
            rec.inode
        } else {
            0
        };
        TupleKey::new(netns, rec.local, rec.remote, listener_inode)
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
    /// Its ends (see `local()`, `remote()`): compact, as a busy host has a million.
    pub(super) local: Endpoint,
    pub(super) remote: Endpoint,
    pub state: Phase,
    pub inode: u64,
    /// The owners last seen; kept after the socket loses its inode (TIME_WAIT has none).
    /// Shared with every transition it makes: a reference count, not a copy, per transition.
    pub owners: std::sync::Arc<[Owner]>,
    pub timeline: Timeline,
    /// The socket as the last snapshot showed it (queues, timer, tcp_info); boxed, as most
    /// connections a busy host churns through are never in a snapshot.
    pub last_seen: Option<Box<SocketRecord>>,
    pub timeline_dropped: u32,
    pub first_seen_ns: u64,
    pub(super) life: Life,
    pub(super) skaddr: u64,
    /// The inode of its network namespace.
    pub netns: u32,
    /// With its ends, its key in the tracker's 4-tuple map (listeners of a SO_REUSEPORT group
    /// share an address and are told apart by inode).
    pub(super) listener_inode: u64,
    pub(super) last_event_ns: u64,
    /// A snapshot or a process of this namespace vouched for it (see `Tracker`).
    pub(super) confirmed: bool,
    pub(super) rare: Option<Box<Rare>>,
    /// The snapshot generation that last showed it.
    pub(super) seen_gen: u32,
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
            local: local.into(),
            remote: remote.into(),
            state: Phase::State(state),
            inode: 0,
            owners: no_owners(),
            timeline: Timeline::new(),
            last_seen: None,
            timeline_dropped: 0,
            first_seen_ns: ts_ns,
            life: Life::Live,
            skaddr: 0,
            netns: 0,
            listener_inode: 0,
            last_event_ns: 0,
            confirmed: false,
            rare: None,
            seen_gen: 0,
            expires_ns: 0,
            prev_on_tuple: 0,
        }
    }

    /// Its key in the tracker's 4-tuple map.
    pub(super) fn key(&self) -> TupleKey {
        TupleKey {
            netns: self.netns,
            local: self.local,
            remote: self.remote,
            listener_inode: self.listener_inode,
        }
    }

    pub fn local(&self) -> SocketAddr {
        self.local.addr()
    }

    pub fn remote(&self) -> SocketAddr {
        self.remote.addr()
    }

    pub fn is_ghost(&self) -> bool {
        self.life == Life::Gone
    }

    /// When it went GONE; a ghost until then plus the ghost time.
    pub fn closed_ns(&self) -> Option<u64> {
        self.is_ghost()
            .then(|| self.timeline.last().map(TimelineEntry::ts_ns))
            .flatten()
    }

    /// Whether a snapshot of its namespace has shown it.
    pub fn seen_in_snapshot(&self) -> bool {
        self.seen_gen != 0
    }

    /// Bytes not yet read and not yet acknowledged, as the last snapshot showed them.
    pub fn queues(&self) -> (u32, u32) {
        self.last_seen
            .as_ref()
            .map_or((0, 0), |s| (s.recv_q, s.send_q))
    }

    /// Its timer as the snapshot taken at `snapshot_ns` showed it. A timewait socket keeps
    /// no snapshot record (most of a busy host's sockets are, and nothing else of theirs
    /// changes): its timer is told from when it runs out.
    pub fn timer(&self, snapshot_ns: u64) -> Option<Timer> {
        if let Some(seen) = &self.last_seen {
            return seen.timer;
        }
        (self.life == Life::Timewait && self.expires_ns != 0).then(|| Timer {
            kind: TimerKind::Timewait,
            remaining_ms: self.expires_ns.saturating_sub(snapshot_ns) / 1_000_000,
            retransmits: 0,
        })
    }

    pub(super) fn rare_mut(&mut self) -> &mut Rare {
        self.rare.get_or_insert_default()
    }

    /// Takes one of the rare figures, and gives the box back once nothing is left in it.
    pub(super) fn take_rare<T: Default>(&mut self, field: impl FnOnce(&mut Rare) -> &mut T) -> T {
        let Some(rare) = self.rare.as_mut() else {
            return T::default();
        };
        let taken = std::mem::take(field(rare));
        if **rare == Rare::default() {
            self.rare = None;
        }
        taken
    }

    pub(super) fn missed_ns(&self) -> u64 {
        self.rare.as_ref().map_or(0, |r| r.missed_ns)
    }

    pub(super) fn set_missed_ns(&mut self, at: u64) {
        if at == 0 {
            self.take_rare(|r| &mut r.missed_ns);
        } else {
            self.rare_mut().missed_ns = at;
        }
    }

    /// Records a transition in the timeline and hands it out (or holds it until confirmed).
    pub(super) fn record(
        &mut self,
        out: &mut Vec<Transition>,
        ts_ns: u64,
        to: Phase,
        source: Source,
        reset: Option<Reset>,
    ) {
        let from = self.state;
        self.state = to;
        if to == Phase::Gone {
            self.life = Life::Gone;
            // A ghost changes no more: give back what it does not use.
            self.last_seen = None;
            if self.confirmed {
                self.rare = None;
            }
        }
        if self.timeline.len() == TIMELINE_CAP {
            self.timeline.remove(0);
            self.timeline_dropped += 1;
        }
        self.timeline
            .push(TimelineEntry::new(ts_ns, from, to, source, reset));
        let t = Transition {
            ts_ns,
            conn: self.id,
            family: self.family,
            local: self.local(),
            remote: self.remote(),
            from,
            to,
            source,
            reset,
            owners: self.owners.clone(),
            netns: self.netns,
        };
        if self.confirmed {
            out.push(t);
        } else {
            self.rare_mut().held.push(t);
        }
    }

    /// Marks the connection as ours and releases what was held back.
    pub(super) fn confirm(&mut self, out: &mut Vec<Transition>) {
        if !self.confirmed {
            self.confirmed = true;
            for mut t in self.take_rare(|r| &mut r.held) {
                if t.owners.is_empty() {
                    t.owners.clone_from(&self.owners);
                }
                out.push(t);
            }
        }
    }
}
