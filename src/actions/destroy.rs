//! Aborting another process's socket the way `ss -K` does: netlink SOCK_DESTROY, which needs
//! CAP_NET_ADMIN. The peer gets a RST, the owner ECONNABORTED on its next call; a LISTEN
//! socket stops accepting but its port stays bound until the owner closes its fd; a TIME_WAIT
//! entry is removed and the port is free.

use crate::model::SocketRecord;
use crate::sources::sock_diag::wire;
use rustix::net::{
    AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType,
    netlink::{self, SocketAddrNetlink},
};

/// Why an abort failed, in words the user can act on.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DestroyError {
    #[error("not permitted: aborting sockets needs CAP_NET_ADMIN (run as root)")]
    Permission,
    #[error("the socket is gone already")]
    Gone,
    #[error("the kernel cannot destroy sockets (CONFIG_INET_DIAG_DESTROY is off)")]
    Unsupported,
    #[error("{}", super::errno::name(*.0))]
    Other(i32),
    #[error("netlink: {0}")]
    Io(String),
}

impl DestroyError {
    /// The errno behind it, by name (`EPERM`), for scenarios that expect one.
    pub fn errno_name(&self) -> String {
        match self {
            DestroyError::Permission => "EPERM".into(),
            DestroyError::Gone => "ENOENT".into(),
            DestroyError::Unsupported => "EOPNOTSUPP".into(),
            DestroyError::Other(e) => super::errno::name(*e),
            DestroyError::Io(text) => text.clone(),
        }
    }
}

/// Aborts a socket of this thread's namespace.
pub fn destroy(rec: &SocketRecord, seq: u32) -> Result<(), DestroyError> {
    let io = |e: rustix::io::Errno| DestroyError::Io(e.to_string());
    let fd = rustix::net::socket_with(
        AddressFamily::NETLINK,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC,
        Some(netlink::SOCK_DIAG),
    )
    .map_err(io)?;
    destroy_through(rustix::fd::AsFd::as_fd(&fd), rec, seq)
}

/// Aborts a socket of the namespace `fd`, a netlink sock_diag socket, was made in.
pub fn destroy_through(
    fd: rustix::fd::BorrowedFd<'_>,
    rec: &SocketRecord,
    seq: u32,
) -> Result<(), DestroyError> {
    let io = |e: rustix::io::Errno| DestroyError::Io(e.to_string());
    let req = wire::destroy_request(rec, seq);
    rustix::net::sendto(fd, &req, SendFlags::empty(), &SocketAddrNetlink::new(0, 0)).map_err(io)?;
    let mut buf = vec![0u8; 8192];
    loop {
        let (len, _) = rustix::net::recv(fd, &mut buf[..], RecvFlags::empty()).map_err(io)?;
        if len == 0 {
            return Err(DestroyError::Io("no answer".into()));
        }
        match wire::parse_ack(&buf[..len], seq) {
            None => continue,
            Some(Ok(())) => return Ok(()),
            Some(Err(1 | 13)) => return Err(DestroyError::Permission),
            Some(Err(2)) => return Err(DestroyError::Gone),
            Some(Err(95)) => return Err(DestroyError::Unsupported),
            Some(Err(e)) => return Err(DestroyError::Other(e)),
        }
    }
}
