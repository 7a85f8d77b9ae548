//! The interactive view's steady CPU with 100k established loopback pairs at the default
//! interval: the real binary in a tmux pane inside a populated namespace, its CPU time read
//! from /proc over 20 s after a 6 s warm-up. Needs root and tmux.
//!
//!   cargo bench --bench tui_cpu      (TCPSCOPE_BENCH_PAIRS=100000 by default)

#![allow(clippy::unwrap_used)] // A benchmark fails loudly by design.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

fn cpu_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn main() {
    if !rustix::process::geteuid().is_root() || Command::new("tmux").arg("-V").output().is_err() {
        println!("skipped tui_cpu: needs root and tmux");
        return;
    }
    let pairs: usize = std::env::var("TCPSCOPE_BENCH_PAIRS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let ns = format!("tcpscope-bench-tui-{}", std::process::id());
    let ok = |args: &[&str]| assert!(Command::new("ip").args(args).status().unwrap().success());
    ok(&["netns", "add", &ns]);
    ok(&["-n", &ns, "link", "set", "lo", "up"]);
    assert!(
        Command::new(env!("CARGO"))
            .args(["build", "--release", "--example", "populate"])
            .status()
            .unwrap()
            .success()
    );
    let mut populate_path = std::env::current_exe().unwrap();
    populate_path.pop();
    populate_path.pop();
    populate_path.push("examples/populate");
    let mut populate = Command::new(populate_path)
        .args(["--netns", &ns, "--pairs", &pairs.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(populate.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("ready"), "{line}");

    let session = format!("tcpscope-bench-{}", std::process::id());
    let cmd = format!("{} --netns {ns}", env!("CARGO_BIN_EXE_tcpscope"));
    ok_tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "150",
        "-y",
        "40",
        &cmd,
    ]);
    std::thread::sleep(Duration::from_secs(6));
    let out = Command::new("tmux")
        .args(["display-message", "-p", "-t", &session, "#{pane_pid}"])
        .output()
        .unwrap();
    let pid = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let secs = 20;
    let a = cpu_ticks(&pid);
    std::thread::sleep(Duration::from_secs(secs));
    let b = cpu_ticks(&pid);
    let hz = rustix::param::clock_ticks_per_second();
    println!(
        "TUI steady CPU, {pairs} pairs ({} sockets), 1000 ms interval: {:.1}% of one core",
        pairs * 2,
        100.0 * (b - a) as f64 / (hz * secs) as f64
    );
    let _ = Command::new("tmux")
        .args(["kill-session", "-t", &session])
        .status();
    drop(populate.stdin.take());
    let _ = populate.wait();
    let _ = Command::new("ip").args(["netns", "del", &ns]).status();
}

fn ok_tmux(args: &[&str]) {
    assert!(
        Command::new("tmux").args(args).status().unwrap().success(),
        "tmux {args:?}"
    );
}
