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

/// The endpoint in at most `width` characters: when it is longer, the middle of the host is
/// cut out (`[2001:db…::1]:8443`) and the port is always whole. A cut port is a wrong port.
pub fn endpoint_fit(a: &SocketAddr, width: usize) -> String {
    let full = endpoint(a);
    let n = full.chars().count();
    if n <= width {
        return full;
    }
    // The port and what closes the host (`:8443`, `]:8443`), kept whole.
    let colon = full.rfind(':').unwrap_or(full.len());
    let (host, port) = full.split_at(colon);
    let (host, port) = match host.strip_suffix(']') {
        Some(h) => (h, format!("]{port}")),
        None => (host, port.to_string()),
    };
    let room = width.saturating_sub(port.chars().count());
    if room < 3 {
        return clip(&full, width);
    }
    format!("{}{port}", clip_middle(host, room))
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

/// How long a socket has been in its state. When tcpscope did not see it enter the state,
/// the time is since tcpscope first saw it, unless a TIME_WAIT's timer tells (TIME_WAIT
/// always lasts 60 s on Linux, TCP_TIMEWAIT_LEN), and is marked as a lower bound: `≥1.9s`.
pub fn in_state(
    state: crate::tracker::Phase,
    seen_ns: u64,
    entered: bool,
    timer: Option<(Timer, u64)>,
) -> String {
    use crate::model::TcpState;
    if entered {
        return duration(seen_ns);
    }
    match (state, timer) {
        (crate::tracker::Phase::State(TcpState::TimeWait), Some((t, elapsed_ns)))
            if t.kind == TimerKind::Timewait =>
        {
            let left_ns = (t.remaining_ms * 1_000_000).saturating_sub(elapsed_ns);
            duration(TIME_WAIT_NS.saturating_sub(left_ns).max(seen_ns))
        }
        _ => format!("≥{}", duration(seen_ns)),
    }
}

/// How long TIME_WAIT lasts on Linux (TCP_TIMEWAIT_LEN, not a sysctl).
const TIME_WAIT_NS: u64 = 60_000_000_000;

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
    o.map_or_else(String::new, Owner::label)
}

/// The owner with its command line, when the command line says more than the name:
/// `nginx/4242 nginx: worker process`.
pub fn owner_long(o: Option<&Owner>) -> String {
    let short = owner(o);
    match o {
        Some(o) if !o.cmdline.is_empty() && *o.cmdline != *o.comm => format!(
            "{short} {}",
            crate::model::safe_text::for_terminal(&o.cmdline)
        ),
        _ => short,
    }
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

    #[test]
    fn an_endpoint_too_long_loses_the_middle_of_its_host_never_its_port() {
        let v6: SocketAddr = "[2001:db8:1234:5678::1]:8443".parse().unwrap();
        assert_eq!(endpoint_fit(&v6, 40), "[2001:db8:1234:5678::1]:8443");
        let cut = endpoint_fit(&v6, 18);
        assert_eq!(cut.chars().count(), 18);
        assert!(
            cut.ends_with("::1]:8443") || cut.ends_with("]:8443"),
            "{cut}"
        );
        assert!(cut.starts_with("[2001"), "{cut}");
        let v4: SocketAddr = "93.184.216.34:443".parse().unwrap();
        assert!(endpoint_fit(&v4, 12).ends_with("…6.34:443"));
        assert_eq!(endpoint_fit(&v4, 12).chars().count(), 12);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TcpState;
    use crate::tracker::Phase;

    const S: u64 = 1_000_000_000;

    #[test]
    fn time_in_state_is_a_lower_bound_unless_seen_or_told() {
        let close_wait = Phase::State(TcpState::CloseWait);
        assert_eq!(in_state(close_wait, 19 * S / 10, true, None), "1.9s");
        assert_eq!(in_state(close_wait, 19 * S / 10, false, None), "≥1.9s");
        // A TIME_WAIT with 40 s left, as a snapshot 1 s ago said: 21 s in it, from the kernel.
        let timer = Timer {
            kind: TimerKind::Timewait,
            remaining_ms: 40_000,
            retransmits: 0,
        };
        let time_wait = Phase::State(TcpState::TimeWait);
        assert_eq!(in_state(time_wait, 2 * S, false, Some((timer, S))), "21.0s");
    }
}
