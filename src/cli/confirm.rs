//! What `tcpscope kill` and `tcpscope shutdown` share: refusing an empty filter, finding the
//! matching sockets and their owners, listing them with what will happen, and asking.

use super::args::FilterArgs;
use crate::model::netns::Netns;
use crate::model::{Owner, SocketRecord};
use crate::output::{Row, table::write_table};
use crate::sources::every_netns::EveryNetns;
use crate::sources::netns::NetnsChoice;
use crate::sources::owners::{OwnerLookup, ProcfsOwners};
use crate::sources::{Query, SnapshotSource, dump_all};
use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

/// The sockets of the namespace that match the filter, with their owners.
pub struct Selection {
    sockets: Vec<SocketRecord>,
    owners: ProcfsOwners,
    matches: Vec<usize>,
    /// Processes whose fds could not be read: their sockets look unowned.
    unreadable: usize,
    /// With `--netns all`: every namespace's dump socket, and their labels.
    every: Option<EveryNetns>,
    spaces: BTreeMap<u32, Arc<Netns>>,
}

impl Selection {
    /// Whether some owners could not be seen (other users' processes, without privileges).
    pub fn owners_hidden(&self) -> bool {
        self.unreadable > 0
    }

    pub fn matches(&self) -> impl Iterator<Item = &SocketRecord> {
        self.matches.iter().map(|&i| &self.sockets[i])
    }

    pub fn owners_of(&self, s: &SocketRecord) -> &[Owner] {
        self.owners.owners_of(s.inode)
    }

    pub fn row<'a>(&'a self, s: &'a SocketRecord) -> Row<'a> {
        Row {
            socket: s,
            owners: self.owners_of(s),
            netns: self.spaces.get(&s.netns).map(|n| &**n),
        }
    }

    /// Whether the sockets come from several namespaces (`--netns all`).
    pub fn many_namespaces(&self) -> bool {
        self.every.is_some()
    }

    /// Aborts one of the selected sockets, in its own namespace.
    pub fn destroy(
        &self,
        s: &SocketRecord,
        seq: u32,
    ) -> Result<(), crate::actions::destroy::DestroyError> {
        use crate::actions::destroy::{DestroyError, destroy, destroy_through};
        match &self.every {
            None => destroy(s, seq),
            Some(every) => match every.socket_of(s.netns) {
                Some(fd) => destroy_through(fd, s, seq),
                None => Err(DestroyError::Io("its namespace is gone".into())),
            },
        }
    }
}

/// Whether a filter picks some sockets out rather than all of them under another name: port 0
/// is every listener's remote port (`--port 0` aborted every listener), and `--state all` is
/// every state.
fn narrows(f: &FilterArgs) -> bool {
    let port = |p: Option<u16>| p.is_some_and(|p| p != 0);
    // The filter's states: every state when none is given.
    port(f.port)
        || port(f.sport)
        || port(f.dport)
        || f.pid.is_some()
        || f.container.is_some()
        || f.filter().states != crate::model::StateSet::ALL
}

/// The matching sockets, or the exit code when there is nothing to act on: 2 for a filter
/// that matches everything without `all` (said on stderr), 1 when nothing matches.
pub fn select(
    f: &FilterArgs,
    all: bool,
    netns: Option<&NetnsChoice>,
) -> anyhow::Result<Result<Selection, i32>> {
    if !all && !narrows(f) {
        eprintln!(
            "tcpscope: refusing to act on every socket: give a filter that narrows (--port, --sport, --dport other than 0, --pid, --state other than all), or --all"
        );
        return Ok(Err(super::EXIT_USAGE));
    }
    let filter = f.filter();
    let (sockets, every) = if netns == Some(&NetnsChoice::All) {
        let mut every = EveryNetns::open()?;
        let mut sockets = Vec::new();
        every.snapshot(
            &Query::states(crate::model::StateSet::ALL, false),
            &mut sockets,
        )?;
        (sockets, Some(every))
    } else {
        (dump_all()?, None)
    };
    let spaces = match &every {
        Some(every) => every.namespaces(),
        None => {
            let here = crate::sources::namespaces::describe_here(netns);
            BTreeMap::from([(here.inode, Arc::new(here))])
        }
    };
    let mut owners = ProcfsOwners::new();
    let scan = owners.refresh(&sockets);
    let matches: Vec<usize> = sockets
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            filter.matches_socket(s)
                && filter.matches_owners(owners.owners_of(s.inode))
                && (filter.namespace.is_none()
                    || filter.matches_netns(spaces.get(&s.netns).map(|n| &**n)))
        })
        .map(|(i, _)| i)
        .collect();
    if matches.is_empty() {
        eprintln!("tcpscope: no socket matches");
        return Ok(Err(1));
    }
    Ok(Ok(Selection {
        sockets,
        owners,
        matches,
        unreadable: scan.unreadable_processes + scan.unreadable_fds,
        every,
        spaces,
    }))
}

/// What the user is asked to confirm.
pub struct Plan<'a> {
    /// Every matching socket, as a table.
    pub rows: &'a [Row<'a>],
    /// Matching sockets that will be left alone, each with why.
    pub skipped: &'a [(&'a SocketRecord, &'a str)],
    /// What happens to each socket acted on, and to its peer.
    pub what_happens: &'a str,
    /// The action, capitalised, for the question: "Abort", "Shut down".
    pub verb: &'a str,
    /// How many sockets will be acted on.
    pub count: usize,
    /// A NetNS column first (`--netns all`).
    pub netns_column: bool,
}

impl Plan<'_> {
    /// The table, the skipped sockets with why, and what will happen to the others.
    pub fn list(&self, out: &mut impl Write) -> std::io::Result<()> {
        write_table(
            out,
            self.rows,
            crate::output::Columns {
                owners: true,
                netns: self.netns_column,
                state_colors: None,
            },
        )?;
        if !self.skipped.is_empty() {
            writeln!(out)?;
            for (s, why) in self.skipped {
                writeln!(out, "skipped {} {} > {}: {why}", s.state, s.local, s.remote)?;
            }
        }
        if !self.what_happens.is_empty() {
            writeln!(out, "\n{}", self.what_happens)?;
        }
        Ok(())
    }

    /// Lists, then asks on the terminal unless `yes`. True when the user agreed (or `yes`);
    /// false, said, when not, or when there is no terminal to ask on.
    pub fn list_and_confirm(&self, out: &mut impl Write, yes: bool) -> anyhow::Result<bool> {
        self.list(out)?;
        if yes {
            writeln!(out, "{} {} socket(s): --yes given.", self.verb, self.count)?;
            return Ok(true);
        }
        if !std::io::stdin().is_terminal() {
            eprintln!(
                "tcpscope: not confirmed: no terminal to ask on; pass --yes to {} without asking",
                self.verb.to_lowercase()
            );
            return Ok(false);
        }
        write!(out, "{} these {} socket(s)? [y/N] ", self.verb, self.count)?;
        out.flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if matches!(answer.trim(), "y" | "Y" | "yes") {
            Ok(true)
        } else {
            writeln!(out, "nothing done")?;
            Ok(false)
        }
    }
}
