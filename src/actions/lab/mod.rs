//! Lab sockets: sockets tcpscope itself owns, made and driven by the user to see what TCP
//! does. Every system call is logged with its arguments and result, and on failure the errno
//! by name with what it means for that call. Options are set one setsockopt() call each.
//!
//! Sockets are non-blocking once made: accept() on an empty queue and recv() with nothing
//! received say EAGAIN. [`Lab::connect`] waits for the handshake at most [`CONNECT_TIMEOUT`]
//! (scenarios want it done); [`Lab::connect_in_background`], for the interactive view, never
//! waits (EINPROGRESS; the socket shows SYN_SENT until the handshake completes).

mod call;
pub mod spec;

pub use call::{CallRecord, Errno, Outcome};
pub use spec::{ConnectSpec, ListenSpec};

use crate::actions::errno::Call;
use socket2::{Domain, Protocol, Socket, Type};
use std::io::Read;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::Duration;

/// The longest a lab connect() waits for the handshake.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Call log lines kept.
const LOG_CAP: usize = 500;
/// The most a lab recv() reads at once.
const READ_MAX: usize = 65536;

pub type LabId = u32;

/// What a lab socket is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Listener,
    Client,
    /// Returned by accept() on this lab listener.
    Accepted(LabId),
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Listener => "listener",
            Role::Client => "client",
            Role::Accepted(_) => "accepted",
        }
    }
}

/// One lab socket, open or closed (closed ones stay listed, for rebinding their address).
#[derive(Debug)]
pub struct LabSocket {
    pub id: LabId,
    pub role: Role,
    /// The fd number in this process while open.
    pub fd: i32,
    /// The socket inode, to find it in snapshots.
    pub inode: u64,
    pub local: Option<SocketAddr>,
    pub peer: Option<SocketAddr>,
    pub reuseaddr: bool,
    pub reuseport: bool,
    /// shutdown() calls made: reading, writing.
    pub shut_read: bool,
    pub shut_write: bool,
    /// A call on it has reported a reset (ECONNRESET, ECONNABORTED): reads say 0 from then on.
    pub reset: bool,
    /// How it was closed, once it is.
    pub closed: Option<&'static str>,
    socket: Option<Socket>,
}

impl LabSocket {
    pub fn is_open(&self) -> bool {
        self.socket.is_some()
    }

    /// A line for lists: `#2 client 127.0.0.1:40312 > 127.0.0.1:8080 (fd 9)`.
    pub fn describe(&self) -> String {
        let local = self.local.map_or("unbound".to_string(), |a| a.to_string());
        let mut s = format!("#{} {} {local}", self.id, self.role.name());
        if let Some(peer) = self.peer {
            s.push_str(&format!(" > {peer}"));
        }
        match self.closed {
            Some(how) => s.push_str(&format!(" ({how})")),
            None => s.push_str(&format!(" (fd {})", self.fd)),
        }
        s
    }
}

/// Why a lab action did not happen, or failed.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum LabError {
    #[error("no lab socket #{0}")]
    NoSuch(LabId),
    #[error("lab socket #{0} is closed")]
    Closed(LabId),
    #[error("lab socket #{0} is not a listener")]
    NotListener(LabId),
    #[error("lab socket #{0} has no local address to rebind")]
    Unbound(LabId),
    #[error("{call} failed: {} ({})", .errno.name, .errno.meaning)]
    Failed { call: String, errno: Errno },
}

impl LabError {
    /// The errno name of a failed call (`EADDRINUSE`), if that is what happened.
    pub fn errno_name(&self) -> Option<&str> {
        match self {
            LabError::Failed { errno, .. } => Some(&errno.name),
            _ => None,
        }
    }
}

#[derive(Default)]
pub struct Lab {
    sockets: Vec<LabSocket>,
    log: Vec<CallRecord>,
    next_id: LabId,
}

impl Lab {
    pub fn new() -> Lab {
        Lab::default()
    }

    pub fn sockets(&self) -> &[LabSocket] {
        &self.sockets
    }

    pub fn socket(&self, id: LabId) -> Option<&LabSocket> {
        self.sockets.iter().find(|s| s.id == id)
    }

    /// The call log, oldest first.
    pub fn log(&self) -> &[CallRecord] {
        &self.log
    }

    /// The lab socket with this inode, if it is one of ours and open.
    pub fn by_inode(&self, inode: u64) -> Option<&LabSocket> {
        (inode != 0)
            .then(|| {
                self.sockets
                    .iter()
                    .find(|s| s.inode == inode && s.is_open())
            })
            .flatten()
    }

    /// socket(), the options, bind(), listen(backlog).
    pub fn listen(&mut self, spec: &ListenSpec) -> Result<LabId, LabError> {
        let id = self.new_id();
        let socket = self.open(id, spec.addr, spec.reuseaddr, spec.reuseport)?;
        let fd = socket.as_raw_fd();
        self.record(
            id,
            format!("bind({fd}, {})", spec.addr),
            Call::Bind,
            socket.bind(&spec.addr.into()).map(|()| "= 0".to_string()),
        )
        .inspect_err(|_| self.close_failed(id, socket.as_raw_fd()))?;
        self.record(
            id,
            format!("listen({fd}, {})", spec.backlog),
            Call::Listen,
            socket.listen(spec.backlog).map(|()| "= 0".to_string()),
        )
        .inspect_err(|_| self.close_failed(id, socket.as_raw_fd()))?;
        self.nonblocking(id, &socket)?;
        let local = socket.local_addr().ok().and_then(|a| a.as_socket());
        self.push(id, Role::Listener, socket, local, None, spec);
        Ok(id)
    }

    /// socket(), the options, bind() if asked, connect().
    pub fn connect(&mut self, spec: &ConnectSpec) -> Result<LabId, LabError> {
        self.connect_as(spec, true)
    }

    /// socket(), the options, bind() if asked, O_NONBLOCK, connect(): returns at once with
    /// EINPROGRESS while the handshake goes on, so that an interface never waits for it
    /// (the socket shows SYN_SENT until it completes; a refusal shows on the next call).
    pub fn connect_in_background(&mut self, spec: &ConnectSpec) -> Result<LabId, LabError> {
        self.connect_as(spec, false)
    }

    fn connect_as(&mut self, spec: &ConnectSpec, wait: bool) -> Result<LabId, LabError> {
        let id = self.new_id();
        let socket = self.open(id, spec.to, spec.reuseaddr, spec.reuseport)?;
        let fd = socket.as_raw_fd();
        if let Some(from) = spec.from {
            self.record(
                id,
                format!("bind({fd}, {from})"),
                Call::Bind,
                socket.bind(&from.into()).map(|()| "= 0".to_string()),
            )
            .inspect_err(|_| self.close_failed(id, socket.as_raw_fd()))?;
        }
        let call = format!("connect({fd}, {})", spec.to);
        if wait {
            self.record(
                id,
                call,
                Call::Connect,
                socket
                    .connect_timeout(&spec.to.into(), CONNECT_TIMEOUT)
                    .map(|()| "= 0".to_string()),
            )
            .inspect_err(|_| self.close_failed(id, socket.as_raw_fd()))?;
            self.nonblocking(id, &socket)?;
        } else {
            self.nonblocking(id, &socket)?;
            let result = match socket.connect(&spec.to.into()) {
                Ok(()) => Ok("= 0".to_string()),
                Err(e) if e.raw_os_error() == Some(115) => Ok(
                    "= -1 EINPROGRESS (the handshake goes on in the kernel: SYN_SENT until it completes)"
                        .to_string(),
                ),
                Err(e) => Err(e),
            };
            self.record(id, call, Call::Connect, result)
                .inspect_err(|_| self.close_failed(id, socket.as_raw_fd()))?;
        }
        let local = socket.local_addr().ok().and_then(|a| a.as_socket());
        let opts = ListenSpec {
            addr: spec.to,
            backlog: 0,
            reuseaddr: spec.reuseaddr,
            reuseport: spec.reuseport,
        };
        self.push(id, Role::Client, socket, local, Some(spec.to), &opts);
        Ok(id)
    }

    /// accept() one connection from a lab listener's queue.
    pub fn accept(&mut self, listener: LabId) -> Result<LabId, LabError> {
        let ls = self.open_socket(listener)?;
        let entry = self.socket(listener).ok_or(LabError::NoSuch(listener))?;
        if entry.role != Role::Listener {
            return Err(LabError::NotListener(listener));
        }
        let (reuseaddr, reuseport) = (entry.reuseaddr, entry.reuseport);
        let fd = ls.as_raw_fd();
        let accepted = ls.accept();
        let (socket, peer) = match accepted {
            Ok((s, peer)) => (s, peer.as_socket()),
            Err(e) => {
                return Err(self.fail(listener, format!("accept({fd})"), Call::Accept, &e));
            }
        };
        let id = self.new_id();
        let peer_text = peer.map_or_else(String::new, |p| format!(" (from {p})"));
        self.log_ok(
            listener,
            format!("accept({fd})"),
            format!("= {} → #{id}{peer_text}", socket.as_raw_fd()),
        );
        self.nonblocking(id, &socket)?;
        let local = socket.local_addr().ok().and_then(|a| a.as_socket());
        let opts = ListenSpec {
            addr: local.unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0))),
            backlog: 0,
            reuseaddr,
            reuseport,
        };
        self.push(id, Role::Accepted(listener), socket, local, peer, &opts);
        Ok(id)
    }

    /// send() these bytes; returns how many the kernel took.
    pub fn send(&mut self, id: LabId, data: &[u8]) -> Result<usize, LabError> {
        let s = self.open_socket(id)?;
        let call = format!("send({}, {}, {})", s.as_raw_fd(), preview(data), data.len());
        // MSG_NOSIGNAL: a send to a reset peer fails with EPIPE instead of raising SIGPIPE.
        let result = rustix::net::send(s, data, rustix::net::SendFlags::NOSIGNAL)
            .map_err(std::io::Error::from);
        match result {
            Ok(n) => {
                self.log_ok(id, call, format!("= {n}"));
                Ok(n)
            }
            Err(e) => Err(self.fail(id, call, Call::Send, &e)),
        }
    }

    /// recv() what has arrived (up to 64 KiB); `Ok(empty)` is end of stream (the peer's FIN).
    pub fn read(&mut self, id: LabId) -> Result<Vec<u8>, LabError> {
        let s = self.open_socket(id)?;
        let call = format!("recv({}, {READ_MAX})", s.as_raw_fd());
        let mut buf = vec![0u8; READ_MAX];
        let result = (&*s).read(&mut buf);
        match result {
            Ok(0) => {
                // 0 is also what a reset socket and one shut down for reading return.
                let why = match self.socket(id) {
                    Some(e) if e.reset => "the connection was reset, as reported before",
                    Some(e) if e.shut_read => "this end shut down reading",
                    _ => "the peer sent FIN",
                };
                self.log_ok(id, call, format!("= 0 (end of stream: {why})"));
                Ok(Vec::new())
            }
            Ok(n) => {
                buf.truncate(n);
                self.log_ok(id, call, format!("= {n} {}", preview(&buf)));
                Ok(buf)
            }
            Err(e) => Err(self.fail(id, call, Call::Recv, &e)),
        }
    }

    pub fn shutdown(&mut self, id: LabId, how: Shutdown) -> Result<(), LabError> {
        let s = self.open_socket(id)?;
        let name = match how {
            Shutdown::Read => "SHUT_RD",
            Shutdown::Write => "SHUT_WR",
            Shutdown::Both => "SHUT_RDWR",
        };
        let call = format!("shutdown({}, {name})", s.as_raw_fd());
        let result = s.shutdown(how);
        match result {
            Ok(()) => {
                self.log_ok(id, call, "= 0".into());
                if let Some(e) = self.entry_mut(id) {
                    e.shut_read |= matches!(how, Shutdown::Read | Shutdown::Both);
                    e.shut_write |= matches!(how, Shutdown::Write | Shutdown::Both);
                }
                Ok(())
            }
            Err(e) => Err(self.fail(id, call, Call::Shutdown, &e)),
        }
    }

    /// close(): the fd goes; what TCP does depends on the state (FIN, or RST with unread data).
    pub fn close(&mut self, id: LabId) -> Result<(), LabError> {
        self.open_socket(id)?;
        self.close_as(id, "closed");
        Ok(())
    }

    /// SO_LINGER {1, 0}, then close(): a RST instead of a FIN, and no TIME_WAIT.
    pub fn close_linger0(&mut self, id: LabId) -> Result<(), LabError> {
        let s = self.open_socket(id)?;
        let call = format!(
            "setsockopt({}, SOL_SOCKET, SO_LINGER, {{l_onoff=1, l_linger=0}})",
            s.as_raw_fd()
        );
        let result = s.set_linger(Some(Duration::ZERO));
        self.record(id, call, Call::Setsockopt, result.map(|()| "= 0".into()))?;
        self.close_as(id, "closed with linger 0");
        Ok(())
    }

    /// A new listener on a lab socket's address (typically a closed one's), with these
    /// options: the way a server restarts.
    pub fn rebind(
        &mut self,
        id: LabId,
        reuseaddr: bool,
        reuseport: bool,
    ) -> Result<LabId, LabError> {
        let entry = self.socket(id).ok_or(LabError::NoSuch(id))?;
        let addr = entry.local.ok_or(LabError::Unbound(id))?;
        self.listen(&ListenSpec {
            addr,
            backlog: spec::DEFAULT_BACKLOG,
            reuseaddr,
            reuseport,
        })
    }

    /// Closes every open lab socket (on quit).
    pub fn close_all(&mut self) {
        let open: Vec<LabId> = self
            .sockets
            .iter()
            .filter(|s| s.is_open())
            .map(|s| s.id)
            .collect();
        for id in open {
            self.close_as(id, "closed");
        }
    }

    fn new_id(&mut self) -> LabId {
        self.next_id += 1;
        self.next_id
    }

    /// socket() and the options, each logged.
    fn open(
        &mut self,
        id: LabId,
        addr: SocketAddr,
        reuseaddr: bool,
        reuseport: bool,
    ) -> Result<Socket, LabError> {
        let (domain, family) = match addr {
            SocketAddr::V4(_) => (Domain::IPV4, "AF_INET"),
            SocketAddr::V6(_) => (Domain::IPV6, "AF_INET6"),
        };
        let call = format!("socket({family}, SOCK_STREAM, IPPROTO_TCP)");
        let socket = match Socket::new(domain, Type::STREAM, Some(Protocol::TCP)) {
            Ok(s) => s,
            Err(e) => return Err(self.fail(id, call, Call::Socket, &e)),
        };
        self.log_ok(id, call, format!("= {}", socket.as_raw_fd()));
        let fd = socket.as_raw_fd();
        // One setsockopt() call per option: the names are numbers, never OR them.
        if reuseaddr {
            let r = socket.set_reuse_address(true).map(|()| "= 0".to_string());
            self.record(
                id,
                format!("setsockopt({fd}, SOL_SOCKET, SO_REUSEADDR, 1)"),
                Call::Setsockopt,
                r,
            )?;
        }
        if reuseport {
            let r = socket.set_reuse_port(true).map(|()| "= 0".to_string());
            self.record(
                id,
                format!("setsockopt({fd}, SOL_SOCKET, SO_REUSEPORT, 1)"),
                Call::Setsockopt,
                r,
            )?;
        }
        Ok(socket)
    }

    fn nonblocking(&mut self, id: LabId, socket: &Socket) -> Result<(), LabError> {
        let r = socket.set_nonblocking(true).map(|()| "= 0".to_string());
        self.record(
            id,
            format!("fcntl({}, F_SETFL, O_NONBLOCK)", socket.as_raw_fd()),
            Call::Setsockopt,
            r,
        )
    }

    fn push(
        &mut self,
        id: LabId,
        role: Role,
        socket: Socket,
        local: Option<SocketAddr>,
        peer: Option<SocketAddr>,
        opts: &ListenSpec,
    ) {
        let inode = rustix::fs::fstat(&socket).map_or(0, |st| st.st_ino);
        self.sockets.push(LabSocket {
            id,
            role,
            fd: socket.as_raw_fd(),
            inode,
            local,
            peer,
            reuseaddr: opts.reuseaddr,
            reuseport: opts.reuseport,
            shut_read: false,
            shut_write: false,
            reset: false,
            closed: None,
            socket: Some(socket),
        });
    }

    fn open_socket(&self, id: LabId) -> Result<&Socket, LabError> {
        let entry = self.socket(id).ok_or(LabError::NoSuch(id))?;
        entry.socket.as_ref().ok_or(LabError::Closed(id))
    }

    fn entry_mut(&mut self, id: LabId) -> Option<&mut LabSocket> {
        self.sockets.iter_mut().find(|s| s.id == id)
    }

    fn close_as(&mut self, id: LabId, how: &'static str) {
        let Some(entry) = self.entry_mut(id) else {
            return;
        };
        let Some(socket) = entry.socket.take() else {
            return;
        };
        entry.closed = Some(how);
        let fd = socket.as_raw_fd();
        // close() returns at once whatever the options; what goes on the wire follows.
        drop(socket);
        self.log_ok(id, format!("close({fd})"), "= 0".into());
    }

    /// A socket whose setup failed is closed; say so in the log.
    fn close_failed(&mut self, id: LabId, fd: i32) {
        self.log_ok(id, format!("close({fd})"), "= 0".into());
    }

    fn record(
        &mut self,
        id: LabId,
        call: String,
        kind: Call,
        result: std::io::Result<String>,
    ) -> Result<(), LabError> {
        match result {
            Ok(what) => {
                self.log_ok(id, call, what);
                Ok(())
            }
            Err(e) => Err(self.fail(id, call, kind, &e)),
        }
    }

    fn log_ok(&mut self, id: LabId, call: String, what: String) {
        self.append(CallRecord {
            ts_ns: crate::sources::monotonic_ns(),
            socket: id,
            call,
            outcome: Outcome::Ok(what),
        });
    }

    fn fail(&mut self, id: LabId, call: String, kind: Call, e: &std::io::Error) -> LabError {
        let errno = Errno::of(kind, e);
        if matches!(errno.code, 103 | 104)
            && let Some(entry) = self.entry_mut(id)
        {
            entry.reset = true;
        }
        self.append(CallRecord {
            ts_ns: crate::sources::monotonic_ns(),
            socket: id,
            call: call.clone(),
            outcome: Outcome::Err(errno.clone()),
        });
        LabError::Failed { call, errno }
    }

    fn append(&mut self, record: CallRecord) {
        if self.log.len() >= LOG_CAP {
            self.log.remove(0);
        }
        self.log.push(record);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.close_all();
    }
}

/// Data as a short quoted string for the log.
fn preview(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(&data[..data.len().min(24)]);
    let more = if data.len() > 24 { "…" } else { "" };
    format!("{text:?}{more}")
}
