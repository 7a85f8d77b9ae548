//! `tcpscope kill`: refuses an empty filter, asks before acting, and aborts exactly the
//! matching sockets like `ss -K`: both ends' errors, a listener's port kept, a TIME_WAIT's freed.
//!
//! As root each test that makes sockets runs in a network namespace of its own, on a fixed
//! port: no other socket of the host (another test's, an earlier run's TIME_WAIT) can hold it.
//! Without root, aborting needs CAP_NET_ADMIN, so those tests skip and say why; the one that
//! touches nothing runs on this namespace's loopback with a port the kernel picks.
//!
//! The tests of this file run one at a time (`serial`): a child process that one test spawns
//! (`tcpscope`, `ip`) holds a copy of every fd of this process until it execs, so a socket that
//! another test closes meanwhile stays open, and its port bound, for that moment. "Free once its
//! owner closed it" then failed about once in 15 runs.

use crate::common;

use common::{Place, tcpscope, wait_until};
use std::io::{ErrorKind, Read};
use std::net::{TcpListener, TcpStream};
use std::process::Output;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// The port of a test's listener inside its own namespace.
const PORT: u16 = 8080;

/// Held for a whole test: see the module's comment.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    // A test that failed poisons the lock; the others still run.
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A plain socket's bind() (no SO_REUSEADDR) where the test's sockets live: Ok, or the error.
fn plain_bind(env: &Place, port: u16) -> Result<(), ErrorKind> {
    env.run(|| {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        s.bind(&addr.into()).map_err(|e| e.kind())
    })
}

/// A listener on 127.0.0.1 (with SO_REUSEADDR, as std sets it), a client connected to it,
/// and the accepted server end.
fn pair(env: &Place) -> (TcpListener, TcpStream, TcpStream) {
    let port = env.port(PORT);
    env.run(|| {
        let l = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        (l, c, s)
    })
}
/// Asserts exit 0, with stdout and stderr in the message otherwise.
fn assert_ok(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn refuses_an_empty_filter() {
    let _host = crate::common::host::shared();
    let _serial = serial();
    let out = tcpscope(&["kill", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("refusing"), "{err}");
}

#[test]
fn without_yes_and_without_a_terminal_nothing_is_touched() {
    let _host = crate::common::host::shared();
    let _serial = serial();
    let env = Place::new("kill-noyes");
    if env.ns.is_none() {
        println!("not root: on this namespace's loopback, on a port the kernel picks");
    }
    let (_l, c, mut s) = pair(&env);
    let cport = c.local_addr().unwrap().port().to_string();
    let out = env.tcpscope(&["kill", "--sport", &cport]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("ESTABLISHED"),
        "it lists the match"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("not confirmed"));
    let recs = env.list_json(&["--sport", &cport]);
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(recs[0]["state"], "ESTABLISHED");
    s.set_nonblocking(true).unwrap();
    assert_eq!(
        s.read(&mut [0u8; 1]).map_err(|e| e.kind()),
        Err(ErrorKind::WouldBlock),
        "no RST, no FIN came"
    );
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip)),
    ignore = "needs root and ip (iproute2): SOCK_DESTROY in a namespace of its own"
)]
fn aborting_an_established_socket_resets_the_peer_and_aborts_the_owner() {
    let _host = crate::common::host::shared();
    let _serial = serial();
    let env = Place::new("kill-est");
    let (_l, mut c, mut s) = pair(&env);
    let cport = c.local_addr().unwrap().port().to_string();
    assert_ok(&env.tcpscope(&["kill", "--sport", &cport, "--yes"]));
    assert_eq!(
        c.read(&mut [0u8; 1]).unwrap_err().kind(),
        ErrorKind::ConnectionAborted
    );
    assert_eq!(
        s.read(&mut [0u8; 1]).unwrap_err().kind(),
        ErrorKind::ConnectionReset
    );
    // Both ends are gone at once: no TIME_WAIT.
    assert!(env.list_json(&["--port", &cport]).is_empty());
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip)),
    ignore = "needs root and ip (iproute2): SOCK_DESTROY in a namespace of its own"
)]
fn aborting_a_listener_keeps_its_port_bound_until_the_owner_closes_it() {
    let _host = crate::common::host::shared();
    let _serial = serial();
    let env = Place::new("kill-listen");
    // Bound to an explicit port, as servers are: a socket bound to port 0 gives its port back
    // when it stops listening (no SOCK_BINDPORT_LOCK), aborted or not.
    let p = PORT.to_string();
    let l = env.run(|| TcpListener::bind(("127.0.0.1", PORT)).unwrap());
    assert_eq!(
        env.list_json(&["--sport", &p, "--state", "listen"]).len(),
        1
    );
    assert_ok(&env.tcpscope(&["kill", "--sport", &p, "--state", "listen", "--yes"]));
    assert!(
        env.list_json(&["--sport", &p, "--state", "listen"])
            .is_empty()
    );
    assert_eq!(
        env.run(|| TcpStream::connect(("127.0.0.1", PORT)))
            .map_err(|e| e.kind())
            .unwrap_err(),
        ErrorKind::ConnectionRefused,
        "it no longer accepts"
    );
    assert_eq!(
        plain_bind(&env, PORT),
        Err(ErrorKind::AddrInUse),
        "still bound"
    );
    drop(l);
    assert_eq!(
        plain_bind(&env, PORT),
        Ok(()),
        "free once its owner closed it"
    );
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip)),
    ignore = "needs root and ip (iproute2): SOCK_DESTROY in a namespace of its own"
)]
fn aborting_a_time_wait_frees_its_port() {
    let _host = crate::common::host::shared();
    let _serial = serial();
    let env = Place::new("kill-tw");
    let (l, mut c, s) = pair(&env);
    let p = PORT.to_string();
    drop(s); // the server closes first: its end goes to TIME_WAIT
    assert_eq!(c.read(&mut [0u8; 1]).unwrap(), 0);
    drop(c);
    drop(l);
    assert!(wait_until(Duration::from_secs(5), || {
        env.list_json(&["--sport", &p])
            .iter()
            .any(|r| r["state"] == "TIME_WAIT")
    }));
    assert_eq!(
        plain_bind(&env, PORT),
        Err(ErrorKind::AddrInUse),
        "held by the TIME_WAIT"
    );
    assert_ok(&env.tcpscope(&["kill", "--sport", &p, "--state", "time-wait", "--yes"]));
    assert!(env.list_json(&["--sport", &p]).is_empty());
    assert_eq!(plain_bind(&env, PORT), Ok(()), "the port is free");
}
