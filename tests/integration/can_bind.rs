//! `tcpscope can-bind` against real holders of a port: its exit code, errno and the option
//! sets it says would succeed, each verified by binding with that set for real.

use crate::common;

use common::{list_json, tcpscope, wait_until};
use serde_json::Value;
use socket2::{Domain, Socket, Type};
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

fn can_bind(port: u16, extra: &[&str]) -> (i32, Value) {
    let p = port.to_string();
    let mut args = vec!["can-bind", p.as_str(), "--addr", "127.0.0.1", "--json"];
    args.extend_from_slice(extra);
    let out = tcpscope(&args);
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), v)
}

fn socket(port: u16, reuseaddr: bool, reuseport: bool) -> Socket {
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    s.set_reuse_address(reuseaddr).unwrap();
    s.set_reuse_port(reuseport).unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let _ = s.bind(&addr.into()).map_err(|e| e.raw_os_error());
    s
}

/// Binds for real with each option set; returns which succeeded, as (reuseaddr, reuseport).
fn really_binds(port: u16) -> Vec<(bool, bool)> {
    [(false, false), (true, false), (false, true), (true, true)]
        .into_iter()
        .filter(|&(a, p)| {
            let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
            s.set_reuse_address(a).unwrap();
            s.set_reuse_port(p).unwrap();
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
            s.bind(&addr.into()).is_ok()
        })
        .collect()
}

fn claimed(v: &Value) -> Vec<(bool, bool)> {
    v["would_succeed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["reuseaddr"].as_bool().unwrap(),
                o["reuseport"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// A socket in TIME_WAIT on a free port, left by a server socket with or without SO_REUSEADDR.
fn time_wait(reuseaddr: bool) -> u16 {
    let l = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    l.set_reuse_address(reuseaddr).unwrap();
    l.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    l.listen(8).unwrap();
    let l: TcpListener = l.into();
    let port = l.local_addr().unwrap().port();
    let mut client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (server, _) = l.accept().unwrap();
    drop(server); // the server closes first: its end will be the TIME_WAIT
    assert_eq!(client.read(&mut [0u8; 1]).unwrap(), 0);
    drop(client);
    drop(l);
    assert!(wait_until(Duration::from_secs(5), || {
        let recs = list_json(&["--sport", &port.to_string()]);
        !recs.is_empty() && recs.iter().all(|r| r["state"] == "TIME_WAIT")
    }));
    port
}

#[test]
fn a_live_listener_blocks_every_option() {
    let _host = crate::common::host::shared();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let (code, v) = can_bind(port, &["--reuseaddr"]);
    assert_eq!(code, 1);
    assert_eq!(v["failure"]["errno"], "EADDRINUSE");
    assert_eq!(v["holders"][0]["state"], "LISTEN");
    assert!(claimed(&v).is_empty(), "{v}");
    assert_eq!(really_binds(port), claimed(&v));
    assert!(v["advice"][0].as_str().unwrap().contains("live listener"));
}

#[test]
fn time_wait_of_a_socket_with_so_reuseaddr() {
    let _host = crate::common::host::shared();
    let port = time_wait(true);
    let (code, v) = can_bind(port, &[]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["failure"]["errno"], "EADDRINUSE");
    assert!(claimed(&v).contains(&(true, false)), "{v}");
    assert_eq!(really_binds(port), claimed(&v));
    // With the option, the same probe (bind and listen) succeeds.
    let (code, v) = can_bind(port, &["--reuseaddr"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["listen"], true);
}

#[test]
fn time_wait_of_a_socket_without_so_reuseaddr() {
    let _host = crate::common::host::shared();
    let port = time_wait(false);
    let (code, v) = can_bind(port, &["--reuseaddr"]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["failure"]["errno"], "EADDRINUSE");
    assert!(!claimed(&v).contains(&(true, false)), "{v}");
    assert_eq!(really_binds(port), claimed(&v));
    assert!(
        v["advice"][0]
            .as_str()
            .unwrap()
            .contains("did not set SO_REUSEADDR"),
        "{v}"
    );
}

#[test]
fn a_reuseport_group_of_the_same_uid_is_joinable_and_the_probe_does_not_listen() {
    let _host = crate::common::host::shared();
    let holder = socket(0, false, true);
    holder.listen(8).unwrap();
    let port = holder.local_addr().unwrap().as_socket().unwrap().port();
    let (code, v) = can_bind(port, &["--reuseport"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["listen"], false, "never listen inside a live group");
    assert!(claimed(&v).contains(&(false, true)));
    assert_eq!(really_binds(port), claimed(&v));
    let listeners = list_json(&["--sport", &port.to_string(), "--state", "listen"]);
    assert_eq!(
        listeners.len(),
        1,
        "the probe joined the group: {listeners:?}"
    );
}

/// Not a test by itself: run again as another user by the test below, it holds a SO_REUSEPORT
/// listener, prints its port and waits for its standard input to close.
#[test]
fn reuseport_holder_helper() {
    let _host = crate::common::host::shared();
    if std::env::var_os("TCPSCOPE_TEST_HOLDER").is_none() {
        return;
    }
    let s = socket(0, false, true);
    s.listen(8).unwrap();
    println!(
        "PORT {}",
        s.local_addr().unwrap().as_socket().unwrap().port()
    );
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_as_nobody)),
    ignore = "needs root, setpriv (util-linux) and a target directory nobody can enter: runs the binary as another user"
)]
fn a_reuseport_group_of_another_uid_is_not() {
    let _host = crate::common::host::shared();
    // This test binary again, as nobody, holding the group.
    let mut child = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "can_bind::reuseport_holder_helper",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("TCPSCOPE_TEST_HOLDER", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let port: Option<u16> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        // libtest prints "test reuseport_holder_helper ... " first, on the same line.
        .find_map(|l| l.split("PORT ").nth(1).and_then(|p| p.trim().parse().ok()));
    let Some(port) = port else {
        let _ = child.wait();
        panic!("this test binary, run as nobody, printed no port");
    };
    let (code, v) = can_bind(port, &["--reuseport"]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["holders"][0]["uid"], 65534);
    assert!(claimed(&v).is_empty(), "{v}");
    assert_eq!(really_binds(port), claimed(&v));
    drop(child.stdin.take());
    let _ = child.wait();
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let _host = crate::common::host::shared();
    for args in [
        &["can-bind", "0"][..],
        &["can-bind", "70000"],
        &["can-bind", "80", "--addr", "nope"],
    ] {
        let out = tcpscope(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
    }
}

/// A server that closed 30 connections first and exited: 30 TIME_WAITs hold its port, and a
/// client still holds a connection to it.
fn busy_port_after_its_server_stopped() -> (u16, TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    for _ in 0..30 {
        drop(common::server_closes_first(&l));
    }
    let kept = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let server = l.accept().unwrap().0;
    drop(l);
    assert!(wait_until(Duration::from_secs(5), || {
        let recs = list_json(&["--sport", &port.to_string(), "--state", "time-wait"]);
        recs.len() == 30
    }));
    (port, kept, server)
}

#[test]
fn thousands_of_holders_are_summarised_and_all_lists_them() {
    let _host = crate::common::host::shared();
    let (port, _client, _server) = busy_port_after_its_server_stopped();
    let p = port.to_string();
    let out = tcpscope(&["can-bind", &p, "--addr", "127.0.0.1"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("held by 31 sockets: ESTABLISHED 1, TIME_WAIT 30"),
        "{text}"
    );
    assert!(text.contains("by process: no process 30, "), "{text}");
    assert!(text.contains(&format!("can-bind {port} --all")), "{text}");
    let rows = |t: &str| {
        t.lines()
            .filter(|l| l.starts_with("  ") && l.contains(&format!(":{port} ")))
            .count()
    };
    // The few that matter: the ESTABLISHED a process holds is among them.
    assert_eq!(rows(&text), 8, "{text}");
    assert!(text.contains("ESTABLISHED  0"), "{text}");
    assert!(
        text.contains("1 connection(s) of an earlier listener (still open: their application has not closed them) and 30 socket(s) in TIME_WAIT"),
        "{text}"
    );
    // The answer is still the first line.
    assert!(
        text.lines().next().unwrap().contains("EADDRINUSE"),
        "{text}"
    );

    let all = tcpscope(&["can-bind", &p, "--addr", "127.0.0.1", "--all"]);
    let all = String::from_utf8_lossy(&all.stdout);
    assert_eq!(rows(&all), 31, "{all}");
    assert!(!all.contains("--all lists"), "{all}");

    let (_, v) = can_bind(port, &[]);
    assert_eq!(v["holders_summary"]["total"], 31, "{v}");
    assert_eq!(v["holders"].as_array().unwrap().len(), 8, "{v}");
    let (_, v) = can_bind(port, &["--all"]);
    assert_eq!(v["holders"].as_array().unwrap().len(), 31, "{v}");
}
