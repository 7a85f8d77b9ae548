//! What the kernel's tracepoints report, decoded: the tracker's input besides snapshots.

use super::{Family, TcpState};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelEventKind {
    /// `sock:inet_sock_set_state` (TCP only).
    SetState { old: TcpState, new: TcpState },
    /// `tcp:tcp_send_reset`.
    SendReset,
    /// `tcp:tcp_receive_reset`.
    ReceiveReset,
    /// `tcp:tcp_destroy_sock`: the full socket is freed (a timewait socket may live on).
    Destroy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelEvent {
    /// CLOCK_MONOTONIC nanoseconds (the tracefs instance runs on the `mono` clock; eBPF's
    /// `bpf_ktime_get_ns` is the same clock).
    pub ts_ns: u64,
    /// The kernel address of the socket: the identity of a full socket while it lives. 0 when
    /// the event has no socket (a reset sent for a packet that matched none).
    pub skaddr: u64,
    pub family: Family,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// The thread that was running: the socket's process for system calls, often the sender
    /// for loopback softirq work, sometimes unrelated (0: idle).
    pub pid: i32,
    pub kind: KernelEventKind,
    /// The inode of the socket's network namespace, read from the socket by the eBPF source;
    /// 0 when the source cannot tell (tracefs) or the event has no socket.
    pub netns: u32,
    /// For a state change: whether the peer's FIN had arrived (the socket's SOCK_DONE flag),
    /// which tells a timewait socket in TIME_WAIT from one in FIN_WAIT2. `None`: not known
    /// (tracefs).
    pub fin_received: Option<bool>,
    /// At FIN_WAIT2 or CLOSING → CLOSE: whether a timewait socket took the socket's place in
    /// the kernel's table (the eBPF source looks), or none did — the kernel had no room for
    /// one (TcpExtTCPTimeWaitOverflow) or closed for good. `None`: not known.
    pub timewait: Option<bool>,
    /// The running thread's command name (eBPF source; empty when unknown). It names the
    /// socket's owner only for the transitions a system call makes (see `Tracker`).
    pub comm: [u8; 16],
}

impl Default for KernelEvent {
    fn default() -> Self {
        let any = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
        KernelEvent {
            ts_ns: 0,
            skaddr: 0,
            family: Family::Inet,
            local: any,
            remote: any,
            pid: 0,
            kind: KernelEventKind::Destroy,
            netns: 0,
            fin_received: None,
            timewait: None,
            comm: [0; 16],
        }
    }
}
