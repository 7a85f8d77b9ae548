//! The real binary in a real pseudo-terminal (tmux): it shows sockets this test opens on
//! loopback, their teardown, filters, details and help, and leaves the terminal as it found
//! it on `q` and on SIGTERM.

#![allow(clippy::unwrap_used)] // Tests fail loudly by design.

mod common;

use common::wait_until;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::Duration;

struct Tmux {
    session: String,
}

impl Tmux {
    /// Starts tcpscope with `args` in a 120x32 tmux pane; the pane prints `EXIT:<code>` when
    /// it ends and stays open to be read.
    fn start(tag: &str, args: &str) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            println!("skipped: tmux is not installed (.ci/run installs it)");
            return None;
        }
        let session = format!("tcpscope-{tag}-{}", std::process::id());
        let bin = env!("CARGO_BIN_EXE_tcpscope");
        let script = format!("{bin} {args}; echo EXIT:$?; sleep 600");
        let ok = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                &session,
                "-x",
                "120",
                "-y",
                "32",
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

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen satisfies `cond`; fails with the screen after 20 s.
    fn wait(&self, what: &str, cond: impl Fn(&str) -> bool) -> String {
        let mut last = String::new();
        let ok = wait_until(Duration::from_secs(20), || {
            last = self.screen();
            cond(&last)
        });
        assert!(ok, "timed out waiting for {what}; screen:\n{last}");
        last
    }

    fn keys(&self, keys: &[&str]) {
        let mut cmd = Command::new("tmux");
        cmd.args(["send-keys", "-t", &self.session]);
        cmd.args(keys);
        assert!(cmd.status().unwrap().success());
    }

    /// Literal text, typed.
    fn type_text(&self, text: &str) {
        assert!(
            Command::new("tmux")
                .args(["send-keys", "-l", "-t", &self.session, "--", text])
                .status()
                .unwrap()
                .success()
        );
    }

    fn alternate_on(&self) -> bool {
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
    fn tcpscope_pid(&self) -> i32 {
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

/// The line of the connections table whose Local column is `local` (e.g. `127.0.0.1:40000`).
fn row<'a>(screen: &'a str, local: &str) -> Option<&'a str> {
    screen.lines().find(|line| {
        let Some((_, table)) = line.split_once("││") else {
            return false;
        };
        let mut cells = table.split_whitespace().skip_while(|t| *t == "→");
        cells.nth(1) == Some(local)
    })
}

#[test]
fn shows_teardown_filters_details_help_and_quits_cleanly() {
    // As root, in a namespace of its own: the screen then shows this test's sockets only
    // (other tests leave TIME_WAITs on the host that would push these rows off screen).
    let ns = common::is_root().then(|| common::Netns::new("tui"));
    let ns = ns.as_ref();
    let (listener, other) = common::in_ns(ns, || {
        (
            TcpListener::bind("127.0.0.1:0").unwrap(),
            TcpListener::bind("127.0.0.1:0").unwrap(),
        )
    });
    let port = listener.local_addr().unwrap().port();
    let other_port = other.local_addr().unwrap().port();
    let args = match ns {
        Some(ns) => format!("--interval 200 --netns {}", ns.name),
        None => "--interval 200".to_string(),
    };
    let Some(tui) = Tmux::start("main", &args) else {
        return;
    };
    let me = format!("127.0.0.1:{port}");
    let them = format!("127.0.0.1:{other_port}");
    tui.wait("the listeners", |s| {
        row(s, &me).is_some_and(|r| r.contains("LISTEN")) && row(s, &them).is_some()
    });
    assert!(tui.alternate_on(), "the TUI runs in the alternate screen");

    let (client, mut server) = common::in_ns(ns, || {
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        (client, listener.accept().unwrap().0)
    });
    let client_end = format!("127.0.0.1:{}", client.local_addr().unwrap().port());
    tui.wait("the connection", |s| {
        row(s, &client_end).is_some_and(|r| r.contains("ESTABLISHED"))
    });

    // Filter by port: the other listener leaves the table.
    tui.keys(&["/"]);
    tui.type_text(&format!("--port {port}"));
    tui.keys(&["Enter"]);
    tui.wait("the port filter", |s| {
        s.contains(&format!("filter: --port {port}")) && row(s, &them).is_none()
    });

    // Active close by the client: its end goes to TIME_WAIT.
    drop(client);
    assert_eq!(server.read(&mut [0u8; 4]).unwrap(), 0);
    drop(server);
    tui.wait("TIME_WAIT", |s| {
        row(s, &client_end).is_some_and(|r| r.contains("TIME_WAIT"))
    });

    // Details of that connection: narrow the filter to it, open it.
    tui.keys(&["/"]);
    tui.type_text(" --state time-wait");
    tui.keys(&["Enter"]);
    tui.wait("the state filter", |s| {
        s.contains("--state time-wait") && s.contains("Connections all ports (1)")
    });
    tui.keys(&["Enter"]);
    tui.wait("the details", |s| {
        s.contains("timeline")
            && s.contains("the 4-tuple is held 60 s")
            && s.contains("TIME_WAIT ─60 s─> GONE")
    });
    tui.keys(&["Escape"]);
    tui.keys(&["?"]);
    tui.wait("the help", |s| {
        s.contains("Keys (? or Esc to close)") && s.contains("pause the display")
    });
    tui.keys(&["Escape"]);
    tui.wait("the help to close", |s| {
        !s.contains("Keys (? or Esc to close)")
    });

    tui.keys(&["q"]);
    let end = tui.wait("the exit", |s| s.contains("EXIT:0"));
    assert!(!tui.alternate_on(), "still in the alternate screen:\n{end}");
    assert!(
        !end.contains("Connections"),
        "the TUI is left on the screen:\n{end}"
    );
}

#[test]
fn sigterm_restores_the_terminal() {
    let Some(tui) = Tmux::start("term", "--interval 200") else {
        return;
    };
    tui.wait("the header", |s| {
        s.contains("tcpscope") && s.contains("Transitions")
    });
    let pid = rustix::process::Pid::from_raw(tui.tcpscope_pid()).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let end = tui.wait("the exit", |s| s.contains("EXIT:"));
    assert!(end.contains("EXIT:0"), "{end}");
    assert!(!tui.alternate_on(), "still in the alternate screen:\n{end}");
    assert!(
        !end.contains("Transitions"),
        "the TUI is left on the screen:\n{end}"
    );
}

#[test]
fn closing_the_terminal_ends_tcpscope() {
    let Some(tui) = Tmux::start("hup", "--interval 200") else {
        return;
    };
    tui.wait("the header", |s| {
        s.contains("tcpscope") && s.contains("Transitions")
    });
    let pid = tui.tcpscope_pid();
    // The terminal goes away (SIGHUP, then end-of-file on it): tcpscope must end, not spin.
    drop(tui);
    assert!(
        wait_until(Duration::from_secs(10), || !std::path::Path::new(&format!(
            "/proc/{pid}"
        ))
        .exists()),
        "tcpscope {pid} still runs after its terminal closed"
    );
}

#[test]
fn ctrl_c_quits_and_restores_the_terminal() {
    let Some(tui) = Tmux::start("ctrlc", "--interval 200") else {
        return;
    };
    tui.wait("the header", |s| {
        s.contains("tcpscope") && s.contains("Transitions")
    });
    tui.keys(&["C-c"]);
    let end = tui.wait("the exit", |s| s.contains("EXIT:"));
    assert!(end.contains("EXIT:0"), "{end}");
    assert!(!tui.alternate_on(), "still in the alternate screen:\n{end}");
}
