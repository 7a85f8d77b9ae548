//! `--netns all` and the other ways of naming a namespace (a name, `pid:PID`, a path), on
//! namespaces the test makes, each with its own listener on the same 127.0.0.1:8080.

use crate::common::tmux::Tmux;
use crate::common::watch::JsonWatch;
use crate::common::{Netns, Reaped, in_ns, list_json, tcpscope, tcpscope_as_nobody, try_read};
use serde_json::Value;
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::Duration;

fn listen_in(ns: &Netns) -> TcpListener {
    in_ns(Some(ns), || TcpListener::bind("127.0.0.1:8080").unwrap())
}

/// The listeners on 127.0.0.1:8080 in `recs`, by their namespace's name.
fn listeners_8080(recs: &[Value]) -> Vec<(String, u64)> {
    let mut found: Vec<(String, u64)> = recs
        .iter()
        .filter(|r| {
            r["state"] == "LISTEN" && r["local_port"] == 8080 && r["local_addr"] == "127.0.0.1"
        })
        .map(|r| {
            (
                r["netns"]["name"].as_str().unwrap_or("").to_string(),
                r["netns"]["inode"].as_u64().unwrap(),
            )
        })
        .collect();
    found.sort();
    found
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip)),
    ignore = "needs root and ip (iproute2): namespaces of its own"
)]
fn every_namespace_listed_each_labelled() {
    let _host = crate::common::host::shared();
    let (a, b) = (Netns::new("all-a"), Netns::new("all-b"));
    let (_la, _lb) = (listen_in(&a), listen_in(&b));
    let recs = list_json(&["--netns", "all", "--state", "listen"]);
    let found = listeners_8080(&recs);
    let ours: Vec<&(String, u64)> = found
        .iter()
        .filter(|(name, _)| *name == a.name || *name == b.name)
        .collect();
    assert_eq!(ours.len(), 2, "{found:?}");
    assert_ne!(ours[0].1, ours[1].1, "two namespaces, two inodes");
    // Every record names its namespace; tcpscope's own is there too.
    assert!(
        recs.iter()
            .all(|r| r["netns"]["inode"].as_u64().is_some_and(|i| i > 0))
    );
    let own = std::fs::read_link("/proc/self/ns/net").unwrap();
    let own: u64 = own.to_str().unwrap()[5..]
        .trim_end_matches(']')
        .parse()
        .unwrap();
    assert!(
        recs.iter().any(|r| r["netns"]["inode"] == own),
        "host sockets listed"
    );

    // --container (or a /run/netns name) keeps one namespace's.
    let only_a = list_json(&[
        "--netns",
        "all",
        "--state",
        "listen",
        "--container",
        &a.name,
    ]);
    assert_eq!(listeners_8080(&only_a).len(), 1, "{only_a:?}");
    assert!(
        only_a.iter().all(|r| r["netns"]["name"] == *a.name),
        "{only_a:?}"
    );

    // The table has a NETNS column with the names.
    let out = tcpscope(&["list", "--netns", "all", "--state", "listen", "--no-owners"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("NetNS "), "{text}");
    for ns in [&a, &b] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&ns.name) && l.contains("127.0.0.1:8080")),
            "{text}"
        );
    }
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip)),
    ignore = "needs root and ip (iproute2): namespaces of its own"
)]
fn a_namespace_by_name_by_pid_and_by_path() {
    let _host = crate::common::host::shared();
    let ns = Netns::new("by-pid");
    let _l = listen_in(&ns);
    // A process in the namespace, for pid:PID and /proc/PID/ns/net.
    let sleeper = Reaped(
        Command::new("ip")
            .args(["netns", "exec", &ns.name, "sleep", "60"])
            .spawn()
            .unwrap(),
    );
    let pid = sleeper.0.id();
    let by_pid = format!("pid:{pid}");
    let by_path = format!("/proc/{pid}/ns/net");
    let named = format!("/run/netns/{}", ns.name);
    let expected = listeners_8080(&list_json(&["--netns", &ns.name, "--state", "listen"]));
    assert_eq!(expected.len(), 1, "{expected:?}");
    assert_eq!(expected[0].0, ns.name);
    // `ip netns exec` enters the namespace, then execs sleep: wait until it is in.
    let ns_file = format!("/run/netns/{}", ns.name);
    let inode_of = |p: &str| std::fs::metadata(p).map(|m| std::os::unix::fs::MetadataExt::ino(&m));
    assert!(crate::common::wait_until(
        std::time::Duration::from_secs(5),
        || { inode_of(&by_path).ok() == inode_of(&ns_file).ok() }
    ));
    for choice in [by_pid.as_str(), &by_path, &named] {
        let got = listeners_8080(&list_json(&["--netns", choice, "--state", "listen"]));
        assert_eq!(got, expected, "--netns {choice}");
    }
}

#[test]
fn bad_namespace_choices_are_one_line_and_exit_2() {
    let _host = crate::common::host::shared();
    for (choice, says) in [
        (
            "pid:0",
            "expected all, a name under /run/netns, pid:PID or a path",
        ),
        ("pid:x", "expected all"),
        ("no-such-namespace-here", "not found"),
        ("/proc/self/status", "not a network namespace"),
    ] {
        let out = tcpscope(&["list", "--netns", choice]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--netns {choice}: {err}");
        assert!(err.contains(says), "--netns {choice}: {err}");
        assert_eq!(err.lines().count(), 1, "--netns {choice}: {err}");
    }
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_as_nobody)),
    ignore = "needs root, ip, setpriv and a target directory nobody can enter: the binary run as nobody"
)]
fn unprivileged_all_is_its_own_namespace_saying_why() {
    let _host = crate::common::host::shared();
    let ns = Netns::new("all-nobody");
    let _l = listen_in(&ns);
    let out = tcpscope_as_nobody(&["list", "--netns", "all", "--json", "--state", "listen"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let recs: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        listeners_8080(&recs)
            .iter()
            .all(|(name, _)| *name != ns.name),
        "another namespace listed as nobody"
    );
    assert!(
        err.contains("not listed") && err.contains("CAP_SYS_ADMIN"),
        "{err}"
    );
}

/// Server-side TIME_WAITs on 127.0.0.1:8080 per namespace name.
fn time_waits_by_namespace(seen: &[Value], names: &[&str]) -> Vec<usize> {
    names
        .iter()
        .map(|name| {
            seen.iter()
                .filter(|t| {
                    t["netns"]["name"] == *name && t["local_port"] == 8080 && t["to"] == "TIME_WAIT"
                })
                .count()
        })
        .collect()
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip)),
    ignore = "needs root and ip (iproute2): namespaces of its own and kernel events"
)]
fn watch_all_gives_each_namespace_its_own_connections_exactly() {
    let _host = crate::common::host::alone(); // It sees every namespace's churn.
    let (a, b) = (Netns::new("watch-a"), Netns::new("watch-b"));
    let mut watch = JsonWatch::start_all(&a, "bpf", 200);
    watch.seen.clear();
    // The same 4-tuples in both (127.0.0.1:8080 and the same ephemeral ports, likely): 3
    // connections in one, 5 in the other, the server closing first (its TIME_WAIT).
    for (ns, count) in [(&a, 3), (&b, 5)] {
        in_ns(Some(ns), || {
            let l = TcpListener::bind("127.0.0.1:8080").unwrap();
            for _ in 0..count {
                let c = TcpStream::connect("127.0.0.1:8080").unwrap();
                let (s, _) = l.accept().unwrap();
                drop(s);
                let mut buf = [0u8; 1];
                let _ = std::io::Read::read(&mut &c, &mut buf);
            }
        });
    }
    let names = [a.name.as_str(), b.name.as_str()];
    let done = watch.collect_until(Duration::from_secs(20), |seen| {
        time_waits_by_namespace(seen, &names) == [3, 5]
    });
    assert!(
        done,
        "per namespace: {:?}\n{}",
        time_waits_by_namespace(&watch.seen, &names),
        watch.dump()
    );
    // Nothing more comes for either: no connection of one counted in the other.
    watch.gather(Duration::from_millis(600));
    assert_eq!(time_waits_by_namespace(&watch.seen, &names), [3, 5]);
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip)),
    ignore = "needs root and ip (iproute2): namespaces of its own and kernel events"
)]
fn a_namespace_made_while_watching_is_named_from_its_first_line() {
    let _host = crate::common::host::alone(); // It sees every namespace's churn.
    let probe = Netns::new("late-probe");
    // The dump thread scans for namespaces once a second: connections made right after the
    // namespace come before its scan.
    let mut watch = JsonWatch::start_all(&probe, "bpf", 1000);
    let late = Netns::new("late");
    let inode = std::os::unix::fs::MetadataExt::ino(
        &std::fs::metadata(format!("/run/netns/{}", late.name)).unwrap(),
    );
    in_ns(Some(&late), || {
        let l = TcpListener::bind("127.0.0.1:8080").unwrap();
        for _ in 0..4 {
            let c = TcpStream::connect("127.0.0.1:8080").unwrap();
            let (s, _) = l.accept().unwrap();
            drop(s);
            let mut buf = [0u8; 1];
            let _ = std::io::Read::read(&mut &c, &mut buf);
        }
    });
    let of_late = |seen: &[Value]| -> Vec<Value> {
        seen.iter()
            .filter(|t| t["netns"]["inode"] == inode)
            .cloned()
            .collect()
    };
    let done = watch.collect_until(Duration::from_secs(20), |seen| {
        of_late(seen)
            .iter()
            .filter(|t| t["local_port"] == 8080 && t["to"] == "TIME_WAIT")
            .count()
            == 4
    });
    assert!(done, "{}", watch.dump());
    let unnamed: Vec<&Value> = watch
        .seen
        .iter()
        .filter(|t| t["netns"]["inode"] == inode && t["netns"]["name"] != late.name.as_str())
        .collect();
    assert!(
        unnamed.is_empty(),
        "{} of {} lines of the new namespace lack its name: {unnamed:?}",
        unnamed.len(),
        of_late(&watch.seen).len()
    );
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip)),
    ignore = "needs root and ip (iproute2): namespaces of its own"
)]
fn kill_all_aborts_in_each_sockets_own_namespace() {
    let _host = crate::common::host::shared();
    let (a, b) = (Netns::new("kill-a"), Netns::new("kill-b"));
    // A port no other test uses: the kernel's pick in one namespace, taken in the other too.
    let la = in_ns(Some(&a), || TcpListener::bind("127.0.0.1:0").unwrap());
    let port = la.local_addr().unwrap().port();
    let lb = in_ns(Some(&b), || TcpListener::bind(("127.0.0.1", port)).unwrap());
    let pair = |ns: &Netns, l: &TcpListener| {
        in_ns(Some(ns), || {
            let c = TcpStream::connect(("127.0.0.1", port)).unwrap();
            let (s, _) = l.accept().unwrap();
            (c, s)
        })
    };
    let (_ca, sa) = pair(&a, &la);
    let (_cb, sb) = pair(&b, &lb);
    let p = port.to_string();
    let out = tcpscope(&[
        "kill",
        "--netns",
        "all",
        "--dport",
        &p,
        "--state",
        "established",
        "--yes",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Listed with each one's namespace, then aborted.
    assert!(text.starts_with("NetNS "), "{text}");
    for ns in [&a, &b] {
        assert!(text.lines().any(|l| l.starts_with(&ns.name)), "{text}");
    }
    assert_eq!(text.matches("aborted ESTABLISHED").count(), 2, "{text}");
    // Each server end got the RST.
    for mut s in [&sa, &sb] {
        let mut buf = [0u8; 1];
        let e = std::io::Read::read(&mut s, &mut buf).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}");
    }
}

/// What the view shows of a long label in 12 columns: its start and its end.
fn clipped(label: &str, width: usize) -> String {
    let n = label.chars().count();
    if n <= width {
        return label.to_string();
    }
    let head = (width - 1) / 2;
    let tail = width - 1 - head;
    let start: String = label.chars().take(head).collect();
    let end: String = label.chars().skip(n - tail).collect();
    format!("{start}…{end}")
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_has_tmux)),
    ignore = "needs root, ip and tmux: the view in namespaces of its own"
)]
fn the_view_of_every_namespace_lists_each_ones_port_apart() {
    let _host = crate::common::host::shared();
    let (a, b) = (Netns::new("tuiall-a"), Netns::new("tuiall-b"));
    let (la, lb) = (listen_in(&a), listen_in(&b));
    let _conns =
        [&a, &b].map(|ns| in_ns(Some(ns), || TcpStream::connect("127.0.0.1:8080").unwrap()));
    let _accepted = (la.accept().unwrap(), lb.accept().unwrap());
    let Some(tui) = Tmux::start_sized("netns-all", "--netns all --interval 200", 160, 50) else {
        return;
    };
    let ports = |ns: &Netns| format!("{} :8080", clipped(&ns.name, 12));
    let screen = tui.wait("both namespaces' :8080 in the ports pane", |s| {
        s.contains(&ports(&a)) && s.contains(&ports(&b))
    });
    assert!(screen.contains("NetNS"), "{screen}");
    assert!(
        screen.contains("netns all"),
        "the header names the choice: {screen}"
    );
    tui.keys(&["q"]);
    tui.wait("the view to end", |s| s.contains("EXIT:0"));
}

/// A connection from 127.0.0.1:`client_port` to `listener`, made inside `ns`: the client end
/// and the accepted end.
fn connect_from(ns: &Netns, listener: &TcpListener, client_port: u16) -> (TcpStream, TcpStream) {
    let client = in_ns(Some(ns), || {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let from: std::net::SocketAddr = format!("127.0.0.1:{client_port}").parse().unwrap();
        s.bind(&from.into()).unwrap();
        s.connect(&listener.local_addr().unwrap().into()).unwrap();
        TcpStream::from(s)
    });
    (client, listener.accept().unwrap().0)
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_has_tmux)),
    ignore = "needs root, ip and tmux: the view's actions in namespaces of its own"
)]
fn the_view_of_every_namespace_acts_in_the_selected_sockets_own_namespace() {
    let _host = crate::common::host::shared();
    let (a, b) = (Netns::new("tuiact-a"), Netns::new("tuiact-b"));
    // The same 4-tuple in both: 127.0.0.1:40123 -> 127.0.0.1:8080.
    let (la, lb) = (listen_in(&a), listen_in(&b));
    let (mut ca, _sa) = connect_from(&a, &la, 40123);
    let (mut cb, _sb) = connect_from(&b, &lb, 40123);
    let Some(tui) = Tmux::start_sized("netns-act", "--netns all --interval 200", 160, 50) else {
        return;
    };
    tui.wait("both namespaces' connections", |s| {
        s.matches("127.0.0.1:40123").count() == 4
    });

    // Abort the server end in a: a's client is reset, b's same tuple is untouched.
    tui.keys(&["/"]);
    tui.type_text(&format!("--netns {} --sport 8080 --dport 40123", a.name));
    tui.keys(&["Enter"]);
    tui.wait("a's server end alone", |s| {
        s.contains("Connections all ports (1)")
    });
    tui.keys(&["a"]);
    tui.keys(&["K"]);
    tui.wait("the abort dialog", |s| s.contains("Abort this socket?"));
    tui.keys(&["y"]);
    tui.wait("the abort", |s| s.contains("aborted ESTABLISHED"));
    assert!(
        crate::common::wait_until(Duration::from_secs(5), || try_read(&mut ca)
            == Some(Err(std::io::ErrorKind::ConnectionReset))),
        "a's client was not reset"
    );
    assert_eq!(try_read(&mut cb), None, "b's connection was touched");

    // can-bind on b's listener runs in b: its listener holds 8080 there, where the host
    // (tcpscope's own namespace) has none.
    let host_free = TcpListener::bind("0.0.0.0:8080");
    assert!(host_free.is_ok(), "the host's :8080 is busy: {host_free:?}");
    drop(host_free);
    tui.keys(&["/"]);
    tui.keys(&["C-u"]);
    tui.type_text(&format!("--netns {} --sport 8080 --state listen", b.name));
    tui.keys(&["Enter"]);
    tui.wait("b's listener alone", |s| {
        s.contains("Connections all ports (1)")
    });
    tui.keys(&["b"]);
    tui.wait("the can-bind report", |s| {
        s.contains("can-bind 0.0.0.0:8080")
            && s.contains("EADDRINUSE")
            && s.contains("a live listener holds the port")
    });
    tui.keys(&["Escape"]);
    tui.keys(&["q"]);
    tui.wait("the view to end", |s| s.contains("EXIT:0"));
}
