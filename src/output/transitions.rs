//! `watch` output: one line per transition, as text or JSON lines.

use crate::model::{Family, Owner};
use crate::tracker::{Reset, Source, Step, Transition};
use serde::Serialize;
use std::io::Write;
use std::net::IpAddr;

#[derive(Serialize)]
struct JsonTransition<'a> {
    ts_ns: u64,
    family: Family,
    local_addr: IpAddr,
    local_port: u16,
    remote_addr: IpAddr,
    remote_port: u16,
    from: Step,
    to: Step,
    source: Source,
    reset: Option<Reset>,
    owners: &'a [Owner],
}

pub fn write_json_line(out: &mut impl Write, t: &Transition) -> std::io::Result<()> {
    serde_json::to_writer(
        &mut *out,
        &JsonTransition {
            ts_ns: t.ts_ns,
            family: t.family,
            local_addr: t.local.ip(),
            local_port: t.local.port(),
            remote_addr: t.remote.ip(),
            remote_port: t.remote.port(),
            from: t.from,
            to: t.to,
            source: t.source,
            reset: t.reset,
            owners: &t.owners,
        },
    )?;
    out.write_all(b"\n")
}

/// `12:00:01.123456  127.0.0.1:40000 -> 127.0.0.1:8080  FIN_WAIT1 -> FIN_WAIT2  traced  curl/42`
/// with the time of day (UTC) of `wall_ns`.
pub fn write_text_line(out: &mut impl Write, t: &Transition, wall_ns: u64) -> std::io::Result<()> {
    let secs = wall_ns / 1_000_000_000;
    let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    let micros = (wall_ns % 1_000_000_000) / 1000;
    let ends = format!("{} > {}", endpoint(&t.local), endpoint(&t.remote));
    let change = format!("{} -> {}", t.from.name(), t.to.name());
    write!(
        out,
        "{h:02}:{m:02}:{s:02}.{micros:06}  {ends:<47} {change:<26} {:<8}",
        t.source.name()
    )?;
    match t.reset {
        Some(Reset::Sent) => write!(out, " RST sent")?,
        Some(Reset::Received) => write!(out, " RST received")?,
        None => {}
    }
    if let Some(o) = t.owners.first() {
        write!(out, " {}/{}", o.comm, o.pid)?;
    }
    out.write_all(b"\n")
}

fn endpoint(a: &std::net::SocketAddr) -> String {
    match a.ip() {
        IpAddr::V4(ip) => format!("{ip}:{}", a.port()),
        IpAddr::V6(ip) => format!("[{ip}]:{}", a.port()),
    }
}
