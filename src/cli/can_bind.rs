//! `tcpscope can-bind PORT`: the bind report (see `actions::bind_report`) as text or JSON.

use super::args::CanBindArgs;
use crate::actions::bind_probe::BindOptions;
use crate::actions::bind_report::assess;
use std::io::Write;
use std::net::SocketAddr;

/// Returns the exit code: 0 bindable, 1 not.
pub fn run(args: &CanBindArgs) -> anyhow::Result<i32> {
    let opts = BindOptions {
        reuseaddr: args.reuseaddr,
        reuseport: args.reuseport,
    };
    let report = assess(SocketAddr::new(args.addr, args.port), opts, args.no_listen)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", report.json(args.all)?)?;
    } else {
        for line in report.text_lines(args.all) {
            writeln!(out, "{line}")?;
        }
    }
    out.flush()?;
    Ok(if report.bindable() { 0 } else { 1 })
}
