//! The lab's network namespaces: named after the scenario and the process that made them,
//! with a marker of their maker's PID and start time in /run/tcpscope, deleted when dropped or,
//! left by a killed run, at the next start.

use super::run_id::RunId;
use super::tool::run_tool;

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
        let ip = |args: &[&str]| run_tool("ip", args);
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
        let deleted = run_tool("ip", &["netns", "del", name]);
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
