//! The interactive view as a user meets it on a big host: the real binary in a 200x50 tmux
//! pane, inside a namespace populated with N established loopback pairs (2N sockets, 2N rows).
//! For each size it measures:
//!
//! - keypress → screen updated, p50 and p95 over 40 presses of each of: Enter/Esc (the details
//!   open and close), `s` (sort by the next column: all rows re-sorted) and, in the ports pane,
//!   `j`/`k` (another port: the table refiltered); the time from `tmux send-keys` until
//!   `tmux capture-pane` shows the change (polled; the poll costs ~1 ms, counted in);
//! - the steady CPU over 20 s (no key pressed, the default 1000 ms interval);
//! - the resident memory (VmRSS) once the view holds every socket;
//! - the time from `q` until the process has exited (a zombie: tmux reaps it later).
//!
//! Needs root (to populate a namespace) and tmux.
//!
//!   cargo bench --bench tui      (TCPSCOPE_BENCH_PAIRS=50000,100000 by default)

#![allow(clippy::unwrap_used)] // A benchmark fails loudly by design.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb / 1024.0
}

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().unwrap();
    assert!(out.status.success(), "tmux {args:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Pane(String);

impl Pane {
    fn screen(&self) -> String {
        tmux(&["capture-pane", "-p", "-t", &self.0])
    }

    fn key(&self, key: &str) {
        tmux(&["send-keys", "-t", &self.0, key]);
    }

    /// Waits for `cond` on the screen, polling; the time it took, or a panic after `limit`.
    fn until(&self, what: &str, limit: Duration, cond: impl Fn(&str) -> bool) -> Duration {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if cond(&s) {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < limit,
                "timed out waiting for {what}:\n{s}"
            );
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    /// Presses `key` and times until `cond` holds.
    fn press(&self, key: &str, cond: impl Fn(&str) -> bool) -> Duration {
        let start = Instant::now();
        self.key(key);
        self.until(key, Duration::from_secs(10), cond);
        start.elapsed()
    }
}

fn percentile(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i].as_secs_f64() * 1000.0
}

fn populate(ns: &str, pairs: usize) -> Child {
    let mut path = std::env::current_exe().unwrap();
    path.pop();
    path.pop();
    path.push("examples/populate");
    let mut child = Command::new(path)
        .args(["--netns", ns, "--pairs", &pairs.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("ready"), "{line}");
    child
}

/// The sort key the connections table's title names.
fn sort_key(screen: &str) -> Option<String> {
    let title = screen.lines().find(|l| l.contains("┌ Connections"))?;
    let after = title.split_once(" sort: ")?.1;
    Some(after.split_whitespace().next()?.to_string())
}

/// What a run sets up, removed however it ends (a failed wait panics): the tmux session, the
/// populating process, the namespace.
struct Setup {
    ns: String,
    session: String,
    populate: Option<Child>,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.session])
            .status();
        if let Some(mut p) = self.populate.take() {
            drop(p.stdin.take());
            let _ = p.wait();
        }
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
    }
}

fn measure(pairs: usize) {
    let ns = format!("tcpscope-bench-tui-{}", std::process::id());
    let ok = |args: &[&str]| assert!(Command::new("ip").args(args).status().unwrap().success());
    ok(&["netns", "add", &ns]);
    let session = format!("tcpscope-bench-{}", std::process::id());
    let mut setup = Setup {
        ns: ns.clone(),
        session: session.clone(),
        populate: None,
    };
    ok(&["-n", &ns, "link", "set", "lo", "up"]);
    setup.populate = Some(populate(&ns, pairs));
    let cmd = format!("{} --netns {ns}", env!("CARGO_BIN_EXE_tcpscope"));
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "200",
        "-y",
        "50",
        &cmd,
    ]);
    let pane = Pane(session.clone());
    let pid: u32 = tmux(&["display-message", "-p", "-t", &session, "#{pane_pid}"])
        .trim()
        .parse()
        .unwrap();
    // Every pair's two ends in the header's count (populate adds a few of its own).
    let established = |s: &str| -> usize {
        s.lines()
            .nth(1)
            .and_then(|l| l.split("ESTABLISHED ").nth(1))
            .and_then(|n| n.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let loaded = pane.until("every socket", Duration::from_secs(300), |s| {
        established(s) >= pairs * 2
    });
    // Let the owners' first scan and the first full dumps settle.
    std::thread::sleep(Duration::from_secs(5));
    let rss = rss_mb(pid);

    let mut details = Vec::new();
    let mut sort = Vec::new();
    let mut port = Vec::new();
    for _ in 0..40 {
        details.push(pane.press("Enter", |s| s.contains("timeline")));
        details.push(pane.press("Escape", |s| !s.contains("timeline")));
        let before = sort_key(&pane.screen());
        sort.push(pane.press("s", |s| sort_key(s) != before));
    }
    pane.key("BTab");
    pane.until("the ports pane", Duration::from_secs(10), |s| {
        s.contains("Connections")
    });
    let title = |s: &str| {
        s.lines()
            .find(|l| l.contains("┌ Connections"))
            .map(|l| l.split(" (").next().unwrap_or("").to_string())
    };
    for i in 0..40 {
        let before = title(&pane.screen());
        let key = if i % 2 == 0 { "j" } else { "k" };
        port.push(pane.press(key, |s| title(s) != before));
    }

    let secs = 20;
    let a = cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(secs));
    let b = cpu_ticks(pid);
    let hz = rustix::param::clock_ticks_per_second();
    let cpu = 100.0 * (b - a) as f64 / (hz * secs) as f64;

    // Until the process has exited (a zombie, or gone): tmux reaps it up to a second later.
    let exited = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| {
            s.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('Z'))
        })
    };
    let quit_start = Instant::now();
    pane.key("q");
    while !exited() && quit_start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(1));
    }
    let quit = quit_start.elapsed();

    println!(
        "{:>7} rows  loaded in {:>5.1} s  RSS {:>6.1} MB  idle CPU {:>5.1} % of a core  quit {:>6.1} ms",
        pairs * 2,
        loaded.as_secs_f64(),
        rss,
        cpu,
        quit.as_secs_f64() * 1000.0
    );
    for (name, v) in [
        ("details open/close", &mut details),
        ("sort next (s)", &mut sort),
        ("another port (j/k)", &mut port),
    ] {
        println!(
            "         {name:<20} p50 {:>6.1} ms  p95 {:>6.1} ms",
            percentile(v, 0.5),
            percentile(v, 0.95)
        );
    }
    drop(setup);
}

fn main() {
    if !rustix::process::geteuid().is_root() || Command::new("tmux").arg("-V").output().is_err() {
        println!("skipped tui: needs root and tmux");
        return;
    }
    assert!(
        Command::new(env!("CARGO"))
            .args(["build", "--release", "--example", "populate"])
            .status()
            .unwrap()
            .success()
    );
    let sizes = std::env::var("TCPSCOPE_BENCH_PAIRS").unwrap_or_else(|_| "50000,100000".into());
    for pairs in sizes.split(',').filter_map(|s| s.trim().parse().ok()) {
        measure(pairs);
    }
}
