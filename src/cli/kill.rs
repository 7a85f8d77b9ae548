//! `tcpscope kill FILTER`: the matching sockets, listed, confirmed, then aborted.

use super::args::KillArgs;
use super::confirm::{Plan, select};
use crate::actions::destroy::DestroyError;
use crate::model::{SocketRecord, TcpState};
use crate::output::Row;
use std::io::Write;

/// What aborting does to sockets in these states, one sentence per kind present: a
/// TIME_WAIT sends nothing, so a plan of TIME_WAITs alone must not speak of a RST.
pub fn what_happens(matched: &[&SocketRecord]) -> String {
    use TcpState::*;
    let has = |pred: &dyn Fn(&SocketRecord) -> bool| matched.iter().any(|s| pred(s));
    let orphan = |s: &SocketRecord| s.state == FinWait2 && s.inode == 0;
    let mut said = Vec::new();
    if has(&|s| {
        matches!(s.state, SynRecv | Established | FinWait1 | CloseWait)
            || (s.state == FinWait2 && s.inode != 0)
    }) {
        said.push("A connected end is aborted: its peer gets a RST (ECONNRESET, if its end still exists) and this end is gone at once, no TIME_WAIT. Its owner gets ECONNABORTED on its next call (a waiting recv() wakes with it; in CLOSE_WAIT recv() still returns 0 and send() gets it), then EPIPE from send() and 0 from recv().");
    }
    if has(&|s| s.state == Listen) {
        said.push("A LISTEN socket stops accepting: the owner's accept() fails with EINVAL, connections waiting in its accept queue are reset; its port stays bound until its owner closes the fd (unless it was bound to port 0).");
    }
    if has(&|s| s.state == TimeWait) {
        said.push("A TIME_WAIT entry is removed and nothing is sent (both ends closed already): its port is free at once.");
    }
    if has(&|s| matches!(s.state, SynSent | LastAck | Closing) || orphan(s)) {
        said.push("SYN_SENT, LAST_ACK and CLOSING ends, and orphaned FIN_WAIT2 entries, send nothing (no connection yet, or their FIN is out already): they are just removed.");
    }
    said.join(" ")
}

/// Exit code: 0 all aborted, 1 some failed or the user said no, 2 bad input.
pub fn run(args: &KillArgs) -> anyhow::Result<i32> {
    let sel = match select(&args.filter, args.all, args.sockets.netns.as_ref())? {
        Ok(sel) => sel,
        Err(code) => return Ok(code),
    };
    let matches: Vec<_> = sel.matches().collect();
    let rows: Vec<Row<'_>> = matches.iter().map(|s| sel.row(s)).collect();
    let mut out = std::io::stdout().lock();
    let plan = Plan {
        rows: &rows,
        skipped: &[],
        what_happens: &what_happens(&matches),
        verb: "Abort",
        count: matches.len(),
        netns_column: sel.many_namespaces(),
    };
    if !plan.list_and_confirm(&mut out, args.yes)? {
        return Ok(1);
    }
    let mut failed = 0;
    for (i, s) in matches.iter().enumerate() {
        match sel.destroy(s, u32::try_from(i).unwrap_or(0) + 1) {
            Ok(()) => writeln!(out, "aborted {} {} > {}", s.state, s.local, s.remote)?,
            Err(DestroyError::Permission) => {
                eprintln!("tcpscope: {}", DestroyError::Permission);
                return Ok(1);
            }
            Err(e) => {
                failed += 1;
                eprintln!("tcpscope: {} {} > {}: {e}", s.state, s.local, s.remote);
            }
        }
    }
    Ok(if failed == 0 { 0 } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(state: TcpState, inode: u64) -> SocketRecord {
        SocketRecord::new(
            state,
            "127.0.0.1:8080".parse().unwrap(),
            "127.0.0.1:40000".parse().unwrap(),
            inode,
        )
    }

    #[test]
    fn time_waits_alone_are_not_said_to_reset_anyone() {
        let (a, b) = (rec(TcpState::TimeWait, 0), rec(TcpState::TimeWait, 0));
        let text = what_happens(&[&a, &b]);
        assert!(!text.contains("RST"), "{text}");
        assert!(text.contains("nothing is sent"), "{text}");
    }

    #[test]
    fn each_kind_present_is_said_once() {
        let (e, l, tw) = (
            rec(TcpState::Established, 7),
            rec(TcpState::Listen, 8),
            rec(TcpState::TimeWait, 0),
        );
        let text = what_happens(&[&e, &l, &tw]);
        assert_eq!(text.matches("RST (ECONNRESET").count(), 1, "{text}");
        assert!(text.contains("LISTEN socket stops accepting"), "{text}");
        assert!(text.contains("TIME_WAIT entry is removed"), "{text}");
        assert!(!text.contains("SYN_SENT"), "{text}");
    }
}
