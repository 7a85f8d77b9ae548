//! How much memory the tracker spends per tracked TIME_WAIT (and per ghost): feeds it N
//! connections that end in TIME_WAIT, as the eBPF source reports them, and prints the growth
//! of the resident set per connection.
//!
//!   cargo bench --bench tw_memory   (TCPSCOPE_BENCH_CONNS=200000 by default)

#![allow(clippy::unwrap_used)] // A benchmark fails loudly by design.

use std::net::SocketAddr;
use tcpscope::model::{Family, KernelEvent, KernelEventKind, TcpState};
use tcpscope::tracker::{Feed, Mode, Tracker, TrackerConfig};

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    let mut feed = Feed::new(Tracker::new(TrackerConfig {
        mode: Mode::Traced,
        netns: 1,
        ..TrackerConfig::default()
    }));
    let before = rss_bytes();
    let server: SocketAddr = "10.0.0.1:8080".parse().unwrap();
    let mut ts = 1_000_000u64;
    let mut batch = Vec::new();
    for i in 0..n {
        let client = SocketAddr::from((
            [10, 1, (i >> 16) as u8, (i >> 8) as u8],
            1024 + (i & 0xff) as u16 * 200,
        ));
        let sk = 0xffff_0000_0000_0000 | u64::from(i);
        let ev = |ts: u64, old, new, fin| KernelEvent {
            ts_ns: ts,
            skaddr: sk,
            family: Family::Inet,
            local: server,
            remote: client,
            pid: 0,
            kind: KernelEventKind::SetState { old, new },
            netns: 1,
            fin_received: Some(fin),
            comm: [0; 16],
        };
        batch.push(ev(ts, TcpState::Listen, TcpState::SynRecv, false));
        batch.push(ev(ts + 1, TcpState::SynRecv, TcpState::Established, false));
        batch.push(ev(ts + 2, TcpState::Established, TcpState::FinWait1, false));
        batch.push(ev(ts + 3, TcpState::FinWait1, TcpState::FinWait2, false));
        batch.push(ev(ts + 4, TcpState::FinWait2, TcpState::Close, true));
        ts += 10;
        if batch.len() > 5000 {
            feed.on_events(&batch, ts, None, &mut |_| true);
            batch.clear();
            feed.take_transitions();
        }
    }
    feed.on_events(&batch, ts, None, &mut |_| true);
    feed.take_transitions();
    let after = rss_bytes();
    let tracked = feed.tracker().connections().count();
    println!(
        "{tracked} TIME_WAITs tracked: {} bytes each (RSS {} -> {} MB)",
        (after - before) / u64::from(n),
        before >> 20,
        after >> 20
    );
}
