//! Real loopback sockets of this test process in every lasting state, seen through both
//! sources by the real binary: state, queues, timers and owner.

use crate::common;

use common::{list_json, wait_until};
use serde_json::Value;
use socket2::{Domain, Socket, Type};
use std::io::Read;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

const SOURCES: [&str; 2] = ["netlink", "procfs"];

fn listener(addr: &str, backlog: i32) -> TcpListener {
    let addr: SocketAddr = addr.parse().unwrap();
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, None).unwrap();
    s.bind(&addr.into()).unwrap();
    s.listen(backlog).unwrap();
    s.into()
}

fn on_port(source: &str, port: u16) -> Vec<Value> {
    list_json(&["--source", source, "--port", &port.to_string()])
}

/// Only sockets with a file, for counting: a TIME_WAIT left by another test may have this
/// test's port as its remote port (the kernel hands freed ports out again).
fn with_file(mut recs: Vec<Value>) -> Vec<Value> {
    recs.retain(|r| r["inode"] != 0);
    recs
}

/// The inode of a socket of this process, as `list` reports it.
fn fd_inode(socket: &impl std::os::fd::AsRawFd) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/proc/self/fd/{}", socket.as_raw_fd()))
        .unwrap()
        .ino()
}

fn find<'a>(recs: &'a [Value], state: &str, local_port: u16) -> Option<&'a Value> {
    recs.iter()
        .find(|r| r["state"] == state && r["local_port"] == local_port)
}

fn owned_by_me(rec: &Value) -> bool {
    let me = i64::from(std::process::id());
    rec["owners"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["pid"] == me)
}

/// Waits until both sources show `state` on `local_port` of the pair on `port`.
fn wait_for_state(port: u16, state: &str, local_port: u16) {
    for source in SOURCES {
        assert!(
            wait_until(Duration::from_secs(5), || {
                find(&on_port(source, port), state, local_port).is_some()
            }),
            "{source}: no {state} on :{local_port}"
        );
    }
}

#[test]
fn listener_with_accept_queue_and_backlog() {
    let _host = crate::common::host::shared();
    let l = listener("127.0.0.1:0", 7);
    let port = l.local_addr().unwrap().port();
    let _waiting: Vec<TcpStream> = (0..2)
        .map(|_| TcpStream::connect(l.local_addr().unwrap()).unwrap())
        .collect();
    for source in SOURCES {
        assert!(wait_until(Duration::from_secs(5), || {
            find(&on_port(source, port), "LISTEN", port).is_some_and(|r| r["recv_q"] == 2)
        }));
        let recs = on_port(source, port);
        let rec = find(&recs, "LISTEN", port).unwrap();
        assert!(owned_by_me(rec), "{source}: {rec}");
        assert_eq!(rec["family"], "inet");
        assert_eq!(rec["local_addr"], "127.0.0.1");
        assert_eq!(rec["remote_port"], 0);
        assert_ne!(rec["inode"], 0);
        // /proc/net/tcp has no backlog column (see sources::proc_net).
        let backlog = if source == "netlink" { 7 } else { 0 };
        assert_eq!(rec["send_q"], backlog, "{source}: {rec}");
        // Queued, not yet accepted connections have no fd, hence no owner.
        let queued: Vec<_> = recs
            .iter()
            .filter(|r| r["state"] == "ESTABLISHED" && r["local_port"] == port)
            .collect();
        assert_eq!(queued.len(), 2, "{source}");
        assert!(
            queued
                .iter()
                .all(|r| r["owners"].as_array().unwrap().is_empty())
        );
    }
}

#[test]
fn established_with_unread_data_and_tcp_info() {
    let _host = crate::common::host::shared();
    let l = listener("127.0.0.1:0", 16);
    let port = l.local_addr().unwrap().port();
    let mut client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (_server, _) = l.accept().unwrap();
    std::io::Write::write_all(&mut client, b"hello").unwrap();
    for source in SOURCES {
        assert!(wait_until(Duration::from_secs(5), || {
            find(&on_port(source, port), "ESTABLISHED", port).is_some_and(|r| r["recv_q"] == 5)
        }));
        let recs = on_port(source, port);
        let server = find(&recs, "ESTABLISHED", port).unwrap();
        let client_port = client.local_addr().unwrap().port();
        let client = find(&recs, "ESTABLISHED", client_port).unwrap();
        assert_eq!(server["remote_port"], client_port);
        assert!(owned_by_me(server) && owned_by_me(client), "{source}");
        if source == "netlink" {
            assert_ne!(server["cookie"], 0);
            assert!(server["tcp_info"]["cwnd"].as_u64().unwrap() > 0, "{server}");
        } else {
            assert_eq!(server["tcp_info"], Value::Null);
        }
    }
}

#[test]
fn half_close_gives_fin_wait2_without_timer_and_close_wait() {
    let _host = crate::common::host::shared();
    let l = listener("127.0.0.1:0", 16);
    let port = l.local_addr().unwrap().port();
    let client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (_server, _) = l.accept().unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    let client_port = client.local_addr().unwrap().port();
    wait_for_state(port, "FIN_WAIT2", client_port);
    wait_for_state(port, "CLOSE_WAIT", port);
    for source in SOURCES {
        let recs = on_port(source, port);
        let fw2 = find(&recs, "FIN_WAIT2", client_port).unwrap();
        // The fd is still open: no timer, FIN_WAIT2 lasts for ever.
        assert_eq!(fw2["timer"], Value::Null, "{source}: {fw2}");
        assert!(owned_by_me(fw2));
        let cw = find(&recs, "CLOSE_WAIT", port).unwrap();
        assert!(owned_by_me(cw));
        // The FIN counts as one byte not read yet.
        assert_eq!(cw["recv_q"], 1, "{source}: {cw}");
    }
}

#[test]
fn active_close_leaves_time_wait_with_its_timer() {
    let _host = crate::common::host::shared();
    let l = listener("127.0.0.1:0", 16);
    let port = l.local_addr().unwrap().port();
    let client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (mut server, _) = l.accept().unwrap();
    let client_port = client.local_addr().unwrap().port();
    drop(client);
    // The server reads the FIN, then closes: the client end goes to TIME_WAIT.
    assert_eq!(server.read(&mut [0u8; 8]).unwrap(), 0);
    drop(server);
    wait_for_state(port, "TIME_WAIT", client_port);
    for source in SOURCES {
        let recs = on_port(source, port);
        let tw = find(&recs, "TIME_WAIT", client_port).unwrap();
        assert_eq!(tw["timer"]["kind"], "timewait", "{source}: {tw}");
        let left = tw["timer"]["remaining_ms"].as_u64().unwrap();
        assert!(left > 0 && left <= 60_000, "{source}: {left}");
        // A timewait socket has no inode, hence no owner.
        assert_eq!(tw["inode"], 0);
        assert!(tw["owners"].as_array().unwrap().is_empty());
    }
}

#[test]
#[cfg_attr(
    not(tcpscope_test_ipv6),
    ignore = "needs ::1 on the loopback (IPv6 is off here)"
)]
fn ipv6_listener_and_connection() {
    let _host = crate::common::host::shared();
    let l = listener("[::1]:0", 16);
    let port = l.local_addr().unwrap().port();
    let client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (_server, _) = l.accept().unwrap();
    let client_port = client.local_addr().unwrap().port();
    wait_for_state(port, "ESTABLISHED", client_port);
    for source in SOURCES {
        let recs = on_port(source, port);
        let listen = find(&recs, "LISTEN", port).unwrap();
        assert_eq!(listen["family"], "inet6");
        assert_eq!(listen["local_addr"], "::1");
        assert!(owned_by_me(listen));
        let est = find(&recs, "ESTABLISHED", client_port).unwrap();
        assert_eq!(est["remote_addr"], "::1");
        assert_eq!(est["remote_port"], port);
        // -4 hides them, -6 keeps them.
        let only4 = with_file(list_json(&[
            "--source",
            source,
            "--port",
            &port.to_string(),
            "-4",
        ]));
        assert!(only4.is_empty(), "{source}");
        let only6 = with_file(list_json(&[
            "--source",
            source,
            "--port",
            &port.to_string(),
            "-6",
        ]));
        assert_eq!(only6.len(), with_file(recs).len());
    }
}

#[test]
fn filters_by_state_sport_dport_and_pid() {
    let _host = crate::common::host::shared();
    let l = listener("127.0.0.1:0", 16);
    let port = l.local_addr().unwrap().port();
    let client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (server, _) = l.accept().unwrap();
    let p = port.to_string();
    let cp = client.local_addr().unwrap().port().to_string();
    // Only this test's three sockets count, by their inodes: another test of this process may
    // hold sockets with the same ports (an [::1] one, a connection from the same ephemeral port
    // to another address, a TIME_WAIT of an earlier listener on this port number).
    let ours = [fd_inode(&l), fd_inode(&client), fd_inode(&server)];
    for source in SOURCES {
        let s = |extra: &[&str]| {
            let mut args = vec!["--source", source, "--port", &p, "-4"];
            args.extend_from_slice(extra);
            let all = with_file(list_json(&args));
            let recs: Vec<Value> = all
                .iter()
                .filter(|r| r["inode"].as_u64().is_some_and(|i| ours.contains(&i)))
                .cloned()
                .collect();
            (recs, all)
        };
        let check = |extra: &[&str], want: usize| {
            let (recs, all) = s(extra);
            assert_eq!(
                recs.len(),
                want,
                "{extra:?}: ours {ours:?}, listed {}",
                serde_json::to_string(&all).unwrap()
            );
        };
        check(&[], 3);
        check(&["--state", "listen"], 1);
        check(&["--state", "Established"], 2);
        check(&["--state", "connected"], 2);
        check(&["--state", "closing"], 0);
        check(&["--state", "listen", "--state", "estab"], 3);
        check(&["--sport", &p], 2);
        check(&["--dport", &p], 1);
        check(&["--sport", &cp], 1);
        check(&["--pid", &std::process::id().to_string()], 3);
        check(&["--pid", "1"], 0);
        // Without owners the records carry an empty owner list.
        let (bare, _) = s(&["--no-owners"]);
        assert!(
            bare.iter()
                .all(|r| r["owners"].as_array().unwrap().is_empty())
        );
    }
}
