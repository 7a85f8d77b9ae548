//! `tcpscope list`: one snapshot, joined with owners, printed as a table or JSON.

use super::args::ListArgs;
use crate::model::SocketRecord;
use crate::output::{Row, json::write_json, table::write_table};
use crate::sources::owners::{OwnerLookup, OwnerScanStats, ProcfsOwners};
use crate::sources::{Query, open_source};
use anyhow::Context;
use std::io::Write;

pub fn run(args: &ListArgs) -> anyhow::Result<()> {
    let filter = args.filter.filter();
    let want_owners = !args.sockets.no_owners;
    let query = Query::for_filter(&filter, args.json || args.info);
    let mut source = open_source(args.sockets.source)?;
    let mut owners = ProcfsOwners::new();

    // The owner scan does not need the snapshot on a first run, so both go at once.
    let (sockets, malformed, owner_stats) = std::thread::scope(|scope| {
        let scan = want_owners.then(|| scope.spawn(|| owners.refresh(&[])));
        let mut sockets: Vec<SocketRecord> = Vec::new();
        let malformed = source.snapshot(&query, &mut sockets);
        let stats = scan.map(|h| h.join().unwrap_or_default());
        (sockets, malformed, stats)
    });
    let malformed = malformed.context("reading the socket table")?;

    let rows: Vec<Row<'_>> = sockets
        .iter()
        .filter(|s| filter.matches_socket(s))
        .map(|s| Row {
            socket: s,
            owners: owners.owners_of(s.inode),
        })
        .filter(|r| filter.matches_owners(r.owners))
        .collect();

    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let written = if args.json {
        write_json(&mut out, &rows)
    } else {
        write_table(&mut out, &rows, want_owners)
    };
    match written.and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
        other => other.context("writing the list")?,
    }
    report(malformed, owner_stats);
    Ok(())
}

/// Says on stderr what could not be read, so that a missing owner is never a silent mystery.
fn report(malformed: usize, owners: Option<OwnerScanStats>) {
    if malformed > 0 {
        eprintln!("tcpscope: skipped {malformed} malformed socket records from the kernel");
    }
    let Some(stats) = owners else { return };
    if stats.unreadable_processes > 0 {
        eprintln!(
            "tcpscope: owners unknown for the sockets of {} processes whose /proc/PID/fd is not readable ({})",
            stats.unreadable_processes,
            crate::sources::owners::OWNERS_NEED
        );
    }
    if stats.unreadable_fds > 0 {
        let fix = if rustix::process::geteuid().is_root() {
            "refused even to root: a security module or ptrace rule protects those processes"
        } else {
            crate::sources::owners::OWNERS_NEED
        };
        eprintln!(
            "tcpscope: owners unknown for {} file descriptors whose link may not be read ({fix})",
            stats.unreadable_fds
        );
    }
}
