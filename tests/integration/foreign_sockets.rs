//! `tcpscope kill` and `tcpscope shutdown` on the sockets of another process: a child (this
//! test binary again, in a helper mode) owns them inside a private network namespace; the peers
//! are this process's. For ESTABLISHED, CLOSE_WAIT and LISTEN, each test asserts the states of
//! both ends afterwards and what each side's next calls return.

use crate::common;

use common::{Netns, in_ns, list_json, tcpscope, wait_until};
use serde_json::Value;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddrV4, TcpStream};
use std::os::fd::{AsFd, OwnedFd};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

const HELPER_ENV: &str = "TCPSCOPE_TEST_SOCKET_OWNER";
const PTRACE_ENV: &str = "TCPSCOPE_TEST_PTRACE";
const PORT: u16 = 8080;
const DEADLINE: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// The child: owns sockets in the namespace and runs one call per command line.

fn errno_name(e: rustix::io::Errno) -> String {
    tcpscope::actions::errno::name(e.raw_os_error())
}

fn result(r: rustix::io::Result<String>) -> String {
    match r {
        Ok(s) => format!("ok {s}"),
        Err(e) => format!("err {}", errno_name(e)),
    }
}

/// One call on socket `id`; `block` makes accept and recv wait (the others never do).
fn call(socks: &mut Vec<Option<OwnedFd>>, op: &str, id: usize, block: bool) -> String {
    use rustix::net::{RecvFlags, SendFlags};
    let fd = socks[id].as_ref().unwrap().as_fd();
    let r = match op {
        "accept" => {
            rustix::io::ioctl_fionbio(fd, !block).unwrap();
            let r = rustix::net::accept(fd);
            rustix::io::ioctl_fionbio(fd, false).unwrap();
            r.map(|s| {
                socks.push(Some(s));
                (socks.len() - 1).to_string()
            })
        }
        "recv" => {
            let flags = if block {
                RecvFlags::empty()
            } else {
                RecvFlags::DONTWAIT
            };
            rustix::net::recv(fd, &mut [0u8; 1][..], flags).map(|(n, _)| n.to_string())
        }
        "send" => rustix::net::send(fd, b"x", SendFlags::NOSIGNAL | SendFlags::DONTWAIT)
            .map(|n| n.to_string()),
        "listen" => rustix::net::listen(fd, 16).map(|()| String::new()),
        "close" => {
            socks[id] = None;
            Ok(String::new())
        }
        _ => panic!("unknown op {op}"),
    };
    result(r).trim_end().to_string()
}

/// Not a test by itself: the child process the tests below start. It enters the namespace
/// named by the environment, then reads commands on stdin and answers each with one line
/// `@@ REPLY` on stdout:
/// `bind PORT` (a listener on 127.0.0.1:PORT, no SO_REUSEADDR; 0: any port) → `ok ID PORT`;
/// `accept|recv|send|listen|close ID` (never waits) → `ok [N|NEWID]` or `err ERRNO`;
/// `block accept|recv ID` → `blocking TID`, then the result when the call returns.
#[test]
fn socket_owner_helper() {
    let _host = crate::common::host::shared();
    let Some(ns) = std::env::var_os(HELPER_ENV) else {
        return;
    };
    tcpscope::sources::netns::enter(ns.to_str().unwrap()).unwrap();
    let mut socks: Vec<Option<OwnedFd>> = Vec::new();
    for line in std::io::stdin().lines() {
        let line = line.unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        let reply = match words[..] {
            ["bind", port] => {
                use rustix::net::{AddressFamily, SocketType};
                let s = rustix::net::socket(AddressFamily::INET, SocketType::STREAM, None).unwrap();
                let addr = SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, port.parse().unwrap());
                rustix::net::bind(&s, &addr).unwrap();
                rustix::net::listen(&s, 16).unwrap();
                let port = match rustix::net::getsockname(&s).unwrap().try_into().unwrap() {
                    std::net::SocketAddr::V4(a) => a.port(),
                    std::net::SocketAddr::V6(a) => a.port(),
                };
                socks.push(Some(s));
                format!("ok {} {port}", socks.len() - 1)
            }
            ["block", op, id] => {
                println!("@@ blocking {}", rustix::thread::gettid().as_raw_nonzero());
                call(&mut socks, op, id.parse().unwrap(), true)
            }
            [op, id] => call(&mut socks, op, id.parse().unwrap(), false),
            _ => panic!("bad command {line:?}"),
        };
        println!("@@ {reply}");
    }
}

/// Not a test by itself: run as nobody by a test below, it tries to shut down a socket of
/// root's and prints the error.
#[test]
fn unprivileged_shutdown_helper() {
    let _host = crate::common::host::shared();
    let Some(args) = std::env::var_os(PTRACE_ENV) else {
        return;
    };
    let args: Vec<i64> = args
        .to_str()
        .unwrap()
        .split(' ')
        .map(|a| a.parse().unwrap())
        .collect();
    let r = tcpscope::actions::foreign_shutdown::shutdown_foreign(
        i32::try_from(args[0]).unwrap(),
        i32::try_from(args[1]).unwrap(),
        u64::try_from(args[2]).unwrap(),
        Shutdown::Both,
    );
    match r {
        Ok(()) => println!("@@ ok"),
        Err(e) => println!("@@ {e:?}: {e}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The test's side.

/// The child process that owns the sockets, killed and reaped on drop.
struct Owner {
    child: Child,
    stdin: ChildStdin,
    replies: Receiver<String>,
    pid: i32,
}

impl Owner {
    fn start(ns: &Netns) -> Owner {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "foreign_sockets::socket_owner_helper",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(HELPER_ENV, &ns.name)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, replies) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // libtest prints "test socket_owner_helper ... " first, on the same line.
                if let Some(reply) = line.split("@@ ").nth(1)
                    && tx.send(reply.to_string()).is_err()
                {
                    break;
                }
            }
        });
        Owner {
            stdin: child.stdin.take().unwrap(),
            pid: i32::try_from(child.id()).unwrap(),
            child,
            replies,
        }
    }

    fn reply(&self) -> String {
        self.replies
            .recv_timeout(DEADLINE)
            .expect("the owner answers")
    }

    fn ask(&mut self, cmd: &str) -> String {
        writeln!(self.stdin, "{cmd}").unwrap();
        self.reply()
    }

    /// A call that may wait (an accept() racing the handshake's last ACK), to its end.
    fn ask_waiting(&mut self, cmd: &str) -> String {
        assert!(self.ask(&format!("block {cmd}")).starts_with("blocking "));
        self.reply()
    }

    /// Starts a call that waits, and returns once the owner is asleep in it.
    fn start_blocking(&mut self, cmd: &str) {
        writeln!(self.stdin, "block {cmd}").unwrap();
        let tid = self
            .reply()
            .strip_prefix("blocking ")
            .unwrap()
            .parse::<i32>()
            .unwrap();
        let wchan = format!("/proc/{}/task/{tid}/wchan", self.pid);
        assert!(
            wait_until(DEADLINE, || std::fs::read_to_string(&wchan)
                .is_ok_and(|w| w != "0" && !w.is_empty())),
            "the owner never slept in {cmd}"
        );
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A namespace, an owner listening on 127.0.0.1:PORT in it (socket 0), and a peer connected
/// to it, accepted by the owner (socket 1).
fn established(tag: &str) -> (Netns, Owner, TcpStream) {
    let ns = Netns::new(tag);
    let mut owner = Owner::start(&ns);
    assert_eq!(owner.ask(&format!("bind {PORT}")), format!("ok 0 {PORT}"));
    let peer = connect(&ns, PORT).unwrap();
    peer.set_read_timeout(Some(DEADLINE)).unwrap();
    assert_eq!(owner.ask_waiting("accept 0"), "ok 1");
    (ns, owner, peer)
}

fn connect(ns: &Netns, port: u16) -> std::io::Result<TcpStream> {
    in_ns(Some(ns), || TcpStream::connect(("127.0.0.1", port)))
}

/// The socket of the namespace with these ports, if any.
fn socket(ns: &Netns, local_port: u16, remote_port: u16) -> Option<Value> {
    list_json(&["--netns", &ns.name, "--sport", &local_port.to_string()])
        .into_iter()
        .find(|r| r["remote_port"] == remote_port)
}

fn state(ns: &Netns, local_port: u16, remote_port: u16) -> Option<String> {
    socket(ns, local_port, remote_port).map(|r| r["state"].as_str().unwrap().to_string())
}

/// Waits until the socket with these ports is in `want` (None: gone); panics with what it is.
fn wait_state(ns: &Netns, local_port: u16, remote_port: u16, want: Option<&str>) {
    let ok = wait_until(DEADLINE, || {
        state(ns, local_port, remote_port).as_deref() == want
    });
    assert!(
        ok,
        "{local_port}>{remote_port}: expected {want:?}, is {:?}",
        state(ns, local_port, remote_port)
    );
}

/// Runs `tcpscope ACTION --netns NS --pid OWNER --state STATE --yes`; asserts exit 0.
fn act(action: &str, ns: &Netns, owner: &Owner, state: &str) -> String {
    let pid = owner.pid.to_string();
    let out = tcpscope(&[
        action, "--netns", &ns.name, "--pid", &pid, "--state", state, "--yes",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn read_one(s: &mut TcpStream) -> Result<usize, ErrorKind> {
    s.read(&mut [0u8; 1]).map_err(|e| e.kind())
}

/// bind() of a plain socket (no SO_REUSEADDR) in the namespace: Ok, or the error kind.
fn plain_bind(ns: &Netns, port: u16) -> Result<(), ErrorKind> {
    in_ns(Some(ns), || {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        s.bind(&addr.into()).map_err(|e| e.kind())
    })
}

// ---------------------------------------------------------------------------------------------
// ESTABLISHED

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_as_nobody)),
    ignore = "needs root, ip, setpriv and a target directory nobody can enter: other processes' sockets in a namespace"
)]
fn kill_established() {
    let _host = crate::common::host::shared();
    let (ns, mut owner, mut peer) = established("fs-kill-est");
    let eph = peer.local_addr().unwrap().port();
    owner.start_blocking("recv 1");
    let out = act("kill", &ns, &owner, "established");
    assert!(out.contains("aborted ESTABLISHED"), "{out}");
    for claim in [
        "its peer gets a RST (ECONNRESET, if its end still exists) and this end is gone at once",
        "ECONNABORTED on its next call (a waiting recv() wakes with it",
        "then EPIPE from send() and 0 from recv()",
    ] {
        assert!(out.contains(claim), "{claim:?} not in {out}");
    }
    // The owner, asleep in recv(), wakes with ECONNABORTED; its peer gets the RST.
    assert_eq!(owner.reply(), "err ECONNABORTED");
    assert_eq!(read_one(&mut peer), Err(ErrorKind::ConnectionReset));
    // Both ends are gone at once, no TIME_WAIT.
    assert_eq!(state(&ns, PORT, eph), None);
    assert_eq!(state(&ns, eph, PORT), None);
    // The error is reported once; after it the socket is simply closed.
    assert_eq!(owner.ask("send 1"), "err EPIPE");
    assert_eq!(owner.ask("recv 1"), "ok 0");
    assert_eq!(read_one(&mut peer), Ok(0));
    assert_eq!(
        peer.write(b"x").map_err(|e| e.kind()),
        Err(ErrorKind::BrokenPipe)
    );
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_as_nobody)),
    ignore = "needs root, ip, setpriv and a target directory nobody can enter: other processes' sockets in a namespace"
)]
fn shutdown_established() {
    let _host = crate::common::host::shared();
    let (ns, mut owner, mut peer) = established("fs-shut-est");
    let eph = peer.local_addr().unwrap().port();
    owner.start_blocking("recv 1");
    let out = act("shutdown", &ns, &owner, "established");
    assert!(out.contains("shut down ESTABLISHED"), "{out}");
    // What it said will happen is what the assertions below check.
    for claim in [
        "the peer reads end-of-file",
        "recv() returns 0 (a waiting one wakes)",
        "send() fails with EPIPE",
        "FIN_WAIT2, with no timer",
        "CLOSE_WAIT until the peer closes",
        "data the peer still sends is answered with a RST",
    ] {
        assert!(out.contains(claim), "{claim:?} not in {out}");
    }
    // The owner, asleep in recv(), wakes with end-of-file; the peer reads end-of-file.
    assert_eq!(owner.reply(), "ok 0");
    assert_eq!(read_one(&mut peer), Ok(0));
    // The owner's end waits in FIN_WAIT2 with no timer (its fd is open); the peer's in
    // CLOSE_WAIT, until it closes.
    wait_state(&ns, PORT, eph, Some("FIN_WAIT2"));
    assert_eq!(socket(&ns, PORT, eph).unwrap()["timer"], Value::Null);
    assert_eq!(state(&ns, eph, PORT).as_deref(), Some("CLOSE_WAIT"));
    assert_eq!(owner.ask("send 1"), "err EPIPE");
    assert_eq!(owner.ask("recv 1"), "ok 0");
    // The peer may still send: the owner's end, shut for reading, answers data with a RST.
    assert_eq!(peer.write(b"x").map_err(|e| e.kind()), Ok(1));
    wait_state(&ns, PORT, eph, None);
    wait_state(&ns, eph, PORT, None);
    assert_eq!(owner.ask("recv 1"), "err ECONNRESET");
    assert_eq!(
        peer.write(b"x").map_err(|e| e.kind()),
        Err(ErrorKind::BrokenPipe)
    );
}

// ---------------------------------------------------------------------------------------------
// CLOSE_WAIT: the peer closed its sending side (shutdown(SHUT_WR), so that it can still see
// what comes back); the owner never closes.

fn close_wait(tag: &str) -> (Netns, Owner, TcpStream, u16) {
    let (ns, mut owner, peer) = established(tag);
    let eph = peer.local_addr().unwrap().port();
    peer.shutdown(Shutdown::Write).unwrap();
    wait_state(&ns, PORT, eph, Some("CLOSE_WAIT"));
    assert_eq!(state(&ns, eph, PORT).as_deref(), Some("FIN_WAIT2"));
    assert_eq!(owner.ask("recv 1"), "ok 0", "the owner has read the FIN");
    (ns, owner, peer, eph)
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_as_nobody)),
    ignore = "needs root, ip, setpriv and a target directory nobody can enter: other processes' sockets in a namespace"
)]
fn kill_close_wait() {
    let _host = crate::common::host::shared();
    let (ns, mut owner, mut peer, eph) = close_wait("fs-kill-cw");
    let out = act("kill", &ns, &owner, "close-wait");
    assert!(out.contains("aborted CLOSE_WAIT"), "{out}");
    assert!(
        out.contains("in CLOSE_WAIT recv() still returns 0 and send() gets it"),
        "{out}"
    );
    assert_eq!(read_one(&mut peer), Err(ErrorKind::ConnectionReset));
    assert_eq!(state(&ns, PORT, eph), None);
    assert_eq!(state(&ns, eph, PORT), None);
    // recv() keeps returning end-of-file (the FIN came first); send() gets the abort.
    assert_eq!(owner.ask("recv 1"), "ok 0");
    assert_eq!(owner.ask("send 1"), "err ECONNABORTED");
    assert_eq!(owner.ask("send 1"), "err EPIPE");
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_as_nobody)),
    ignore = "needs root, ip, setpriv and a target directory nobody can enter: other processes' sockets in a namespace"
)]
fn shutdown_close_wait() {
    let _host = crate::common::host::shared();
    let (ns, mut owner, mut peer, eph) = close_wait("fs-shut-cw");
    let out = act("shutdown", &ns, &owner, "close-wait");
    assert!(out.contains("shut down CLOSE_WAIT"), "{out}");
    assert!(
        out.contains(
            "sends the FIN its owner never did and is closed; the peer's end goes to TIME_WAIT"
        ),
        "{out}"
    );
    // The FIN the owner never sent goes now: the peer reads end-of-file and its end goes to
    // TIME_WAIT; the owner's end (LAST_ACK, then the peer's ACK) is closed.
    assert_eq!(read_one(&mut peer), Ok(0));
    wait_state(&ns, PORT, eph, None);
    wait_state(&ns, eph, PORT, Some("TIME_WAIT"));
    assert_eq!(owner.ask("recv 1"), "ok 0");
    assert_eq!(owner.ask("send 1"), "err EPIPE");
    // The TIME_WAIT is nobody's: shutdown skips it and says who can remove it.
    let out = tcpscope(&[
        "shutdown",
        "--netns",
        &ns.name,
        "--sport",
        &eph.to_string(),
        "--yes",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "skipped TIME_WAIT 127.0.0.1:{eph} > 127.0.0.1:{PORT}: no process holds it; only `tcpscope kill` can remove it"
        )),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to shut down"));
    assert_eq!(state(&ns, eph, PORT).as_deref(), Some("TIME_WAIT"));
    // With a socket a process holds among the matches, that one is shut down and the
    // TIME_WAIT skipped: exit 0.
    let out = tcpscope(&[
        "shutdown",
        "--netns",
        &ns.name,
        "--port",
        &PORT.to_string(),
        "--yes",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("skipped TIME_WAIT"), "{stdout}");
    assert!(stdout.contains("shut down LISTEN"), "{stdout}");
    assert_eq!(state(&ns, PORT, 0), None);
    assert_eq!(state(&ns, eph, PORT).as_deref(), Some("TIME_WAIT"));
}

// ---------------------------------------------------------------------------------------------
// LISTEN: two listeners on explicit ports, one with a connection waiting in its accept queue
// (socket 0), one with the owner asleep in accept() (socket 1); and one bound to port 0, as
// test servers and FTP data channels are (socket 2).

struct Listeners {
    ns: Netns,
    owner: Owner,
    queued: TcpStream,
    any_port: u16,
}

fn listeners(tag: &str) -> Listeners {
    let ns = Netns::new(tag);
    let mut owner = Owner::start(&ns);
    assert_eq!(owner.ask(&format!("bind {PORT}")), format!("ok 0 {PORT}"));
    assert_eq!(
        owner.ask(&format!("bind {}", PORT + 1)),
        format!("ok 1 {}", PORT + 1)
    );
    let any_port = owner
        .ask("bind 0")
        .strip_prefix("ok 2 ")
        .unwrap()
        .parse()
        .unwrap();
    let queued = connect(&ns, PORT).unwrap();
    queued.set_read_timeout(Some(DEADLINE)).unwrap();
    owner.start_blocking("accept 1");
    Listeners {
        ns,
        owner,
        queued,
        any_port,
    }
}

/// What both commands say happens to a listener, checked by `after_listener_action`.
const LISTENER_CLAIMS: &str =
    "A LISTEN socket stops accepting: the owner's accept() fails with EINVAL";

fn after_listener_action(mut l: Listeners) {
    let Listeners {
        ns,
        owner,
        queued,
        any_port,
    } = &mut l;
    let (ns, any_port) = (&*ns, *any_port);
    let queued_port = queued.local_addr().unwrap().port();
    // The owner asleep in accept() wakes with EINVAL; a later accept() fails the same way.
    assert_eq!(owner.reply(), "err EINVAL");
    assert_eq!(owner.ask("accept 0"), "err EINVAL");
    // The connection waiting in the accept queue is reset; new ones are refused.
    assert_eq!(read_one(queued), Err(ErrorKind::ConnectionReset));
    assert_eq!(state(ns, queued_port, PORT), None);
    assert_eq!(
        connect(ns, PORT).map_err(|e| e.kind()).unwrap_err(),
        ErrorKind::ConnectionRefused
    );
    // Neither listens any more, but both ports stay bound while the owner holds the fds.
    assert!(list_json(&["--netns", &ns.name, "--state", "listen"]).is_empty());
    assert_eq!(plain_bind(ns, PORT), Err(ErrorKind::AddrInUse));
    assert_eq!(plain_bind(ns, PORT + 1), Err(ErrorKind::AddrInUse));
    // One bound to port 0 gave its port back at once.
    assert_eq!(plain_bind(ns, any_port), Ok(()));
    // The owner may listen() again on the same socket, and it accepts again.
    assert_eq!(owner.ask("listen 1"), "ok");
    assert_eq!(state(ns, PORT + 1, 0).as_deref(), Some("LISTEN"));
    let _again = connect(ns, PORT + 1).unwrap();
    assert_eq!(owner.ask_waiting("accept 1"), "ok 3");
    // Once the owner closes the other one, its port is free.
    assert_eq!(owner.ask("close 0"), "ok");
    assert_eq!(plain_bind(ns, PORT), Ok(()));
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_as_nobody)),
    ignore = "needs root, ip, setpriv and a target directory nobody can enter: other processes' sockets in a namespace"
)]
fn kill_listen() {
    let _host = crate::common::host::shared();
    let l = listeners("fs-kill-l");
    let out = act("kill", &l.ns, &l.owner, "listen");
    assert_eq!(out.matches("aborted LISTEN").count(), 3, "{out}");
    assert!(out.contains(LISTENER_CLAIMS), "{out}");
    after_listener_action(l);
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_as_nobody)),
    ignore = "needs root, ip, setpriv and a target directory nobody can enter: other processes' sockets in a namespace"
)]
fn shutdown_listen() {
    let _host = crate::common::host::shared();
    let l = listeners("fs-shut-l");
    let out = act("shutdown", &l.ns, &l.owner, "listen");
    assert_eq!(out.matches("shut down LISTEN").count(), 3, "{out}");
    assert!(out.contains(LISTENER_CLAIMS), "{out}");
    assert!(out.contains("the owner may listen() on it again"), "{out}");
    after_listener_action(l);
}

// ---------------------------------------------------------------------------------------------
// Refusals.

#[test]
fn shutdown_refuses_an_empty_filter() {
    let _host = crate::common::host::shared();
    let out = tcpscope(&["shutdown", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("refusing"), "{err}");
}

#[test]
fn shutdown_refuses_no_owners() {
    let _host = crate::common::host::shared();
    let out = tcpscope(&["shutdown", "--port", "1", "--no-owners", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--no-owners"), "{err}");
}

#[test]
fn shutdown_without_yes_and_without_a_terminal_touches_nothing() {
    let _host = crate::common::host::shared();
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (mut s, _) = l.accept().unwrap();
    let cport = c.local_addr().unwrap().port().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_tcpscope"))
        .args(["shutdown", "--sport", &cport])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("ESTABLISHED"),
        "it lists the match: {stdout}"
    );
    assert!(stdout.contains("shutdown(SHUT_RDWR)"), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not confirmed"));
    assert_eq!(list_json(&["--sport", &cport])[0]["state"], "ESTABLISHED");
    s.set_nonblocking(true).unwrap();
    assert_eq!(read_one(&mut s), Err(ErrorKind::WouldBlock), "no FIN came");
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_as_nobody)),
    ignore = "needs root, ip, setpriv and a target directory nobody can enter: other processes' sockets in a namespace"
)]
fn shutdown_without_ptrace_permission_names_it() {
    let _host = crate::common::host::shared();
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let inode = {
        use std::os::fd::AsRawFd;
        let fd = l.as_raw_fd();
        (fd, rustix::fs::fstat(&l).unwrap().st_ino)
    };
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "foreign_sockets::unprivileged_shutdown_helper",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(
            PTRACE_ENV,
            format!("{} {} {}", std::process::id(), inode.0, inode.1),
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let Some(reply) = stdout.split("@@ ").nth(1) else {
        panic!("this test binary, run as nobody, gave no reply: {stdout}");
    };
    assert!(reply.starts_with("Permission: "), "{reply}");
    assert!(reply.contains("CAP_SYS_PTRACE"), "{reply}");
    assert_eq!(state_of_listener(&l), "LISTEN", "the listener is untouched");
}

fn state_of_listener(l: &std::net::TcpListener) -> String {
    let port = l.local_addr().unwrap().port().to_string();
    list_json(&["--sport", &port, "--state", "listen"])[0]["state"]
        .as_str()
        .unwrap()
        .to_string()
}
