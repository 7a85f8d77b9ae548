//! Plays scenarios headless, each in a network namespace of its own (as root), and reports
//! per step what was expected and what was seen.

use super::check::{self, ActorCheck};
use super::format::Scenario;
use super::observer::Observer;
use super::player::Player;
use crate::sources::events::KernelEvents;
use crate::sources::lab_netns::{Namespace, namespace_name};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often the observer looks while a step waits for its transitions.
const POLL: Duration = Duration::from_millis(20);

#[derive(Debug, Clone, Serialize)]
pub struct CallReport {
    pub call: String,
    pub errno: Option<String>,
    pub read: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub step: usize,
    pub line: usize,
    pub narrate: String,
    pub myth: Option<String>,
    pub calls: Vec<CallReport>,
    pub actors: BTreeMap<String, ActorCheck>,
    pub problems: Vec<String>,
    pub pass: bool,
    pub took_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    pub name: String,
    pub title: String,
    /// `traced` (kernel events: every transition checked) or `inferred` (snapshots: only
    /// where each actor ends up is checked).
    pub mode: &'static str,
    pub steps: Vec<StepReport>,
    /// Why it was not played, or not to its end: with `pass` true, it cannot be played here
    /// (it needs root); with `pass` false, it could not be (no namespace) or was interrupted
    /// (`interrupted …`).
    pub skipped: Option<String>,
    /// Checks not made in this mode.
    pub not_checked: Vec<String>,
    pub pass: bool,
    pub took_ms: u64,
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// What `ScenarioReport::skipped` says of a scenario stopped by `stop`.
const INTERRUPTED: &str = "interrupted";

/// Plays `s`: as root in a fresh namespace with kernel events; otherwise on this
/// namespace's loopback, from snapshots, when the scenario allows. Once `stop` is set (a
/// signal), it stops between steps or while a step waits, and reports the scenario
/// interrupted (not passed); the namespace is deleted all the same.
pub fn run(s: &Scenario, events: &mut Option<KernelEvents>, stop: &AtomicBool) -> ScenarioReport {
    let started = Instant::now();
    let mut report = ScenarioReport {
        name: s.name.clone(),
        title: s.title.clone(),
        mode: "inferred",
        steps: Vec::new(),
        skipped: None,
        not_checked: Vec::new(),
        pass: false,
        took_ms: 0,
    };
    if stop.load(Ordering::Relaxed) {
        report.skipped = Some(format!("{INTERRUPTED} before it started"));
    } else if !is_root() {
        let needs = s.needs_root
            || s.steps
                .iter()
                .any(|st| st.commands.iter().any(|c| c.needs_root()));
        if needs {
            report.skipped = Some("needs root: a network namespace of its own, sysctl or qdisc there, or acting on another process's sockets".into());
            report.pass = true;
            return report;
        }
        report.not_checked.push("the full sequences of states (kernel events need root): only where each actor ends up after each step is checked".into());
        play(s, None, false, stop, &mut report);
    } else {
        let name = namespace_name(std::process::id(), &s.name);
        let ns = Namespace::create(&name);
        match ns {
            Err(e) => report.skipped = Some(format!("could not make a network namespace: {e}")),
            Ok(ns) => {
                let taken = events.take();
                let back = std::thread::scope(|scope| {
                    scope
                        .spawn(|| {
                            if let Err(e) = crate::sources::netns::enter(&ns.name) {
                                report.skipped = Some(format!("entering {}: {e}", ns.name));
                                return taken;
                            }
                            play(s, taken, true, stop, &mut report)
                        })
                        .join()
                        .ok()
                        .flatten()
                });
                *events = back;
                drop(ns);
            }
        }
    }
    // As root, a scenario that could not be played (no namespace, no events) is not passed.
    report.pass = report.skipped.is_none()
        && report.steps.iter().all(|st| st.pass)
        && report.steps.len() == s.steps.len();
    report.took_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    report
}

/// Plays every step in the calling thread's namespace; returns the event source.
fn play(
    s: &Scenario,
    events: Option<KernelEvents>,
    in_own_namespace: bool,
    stop: &AtomicBool,
    report: &mut ScenarioReport,
) -> Option<KernelEvents> {
    let mut observer = match Observer::new(events) {
        Ok(o) => o,
        Err(e) => {
            report.skipped = Some(format!("observing: {e:#}"));
            return None;
        }
    };
    report.mode = if observer.traced() {
        "traced"
    } else {
        "inferred"
    };
    if !observer.traced() && report.not_checked.is_empty() {
        report.not_checked.push("the full sequences of states (no kernel events): only where each actor ends up is checked".into());
    }
    let mut player = Player::new(&s.foreign, !in_own_namespace);
    let mut known: Vec<String> = Vec::new();
    let total = s.steps.len();
    for (i, step) in s.steps.iter().enumerate() {
        if stop.load(Ordering::Relaxed) {
            report.skipped = Some(format!("{INTERRUPTED} before step {} of {total}", i + 1));
            break;
        }
        let started = Instant::now();
        let _ = observer.poll();
        let from = observer.log.len();
        let mut calls = Vec::new();
        let mut problems = Vec::new();
        let lines = &step.source_lines;
        for (cmd, line) in step.commands.iter().zip(lines) {
            match player.play(cmd, line) {
                Ok(c) => calls.push(c),
                Err(e) => problems.push(format!("{line}: cannot play: {e}")),
            }
        }
        for name in player.actors.keys() {
            if !known.contains(name) {
                known.push(name.clone());
            }
        }
        // Wait for what the step expects (or its timeout), then one more look.
        let deadline = started + Duration::from_secs_f64(step.timeout_s);
        let mut interrupted = false;
        loop {
            if stop.load(Ordering::Relaxed) {
                interrupted = true;
                break;
            }
            if let Err(e) = observer.poll() {
                problems.push(format!("observing: {e:#}"));
                break;
            }
            let seen = check::by_actor(&observer.log[from..], observer.tracker(), &player.actors);
            if check::satisfied(step, &seen, observer.traced()) || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(POLL);
        }
        let _ = observer.poll();
        let seen = check::by_actor(&observer.log[from..], observer.tracker(), &player.actors);
        let (actors, more) = check::check(step, &seen, &calls, &known, observer.traced());
        if interrupted {
            // What was seen so far is reported; what the step expects was not waited for.
            problems.push(format!("{INTERRUPTED} while waiting"));
            report.skipped = Some(format!("{INTERRUPTED} during step {} of {total}", i + 1));
        } else {
            problems.extend(more);
        }
        report.steps.push(StepReport {
            step: i + 1,
            line: step.line,
            narrate: step.narrate.clone(),
            myth: step.myth.clone(),
            calls: calls
                .iter()
                .map(|c| CallReport {
                    call: c.call.clone(),
                    errno: c.errno.clone(),
                    read: c.read.map(check::read_name),
                })
                .collect(),
            actors,
            pass: problems.is_empty(),
            problems,
            took_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        });
        if interrupted {
            break;
        }
    }
    drop(player);
    observer.into_events()
}
