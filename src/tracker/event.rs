//! What the kernel's tracepoints report, decoded: the tracker's input besides snapshots.

use crate::model::{Family, TcpState};
use std::net::SocketAddr;

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
    /// CLOCK_MONOTONIC nanoseconds (the tracefs instance runs on the `mono` clock).
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
}
