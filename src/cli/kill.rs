//! `tcpscope kill FILTER`: the matching sockets, listed, confirmed, then aborted.

use super::args::KillArgs;
use super::confirm::{Plan, select};
use crate::actions::destroy::DestroyError;
use crate::output::Row;
use std::io::Write;

pub const WHAT_HAPPENS: &str = "Each is aborted: its peer gets a RST (ECONNRESET) and both ends are gone at once, no TIME_WAIT. Its owner gets ECONNABORTED on its next call (a waiting recv() wakes with it; in CLOSE_WAIT recv() still returns 0 and send() gets it), then EPIPE from send() and 0 from recv(). A LISTEN socket stops accepting: the owner's accept() fails with EINVAL, connections waiting in its accept queue are reset; its port stays bound until its owner closes the fd (unless it was bound to port 0). A TIME_WAIT entry is removed and its port is free. SYN_SENT, LAST_ACK and CLOSING ends, and orphaned FIN_WAIT2 entries, send nothing (no connection yet, or their FIN is out already): they are just removed.";

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
        what_happens: WHAT_HAPPENS,
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
