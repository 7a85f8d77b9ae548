//! `tcpscope can-bind PORT`: a throwaway socket tries what a server would, and the answer says
//! why, who holds the port, which options would work, and what is myth.

use super::args::CanBindArgs;
use crate::actions::bind_probe::{BindOptions, Failure, probe};
use crate::model::{SocketRecord, TcpState, TimerKind};
use crate::output::Row;
use crate::output::json::JsonRecord;
use crate::sources::dump_all;
use crate::sources::owners::{OwnerLookup, ProcfsOwners};
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
    holders: Vec<JsonRecord<'a>>,
    would_succeed: Vec<BindOptions>,
    advice: Vec<String>,
    myths: [&'static str; 5],
}

/// Returns the exit code: 0 bindable, 1 not.
pub fn run(args: &CanBindArgs) -> anyhow::Result<i32> {
    let addr = SocketAddr::new(args.addr, args.port);
    let holders = holders_of(addr)?;
    let mut owners = ProcfsOwners::new();
    owners.refresh(&holders);
    let listeners: Vec<&SocketRecord> = holders
        .iter()
        .filter(|s| s.state == TcpState::Listen)
        .collect();

    let opts = BindOptions {
        reuseaddr: args.reuseaddr,
        reuseport: args.reuseport,
    };
    // Never listen inside a live SO_REUSEPORT group: the probe would take a share of its
    // connections for as long as it lives.
    let joins_group = opts.reuseport && !listeners.is_empty();
    let listen = !args.no_listen && !joins_group;
    let result = probe(addr, opts, listen);
    // The other option sets, bind() only: bind is where ports conflict.
    let would_succeed: Vec<BindOptions> = BindOptions::ALL
        .into_iter()
        .filter(|o| probe(addr, *o, false).is_ok())
        .collect();

    let advice = advise(&holders, &listeners, &would_succeed, joins_group, &result);
    let rows: Vec<Row<'_>> = holders
        .iter()
        .map(|s| Row {
            socket: s,
            owners: owners.owners_of(s.inode),
        })
        .collect();
    let answer = Answer {
        port: args.port,
        addr: args.addr,
        options: opts,
        listen,
        bindable: result.is_ok(),
        failure: result.clone().err(),
        holders: rows.iter().map(JsonRecord::from).collect(),
        would_succeed,
        advice,
        myths: MYTHS,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
    } else {
        print_text(&answer, &rows);
    }
    Ok(if answer.bindable { 0 } else { 1 })
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
        let what = match (timewait_left, connected) {
            (Some(_), 0) => "sockets in TIME_WAIT (or closed FIN_WAIT2)".to_string(),
            (_, n) if n > 0 => format!(
                "{n} connection(s) of an earlier listener (still open: their application has not closed them)"
            ),
            _ => "connections of an earlier listener".to_string(),
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

fn print_text(a: &Answer<'_>, rows: &[Row<'_>]) {
    let opts = a.options.describe();
    let what = if a.listen {
        "bind() and listen()"
    } else {
        "bind()"
    };
    match &a.failure {
        None => println!("{}:{} with {opts}: {what} succeed", a.addr, a.port),
        Some(f) => println!(
            "{}:{} with {opts}: {} fails: {} ({})",
            a.addr, a.port, f.call, f.errno, f.meaning
        ),
    }
    if !rows.is_empty() {
        println!("\nheld by:");
        let mut out = Vec::new();
        let _ = crate::output::table::write_table(&mut out, rows, true);
        for line in String::from_utf8_lossy(&out).lines() {
            println!("  {line}");
        }
    }
    println!();
    if a.would_succeed.is_empty() {
        println!("would succeed now: nothing");
    } else {
        let sets: Vec<&str> = a.would_succeed.iter().map(|o| o.describe()).collect();
        println!("would succeed now: {}", sets.join("; "));
    }
    for line in &a.advice {
        println!("- {line}");
    }
    println!("\nmyths:");
    for m in MYTHS {
        println!("- {m}");
    }
}
