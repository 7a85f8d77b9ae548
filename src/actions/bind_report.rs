//! Could a server bind this port now? A throwaway socket tries what a server would, and the
//! report says why, who holds the port, which options would work, and what is myth. Used by
//! `tcpscope can-bind` and by the interactive view's `b`.

use crate::actions::bind_holders::{SHOWN, Summary, grouped, notable, summarise};
use crate::actions::bind_probe::{BindOptions, Failure, probe};
use crate::model::ports::{DEFAULT_EPHEMERAL, Side, side_by_ports};
use crate::model::{SocketRecord, TcpState, TimerKind};
use crate::output::Row;
use crate::output::json::JsonRecord;
use crate::sources::dump_all;
use crate::sources::owners::{OwnerLookup, ProcfsOwners};
use crate::sources::sysctl::ephemeral_ports;
use serde::Serialize;
use std::net::SocketAddr;

pub const MYTHS: [&str; 5] = [
    "SO_EXCLUSIVEADDRUSE does not exist on Linux: it is Windows'.",
    "Options are set one setsockopt() call each. SO_REUSEADDR | SO_REUSEPORT is 2 | 15 = 15: that sets only SO_REUSEPORT, which lets a second server share the port silently.",
    "net.ipv4.tcp_tw_reuse never affects bind(): it lets connect() reuse a TIME_WAIT 4-tuple (after 1 s).",
    "net.ipv4.tcp_tw_recycle was removed in Linux 4.12.",
    "fuser -k PORT/tcp kills the process, not just the socket.",
];

#[derive(Serialize)]
struct Answer<'a> {
    port: u16,
    addr: std::net::IpAddr,
    options: BindOptions,
    listen: bool,
    bindable: bool,
    failure: Option<Failure>,
    /// Every holder, counted per state and per owner.
    holders_summary: Summary,
    /// Every holder with `--all`; else the few that matter (see `bind_holders::notable`).
    holders: Vec<JsonRecord<'a>>,
    would_succeed: Vec<BindOptions>,
    advice: Vec<String>,
    myths: [&'static str; 5],
}

/// What was found out about one address, port and option set.
pub struct Report {
    pub addr: SocketAddr,
    pub options: BindOptions,
    /// Whether listen() was tried after bind().
    pub listen: bool,
    pub result: Result<(), Failure>,
    pub holders: Vec<SocketRecord>,
    owners: ProcfsOwners,
    pub would_succeed: Vec<BindOptions>,
    pub advice: Vec<String>,
}

/// Probes `addr` with `opts` (bind, and listen unless `no_listen`), and the other option sets
/// with bind alone, then explains.
pub fn assess(addr: SocketAddr, opts: BindOptions, no_listen: bool) -> anyhow::Result<Report> {
    let holders = holders_of(addr)?;
    let mut owners = ProcfsOwners::new();
    owners.refresh(&holders);
    let listeners: Vec<&SocketRecord> = holders
        .iter()
        .filter(|s| s.state == TcpState::Listen)
        .collect();
    // Never listen inside a live SO_REUSEPORT group: the probe would take a share of its
    // connections for as long as it lives.
    let joins_group = opts.reuseport && !listeners.is_empty();
    let listen = !no_listen && !joins_group;
    let result = probe(addr, opts, listen);
    // The other option sets, bind() only: bind is where ports conflict.
    let would_succeed: Vec<BindOptions> = BindOptions::ALL
        .into_iter()
        .filter(|o| probe(addr, *o, false).is_ok())
        .collect();
    let advice = advise(&holders, &listeners, &would_succeed, joins_group, &result);
    Ok(Report {
        addr,
        options: opts,
        listen,
        result,
        holders,
        owners,
        would_succeed,
        advice,
    })
}

impl Report {
    pub fn bindable(&self) -> bool {
        self.result.is_ok()
    }

    fn row<'a>(&'a self, s: &'a SocketRecord) -> Row<'a> {
        Row {
            socket: s,
            owners: self.owners.owners_of(s.inode),
            netns: None,
        }
    }

    /// The holders worth a line each: all of them when `all` or when few, else the few that
    /// matter.
    fn rows(&self, all: bool) -> Vec<Row<'_>> {
        if all || self.holders.len() <= SHOWN {
            self.holders.iter().map(|s| self.row(s)).collect()
        } else {
            notable(&self.holders)
                .into_iter()
                .map(|i| self.row(&self.holders[i]))
                .collect()
        }
    }

    fn summary(&self) -> Summary {
        summarise(&self.holders, |s| self.owners.owners_of(s.inode))
    }

    /// The report as one JSON object; `all`: every holder, not only the few that matter.
    pub fn json(&self, all: bool) -> anyhow::Result<String> {
        let rows = self.rows(all);
        let answer = Answer {
            port: self.addr.port(),
            addr: self.addr.ip(),
            options: self.options,
            listen: self.listen,
            bindable: self.bindable(),
            failure: self.result.clone().err(),
            holders_summary: self.summary(),
            holders: rows.iter().map(JsonRecord::from).collect(),
            would_succeed: self.would_succeed.clone(),
            advice: self.advice.clone(),
            myths: MYTHS,
        };
        Ok(serde_json::to_string_pretty(&answer)?)
    }

    /// The report as text, a line each (advice and myths start with `- `); `all`: a line for
    /// every holder, else for the few that matter, with the rest counted.
    pub fn text_lines(&self, all: bool) -> Vec<String> {
        let mut lines = Vec::new();
        let opts = self.options.describe();
        let what = if self.listen {
            "bind() and listen()"
        } else {
            "bind()"
        };
        match &self.result {
            Ok(()) => lines.push(format!("{} with {opts}: {what} succeed", self.addr)),
            Err(f) => lines.push(format!(
                "{} with {opts}: {} fails: {} ({})",
                self.addr, f.call, f.errno, f.meaning
            )),
        }
        let rows = self.rows(all);
        if rows.len() < self.holders.len() {
            let summary = self.summary();
            lines.push(String::new());
            lines.push(format!(
                "held by {} sockets: {}",
                grouped(summary.total),
                Summary::line(&summary.by_state)
            ));
            lines.push(format!(
                "  by process: {}",
                Summary::line(&summary.by_owner)
            ));
            lines.push(format!(
                "the {} that matter (live listeners, sockets a process holds, the TIME_WAIT that goes last); `tcpscope can-bind {} --all` lists every one:",
                rows.len(),
                self.addr.port()
            ));
        } else if !rows.is_empty() {
            lines.push(String::new());
            lines.push("held by:".into());
        }
        if !rows.is_empty() {
            let mut out = Vec::new();
            let _ = crate::output::table::write_table(
                &mut out,
                &rows,
                crate::output::Columns {
                    owners: true,
                    netns: false,
                    state_colors: None,
                },
            );
            for line in String::from_utf8_lossy(&out).lines() {
                lines.push(format!("  {line}"));
            }
        }
        lines.push(String::new());
        if self.would_succeed.is_empty() {
            lines.push("would succeed now: nothing".into());
        } else {
            let sets: Vec<&str> = self.would_succeed.iter().map(|o| o.describe()).collect();
            lines.push(format!("would succeed now: {}", sets.join("; ")));
        }
        lines.extend(self.advice.iter().map(|a| format!("- {a}")));
        lines.push(String::new());
        lines.push("myths:".into());
        lines.extend(MYTHS.iter().map(|m| format!("- {m}")));
        lines
    }
}

/// The sockets whose local address overlaps `addr` on its port.
fn holders_of(addr: SocketAddr) -> anyhow::Result<Vec<SocketRecord>> {
    Ok(dump_all()?
        .into_iter()
        .filter(|s| {
            s.local.port() == addr.port()
                && (s.local.ip() == addr.ip()
                    || s.local.ip().is_unspecified()
                    || addr.ip().is_unspecified())
        })
        .collect())
}

fn advise(
    holders: &[SocketRecord],
    listeners: &[&SocketRecord],
    would_succeed: &[BindOptions],
    joins_group: bool,
    result: &Result<(), Failure>,
) -> Vec<String> {
    let mut advice = Vec::new();
    let reuseport_works = would_succeed.iter().any(|o| o.reuseport);
    let reuseaddr_works = would_succeed.iter().any(|o| o.reuseaddr && !o.reuseport);
    if !listeners.is_empty() {
        if reuseport_works {
            advice.push(format!(
                "{} live listener(s) in a SO_REUSEPORT group hold the port: a socket with SO_REUSEPORT and the same uid binds and joins the group, and the kernel then spreads new connections over all of them (two servers on one port).",
                listeners.len()
            ));
        } else {
            advice.push("a live listener holds the port: it blocks every bind, whatever the options (SO_REUSEPORT would need it to use SO_REUSEPORT too, with the same uid). Stop it, or use another port.".to_string());
        }
    }
    if joins_group {
        advice.push("bind() only: listen() would have joined the live SO_REUSEPORT group, which the probe never does.".to_string());
    }
    let lingering: Vec<&SocketRecord> = holders
        .iter()
        .filter(|s| s.state != TcpState::Listen)
        .collect();
    if listeners.is_empty() && !lingering.is_empty() {
        let timewait_left = lingering
            .iter()
            .filter_map(|s| {
                s.timer
                    .filter(|t| t.kind == TimerKind::Timewait)
                    .map(|t| t.remaining_ms)
            })
            .max();
        let connected = lingering.iter().filter(|s| s.inode != 0).count();
        // A client's port (one the kernel picked for a connect()) has no earlier listener.
        let ephemeral = ephemeral_ports().unwrap_or(DEFAULT_EPHEMERAL);
        let clients = lingering
            .iter()
            .all(|s| side_by_ports(s.local.port(), s.remote.port(), &ephemeral) == Side::Client);
        let waiting = lingering.iter().filter(|s| s.inode == 0).count();
        let connections = match connected {
            0 => None,
            n if clients => Some(format!(
                "{n} outgoing connection(s) of this host (a client's port: the kernel picks those from net.ipv4.ip_local_port_range, {}-{} here)",
                ephemeral.start(),
                ephemeral.end()
            )),
            n => Some(format!(
                "{n} connection(s) of an earlier listener (still open: their application has not closed them)"
            )),
        };
        let closed = (waiting > 0).then(|| {
            format!(
                "{} socket(s) in TIME_WAIT (or closed FIN_WAIT2)",
                grouped(waiting)
            )
        });
        let what = match (connections, closed) {
            (Some(c), Some(t)) => format!("{c} and {t}"),
            (Some(one), None) | (None, Some(one)) => one,
            (None, None) => "connections of an earlier listener".to_string(),
        };
        if reuseaddr_works {
            advice.push(format!("only {what} hold the port, and their socket had SO_REUSEADDR: set SO_REUSEADDR on the new socket too, before bind()."));
        } else {
            advice.push(format!("only {what} hold the port, and their socket did not set SO_REUSEADDR: no option of the new socket alone gets past them (both sockets need it). Next time set SO_REUSEADDR on the server socket before bind()."));
        }
        if let Some(ms) = timewait_left {
            advice.push(format!("the last TIME_WAIT goes away by itself in {:.1} s (TIME_WAIT always lasts 60 s on Linux); `ss -K` can end it now (CAP_NET_ADMIN).", ms as f64 / 1000.0));
        }
    }
    if holders.is_empty() {
        match result {
            Ok(()) => advice.push("nobody holds the port.".to_string()),
            Err(f) => advice.push(format!(
                "nobody in this network namespace holds the port; {} failed: {}.",
                f.call, f.meaning
            )),
        }
    }
    advice
}
