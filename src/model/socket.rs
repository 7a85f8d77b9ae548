//! One TCP socket as a snapshot source reports it.

use super::state::TcpState;
use serde::Serialize;
use std::net::{IpAddr, SocketAddr};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Inet,
    Inet6,
}

impl Family {
    /// The kernel's numbers for the two families (linux/socket.h), for the decoders of its
    /// records (sock_diag, tracefs, eBPF).
    pub const AF_INET: u16 = 2;
    pub const AF_INET6: u16 = 10;

    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Inet,
            IpAddr::V6(_) => Family::Inet6,
        }
    }
}

/// Which kernel timer is pending on the socket (`idiag_timer`, the `tr` column of /proc/net/tcp).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimerKind {
    /// Retransmission, RTO, loss probe or reordering timer (`ss`: `on`).
    Retransmit,
    /// Keepalive, or the SYN-ACK / FIN_WAIT2 timer that shares `sk_timer`.
    Keepalive,
    /// The timer of a timewait socket (TIME_WAIT, or FIN_WAIT2 after close()).
    Timewait,
    /// Zero window probe (`ss`: `persist`).
    ZeroWindowProbe,
}

impl TimerKind {
    /// The kernel's code for the timer kind: 1, 2, 3, 4 (0 is "no timer").
    pub fn from_kernel(code: u8) -> Option<TimerKind> {
        match code {
            1 => Some(TimerKind::Retransmit),
            2 => Some(TimerKind::Keepalive),
            3 => Some(TimerKind::Timewait),
            4 => Some(TimerKind::ZeroWindowProbe),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TimerKind::Retransmit => "retransmit",
            TimerKind::Keepalive => "keepalive",
            TimerKind::Timewait => "timewait",
            TimerKind::ZeroWindowProbe => "zero_window_probe",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Timer {
    pub kind: TimerKind,
    pub remaining_ms: u64,
    /// Retransmissions (or keepalive probes) so far.
    pub retransmits: u8,
}

/// The `tcp_info` figures tcpscope shows; the kernel gives them for full sockets only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TcpInfo {
    pub rtt_us: u32,
    pub rttvar_us: u32,
    pub cwnd: u32,
    pub total_retrans: u32,
}

/// One socket of a snapshot. Owners are joined separately (see `sources::owners`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketRecord {
    pub family: Family,
    pub state: TcpState,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// For LISTEN: the accept queue's current length. Otherwise: bytes not yet read.
    pub recv_q: u32,
    /// For LISTEN: the backlog. Otherwise: bytes not yet acknowledged.
    pub send_q: u32,
    pub timer: Option<Timer>,
    pub uid: u32,
    /// 0 for sockets no file refers to any more (timewait sockets, orphans).
    pub inode: u64,
    /// The kernel's socket cookie; 0 where the source cannot give it (/proc/net/tcp).
    pub cookie: u64,
    pub tcp_info: Option<TcpInfo>,
    /// The inode of the network namespace it lives in (`model::netns`); 0 where unknown.
    pub netns: u32,
}

impl SocketRecord {
    /// A socket with these ends and inode, and nothing else known: empty queues, no timer,
    /// uid 0, its inode as cookie, no tcp_info, namespace unknown. What a test or a bench starts from, changing
    /// what it needs (`SocketRecord { send_q: 128, ..SocketRecord::new(…) }`).
    pub fn new(state: TcpState, local: SocketAddr, remote: SocketAddr, inode: u64) -> Self {
        SocketRecord {
            family: Family::of(&local.ip()),
            state,
            local,
            remote,
            recv_q: 0,
            send_q: 0,
            timer: None,
            uid: 0,
            inode,
            cookie: inode,
            tcp_info: None,
            netns: 0,
        }
    }
}
