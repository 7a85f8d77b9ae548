//! A change of state of one connection, as `watch` prints it and the timeline keeps it.

use crate::model::{Family, Owner, TcpState};
use serde::{Serialize, Serializer};
use std::net::SocketAddr;

/// A state, or `GONE` when the socket (or its timewait entry) no longer exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    State(TcpState),
    Gone,
}

impl Step {
    pub fn name(self) -> &'static str {
        match self {
            Step::State(s) => s.name(),
            Step::Gone => "GONE",
        }
    }
}

impl Serialize for Step {
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
    pub from: Step,
    pub to: Step,
    pub source: Source,
    pub reset: Option<Reset>,
    pub owners: std::sync::Arc<[Owner]>,
}
