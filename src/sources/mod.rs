//! OS access: snapshots of the TCP socket table, and who owns each socket.

pub mod bpf;
pub mod bytes;
pub mod containers;
pub mod events;
pub mod every_netns;
pub mod lab_netns;
pub mod namespaces;
pub mod netns;
pub mod netstat;
pub mod owners;
pub mod proc_net;
pub mod run_id;
pub mod sock_diag;
pub mod sysctl;
pub mod tool;
pub mod trace;

use crate::model::{Filter, SocketRecord, StateSet};

/// The kernel's number for TCP (linux/in.h): what sock_diag asks for and tracefs reports.
pub const IPPROTO_TCP: u8 = 6;

/// What a snapshot should contain; sources push as much of it to the kernel as they can.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Query {
    pub states: StateSet,
    pub inet: bool,
    pub inet6: bool,
    /// Ask for tcp_info (costs the kernel a little per socket).
    pub tcp_info: bool,
}

impl Query {
    /// Every socket in `states`, both families.
    pub fn states(states: StateSet, tcp_info: bool) -> Query {
        Query {
            states,
            inet: true,
            inet6: true,
            tcp_info,
        }
    }

    pub fn for_filter(filter: &Filter, tcp_info: bool) -> Query {
        Query {
            states: filter.states,
            inet: filter.inet,
            inet6: filter.inet6,
            tcp_info,
        }
    }
}

impl Default for Query {
    fn default() -> Self {
        Query::states(StateSet::ALL, true)
    }
}

/// One netlink dump of every TCP socket of the namespace, without tcp_info: what the
/// one-shot commands that act on sockets start from.
pub fn dump_all() -> Result<Vec<SocketRecord>, SourceError> {
    let mut sockets = Vec::new();
    open_source(SourceKind::Netlink)?
        .snapshot(&Query::states(StateSet::ALL, false), &mut sockets)?;
    Ok(sockets)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SourceKind {
    /// netlink sock_diag, as `ss` uses: fast, with cookies, backlogs and tcp_info.
    Netlink,
    /// /proc/net/tcp and tcp6: the fallback and a cross-check.
    Procfs,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{what}: {source}")]
    Io {
        what: &'static str,
        source: std::io::Error,
    },
    #[error(transparent)]
    Kernel(#[from] sock_diag::wire::WireError),
    #[error("sock_diag: the kernel closed the dump before it was done")]
    Truncated,
}

/// A snapshot of the TCP socket table of the current network namespace.
pub trait SnapshotSource: Send {
    fn kind(&self) -> SourceKind;
    /// Appends the sockets matching `query` to `out`; returns how many records were malformed
    /// and skipped.
    fn snapshot(
        &mut self,
        query: &Query,
        out: &mut Vec<SocketRecord>,
    ) -> Result<usize, SourceError>;

    /// The namespaces the last snapshot covered, with their labels, when there are several
    /// (`--netns all`); empty for a source of one namespace.
    fn namespaces(&self) -> Vec<std::sync::Arc<crate::model::netns::Netns>> {
        Vec::new()
    }
}

pub fn open_source(kind: SourceKind) -> Result<Box<dyn SnapshotSource>, SourceError> {
    Ok(match kind {
        SourceKind::Netlink => Box::new(sock_diag::SockDiagSource::open()?),
        SourceKind::Procfs => Box::new(proc_net::ProcNetSource::new()),
    })
}

/// CLOCK_MONOTONIC in nanoseconds: the clock of snapshots and of the tracefs instance.
pub fn monotonic_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    u64::try_from(t.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(t.tv_nsec).unwrap_or(0)
}
