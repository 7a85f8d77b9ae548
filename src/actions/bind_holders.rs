//! The holders of a port in brief: after a busy server stops, thousands of TIME_WAITs hold its
//! port, and a line each would scroll the answer away. Counted per state and per owner, with
//! the few that matter shown: every live listener, the connections a process still holds, and
//! the TIME_WAIT that goes last (when the port is free of them).

use crate::model::{Owner, SocketRecord, TcpState, TimerKind};
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::BTreeMap;

/// How many holders are shown one by one before the rest is only counted.
pub const SHOWN: usize = 8;

/// Holders counted by state and by owning process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub total: usize,
    /// Per state, in the kernel's state order.
    pub by_state: Vec<Count>,
    /// Per process (`comm[pid]`, or `no process`), most first.
    pub by_owner: Vec<Count>,
}

/// So many sockets of one state or one process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Count {
    pub name: String,
    pub sockets: usize,
}

impl Summary {
    /// `TIME_WAIT 13,899, ESTABLISHED 3`: the counts of `by_state` or `by_owner` in words.
    pub fn line(counts: &[Count]) -> String {
        let parts: Vec<String> = counts
            .iter()
            .map(|c| format!("{} {}", c.name, grouped(c.sockets)))
            .collect();
        parts.join(", ")
    }
}

/// A count with thousands marked: 13,899.
pub fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// Counts `holders` per state and per owner; `owners_of` gives a socket's processes.
pub fn summarise<'a>(
    holders: &'a [SocketRecord],
    owners_of: impl Fn(&'a SocketRecord) -> &'a [Owner],
) -> Summary {
    let mut states: BTreeMap<u8, Count> = BTreeMap::new();
    let mut owners: BTreeMap<String, usize> = BTreeMap::new();
    for s in holders {
        states
            .entry(s.state.kernel_number())
            .or_insert(Count {
                name: s.state.name().to_string(),
                sockets: 0,
            })
            .sockets += 1;
        let owner = match owners_of(s).first() {
            // A process name is untrusted: made safe before it reaches a terminal.
            Some(o) => format!(
                "{}[{}]",
                crate::model::safe_text::for_terminal(&o.comm),
                o.pid
            ),
            None => "no process".to_string(),
        };
        *owners.entry(owner).or_default() += 1;
    }
    let mut by_owner: Vec<Count> = owners
        .into_iter()
        .map(|(name, sockets)| Count { name, sockets })
        .collect();
    by_owner.sort_by_key(|c| (Reverse(c.sockets), c.name.clone()));
    Summary {
        total: holders.len(),
        by_state: states.into_values().collect(),
        by_owner,
    }
}

/// The indices of the holders worth a line each, at most [`SHOWN`]: live listeners first,
/// then connections a process holds, then the rest by the time they have left (the last to
/// go first). The TIME_WAIT that goes last is always among them.
pub fn notable(holders: &[SocketRecord]) -> Vec<usize> {
    let rank = |s: &SocketRecord| match s.state {
        TcpState::Listen => 0,
        _ if s.inode != 0 => 1,
        _ => 2,
    };
    let left = |s: &SocketRecord| {
        s.timer
            .filter(|t| t.kind == TimerKind::Timewait)
            .map_or(0, |t| t.remaining_ms)
    };
    let mut order: Vec<usize> = (0..holders.len()).collect();
    order.sort_by_key(|&i| (rank(&holders[i]), Reverse(left(&holders[i]))));
    let last_to_go = order
        .iter()
        .copied()
        .filter(|&i| holders[i].state == TcpState::TimeWait)
        .max_by_key(|&i| left(&holders[i]));
    let mut shown: Vec<usize> = order.into_iter().take(SHOWN).collect();
    if let Some(last) = last_to_go
        && !shown.contains(&last)
    {
        shown.pop();
        shown.push(last);
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Timer;

    fn socket(state: TcpState, inode: u64, left_ms: u64) -> SocketRecord {
        let local = "127.0.0.1:8089".parse().unwrap();
        let remote = "127.0.0.1:40000".parse().unwrap();
        let mut s = SocketRecord::new(state, local, remote, inode);
        if state == TcpState::TimeWait {
            s.timer = Some(Timer {
                kind: TimerKind::Timewait,
                remaining_ms: left_ms,
                retransmits: 0,
            });
        }
        s
    }

    #[test]
    fn thousands_of_time_waits_are_counted_and_the_last_to_go_is_shown() {
        let mut holders: Vec<SocketRecord> = (0..5000)
            .map(|i| socket(TcpState::TimeWait, 0, 1000 + i))
            .collect();
        holders.extend((0..10).map(|i| socket(TcpState::Established, 100 + i, 0)));
        holders.push(socket(TcpState::Listen, 7, 0));
        let summary = summarise(&holders, |_| &[]);
        assert_eq!(summary.total, 5011);
        assert_eq!(
            Summary::line(&summary.by_state),
            "ESTABLISHED 10, TIME_WAIT 5,000, LISTEN 1"
        );
        assert_eq!(Summary::line(&summary.by_owner), "no process 5,011");
        let shown = notable(&holders);
        assert_eq!(shown.len(), SHOWN);
        assert_eq!(holders[shown[0]].state, TcpState::Listen);
        let last = shown.last().unwrap();
        assert_eq!(holders[*last].timer.unwrap().remaining_ms, 5999);
    }

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(13899), "13,899");
        assert_eq!(grouped(1234567), "1,234,567");
    }
}
