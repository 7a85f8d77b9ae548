//! Frame time of the interactive view at 1k, 100k and 200k sockets: `ui::draw` into a 200x50
//! test terminal (only visible rows are built), and, apart, the view rebuild that runs when
//! data changes (not per frame). Median of 50 frames.
//!
//!   cargo bench --bench frame

#![allow(clippy::unwrap_used)] // A benchmark fails loudly by design.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};
use tcpscope::app::{App, SourceInfo};
use tcpscope::model::{Filter, Owner, SocketRecord, TcpState};
use tcpscope::tracker::{Mode, Snapshot, Tracker, TrackerConfig};
use tcpscope::ui::{self, theme::Theme};

fn sockets(n: usize) -> Vec<SocketRecord> {
    (0..n)
        .map(|i| {
            let server = i % 2 == 0;
            let peer = SocketAddr::new(
                IpAddr::V4(Ipv4Addr::new(10, 0, (i / 60_000) as u8, 2)),
                1024 + (i / 2 % 60_000) as u16,
            );
            let me = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 8080);
            let (local, remote) = if server { (me, peer) } else { (peer, me) };
            let state = if i % 10 == 0 {
                TcpState::TimeWait
            } else {
                TcpState::Established
            };
            SocketRecord {
                cookie: i as u64,
                ..SocketRecord::new(state, local, remote, i as u64 + 1)
            }
        })
        .collect()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let owner = vec![Owner {
        pid: 1,
        comm: "srv".into(),
        cmdline: "srv".into(),
        fd: 3,
    }];
    println!("{:>8} {:>12} {:>14}", "sockets", "frame", "view rebuild");
    for n in [1_000, 100_000, 200_000] {
        let info = SourceInfo {
            host: "bench".into(),
            netns: "-".into(),
            source: "netlink".into(),
            event_source: None,
            inferred_reason: None,
            interval_ms: 1000,
            owners_hidden: false,
        };
        let tracker = Tracker::new(TrackerConfig {
            mode: Mode::Inferred,
            ..TrackerConfig::default()
        });
        let mut app = App::new(info, tracker, Filter::default());
        let socks = sockets(n);
        app.on_snapshot(Snapshot::full(1_000_000_000, socks.clone(), &|_| {
            owner.clone()
        }));
        app.now_ns = 2_000_000_000;
        let mut rebuilds = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            app.refresh_view();
            rebuilds.push(t.elapsed());
        }
        let mut term = Terminal::new(TestBackend::new(200, 50)).unwrap();
        let mut frames = Vec::new();
        for _ in 0..50 {
            let t = Instant::now();
            term.draw(|f| {
                ui::draw(
                    f,
                    &mut app,
                    Theme::new(true, tcpscope::model::color::Palette::default()),
                );
            })
            .unwrap();
            frames.push(t.elapsed());
        }
        println!(
            "{n:>8} {:>10.3}ms {:>12.1}ms",
            median(frames).as_secs_f64() * 1e3,
            median(rebuilds).as_secs_f64() * 1e3
        );
    }
}
