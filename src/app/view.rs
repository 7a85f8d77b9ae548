//! What the screen shows, derived from the tracker when data changes (not on every frame):
//! rows of the connections table, the ports pane and the counts per state.

use crate::model::ports::{Side, side_by_ports};
use crate::model::{Owner, TcpState};
use crate::tracker::{ConnId, Connection, Phase, Source, Tracker};
use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::ops::RangeInclusive;

/// One line of the connections table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub id: ConnId,
    pub state: Phase,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub recv_q: u32,
    pub send_q: u32,
    /// Every process that holds it (shared with the tracker's connection).
    pub owners: std::sync::Arc<[Owner]>,
    /// When it entered its current state (or was first seen).
    pub since_ns: u64,
    /// Whether tcpscope saw it enter its state; if not, `since_ns` is when it was first
    /// seen, already in that state, and the time in state is a lower bound.
    pub since_entered: bool,
    /// The last transition, for the flash: (when, how known).
    pub last_change: Option<(u64, Source)>,
    pub ghost: bool,
    /// For a ghost, the state it was in before it went (filters match ghosts by it).
    pub was: Option<TcpState>,
    /// The port it is grouped under in the ports pane (within its namespace).
    pub service: ServicePort,
    /// The inode of its network namespace.
    pub netns: u32,
    /// The socket inode (0 for TIME_WAIT and ghosts).
    pub inode: u64,
    /// The lab socket it is, when tcpscope's own lab made it.
    pub lab: Option<crate::actions::lab::LabId>,
}

impl Row {
    /// The row as one line of text, for the clipboard: state, ends, queues, owners.
    pub fn as_text(&self) -> String {
        let owners: Vec<String> = self.owners.iter().map(Owner::label).collect();
        format!(
            "{} {} {} recv-q {} send-q {}{}{}",
            self.state.name(),
            self.local,
            self.remote,
            self.recv_q,
            self.send_q,
            if owners.is_empty() { "" } else { " " },
            owners.join(",")
        )
    }

    /// The row as a JSON object, with the keys `list --json` uses for the same fields.
    pub fn as_json(&self) -> String {
        let owners: Vec<serde_json::Value> = self
            .owners
            .iter()
            .map(|o| {
                serde_json::json!({
                    "pid": o.pid, "comm": &*o.comm, "cmdline": &*o.cmdline, "fd": o.fd
                })
            })
            .collect();
        serde_json::json!({
            "state": self.state.name(),
            "local_addr": self.local.ip().to_string(),
            "local_port": self.local.port(),
            "remote_addr": self.remote.ip().to_string(),
            "remote_port": self.remote.port(),
            "recv_q": self.recv_q,
            "send_q": self.send_q,
            "inode": self.inode,
            "owners": owners,
        })
        .to_string()
    }
}

/// A port as a person thinks of it: one this host listens on, or one it connects out to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServicePort {
    Local(u16),
    Remote(u16),
}

impl ServicePort {
    pub fn label(self) -> String {
        match self {
            ServicePort::Local(p) => format!(":{p}"),
            ServicePort::Remote(p) => format!("→:{p}"),
        }
    }
}

/// One line of the ports pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSummary {
    pub port: ServicePort,
    /// Its namespace: two containers' :8080 are two ports.
    pub netns: u32,
    pub listeners: usize,
    pub owner: Option<Owner>,
    /// Its first listener, whose accept queue the pane shows.
    pub listener: Option<ConnId>,
    pub counts: StateCounts,
}

impl PortSummary {
    pub fn total(&self) -> usize {
        self.counts.live()
    }

    /// Whether a row is one of this port's.
    pub fn has(&self, r: &Row) -> bool {
        r.service == self.port && r.netns == self.netns
    }
}

/// Live connections per state, and ghosts: what the header and the ports pane count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateCounts {
    /// By kernel state number (1 to 12); index 0, which no state has, counts the ghosts.
    by_number: [usize; 13],
}

impl StateCounts {
    /// Counts a row: by its state, or as a ghost.
    pub fn count(&mut self, state: Phase, ghost: bool) {
        match state {
            Phase::State(s) if !ghost => self.by_number[usize::from(s.kernel_number())] += 1,
            _ => self.by_number[0] += 1,
        }
    }

    /// Live connections in `state`.
    pub fn of(&self, state: TcpState) -> usize {
        self.by_number[usize::from(state.kernel_number())]
    }

    pub fn ghosts(&self) -> usize {
        self.by_number[0]
    }

    /// Live connections, every state.
    pub fn live(&self) -> usize {
        self.by_number[1..].iter().sum()
    }

    /// Adds another's counts to these.
    pub fn add(&mut self, other: &StateCounts) {
        for (total, n) in self.by_number.iter_mut().zip(other.by_number) {
            *total += n;
        }
    }
}

/// Builds the rows and ports from the tracker's connections; `ephemeral` is the range the
/// kernel picks connecting sockets' ports from (`net.ipv4.ip_local_port_range`).
pub fn build(tracker: &Tracker, ephemeral: &RangeInclusive<u16>) -> (Vec<Row>, Vec<PortSummary>) {
    let conns: Vec<&Connection> = tracker.connections().collect();
    let listening: HashSet<(u32, u16)> = conns
        .iter()
        .filter(|c| listened(c))
        .map(|c| (c.netns, c.local().port()))
        .collect();
    let rows: Vec<Row> = conns
        .iter()
        .map(|c| row(c, service_port(c, &listening, ephemeral)))
        .collect();
    let mut ports: BTreeMap<(u32, ServicePort), PortSummary> = BTreeMap::new();
    for r in &rows {
        let p = ports
            .entry((r.netns, r.service))
            .or_insert_with(|| PortSummary {
                port: r.service,
                netns: r.netns,
                listeners: 0,
                owner: None,
                listener: None,
                counts: StateCounts::default(),
            });
        p.counts.count(r.state, r.ghost);
        if r.state == Phase::State(TcpState::Listen) {
            p.listeners += 1;
            p.listener.get_or_insert(r.id);
            if p.owner.is_none() {
                p.owner = r.owners.first().cloned();
            }
        }
    }
    (rows, ports.into_values().collect())
}

/// A listener, or one that closed and is kept as a ghost: the server sockets it left behind
/// (TIME_WAITs above all) are still its port's.
fn listened(c: &Connection) -> bool {
    c.state == Phase::State(TcpState::Listen)
        || c.timeline.iter().any(|e| {
            e.from == Phase::State(TcpState::Listen)
                && matches!(e.to, Phase::Gone | Phase::State(TcpState::Close))
        })
}

/// Which end opened the connection, when its timeline tells: a server's socket was born in
/// SYN_RECV, a client's went through SYN_SENT.
fn opened_passively(c: &Connection) -> Option<bool> {
    c.timeline.iter().find_map(|e| {
        let syn_sent = Phase::State(TcpState::SynSent);
        if e.to == Phase::State(TcpState::SynRecv) {
            Some(true)
        } else if e.to == syn_sent || e.from == syn_sent {
            Some(false)
        } else {
            None
        }
    })
}

/// The port a connection is grouped under: its local port when it is a server's socket, the
/// peer's when it is a client's. Known for sure while a listener (live or a ghost) holds the
/// local port or the timeline shows the handshake; otherwise told from the ports the way the
/// kernel picks them: a client's local port comes from the ephemeral range.
fn service_port(
    c: &Connection,
    listening: &HashSet<(u32, u16)>,
    ephemeral: &RangeInclusive<u16>,
) -> ServicePort {
    let (local, remote) = (c.local().port(), c.remote().port());
    if remote == 0 || listening.contains(&(c.netns, local)) {
        return ServicePort::Local(local);
    }
    let server = opened_passively(c)
        .unwrap_or_else(|| side_by_ports(local, remote, ephemeral) == Side::Server);
    if server {
        ServicePort::Local(local)
    } else {
        ServicePort::Remote(remote)
    }
}

fn row(c: &Connection, service: ServicePort) -> Row {
    let (recv_q, send_q) = c.queues();
    let last = c.timeline.last();
    Row {
        id: c.id,
        state: c.state,
        local: c.local(),
        remote: c.remote(),
        recv_q,
        send_q,
        owners: c.owners.clone(),
        since_ns: last.map_or(c.first_seen_ns, |e| e.ts_ns()),
        since_entered: last.is_some(),
        last_change: last.map(|e| (e.ts_ns(), e.source)),
        ghost: c.is_ghost(),
        was: c.timeline.iter().rev().find_map(|e| match e.from {
            Phase::State(s) if e.to == Phase::Gone => Some(s),
            _ => None,
        }),
        service,
        netns: c.netns,
        inode: c.inode,
        lab: None,
    }
}
