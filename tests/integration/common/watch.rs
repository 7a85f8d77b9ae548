//! `tcpscope watch --json` in a test's namespace, its lines gathered as they come.

use super::{Netns, in_ns};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

pub struct JsonWatch {
    child: Child,
    lines: Receiver<Value>,
    /// Every transition printed so far.
    pub seen: Vec<Value>,
}

impl JsonWatch {
    /// `watch --json --events EVENTS --interval MS --netns NS`, returned once it shows a
    /// listener made after it started (one made before its first snapshot never shows, so new
    /// ones are made until one does).
    pub fn start(ns: &Netns, events: &str, interval_ms: u32) -> JsonWatch {
        Self::start_with(&ns.name, ns, events, interval_ms)
    }

    /// `watch --netns all`, ready once it shows a listener made in `probe_in`.
    pub fn start_all(probe_in: &Netns, events: &str, interval_ms: u32) -> JsonWatch {
        Self::start_with("all", probe_in, events, interval_ms)
    }

    fn start_with(netns: &str, ns: &Netns, events: &str, interval_ms: u32) -> JsonWatch {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tcpscope"))
            .args(["watch", "--json", "--events", events, "--netns", netns])
            .args(["--interval", &interval_ms.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let v: Value = serde_json::from_str(&line).unwrap();
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        let mut w = JsonWatch {
            child,
            lines,
            seen: Vec::new(),
        };
        let mut probes = Vec::new();
        let mut ports = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let probe = in_ns(Some(ns), || TcpListener::bind("127.0.0.1:0").unwrap());
            ports.push(probe.local_addr().unwrap().port());
            probes.push(probe);
            // Any probe counts: on a busy host (another test's churn, with --netns all) a
            // listener may show later than the wait for it.
            if w.collect_until(Duration::from_millis(500), |seen| {
                seen.iter().any(|t| {
                    t["to"] == "LISTEN"
                        && t["local_port"]
                            .as_u64()
                            .is_some_and(|p| ports.contains(&(p as u16)))
                })
            }) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "watch never showed a new listener:\n{}",
                w.dump()
            );
        }
        w
    }

    /// Gathers lines until `done` holds or `timeout` passes; whether it held.
    pub fn collect_until(&mut self, timeout: Duration, done: impl Fn(&[Value]) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        while !done(&self.seen) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            self.gather(left.min(Duration::from_millis(50)));
        }
        true
    }

    /// Takes the next line, waiting at most `wait` for it.
    /// Waits up to `wait` for a line, then takes every line already there: a condition is
    /// checked once per batch, not once per line (at thousands of lines, checking a
    /// condition over all of them after each one took most of a test's time).
    pub fn gather(&mut self, wait: Duration) {
        if let Ok(v) = self.lines.recv_timeout(wait) {
            self.seen.push(v);
            while let Ok(v) = self.lines.try_recv() {
                self.seen.push(v);
            }
        }
    }

    /// The watch process's PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything seen, a line each (for a failure's message).
    pub fn dump(&self) -> String {
        self.seen
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Ended with SIGTERM, so that it removes what it set up in the kernel (a tracefs instance);
/// SIGKILL if it is still there after 5 s.
impl Drop for JsonWatch {
    fn drop(&mut self) {
        if let Some(pid) = i32::try_from(self.child.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let ended = super::wait_until(Duration::from_secs(5), || {
            self.child.try_wait().is_ok_and(|s| s.is_some())
        });
        if !ended {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
