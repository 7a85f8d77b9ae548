//! How much memory the tracker spends per tracked TIME_WAIT, and whether it gives it back:
//! feeds it N connections that end in TIME_WAIT, as the eBPF source reports them, then a
//! snapshot that shows them all (as a real host's next dump does), and prints the growth of
//! the resident set per connection; then lets them run out and expire, and prints the
//! resident set after the burst.
//!
//!   cargo bench --bench tw_memory [N]   (N = 200000 by default)
//!
//! Budget: 300 bytes per TIME_WAIT or ghost.

#![allow(clippy::unwrap_used)] // A benchmark fails loudly by design.

use std::net::SocketAddr;
use tcpscope::model::{
    Family, KernelEvent, KernelEventKind, SocketRecord, TcpState, Timer, TimerKind,
};
use tcpscope::tracker::{Feed, Mode, Snapshot, Tracker, TrackerConfig};

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn client(i: u32) -> SocketAddr {
    SocketAddr::from((
        [10, 1, (i >> 16) as u8, (i >> 8) as u8],
        1024 + (i & 0xff) as u16 * 200,
    ))
}

/// Runs the measurement twice, in children: with glibc's malloc as it comes, and with its
/// mmap threshold fixed at 128 KiB. glibc raises the threshold when a large block is freed, so
/// the transient buffers of a burst (a dump's records, a batch of transitions) are later taken
/// from the heap and, freed, stay resident for reuse: the second run shows what the tracker
/// itself holds.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--child") {
        return measure(&args);
    }
    let me = std::env::current_exe().unwrap();
    for (label, threshold) in [
        ("glibc malloc as it comes", None),
        ("mmap threshold fixed at 128 KiB", Some("131072")),
    ] {
        println!("-- {label}");
        let mut child = std::process::Command::new(&me);
        child.args(&args[1..]).arg("--child");
        if let Some(t) = threshold {
            child.env("MALLOC_MMAP_THRESHOLD_", t);
        }
        let status = child.status().unwrap();
        assert!(status.success());
    }
}

fn measure(args: &[String]) {
    let n: u32 = args
        .iter()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200_000);
    let mut feed = Feed::new(Tracker::new(TrackerConfig {
        mode: Mode::Traced,
        netns: 1,
        ..TrackerConfig::default()
    }));
    let server: SocketAddr = "10.0.0.1:8080".parse().unwrap();
    // A steady load first: a listener and some live connections that stay.
    let steady: Vec<SocketRecord> = (0..1000u32)
        .map(|i| SocketRecord {
            family: Family::Inet,
            state: TcpState::Established,
            local: server,
            remote: SocketAddr::from(([10, 2, (i >> 8) as u8, i as u8], 5000)),
            recv_q: 0,
            send_q: 0,
            timer: None,
            uid: 0,
            inode: 1_000_000 + u64::from(i),
            cookie: 0,
            tcp_info: None,
            netns: 0,
        })
        .collect();
    feed.on_snapshot(Snapshot::full(1_000, steady.clone(), &|_| Vec::new()));
    feed.take_transitions();
    let before = rss_bytes();

    let mut ts = 1_000_000u64;
    let mut batch = Vec::new();
    for i in 0..n {
        let sk = 0xffff_0000_0000_0000 | u64::from(i);
        let ev = |ts: u64, old, new, fin| KernelEvent {
            ts_ns: ts,
            skaddr: sk,
            family: Family::Inet,
            local: server,
            remote: client(i),
            pid: 0,
            kind: KernelEventKind::SetState { old, new },
            netns: 1,
            fin_received: Some(fin),
            timewait: Some(true),
            comm: [0; 16],
        };
        batch.push(ev(ts, TcpState::Listen, TcpState::SynRecv, false));
        batch.push(ev(ts + 1, TcpState::SynRecv, TcpState::Established, false));
        batch.push(ev(ts + 2, TcpState::Established, TcpState::FinWait1, false));
        batch.push(ev(ts + 3, TcpState::FinWait1, TcpState::FinWait2, false));
        batch.push(ev(ts + 4, TcpState::FinWait2, TcpState::Close, true));
        batch.push(KernelEvent {
            ts_ns: ts + 5,
            kind: KernelEventKind::Destroy,
            ..ev(ts + 5, TcpState::Close, TcpState::Close, true)
        });
        ts += 10;
        if batch.len() > 6000 {
            feed.on_events(&batch, ts, None, &mut |_| true);
            batch.clear();
            feed.take_transitions();
        }
    }
    feed.on_events(&batch, ts, None, &mut |_| true);
    feed.take_transitions();

    println!(
        "as events made them: {} bytes per TIME_WAIT",
        (rss_bytes() - before) / u64::from(n)
    );
    // The next dump shows them all in TIME_WAIT, with their timers.
    let time_waits = (0..n).map(|i| SocketRecord {
        family: Family::Inet,
        state: TcpState::TimeWait,
        local: server,
        remote: client(i),
        recv_q: 0,
        send_q: 0,
        timer: Some(Timer {
            kind: TimerKind::Timewait,
            remaining_ms: 59_000,
            retransmits: 0,
        }),
        uid: 0,
        inode: 0,
        cookie: 0,
        tcp_info: None,
        netns: 0,
    });
    let sockets: Vec<SocketRecord> = steady.iter().cloned().chain(time_waits).collect();
    feed.on_events(&[], ts + 1, None, &mut |_| true);
    feed.on_snapshot(Snapshot::full(ts + 1, sockets, &|_| Vec::new()));
    assert!(!feed.snapshot_waiting());
    feed.take_transitions();
    let after = rss_bytes();
    println!(
        "a connection: {} bytes in the tracker's store",
        std::mem::size_of::<tcpscope::tracker::Connection>()
    );
    let tracked = feed.tracker().connections().count();
    println!(
        "{tracked} connections tracked ({n} TIME_WAITs): {} bytes per TIME_WAIT (RSS {} -> {} MB)",
        (after - before) / u64::from(n),
        before >> 20,
        after >> 20
    );

    // Their timers run out (two dumps miss them), their ghosts expire: the burst is over.
    let mut later = ts + 61_000_000_000;
    for _ in 0..2 {
        feed.on_events(&[], later, None, &mut |_| true);
        feed.on_snapshot(Snapshot::full(later, steady.clone(), &|_| Vec::new()));
        feed.take_transitions();
        later += 1_000_000_000;
    }
    let ghosts = feed
        .tracker()
        .connections()
        .filter(|c| c.is_ghost())
        .count();
    println!(
        "{ghosts} ghosts: {} bytes per ghost",
        rss_bytes().saturating_sub(before) / u64::from(n)
    );
    later += 61_000_000_000;
    feed.on_events(&[], later, None, &mut |_| true);
    feed.on_snapshot(Snapshot::full(later, steady.clone(), &|_| Vec::new()));
    feed.take_transitions();
    let settled = rss_bytes();
    println!(
        "after the burst: {} connections tracked, RSS {} MB ({} MB above the steady load's)",
        feed.tracker().connections().count(),
        settled >> 20,
        settled.saturating_sub(before) >> 20
    );
}
