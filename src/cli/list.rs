//! `tcpscope list`: one snapshot, joined with owners, printed as a table or JSON.

use super::args::ListArgs;
use crate::model::SocketRecord;
use crate::model::color::Palette;
use crate::model::netns::Netns;
use crate::model::safe_text::for_terminal;
use crate::output::{Columns, Row, json::write_json, table::write_table};
use crate::sources::every_netns::EveryNetns;
use crate::sources::namespaces;
use crate::sources::netns::NetnsChoice;
use crate::sources::owners::{OwnerLookup, OwnerScanStats, ProcfsOwners};
use crate::sources::{Query, SnapshotSource, SourceKind, open_source};
use anyhow::Context;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

/// `state_colors`: colour the State column with these (never the JSON).
pub fn run(args: &ListArgs, state_colors: Option<Palette>) -> anyhow::Result<()> {
    let filter = args.filter.filter();
    let want_owners = !args.sockets.no_owners;
    let query = Query::for_filter(&filter, args.json || args.info);
    let all = args.sockets.netns == Some(NetnsChoice::All);
    let mut every = None;
    let mut one = None;
    let source: &mut dyn SnapshotSource = if all {
        anyhow::ensure!(
            args.sockets.source == SourceKind::Netlink,
            "--netns all reads netlink sock_diag: --source procfs reads one namespace"
        );
        every.insert(EveryNetns::open().context("--netns all")?)
    } else {
        &mut **one.insert(open_source(args.sockets.source)?)
    };
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
    let spaces: BTreeMap<u32, Arc<Netns>> = match &every {
        Some(every) => every.namespaces(),
        None => {
            let here = namespaces::describe_here(args.sockets.netns.as_ref());
            BTreeMap::from([(here.inode, Arc::new(here))])
        }
    };

    let rows: Vec<Row<'_>> = sockets
        .iter()
        .filter(|s| filter.matches_socket(s))
        .map(|s| Row {
            socket: s,
            owners: owners.owners_of(s.inode),
            netns: spaces.get(&s.netns).map(|n| &**n),
        })
        .filter(|r| filter.matches_owners(r.owners) && filter.matches_netns(r.netns))
        .collect();

    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let written = if args.json {
        write_json(&mut out, &rows)
    } else {
        write_table(
            &mut out,
            &rows,
            Columns {
                owners: want_owners,
                netns: all,
                state_colors,
            },
        )
    };
    match written.and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
        other => other.context("writing the list")?,
    }
    report(malformed, owner_stats);
    if let Some(every) = &every {
        report_namespaces(every);
    }
    Ok(())
}

/// Says on stderr which namespaces were not listed, and what would show them.
fn report_namespaces(every: &EveryNetns) {
    let mut by_reason: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (netns, why) in every.refused() {
        by_reason.entry(why).or_default().push(netns.label());
    }
    for (why, labels) in by_reason {
        let mut named = labels
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if labels.len() > 3 {
            named.push_str(", …");
        }
        eprintln!(
            "tcpscope: {} namespace(s) not listed ({}): {}",
            labels.len(),
            for_terminal(&named),
            for_terminal(why)
        );
    }
    if every.unreadable() > 0 {
        let why = if rustix::process::geteuid().is_root() {
            "refused even to root: a security module or ptrace rule protects those processes"
                .to_string()
        } else {
            format!(
                "other users' processes: needs {}",
                crate::sources::every_netns::SEE_NEEDS
            )
        };
        eprintln!(
            "tcpscope: the namespaces of {} processes could not be read ({why})",
            every.unreadable()
        );
    }
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
