//! Graceful shutdown of another process's socket: `pidfd_open` + `pidfd_getfd` copy the
//! owner's fd into this process (ptrace permission over the owner), `shutdown()` on the copy
//! acts on the socket itself, for every fd that refers to it, then the copy is closed.
//!
//! Closing the copy does nothing to the socket while the owner still holds its fd. Should the
//! owner close its fd in the microseconds in between, the copy is the last reference and its
//! close is the socket's close: after a shutdown that is quiet, unless unread data is queued,
//! which makes the close send a RST (as any close with unread data does).

use crate::model::Owner;
use rustix::fs::FileType;
use rustix::io::Errno;
use rustix::process::{Pid, PidfdFlags, PidfdGetfdFlags};

/// Why a graceful shutdown failed, in words the user can act on.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ForeignShutdownError {
    #[error(
        "not permitted: taking another process's socket needs ptrace permission over the process: CAP_SYS_PTRACE, or the same uid with kernel.yama.ptrace_scope=0 — run as root"
    )]
    Permission,
    #[error("the process is gone")]
    ProcessGone,
    #[error("the process no longer has this fd (it closed the socket)")]
    FdGone,
    #[error(
        "the fd now refers to another file (the process closed the socket and reused the number): left alone"
    )]
    Changed,
    #[error("the socket is not connected (closed already)")]
    NotConnected,
    #[error("the kernel has no pidfd_getfd (Linux older than 5.6)")]
    Unsupported,
    #[error("{name}: {0}", name = super::errno::name(.0.raw_os_error()))]
    Other(Errno),
}

impl ForeignShutdownError {
    /// The errno behind it, by name (`EPERM`), for scenarios that expect one.
    pub fn errno_name(&self) -> String {
        match self {
            Self::Permission => "EPERM".into(),
            Self::ProcessGone => "ESRCH".into(),
            Self::FdGone => "EBADF".into(),
            Self::Changed => "ENOTSOCK".into(),
            Self::NotConnected => "ENOTCONN".into(),
            Self::Unsupported => "ENOSYS".into(),
            Self::Other(e) => super::errno::name(e.raw_os_error()),
        }
    }

    fn from_open(e: Errno) -> Self {
        match e {
            Errno::SRCH => Self::ProcessGone,
            Errno::NOSYS => Self::Unsupported,
            e => Self::Other(e),
        }
    }

    fn from_getfd(e: Errno) -> Self {
        match e {
            Errno::PERM | Errno::ACCESS => Self::Permission,
            Errno::SRCH => Self::ProcessGone,
            Errno::BADF => Self::FdGone,
            Errno::NOSYS => Self::Unsupported,
            e => Self::Other(e),
        }
    }
}

/// Shuts the socket with inode `inode` down through the first of `owners` whose fd still is
/// it: one owner may have closed its copy since it was seen, another (a forked worker) not.
/// The shutdown acts on the socket, whichever fd it goes through, so one is enough. Returns
/// the owner it went through, or why each failed.
pub fn shutdown_through_any(
    owners: &[Owner],
    inode: u64,
    how: std::net::Shutdown,
) -> Result<&Owner, Vec<(&Owner, ForeignShutdownError)>> {
    let mut errors = Vec::new();
    for owner in owners {
        match shutdown_foreign(owner.pid, owner.fd, inode, how) {
            Ok(()) => return Ok(owner),
            Err(e) => errors.push((owner, e)),
        }
    }
    Err(errors)
}

/// Shuts down the socket that process `pid` holds as `fd`, provided that fd still refers to
/// the socket with inode `expected_inode` (the number may have been reused since it was seen).
pub fn shutdown_foreign(
    pid: i32,
    fd: i32,
    expected_inode: u64,
    how: std::net::Shutdown,
) -> Result<(), ForeignShutdownError> {
    let pid = Pid::from_raw(pid).ok_or(ForeignShutdownError::ProcessGone)?;
    let pidfd = rustix::process::pidfd_open(pid, PidfdFlags::empty())
        .map_err(ForeignShutdownError::from_open)?;
    // The copy is close-on-exec (pidfd_getfd always sets it).
    let copy = rustix::process::pidfd_getfd(&pidfd, fd, PidfdGetfdFlags::empty())
        .map_err(ForeignShutdownError::from_getfd)?;
    let st = rustix::fs::fstat(&copy).map_err(ForeignShutdownError::Other)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::Socket || st.st_ino != expected_inode {
        return Err(ForeignShutdownError::Changed);
    }
    let how = match how {
        std::net::Shutdown::Read => rustix::net::Shutdown::Read,
        std::net::Shutdown::Write => rustix::net::Shutdown::Write,
        std::net::Shutdown::Both => rustix::net::Shutdown::Both,
    };
    rustix::net::shutdown(&copy, how).map_err(|e| match e {
        Errno::NOTCONN => ForeignShutdownError::NotConnected,
        e => ForeignShutdownError::Other(e),
    })
    // `copy` and `pidfd` are closed here.
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::io::Read;
    use std::net::{Shutdown, TcpListener, TcpStream};
    use std::os::fd::AsRawFd;

    fn me() -> i32 {
        rustix::process::getpid().as_raw_nonzero().get()
    }

    fn inode(fd: impl rustix::fd::AsFd) -> u64 {
        rustix::fs::fstat(fd).unwrap().st_ino
    }

    #[test]
    fn shuts_down_through_a_copy_and_leaves_the_fd_open() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (mut s, _) = l.accept().unwrap();
        shutdown_foreign(me(), c.as_raw_fd(), inode(&c), Shutdown::Both).unwrap();
        assert_eq!(
            s.read(&mut [0u8; 1]).unwrap(),
            0,
            "the peer reads end-of-file"
        );
        assert!(
            rustix::fs::fstat(&c).is_ok(),
            "the owner's fd is still open"
        );
    }

    #[test]
    fn refuses_an_fd_that_is_another_file_now() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let other = TcpListener::bind("127.0.0.1:0").unwrap();
        assert_eq!(
            shutdown_foreign(me(), l.as_raw_fd(), inode(&other), Shutdown::Both),
            Err(ForeignShutdownError::Changed)
        );
        let file = std::fs::File::open("/dev/null").unwrap();
        assert_eq!(
            shutdown_foreign(me(), file.as_raw_fd(), inode(&file), Shutdown::Both),
            Err(ForeignShutdownError::Changed),
            "a file with the right inode is still not a socket"
        );
        assert!(l.local_addr().is_ok());
    }

    #[test]
    fn names_a_closed_fd_an_unconnected_socket_and_a_gone_process() {
        let fd = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.as_raw_fd()
        };
        // The number may be reused by another test's file meanwhile: then it is Changed.
        assert!(matches!(
            shutdown_foreign(me(), fd, 1, Shutdown::Both),
            Err(ForeignShutdownError::FdGone | ForeignShutdownError::Changed)
        ));
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        assert_eq!(
            shutdown_foreign(me(), s.as_raw_fd(), inode(&s), Shutdown::Both),
            Err(ForeignShutdownError::NotConnected)
        );
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = i32::try_from(child.id()).unwrap();
        child.wait().unwrap();
        assert_eq!(
            shutdown_foreign(pid, 0, 1, Shutdown::Both),
            Err(ForeignShutdownError::ProcessGone)
        );
    }
}
