//! The eBPF program's event record (`struct event` in assets/bpf/tcp_events.bpf.c), decoded.
//! The record comes from the kernel, but it is still checked: a short record or an unknown
//! kind, family or state is skipped, never trusted.

use crate::model::{Family, KernelEvent, KernelEventKind, TcpState};
use crate::sources::bytes::{array_at, ipv4_at, ipv6_at, u8_at, u16_at, u32_at, u64_at};
use std::net::{IpAddr, SocketAddr};

/// The record's size; the C struct must keep this layout.
pub const RECORD_LEN: usize = 88;

const FLAG_FIN_RECEIVED: u8 = 1;
const FLAG_TIMEWAIT_CHECKED: u8 = 2;
const FLAG_TIMEWAIT_FOUND: u8 = 4;

fn addr(family: Family, d: &[u8], at: usize) -> Option<IpAddr> {
    Some(match family {
        Family::Inet => IpAddr::V4(ipv4_at(d, at)?),
        Family::Inet6 => IpAddr::V6(ipv6_at(d, at)?),
    })
}

pub fn decode(d: &[u8]) -> Option<KernelEvent> {
    if d.len() < RECORD_LEN {
        return None;
    }
    let state = |at: usize| TcpState::from_kernel(u8_at(d, at)?);
    let kind = match u8_at(d, 24)? {
        0 => KernelEventKind::SetState {
            old: state(25)?,
            new: state(26)?,
        },
        1 => KernelEventKind::SendReset,
        2 => KernelEventKind::ReceiveReset,
        3 => KernelEventKind::Destroy,
        _ => return None,
    };
    let flags = u8_at(d, 27)?;
    let family = match u16_at(d, 28)? {
        Family::AF_INET => Family::Inet,
        Family::AF_INET6 => Family::Inet6,
        _ => return None,
    };
    let local = SocketAddr::new(addr(family, d, 40)?, u16_at(d, 30)?);
    let remote = SocketAddr::new(addr(family, d, 56)?, u16_at(d, 32)?);
    let comm: [u8; 16] = array_at(d, 72)?;
    Some(KernelEvent {
        ts_ns: u64_at(d, 0)?,
        skaddr: u64_at(d, 8)?,
        family,
        local,
        remote,
        pid: i32::try_from(u32_at(d, 20)?).unwrap_or(0),
        kind,
        netns: u32_at(d, 16)?,
        fin_received: matches!(kind, KernelEventKind::SetState { .. })
            .then_some(flags & FLAG_FIN_RECEIVED != 0),
        timewait: (flags & FLAG_TIMEWAIT_CHECKED != 0).then_some(flags & FLAG_TIMEWAIT_FOUND != 0),
        comm,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    fn record(kind: u8, family: u16) -> Vec<u8> {
        let mut d = vec![0u8; RECORD_LEN];
        d[0..8].copy_from_slice(&123u64.to_ne_bytes());
        d[8..16].copy_from_slice(&0xffff_8880_1234_0000u64.to_ne_bytes());
        d[16..20].copy_from_slice(&4_026_531_840u32.to_ne_bytes());
        d[20..24].copy_from_slice(&4242u32.to_ne_bytes());
        d[24] = kind;
        d[25] = 4; // FIN_WAIT1
        d[26] = 5; // FIN_WAIT2
        d[27] = FLAG_FIN_RECEIVED;
        d[28..30].copy_from_slice(&family.to_ne_bytes());
        d[30..32].copy_from_slice(&8080u16.to_ne_bytes());
        d[32..34].copy_from_slice(&40000u16.to_ne_bytes());
        d[40..44].copy_from_slice(&[127, 0, 0, 1]);
        d[56..60].copy_from_slice(&[127, 0, 0, 2]);
        d[72..77].copy_from_slice(b"nginx");
        d
    }

    #[test]
    fn decodes_a_state_change_with_its_namespace() {
        let ev = decode(&record(0, Family::AF_INET)).unwrap();
        assert_eq!(ev.ts_ns, 123);
        assert_eq!(ev.netns, 4_026_531_840);
        assert_eq!(ev.pid, 4242);
        assert_eq!(
            ev.kind,
            KernelEventKind::SetState {
                old: TcpState::FinWait1,
                new: TcpState::FinWait2
            }
        );
        assert_eq!(ev.local, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(ev.remote, "127.0.0.2:40000".parse().unwrap());
        assert_eq!(ev.fin_received, Some(true));
        assert_eq!(&ev.comm[..6], b"nginx\0");
    }

    #[test]
    fn tells_whether_a_timewait_socket_took_over() {
        let mut d = record(0, Family::AF_INET);
        assert_eq!(decode(&d).unwrap().timewait, None, "not looked for");
        d[27] = FLAG_TIMEWAIT_CHECKED;
        assert_eq!(decode(&d).unwrap().timewait, Some(false));
        d[27] = FLAG_TIMEWAIT_CHECKED | FLAG_TIMEWAIT_FOUND;
        let ev = decode(&d).unwrap();
        assert_eq!(ev.timewait, Some(true));
        assert_eq!(ev.fin_received, Some(false));
    }

    #[test]
    fn decodes_ipv6_and_resets() {
        let mut d = record(2, Family::AF_INET6);
        d[40..56].copy_from_slice(&Ipv6Addr::LOCALHOST.octets());
        let ev = decode(&d).unwrap();
        assert_eq!(ev.kind, KernelEventKind::ReceiveReset);
        assert_eq!(ev.local, "[::1]:8080".parse().unwrap());
        assert_eq!(ev.fin_received, None);
    }

    #[test]
    fn refuses_short_or_unknown_records() {
        assert!(decode(&record(0, Family::AF_INET)[..RECORD_LEN - 1]).is_none());
        assert!(decode(&record(9, Family::AF_INET)).is_none());
        assert!(decode(&record(0, 1)).is_none());
        let mut bad_state = record(0, Family::AF_INET);
        bad_state[25] = 200;
        assert!(decode(&bad_state).is_none());
    }
}
