//! `tcpscope lab`: list the scenarios, play them headless with checks, or open one in the
//! interactive view.

use super::args::{LabAction, LabArgs, LabRunArgs};
use crate::scenario::builtin;
use crate::scenario::format::{Scenario, parse};
use crate::scenario::run::{ScenarioReport, run as play};
use std::io::Write;

pub fn run(args: &LabArgs) -> anyhow::Result<i32> {
    match &args.action {
        Some(LabAction::List) => {
            for s in builtin::all()? {
                println!("{:<28} {}", s.name, s.title);
            }
            Ok(0)
        }
        Some(LabAction::Run(r)) => run_scenarios(r),
        None => {
            let all = builtin::all()?;
            let scenario = match &args.name {
                None => all.into_iter().next(),
                Some(n) => all.into_iter().find(|s| &s.name == n),
            };
            let Some(scenario) = scenario else {
                eprintln!(
                    "tcpscope: no scenario {:?}: see `tcpscope lab list`",
                    args.name.as_deref().unwrap_or("")
                );
                return Ok(super::EXIT_USAGE);
            };
            if !crate::tui::has_terminal() {
                eprintln!(
                    "tcpscope: no terminal for the interactive lab: use `tcpscope lab run {}`",
                    scenario.name
                );
                return Ok(super::EXIT_USAGE);
            }
            crate::tui::run_lab(scenario).map(|()| 0)
        }
    }
}

fn run_scenarios(args: &LabRunArgs) -> anyhow::Result<i32> {
    let mut chosen: Vec<Scenario> = Vec::new();
    if args.all {
        chosen = builtin::all()?;
    }
    for name in &args.names {
        match builtin::find(name)? {
            Some(s) => chosen.push(s),
            None => {
                eprintln!("tcpscope: no scenario {name:?}: see `tcpscope lab list`");
                return Ok(super::EXIT_USAGE);
            }
        }
    }
    for path in &args.file {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("tcpscope: {}: {e}", path.display());
                return Ok(super::EXIT_USAGE);
            }
        };
        match parse(&path.display().to_string(), &text) {
            Ok(s) => chosen.push(s),
            Err(e) => {
                eprintln!("tcpscope: {e}");
                return Ok(super::EXIT_USAGE);
            }
        }
    }
    let mut events = if rustix::process::geteuid().is_root() {
        match crate::sources::trace::TraceSource::open() {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!(
                    "tcpscope: kernel events off, only where each actor ends up is checked: {e}"
                );
                None
            }
        }
    } else {
        None
    };
    let mut out = std::io::stdout().lock();
    let mut failed = 0;
    for s in &chosen {
        let report = play(s, &mut events);
        if !report.pass {
            failed += 1;
        }
        if args.json {
            writeln!(out, "{}", serde_json::to_string(&report)?)?;
        } else {
            print_text(&mut out, &report)?;
        }
        out.flush()?;
    }
    if !args.json {
        writeln!(
            out,
            "{} scenario(s): {} passed, {} failed",
            chosen.len(),
            chosen.len() - failed,
            failed
        )?;
    }
    Ok(if failed == 0 { 0 } else { 1 })
}

fn print_text(out: &mut impl Write, r: &ScenarioReport) -> std::io::Result<()> {
    let verdict = match (&r.skipped, r.pass) {
        (Some(_), _) => "SKIP",
        (None, true) => "PASS",
        (None, false) => "FAIL",
    };
    writeln!(
        out,
        "{verdict} {} — {} ({}, {} ms)",
        r.name, r.title, r.mode, r.took_ms
    )?;
    if let Some(why) = &r.skipped {
        writeln!(out, "  skipped: {why}")?;
    }
    for n in &r.not_checked {
        writeln!(out, "  not checked: {n}")?;
    }
    for st in &r.steps {
        let mark = if st.pass { "ok  " } else { "FAIL" };
        let calls: Vec<String> = st
            .calls
            .iter()
            .map(|c| match (&c.errno, &c.read) {
                (Some(e), _) => format!("{} → {e}", c.call),
                (None, Some(read)) => format!("{} → {read}", c.call),
                (None, None) => c.call.clone(),
            })
            .collect();
        writeln!(out, "  {mark} {:>2}. {}", st.step, calls.join("; "))?;
        for (actor, a) in &st.actors {
            if a.observed.is_empty() && a.expected.is_empty() {
                continue;
            }
            writeln!(out, "         {actor:<10} {}", a.observed.join(" → "))?;
        }
        for p in &st.problems {
            writeln!(out, "         ✗ {p}")?;
        }
    }
    Ok(())
}
