//! One feed: kernel events and snapshots joined in the right order, for the interactive view,
//! `watch` and the lab alike. Pure: the callers read the kernel and hand over what they read.
//!
//! - A snapshot is applied only once every event up to the end of its dump has been: a change
//!   made while the dump ran may already show in it, and events win over older snapshots,
//!   never the other way round.
//! - Transitions leave in kernel time order: each batch of events comes sorted up to its
//!   watermark (the sources hold back what may still be overtaken), and transitions that the
//!   tracker dates earlier than what has already left (a snapshot's view of a timewait socket,
//!   dated from its timer; connections confirmed late) leave at the time of the latest one,
//!   their exact time kept in the connection's timeline.

use super::{Mode, Tracker, Transition};
use crate::model::{KernelEvent, Owner, SocketRecord, StateSet};
use std::collections::HashMap;

/// One dump of the socket table, with the owners of the sockets new to the caller.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// When the dump started (CLOCK_MONOTONIC).
    pub ts_ns: u64,
    /// When it ended.
    pub end_ns: u64,
    pub sockets: Vec<SocketRecord>,
    pub owners: HashMap<u64, Vec<Owner>>,
    /// The states dumped (all, or a partial set between full dumps).
    pub states: StateSet,
}

impl Snapshot {
    /// A full snapshot taken in an instant at `ts_ns`, with the owners `owners_of` gives (for
    /// recorded inputs, tests and benchmarks).
    pub fn full(
        ts_ns: u64,
        sockets: Vec<SocketRecord>,
        owners_of: &dyn Fn(u64) -> Vec<Owner>,
    ) -> Snapshot {
        let owners = sockets
            .iter()
            .filter(|s| s.inode != 0)
            .map(|s| (s.inode, owners_of(s.inode)))
            .filter(|(_, o)| !o.is_empty())
            .collect();
        Snapshot {
            ts_ns,
            end_ns: ts_ns,
            sockets,
            owners,
            states: StateSet::ALL,
        }
    }
}

pub struct Feed {
    tracker: Tracker,
    /// Snapshots waiting for the events up to their end.
    waiting: Vec<Snapshot>,
    /// Every event up to here has been applied.
    watermark: u64,
    /// Transitions ready to leave, in order.
    out: Vec<Transition>,
    /// The time of the latest transition that left.
    last_ts: u64,
    /// TcpExtTCPTimeWaitOverflow as the latest snapshot read it.
    overflows: Option<u64>,
    /// The largest applied snapshot's record list, emptied, for the next dump to fill: a dump
    /// of 200k sockets is 27 MB, and allocating and freeing one every few seconds left glibc
    /// holding hundreds of MB it would not give back.
    spare: Vec<SocketRecord>,
}

impl Feed {
    pub fn new(tracker: Tracker) -> Feed {
        Feed {
            tracker,
            waiting: Vec::new(),
            watermark: 0,
            out: Vec::new(),
            last_ts: 0,
            overflows: None,
            spare: Vec::new(),
        }
    }

    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    fn traced(&self) -> bool {
        self.tracker.config().mode == Mode::Traced
    }

    /// Events in time order, every one up to `watermark` included, with the namespace's
    /// TcpExtTCPTimeWaitOverflow read right after they were drained: when it moved, the kernel
    /// had no room for some timewait socket, and these events' hand-overs may be real closes
    /// (the next snapshot decides).
    pub fn on_events(
        &mut self,
        events: &[KernelEvent],
        watermark: u64,
        timewait_overflows: Option<u64>,
        is_local_pid: &mut dyn FnMut(i32) -> bool,
    ) {
        if let Some(count) = timewait_overflows {
            let moved = self.overflows.is_some_and(|before| count > before);
            self.tracker.set_timewait_overflow(moved);
            self.overflows = Some(count);
        }
        self.tracker.apply_events(events, is_local_pid);
        self.watermark = self.watermark.max(watermark);
        self.collect();
        self.apply_ready();
    }

    /// A snapshot; applied now without events, or once the events have caught up with it.
    pub fn on_snapshot(&mut self, snapshot: Snapshot) {
        self.waiting.push(snapshot);
        self.apply_ready();
    }

    /// An empty list for the next dump, with room from earlier ones.
    pub fn spare_sockets(&mut self) -> Vec<SocketRecord> {
        std::mem::take(&mut self.spare)
    }

    /// Whether a snapshot still waits for events.
    pub fn snapshot_waiting(&self) -> bool {
        !self.waiting.is_empty()
    }

    fn apply_ready(&mut self) {
        while let Some(s) = self.waiting.first() {
            if self.traced() && self.watermark < s.end_ns {
                break;
            }
            let s = self.waiting.remove(0);
            let owners = &s.owners;
            self.tracker
                .apply_partial_snapshot(s.ts_ns, &s.sockets, s.states, &|inode| {
                    owners.get(&inode).cloned().unwrap_or_default()
                });
            self.tracker.expire(s.ts_ns);
            self.collect();
            let mut sockets = s.sockets;
            if sockets.capacity() > self.spare.capacity() {
                sockets.clear();
                self.spare = sockets;
            }
        }
    }

    /// Moves the tracker's new transitions out, in order. The buffers keep their capacity
    /// from batch to batch: under churn, growing them anew each time cost page faults and
    /// copies.
    fn collect(&mut self) {
        let from = self.out.len();
        self.tracker.take_transitions_into(&mut self.out);
        let batch = &mut self.out[from..];
        // Usually in order already (events come sorted); a stable sort otherwise.
        if !batch.is_sorted_by_key(|t| t.ts_ns) {
            batch.sort_by_key(|t| t.ts_ns);
        }
        for t in batch {
            t.ts_ns = t.ts_ns.max(self.last_ts);
            self.last_ts = t.ts_ns;
        }
    }

    /// The transitions known since the last call, oldest first, times never going back.
    pub fn take_transitions(&mut self) -> Vec<Transition> {
        std::mem::take(&mut self.out)
    }

    /// The same, appended to `buf` (whose capacity is reused).
    pub fn take_transitions_into(&mut self, buf: &mut Vec<Transition>) {
        move_all(&mut self.out, buf);
    }
}

/// Moves every transition of `from` to the end of `to`; by swapping the two when `to` is
/// empty, so that neither loses its capacity.
pub(super) fn move_all(from: &mut Vec<Transition>, to: &mut Vec<Transition>) {
    if to.is_empty() {
        std::mem::swap(from, to);
    } else {
        to.append(from);
    }
}
