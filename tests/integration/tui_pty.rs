//! The real binary in a real pseudo-terminal (tmux): it shows sockets this test opens on
//! loopback, their teardown, filters, details and help, and leaves the terminal as it found
//! it on `q` and on SIGTERM.

use crate::common;

use common::tmux::Tmux;
use common::{try_read, wait_until};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::Duration;

/// The line of the connections table whose Local column is `local` (e.g. `127.0.0.1:40000`).
fn row<'a>(screen: &'a str, local: &str) -> Option<&'a str> {
    screen.lines().find(|line| {
        let Some((_, table)) = line.split_once("││") else {
            return false;
        };
        let mut cells = table.split_whitespace().skip_while(|t| *t == "→");
        cells.nth(1) == Some(local)
    })
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_has_tmux)),
    ignore = "needs root, ip and tmux: on the host's loopback the suite's other sockets push this test's rows off the screen"
)]
fn shows_teardown_filters_details_help_and_quits_cleanly() {
    let _host = crate::common::host::shared();
    // In a namespace of its own: the screen then shows this test's sockets only (the other
    // tests, in this process, leave TIME_WAITs on the host that would push its rows off).
    let ns = Some(common::Netns::new("tui"));
    let ns = ns.as_ref();
    let (listener, other) = common::in_ns(ns, || {
        (
            TcpListener::bind("127.0.0.1:0").unwrap(),
            TcpListener::bind("127.0.0.1:0").unwrap(),
        )
    });
    let port = listener.local_addr().unwrap().port();
    let other_port = other.local_addr().unwrap().port();
    let args = match ns {
        Some(ns) => format!("--interval 200 --netns {}", ns.name),
        None => "--interval 200".to_string(),
    };
    let Some(tui) = Tmux::start("main", &args) else {
        return;
    };
    let me = format!("127.0.0.1:{port}");
    let them = format!("127.0.0.1:{other_port}");
    tui.wait("the listeners", |s| {
        row(s, &me).is_some_and(|r| r.contains("LISTEN")) && row(s, &them).is_some()
    });
    assert!(tui.alternate_on(), "the TUI runs in the alternate screen");

    let (client, mut server) = common::in_ns(ns, || {
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        (client, listener.accept().unwrap().0)
    });
    let client_end = format!("127.0.0.1:{}", client.local_addr().unwrap().port());
    tui.wait("the connection", |s| {
        row(s, &client_end).is_some_and(|r| r.contains("ESTABLISHED"))
    });

    // Filter by port: the other listener leaves the table.
    tui.keys(&["/"]);
    tui.type_text(&format!("--port {port}"));
    tui.keys(&["Enter"]);
    tui.wait("the port filter", |s| {
        s.contains(&format!("filter: --port {port}")) && row(s, &them).is_none()
    });

    // Active close by the client: its end goes to TIME_WAIT.
    drop(client);
    assert_eq!(server.read(&mut [0u8; 4]).unwrap(), 0);
    drop(server);
    tui.wait("TIME_WAIT", |s| {
        row(s, &client_end).is_some_and(|r| r.contains("TIME_WAIT"))
    });

    // Details of that connection: narrow the filter to it, open it.
    tui.keys(&["/"]);
    tui.type_text(" --state time-wait");
    tui.keys(&["Enter"]);
    tui.wait("the state filter", |s| {
        s.contains("--state time-wait") && s.contains("Connections all ports (1)")
    });
    tui.keys(&["Enter"]);
    tui.wait("the details", |s| {
        s.contains("timeline")
            && s.contains("the 4-tuple is held 60 s")
            && s.contains("TIME_WAIT ─60 s─> GONE")
    });
    tui.keys(&["Escape"]);
    tui.keys(&["?"]);
    tui.wait("the help", |s| {
        s.contains("Keys (? or Esc to close)") && s.contains("pause the display")
    });
    tui.keys(&["Escape"]);
    tui.wait("the help to close", |s| {
        !s.contains("Keys (? or Esc to close)")
    });

    tui.keys(&["q"]);
    let end = tui.wait("the exit", |s| s.contains("EXIT:0"));
    assert!(!tui.alternate_on(), "still in the alternate screen:\n{end}");
    assert!(
        !end.contains("Connections"),
        "the TUI is left on the screen:\n{end}"
    );
}

#[test]
#[cfg_attr(
    not(tcpscope_test_has_tmux),
    ignore = "needs tmux (.ci/run installs it)"
)]
fn sigterm_restores_the_terminal() {
    let _host = crate::common::host::shared();
    let Some(tui) = Tmux::start("term", "--interval 200") else {
        return;
    };
    tui.wait("the header", |s| {
        s.contains("tcpscope") && s.contains("Transitions")
    });
    let pid = rustix::process::Pid::from_raw(tui.tcpscope_pid()).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let end = tui.wait("the exit", |s| s.contains("EXIT:"));
    assert!(end.contains("EXIT:0"), "{end}");
    assert!(!tui.alternate_on(), "still in the alternate screen:\n{end}");
    assert!(
        !end.contains("Transitions"),
        "the TUI is left on the screen:\n{end}"
    );
}

#[test]
#[cfg_attr(
    not(tcpscope_test_has_tmux),
    ignore = "needs tmux (.ci/run installs it)"
)]
fn closing_the_terminal_ends_tcpscope() {
    let _host = crate::common::host::shared();
    let Some(tui) = Tmux::start("hup", "--interval 200") else {
        return;
    };
    tui.wait("the header", |s| {
        s.contains("tcpscope") && s.contains("Transitions")
    });
    let pid = tui.tcpscope_pid();
    // The terminal goes away (SIGHUP, then end-of-file on it): tcpscope must end, not spin.
    drop(tui);
    assert!(
        wait_until(Duration::from_secs(10), || !std::path::Path::new(&format!(
            "/proc/{pid}"
        ))
        .exists()),
        "tcpscope {pid} still runs after its terminal closed"
    );
}

#[test]
#[cfg_attr(
    not(tcpscope_test_has_tmux),
    ignore = "needs tmux (.ci/run installs it)"
)]
fn ctrl_c_quits_and_restores_the_terminal() {
    let _host = crate::common::host::shared();
    let Some(tui) = Tmux::start("ctrlc", "--interval 200") else {
        return;
    };
    tui.wait("the header", |s| {
        s.contains("tcpscope") && s.contains("Transitions")
    });
    tui.keys(&["C-c"]);
    let end = tui.wait("the exit", |s| s.contains("EXIT:"));
    assert!(end.contains("EXIT:0"), "{end}");
    assert!(!tui.alternate_on(), "still in the alternate screen:\n{end}");
}

/// The text of the line of the lab's socket list for lab socket `#id`.
fn lab_line(screen: &str, id: u32) -> Option<String> {
    let tag = format!("#{id} ");
    screen.lines().find_map(|line| {
        let (_, rest) = line.split_once("││")?;
        let cell = rest.split('│').next()?;
        cell.contains(&tag).then(|| cell.to_string())
    })
}

/// The row of the connections table marked as lab socket `#id`.
fn lab_row(screen: &str, id: u32) -> Option<&str> {
    // `lab#N` in the Owner column, or next to the address when owners do not fit.
    let tag = format!("lab#{id} ");
    let end = format!("lab#{id}│");
    screen
        .lines()
        .find(|l| l.contains(&tag) || l.contains(&end))
}

#[test]
#[cfg_attr(
    not(tcpscope_test_has_tmux),
    ignore = "needs tmux (.ci/run installs it)"
)]
fn lab_pane_makes_sockets_and_shows_calls_and_states() {
    let _host = crate::common::host::shared();
    let ns = common::is_root().then(|| common::Netns::new("tuilab"));
    let ns = ns.as_ref();
    let args = match ns {
        Some(ns) => format!("--interval 200 --netns {}", ns.name),
        None => "--interval 200".to_string(),
    };
    let Some(tui) = Tmux::start("lab", &args) else {
        return;
    };
    tui.wait("the header", |s| s.contains("Transitions"));
    if ns.is_none() {
        // On the host's loopback the other tests' sockets crowd the screen: only
        // tcpscope's own, its lab sockets.
        let only_ours = format!("--pid {}", tui.tcpscope_pid());
        tui.keys(&["/"]);
        tui.type_text(&only_ours);
        tui.keys(&["Enter"]);
        tui.wait("the pid filter", |s| {
            s.contains(&format!("filter: {only_ours}"))
        });
    }
    tui.keys(&["L"]);
    tui.wait("the lab pane", |s| s.contains("Lab sockets"));

    // A listener: in its own namespace on a port a reader recognises, else any free one.
    tui.keys(&["a"]);
    tui.wait("the lab menu", |s| s.contains("listen…"));
    tui.keys(&["l"]);
    tui.wait("the listen prompt", |s| {
        s.contains("listen on 127.0.0.1:8080")
    });
    tui.keys(&["C-u"]);
    tui.type_text(if ns.is_some() {
        "127.0.0.1:8080"
    } else {
        "127.0.0.1:0"
    });
    tui.keys(&["Enter"]);
    let s = tui.wait("the listener", |s| {
        lab_row(s, 1).is_some_and(|r| r.contains("LISTEN")) && s.contains("listen(")
    });
    let line = lab_line(&s, 1).unwrap();
    let addr = line
        .split_whitespace()
        .find(|w| w.starts_with("127.0.0.1:"))
        .unwrap()
        .to_string();

    // A client: the prompt offers the lab listener.
    tui.keys(&["a"]);
    tui.wait("the lab menu", |s| s.contains("connect…"));
    tui.keys(&["c"]);
    tui.wait("the connect prompt", |s| {
        s.contains(&format!("connect to {addr}"))
    });
    tui.keys(&["Enter"]);
    tui.wait("the client", |s| {
        lab_row(s, 2).is_some_and(|r| r.contains("ESTABLISHED")) && s.contains("connect(")
    });

    // A live listener blocks a rebind of its port, whatever the options: the errno shows.
    tui.keys(&["k"]);
    tui.keys(&["a"]);
    tui.wait("the listener's menu", |s| s.contains("accept()"));
    tui.keys(&["b"]);
    tui.wait("the rebind prompt", |s| s.contains("rebind with"));
    tui.type_text("reuseaddr");
    tui.keys(&["Enter"]);
    tui.wait("EADDRINUSE", |s| s.contains("= -1 EADDRINUSE"));

    // accept() on the listener gives lab socket #4 (#3 was the failed rebind).
    tui.keys(&["a"]);
    tui.keys(&["A"]);
    tui.wait("the accepted socket", |s| {
        lab_row(s, 4).is_some_and(|r| r.contains("ESTABLISHED")) && s.contains("accept(")
    });

    // shutdown(SHUT_WR) on the client: it goes FIN_WAIT2, the accepted end CLOSE_WAIT.
    // The failed rebind left no socket: the list is #1, #2, #4.
    let s = tui.screen();
    let listed: Vec<u32> = (1..=4).filter(|id| lab_line(&s, *id).is_some()).collect();
    assert_eq!(listed, [1, 2, 4], "lab sockets listed:\n{s}");
    tui.keys(&["Home"]);
    tui.keys(&["j"]);
    tui.keys(&["a"]);
    tui.wait("the client's menu", |s| s.contains("shutdown(SHUT_WR)"));
    tui.keys(&["w"]);
    tui.wait("FIN_WAIT2 and CLOSE_WAIT", |s| {
        lab_row(s, 2).is_some_and(|r| r.contains("FIN_WAIT2"))
            && lab_row(s, 4).is_some_and(|r| r.contains("CLOSE_WAIT"))
            && s.contains("SHUT_WR) = 0")
    });

    // close() with linger 0 on the accepted socket: RST, the client's end is reset.
    tui.keys(&["End"]);
    tui.keys(&["a"]);
    tui.wait("the accepted socket's menu", |s| s.contains("SO_LINGER"));
    tui.keys(&["X"]);
    tui.wait("the abortive close", |s| {
        s.contains("closed with SO_LINGER {1, 0}")
            && lab_line(s, 4).is_some_and(|l| l.contains("closed"))
    });
    // The RST, as the transitions log tells it (from kernel events, as root).
    if ns.is_some() {
        tui.wait("the RST at the client", |s| {
            s.contains("RST received") && s.contains("RST sent")
        });
    }

    tui.keys(&["q"]);
    tui.wait("the exit", |s| s.contains("EXIT:0"));
    // The lab's sockets closed with tcpscope: nothing listens on the port any more.
    if let Some(ns) = ns {
        let out = ns.exec(&["ss", "-Htln", "sport = :8080"]);
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "");
    }
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_has_tmux)),
    ignore = "needs root, ip and tmux: acting on another process's socket from the view"
)]
fn actions_menu_confirms_before_aborting_or_shutting_down_another_process_socket() {
    let _host = crate::common::host::shared();
    let ns = common::Netns::new("tuiact");
    // Two connections to a listener this test holds (for tcpscope, another process's).
    let (listener, mut c1, mut s1, mut c2, mut s2) = common::in_ns(Some(&ns), || {
        let l = TcpListener::bind("127.0.0.1:9090").unwrap();
        let c1 = TcpStream::connect("127.0.0.1:9090").unwrap();
        let s1 = l.accept().unwrap().0;
        let c2 = TcpStream::connect("127.0.0.1:9090").unwrap();
        let s2 = l.accept().unwrap().0;
        (l, c1, s1, c2, s2)
    });
    let port = |s: &TcpStream| s.local_addr().unwrap().port();
    let (p1, p2) = (port(&c1), port(&c2));
    let Some(tui) = Tmux::start("act", &format!("--interval 200 --netns {}", ns.name)) else {
        return;
    };
    let server_end = |p: u16| {
        move |s: &str| {
            s.lines()
                .any(|l| l.contains("127.0.0.1:9090") && l.contains(&format!("127.0.0.1:{p}")))
        }
    };
    tui.wait("both connections", |s| {
        server_end(p1)(s) && server_end(p2)(s)
    });

    // Select the server end of the first connection.
    tui.keys(&["/"]);
    tui.type_text(&format!("--sport 9090 --dport {p1}"));
    tui.keys(&["Enter"]);
    tui.wait("the filter", |s| s.contains("Connections all ports (1)"));

    // The menu offers abort and graceful shutdown; the dialog says what happens to both ends.
    tui.keys(&["a"]);
    tui.wait("the menu", |s| {
        s.contains("abort") && s.contains("graceful shutdown") && s.contains("can-bind")
    });
    tui.keys(&["K"]);
    tui.wait("the abort dialog", |s| {
        s.contains("Abort this socket?") && s.contains("ECONNRESET") && s.contains("y: do it")
    });
    // Cancel: nothing is touched.
    tui.keys(&["n"]);
    tui.wait("the cancel", |s| s.contains("cancelled: nothing was done"));
    assert_eq!(try_read(&mut c1), None, "the connection was touched");
    s1.write_all(b"x").unwrap();
    assert!(wait_until(Duration::from_secs(5), || try_read(&mut c1) == Some(Ok(1))));

    // Graceful shutdown, confirmed: the peer reads end-of-file, the owner's send fails.
    tui.keys(&["a"]);
    tui.keys(&["G"]);
    tui.wait("the shutdown dialog", |s| {
        s.contains("Shut this socket down?") && s.contains("pidfd_getfd")
    });
    tui.keys(&["y"]);
    tui.wait("the shutdown", |s| s.contains("shut down 127.0.0.1:9090"));
    assert!(
        wait_until(Duration::from_secs(5), || try_read(&mut c1) == Some(Ok(0))),
        "the peer did not read end-of-file"
    );
    let err = s1.write_all(b"more").unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe, "{err}");

    // Abort of the second connection, confirmed: RST to the peer, ECONNABORTED to the owner.
    tui.keys(&["/"]);
    tui.keys(&["C-u"]);
    tui.type_text(&format!("--sport 9090 --dport {p2}"));
    tui.keys(&["Enter"]);
    tui.wait("the second filter", |s| {
        s.contains(&format!("--dport {p2}")) && s.contains("Connections all ports (1)")
    });
    tui.keys(&["a"]);
    tui.keys(&["K"]);
    tui.wait("the abort dialog", |s| s.contains("Abort this socket?"));
    tui.keys(&["y"]);
    tui.wait("the abort", |s| s.contains("aborted ESTABLISHED"));
    assert!(
        wait_until(Duration::from_secs(5), || try_read(&mut c2)
            == Some(Err(std::io::ErrorKind::ConnectionReset))),
        "the peer was not reset"
    );
    assert_eq!(
        try_read(&mut s2),
        Some(Err(std::io::ErrorKind::ConnectionAborted))
    );

    // b: could a server bind 9090 now? No: this test's listener holds it.
    tui.keys(&["/"]);
    tui.keys(&["C-u"]);
    tui.type_text("--sport 9090 --state listen");
    tui.keys(&["Enter"]);
    tui.wait("the listener", |s| s.contains("Connections all ports (1)"));
    tui.keys(&["b"]);
    tui.wait("the can-bind report", |s| {
        s.contains("can-bind 0.0.0.0:9090")
            && s.contains("EADDRINUSE")
            && s.contains("a live listener holds the port")
            && s.contains("would succeed now: nothing")
    });
    tui.keys(&["Escape"]);
    tui.wait("the report to close", |s| {
        !s.contains("can-bind 0.0.0.0:9090")
    });
    tui.keys(&["q"]);
    tui.wait("the exit", |s| s.contains("EXIT:0"));
    drop(listener);
}

/// The scenario pane's line for `actor` (its name, then its state now).
fn actor_state<'a>(screen: &'a str, actor: &str) -> Option<&'a str> {
    screen.lines().find_map(|l| {
        let cell = l.strip_prefix('│')?;
        let rest = cell.strip_prefix(actor)?.trim_start();
        rest.split_whitespace().next()
    })
}

#[test]
#[cfg_attr(
    not(tcpscope_test_has_tmux),
    ignore = "needs tmux (.ci/run installs it)"
)]
fn the_labs_state_diagram_is_whole_at_200_columns() {
    let _host = crate::common::host::shared();
    let Some(tui) = Tmux::start_sized("diagram", "lab active-close-client", 200, 50) else {
        return;
    };
    let screen = tui.wait("the scenario and its diagram", |s| {
        s.contains("Lab: Active close by the client") && s.contains("state diagram")
    });
    // The widest lines end in labels that were cut: `| close()` for `| close(): FIN`.
    for label in [
        "| close(): FIN",
        "rcv SYN+ACK: ACK",
        "TIME_WAIT ─60 s─> GONE   CLOSE",
    ] {
        assert!(
            screen.lines().any(|l| l.contains(label)),
            "{label:?} is cut:\n{screen}"
        );
    }
}

#[test]
#[cfg_attr(
    not(tcpscope_test_has_tmux),
    ignore = "needs tmux (.ci/run installs it)"
)]
fn lab_scenario_plays_step_by_step_with_narration_and_states() {
    let _host = crate::common::host::shared();
    let Some(tui) = Tmux::start("scenario", "lab active-close-client") else {
        return;
    };
    tui.wait("the scenario pane", |s| {
        s.contains("Lab: Active close by the client") && s.contains("step 0/6")
    });
    tui.keys(&["n"]);
    tui.wait("step 1", |s| {
        s.contains("Step 1:")
            && s.contains("listen listener 127.0.0.1:8080 → ok")
            && actor_state(s, "listener") == Some("LISTEN")
    });
    tui.keys(&["n"]);
    tui.wait("the handshake", |s| {
        actor_state(s, "client") == Some("ESTABLISHED")
            && actor_state(s, "server") == Some("ESTABLISHED")
    });
    tui.keys(&["n"]);
    tui.wait("step 3", |s| s.contains("step 3/6"));
    tui.keys(&["n"]);
    tui.wait("the client's close", |s| {
        s.contains("Myth: close() does not wait")
            && actor_state(s, "client") == Some("FIN_WAIT2")
            && actor_state(s, "server") == Some("CLOSE_WAIT")
    });
    tui.keys(&["n"]);
    tui.wait("the server's read", |s| {
        s.contains("read server → end of stream")
    });
    tui.keys(&["n"]);
    tui.wait("TIME_WAIT", |s| {
        actor_state(s, "client") == Some("TIME_WAIT")
            && actor_state(s, "server") == Some("GONE")
            && s.contains("the end: r plays it again")
    });
    // r: from the start, on a clean namespace (or fresh ports).
    tui.keys(&["r"]);
    tui.wait("the restart", |s| s.contains("step 0/6"));
    tui.keys(&["n"]);
    tui.wait("step 1 again", |s| {
        s.contains("listen listener 127.0.0.1:8080 → ok") && s.contains("step 1/6")
    });
    let pid = tui.tcpscope_pid();
    tui.keys(&["q"]);
    tui.wait("the exit", |s| s.contains("EXIT:0"));
    // As root the scenario ran in a namespace of its own, which is gone with it.
    let list = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let ours = format!("tcpscope-lab-{pid}-tui");
    assert!(
        !String::from_utf8_lossy(&list.stdout).contains(&ours),
        "{ours} left behind"
    );
}
