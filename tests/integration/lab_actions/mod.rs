//! Every lab action on loopback, checked against what the kernel reports of BOTH ends of the
//! connection (the crate's own sock_diag source, and in one test the real binary): states,
//! timers, queues and inodes, and every failed call by its errno name, in the error and in the
//! call log.
//!
//! As root each test runs in a network namespace of its own, on fixed ports, so no TIME_WAIT
//! of another test (or of an earlier run) is ever in the way; otherwise on the loopback of this
//! namespace with port 0 (sockets are then found by their exact 4-tuple, which is unique).
//! TIME_WAIT lasts 60 s: no test waits for it to end.

mod accept_queue;
mod call_log;
mod calls;
mod ipv6;
mod rebind;

use crate::common;

use common::{Place, wait_until};
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;
use tcpscope::actions::lab::{
    CallRecord, ConnectSpec, Lab, LabError, LabId, ListenSpec, Outcome, Role,
};
use tcpscope::model::{SocketRecord, TcpState, TimerKind};

/// The listener's port inside a test's own namespace.
const PORT: u16 = 8080;
/// How long any change the kernel makes on loopback may take to show.
const DEADLINE: Duration = Duration::from_secs(5);
/// TIME_WAIT (TCP_TIMEWAIT_LEN) and the orphaned FIN_WAIT2 (tcp_fin_timeout, 60 by default).
const SIXTY_S_MS: u64 = 60_000;

// ---------------------------------------------------------------------------------------------
// Where a test runs.

/// 127.0.0.1:`port` in a namespace of the test's own; 127.0.0.1:0 otherwise.
fn v4(place: &Place, port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], place.port(port)))
}

fn v6(place: &Place, port: u16) -> SocketAddr {
    SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, place.port(port)))
}

/// Runs `f` where the scenario's sockets live (see `Place`).
fn scenario(tag: &str, f: impl FnOnce(&Place) + Send) {
    let place = Place::new(&format!("lab-{tag}"));
    place.run(|| f(&place));
}

// ---------------------------------------------------------------------------------------------
// What the kernel says.

/// Every TCP socket of the namespace, from the crate's sock_diag source.
fn dump() -> Vec<SocketRecord> {
    tcpscope::sources::dump_all().expect("sock_diag dump")
}

/// The socket with exactly this 4-tuple, if the kernel lists one (never more than one).
fn find(d: &[SocketRecord], local: SocketAddr, remote: SocketAddr) -> Option<SocketRecord> {
    let found: Vec<&SocketRecord> = d
        .iter()
        .filter(|r| r.local == local && r.remote == remote)
        .collect();
    assert!(
        found.len() <= 1,
        "{local} > {remote} listed twice: {found:#?}"
    );
    found.first().map(|r| (*r).clone())
}

fn by_inode(d: &[SocketRecord], inode: u64) -> Option<SocketRecord> {
    assert_ne!(inode, 0, "lab sockets have an inode while open");
    d.iter().find(|r| r.inode == inode).cloned()
}

fn state(r: Option<&SocketRecord>) -> Option<TcpState> {
    r.map(|r| r.state)
}

/// One connection made by the lab: the client and the accepted socket, with their addresses as
/// the lab recorded them.
#[derive(Debug, Clone, Copy)]
struct Conn {
    listener: LabId,
    client: LabId,
    server: LabId,
    /// The client's local address (the server's peer).
    caddr: SocketAddr,
    /// The accepted socket's local address (the client's peer, the listener's).
    saddr: SocketAddr,
}

impl Conn {
    /// Both ends as the kernel lists them now: (client, server); `None` is gone.
    fn ends(&self) -> (Option<SocketRecord>, Option<SocketRecord>) {
        let d = dump();
        (
            find(&d, self.caddr, self.saddr),
            find(&d, self.saddr, self.caddr),
        )
    }

    /// Waits until the client end is in `client` and the server end in `server` (`None`:
    /// gone from the table); returns both records then. Fails with what was seen last.
    #[track_caller]
    fn wait(
        &self,
        client: Option<TcpState>,
        server: Option<TcpState>,
    ) -> (Option<SocketRecord>, Option<SocketRecord>) {
        let mut last = (None, None);
        let held = wait_until(DEADLINE, || {
            last = self.ends();
            state(last.0.as_ref()) == client && state(last.1.as_ref()) == server
        });
        assert!(
            held,
            "expected client {client:?}, server {server:?}; the kernel lists\n client: {:?}\n server: {:?}",
            last.0, last.1
        );
        last
    }
}

/// A timer of this kind with 50 to 60 s left.
#[track_caller]
fn assert_sixty_s_timer(r: &SocketRecord, kind: TimerKind) {
    let t = r
        .timer
        .unwrap_or_else(|| panic!("no timer on {r:?}, expected {kind:?}"));
    assert_eq!(t.kind, kind, "{r:?}");
    assert!(
        t.remaining_ms <= SIXTY_S_MS && t.remaining_ms > SIXTY_S_MS - 10_000,
        "{kind:?} timer should have about 60 s left: {r:?}"
    );
}

/// A socket no file refers to any more: a timewait socket, or an orphan.
#[track_caller]
fn assert_orphan(r: &SocketRecord) {
    assert_eq!(r.inode, 0, "no fd refers to it any more: {r:?}");
}

// ---------------------------------------------------------------------------------------------
// Lab helpers.

fn listen(lab: &mut Lab, addr: SocketAddr, reuseaddr: bool, reuseport: bool) -> LabId {
    lab.listen(&ListenSpec {
        reuseaddr,
        reuseport,
        ..ListenSpec::on(addr)
    })
    .unwrap()
}

fn local(lab: &Lab, id: LabId) -> SocketAddr {
    lab.socket(id).unwrap().local.unwrap()
}

fn inode(lab: &Lab, id: LabId) -> u64 {
    lab.socket(id).unwrap().inode
}

/// connect() to the listener, then accept(); checks what the lab recorded of both ends.
fn connect_accept(lab: &mut Lab, listener: LabId) -> Conn {
    let to = local(lab, listener);
    let client = lab.connect(&ConnectSpec::to(to)).unwrap();
    // The client is ESTABLISHED when connect() returns; the server's child joins the accept
    // queue when the client's ACK is processed, usually before, but not always.
    let mut server = None;
    assert!(
        wait_until(DEADLINE, || {
            server = lab.accept(listener).ok();
            server.is_some()
        }),
        "accept() never found the connection: {:#?}",
        lab.log()
    );
    let server = server.unwrap();
    let (c, s) = (lab.socket(client).unwrap(), lab.socket(server).unwrap());
    assert_eq!(c.role, Role::Client);
    assert_eq!(s.role, Role::Accepted(listener));
    assert_eq!(c.peer, Some(to));
    assert_eq!(
        s.peer, c.local,
        "each end's peer is the other's local address"
    );
    assert_eq!(s.local, Some(to));
    Conn {
        listener,
        client,
        server,
        caddr: c.local.unwrap(),
        saddr: to,
    }
}

/// A listener on `addr` and one accepted connection, both ends ESTABLISHED.
fn established(lab: &mut Lab, addr: SocketAddr) -> Conn {
    let l = listen(lab, addr, false, false);
    let conn = connect_accept(lab, l);
    conn.wait(Some(TcpState::Established), Some(TcpState::Established));
    conn
}

/// The log lines of one lab socket, as the interface shows them.
fn lines(lab: &Lab, id: LabId) -> Vec<String> {
    lab.log()
        .iter()
        .filter(|r| r.socket == id)
        .map(CallRecord::line)
        .collect()
}

/// The last failed call of the log.
fn last_failure(lab: &Lab) -> &CallRecord {
    lab.log()
        .iter()
        .rev()
        .find(|r| matches!(r.outcome, Outcome::Err(_)))
        .expect("a failed call in the log")
}

/// `result` failed in a call starting with `call` (`bind(`) with errno `name`, and the log's
/// last failure says the same, with a meaning.
#[track_caller]
fn assert_failed<T: std::fmt::Debug>(
    lab: &Lab,
    result: Result<T, LabError>,
    call: &str,
    name: &str,
) {
    let err = result.expect_err(&format!("{call} should fail with {name}"));
    assert_eq!(err.errno_name(), Some(name), "{err}");
    let LabError::Failed { call: made, errno } = &err else {
        panic!("not a failed call: {err:?}")
    };
    assert!(made.starts_with(call), "{made}");
    assert_eq!(errno.code, errno_code(name), "{err}");
    let logged = last_failure(lab);
    assert_eq!(&logged.call, made);
    assert_eq!(logged.outcome, Outcome::Err(errno.clone()));
    assert!(
        logged.line().contains(&format!("= -1 {name}: ")),
        "{}",
        logged.line()
    );
    assert!(
        !errno.meaning.is_empty() && errno.meaning != "see errno(3)",
        "{call} {name} should say what it means: {err}"
    );
}

fn errno_code(name: &str) -> i32 {
    match name {
        "EAGAIN" => 11,
        "EINVAL" => 22,
        "EPIPE" => 32,
        "EADDRINUSE" => 98,
        "ECONNRESET" => 104,
        "ENOTCONN" => 107,
        "ETIMEDOUT" => 110,
        "ECONNREFUSED" => 111,
        other => panic!("add {other} to errno_code"),
    }
}

/// Waits until the kernel has queued `n` unread bytes on this socket, then reads them.
fn read_n(lab: &mut Lab, id: LabId, n: usize) -> Vec<u8> {
    let ino = inode(lab, id);
    assert!(
        wait_until(DEADLINE, || {
            by_inode(&dump(), ino).is_some_and(|r| r.recv_q as usize == n)
        }),
        "{n} bytes never arrived: {:?}",
        by_inode(&dump(), ino)
    );
    let data = lab.read(id).unwrap();
    assert_eq!(data.len(), n);
    data
}
