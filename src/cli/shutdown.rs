//! `tcpscope shutdown FILTER`: the matching sockets, listed, confirmed, then shut down
//! gracefully (shutdown(SHUT_RDWR)) on their owners' behalf through a copy of an owner's fd.

use super::args::ShutdownArgs;
use super::confirm::{Plan, select};
use crate::actions::foreign_shutdown::shutdown_through_any;
use crate::model::SocketRecord;
use crate::output::Row;
use std::io::Write;

pub const WHAT_HAPPENS: &str = "Each gets shutdown(SHUT_RDWR) on its owner's behalf: a FIN goes to the peer (a graceful close; the peer reads end-of-file), the owner's recv() returns 0 (a waiting one wakes) and its send() fails with EPIPE. An ESTABLISHED end then waits in FIN_WAIT2, with no timer while its owner holds the fd, and the peer's end stays in CLOSE_WAIT until the peer closes; data the peer still sends is answered with a RST. A CLOSE_WAIT end sends the FIN its owner never did and is closed; the peer's end goes to TIME_WAIT. A LISTEN socket stops accepting: the owner's accept() fails with EINVAL (a waiting one wakes), connections waiting in its accept queue are reset, new ones refused; its port stays bound until the owner closes the fd (unless it was bound to port 0), and the owner may listen() on it again.";

/// Why a matching socket is left alone.
pub const NO_OWNER: &str = "no process holds it; only `tcpscope kill` can remove it";
/// The same, when other users' fd tables are closed to us: its owner may be one of theirs.
pub const NO_OWNER_SEEN: &str = "no process this user can see holds it";

/// Exit code: 0 every socket a process holds was shut down, 1 some failed, none could be, or
/// the user said no; 2 bad input.
pub fn run(args: &ShutdownArgs) -> anyhow::Result<i32> {
    if args.sockets.no_owners {
        eprintln!(
            "tcpscope: shutdown acts through the owners' file descriptors: it cannot run with --no-owners"
        );
        return Ok(super::EXIT_USAGE);
    }
    let sel = match select(&args.filter, args.all, args.sockets.netns.as_ref())? {
        Ok(sel) => sel,
        Err(code) => return Ok(code),
    };
    let (held, orphans): (Vec<&SocketRecord>, Vec<&SocketRecord>) =
        sel.matches().partition(|s| !sel.owners_of(s).is_empty());
    let rows: Vec<Row<'_>> = sel.matches().map(|s| sel.row(s)).collect();
    // A socket without an inode (a timewait one, an orphan) has no fd anywhere; one with an
    // inode may be held by a process whose fd table is closed to us.
    let why = |s: &SocketRecord| {
        if s.inode != 0 && sel.owners_hidden() {
            NO_OWNER_SEEN
        } else {
            NO_OWNER
        }
    };
    let skipped: Vec<(&SocketRecord, &str)> = orphans.iter().map(|&s| (s, why(s))).collect();
    let mut out = std::io::stdout().lock();
    let plan = Plan {
        rows: &rows,
        skipped: &skipped,
        what_happens: if held.is_empty() { "" } else { WHAT_HAPPENS },
        verb: "Shut down",
        count: held.len(),
        netns_column: sel.many_namespaces(),
    };
    if held.is_empty() {
        plan.list(&mut out)?;
        if sel.owners_hidden() {
            eprintln!(
                "tcpscope: nothing to shut down: no process this user can see holds the matching sockets ({})",
                crate::sources::owners::OWNERS_NEED
            );
        } else {
            eprintln!("tcpscope: nothing to shut down: no process holds the matching sockets");
        }
        return Ok(1);
    }
    if !plan.list_and_confirm(&mut out, args.yes)? {
        return Ok(1);
    }
    let mut failed = 0;
    for s in held {
        match shutdown_through_any(sel.owners_of(s), s.inode, std::net::Shutdown::Both) {
            Ok(o) => writeln!(
                out,
                "shut down {} {} > {} (pid {} fd {})",
                s.state, s.local, s.remote, o.pid, o.fd
            )?,
            Err(errors) => {
                failed += 1;
                for (o, e) in errors {
                    eprintln!(
                        "tcpscope: {} {} > {}: pid {} ({}) fd {}: {e}",
                        s.state,
                        s.local,
                        s.remote,
                        o.pid,
                        crate::model::safe_text::for_terminal(&o.comm),
                        o.fd
                    );
                }
            }
        }
    }
    Ok(if failed == 0 { 0 } else { 1 })
}
