//! Every lab action on loopback, checked against what the kernel reports of BOTH ends of the
//! connection (the crate's own sock_diag source, and in one test the real binary): states,
//! timers, queues and inodes, and every failed call by its errno name, in the error and in the
//! call log.
//!
//! As root each test runs in a network namespace of its own, on fixed ports, so no TIME_WAIT
//! of another test (or of an earlier run) is ever in the way; otherwise on the loopback of this
//! namespace with port 0 (sockets are then found by their exact 4-tuple, which is unique).
//! TIME_WAIT lasts 60 s: no test waits for it to end.

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

// ---------------------------------------------------------------------------------------------
// listen, connect, accept.

#[test]
fn listen_connect_accept_give_listen_and_established_on_both_ends() {
    scenario("accept", |env| {
        let mut lab = Lab::new();
        let l = lab.listen(&ListenSpec::on(v4(env, PORT))).unwrap();
        let laddr = local(&lab, l);
        if env.own_namespace() {
            assert_eq!(laddr.port(), PORT);
        }
        let listener = by_inode(&dump(), inode(&lab, l)).expect("the listener is listed");
        assert_eq!(listener.state, TcpState::Listen);
        assert_eq!(listener.local, laddr);
        assert_eq!(listener.timer, None);
        assert_eq!(
            (listener.recv_q, listener.send_q),
            (0, 128),
            "Recv-Q: the accept queue, empty; Send-Q: the backlog (128, under somaxconn)"
        );

        // Nothing has connected: accept() on the empty queue says EAGAIN.
        let r = lab.accept(l);
        assert_failed(&lab, r, "accept(", "EAGAIN");

        let c = lab.connect(&ConnectSpec::to(laddr)).unwrap();
        let caddr = local(&lab, c);
        // Before accept(): the handshake is done, the child sits in the accept queue,
        // ESTABLISHED with no file yet (once the client's ACK is processed).
        let mut d = Vec::new();
        assert!(
            wait_until(DEADLINE, || {
                d = dump();
                by_inode(&d, inode(&lab, l)).is_some_and(|r| r.recv_q == 1)
            }),
            "the connection never reached the accept queue"
        );
        let client = find(&d, caddr, laddr).expect("client listed");
        assert_eq!(client.state, TcpState::Established);
        assert_eq!(client.inode, inode(&lab, c));
        let child = find(&d, laddr, caddr).expect("the queued child is listed");
        assert_eq!(child.state, TcpState::Established);
        assert_eq!(child.inode, 0, "not accepted yet: no file");
        assert_eq!(
            by_inode(&d, inode(&lab, l)).unwrap().recv_q,
            1,
            "one queued"
        );

        let s = lab.accept(l).unwrap();
        assert_eq!(lab.socket(s).unwrap().role, Role::Accepted(l));
        assert_eq!(lab.socket(s).unwrap().peer, Some(caddr));
        let d = dump();
        let server = find(&d, laddr, caddr).expect("accepted end listed");
        assert_eq!(server.state, TcpState::Established);
        assert_eq!(server.inode, inode(&lab, s), "now it has our fd");
        assert_eq!(find(&d, caddr, laddr).unwrap().state, TcpState::Established);
        assert_eq!(by_inode(&d, inode(&lab, l)).unwrap().recv_q, 0, "dequeued");
        for r in [&server, &find(&d, caddr, laddr).unwrap()] {
            assert_eq!(r.timer, None, "an idle ESTABLISHED has no timer: {r:?}");
            assert_eq!((r.recv_q, r.send_q), (0, 0));
        }

        // The log says what was done, call by call.
        let log = lines(&lab, l);
        assert!(
            log[0].contains("socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = "),
            "{log:?}"
        );
        assert!(
            log[1].contains("bind(") && log[1].ends_with(&format!(", {}) = 0", v4(env, PORT))),
            "{log:?}"
        );
        assert!(
            log[2].contains("listen(") && log[2].ends_with(", 128) = 0"),
            "{log:?}"
        );
        assert!(
            log[3].contains("fcntl(") && log[3].contains("O_NONBLOCK"),
            "{log:?}"
        );
        assert!(
            log.iter()
                .any(|l| l.contains(&format!("→ #{s} (from {caddr})"))),
            "{log:?}"
        );
        assert!(
            !lines(&lab, c).iter().any(|l| l.contains("setsockopt")),
            "no option asked, none set"
        );
    });
}

#[test]
fn connect_to_a_port_nobody_listens_on_is_refused() {
    scenario("refused", |env| {
        // Hold the port with a bound socket that does not listen, so nobody else can.
        let holder =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        holder.bind(&v4(env, PORT).into()).unwrap();
        let to = holder.local_addr().unwrap().as_socket().unwrap();
        let mut lab = Lab::new();
        let r = lab.connect(&ConnectSpec::to(to));
        assert_failed(&lab, r, "connect(", "ECONNREFUSED");
        let log: Vec<String> = lab.log().iter().map(CallRecord::line).collect();
        assert!(
            log.last().unwrap().contains("close("),
            "the failed socket is closed, and the log says so: {log:?}"
        );
        assert!(
            lab.sockets().is_empty(),
            "no lab socket left: {:?}",
            lab.sockets()
        );
        assert!(
            !dump().iter().any(|r| r.remote == to),
            "nothing left connecting to {to}"
        );
    });
}

// ---------------------------------------------------------------------------------------------
// send and read.

#[test]
fn sent_data_arrives_reads_say_eagain_when_empty_and_eof_after_fin() {
    scenario("send", |env| {
        let mut lab = Lab::new();
        let conn = established(&mut lab, v4(env, PORT));
        assert_eq!(lab.send(conn.client, b"hello").unwrap(), 5);
        assert_eq!(read_n(&mut lab, conn.server, 5), b"hello");
        assert_eq!(lab.send(conn.server, b"hi back").unwrap(), 7);
        assert_eq!(read_n(&mut lab, conn.client, 7), b"hi back");
        assert!(
            lines(&lab, conn.client)
                .iter()
                .any(|l| l.contains(r#"send("#) && l.contains(r#""hello", 5) = 5"#))
        );
        assert!(
            lines(&lab, conn.server)
                .iter()
                .any(|l| l.contains(r#"= 5 "hello""#)),
            "{:?}",
            lines(&lab, conn.server)
        );

        // Nothing more: EAGAIN, on both ends.
        let r = lab.read(conn.server);
        assert_failed(&lab, r, "recv(", "EAGAIN");
        let r = lab.read(conn.client);
        assert_failed(&lab, r, "recv(", "EAGAIN");

        // The client closes: its FIN reaches the server, whose read says end of stream.
        lab.close(conn.client).unwrap();
        conn.wait(Some(TcpState::FinWait2), Some(TcpState::CloseWait));
        assert_eq!(lab.read(conn.server).unwrap(), b"");
        assert!(
            lines(&lab, conn.server)
                .last()
                .unwrap()
                .contains("= 0 (end of stream"),
            "{:?}",
            lines(&lab, conn.server)
        );
        // And again: EOF is sticky.
        assert_eq!(lab.read(conn.server).unwrap(), b"");
        assert_eq!(lab.read(conn.client), Err(LabError::Closed(conn.client)));
    });
}

// ---------------------------------------------------------------------------------------------
// shutdown.

#[test]
fn shutdown_write_half_closes_fin_wait2_without_timer_and_peer_close_wait() {
    scenario("shutwr", |env| {
        let mut lab = Lab::new();
        let conn = established(&mut lab, v4(env, PORT));
        lab.shutdown(conn.client, Shutdown::Write).unwrap();
        assert!(
            lines(&lab, conn.client)
                .last()
                .unwrap()
                .contains("SHUT_WR) = 0")
        );
        let sock = lab.socket(conn.client).unwrap();
        assert!(sock.shut_write && !sock.shut_read && sock.is_open());
        let (c, s) = conn.wait(Some(TcpState::FinWait2), Some(TcpState::CloseWait));
        let (c, s) = (c.unwrap(), s.unwrap());
        // The fd is still open: a full socket, no FIN_WAIT2 timer; it would last for ever.
        assert_eq!(c.inode, inode(&lab, conn.client));
        assert_eq!(c.timer, None, "no timer while the fd is open: {c:?}");
        assert_eq!(s.inode, inode(&lab, conn.server));
        assert_eq!(s.timer, None, "CLOSE_WAIT waits for the application: {s:?}");

        assert_eq!(
            lab.read(conn.server).unwrap(),
            b"",
            "the FIN is end of stream"
        );
        // Half-closed: the other direction still works.
        assert_eq!(lab.send(conn.server, b"still here").unwrap(), 10);
        assert_eq!(read_n(&mut lab, conn.client, 10), b"still here");
        // Sending on the shut end fails with EPIPE.
        let r = lab.send(conn.client, b"x");
        assert_failed(&lab, r, "send(", "EPIPE");
        // Still FIN_WAIT2 / CLOSE_WAIT, no timer.
        let (c, _) = conn.wait(Some(TcpState::FinWait2), Some(TcpState::CloseWait));
        assert_eq!(c.unwrap().timer, None);

        // The server closes too: the client, fd still open, goes to TIME_WAIT all the same
        // (a timewait socket takes over: no inode), the server's end is gone.
        lab.close(conn.server).unwrap();
        let (c, _) = conn.wait(Some(TcpState::TimeWait), None);
        let c = c.unwrap();
        assert_orphan(&c);
        assert_sixty_s_timer(&c, TimerKind::Timewait);
        assert!(lab.socket(conn.client).unwrap().is_open());
        assert_eq!(lab.read(conn.client).unwrap(), b"", "the server's FIN");
        lab.close(conn.client).unwrap();
        let (c, _) = conn.wait(Some(TcpState::TimeWait), None);
        assert_sixty_s_timer(&c.unwrap(), TimerKind::Timewait);
    });
}

#[test]
fn shutdown_read_sends_nothing_both_ends_stay_established() {
    scenario("shutrd", |env| {
        let mut lab = Lab::new();
        let conn = established(&mut lab, v4(env, PORT));
        lab.shutdown(conn.server, Shutdown::Read).unwrap();
        assert!(
            lines(&lab, conn.server)
                .last()
                .unwrap()
                .contains("SHUT_RD) = 0")
        );
        assert!(lab.socket(conn.server).unwrap().shut_read);
        // No FIN, nothing on the wire: both stay ESTABLISHED, and the peer learns nothing.
        let (c, s) = conn.ends();
        assert_eq!(state(c.as_ref()), Some(TcpState::Established));
        assert_eq!(state(s.as_ref()), Some(TcpState::Established));
        let r = lab.read(conn.client);
        assert_failed(&lab, r, "recv(", "EAGAIN");
        // The shut end reads end of stream at once.
        assert_eq!(lab.read(conn.server).unwrap(), b"");
        // It can still send.
        assert_eq!(lab.send(conn.server, b"one way").unwrap(), 7);
        assert_eq!(read_n(&mut lab, conn.client, 7), b"one way");
        // And Linux still accepts data sent to it (RFC 1122 would have it reset): it queues,
        // and a read after SHUT_RD even returns it.
        assert_eq!(lab.send(conn.client, b"ignored?").unwrap(), 8);
        assert_eq!(read_n(&mut lab, conn.server, 8), b"ignored?");
        conn.wait(Some(TcpState::Established), Some(TcpState::Established));
    });
}

#[test]
fn shutdown_both_sends_fin_and_data_arriving_after_it_is_answered_with_rst() {
    scenario("shutrdwr", |env| {
        let mut lab = Lab::new();
        let conn = established(&mut lab, v4(env, PORT));
        lab.shutdown(conn.client, Shutdown::Both).unwrap();
        assert!(
            lines(&lab, conn.client)
                .last()
                .unwrap()
                .contains("SHUT_RDWR) = 0")
        );
        let sock = lab.socket(conn.client).unwrap();
        assert!(sock.shut_read && sock.shut_write);
        let (c, _) = conn.wait(Some(TcpState::FinWait2), Some(TcpState::CloseWait));
        assert_eq!(c.unwrap().timer, None, "fd still open: no timer");
        assert_eq!(lab.read(conn.client).unwrap(), b"", "shut for reading");
        let r = lab.send(conn.client, b"x");
        assert_failed(&lab, r, "send(", "EPIPE");
        assert_eq!(lab.read(conn.server).unwrap(), b"", "the FIN");

        // The server sends anyway: accepted by its kernel, but the client, shut for reading in
        // FIN_WAIT2, answers with a RST (RFC 1122); both ends are gone.
        assert_eq!(lab.send(conn.server, b"too late").unwrap(), 8);
        conn.wait(None, None);
        // The RST came in CLOSE_WAIT: Linux reports it as EPIPE, not ECONNRESET.
        let r = lab.send(conn.server, b"x");
        assert_failed(&lab, r, "send(", "EPIPE");
        // The client, which had received no FIN, reads the reset it sent: ECONNRESET, though
        // it had shut reading (a read said end of stream before).
        let r = lab.read(conn.client);
        assert_failed(&lab, r, "recv(", "ECONNRESET");
        assert_eq!(lab.read(conn.client).unwrap(), b"", "reported once");
    });
}

#[test]
fn shutdown_of_a_listener_read_stops_it_listening_write_does_nothing() {
    scenario("shutlisten", |env| {
        let mut lab = Lab::new();
        let l = listen(&mut lab, v4(env, PORT), false, false);
        let laddr = local(&lab, l);
        let ino = inode(&lab, l);
        // SHUT_WR on a listener changes nothing: it listens and accepts.
        lab.shutdown(l, Shutdown::Write).unwrap();
        assert_eq!(by_inode(&dump(), ino).unwrap().state, TcpState::Listen);
        let conn = connect_accept(&mut lab, l);
        conn.wait(Some(TcpState::Established), Some(TcpState::Established));
        // One more connection, left in the accept queue.
        let queued = lab.connect(&ConnectSpec::to(laddr)).unwrap();
        let qaddr = local(&lab, queued);
        assert!(wait_until(DEADLINE, || by_inode(&dump(), ino)
            .is_some_and(|r| r.recv_q == 1)));

        // SHUT_RD stops it listening: gone from the table, the queued connection reset, the
        // accepted one untouched.
        lab.shutdown(l, Shutdown::Read).unwrap();
        assert!(lines(&lab, l).last().unwrap().contains("SHUT_RD) = 0"));
        assert!(lab.socket(l).unwrap().is_open());
        let d = dump();
        assert_eq!(
            by_inode(&d, ino),
            None,
            "no longer listed: {:?}",
            by_inode(&d, ino)
        );
        assert!(wait_until(DEADLINE, || {
            let d = dump();
            find(&d, qaddr, laddr).is_none() && find(&d, laddr, qaddr).is_none()
        }));
        let r = lab.read(queued);
        assert_failed(&lab, r, "recv(", "ECONNRESET");
        conn.wait(Some(TcpState::Established), Some(TcpState::Established));
        let r = lab.accept(l);
        assert_failed(&lab, r, "accept(", "EINVAL");
        let r = lab.connect(&ConnectSpec::to(laddr));
        assert_failed(&lab, r, "connect(", "ECONNREFUSED");
        // But the port stays bound to it (it was bound to that port explicitly) until its fd
        // is closed. (The accepted connection would hold it too: end it, the client first, so
        // that no TIME_WAIT is on the port.)
        lab.close(conn.client).unwrap();
        conn.wait(Some(TcpState::FinWait2), Some(TcpState::CloseWait));
        lab.close(conn.server).unwrap();
        conn.wait(Some(TcpState::TimeWait), None);
        if env.own_namespace() {
            let r = lab.rebind(l, false, false);
            assert_failed(&lab, r, "bind(", "EADDRINUSE");
            lab.close(l).unwrap();
            let l2 = lab.rebind(l, false, false).unwrap();
            assert_eq!(
                by_inode(&dump(), inode(&lab, l2)).unwrap().state,
                TcpState::Listen
            );
        } else {
            // Bound with port 0, the kernel gave the port back when it stopped listening
            // (no SOCK_BINDPORT_LOCK): a new listener gets it while the old fd is open.
            let l2 = lab.rebind(l, false, false).unwrap();
            assert_eq!(local(&lab, l2), laddr);
            assert!(lab.socket(l).unwrap().is_open());
        }
    });
}

/// recv() also returns 0 after this end's own shutdown(SHUT_RD), and after a reset already
/// reported: the log must not say the peer sent a FIN then.
#[test]
fn a_read_of_zero_says_why_not_always_fin() {
    scenario("eof-log", |env| {
        let mut lab = Lab::new();
        let conn = established(&mut lab, v4(env, PORT));
        lab.shutdown(conn.server, Shutdown::Read).unwrap();
        assert_eq!(lab.read(conn.server).unwrap(), b"");
        let line = lines(&lab, conn.server).pop().unwrap();
        assert!(
            line.contains("= 0 (end of stream: this end shut down reading)"),
            "{line}"
        );
        conn.wait(Some(TcpState::Established), Some(TcpState::Established));

        lab.close_linger0(conn.client).unwrap();
        conn.wait(None, None);
        let r = lab.read(conn.server);
        assert_failed(&lab, r, "recv(", "ECONNRESET");
        assert_eq!(lab.read(conn.server).unwrap(), b"");
        let line = lines(&lab, conn.server).pop().unwrap();
        assert!(
            line.contains("= 0 (end of stream: the connection was reset"),
            "{line}"
        );
    });
}

// ---------------------------------------------------------------------------------------------
// close.

#[test]
fn close_active_closer_fin_wait2_then_time_wait_and_the_peer_gone() {
    scenario("close", |env| {
        let mut lab = Lab::new();
        let conn = established(&mut lab, v4(env, PORT));
        lab.close(conn.client).unwrap();
        let sock = lab.socket(conn.client).unwrap();
        assert!(!sock.is_open());
        assert_eq!(sock.closed, Some("closed"));
        assert!(lines(&lab, conn.client).last().unwrap().contains("close("));
        // Orphaned in FIN_WAIT2: a timewait socket with no inode and tcp_fin_timeout to live.
        let (c, s) = conn.wait(Some(TcpState::FinWait2), Some(TcpState::CloseWait));
        let (c, s) = (c.unwrap(), s.unwrap());
        assert_orphan(&c);
        assert_sixty_s_timer(&c, TimerKind::Timewait);
        assert_eq!(s.inode, inode(&lab, conn.server));
        assert_eq!(s.timer, None);

        assert_eq!(lab.read(conn.server).unwrap(), b"");
        lab.close(conn.server).unwrap();
        // The server's LAST_ACK lasts one round trip on loopback (see
        // close_wait_side_close_goes_through_last_ack for one that lasts); then it is gone and
        // the client is in TIME_WAIT for 60 s.
        let (c, _) = conn.wait(Some(TcpState::TimeWait), None);
        let c = c.unwrap();
        assert_orphan(&c);
        assert_sixty_s_timer(&c, TimerKind::Timewait);

        // The real binary sees the same.
        let cport = conn.caddr.port().to_string();
        let sport = conn.saddr.port().to_string();
        let recs = env.list_json(&["--sport", &cport, "--dport", &sport]);
        assert_eq!(recs.len(), 1, "{recs:?}");
        assert_eq!(recs[0]["state"], "TIME_WAIT");
        assert_eq!(recs[0]["inode"], 0);
        assert_eq!(recs[0]["timer"]["kind"], "timewait");
        assert!(recs[0]["timer"]["remaining_ms"].as_u64().unwrap() <= SIXTY_S_MS);
        assert_eq!(recs[0]["local_addr"], "127.0.0.1");
    });
}

#[test]
fn close_wait_side_close_goes_through_last_ack() {
    scenario("lastack", |env| {
        let mut lab = Lab::new();
        let conn = established(&mut lab, v4(env, PORT));
        // The server half-closes (it keeps reading), the client reads the FIN.
        lab.shutdown(conn.server, Shutdown::Write).unwrap();
        conn.wait(Some(TcpState::CloseWait), Some(TcpState::FinWait2));
        assert_eq!(lab.read(conn.client).unwrap(), b"");
        // The client fills the server's receive buffer (the server does not read) until its
        // own send buffer is full: the server's window is then closed, and the client's FIN
        // has to wait behind the data.
        let chunk = vec![b'x'; 65536];
        let mut sent = 0;
        let full = loop {
            match lab.send(conn.client, &chunk) {
                Ok(n) => sent += n,
                Err(e) => break e,
            }
            assert!(sent < 1 << 30, "the server's buffer never filled");
        };
        assert_eq!(full.errno_name(), Some("EAGAIN"), "{full}");
        lab.close(conn.client).unwrap();
        // LAST_ACK, orphaned, with data still to deliver and a timer probing the window.
        let (c, s) = conn.wait(Some(TcpState::LastAck), Some(TcpState::FinWait2));
        let c = c.unwrap();
        assert_orphan(&c);
        assert!(c.send_q > 0, "data waits: {c:?}");
        let t = c.timer.expect("a timer runs while data and FIN wait");
        assert!(
            matches!(t.kind, TimerKind::ZeroWindowProbe | TimerKind::Retransmit),
            "{c:?}"
        );
        assert!(s.unwrap().recv_q > 0);

        // The server reads it all: the window opens, the data and the FIN arrive.
        let mut got = 0;
        let mut eof = false;
        assert!(
            wait_until(DEADLINE, || {
                match lab.read(conn.server) {
                    Ok(d) if d.is_empty() => eof = true,
                    Ok(d) => got += d.len(),
                    Err(e) => assert_eq!(e.errno_name(), Some("EAGAIN"), "{e}"),
                }
                eof
            }),
            "got {got} of {sent} bytes, then no end of stream"
        );
        assert_eq!(got, sent);
        // The client's FIN acknowledged: LAST_ACK → gone; the server in TIME_WAIT though its
        // fd is still open.
        let (_, s) = conn.wait(None, Some(TcpState::TimeWait));
        let s = s.unwrap();
        assert_orphan(&s);
        assert_sixty_s_timer(&s, TimerKind::Timewait);
        assert!(lab.socket(conn.server).unwrap().is_open());
    });
}

#[test]
fn close_linger0_resets_no_time_wait_and_the_peer_reads_econnreset() {
    scenario("linger0", |env| {
        let mut lab = Lab::new();
        let conn = established(&mut lab, v4(env, PORT));
        lab.close_linger0(conn.client).unwrap();
        let log = lines(&lab, conn.client);
        let n = log.len();
        assert!(
            log[n - 2].contains("SO_LINGER, {l_onoff=1, l_linger=0}) = 0"),
            "{log:?}"
        );
        assert!(log[n - 1].contains("close("), "{log:?}");
        assert_eq!(
            lab.socket(conn.client).unwrap().closed,
            Some("closed with linger 0")
        );
        // Both ends gone at once: no FIN_WAIT, no TIME_WAIT on the closing end.
        conn.wait(None, None);
        assert!(
            lab.socket(conn.server).unwrap().is_open(),
            "its fd is still ours"
        );
        let r = lab.read(conn.server);
        assert_failed(&lab, r, "recv(", "ECONNRESET");
        // The error is reported once; after it the socket is CLOSE: reads say end of stream,
        // sends EPIPE.
        assert_eq!(lab.read(conn.server).unwrap(), b"");
        let r = lab.send(conn.server, b"x");
        assert_failed(&lab, r, "send(", "EPIPE");
        assert!(
            dump()
                .iter()
                .all(|r| r.local != conn.caddr && r.remote != conn.caddr)
        );
    });
}

#[test]
fn close_with_unread_data_resets_instead_of_fin() {
    scenario("unread", |env| {
        let mut lab = Lab::new();
        let conn = established(&mut lab, v4(env, PORT));
        assert_eq!(lab.send(conn.server, b"never read").unwrap(), 10);
        let ino = inode(&lab, conn.client);
        assert!(wait_until(DEADLINE, || by_inode(&dump(), ino)
            .is_some_and(|r| r.recv_q == 10)));
        lab.close(conn.client).unwrap();
        // A RST, not a FIN: no FIN_WAIT2 and no TIME_WAIT on the closing end, the peer gone.
        conn.wait(None, None);
        let r = lab.read(conn.server);
        assert_failed(&lab, r, "recv(", "ECONNRESET");
    });
}

#[test]
fn write_after_the_peer_closed_succeeds_once_then_epipe() {
    scenario("epipe", |env| {
        let mut lab = Lab::new();
        let conn = established(&mut lab, v4(env, PORT));
        lab.close(conn.client).unwrap();
        conn.wait(Some(TcpState::FinWait2), Some(TcpState::CloseWait));
        // The kernel cannot know the peer will not read: the first send() succeeds.
        assert_eq!(lab.send(conn.server, b"anyone?").unwrap(), 7);
        // The client's timewait socket answers the data with a RST and goes; the RST
        // takes the server's end away too.
        conn.wait(None, None);
        // Linux 6.18 says EPIPE, not ECONNRESET: tcp_reset() turns a RST received in
        // CLOSE_WAIT into EPIPE (ECONNRESET in the other states), and once reset the socket
        // is shut down for sending, which is EPIPE too.
        let r = lab.send(conn.server, b"again");
        assert_failed(&lab, r, "send(", "EPIPE");
        let r = lab.send(conn.server, b"and again");
        assert_failed(&lab, r, "send(", "EPIPE");
        // The FIN came before the RST: a read says end of stream, not ECONNRESET.
        assert_eq!(lab.read(conn.server).unwrap(), b"");
    });
}

// ---------------------------------------------------------------------------------------------
// Rebinding.

/// A listener with these options, one connection the server side closes first (its TIME_WAIT
/// is on the listener's port), then the listener closed. Returns the listener and the
/// connection, once the TIME_WAIT is there.
fn time_wait_on_listener_port(
    lab: &mut Lab,
    env: &Place,
    reuseaddr: bool,
    reuseport: bool,
) -> Conn {
    let l = listen(lab, v4(env, PORT), reuseaddr, reuseport);
    let conn = connect_accept(lab, l);
    let s = lab.socket(conn.server).unwrap();
    assert_eq!(
        (s.reuseaddr, s.reuseport),
        (reuseaddr, reuseport),
        "the accepted socket inherits the listener's options"
    );
    lab.close(conn.server).unwrap();
    conn.wait(Some(TcpState::CloseWait), Some(TcpState::FinWait2));
    assert_eq!(lab.read(conn.client).unwrap(), b"");
    lab.close(conn.client).unwrap();
    lab.close(l).unwrap();
    assert_time_wait_holds(&conn);
    assert!(
        !dump()
            .iter()
            .any(|r| r.local == conn.saddr && r.state == TcpState::Listen),
        "the listener is closed"
    );
    conn
}

/// The server's end of `conn` is (still) in TIME_WAIT, with its timer running, no fd.
#[track_caller]
fn assert_time_wait_holds(conn: &Conn) {
    let (_, s) = conn.wait(None, Some(TcpState::TimeWait));
    let s = s.unwrap();
    assert_orphan(&s);
    assert_sixty_s_timer(&s, TimerKind::Timewait);
}

#[test]
fn rebind_over_time_wait_without_reuseaddr_on_the_old_socket_fails() {
    scenario("rebind-tw", |env| {
        let mut lab = Lab::new();
        let conn = time_wait_on_listener_port(&mut lab, env, false, false);
        let l = conn.listener;
        for (reuseaddr, reuseport) in [(false, false), (true, false), (false, true)] {
            let r = lab.rebind(l, reuseaddr, reuseport);
            assert_failed(&lab, r, "bind(", "EADDRINUSE");
            assert!(
                lab.log().last().unwrap().call.starts_with("close("),
                "the new socket is closed"
            );
            assert_time_wait_holds(&conn);
        }
        assert!(
            !dump()
                .iter()
                .any(|r| r.local == conn.saddr && r.state == TcpState::Listen),
            "no listener came of it"
        );
    });
}

#[test]
fn rebind_over_time_wait_with_reuseaddr_on_both_succeeds() {
    scenario("rebind-ra", |env| {
        let mut lab = Lab::new();
        let conn = time_wait_on_listener_port(&mut lab, env, true, false);
        let l = conn.listener;
        // Only the old one has it: not enough.
        let r = lab.rebind(l, false, false);
        assert_failed(&lab, r, "bind(", "EADDRINUSE");
        assert_time_wait_holds(&conn);
        // Both: the server restarts on its port while the TIME_WAIT is still there.
        let l2 = lab.rebind(l, true, false).unwrap();
        assert_eq!(local(&lab, l2), conn.saddr);
        let d = dump();
        let listener = by_inode(&d, inode(&lab, l2)).unwrap();
        assert_eq!(listener.state, TcpState::Listen);
        assert_eq!(listener.local, conn.saddr);
        assert_time_wait_holds(&conn);
        assert!(
            lines(&lab, l2)
                .iter()
                .any(|l| l.contains("SO_REUSEADDR, 1) = 0"))
        );
        // And it serves.
        let conn2 = connect_accept(&mut lab, l2);
        conn2.wait(Some(TcpState::Established), Some(TcpState::Established));
    });
}

#[test]
fn rebind_over_time_wait_left_by_reuseport_sockets_succeeds_with_reuseport() {
    scenario("rebind-rp", |env| {
        let mut lab = Lab::new();
        let conn = time_wait_on_listener_port(&mut lab, env, false, true);
        let r = lab.rebind(conn.listener, true, false);
        assert_failed(&lab, r, "bind(", "EADDRINUSE");
        let l2 = lab.rebind(conn.listener, false, true).unwrap();
        assert_eq!(
            by_inode(&dump(), inode(&lab, l2)).unwrap().state,
            TcpState::Listen
        );
        assert_time_wait_holds(&conn);
    });
}

#[test]
fn a_live_listener_blocks_rebind_whatever_reuseaddr_and_reuseport_on_both_shares() {
    scenario("rebind-live", |env| {
        let mut lab = Lab::new();
        let l = listen(&mut lab, v4(env, PORT), true, false);
        for (reuseaddr, reuseport) in [(false, false), (true, false), (false, true), (true, true)] {
            let r = lab.rebind(l, reuseaddr, reuseport);
            assert_failed(&lab, r, "bind(", "EADDRINUSE");
        }
        let listeners = |lab: &Lab| {
            dump()
                .into_iter()
                .filter(|r| r.local == local(lab, l) && r.state == TcpState::Listen)
                .count()
        };
        assert_eq!(listeners(&lab), 1);

        // SO_REUSEPORT on both (same uid): two listeners on one port.
        let p = listen(&mut lab, v4(env, PORT + 1), false, true);
        let p2 = lab.rebind(p, false, true).unwrap();
        let paddr = local(&lab, p);
        assert_eq!(local(&lab, p2), paddr);
        let d = dump();
        for id in [p, p2] {
            let r = by_inode(&d, inode(&lab, id)).unwrap();
            assert_eq!((r.state, r.local), (TcpState::Listen, paddr));
        }
        // Connections are spread over the group: each lands in one of the two queues.
        for _ in 0..8 {
            lab.connect(&ConnectSpec::to(paddr)).unwrap();
        }
        let queued = |lab: &Lab| -> Vec<u32> {
            let d = dump();
            [p, p2]
                .iter()
                .map(|&id| by_inode(&d, inode(lab, id)).unwrap().recv_q)
                .collect()
        };
        assert!(
            wait_until(DEADLINE, || queued(&lab).iter().sum::<u32>() == 8),
            "8 connections queued over both: {:?}",
            queued(&lab)
        );
        // A third listener without SO_REUSEPORT is refused.
        let r = lab.rebind(p, true, false);
        assert_failed(&lab, r, "bind(", "EADDRINUSE");
    });
}

#[test]
fn connect_from_a_chosen_port_binds_it_and_a_time_wait_on_it_blocks_it() {
    scenario("from", |env| {
        let mut lab = Lab::new();
        let l = listen(&mut lab, v4(env, PORT), false, false);
        let to = local(&lab, l);
        let from = if env.own_namespace() {
            v4(env, 40000)
        } else {
            // A free port, found by binding to 0.
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap()
        };
        let c = lab
            .connect(&ConnectSpec {
                from: Some(from),
                ..ConnectSpec::to(to)
            })
            .unwrap();
        assert_eq!(local(&lab, c), from);
        assert!(
            lines(&lab, c)
                .iter()
                .any(|l| l.contains("bind(") && l.contains(&format!("{from}) = 0")))
        );
        let s = lab.accept(l).unwrap();
        let conn = Conn {
            listener: l,
            client: c,
            server: s,
            caddr: from,
            saddr: to,
        };
        conn.wait(Some(TcpState::Established), Some(TcpState::Established));
        // The client closes first: the TIME_WAIT holds its port. (The server reads its end of
        // stream once the FIN has arrived, not before.)
        lab.close(c).unwrap();
        conn.wait(Some(TcpState::FinWait2), Some(TcpState::CloseWait));
        assert_eq!(lab.read(s).unwrap(), b"");
        lab.close(s).unwrap();
        conn.wait(Some(TcpState::TimeWait), None);
        let r = lab.connect(&ConnectSpec {
            from: Some(from),
            ..ConnectSpec::to(to)
        });
        assert_failed(&lab, r, "bind(", "EADDRINUSE");
    });
}

// ---------------------------------------------------------------------------------------------
// IPv6.

#[test]
fn ipv6_listen_connect_accept_send_close() {
    scenario("v6", |env| {
        let mut lab = Lab::new();
        let l = lab.listen(&ListenSpec::on(v6(env, PORT))).unwrap();
        assert!(lines(&lab, l)[0].contains("socket(AF_INET6,"));
        let listener = by_inode(&dump(), inode(&lab, l)).unwrap();
        assert_eq!(listener.state, TcpState::Listen);
        assert_eq!(listener.family, tcpscope::model::Family::Inet6);
        let conn = connect_accept(&mut lab, l);
        assert!(conn.caddr.is_ipv6() && conn.saddr.is_ipv6());
        let (c, s) = conn.wait(Some(TcpState::Established), Some(TcpState::Established));
        assert_eq!(c.unwrap().inode, inode(&lab, conn.client));
        assert_eq!(s.unwrap().inode, inode(&lab, conn.server));
        assert_eq!(lab.send(conn.client, b"over v6").unwrap(), 7);
        assert_eq!(read_n(&mut lab, conn.server, 7), b"over v6");
        lab.close(conn.client).unwrap();
        conn.wait(Some(TcpState::FinWait2), Some(TcpState::CloseWait));
        lab.close(conn.server).unwrap();
        let (c, _) = conn.wait(Some(TcpState::TimeWait), None);
        assert_sixty_s_timer(&c.unwrap(), TimerKind::Timewait);
    });
}

// ---------------------------------------------------------------------------------------------
// The call log, and refusals that are not system calls.

#[test]
fn the_log_shows_one_setsockopt_per_option_and_every_failure_by_errno_name() {
    scenario("log", |env| {
        let mut lab = Lab::new();
        let l = listen(&mut lab, v4(env, PORT), true, true);
        let log = lines(&lab, l);
        let opts: Vec<&String> = log.iter().filter(|l| l.contains("setsockopt(")).collect();
        assert_eq!(opts.len(), 2, "one call per option: {log:?}");
        assert!(
            opts[0].contains("SOL_SOCKET, SO_REUSEADDR, 1) = 0"),
            "{log:?}"
        );
        assert!(
            opts[1].contains("SOL_SOCKET, SO_REUSEPORT, 1) = 0"),
            "{log:?}"
        );
        assert!(
            !log.iter().any(|l| l.contains("|")),
            "options are never OR-ed: {log:?}"
        );
        // Calls in order: socket, options, bind, listen, non-blocking.
        let order: Vec<&str> = log
            .iter()
            .map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap()
                    .split('(')
                    .next()
                    .unwrap()
            })
            .collect();
        assert_eq!(
            order,
            [
                "socket",
                "setsockopt",
                "setsockopt",
                "bind",
                "listen",
                "fcntl"
            ]
        );
        assert!(
            log.iter().all(|line| line.starts_with(&format!("#{l} "))),
            "{log:?}"
        );
        let fd = lab.socket(l).unwrap().fd;
        assert!(log[1].contains(&format!("setsockopt({fd}, ")), "{log:?}");

        // A failure carries its errno by name, its meaning, and the call's arguments.
        let r = lab.rebind(l, false, false);
        assert_failed(&lab, r, "bind(", "EADDRINUSE");
        let failed = last_failure(&lab);
        assert!(
            failed.call.ends_with(&format!("{})", local(&lab, l))),
            "{failed:?}"
        );
        assert!(
            failed.line().contains("= -1 EADDRINUSE: "),
            "{}",
            failed.line()
        );
        let r = lab.accept(l);
        assert_failed(&lab, r, "accept(", "EAGAIN");
        assert!(last_failure(&lab).line().contains("accept queue is empty"));
        // A listener has no connection to read from or send on.
        let r = lab.read(l);
        assert_failed(&lab, r, "recv(", "ENOTCONN");
        let r = lab.send(l, b"x");
        assert_failed(&lab, r, "send(", "EPIPE");
        // Every failure in the log has a name.
        for r in lab.log() {
            if let Outcome::Err(e) = &r.outcome {
                assert!(e.name.starts_with('E') && e.name.len() > 2, "{r:?}");
            }
        }
    });
}

#[test]
fn refusals_name_the_lab_socket_and_make_no_call() {
    scenario("refuse", |env| {
        let mut lab = Lab::new();
        let conn = established(&mut lab, v4(env, PORT));
        let before = lab.log().len();
        assert_eq!(
            lab.accept(conn.client),
            Err(LabError::NotListener(conn.client))
        );
        assert_eq!(lab.accept(99), Err(LabError::NoSuch(99)));
        assert_eq!(lab.send(99, b"x"), Err(LabError::NoSuch(99)));
        lab.close(conn.client).unwrap();
        let after_close = lab.log().len();
        assert_eq!(lab.close(conn.client), Err(LabError::Closed(conn.client)));
        assert_eq!(
            lab.send(conn.client, b"x"),
            Err(LabError::Closed(conn.client))
        );
        assert_eq!(
            lab.shutdown(conn.client, Shutdown::Both),
            Err(LabError::Closed(conn.client))
        );
        assert_eq!(
            lab.close_linger0(conn.client),
            Err(LabError::Closed(conn.client))
        );
        assert_eq!(lab.log().len(), after_close, "refusals make no call");
        assert_eq!(after_close, before + 1, "close() logged once");
        assert_eq!(LabError::Closed(1).errno_name(), None);
        // Closed sockets stay listed, and by_inode finds only open ones.
        assert!(lab.socket(conn.client).is_some());
        assert!(lab.by_inode(inode(&lab, conn.client)).is_none());
        assert_eq!(
            lab.by_inode(inode(&lab, conn.server)).unwrap().id,
            conn.server
        );
        assert!(lab.by_inode(0).is_none());
        // Dropping the lab closes what is open: the server's end goes, and the listener.
        let listener = inode(&lab, conn.listener);
        assert!(by_inode(&dump(), listener).is_some());
        drop(lab);
        conn.wait(Some(TcpState::TimeWait), None);
        assert_eq!(by_inode(&dump(), listener), None);
    });
}

// ---------------------------------------------------------------------------------------------
// The accept queue.

/// Listener with backlog 0 (Linux queues backlog + 1 connections), one connection queued,
/// then a connect() whose SYNs the full queue drops: it gives up after CONNECT_TIMEOUT.
/// Returns that failure.
fn connect_to_a_full_accept_queue(env: &Place) -> (Lab, LabError) {
    let mut lab = Lab::new();
    let l = lab
        .listen(&ListenSpec {
            backlog: 0,
            ..ListenSpec::on(v4(env, PORT))
        })
        .unwrap();
    let laddr = local(&lab, l);
    let queued = |lab: &Lab| by_inode(&dump(), inode(lab, l)).unwrap();
    assert_eq!(queued(&lab).send_q, 0, "the backlog as asked");
    let c1 = lab.connect(&ConnectSpec::to(laddr)).unwrap();
    assert!(
        wait_until(DEADLINE, || queued(&lab).recv_q == 1),
        "the first connection is queued: {:?}",
        queued(&lab)
    );
    let started = std::time::Instant::now();
    let r = lab.connect(&ConnectSpec::to(laddr));
    // (poll()'s timeout is whole milliseconds: it may give up a fraction of one early.)
    let waited = started.elapsed();
    assert!(
        waited + Duration::from_millis(5) >= tcpscope::actions::lab::CONNECT_TIMEOUT,
        "it waited {waited:?}"
    );
    let err = r.expect_err("the queue is full");
    assert!(err.to_string().starts_with("connect("), "{err}");
    let LabError::Failed { call, .. } = &err else {
        panic!("{err:?}")
    };
    let failed = last_failure(&lab);
    assert_eq!(&failed.call, call);
    assert!(lab.log().last().unwrap().call.starts_with("close("));
    // Nothing was added to the queue, the client's SYN_SENT socket is gone with its fd.
    assert_eq!(queued(&lab).recv_q, 1);
    assert!(
        !dump()
            .iter()
            .any(|r| r.remote == laddr && r.state == TcpState::SynSent),
        "no SYN_SENT left"
    );
    // Accepting makes room.
    let s = lab.accept(l).unwrap();
    assert_eq!(queued(&lab).recv_q, 0);
    let c3 = lab.connect(&ConnectSpec::to(laddr)).unwrap();
    assert!(wait_until(DEADLINE, || queued(&lab).recv_q == 1));
    let _ = (c1, s, c3);
    (lab, err)
}

#[test]
fn a_full_accept_queue_drops_syns_and_connect_gives_up() {
    scenario("backlog", |env| {
        connect_to_a_full_accept_queue(env);
    });
}

/// socket2's connect_timeout() gives up with an io::Error of kind TimedOut and no OS error
/// code: the lab must still name it ETIMEDOUT, not `E0`.
#[test]
fn a_connect_timeout_is_named_etimedout() {
    scenario("timedout", |env| {
        let (lab, err) = connect_to_a_full_accept_queue(env);
        assert_eq!(err.errno_name(), Some("ETIMEDOUT"), "{err}");
        let failed = last_failure(&lab);
        assert!(
            failed
                .line()
                .contains("= -1 ETIMEDOUT: no answer to our SYNs"),
            "{}",
            failed.line()
        );
    });
}

/// The interactive view's connect never waits: EINPROGRESS, and the socket shows SYN_SENT
/// for as long as the handshake takes; against a full accept queue that is until the client
/// gives up (a retransmit timer runs meanwhile).
#[test]
fn a_background_connect_returns_at_once_and_shows_syn_sent_while_unanswered() {
    scenario("bgconnect", |env| {
        let mut lab = Lab::new();
        let l = lab
            .listen(&ListenSpec {
                backlog: 0,
                ..ListenSpec::on(v4(env, PORT))
            })
            .unwrap();
        let laddr = local(&lab, l);
        // The first one completes (the queue has room for one): ESTABLISHED.
        let c1 = lab.connect_in_background(&ConnectSpec::to(laddr)).unwrap();
        assert!(wait_until(DEADLINE, || state(
            find(&dump(), local(&lab, c1), laddr).as_ref()
        ) == Some(TcpState::Established)));
        // The second one's SYN is dropped: the call returns at once, SYN_SENT stays.
        let started = std::time::Instant::now();
        let c2 = lab.connect_in_background(&ConnectSpec::to(laddr)).unwrap();
        assert!(
            started.elapsed() < tcpscope::actions::lab::CONNECT_TIMEOUT,
            "it waited {:?}",
            started.elapsed()
        );
        let line = lab
            .log()
            .iter()
            .rev()
            .find(|c| c.call.starts_with("connect("))
            .unwrap()
            .line();
        assert!(line.contains("EINPROGRESS"), "{line}");
        let r = find(&dump(), local(&lab, c2), laddr).unwrap();
        assert_eq!(r.state, TcpState::SynSent);
        assert_eq!(r.timer.map(|t| t.kind), Some(TimerKind::Retransmit));
        // accept() makes room; the retransmitted SYN then completes the handshake.
        lab.accept(l).unwrap();
        assert!(
            wait_until(Duration::from_secs(8), || state(
                find(&dump(), local(&lab, c2), laddr).as_ref()
            ) == Some(TcpState::Established)),
            "the second client never got in"
        );
    });
}
