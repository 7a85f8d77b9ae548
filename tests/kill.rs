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

#![allow(clippy::unwrap_used)] // Tests fail loudly by design.

mod common;

use common::{Netns, in_ns, is_root, list_json, tcpscope, wait_until};
use serde_json::Value;
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

/// Where a test's sockets live: a namespace of its own (root), or this one.
struct Env {
    ns: Option<Netns>,
}

impl Env {
    /// A namespace of its own when root; this namespace otherwise.
    fn new(tag: &str) -> Env {
        Env {
            ns: is_root().then(|| Netns::new(&format!("kill-{tag}"))),
        }
    }

    /// The port a listener binds: `PORT` in the test's namespace, 0 (the kernel picks) here.
    fn port(&self) -> u16 {
        if self.ns.is_some() { PORT } else { 0 }
    }

    /// Runs `f` where the sockets live.
    fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        in_ns(self.ns.as_ref(), f)
    }

    /// `ARGS` with `--netns NAME` after the subcommand when the test has a namespace.
    fn args<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut all = args.to_vec();
        if let Some(ns) = &self.ns {
            all.splice(1..1, ["--netns", ns.name.as_str()]);
        }
        all
    }

    fn tcpscope(&self, args: &[&str]) -> Output {
        tcpscope(&self.args(args))
    }

    /// `tcpscope list --json` of the test's namespace, with these filters.
    fn list_json(&self, filters: &[&str]) -> Vec<Value> {
        let mut args = Vec::new();
        if let Some(ns) = &self.ns {
            args.extend(["--netns", ns.name.as_str()]);
        }
        args.extend_from_slice(filters);
        list_json(&args)
    }

    /// bind() of a plain socket (std's TcpListener sets SO_REUSEADDR, which would hide what
    /// this checks) on 127.0.0.1:`port`: Ok, or the error kind.
    fn plain_bind(&self, port: u16) -> Result<(), ErrorKind> {
        self.run(|| {
            let s =
                socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
            let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
            s.bind(&addr.into()).map_err(|e| e.kind())
        })
    }

    /// A listener on 127.0.0.1 (with SO_REUSEADDR, as std sets it), a client connected to it,
    /// and the accepted server end.
    fn pair(&self) -> (TcpListener, TcpStream, TcpStream) {
        let port = self.port();
        self.run(|| {
            let l = TcpListener::bind(("127.0.0.1", port)).unwrap();
            let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
            let (s, _) = l.accept().unwrap();
            (l, c, s)
        })
    }
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
    let _serial = serial();
    let out = tcpscope(&["kill", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("refusing"), "{err}");
}

#[test]
fn without_yes_and_without_a_terminal_nothing_is_touched() {
    let _serial = serial();
    let env = Env::new("noyes");
    if env.ns.is_none() {
        println!("not root: on this namespace's loopback, on a port the kernel picks");
    }
    let (_l, c, mut s) = env.pair();
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
    let _serial = serial();
    let env = Env::new("est");
    let (_l, mut c, mut s) = env.pair();
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
    let _serial = serial();
    let env = Env::new("listen");
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
        env.plain_bind(PORT),
        Err(ErrorKind::AddrInUse),
        "still bound"
    );
    drop(l);
    assert_eq!(
        env.plain_bind(PORT),
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
    let _serial = serial();
    let env = Env::new("tw");
    let (l, mut c, s) = env.pair();
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
        env.plain_bind(PORT),
        Err(ErrorKind::AddrInUse),
        "held by the TIME_WAIT"
    );
    assert_ok(&env.tcpscope(&["kill", "--sport", &p, "--state", "time-wait", "--yes"]));
    assert!(env.list_json(&["--sport", &p]).is_empty());
    assert_eq!(env.plain_bind(PORT), Ok(()), "the port is free");
}
