//! The tracker: pure logic that joins kernel events and snapshots into one timeline per
//! connection. No I/O: the caller feeds it events (in time order) and snapshots.
//!
//! What it knows of the kernel (the README's "Event sources" says how each source tells it):
//! - Events are keyed by socket address (`skaddr`), not by 4-tuple: a client socket has local
//!   port 0 at CLOSE→SYN_SENT.
//! - The tracepoint never reports TIME_WAIT: FIN_WAIT2→CLOSE or CLOSING→CLOSE (without a reset)
//!   is a hand-over to a timewait socket or a real close. The eBPF source says which (it looks
//!   for the timewait socket in the established table: `KernelEvent::timewait`); otherwise it
//!   is held until a snapshot taken after it shows whether a timewait socket took over; either
//!   way it becomes →TIME_WAIT (or stays a timewait FIN_WAIT2) at the event's exact time. A
//!   timewait socket's later changes and its disappearance are seen in snapshots only
//!   (`observed`). `tcp_destroy_sock` does not end such a connection.
//! - Owners are carried forward when a socket loses its inode.
//!
//! Network namespaces: eBPF events carry their socket's namespace, and those of other
//! namespaces are dropped. Tracefs events do not say which namespace they belong to. The
//! rule for them: a connection's events are held back until it is confirmed as this namespace's, either
//! because a snapshot of this namespace shows its 4-tuple, or because one of its events ran in
//! a thread of a process of this namespace (the caller's `is_local_pid`). Unconfirmed
//! connections are dropped (counted) after `confirm`. Limits: a connection of another
//! namespace with the very same 4-tuple as one of ours is confirmed with it; a connection of
//! ours that lives shorter than a snapshot interval and whose events all ran in softirq
//! context of an unrelated thread is dropped.

mod connection;
pub mod feed;
mod store;
pub mod transition;
mod tuple_index;

pub use crate::model::{KernelEvent, KernelEventKind};
pub use connection::{Connection, TIMELINE_CAP, Timeline, TimelineEntry};
pub use feed::{Feed, Snapshot};
pub use transition::{ConnId, Phase, Reset, Source, Transition};

use crate::model::time::nanos;
use crate::model::{Owner, SocketRecord, StateSet, TcpState};
use connection::{Life, TupleKey, is_timewait};
use rustc_hash::FxHashMap as HashMap;
use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;
use store::Conns;
use tuple_index::TupleIndex;

/// How transitions are learnt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Kernel events, joined with snapshots.
    Traced,
    /// Snapshot diffs only.
    Inferred,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackerConfig {
    pub mode: Mode,
    /// How long closed connections stay visible.
    pub ghost: Duration,
    /// The most connections (live and ghosts) kept; beyond it the oldest ghosts go first.
    pub max_connections: usize,
    /// How long an unconfirmed connection's events wait for confirmation.
    pub confirm: Duration,
    /// The inode of the network namespace followed: events that carry another namespace
    /// (the eBPF source's) are ignored. 0: events are not filtered.
    pub netns: u32,
    /// Every namespace at once (`--netns all`): connections are told apart by namespace too,
    /// events of every namespace taken (`netns` is then 0).
    pub all_namespaces: bool,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            mode: Mode::Traced,
            ghost: Duration::from_secs(60),
            max_connections: 1_000_000,
            confirm: Duration::from_secs(5),
            netns: 0,
            all_namespaces: false,
        }
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TrackerStats {
    /// Connections dropped to respect `max_connections`.
    pub evicted: u64,
    /// Ghosts dropped because a newer connection on the same 4-tuple ended too (one ghost per
    /// 4-tuple is kept: under churn that reuses 4-tuples they would pile up).
    pub reused_ghosts_dropped: u64,
    /// Connections whose events no snapshot or local process vouched for.
    pub unconfirmed_dropped: u64,
    /// Events of other network namespaces, ignored.
    pub other_netns_events: u64,
    /// Snapshot records older than the events already applied (a socket that changed while
    /// the dump ran), skipped.
    pub stale_records: u64,
}

/// A snapshot record older than the events already applied to its 4-tuple.
struct Stale;

/// A reset sent this long after a →CLOSE belongs to it.
const RESET_WINDOW_NS: u64 = 10_000_000;

pub struct Tracker {
    config: TrackerConfig,
    conns: Conns,
    by_skaddr: HashMap<u64, ConnId>,
    by_tuple: TupleIndex,
    /// Connections in the order they went GONE, for expiry without a scan.
    gone: VecDeque<(u64, ConnId)>,
    /// Sockets met through events whose snapshot key is not known yet: clients at
    /// CLOSE→SYN_SENT (no local port yet), by (local address, remote); and listeners (no
    /// inode in events), by local address. A snapshot claims them one record each.
    unresolved: HashMap<(u32, std::net::IpAddr, std::net::SocketAddr), Vec<ConnId>>,
    generation: u32,
    out: Vec<Transition>,
    stats: TrackerStats,
    /// Bumped when a connection is added or removed (transitions show in `out`).
    changes: u64,
    /// The namespace ran out of timewait sockets lately (TcpExtTCPTimeWaitOverflow moved).
    timewait_overflow: bool,
    /// The most connections held since the tables last gave memory back (see `expire`).
    peak: usize,
    syscall_owners: SyscallOwners,
}

impl Tracker {
    pub fn new(config: TrackerConfig) -> Tracker {
        Tracker {
            config,
            conns: Conns::default(),
            by_skaddr: HashMap::default(),
            by_tuple: TupleIndex::default(),
            gone: VecDeque::new(),
            unresolved: HashMap::default(),
            generation: 0,
            out: Vec::new(),
            stats: TrackerStats::default(),
            changes: 0,
            timewait_overflow: false,
            peak: 0,
            syscall_owners: SyscallOwners::default(),
        }
    }

    /// Whether the namespace ran out of timewait sockets lately (TcpExtTCPTimeWaitOverflow
    /// moved): then FIN_WAIT2 or CLOSING → CLOSE without a reset may be a real close, and
    /// the next snapshot decides (a timewait socket there, or none).
    pub fn set_timewait_overflow(&mut self, overflowing: bool) {
        self.timewait_overflow = overflowing;
    }

    pub fn config(&self) -> &TrackerConfig {
        &self.config
    }

    pub fn stats(&self) -> TrackerStats {
        self.stats
    }

    /// A counter that moves whenever a connection is added or removed, or gets its owners.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    pub fn connections(&self) -> impl Iterator<Item = &Connection> {
        self.conns.values().filter(|c| c.confirmed)
    }

    pub fn connection(&self, id: ConnId) -> Option<&Connection> {
        self.conns.get(&id)
    }

    /// The transitions recorded since the last call, oldest first within each batch.
    pub fn take_transitions(&mut self) -> Vec<Transition> {
        std::mem::take(&mut self.out)
    }

    /// The same, appended to `buf` (whose capacity is reused).
    pub fn take_transitions_into(&mut self, buf: &mut Vec<Transition>) {
        feed::move_all(&mut self.out, buf);
    }

    /// Applies kernel events, which must come in time order.
    pub fn apply_events(
        &mut self,
        events: &[KernelEvent],
        is_local_pid: &mut dyn FnMut(i32) -> bool,
    ) {
        if self.config.mode != Mode::Traced {
            return;
        }
        let from = self.out.len();
        for ev in events {
            self.apply_event(ev, is_local_pid);
        }
        self.note_gone(from);
    }

    /// The namespace a connection of an event or record from namespace `netns` is filed
    /// under: its own with `--netns all`, else the one followed (events and records of one
    /// namespace may name it or not: tracefs events and test fixtures carry 0).
    fn ns(&self, netns: u32) -> u32 {
        if self.config.all_namespaces {
            netns
        } else {
            self.config.netns
        }
    }

    /// A new connection, or `None` when the store is full (counted as evicted).
    fn new_conn(&mut self, ev: &KernelEvent, state: TcpState) -> Option<ConnId> {
        let netns = self.ns(ev.netns);
        let Some(id) = self.conns.insert_with(|id| {
            let mut conn = Connection::new(id, ev.family, ev.local, ev.remote, state, ev.ts_ns);
            conn.skaddr = ev.skaddr;
            conn.netns = netns;
            // An event that names its namespace (already filtered) needs no other
            // confirmation.
            conn.confirmed = ev.netns != 0;
            conn
        }) else {
            self.stats.evicted += 1;
            return None;
        };
        self.changes += 1;
        if ev.skaddr != 0 {
            self.by_skaddr.insert(ev.skaddr, id);
        }
        Some(id)
    }

    /// Files a connection made from an event: by 4-tuple, or (a client without its port, a
    /// listener without its inode) among the unresolved, for the next snapshot to claim.
    fn file_new(&mut self, id: ConnId, ev: &KernelEvent, new: TcpState) {
        let unresolved_client = ev.local.port() == 0;
        if unresolved_client || new == TcpState::Listen {
            let remote = if unresolved_client {
                ev.remote
            } else {
                ev.local
            };
            self.unresolved
                .entry((self.ns(ev.netns), ev.local.ip(), remote))
                .or_default()
                .push(id);
        } else {
            let key = TupleKey::new(self.ns(ev.netns), ev.local, ev.remote, 0);
            self.file_key(id, key, ev.ts_ns, Source::Traced);
        }
    }

    /// Takes the first still-unresolved candidate for a snapshot record, if any.
    fn claim(&mut self, rec: &SocketRecord, generation: u32) -> Option<ConnId> {
        let (wanted_state, remote) = match rec.state {
            TcpState::SynSent => (TcpState::SynSent, rec.remote),
            TcpState::Listen => (TcpState::Listen, rec.local),
            _ => return None,
        };
        let slot = (self.ns(rec.netns), rec.local.ip(), remote);
        let list = self.unresolved.get_mut(&slot)?;
        let conns = &self.conns;
        list.retain(|id| {
            conns
                .get(id)
                .is_some_and(|c| c.life == Life::Live && c.state == Phase::State(wanted_state))
        });
        // A candidate a process of this namespace vouched for first: a listen() or connect()
        // of another namespace on the same address must not take this socket's place.
        let free = |id: &ConnId| conns.get(id).is_some_and(|c| c.seen_gen != generation);
        let pos = list
            .iter()
            .position(|id| free(id) && conns.get(id).is_some_and(|c| c.confirmed))
            .or_else(|| list.iter().position(free))?;
        let id = list.remove(pos);
        if list.is_empty() {
            self.unresolved.remove(&slot);
        }
        Some(id)
    }

    fn apply_event(&mut self, ev: &KernelEvent, is_local_pid: &mut dyn FnMut(i32) -> bool) {
        if ev.netns != 0 && self.config.netns != 0 && ev.netns != self.config.netns {
            self.stats.other_netns_events += 1;
            return;
        }
        // tcp_set_state() reports a state set again (an aborted listener: CLOSE, then CLOSE):
        // nothing changed.
        if let KernelEventKind::SetState { old, new } = ev.kind
            && old == new
        {
            return;
        }
        let known = self
            .by_skaddr
            .get(&ev.skaddr)
            .copied()
            .filter(|_| ev.skaddr != 0);
        let id = match (ev.kind, known) {
            // A socket starting over at an address we saw closed: a new socket.
            (
                KernelEventKind::SetState {
                    old: TcpState::Close,
                    ..
                },
                Some(id),
            ) if self.conns.get(&id).is_none_or(|c| c.life != Life::Live) => {
                self.by_skaddr.remove(&ev.skaddr);
                None
            }
            (_, known) => known,
        };
        let id = match (id, ev.kind) {
            (Some(id), _) => id,
            (None, KernelEventKind::SetState { old, new }) => match self.adopt(ev, old, new) {
                Some(id) => id,
                None => {
                    let Some(id) = self.new_conn(ev, old) else {
                        return;
                    };
                    self.file_new(id, ev, new);
                    id
                }
            },
            // A socket we know from a snapshot only, or a reset sent by a timewait socket
            // (whose address is not the full socket's): find the connection by 4-tuple.
            (None, kind) => {
                let key = TupleKey::new(self.ns(ev.netns), ev.local, ev.remote, 0);
                let Some(id) = self.by_tuple.get(&key, &self.conns) else {
                    return;
                };
                let Some(conn) = self.conns.get_mut(&id) else {
                    return;
                };
                if conn.skaddr == 0 && ev.skaddr != 0 {
                    conn.skaddr = ev.skaddr;
                    self.by_skaddr.insert(ev.skaddr, id);
                } else if kind != KernelEventKind::SendReset {
                    return;
                }
                id
            }
        };
        let local_pid = ev.netns != 0 || (ev.pid > 0 && is_local_pid(ev.pid));
        self.rekey(id, ev);
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        conn.last_event_ns = conn.last_event_ns.max(ev.ts_ns);
        conn.set_missed_ns(0);
        if local_pid {
            conn.confirm(&mut self.out);
        }
        match ev.kind {
            KernelEventKind::SetState { old, new } => {
                let fresh = |at: u64| {
                    Some(at).filter(|&t| t != 0 && ev.ts_ns.saturating_sub(t) <= RESET_WINDOW_NS)
                };
                let received = fresh(conn.take_rare(|r| &mut r.reset_received));
                let sent = fresh(conn.take_rare(|r| &mut r.reset_sent_pending));
                if new == TcpState::Close
                    && matches!(old, TcpState::FinWait2 | TcpState::Closing)
                    && received.is_none()
                    && sent.is_none()
                    && ev.timewait != Some(false)
                {
                    // No reset: a timewait socket took over (the tracepoint never says
                    // TIME_WAIT). It is in TIME_WAIT if the peer's FIN had arrived, and in
                    // FIN_WAIT2 (the owner closed first) otherwise.
                    conn.state = Phase::State(old);
                    let fin_in = if old == TcpState::Closing {
                        Some(true)
                    } else {
                        ev.fin_received
                    };
                    let (netns, local, remote) = (conn.netns, conn.local(), conn.remote());
                    let fin_in =
                        fin_in.or_else(|| self.peer_sent_fin(netns, local, remote).then_some(true));
                    // With the timewait table full, whether a timewait socket took over at all
                    // is for the next snapshot to say.
                    // The eBPF source saw the timewait socket in the table: no doubt then.
                    let fin_in =
                        fin_in.filter(|_| ev.timewait == Some(true) || !self.timewait_overflow);
                    let Some(conn) = self.conns.get_mut(&id) else {
                        return;
                    };
                    match fin_in {
                        Some(true) => {
                            conn.life = Life::Timewait;
                            conn.record(
                                &mut self.out,
                                ev.ts_ns,
                                Phase::State(TcpState::TimeWait),
                                Source::Traced,
                                None,
                            );
                        }
                        Some(false) => conn.life = Life::Timewait,
                        None => {
                            conn.life = Life::AwaitingTimewait {
                                at_ns: ev.ts_ns,
                                from: old,
                                maybe_closed: self.timewait_overflow,
                            }
                        }
                    }
                    return;
                }
                // Here too: FIN_WAIT2 or CLOSING → CLOSE with no timewait socket in the
                // kernel's table (the eBPF source looked), a real close.
                let reset = if new != TcpState::Close {
                    None
                } else if received.is_some() {
                    Some(Reset::Received)
                } else if sent.is_some() {
                    Some(Reset::Sent)
                } else {
                    None
                };
                // The event's old state is the truth, whatever we believed.
                conn.state = Phase::State(old);
                if conn.owners.is_empty()
                    && let Some(owners) = self.syscall_owners.of(ev, old, new)
                {
                    conn.owners = owners;
                }
                conn.record(
                    &mut self.out,
                    ev.ts_ns,
                    Phase::State(new),
                    Source::Traced,
                    reset,
                );
                conn.life = if new == TcpState::Close {
                    Life::Closed
                } else {
                    Life::Live
                };
                if new == TcpState::LastAck {
                    let (netns, local, remote) = (conn.netns, conn.local(), conn.remote());
                    self.fin_reaches_peer(netns, local, remote, ev.ts_ns);
                }
            }
            KernelEventKind::ReceiveReset => conn.rare_mut().reset_received = ev.ts_ns,
            // A reset from a timewait socket (its address is not the full socket's): the
            // timewait socket is killed right after sending it.
            KernelEventKind::SendReset
                if ev.skaddr != 0
                    && ev.skaddr != conn.skaddr
                    && matches!(conn.life, Life::AwaitingTimewait { .. } | Life::Timewait) =>
            {
                if let Life::AwaitingTimewait { from, .. } = conn.life {
                    conn.state = Phase::State(from);
                }
                conn.record(
                    &mut self.out,
                    ev.ts_ns,
                    Phase::Gone,
                    Source::Traced,
                    Some(Reset::Sent),
                );
            }
            KernelEventKind::SendReset => {
                let close = Phase::State(TcpState::Close);
                let recent = |t: &Transition| {
                    t.conn == id
                        && t.to == close
                        && t.reset.is_none()
                        && ev.ts_ns.saturating_sub(t.ts_ns) <= RESET_WINDOW_NS
                };
                let marked = conn.timeline.last_mut().filter(|e| {
                    e.to == close
                        && e.reset.is_none()
                        && ev.ts_ns.saturating_sub(e.ts_ns()) <= RESET_WINDOW_NS
                });
                if let Some(entry) = marked {
                    entry.reset = Some(Reset::Sent);
                    if let Some(t) = self
                        .out
                        .iter_mut()
                        .rev()
                        .chain(conn.rare.iter_mut().flat_map(|r| r.held.iter_mut().rev()))
                        .find(|t| recent(t))
                    {
                        t.reset = Some(Reset::Sent);
                    }
                } else {
                    conn.rare_mut().reset_sent_pending = ev.ts_ns;
                }
            }
            KernelEventKind::Destroy => {
                self.by_skaddr.remove(&ev.skaddr);
                match conn.life {
                    // The full socket is freed; its timewait socket lives on.
                    Life::AwaitingTimewait { .. } | Life::Timewait | Life::Gone => {}
                    Life::Live | Life::Closed => {
                        conn.record(&mut self.out, ev.ts_ns, Phase::Gone, Source::Traced, None);
                    }
                }
            }
        }
    }

    /// The first event of a socket that a snapshot showed before (it existed when tcpscope
    /// started): the snapshot's connection takes the socket's address.
    fn adopt(&mut self, ev: &KernelEvent, old: TcpState, new: TcpState) -> Option<ConnId> {
        if old == TcpState::Close || ev.skaddr == 0 {
            return None;
        }
        // LISTEN→SYN_RECV is a new child socket, not its listener.
        if old == TcpState::Listen && new != TcpState::Close {
            return None;
        }
        let id = if old == TcpState::Listen {
            // Listeners are filed with their inode, which events do not carry.
            let netns = self.ns(ev.netns);
            self.conns
                .values()
                .find(|c| {
                    c.skaddr == 0
                        && c.netns == netns
                        && c.local() == ev.local
                        && c.state == Phase::State(old)
                        && c.life == Life::Live
                })
                .map(|c| c.id)?
        } else {
            let key = TupleKey::new(self.ns(ev.netns), ev.local, ev.remote, 0);
            let id = self.by_tuple.get(&key, &self.conns)?;
            self.conns.get(&id).filter(|c| c.skaddr == 0)?;
            id
        };
        if let Some(conn) = self.conns.get_mut(&id) {
            conn.skaddr = ev.skaddr;
        }
        self.by_skaddr.insert(ev.skaddr, id);
        Some(id)
    }

    /// Files a connection under a new key, dropping its old one; returns the connection that
    /// was filed there before.
    fn set_key(&mut self, id: ConnId, key: TupleKey) -> Option<ConnId> {
        let old = self.conns.get(&id).map(|c| c.key())?;
        // Out of the index under its old ends before they change (see tuple_index).
        if old != key {
            self.by_tuple.remove(&old, id);
        }
        if let Some(conn) = self.conns.get_mut(&id) {
            conn.local = key.local;
            conn.remote = key.remote;
            conn.listener_inode = key.listener_inode;
        }
        self.by_tuple.insert(&key, id, &self.conns)
    }

    /// Follows a connection's 4-tuple as its state changes report it: a client gets its
    /// port at connect time, after CLOSE→SYN_SENT. Only state changes say so; other events
    /// may carry a tuple the kernel already cleared (after a reset, the local address and the
    /// remote port read 0).
    fn rekey(&mut self, id: ConnId, ev: &KernelEvent) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        let is_state_change = matches!(ev.kind, KernelEventKind::SetState { .. });
        if !is_state_change
            || ev.local.port() == 0
            || (conn.local() == ev.local && conn.remote() == ev.remote)
        {
            return;
        }
        // set_key moves its ends with its key.
        let key = TupleKey::new(conn.netns, ev.local, ev.remote, conn.listener_inode);
        self.file_key(id, key, ev.ts_ns, Source::Traced);
    }

    /// Files a connection under `key`. A timewait socket filed there before is ended by this
    /// newcomer: a new SYN on a TIME_WAIT's 4-tuple ends it early (the kernel counts this
    /// nowhere). The newcomer must be known to be of this namespace; otherwise the old one
    /// just loses its key and the next snapshot that lacks it ends it.
    fn file_key(&mut self, id: ConnId, key: TupleKey, ts_ns: u64, source: Source) {
        let newcomer_ours = self.conns.get(&id).is_some_and(|c| c.confirmed);
        if let Some(other) = self.set_key(id, key)
            && newcomer_ours
            && let Some(old) = self.conns.get_mut(&other)
        {
            match old.life {
                // The timewait table was full: most hand-overs then fail (the kernel counts
                // them in TcpExtTCPTimeWaitOverflow), and the SYN cannot tell.
                Life::AwaitingTimewait {
                    at_ns,
                    maybe_closed: true,
                    ..
                } => {
                    let close = Phase::State(TcpState::Close);
                    old.record(&mut self.out, at_ns, close, Source::Traced, None);
                    old.life = Life::Closed;
                    old.record(&mut self.out, ts_ns, Phase::Gone, source, None);
                }
                Life::AwaitingTimewait { at_ns, .. } => {
                    old.life = Life::Timewait;
                    let tw = Phase::State(TcpState::TimeWait);
                    old.record(&mut self.out, at_ns, tw, Source::Traced, None);
                    old.record(&mut self.out, ts_ns, Phase::Gone, source, None);
                }
                Life::Timewait => {
                    // Only a TIME_WAIT is taken over by a SYN: a timewait FIN_WAIT2 got its
                    // FIN some time before.
                    let tw = Phase::State(TcpState::TimeWait);
                    if old.state != tw {
                        old.record(&mut self.out, ts_ns, tw, Source::Observed, None);
                    }
                    old.record(&mut self.out, ts_ns, Phase::Gone, source, None);
                }
                _ => {}
            }
            // One ghost per 4-tuple: the one before the displaced connection goes now.
            let older = std::mem::take(&mut old.prev_on_tuple);
            if self.conns.get(&older).is_some_and(|c| c.is_ghost()) {
                self.remove(older);
                self.stats.reused_ghosts_dropped += 1;
            }
            if let Some(newcomer) = self.conns.get_mut(&id) {
                newcomer.prev_on_tuple = other;
            }
        }
    }

    /// Whether the other end of (local, remote), if we follow it, has sent its FIN.
    fn peer_sent_fin(&self, netns: u32, local: SocketAddr, remote: SocketAddr) -> bool {
        let key = TupleKey::new(netns, remote, local, 0);
        self.by_tuple
            .get(&key, &self.conns)
            .and_then(|id| self.conns.get(&id))
            .is_some_and(|c| c.state == Phase::State(TcpState::LastAck))
    }

    /// (local, remote) just sent its FIN (→ LAST_ACK): if we follow its peer as a timewait
    /// socket in FIN_WAIT2, that one enters TIME_WAIT now (a timewait socket's changes are
    /// traced by no tracepoint).
    fn fin_reaches_peer(&mut self, netns: u32, local: SocketAddr, remote: SocketAddr, ts_ns: u64) {
        let key = TupleKey::new(netns, remote, local, 0);
        let Some(peer) = self
            .by_tuple
            .get(&key, &self.conns)
            .and_then(|id| self.conns.get_mut(&id))
        else {
            return;
        };
        let waiting = match peer.life {
            Life::AwaitingTimewait { .. } => true,
            Life::Timewait => peer.state == Phase::State(TcpState::FinWait2),
            _ => false,
        };
        if waiting {
            peer.life = Life::Timewait;
            // Known from an event: a dump that started before it is older news (its record
            // may still show the timewait FIN_WAIT2, the FIN not processed yet).
            peer.last_event_ns = peer.last_event_ns.max(ts_ns);
            let tw = Phase::State(TcpState::TimeWait);
            peer.record(&mut self.out, ts_ns, tw, Source::Traced, None);
        }
    }

    /// Finds the connection a snapshot record belongs to: `Ok(None)` for a socket new to us,
    /// `Err(Stale)` for a record older than what the events already said of its 4-tuple.
    fn lookup(
        &mut self,
        rec: &SocketRecord,
        ts_ns: u64,
        generation: u32,
        listener_inodes: &HashSet<u64>,
    ) -> Result<Option<ConnId>, Stale> {
        let key = TupleKey::of_record(self.ns(rec.netns), rec);
        if let Some(id) = self.by_tuple.get(&key, &self.conns) {
            let Some(conn) = self.conns.get(&id) else {
                return Ok(None);
            };
            let ended = matches!(conn.life, Life::Gone | Life::Closed);
            // Another socket on the same 4-tuple: a full socket where a timewait one was
            // (a timewait socket never becomes a full one again), or another inode.
            let other_socket = (conn.life == Life::Timewait && !is_timewait(rec))
                || (rec.inode != 0
                    && conn.inode != 0
                    && rec.inode != conn.inode
                    && conn.life == Life::Live);
            if !ended && !other_socket {
                return Ok(Some(id));
            }
            // The dump read this socket before the events we applied changed or closed it:
            // the record tells nothing new, and a connection made of it would be a phantom.
            if conn.last_event_ns >= ts_ns {
                return Err(Stale);
            }
            // Members of a SO_REUSEPORT group look alike to events: if we paired one with the
            // wrong inode, the live member whose inode this snapshot lacks is this one.
            if rec.state == TcpState::Listen {
                let swap = self
                    .conns
                    .values()
                    .find(|c| {
                        c.id != id
                            && c.netns == key.netns
                            && c.life == Life::Live
                            && c.state == Phase::State(TcpState::Listen)
                            && c.local() == rec.local
                            && c.confirmed
                            && !listener_inodes.contains(&c.inode)
                    })
                    .map(|c| c.id);
                if let Some(swap) = swap {
                    if let Some(c) = self.conns.get_mut(&swap) {
                        c.inode = rec.inode;
                    }
                    self.set_key(swap, key);
                    return Ok(Some(swap));
                }
            }
            // The same 4-tuple, another socket.
            return Ok(None);
        }
        let Some(id) = self.claim(rec, generation) else {
            return Ok(None);
        };
        if let Some(conn) = self.conns.get_mut(&id) {
            conn.inode = rec.inode;
        }
        self.set_key(id, key);
        Ok(Some(id))
    }

    /// Applies a snapshot whose dump started at `ts_ns` (same clock as the events). Events
    /// newer than the snapshot win over it.
    pub fn apply_snapshot(
        &mut self,
        ts_ns: u64,
        sockets: &[SocketRecord],
        owners_of: &dyn Fn(u64) -> Vec<Owner>,
    ) {
        self.apply_partial_snapshot(ts_ns, sockets, StateSet::ALL, owners_of);
    }

    /// Applies a snapshot of the sockets in `states` only (a dump with a state filter): a
    /// connection in another state is not expected in it, so its absence says nothing.
    /// Between full snapshots, the teardown states are enough to join timewait sockets and see
    /// them expire, at a fraction of a full dump's cost. The first snapshot must be full.
    pub fn apply_partial_snapshot(
        &mut self,
        ts_ns: u64,
        sockets: &[SocketRecord],
        states: StateSet,
        owners_of: &dyn Fn(u64) -> Vec<Owner>,
    ) {
        let source = match self.config.mode {
            Mode::Traced => Source::Observed,
            Mode::Inferred => Source::Inferred,
        };
        let baseline = self.generation == 0;
        // Wraps after 136 years of one snapshot a second; 0 stays the baseline's.
        self.generation = self.generation.wrapping_add(1).max(1);
        let generation = self.generation;
        let from = self.out.len();

        let listener_inodes: HashSet<u64> = sockets
            .iter()
            .filter(|s| s.state == TcpState::Listen)
            .map(|s| s.inode)
            .collect();
        for rec in sockets {
            // A socket caught in the middle of its close: its port is released before its
            // state changes, so the dump may show it with local port 0.
            if rec.local.port() == 0 {
                self.stats.stale_records += 1;
                continue;
            }
            let id = match self.lookup(rec, ts_ns, generation, &listener_inodes) {
                Err(Stale) => {
                    self.stats.stale_records += 1;
                    continue;
                }
                Ok(Some(id)) => id,
                Ok(None) => {
                    let ev = KernelEvent {
                        ts_ns,
                        skaddr: 0,
                        family: rec.family,
                        local: rec.local,
                        remote: rec.remote,
                        pid: 0,
                        kind: KernelEventKind::Destroy,
                        netns: rec.netns,
                        ..KernelEvent::default()
                    };
                    let Some(id) = self.new_conn(&ev, TcpState::Close) else {
                        continue;
                    };
                    if let Some(conn) = self.conns.get_mut(&id) {
                        conn.confirmed = true;
                    }
                    let key = TupleKey::of_record(self.ns(rec.netns), rec);
                    self.file_key(id, key, ts_ns, source);
                    let Some(conn) = self.conns.get_mut(&id) else {
                        continue;
                    };
                    conn.inode = rec.inode;
                    conn.confirmed = true;
                    if baseline {
                        conn.state = Phase::State(rec.state);
                    }
                    id
                }
            };
            let Some(conn) = self.conns.get_mut(&id) else {
                continue;
            };
            conn.seen_gen = generation;
            conn.set_missed_ns(0);
            if let Some(t) = rec.timer.filter(|_| is_timewait(rec)) {
                conn.expires_ns = ts_ns.saturating_add(t.remaining_ms.saturating_mul(1_000_000));
                // All a timewait socket's record says is its timer (see Connection::timer).
                conn.last_seen = None;
            } else {
                match &mut conn.last_seen {
                    Some(seen) => **seen = rec.clone(),
                    None => conn.last_seen = Some(Box::new(rec.clone())),
                }
            }
            // Owners are looked up when the socket is new to us or has another inode, or
            // has only the owner an event named (a thread's name, no fd); a socket keeps its
            // owners otherwise (and after it loses its inode).
            let from_event_only = conn.owners.iter().all(|o| o.fd < 0);
            if rec.inode != 0 && (conn.inode != rec.inode || from_event_only) {
                conn.inode = rec.inode;
                let owners = owners_of(rec.inode);
                if !owners.is_empty() {
                    conn.owners = owners.into();
                    // A view shows owners: an accepted socket's come with a later snapshot
                    // than its events (the kernel makes it in softirq, no process to name),
                    // and without a change here its row kept none.
                    self.changes += 1;
                }
            }
            conn.confirm(&mut self.out);
            let now = Phase::State(rec.state);
            match conn.life {
                Life::AwaitingTimewait { at_ns, from, .. } => {
                    if ts_ns > at_ns && is_timewait(rec) {
                        conn.state = Phase::State(from);
                        conn.life = Life::Timewait;
                        if now != conn.state {
                            // Straight to TIME_WAIT at the traced moment, or (an orphan's
                            // timewait FIN_WAIT2 first) later, when its timer was rearmed.
                            let entered = entered_time_wait_ns(ts_ns, rec).max(at_ns);
                            let (when, how) = if entered - at_ns <= SAME_MOMENT_NS {
                                (at_ns, Source::Traced)
                            } else {
                                (entered, Source::Observed)
                            };
                            conn.record(&mut self.out, when, now, how, None);
                        }
                    }
                }
                Life::Closed | Life::Gone => {}
                Life::Live | Life::Timewait => {
                    if conn.last_event_ns < ts_ns && conn.state != now {
                        // A timewait socket entering TIME_WAIT: its timer tells when.
                        let when = if conn.life == Life::Timewait && rec.state == TcpState::TimeWait
                        {
                            let since = conn.timeline.last().map_or(0, |e| e.ts_ns());
                            entered_time_wait_ns(ts_ns, rec).clamp(since, ts_ns)
                        } else {
                            ts_ns
                        };
                        conn.record(&mut self.out, when, now, source, None);
                    }
                    if is_timewait(rec) && conn.last_event_ns < ts_ns {
                        conn.life = Life::Timewait;
                    }
                }
            }
        }

        // What the snapshot no longer shows.
        let mut unconfirmed = Vec::new();
        for conn in self.conns.values_mut() {
            let expected = match conn.life {
                Life::AwaitingTimewait { from, .. } => {
                    states.contains(from) && states.contains(TcpState::TimeWait)
                }
                // A timewait FIN_WAIT2 may have moved on to TIME_WAIT unseen.
                Life::Timewait => {
                    matches!(conn.state, Phase::State(s) if states.contains(s))
                        && states.contains(TcpState::TimeWait)
                }
                _ => matches!(conn.state, Phase::State(s) if states.contains(s)),
            };
            if !conn.confirmed
                && ts_ns.saturating_sub(conn.first_seen_ns) > nanos(self.config.confirm)
            {
                unconfirmed.push(conn.id);
            }
            if conn.seen_gen == generation || !expected {
                continue;
            }
            // A dump is not atomic: the kernel walks the hash table in chunks, and a socket
            // that moved meanwhile can be skipped (201 of 38,906 TIME_WAITs under nginx+wrk).
            // With events, one absence does not end a socket: the next snapshot must miss it
            // too, and it is then dated at the first miss. A timewait socket whose timer ran
            // out is gone at once.
            let timer_out = conn.life == Life::Timewait
                && conn.expires_ns != 0
                && conn.expires_ns <= ts_ns.saturating_add(SAME_MOMENT_NS);
            let missed_ns = match conn.missed_ns() {
                _ if self.config.mode != Mode::Traced || timer_out => ts_ns,
                0 => {
                    let ends_here =
                        matches!(conn.life, Life::Timewait | Life::AwaitingTimewait { .. })
                            || (conn.life == Life::Live
                                && conn.last_event_ns < ts_ns
                                && conn.confirmed);
                    if ends_here {
                        conn.set_missed_ns(ts_ns);
                    }
                    continue;
                }
                first => first,
            };
            let ts_ns = if timer_out {
                let since = conn.timeline.last().map_or(0, |e| e.ts_ns());
                conn.expires_ns.clamp(since.min(ts_ns), ts_ns)
            } else {
                missed_ns
            };
            match conn.life {
                Life::Timewait => {
                    let reset = conn_reset(conn);
                    conn.record(&mut self.out, ts_ns, Phase::Gone, source, reset);
                }
                Life::AwaitingTimewait {
                    at_ns,
                    from,
                    maybe_closed: true,
                } if ts_ns > at_ns => {
                    // The timewait table was full: no timewait socket took over, a real close.
                    conn.state = Phase::State(from);
                    let close = Phase::State(TcpState::Close);
                    conn.record(&mut self.out, at_ns, close, Source::Traced, None);
                    conn.life = Life::Closed;
                    conn.record(&mut self.out, ts_ns, Phase::Gone, source, None);
                }
                Life::AwaitingTimewait { at_ns, from, .. } if ts_ns > at_ns => {
                    // The timewait socket that took over is gone already: a new SYN on its
                    // 4-tuple (of a connection we could not place) or a reset ended it.
                    conn.state = Phase::State(from);
                    let tw = Phase::State(TcpState::TimeWait);
                    conn.record(&mut self.out, at_ns, tw, Source::Traced, None);
                    conn.life = Life::Timewait;
                    conn.record(&mut self.out, ts_ns, Phase::Gone, source, None);
                }
                // A full socket that a snapshot taken after its last event does not show is
                // gone, whatever events we missed (lost records, other namespaces' look-alikes).
                Life::Live if conn.last_event_ns < ts_ns && conn.confirmed => {
                    conn.record(&mut self.out, ts_ns, Phase::Gone, source, None);
                }
                _ => {}
            }
        }
        for id in unconfirmed {
            self.remove(id);
            self.stats.unconfirmed_dropped += 1;
        }
        self.note_gone(from);
    }

    fn remove(&mut self, id: ConnId) {
        if let Some(key) = self.conns.get(&id).map(|c| c.key()) {
            self.by_tuple.remove(&key, id);
        }
        if let Some(conn) = self.conns.remove(&id) {
            self.changes += 1;
            if self.by_skaddr.get(&conn.skaddr) == Some(&id) {
                self.by_skaddr.remove(&conn.skaddr);
            }
        }
    }

    /// Drops ghosts older than the ghost time, then the oldest ghosts while over the cap.
    pub fn expire(&mut self, now_ns: u64) {
        while let Some(&(closed, id)) = self.gone.front() {
            let expired = now_ns.saturating_sub(closed) > nanos(self.config.ghost);
            let over_cap = self.conns.len() > self.config.max_connections;
            if !expired && !over_cap {
                break;
            }
            self.gone.pop_front();
            // Skip entries of connections already removed.
            if self
                .conns
                .get(&id)
                .is_some_and(|c| c.closed_ns() == Some(closed))
            {
                self.remove(id);
                if !expired {
                    self.stats.evicted += 1;
                }
            }
        }
        self.give_back_memory();
    }

    /// After a burst, once fewer than a quarter of the connections it held are left, the
    /// tables give their memory back: the resident set comes back down near its steady size
    /// instead of staying at the burst's peak.
    fn give_back_memory(&mut self) {
        let len = self.conns.len();
        self.peak = self.peak.max(len);
        if len >= self.peak / 4 || self.peak < 4096 {
            return;
        }
        self.peak = len;
        self.conns.shrink();
        self.by_tuple.shrink(&self.conns);
        self.by_skaddr.shrink_to_fit();
        self.unresolved.shrink_to_fit();
        self.gone.shrink_to_fit();
    }

    /// Files the connections that went GONE in `self.out[from..]` for expiry.
    fn note_gone(&mut self, from: usize) {
        for t in &self.out[from.min(self.out.len())..] {
            if t.to == Phase::Gone {
                self.gone.push_back((t.ts_ns, t.conn));
            }
        }
    }
}

/// TIME_WAIT lasts TCP_TIMEWAIT_LEN, 60 s, whatever the sysctls say.
const TIME_WAIT_NS: u64 = 60_000_000_000;
/// Timer readings have jiffy granularity: times closer than this are the same moment.
const SAME_MOMENT_NS: u64 = 50_000_000;

/// When a TIME_WAIT socket entered TIME_WAIT, from its timer at snapshot time `ts_ns`.
fn entered_time_wait_ns(ts_ns: u64, rec: &SocketRecord) -> u64 {
    let left_ns = rec
        .timer
        .map_or(TIME_WAIT_NS, |t| t.remaining_ms.saturating_mul(1_000_000));
    ts_ns.saturating_sub(TIME_WAIT_NS.saturating_sub(left_ns))
}

/// The owners events name, shared: a process that makes connections by the thousand gets one
/// list for all of them, not one allocation (and a copy of its name) per connection.
#[derive(Default)]
struct SyscallOwners {
    last: Option<(i32, [u8; 16], std::sync::Arc<[Owner]>)>,
}

impl SyscallOwners {
    /// The owner an event names: the running process, for the transitions only a system
    /// call of the socket's owner makes (connect, listen, close, shutdown). Other transitions
    /// run in softirq context, in whatever thread was interrupted. Only the eBPF source names
    /// the process (its command name).
    fn of(
        &mut self,
        ev: &KernelEvent,
        old: TcpState,
        new: TcpState,
    ) -> Option<std::sync::Arc<[Owner]>> {
        use TcpState::{CloseWait, Established, FinWait1, LastAck, Listen, SynSent};
        let by_syscall = matches!(
            (old, new),
            (TcpState::Close, SynSent | Listen) | (Established, FinWait1) | (CloseWait, LastAck)
        );
        let len = ev
            .comm
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(ev.comm.len());
        if !by_syscall || ev.pid <= 0 || len == 0 {
            return None;
        }
        if let Some((pid, comm, owners)) = &self.last
            && *pid == ev.pid
            && *comm == ev.comm
        {
            return Some(owners.clone());
        }
        let owners: std::sync::Arc<[Owner]> = std::sync::Arc::from([Owner {
            pid: ev.pid,
            comm: String::from_utf8_lossy(&ev.comm[..len]).into(),
            cmdline: "".into(),
            fd: -1,
        }]);
        self.last = Some((ev.pid, ev.comm, owners.clone()));
        Some(owners)
    }
}

/// A reset the timewait socket sent (to a segment after close) marks its disappearance.
fn conn_reset(conn: &mut Connection) -> Option<Reset> {
    (conn.take_rare(|r| &mut r.reset_sent_pending) != 0).then_some(Reset::Sent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Family;

    fn rec(port: u16) -> SocketRecord {
        SocketRecord {
            cookie: 0,
            ..SocketRecord::new(
                TcpState::Established,
                format!("127.0.0.1:{port}").parse().unwrap(),
                "127.0.0.1:80".parse().unwrap(),
                u64::from(port),
            )
        }
    }

    fn tracker(max_connections: usize) -> Tracker {
        Tracker::new(TrackerConfig {
            mode: Mode::Inferred,
            ghost: Duration::from_nanos(10),
            max_connections,
            confirm: Duration::from_nanos(1_000),
            netns: 0,
            all_namespaces: false,
        })
    }

    #[test]
    fn ghosts_stay_for_the_ghost_time_then_go() {
        let mut t = tracker(100);
        t.apply_snapshot(100, &[rec(1), rec(2)], &|_| Vec::new());
        t.apply_snapshot(200, &[rec(2)], &|_| Vec::new());
        assert_eq!(t.connections().count(), 2);
        assert!(t.connections().any(|c| c.is_ghost()));
        t.expire(210);
        assert_eq!(t.connections().count(), 2, "still within the ghost time");
        t.expire(211);
        assert_eq!(t.connections().count(), 1);
        assert!(!t.connections().any(|c| c.is_ghost()));
        assert_eq!(t.stats().evicted, 0);
    }

    #[test]
    fn ghosts_of_a_reused_4_tuple_do_not_pile_up() {
        let mut t = Tracker::new(TrackerConfig {
            netns: 7,
            ..TrackerConfig::default()
        });
        let server: std::net::SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let client: std::net::SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let mut events = Vec::new();
        for round in 0..5u64 {
            let ev = |dt: u64, old, new, fin| KernelEvent {
                ts_ns: 1_000 + round * 100 + dt,
                skaddr: 10 + round,
                family: Family::Inet,
                local: server,
                remote: client,
                kind: KernelEventKind::SetState { old, new },
                netns: 7,
                fin_received: Some(fin),
                ..KernelEvent::default()
            };
            events.push(ev(0, TcpState::Listen, TcpState::SynRecv, false));
            events.push(ev(1, TcpState::SynRecv, TcpState::Established, false));
            events.push(ev(2, TcpState::Established, TcpState::FinWait1, false));
            events.push(ev(3, TcpState::FinWait1, TcpState::FinWait2, false));
            events.push(ev(4, TcpState::FinWait2, TcpState::Close, true));
        }
        t.apply_events(&events, &mut |_| true);
        let out = t.take_transitions();
        let count = |to: TcpState| out.iter().filter(|x| x.to == Phase::State(to)).count();
        assert_eq!(count(TcpState::TimeWait), 5, "every TIME_WAIT reported");
        assert_eq!(
            out.iter().filter(|x| x.to == Phase::Gone).count(),
            4,
            "four ended by reuse"
        );
        // The live TIME_WAIT and one ghost; three older ghosts dropped and counted.
        assert_eq!(t.connections().count(), 2);
        assert_eq!(t.stats().reused_ghosts_dropped, 3);
    }

    /// `--netns all`: two namespaces' connections on the same 4-tuple are two connections,
    /// each with its namespace, from events and from snapshots alike.
    #[test]
    fn the_same_4_tuple_in_two_namespaces_is_two_connections() {
        let mut t = Tracker::new(TrackerConfig {
            all_namespaces: true,
            ..TrackerConfig::default()
        });
        let server: std::net::SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let client: std::net::SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let ev = |netns: u32, skaddr: u64, ts_ns: u64, old, new| KernelEvent {
            ts_ns,
            skaddr,
            family: Family::Inet,
            local: server,
            remote: client,
            kind: KernelEventKind::SetState { old, new },
            netns,
            ..KernelEvent::default()
        };
        t.apply_events(
            &[
                ev(1, 10, 1, TcpState::Listen, TcpState::SynRecv),
                ev(2, 20, 2, TcpState::Listen, TcpState::SynRecv),
                ev(1, 10, 3, TcpState::SynRecv, TcpState::Established),
                ev(2, 20, 4, TcpState::SynRecv, TcpState::Established),
                ev(2, 20, 5, TcpState::Established, TcpState::CloseWait),
            ],
            &mut |_| false,
        );
        let out = t.take_transitions();
        assert_eq!(out.len(), 5, "every event of both: {out:?}");
        let mut by_ns: Vec<(u32, Phase)> = t.connections().map(|c| (c.netns, c.state)).collect();
        by_ns.sort_by_key(|(n, _)| *n);
        assert_eq!(
            by_ns,
            [
                (1, Phase::State(TcpState::Established)),
                (2, Phase::State(TcpState::CloseWait))
            ]
        );
        assert!(out.iter().filter(|x| x.netns == 2).count() == 3);
        // A snapshot of both namespaces joins each record to its own namespace's connection.
        let rec = |netns: u32, state, inode| SocketRecord {
            netns,
            ..SocketRecord::new(state, server, client, inode)
        };
        t.apply_snapshot(
            10,
            &[
                rec(1, TcpState::Established, 101),
                rec(2, TcpState::CloseWait, 202),
            ],
            &|_| Vec::new(),
        );
        assert!(t.take_transitions().is_empty(), "nothing changed");
        let mut inodes: Vec<(u32, u64)> = t.connections().map(|c| (c.netns, c.inode)).collect();
        inodes.sort();
        assert_eq!(inodes, [(1, 101), (2, 202)]);
    }

    /// FIN_WAIT2 → CLOSE as the eBPF source reports it, with or without a timewait socket in
    /// the kernel's table, while TcpExtTCPTimeWaitOverflow moves.
    fn hand_over(timewait: Option<bool>) -> Vec<Transition> {
        let mut t = Tracker::new(TrackerConfig {
            netns: 7,
            ..TrackerConfig::default()
        });
        t.set_timewait_overflow(true);
        let ev = |ts_ns, old, new| KernelEvent {
            ts_ns,
            skaddr: 10,
            local: "127.0.0.1:8080".parse().unwrap(),
            remote: "127.0.0.1:40000".parse().unwrap(),
            kind: KernelEventKind::SetState { old, new },
            netns: 7,
            fin_received: Some(true),
            timewait: (new == TcpState::Close).then_some(timewait).flatten(),
            ..KernelEvent::default()
        };
        let events = [
            ev(1, TcpState::Listen, TcpState::SynRecv),
            ev(2, TcpState::SynRecv, TcpState::Established),
            ev(3, TcpState::Established, TcpState::FinWait1),
            ev(4, TcpState::FinWait1, TcpState::FinWait2),
            ev(5, TcpState::FinWait2, TcpState::Close),
            KernelEvent {
                kind: KernelEventKind::Destroy,
                ..ev(6, TcpState::Close, TcpState::Close)
            },
        ];
        t.apply_events(&events, &mut |_| true);
        t.take_transitions()
    }

    fn ends(out: &[Transition]) -> Vec<&'static str> {
        out.iter().skip(4).map(|t| t.to.name()).collect()
    }

    #[test]
    fn a_timewait_socket_seen_in_the_table_is_time_wait_even_when_the_table_overflows() {
        assert_eq!(ends(&hand_over(Some(true))), ["TIME_WAIT"]);
    }

    #[test]
    fn no_timewait_socket_in_the_table_is_a_real_close() {
        let out = hand_over(Some(false));
        assert_eq!(ends(&out), ["CLOSE", "GONE"]);
        assert_eq!(out[4].source, Source::Traced);
    }

    #[test]
    fn unknown_during_an_overflow_waits_for_a_snapshot() {
        assert!(
            ends(&hand_over(None)).is_empty(),
            "decided by the next snapshot"
        );
    }

    #[test]
    fn the_cap_evicts_the_oldest_ghosts_and_counts_them() {
        let mut t = tracker(2);
        t.apply_snapshot(100, &[rec(1), rec(2), rec(3)], &|_| Vec::new());
        t.apply_snapshot(101, &[rec(2), rec(3)], &|_| Vec::new());
        t.apply_snapshot(102, &[rec(3)], &|_| Vec::new());
        t.expire(102);
        assert_eq!(t.connections().count(), 2);
        assert_eq!(t.stats().evicted, 1);
        // The older ghost (port 1) went first.
        assert!(t.connections().all(|c| c.local().port() != 1));
    }
}
