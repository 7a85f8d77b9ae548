//! The real binary in a tmux pane: start it, type, read the screen back.

use super::wait_until;
use std::process::Command;
use std::time::Duration;

/// The lines of the connections table (right of the ports pane), trimmed, its header first.
pub fn table_rows(screen: &str) -> Vec<&str> {
    screen
        .lines()
        .filter_map(|l| {
            l.split_once("││")
                .map(|(_, r)| r.trim_end_matches('│').trim())
        })
        .collect()
}

/// The table's row in `state` (LISTEN, ESTABLISHED…) that contains `needle`.
pub fn state_row<'a>(screen: &'a str, state: &str, needle: &str) -> Option<&'a str> {
    table_rows(screen)
        .into_iter()
        .find(|r| r.starts_with(state) && r.contains(needle))
}

pub struct Tmux {
    pub session: String,
}

impl Tmux {
    /// Starts tcpscope with `args` in a 120x32 tmux pane; the pane prints `EXIT:<code>` when
    /// it ends and stays open to be read. `None` (said) without tmux.
    pub fn start(tag: &str, args: &str) -> Option<Tmux> {
        Tmux::start_sized(tag, args, 120, 32)
    }

    /// The same in a pane of `width` x `height`.
    pub fn start_sized(tag: &str, args: &str, width: u16, height: u16) -> Option<Tmux> {
        Tmux::start_command(tag, env!("CARGO_BIN_EXE_tcpscope"), args, width, height)
    }

    /// tcpscope run as nobody without any capability (setpriv), in a 200x40 pane.
    pub fn start_as_nobody(tag: &str, args: &str) -> Option<Tmux> {
        let bin = format!(
            "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all {}",
            env!("CARGO_BIN_EXE_tcpscope")
        );
        Tmux::start_command(tag, &bin, args, 200, 40)
    }

    fn start_command(tag: &str, bin: &str, args: &str, width: u16, height: u16) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            println!("skipped: tmux is not installed (.ci/run installs it)");
            return None;
        }
        let session = format!("tcpscope-{tag}-{}", std::process::id());
        let script = format!("{bin} {args}; echo EXIT:$?; sleep 600");
        let ok = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                &session,
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
                "sh",
                "-c",
                &script,
            ])
            .status()
            .unwrap()
            .success();
        assert!(ok, "tmux new-session");
        Some(Tmux { session })
    }

    pub fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The screen with its colours and attributes, as escape sequences.
    pub fn screen_styled(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-e", "-p", "-t", &self.session])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen satisfies `cond`; fails with the screen after 30 s.
    pub fn wait(&self, what: &str, cond: impl Fn(&str) -> bool) -> String {
        let mut last = String::new();
        let ok = wait_until(Duration::from_secs(30), || {
            last = self.screen();
            cond(&last)
        });
        assert!(ok, "timed out waiting for {what}; screen:\n{last}");
        last
    }

    pub fn keys(&self, keys: &[&str]) {
        let mut cmd = Command::new("tmux");
        cmd.args(["send-keys", "-t", &self.session]);
        cmd.args(keys);
        assert!(cmd.status().unwrap().success());
    }

    /// Literal text, typed.
    pub fn type_text(&self, text: &str) {
        assert!(
            Command::new("tmux")
                .args(["send-keys", "-l", "-t", &self.session, "--", text])
                .status()
                .unwrap()
                .success()
        );
    }

    pub fn alternate_on(&self) -> bool {
        let out = Command::new("tmux")
            .args([
                "display-message",
                "-p",
                "-t",
                &self.session,
                "#{alternate_on}",
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }

    /// The pid of tcpscope: the child of the pane's shell.
    pub fn tcpscope_pid(&self) -> i32 {
        let out = Command::new("tmux")
            .args(["display-message", "-p", "-t", &self.session, "#{pane_pid}"])
            .output()
            .unwrap();
        let sh: i32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        let children = std::fs::read_to_string(format!("/proc/{sh}/task/{sh}/children")).unwrap();
        children.split_whitespace().next().unwrap().parse().unwrap()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.session])
            .status();
    }
}
