//! Plays scenarios headless, each in a network namespace of its own (as root), and reports
//! per step what was expected and what was seen.

use super::check::{self, ActorCheck};
use super::format::Scenario;
use super::observer::Observer;
use super::player::Player;
use crate::sources::events::KernelEvents;
use crate::sources::run_id::RunId;
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

/// The prefix of the namespaces `run` (and the interactive lab) make:
/// `tcpscope-lab-<pid>-<scenario>`.
pub const NAMESPACE_PREFIX: &str = "tcpscope-lab-";

/// How long a scenario's part of its namespace's name may be.
const NAME_PART_MAX: usize = 40;

/// The namespace for scenario `scenario` played by process `pid`. A scenario's name comes
/// from its file (`lab run --file`), any text: it is cut to lowercase letters, digits and
/// single dashes, at most [`NAME_PART_MAX`] of them.
pub fn namespace_name(pid: u32, scenario: &str) -> String {
    let mut part = String::new();
    for c in scenario.chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if c == '-' && (part.is_empty() || part.ends_with('-')) {
            continue;
        }
        if part.len() == NAME_PART_MAX {
            break;
        }
        part.push(c);
    }
    let part = part.trim_end_matches('-');
    let part = if part.is_empty() { "scenario" } else { part };
    format!("{NAMESPACE_PREFIX}{pid}-{part}")
}

/// The process that made a namespace named by [`namespace_name`] (or the interactive lab's
/// `tcpscope-lab-<pid>-tui`).
fn namespace_owner(name: &str) -> Option<u32> {
    let (pid, rest) = name.strip_prefix(NAMESPACE_PREFIX)?.split_once('-')?;
    if rest.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// Deletes the lab namespaces left by tcpscope processes that no longer run (killed, or
/// stopped twice with Ctrl-C before they could delete them). Returns their names, and the
/// errors of those it could not delete. Needs root; namespaces of processes that still run
/// (another `lab run`, an interactive lab) are left alone.
pub fn remove_stale_namespaces() -> (Vec<String>, Vec<String>) {
    let mut removed = Vec::new();
    let mut errors = Vec::new();
    let Ok(dir) = std::fs::read_dir("/run/netns") else {
        return (removed, errors);
    };
    for entry in dir.flatten() {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let Some(pid) = namespace_owner(&name) else {
            continue;
        };
        // Its maker, by PID and start time when written down; by PID alone otherwise (made
        // by an older tcpscope).
        let running = match maker(&name) {
            Some(run) => run.is_running(),
            None => {
                pid == std::process::id() || std::path::Path::new(&format!("/proc/{pid}")).exists()
            }
        };
        if running {
            continue;
        }
        match Namespace::delete(&name) {
            Ok(()) => removed.push(name),
            Err(e) => errors.push(e),
        }
    }
    removed.sort();
    (removed, errors)
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

/// A named network namespace made for one scenario, deleted when dropped.
pub struct Namespace {
    pub name: String,
}

/// Where a lab namespace's maker is written down (PID and start time, see `sources::run_id`):
/// a namespace's name holds only a PID, and a dead run's PID may be taken by another process.
const MARKERS: &str = "/run/tcpscope";

fn marker(name: &str) -> std::path::PathBuf {
    std::path::Path::new(MARKERS).join(format!("netns-{name}"))
}

/// The run that made namespace `name`, as its marker says (`None`: no marker, or not ours).
fn maker(name: &str) -> Option<RunId> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(marker(name))
        .ok()?
        .take(64)
        .read_to_string(&mut text)
        .ok()?;
    RunId::parse(text.trim())
}

impl Namespace {
    pub fn create(name: &str) -> Result<Namespace, String> {
        let ip = |args: &[&str]| super::run_tool("ip", args);
        ip(&["netns", "add", name])?;
        let ns = Namespace {
            name: name.to_string(),
        };
        if let Some(me) = RunId::current() {
            let _ = std::fs::create_dir_all(MARKERS)
                .and_then(|()| std::fs::write(marker(name), me.tag()));
        }
        ip(&["-n", name, "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// `ip netns del NAME`, and its marker.
    fn delete(name: &str) -> Result<(), String> {
        let deleted = super::run_tool("ip", &["netns", "del", name]);
        if deleted.is_ok() {
            let _ = std::fs::remove_file(marker(name));
        }
        deleted
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Namespace::delete(&self.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_names_are_plain_and_short() {
        assert_eq!(
            namespace_name(42, "time-wait-expiry"),
            "tcpscope-lab-42-time-wait-expiry"
        );
        assert_eq!(
            namespace_name(7, "../../etc/Passwd; rm -rf /"),
            "tcpscope-lab-7-etc-passwd-rm-rf"
        );
        assert_eq!(namespace_name(7, " /// "), "tcpscope-lab-7-scenario");
        assert_eq!(namespace_name(7, "état"), "tcpscope-lab-7-tat");
        let long = namespace_name(7, &"ab-".repeat(50));
        let part = long.strip_prefix("tcpscope-lab-7-").unwrap();
        assert!(
            part.len() <= NAME_PART_MAX && !part.ends_with('-'),
            "{long}"
        );
        for name in [long.as_str(), "tcpscope-lab-7-x"] {
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{name}"
            );
        }
    }

    #[test]
    fn only_lab_namespaces_name_an_owner() {
        assert_eq!(namespace_owner("tcpscope-lab-123-tui"), Some(123));
        assert_eq!(namespace_owner(&namespace_name(9, "half-close")), Some(9));
        assert_eq!(namespace_owner("tcpscope-lab-123-"), None);
        assert_eq!(namespace_owner("tcpscope-lab-12a-x"), None);
        assert_eq!(namespace_owner("tcpscope-lab--x"), None);
        assert_eq!(namespace_owner("tcpscope-test-foo-123"), None);
        assert_eq!(namespace_owner("other"), None);
    }
}
