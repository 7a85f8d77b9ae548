//! `tcpscope list --netns all` on many namespaces, in one run:
//!
//!   tcpscope list --netns all --no-owners  vs  ip netns exec NS ss -tan, for each NS
//!   tcpscope list --netns all              vs  ip netns exec NS ss -tanp, for each NS
//!   50 namespaces of 200 sockets           vs  one namespace of 10k (the cost of many)
//!
//! 50 namespaces of 100 established loopback pairs each (TCPSCOPE_BENCH_NAMESPACES and
//! TCPSCOPE_BENCH_NS_PAIRS change them), output to /dev/null, runs interleaved, medians
//! reported with their ratio. Needs root.
//!
//!   cargo bench --bench netns_all

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{Holder, build_populate, median, run_ok, start_populate, time_in};

const RUNS: usize = 7;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if !rustix::process::geteuid().is_root() {
        println!("skipped netns_all: needs root (network namespaces)");
        return;
    }
    let count = env_or("TCPSCOPE_BENCH_NAMESPACES", 50);
    let pairs = env_or("TCPSCOPE_BENCH_NS_PAIRS", 100);
    let tcpscope = env!("CARGO_BIN_EXE_tcpscope");
    let populate = build_populate();
    let tag = std::process::id();
    let names: Vec<String> = (0..count)
        .map(|i| format!("tcpscope-bench-{tag}-{i}"))
        .collect();
    let started = Instant::now();
    let spaces: Vec<Space> = names
        .iter()
        .map(|name| Space::populated(&populate, name, pairs))
        .collect();
    eprintln!(
        "populated {count} namespaces of {pairs} pairs in {:.1?}",
        started.elapsed()
    );

    println!(
        "{:<52} {:>10} {:>10} {:>7}",
        format!("{count} namespaces x {} sockets", pairs * 2),
        "tcpscope",
        "peer",
        "ratio"
    );
    // Every namespace with --no-owners, for the comparison with one namespace below (made
    // after, so that it is not among them).
    let mut many = Duration::ZERO;
    for (name, ours, theirs) in [
        (
            "list --netns all --no-owners / ss -tan per ns",
            vec![tcpscope, "list", "--netns", "all", "--no-owners"],
            vec!["ss", "-tan"],
        ),
        (
            "list --netns all / ss -tanp per ns",
            vec![tcpscope, "list", "--netns", "all"],
            vec!["ss", "-tanp"],
        ),
    ] {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            a.push(time(&ours));
            b.push(names.iter().map(|ns| time_in(ns, &theirs)).sum());
        }
        let (a, b) = (median(a), median(b));
        if many.is_zero() {
            many = a;
        }
        report(name, a, b);
    }

    // The same number of sockets in one namespace.
    let one = format!("tcpscope-bench-{tag}-one");
    let single = Space::populated(&populate, &one, pairs * count);
    let alone: Vec<Duration> = (0..RUNS)
        .map(|_| time(&[tcpscope, "list", "--netns", &one, "--no-owners"]))
        .collect();
    report(
        &format!(
            "{count} x {} vs 1 x {} (--no-owners)",
            pairs * 2,
            pairs * 2 * count
        ),
        many,
        median(alone),
    );
    drop(single);
    drop(spaces);
}

fn report(name: &str, a: Duration, b: Duration) {
    println!(
        "{name:<52} {:>8.1}ms {:>8.1}ms {:>7.3}",
        a.as_secs_f64() * 1e3,
        b.as_secs_f64() * 1e3,
        a.as_secs_f64() / b.as_secs_f64()
    );
}

fn time(cmd: &[&str]) -> Duration {
    let start = Instant::now();
    run_ok(
        Command::new(cmd[0])
            .args(&cmd[1..])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    start.elapsed()
}

/// A namespace of its own, its sockets held until dropped (closing populate's stdin ends
/// it), then deleted.
struct Space {
    name: String,
    holder: Option<Holder>,
}

impl Space {
    fn populated(populate: &std::path::Path, name: &str, pairs: usize) -> Space {
        run_ok(Command::new("ip").args(["netns", "add", name]));
        run_ok(Command::new("ip").args(["-n", name, "link", "set", "lo", "up"]));
        Space {
            name: name.to_string(),
            holder: Some(start_populate(populate, name, pairs, 0)),
        }
    }
}

impl Drop for Space {
    fn drop(&mut self) {
        // The sockets go first, then their namespace.
        drop(self.holder.take());
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}
