//! A process as a name can tell it: its PID and its start time (clock ticks after boot, from
//! /proc/PID/stat). What tcpscope leaves in the kernel under a name of its own (a tracefs
//! instance) carries both, so that a later run removes it only when that very process is gone:
//! by PID alone, one whose PID was reused stayed for ever (tracing on, 32 MiB of buffers), and
//! a name that was not ours at all (`tcpscope-foo`) was removed.

/// One process, as long as it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunId {
    pub pid: u32,
    pub start: u64,
}

/// The start time of process `pid`, if it runs.
fn start_time(pid: u32) -> Option<u64> {
    use std::io::Read;
    let mut stat = Vec::new();
    std::fs::File::open(format!("/proc/{pid}/stat"))
        .ok()?
        // The command name is at most 64 bytes here; the line is well under 1 KiB.
        .take(4096)
        .read_to_end(&mut stat)
        .ok()?;
    let stat = String::from_utf8_lossy(&stat);
    // Field 22, counted after the command name (which may hold spaces and parentheses).
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(22 - 3)?
        .parse()
        .ok()
}

impl RunId {
    /// This process.
    pub fn current() -> Option<RunId> {
        let pid = std::process::id();
        Some(RunId {
            pid,
            start: start_time(pid)?,
        })
    }

    /// `PID-START`.
    pub fn tag(&self) -> String {
        format!("{}-{}", self.pid, self.start)
    }

    /// The run a `PID-START` tag names.
    pub fn parse(tag: &str) -> Option<RunId> {
        let (pid, start) = tag.split_once('-')?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(pid) || !digits(start) {
            return None;
        }
        Some(RunId {
            pid: pid.parse().ok()?,
            start: start.parse().ok()?,
        })
    }

    /// Whether this very process still runs (not another that got its PID).
    pub fn is_running(&self) -> bool {
        start_time(self.pid) == Some(self.start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_runs_and_its_tag_names_it() {
        let me = RunId::current().unwrap_or_else(|| unreachable!("/proc/self/stat"));
        assert!(me.is_running());
        assert_eq!(RunId::parse(&me.tag()), Some(me));
        let reused = RunId {
            start: me.start + 1,
            ..me
        };
        assert!(
            !reused.is_running(),
            "the same PID, started at another time"
        );
    }

    #[test]
    fn only_pid_start_tags_are_ours() {
        for tag in ["foo", "12", "12-", "-3", "12-3x", "1 2-3", ""] {
            assert_eq!(RunId::parse(tag), None, "{tag:?}");
        }
        assert_eq!(RunId::parse("12-34"), Some(RunId { pid: 12, start: 34 }));
    }
}
