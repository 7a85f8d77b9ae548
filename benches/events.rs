//! The kernel event path under connect/accept/close churn on loopback, in one run:
//!
//! - churn rate (connections/s) without the reader, then with it;
//! - events consumed per second, events lost, and the reader thread's CPU
//!   (TraceSource::drain + Tracker::apply_events, the path `watch` and the TUI use);
//! - the tracker alone on a synthetic stream (its ceiling).
//!
//! Each churn connection closes with SO_LINGER {1,0} so that no TIME_WAIT piles up; it makes
//! about ten events (four state changes to ESTABLISHED, two to CLOSE, two resets, two destroys).
//!
//!   cargo bench --bench events      (root; TCPSCOPE_BENCH_SECS=3 by default)

#![allow(clippy::unwrap_used)] // A benchmark fails loudly by design.

use socket2::SockRef;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tcpscope::model::{Family, TcpState};
use tcpscope::sources::trace::TraceSource;
use tcpscope::tracker::{KernelEvent, KernelEventKind, Tracker, TrackerConfig};

fn main() {
    if !rustix::process::geteuid().is_root() {
        println!("skipped events: needs root (tracefs, network namespaces)");
        return;
    }
    let secs: f64 = std::env::var("TCPSCOPE_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let run_for = Duration::from_secs_f64(secs);
    let ns = format!("tcpscope-bench-ev-{}", std::process::id());
    let ok = |args: &[&str]| assert!(Command::new("ip").args(args).status().unwrap().success());
    ok(&["netns", "add", &ns]);
    ok(&["-n", &ns, "link", "set", "lo", "up"]);
    // Every thread started from here on lives in the namespace.
    tcpscope::sources::netns::enter(&ns).unwrap();

    let workers = std::thread::available_parallelism().map_or(2, usize::from);
    let plain = churn(workers, run_for);
    println!("churn without reader: {:>9.0} connections/s", plain);

    let traced = with_reader(|| churn(workers, run_for));
    println!(
        "churn with reader:    {:>9.0} connections/s  (slowdown {:.1}%)",
        traced.churn,
        100.0 * (1.0 - traced.churn / plain)
    );
    println!(
        "events consumed:      {:>9.0} events/s ({} events in {:.1} s)",
        traced.consumed as f64 / traced.elapsed,
        traced.consumed,
        traced.elapsed
    );
    println!("events lost:          {:>9}", traced.lost);
    println!(
        "reader CPU:           {:>9.1}% of one core ({:.0} ns/event)",
        100.0 * traced.cpu_share,
        traced.cpu_share * traced.elapsed * 1e9 / traced.consumed.max(1) as f64
    );
    // The same at a fixed 25k connections/s (about 250k events/s): the reader's CPU there.
    let paced = with_reader(|| churn_paced(workers, run_for, Some(25_000.0)));
    println!(
        "paced churn:          {:>9.0} connections/s, {:.0} events/s consumed, {} lost, reader CPU {:.1}% of one core",
        paced.churn,
        paced.consumed as f64 / paced.elapsed,
        paced.lost,
        100.0 * paced.cpu_share
    );
    println!("tracker alone:        {:>9.0} events/s", tracker_alone());

    let _ = Command::new("ip").args(["netns", "del", &ns]).status();
}

/// What a churn run with the reader measured.
struct ReaderRun {
    churn: f64,
    consumed: u64,
    elapsed: f64,
    lost: u64,
    /// The reader thread's CPU over its life, as a share of one core.
    cpu_share: f64,
}

/// Runs `churn` while a reader thread consumes and tracks the events.
fn with_reader(churn: impl FnOnce() -> f64) -> ReaderRun {
    let stop = Arc::new(AtomicBool::new(false));
    let events = Arc::new(AtomicU64::new(0));
    let reader = {
        let (stop, events) = (stop.clone(), events.clone());
        std::thread::Builder::new()
            .name("reader".into())
            .spawn(move || read_events(&stop, &events))
            .unwrap()
    };
    // Let the reader set its instance up before the clock starts.
    std::thread::sleep(Duration::from_millis(300));
    let before = events.load(Ordering::Relaxed);
    let start = Instant::now();
    let rate = churn();
    let elapsed = start.elapsed().as_secs_f64();
    let consumed = events.load(Ordering::Relaxed) - before;
    stop.store(true, Ordering::Relaxed);
    let (cpu, lost, total) = reader.join().unwrap();
    ReaderRun {
        churn: rate,
        consumed,
        elapsed,
        lost,
        cpu_share: cpu / total,
    }
}

/// Connect, accept, abort, on `workers` threads for `run_for`, as fast as possible;
/// returns connections per second.
fn churn(workers: usize, run_for: Duration) -> f64 {
    churn_paced(workers, run_for, None)
}

/// The same, at most `per_second` connections per second in all when given.
fn churn_paced(workers: usize, run_for: Duration, per_second: Option<f64>) -> f64 {
    let done = AtomicU64::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                let listener = TcpListener::bind("127.0.0.1:0").unwrap();
                let addr: SocketAddr = listener.local_addr().unwrap();
                let mut n = 0u64;
                let per_worker = per_second.map(|r| r / workers as f64);
                while start.elapsed() < run_for {
                    if let Some(rate) = per_worker {
                        // Ahead of schedule: wait for it (in batches, to keep sleeps long).
                        let due = Duration::from_secs_f64(n as f64 / rate);
                        if n.is_multiple_of(100) && due > start.elapsed() {
                            std::thread::sleep(due - start.elapsed());
                        }
                    }
                    let client = TcpStream::connect(addr).unwrap();
                    let (server, _) = listener.accept().unwrap();
                    SockRef::from(&client)
                        .set_linger(Some(Duration::ZERO))
                        .unwrap();
                    drop(client);
                    drop(server);
                    n += 1;
                }
                done.fetch_add(n, Ordering::Relaxed);
            });
        }
    });
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

/// The reader thread: drain, track, repeat. Returns (CPU seconds, lost, wall seconds).
fn read_events(stop: &AtomicBool, count: &AtomicU64) -> (f64, u64, f64) {
    let mut source = TraceSource::open().expect("kernel events");
    let mut tracker = Tracker::new(TrackerConfig {
        ghost: std::time::Duration::from_secs(2),
        ..TrackerConfig::default()
    });
    let mut local = tcpscope::sources::netns::LocalPids::new();
    let mut batch = Vec::new();
    let cpu0 = thread_cpu();
    let start = Instant::now();
    let mut last_expire = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        if source.wait(Duration::from_millis(50)) {
            // As watch does: let a batch gather.
            std::thread::sleep(Duration::from_millis(10));
        }
        batch.clear();
        source
            .drain(&mut batch, tcpscope::sources::trace::cutoff_now())
            .unwrap();
        count.fetch_add(batch.len() as u64, Ordering::Relaxed);
        tracker.apply_events(&batch, &mut |pid| local.is_local(pid));
        drop(tracker.take_transitions());
        if last_expire.elapsed() > Duration::from_millis(200) {
            tracker.expire(batch.last().map_or(0, |e| e.ts_ns));
            last_expire = Instant::now();
        }
    }
    (
        thread_cpu() - cpu0,
        source.stats().lost,
        start.elapsed().as_secs_f64(),
    )
}

/// This thread's user+system CPU seconds, from /proc/thread-self/stat.
fn thread_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    // Fields after the command name (which may hold spaces) start at ")".
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    ticks as f64 / rustix::param::clock_ticks_per_second() as f64
}

/// The tracker on a synthetic stream shaped like the churn's, without the kernel.
fn tracker_alone() -> f64 {
    let mut tracker = Tracker::new(TrackerConfig {
        ghost: std::time::Duration::from_secs(1),
        ..TrackerConfig::default()
    });
    let conns = 200_000u64;
    let mut events = Vec::with_capacity(conns as usize * 10);
    let server: SocketAddr = "127.0.0.1:8080".parse().unwrap();
    for i in 0..conns {
        let ts = i * 40_000;
        let client: SocketAddr = SocketAddr::new(server.ip(), 10_000 + (i % 50_000) as u16);
        let (c, s) = (0x1000 + i * 2, 0x1001 + i * 2);
        let ev = |dt: u64, sk: u64, local, remote, kind| KernelEvent {
            ts_ns: ts + dt,
            skaddr: sk,
            family: Family::Inet,
            local,
            remote,
            pid: 1,
            kind,
            ..KernelEvent::default()
        };
        let st = |old, new| KernelEventKind::SetState { old, new };
        let zero: SocketAddr = SocketAddr::new(server.ip(), 0);
        events.push(ev(
            0,
            c,
            zero,
            server,
            st(TcpState::Close, TcpState::SynSent),
        ));
        events.push(ev(
            1,
            c,
            client,
            server,
            st(TcpState::SynSent, TcpState::Established),
        ));
        events.push(ev(
            2,
            s,
            server,
            client,
            st(TcpState::Listen, TcpState::SynRecv),
        ));
        events.push(ev(
            3,
            s,
            server,
            client,
            st(TcpState::SynRecv, TcpState::Established),
        ));
        events.push(ev(
            4,
            c,
            client,
            server,
            st(TcpState::Established, TcpState::Close),
        ));
        events.push(ev(5, c, client, server, KernelEventKind::SendReset));
        events.push(ev(6, c, client, server, KernelEventKind::Destroy));
        events.push(ev(7, s, server, client, KernelEventKind::ReceiveReset));
        events.push(ev(
            8,
            s,
            server,
            client,
            st(TcpState::Established, TcpState::Close),
        ));
        events.push(ev(9, s, server, client, KernelEventKind::Destroy));
    }
    let start = Instant::now();
    for chunk in events.chunks(4096) {
        tracker.apply_events(chunk, &mut |_| true);
        drop(tracker.take_transitions());
        tracker.expire(chunk.last().map_or(0, |e| e.ts_ns));
    }
    events.len() as f64 / start.elapsed().as_secs_f64()
}
