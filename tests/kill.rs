//! `tcpscope kill`: refuses an empty filter, asks before acting, and aborts exactly the
//! matching sockets like `ss -K`: both ends' errors, a listener's port kept, a TIME_WAIT's freed.

#![allow(clippy::unwrap_used)] // Tests fail loudly by design.

mod common;

use common::{list_json, require_root, tcpscope, wait_until};
use std::io::{ErrorKind, Read};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

/// bind() of a plain socket (std's TcpListener sets SO_REUSEADDR, which would hide what this
/// checks): Ok, or the error kind.
fn plain_bind(port: u16) -> Result<(), ErrorKind> {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    s.bind(&addr.into()).map_err(|e| e.kind())
}

fn pair() -> (TcpListener, TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (s, _) = l.accept().unwrap();
    (l, c, s)
}

#[test]
fn refuses_an_empty_filter() {
    let out = tcpscope(&["kill", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("refusing"), "{err}");
}

#[test]
fn without_yes_and_without_a_terminal_nothing_is_touched() {
    let (_l, c, _s) = pair();
    let cport = c.local_addr().unwrap().port().to_string();
    let out = tcpscope(&["kill", "--sport", &cport]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("ESTABLISHED"),
        "it lists the match"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("not confirmed"));
    let recs = list_json(&["--sport", &cport]);
    assert_eq!(recs[0]["state"], "ESTABLISHED");
}

#[test]
fn aborting_an_established_socket_resets_the_peer_and_aborts_the_owner() {
    if !require_root("aborting_an_established_socket_resets_the_peer_and_aborts_the_owner") {
        return;
    }
    let (_l, mut c, mut s) = pair();
    let cport = c.local_addr().unwrap().port().to_string();
    let out = tcpscope(&["kill", "--sport", &cport, "--yes"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        c.read(&mut [0u8; 1]).unwrap_err().kind(),
        ErrorKind::ConnectionAborted
    );
    assert_eq!(
        s.read(&mut [0u8; 1]).unwrap_err().kind(),
        ErrorKind::ConnectionReset
    );
}

#[test]
fn aborting_a_listener_keeps_its_port_bound_until_the_owner_closes_it() {
    if !require_root("aborting_a_listener_keeps_its_port_bound_until_the_owner_closes_it") {
        return;
    }
    // Bound to an explicit port, as servers are: a socket bound to port 0 gives its port back
    // when it closes (no SOCK_BINDPORT_LOCK), aborted or not.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let l = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let out = tcpscope(&[
        "kill",
        "--sport",
        &port.to_string(),
        "--state",
        "listen",
        "--yes",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(list_json(&["--sport", &port.to_string(), "--state", "listen"]).is_empty());
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "it no longer accepts"
    );
    assert_eq!(plain_bind(port), Err(ErrorKind::AddrInUse), "still bound");
    drop(l);
    assert_eq!(plain_bind(port), Ok(()), "free once its owner closed it");
}

#[test]
fn aborting_a_time_wait_frees_its_port() {
    if !require_root("aborting_a_time_wait_frees_its_port") {
        return;
    }
    let (l, mut c, s) = pair();
    let port = l.local_addr().unwrap().port();
    drop(s); // the server closes first: its end goes to TIME_WAIT
    assert_eq!(c.read(&mut [0u8; 1]).unwrap(), 0);
    drop(c);
    drop(l);
    let p = port.to_string();
    assert!(wait_until(Duration::from_secs(5), || {
        list_json(&["--sport", &p])
            .iter()
            .any(|r| r["state"] == "TIME_WAIT")
    }));
    assert_eq!(
        plain_bind(port),
        Err(ErrorKind::AddrInUse),
        "held by the TIME_WAIT"
    );
    let out = tcpscope(&["kill", "--sport", &p, "--state", "time-wait", "--yes"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(list_json(&["--sport", &p]).is_empty());
    assert_eq!(plain_bind(port), Ok(()), "the port is free");
}
