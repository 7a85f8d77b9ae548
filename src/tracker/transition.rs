//! A change of state of one connection, as `watch` prints it and the timeline keeps it.

use crate::model::{Family, Owner, TcpState};
use serde::{Serialize, Serializer};
use std::net::SocketAddr;

/// A phase of a connection's life: a TCP state, or `GONE` when the socket (or its timewait
/// entry) no longer exists. (A scenario's `Step` is something else: one move of the lab.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    State(TcpState),
    Gone,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::State(s) => s.name(),
            Phase::Gone => "GONE",
        }
    }
}

impl Serialize for Phase {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// How tcpscope knows of a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Reported by the kernel's tracepoint, with its exact time.
    Traced,
    /// Seen in a snapshot only (what no tracepoint reports: timewait changes and expiry).
    Observed,
    /// Deduced from two snapshots, when events are off: the time is the second snapshot's,
    /// and states that began and ended between them are missing.
    Inferred,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Traced => "traced",
            Source::Observed => "observed",
            Source::Inferred => "inferred",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reset {
    Sent,
    Received,
}

/// Identifies a connection within one tracker.
pub type ConnId = u64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub ts_ns: u64,
    pub conn: ConnId,
    pub family: Family,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub from: Phase,
    pub to: Phase,
    pub source: Source,
    pub reset: Option<Reset>,
    pub owners: std::sync::Arc<[Owner]>,
    /// The inode of the connection's network namespace.
    pub netns: u32,
}
