//! tcpscope's event path beside libbpf-tools' tcpstates (the eBPF peer on the same
//! tracepoint), on the same churn, interleaved, whole processes as a user runs them:
//!
//! - the churn's rate alone, then under `tcpscope watch --json` and under `tcpstates`;
//! - each observer's CPU (utime + stime of the process) per line it delivered;
//! - events each says it lost, and its resident memory (now and at its peak);
//! - with a table of TIME_WAITs made before each round (TCPSCOPE_BENCH_TW, 200k by default,
//!   from 127.1.x.y so that the churn's 4-tuples never meet them): every snapshot walks it.
//!
//! The churn is nginx-like: the server closes first, so server TIME_WAITs pile up and new
//! SYNs reuse their 4-tuples. Both observers write to a file (tcpscope in JSON lines).
//!
//!   cargo bench --bench vs_tcpstates   (root; TCPSCOPE_BENCH_SECS=12, TCPSCOPE_BENCH_ROUNDS=3,
//!   TCPSCOPE_BENCH_TW=200000)

#![allow(clippy::unwrap_used)] // A benchmark fails loudly by design.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn main() {
    if !rustix::process::geteuid().is_root() {
        println!("skipped vs_tcpstates: needs root (eBPF, network namespaces)");
        return;
    }
    if Command::new("tcpstates").arg("--help").output().is_err() {
        println!("skipped vs_tcpstates: tcpstates missing (Debian package libbpf-tools)");
        return;
    }
    let env = |k: &str, d: f64| {
        std::env::var(k)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(d)
    };
    // Long enough for two of watch's full dumps (TIME_WAIT every 5 s).
    let run_for = Duration::from_secs_f64(env("TCPSCOPE_BENCH_SECS", 12.0));
    let rounds = env("TCPSCOPE_BENCH_ROUNDS", 3.0) as usize;
    let time_waits = env("TCPSCOPE_BENCH_TW", 200_000.0) as u32;
    let ns = format!("tcpscope-bench-vs-{}", std::process::id());
    let ok = |args: &[&str]| assert!(Command::new("ip").args(args).status().unwrap().success());
    ok(&["netns", "add", &ns]);
    ok(&["-n", &ns, "link", "set", "lo", "up"]);
    // Room for the table made before each round and the churn's own (131,072 by default).
    let buckets = format!("net.ipv4.tcp_max_tw_buckets={}", time_waits + 200_000);
    ok(&["netns", "exec", &ns, "sysctl", "-qw", &buckets]);
    let _cleanup = Cleanup(ns.clone());
    // Every thread started from here on lives in the namespace.
    tcpscope::sources::netns::enter(&ns).unwrap();
    let workers = std::thread::available_parallelism().map_or(2, usize::from);
    let listeners: Vec<TcpListener> = (0..workers)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();

    println!(
        "round  observer   churn conn/s  slowdown  lines      CPU s   µs/line  lost    RSS MB (peak)  TIME_WAITs"
    );
    let mut runs: Vec<(&str, Run)> = Vec::new();
    let filler = TcpListener::bind("127.0.0.1:0").unwrap();
    for round in 1..=rounds {
        let made = fill_time_wait(&filler, time_waits, workers);
        println!("{round:>5}  ({made} TIME_WAITs made first)");
        let alone = churn(&listeners, run_for);
        println!("{round:>5}  {:<9} {alone:>13.0}", "none");
        for who in ["tcpscope", "tcpstates"] {
            let r = observed(who, &ns, &listeners, run_for);
            println!(
                "{round:>5}  {who:<9} {:>13.0}  {:>7.1}%  {:>9}  {:>6.2}  {:>8.2}  {:<6}  {:>6} ({:>5})  {:>9}",
                r.churn,
                100.0 * (1.0 - r.churn / alone),
                r.lines,
                r.cpu_s,
                r.cpu_s * 1e6 / r.lines.max(1) as f64,
                r.lost,
                r.rss_kb / 1024,
                r.peak_kb / 1024,
                r.time_waits
            );
            runs.push((who, Run { alone, ..r }));
        }
    }
    let median = |who: &str, f: &dyn Fn(&Run) -> f64| {
        let mut v: Vec<f64> = runs
            .iter()
            .filter(|(w, _)| *w == who)
            .map(|(_, r)| f(r))
            .collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let per_line = |r: &Run| r.cpu_s / r.lines.max(1) as f64;
    let slowdown = |r: &Run| 1.0 - r.churn / r.alone;
    let lost = |r: &Run| r.lost as f64;
    println!(
        "median: CPU per line tcpscope {:.2} µs, tcpstates {:.2} µs: ratio {:.2}; churn slowdown {:.1}% vs {:.1}%; lost {} vs {}",
        median("tcpscope", &per_line) * 1e6,
        median("tcpstates", &per_line) * 1e6,
        median("tcpscope", &per_line) / median("tcpstates", &per_line),
        100.0 * median("tcpscope", &slowdown),
        100.0 * median("tcpstates", &slowdown),
        median("tcpscope", &lost),
        median("tcpstates", &lost),
    );
    println!("TIME_WAIT table at the end: {} sockets", time_wait_count());
}

struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

#[derive(Default)]
struct Run {
    alone: f64,
    churn: f64,
    lines: u64,
    cpu_s: f64,
    lost: u64,
    rss_kb: u64,
    peak_kb: u64,
    time_waits: u64,
}

/// utime + stime of a process, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| f.get(i)?.parse::<f64>().ok())
        .sum();
    let hz = rustix::param::clock_ticks_per_second() as f64;
    ticks / hz
}

/// The churn under one observer, its CPU over the churn and what it delivered.
fn observed(who: &str, ns: &str, listeners: &[TcpListener], run_for: Duration) -> Run {
    let out = std::env::temp_dir().join(format!("tcpscope-bench-{who}-{}.out", std::process::id()));
    let file = std::fs::File::create(&out).unwrap();
    let mut cmd = if who == "tcpscope" {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tcpscope"));
        let events = std::env::var("TCPSCOPE_BENCH_EVENTS").unwrap_or_else(|_| "bpf".into());
        c.args(["watch", "--json", "--events", &events, "--netns", ns]);
        c
    } else {
        Command::new("tcpstates")
    };
    let mut child: Child = cmd.stdout(file).stderr(Stdio::piped()).spawn().unwrap();
    // Until it runs: tcpstates prints its header, tcpscope the baseline's listeners.
    let started = Instant::now();
    while std::fs::metadata(&out).map_or(0, |m| m.len()) == 0
        && started.elapsed() < Duration::from_secs(10)
    {
        if who == "tcpscope" {
            // A listener made now shows once tcpscope reads events.
            drop(TcpListener::bind("127.0.0.1:0").unwrap());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    let lines_before = count_lines(&out);
    let cpu0 = cpu_seconds(child.id());
    let rate = churn(listeners, run_for);
    let cpu1 = cpu_seconds(child.id());
    // What is still buffered comes out before the count.
    std::thread::sleep(Duration::from_millis(1500));
    let lines = count_lines(&out) - lines_before;
    let rss_kb = status_kb(child.id(), "VmRSS:");
    let peak_kb = status_kb(child.id(), "VmHWM:");
    let time_waits = time_wait_count();
    let pid = rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
    let _ = rustix::process::kill_process(pid, rustix::process::Signal::INT);
    let mut err = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut err);
    let _ = child.wait();
    let _ = std::fs::remove_file(&out);
    Run {
        alone: 0.0,
        churn: rate,
        lines,
        cpu_s: cpu1 - cpu0,
        lost: lost_in(&err),
        rss_kb,
        peak_kb,
        time_waits,
    }
}

/// A figure of /proc/PID/status, in kB.
fn status_kb(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The TIME_WAITs of this (the bench's) namespace now.
fn time_wait_count() -> u64 {
    let tw = Command::new("ss")
        .args(["-Htan", "state", "time-wait"])
        .output()
        .unwrap();
    tw.stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count() as u64
}

fn count_lines(p: &std::path::Path) -> u64 {
    std::fs::read(p).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count() as u64)
}

/// tcpscope: "the kernel dropped N events so far"; tcpstates: "lost N events on CPU #c".
fn lost_in(stderr: &str) -> u64 {
    let mut tcpscope = 0;
    let mut tcpstates = 0;
    for line in stderr.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let Some(i) = words.iter().position(|w| *w == "dropped") {
            tcpscope = words
                .get(i + 1)
                .and_then(|n| n.parse().ok())
                .unwrap_or(tcpscope);
        }
        if let Some(i) = words.iter().position(|w| w.eq_ignore_ascii_case("lost")) {
            tcpstates += words
                .get(i + 1)
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    tcpscope + tcpstates
}

/// `n` connections from 127.1.x.y to `listener` that the server closes first: as many server
/// TIME_WAITs, on 4-tuples no other connection uses. Returns how many were made.
fn fill_time_wait(listener: &TcpListener, n: u32, workers: usize) -> u32 {
    use socket2::{Domain, Socket, Type};
    let addr: SocketAddr = listener.local_addr().unwrap();
    let made = AtomicU64::new(0);
    let accepting = std::sync::Mutex::new(());
    std::thread::scope(|s| {
        for w in 0..workers as u32 {
            let (made, accepting) = (&made, &accepting);
            s.spawn(move || {
                let mut buf = [0u8; 1];
                for i in (w..n).step_by(workers) {
                    let from =
                        SocketAddr::from(([127, 1 + (i >> 16) as u8, (i >> 8) as u8, i as u8], 0));
                    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
                    if socket.bind(&from.into()).is_err() {
                        continue;
                    }
                    // One listener for all workers: accept under a lock, so that each
                    // worker closes the server end of its own connection.
                    let guard = accepting.lock().unwrap();
                    if socket.connect(&addr.into()).is_err() {
                        continue;
                    }
                    let (server, _) = listener.accept().unwrap();
                    drop(guard);
                    drop(server);
                    let mut client = TcpStream::from(socket);
                    let _ = client.read(&mut buf);
                    drop(client);
                    made.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    made.load(Ordering::Relaxed) as u32
}

/// Connect, accept, the server closes first, then the client: on one thread per listener for
/// `run_for`; connections per second.
fn churn(listeners: &[TcpListener], run_for: Duration) -> f64 {
    let done = AtomicU64::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        for listener in listeners {
            let done = &done;
            s.spawn(move || {
                let addr: SocketAddr = listener.local_addr().unwrap();
                let mut n = 0u64;
                let mut buf = [0u8; 1];
                while start.elapsed() < run_for {
                    let Ok(mut client) = TcpStream::connect(addr) else {
                        continue;
                    };
                    let (server, _) = listener.accept().unwrap();
                    drop(server);
                    // The client reads the FIN, then closes: no RST, the server's end goes
                    // to TIME_WAIT.
                    let _ = client.read(&mut buf);
                    drop(client);
                    n += 1;
                }
                done.fetch_add(n, Ordering::Relaxed);
            });
        }
    });
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}
