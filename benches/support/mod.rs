//! What the benchmarks that run commands in populated namespaces share: timing a command
//! (in a namespace), medians, and the populate example built for them.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `cmd` run inside network namespace `ns` (`ip netns exec`), its output thrown away.
pub fn time_in(ns: &str, cmd: &[&str]) -> Duration {
    let start = Instant::now();
    run_ok(
        Command::new("ip")
            .args(["netns", "exec", ns])
            .args(cmd)
            .stdout(Stdio::null()),
    );
    start.elapsed()
}

/// The median of the runs.
pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

pub fn run_ok(cmd: &mut Command) {
    let status = cmd.status().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(status.success(), "{cmd:?} failed");
}

/// The populate example, built optimised.
pub fn build_populate() -> std::path::PathBuf {
    run_ok(Command::new(env!("CARGO")).args(["build", "--release", "--example", "populate"]));
    let mut p = std::env::current_exe().expect("bench exe");
    p.pop();
    p.pop();
    p.push("examples/populate");
    p
}

/// Holds the populated sockets until dropped (closing populate's stdin ends it).
pub struct Holder(Child);

impl Drop for Holder {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.wait();
    }
}

/// Fills namespace `ns` with `pairs` established pairs and `extras` of each teardown state;
/// returns once populate says they are all in place.
pub fn start_populate(populate: &std::path::Path, ns: &str, pairs: usize, extras: usize) -> Holder {
    let mut child = Command::new(populate)
        .args([
            "--netns",
            ns,
            "--pairs",
            &pairs.to_string(),
            "--extras",
            &extras.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn populate");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("ready");
    assert!(line.starts_with("ready"), "populate: {line:?}");
    Holder(child)
}
