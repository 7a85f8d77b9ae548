//! `tcpscope lab`: list the scenarios, play them headless with checks, or open one in the
//! interactive view.

use super::args::{LabAction, LabArgs, LabRunArgs};
use crate::model::safe_text::for_terminal;
use crate::scenario::builtin;
use crate::scenario::format::{Scenario, parse};
use crate::scenario::run::{ScenarioReport, run as play};
use crate::sources::lab_netns::remove_stale_namespaces;
use anyhow::Context;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The exit code of a `lab run` stopped by SIGINT or SIGTERM (the shell's 128 + SIGINT, for
/// either: the run was interrupted, whichever way).
pub const EXIT_INTERRUPTED: i32 = 130;

/// `theme`: the interactive lab's colours.
pub fn run(args: &LabArgs, theme: crate::ui::theme::Theme) -> anyhow::Result<i32> {
    match &args.action {
        Some(LabAction::List) => {
            let mut out = std::io::stdout().lock();
            for s in builtin::all()? {
                writeln!(out, "{:<28} {}", s.name, for_terminal(&s.title))?;
            }
            out.flush()?;
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
            if rustix::process::geteuid().is_root() {
                clean_up_stale_namespaces();
            }
            crate::tui::run_lab(scenario, theme).map(|()| 0)
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
        let shown = for_terminal(&path.display().to_string()).into_owned();
        let text = match read_scenario(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("tcpscope: {shown}: {e}");
                return Ok(super::EXIT_USAGE);
            }
        };
        match parse(&shown, &text) {
            Ok(s) => chosen.push(s),
            Err(e) => {
                eprintln!("tcpscope: {}", for_terminal(&e.to_string()));
                return Ok(super::EXIT_USAGE);
            }
        }
    }
    // The first SIGINT or SIGTERM stops the run after the current step, so that its
    // namespace is deleted and what was played is printed; a second one ends it at once.
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(signal, EXIT_INTERRUPTED, stop.clone())
            .context("installing signal handlers")?;
        signal_hook::flag::register(signal, stop.clone()).context("installing signal handlers")?;
    }
    let root = rustix::process::geteuid().is_root();
    if root {
        clean_up_stale_namespaces();
    }
    let mut events = if root {
        // Each scenario plays in a namespace of its own: the observer points the source at it.
        let opened = crate::sources::events::open(crate::sources::events::EventsMode::Auto, 0)
            .context("kernel events")?;
        match (&opened.events, opened.caveat) {
            (None, Some(why)) => eprintln!(
                "tcpscope: kernel events off, only where each actor ends up is checked: {why}"
            ),
            (Some(_), Some(why)) => eprintln!("tcpscope: {why}"),
            _ => {}
        }
        opened.events
    } else {
        None
    };
    let mut out = std::io::stdout().lock();
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let mut played = 0;
    for s in &chosen {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let report = play(s, &mut events, &stop);
        played += 1;
        match verdict(&report) {
            Verdict::Pass => passed += 1,
            Verdict::Skip => skipped += 1,
            Verdict::Fail => failed += 1,
        }
        if args.json {
            writeln!(out, "{}", serde_json::to_string(&report)?)?;
        } else {
            print_text(&mut out, &report)?;
        }
        out.flush()?;
    }
    let interrupted = stop.load(Ordering::Relaxed);
    let not_played = chosen.len() - played;
    if !args.json {
        write!(
            out,
            "{} scenario(s): {passed} passed, {failed} failed, {skipped} skipped",
            chosen.len()
        )?;
        if interrupted {
            write!(out, "; interrupted, {not_played} not played")?;
        }
        writeln!(out)?;
        out.flush()?;
    } else if interrupted {
        eprintln!("tcpscope: interrupted: {not_played} scenario(s) not played");
    }
    Ok(if interrupted {
        EXIT_INTERRUPTED
    } else if failed == 0 {
        0
    } else {
        1
    })
}

/// Deletes the namespaces of earlier lab runs that were killed before they could; says so on
/// stderr (stdout may be JSON).
fn clean_up_stale_namespaces() {
    let (removed, errors) = remove_stale_namespaces();
    for name in removed {
        eprintln!(
            "tcpscope: deleted network namespace {name}, left by a lab run that no longer runs"
        );
    }
    for e in errors {
        eprintln!("tcpscope: a stale lab namespace was left: {e}");
    }
}

enum Verdict {
    Pass,
    Skip,
    Fail,
}

/// SKIP is for a scenario that cannot be played here and is no failure (unprivileged, it
/// needs root). One that could not be played or was cut short where it should have been (as
/// root: no namespace, interrupted) is not passed, so it is a FAIL, in the text, in the
/// summary's counts and in the exit code alike.
fn verdict(r: &ScenarioReport) -> Verdict {
    match (&r.skipped, r.pass) {
        (_, false) => Verdict::Fail,
        (Some(_), true) => Verdict::Skip,
        (None, true) => Verdict::Pass,
    }
}

/// The largest scenario file read: the built-in ones are 1-3 KB.
const MAX_SCENARIO_BYTES: u64 = 1 << 20;

/// A scenario file: a regular file of at most `MAX_SCENARIO_BYTES`, in UTF-8 (`/dev/zero` or a
/// FIFO would be read for ever).
fn read_scenario(path: &std::path::Path) -> Result<String, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    let mut bytes = Vec::new();
    file.take(MAX_SCENARIO_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_SCENARIO_BYTES {
        return Err(format!(
            "larger than {} KiB, the most a scenario file may be",
            MAX_SCENARIO_BYTES >> 10
        ));
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".into())
}

/// The report as text, every line made safe for a terminal: names, titles, calls and actors
/// come from the scenario file.
fn print_text(out: &mut impl Write, r: &ScenarioReport) -> std::io::Result<()> {
    let mut text = Vec::new();
    render_text(&mut text, r)?;
    for line in String::from_utf8_lossy(&text).split_inclusive('\n') {
        let body = line.strip_suffix('\n').unwrap_or(line);
        out.write_all(for_terminal(body).as_bytes())?;
        if body.len() < line.len() {
            out.write_all(b"\n")?;
        }
    }
    Ok(())
}

fn render_text(out: &mut impl Write, r: &ScenarioReport) -> std::io::Result<()> {
    let verdict = match verdict(r) {
        Verdict::Pass => "PASS",
        Verdict::Skip => "SKIP",
        Verdict::Fail => "FAIL",
    };
    writeln!(
        out,
        "{verdict} {} — {} ({}, {} ms)",
        r.name, r.title, r.mode, r.took_ms
    )?;
    match (&r.skipped, r.pass) {
        (Some(why), true) => writeln!(out, "  skipped: {why}")?,
        (Some(why), false) => writeln!(out, "  ✗ not played to its end: {why}")?,
        (None, _) => {}
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
