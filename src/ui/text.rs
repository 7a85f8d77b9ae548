//! Small formatting helpers shared by the panes.

use crate::model::{Owner, Timer, TimerKind};
use std::net::{IpAddr, SocketAddr};

pub fn endpoint(a: &SocketAddr) -> String {
    let port = if a.port() == 0 {
        "*".to_string()
    } else {
        a.port().to_string()
    };
    match a.ip() {
        IpAddr::V4(ip) => format!("{ip}:{port}"),
        IpAddr::V6(ip) => format!("[{ip}]:{port}"),
    }
}

/// `3.2s`, `4m05s`, `2h10m`.
pub fn duration(ns: u64) -> String {
    let s = ns / 1_000_000_000;
    match s {
        0..60 => format!("{}.{}s", s, (ns / 100_000_000) % 10),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s / 60) % 60),
    }
}

/// The timer's time left now, counting down from what the snapshot said `elapsed_ns` ago.
pub fn timer(t: &Timer, elapsed_ns: u64) -> String {
    let left_ms = t.remaining_ms.saturating_sub(elapsed_ns / 1_000_000);
    let kind = match t.kind {
        TimerKind::Timewait => "tw",
        TimerKind::Retransmit => "rto",
        TimerKind::Keepalive => "ka",
        TimerKind::ZeroWindowProbe => "zwp",
    };
    format!("{kind} {}", duration(left_ms * 1_000_000))
}

pub fn owner(o: Option<&Owner>) -> String {
    o.map_or_else(String::new, |o| {
        format!(
            "{}/{}",
            crate::model::safe_text::for_terminal(&o.comm),
            o.pid
        )
    })
}

/// At most `width` characters, the cut marked with `…`.
pub fn clip(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// At most `width` characters, the middle cut out and marked with `…`: what tells two
/// labels apart is often at their end (`web-a`, `…-test-7`).
pub fn clip_middle(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width || width < 3 {
        return clip(s, width);
    }
    let head = (width - 1) / 2;
    let tail = width - 1 - head;
    let mut out: String = s.chars().take(head).collect();
    out.push('…');
    out.extend(s.chars().skip(n - tail));
    out
}

#[cfg(test)]
mod clip_tests {
    use super::*;

    #[test]
    fn clips_keep_what_fits() {
        assert_eq!(clip("abcdef", 10), "abcdef");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip_middle("tcpscope-test-a-7", 9), "tcps…-a-7");
        assert_eq!(clip_middle("web-a", 14), "web-a");
        assert_eq!(clip_middle("abcdefghij", 5).chars().count(), 5);
    }
}
