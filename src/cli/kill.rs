//! `tcpscope kill FILTER`: the matching sockets, listed, confirmed, then aborted.

use super::args::KillArgs;
use crate::actions::destroy::{DestroyError, destroy};
use crate::model::SocketRecord;
use crate::output::{Row, table::write_table};
use crate::sources::dump_all;
use crate::sources::owners::{OwnerLookup, ProcfsOwners};
use std::io::{BufRead, IsTerminal, Write};

pub const WHAT_HAPPENS: &str = "Each is aborted: its peer gets a RST, its owner gets ECONNABORTED on its next call. A LISTEN socket stops accepting, but its port stays bound until its owner closes the fd. A TIME_WAIT entry is removed and its port is free.";

/// Exit code: 0 all aborted, 1 some failed or the user said no, 2 bad input.
pub fn run(args: &KillArgs) -> anyhow::Result<i32> {
    let f = &args.filter;
    if f.states.is_empty()
        && f.port.is_none()
        && f.sport.is_none()
        && f.dport.is_none()
        && f.pid.is_none()
    {
        eprintln!(
            "tcpscope: refusing to act on every socket: give a filter (--port, --sport, --dport, --pid, --state)"
        );
        return Ok(super::EXIT_USAGE);
    }
    let filter = f.filter();
    let sockets = dump_all()?;
    let mut owners = ProcfsOwners::new();
    owners.refresh(&sockets);
    let matches: Vec<&SocketRecord> = sockets
        .iter()
        .filter(|s| filter.matches_socket(s) && filter.matches_owners(owners.owners_of(s.inode)))
        .collect();
    if matches.is_empty() {
        eprintln!("tcpscope: no socket matches");
        return Ok(1);
    }
    let rows: Vec<Row<'_>> = matches
        .iter()
        .map(|s| Row {
            socket: s,
            owners: owners.owners_of(s.inode),
        })
        .collect();
    let mut out = std::io::stdout().lock();
    write_table(&mut out, &rows, true)?;
    writeln!(out, "\n{WHAT_HAPPENS}")?;
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            eprintln!(
                "tcpscope: not confirmed: no terminal to ask on; pass --yes to abort without asking"
            );
            return Ok(1);
        }
        write!(out, "Abort these {} socket(s)? [y/N] ", matches.len())?;
        out.flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            writeln!(out, "nothing done")?;
            return Ok(1);
        }
    }
    let mut failed = 0;
    for (i, s) in matches.iter().enumerate() {
        match destroy(s, u32::try_from(i).unwrap_or(0) + 1) {
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
