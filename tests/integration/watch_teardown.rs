//! Real teardowns in a network namespace of the test's own, watched by the real binary
//! (`tcpscope watch --json`), with kernel events and without: the exact sequence of
//! transitions of both ends, through TIME_WAIT to GONE. Needs root; ~70 s (TIME_WAIT is 60 s).

use crate::common;

use common::Netns;
use common::watch::JsonWatch;
use socket2::SockRef;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// Runs `f` on a thread inside the namespace, so that its sockets and its system calls
/// belong there.
fn in_ns<T: Send>(ns: &Netns, f: impl FnOnce() -> T + Send) -> T {
    common::in_ns(Some(ns), f)
}

/// `tcpscope watch --json` in the namespace, and whether it has kernel events.
struct Watch {
    json: JsonWatch,
    traced: bool,
}

impl Watch {
    fn start(ns: &Netns, events: &str) -> Watch {
        Watch {
            json: JsonWatch::start(ns, events, 100),
            traced: events == "on",
        }
    }

    /// Collects lines until `done` holds; fails with everything seen after 90 s.
    fn wait(&mut self, what: &str, done: impl Fn(&Watch) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(90);
        while !done(self) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "timed out waiting for {what}; seen:\n{}",
                self.dump()
            );
            self.json.gather(left.min(Duration::from_millis(200)));
        }
    }

    fn dump(&self) -> String {
        self.json.dump()
    }

    /// The transitions of one end of the connection to listener port `port`: `FROM>TO`,
    /// with `:sent` or `:received` for resets.
    fn end(&self, port: u16, side: Side) -> Vec<String> {
        self.json
            .seen
            .iter()
            .filter(|t| match side {
                Side::Server => t["local_port"] == port && t["remote_port"] != 0,
                Side::Client => t["remote_port"] == port,
            })
            .map(|t| {
                let reset = t["reset"]
                    .as_str()
                    .map(|r| format!(":{r}"))
                    .unwrap_or_default();
                format!(
                    "{}>{}{reset}",
                    t["from"].as_str().unwrap(),
                    t["to"].as_str().unwrap()
                )
            })
            .collect()
    }

    fn wait_end(&mut self, port: u16, side: Side, last: &str) {
        self.wait(&format!("{side:?} of :{port} to reach {last}"), |w| {
            w.end(port, side)
                .iter()
                .any(|t| t.ends_with(last) || t.contains(&format!(">{last}")))
        });
    }
}

#[derive(Debug, Clone, Copy)]
enum Side {
    Client,
    Server,
}

/// What one scenario expects of its two ends, and the sockets it keeps open meanwhile.
struct Expect {
    name: &'static str,
    port: u16,
    client: Vec<&'static str>,
    server: Vec<&'static str>,
    _keep: Vec<Box<dyn Send>>,
}

/// Listener and one accepted connection in the namespace; waits until watch shows both ends
/// established.
fn connected(ns: &Netns, w: &mut Watch) -> (TcpListener, TcpStream, TcpStream, u16) {
    let (l, c, s) = in_ns(ns, || {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        (l, c, s)
    });
    let port = l.local_addr().unwrap().port();
    w.wait_end(port, Side::Client, "ESTABLISHED");
    w.wait_end(port, Side::Server, "ESTABLISHED");
    (l, c, s, port)
}

fn pick(traced: bool, t: Vec<&'static str>, i: Vec<&'static str>) -> Vec<&'static str> {
    if traced { t } else { i }
}

fn active_close_by_client(ns: &Netns, w: &mut Watch) -> Expect {
    let (l, c, mut s, port) = connected(ns, w);
    in_ns(ns, || drop(c));
    w.wait_end(port, Side::Client, "FIN_WAIT2");
    w.wait_end(port, Side::Server, "CLOSE_WAIT");
    in_ns(ns, || {
        assert_eq!(s.read(&mut [0u8; 8]).unwrap(), 0);
        drop(s);
    });
    w.wait_end(port, Side::Client, "TIME_WAIT");
    let t = w.traced;
    Expect {
        name: "active close by the client",
        port,
        client: pick(
            t,
            vec![
                "CLOSE>SYN_SENT",
                "SYN_SENT>ESTABLISHED",
                "ESTABLISHED>FIN_WAIT1",
                "FIN_WAIT1>FIN_WAIT2",
                "FIN_WAIT2>TIME_WAIT",
                "TIME_WAIT>GONE",
            ],
            vec![
                "CLOSE>ESTABLISHED",
                "ESTABLISHED>FIN_WAIT2",
                "FIN_WAIT2>TIME_WAIT",
                "TIME_WAIT>GONE",
            ],
        ),
        server: pick(
            t,
            vec![
                "LISTEN>SYN_RECV",
                "SYN_RECV>ESTABLISHED",
                "ESTABLISHED>CLOSE_WAIT",
                "CLOSE_WAIT>LAST_ACK",
                "LAST_ACK>CLOSE",
                "CLOSE>GONE",
            ],
            vec![
                "CLOSE>ESTABLISHED",
                "ESTABLISHED>CLOSE_WAIT",
                "CLOSE_WAIT>GONE",
            ],
        ),
        _keep: vec![Box::new(l)],
    }
}

fn active_close_by_server(ns: &Netns, w: &mut Watch) -> Expect {
    let (l, mut c, s, port) = connected(ns, w);
    in_ns(ns, || drop(s));
    w.wait_end(port, Side::Server, "FIN_WAIT2");
    w.wait_end(port, Side::Client, "CLOSE_WAIT");
    in_ns(ns, || {
        assert_eq!(c.read(&mut [0u8; 8]).unwrap(), 0);
        drop(c);
    });
    w.wait_end(port, Side::Server, "TIME_WAIT");
    let t = w.traced;
    Expect {
        name: "active close by the server",
        port,
        client: pick(
            t,
            vec![
                "CLOSE>SYN_SENT",
                "SYN_SENT>ESTABLISHED",
                "ESTABLISHED>CLOSE_WAIT",
                "CLOSE_WAIT>LAST_ACK",
                "LAST_ACK>CLOSE",
                "CLOSE>GONE",
            ],
            vec![
                "CLOSE>ESTABLISHED",
                "ESTABLISHED>CLOSE_WAIT",
                "CLOSE_WAIT>GONE",
            ],
        ),
        server: pick(
            t,
            vec![
                "LISTEN>SYN_RECV",
                "SYN_RECV>ESTABLISHED",
                "ESTABLISHED>FIN_WAIT1",
                "FIN_WAIT1>FIN_WAIT2",
                "FIN_WAIT2>TIME_WAIT",
                "TIME_WAIT>GONE",
            ],
            vec![
                "CLOSE>ESTABLISHED",
                "ESTABLISHED>FIN_WAIT2",
                "FIN_WAIT2>TIME_WAIT",
                "TIME_WAIT>GONE",
            ],
        ),
        _keep: vec![Box::new(l)],
    }
}

fn rst_through_linger_zero(ns: &Netns, w: &mut Watch) -> Expect {
    let (l, c, s, port) = connected(ns, w);
    in_ns(ns, || {
        SockRef::from(&c).set_linger(Some(Duration::ZERO)).unwrap();
        drop(c);
    });
    w.wait_end(port, Side::Client, "GONE");
    w.wait_end(port, Side::Server, if w.traced { "CLOSE" } else { "GONE" });
    in_ns(ns, || drop(s));
    if w.traced {
        w.wait_end(port, Side::Server, "GONE");
    }
    let t = w.traced;
    Expect {
        name: "RST through SO_LINGER {1,0}",
        port,
        client: pick(
            t,
            vec![
                "CLOSE>SYN_SENT",
                "SYN_SENT>ESTABLISHED",
                "ESTABLISHED>CLOSE:sent",
                "CLOSE>GONE",
            ],
            vec!["CLOSE>ESTABLISHED", "ESTABLISHED>GONE"],
        ),
        server: pick(
            t,
            vec![
                "LISTEN>SYN_RECV",
                "SYN_RECV>ESTABLISHED",
                "ESTABLISHED>CLOSE:received",
                "CLOSE>GONE",
            ],
            vec!["CLOSE>ESTABLISHED", "ESTABLISHED>GONE"],
        ),
        _keep: vec![Box::new(l)],
    }
}

fn close_with_unread_data(ns: &Netns, w: &mut Watch) -> Expect {
    let (l, mut c, s, port) = connected(ns, w);
    in_ns(ns, || {
        c.write_all(b"unread").unwrap();
        // Blocks until the data is in the server's queue; leaves it there.
        s.peek(&mut [0u8; 1]).unwrap();
        drop(s);
    });
    w.wait_end(port, Side::Server, "GONE");
    w.wait_end(port, Side::Client, if w.traced { "CLOSE" } else { "GONE" });
    in_ns(ns, || drop(c));
    if w.traced {
        w.wait_end(port, Side::Client, "GONE");
    }
    let t = w.traced;
    Expect {
        name: "close with unread data",
        port,
        client: pick(
            t,
            vec![
                "CLOSE>SYN_SENT",
                "SYN_SENT>ESTABLISHED",
                "ESTABLISHED>CLOSE:received",
                "CLOSE>GONE",
            ],
            vec!["CLOSE>ESTABLISHED", "ESTABLISHED>GONE"],
        ),
        server: pick(
            t,
            vec![
                "LISTEN>SYN_RECV",
                "SYN_RECV>ESTABLISHED",
                "ESTABLISHED>CLOSE:sent",
                "CLOSE>GONE",
            ],
            vec!["CLOSE>ESTABLISHED", "ESTABLISHED>GONE"],
        ),
        _keep: vec![Box::new(l)],
    }
}

fn half_close(ns: &Netns, w: &mut Watch) -> Expect {
    let (l, c, s, port) = connected(ns, w);
    in_ns(ns, || c.shutdown(Shutdown::Write).unwrap());
    w.wait_end(port, Side::Client, "FIN_WAIT2");
    w.wait_end(port, Side::Server, "CLOSE_WAIT");
    let t = w.traced;
    // Both fds stay open to the end of the test: nothing more may happen to either end.
    Expect {
        name: "half-close",
        port,
        client: pick(
            t,
            vec![
                "CLOSE>SYN_SENT",
                "SYN_SENT>ESTABLISHED",
                "ESTABLISHED>FIN_WAIT1",
                "FIN_WAIT1>FIN_WAIT2",
            ],
            vec!["CLOSE>ESTABLISHED", "ESTABLISHED>FIN_WAIT2"],
        ),
        server: pick(
            t,
            vec![
                "LISTEN>SYN_RECV",
                "SYN_RECV>ESTABLISHED",
                "ESTABLISHED>CLOSE_WAIT",
            ],
            vec!["CLOSE>ESTABLISHED", "ESTABLISHED>CLOSE_WAIT"],
        ),
        _keep: vec![Box::new(l), Box::new(c), Box::new(s)],
    }
}

fn write_after_peer_closed(ns: &Netns, w: &mut Watch) -> Expect {
    let (l, mut c, s, port) = connected(ns, w);
    in_ns(ns, || drop(s));
    w.wait_end(port, Side::Server, "FIN_WAIT2");
    w.wait_end(port, Side::Client, "CLOSE_WAIT");
    // The first write succeeds; the closed peer answers with RST.
    in_ns(ns, || c.write_all(b"late").unwrap());
    w.wait_end(port, Side::Client, if w.traced { "CLOSE" } else { "GONE" });
    let second = in_ns(ns, || c.write_all(b"later"));
    assert_eq!(second.unwrap_err().kind(), std::io::ErrorKind::BrokenPipe);
    in_ns(ns, || drop(c));
    w.wait_end(port, Side::Client, "GONE");
    w.wait_end(port, Side::Server, "GONE");
    let t = w.traced;
    Expect {
        name: "write after the peer closed",
        port,
        client: pick(
            t,
            vec![
                "CLOSE>SYN_SENT",
                "SYN_SENT>ESTABLISHED",
                "ESTABLISHED>CLOSE_WAIT",
                "CLOSE_WAIT>CLOSE:received",
                "CLOSE>GONE",
            ],
            vec![
                "CLOSE>ESTABLISHED",
                "ESTABLISHED>CLOSE_WAIT",
                "CLOSE_WAIT>GONE",
            ],
        ),
        server: pick(
            t,
            vec![
                "LISTEN>SYN_RECV",
                "SYN_RECV>ESTABLISHED",
                "ESTABLISHED>FIN_WAIT1",
                "FIN_WAIT1>FIN_WAIT2",
                "FIN_WAIT2>GONE:sent",
            ],
            vec![
                "CLOSE>ESTABLISHED",
                "ESTABLISHED>FIN_WAIT2",
                "FIN_WAIT2>GONE",
            ],
        ),
        _keep: vec![Box::new(l)],
    }
}

fn run_all(events: &str) {
    let ns = Netns::new(&format!("watch-{events}"));
    let mut w = Watch::start(&ns, events);
    let scenarios: Vec<Expect> = vec![
        active_close_by_client(&ns, &mut w),
        active_close_by_server(&ns, &mut w),
        rst_through_linger_zero(&ns, &mut w),
        close_with_unread_data(&ns, &mut w),
        half_close(&ns, &mut w),
        write_after_peer_closed(&ns, &mut w),
    ];
    // TIME_WAIT lasts 60 s: wait for its end, then compare everything.
    for e in &scenarios {
        if e.client.last() == Some(&"TIME_WAIT>GONE") {
            w.wait_end(e.port, Side::Client, "TIME_WAIT>GONE");
        }
        if e.server.last() == Some(&"TIME_WAIT>GONE") {
            w.wait_end(e.port, Side::Server, "TIME_WAIT>GONE");
        }
    }
    let mut failures = Vec::new();
    for e in &scenarios {
        for (side, expected) in [(Side::Client, &e.client), (Side::Server, &e.server)] {
            let got = w.end(e.port, side);
            if got != *expected {
                failures.push(format!(
                    "{} ({side:?}):\n  expected {expected:?}\n  got      {got:?}",
                    e.name
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "--events {events}:\n{}\nall lines:\n{}",
        failures.join("\n"),
        w.dump()
    );
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip)),
    ignore = "needs root and ip (iproute2): namespaces and kernel events"
)]
fn teardowns_traced_from_kernel_events() {
    let _host = crate::common::host::group("teardown");
    run_all("on");
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip)),
    ignore = "needs root and ip (iproute2): namespaces and kernel events"
)]
fn teardowns_inferred_from_snapshots() {
    let _host = crate::common::host::group("teardown");
    run_all("off");
}
