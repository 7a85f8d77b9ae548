//! What the view says it will do, on sockets where the usual words are wrong: a CLOSE_WAIT
//! whose peer expired long ago, a TIME_WAIT (removing it sends nothing), and `b` on a
//! client's port (no earlier listener ever had it).

use crate::common;

use common::tmux::Tmux;
use common::{Netns, in_ns, wait_until};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

/// Sockets of a namespace: one CLOSE_WAIT whose peer is gone, one server TIME_WAIT, and one
/// client connected from an ephemeral port.
struct Scene {
    _listener: TcpListener,
    _close_wait: TcpStream,
    _client: (TcpStream, TcpStream),
    client_port: u16,
}

fn scene(ns: &Netns) -> Scene {
    in_ns(Some(ns), || {
        // An orphaned FIN_WAIT2 ends after tcp_fin_timeout: 1 s here, not 60.
        std::fs::write("/proc/sys/net/ipv4/tcp_fin_timeout", "1").unwrap();
        let listener = TcpListener::bind("127.0.0.1:7200").unwrap();
        // The client closes first and its FIN_WAIT2 times out: the server's end stays in
        // CLOSE_WAIT with nobody on the other end.
        drop(TcpStream::connect("127.0.0.1:7200").unwrap());
        let close_wait = listener.accept().unwrap().0;
        // The server closes first: its end is a TIME_WAIT.
        drop(common::server_closes_first(&listener));
        let client = TcpStream::connect("127.0.0.1:7200").unwrap();
        let client_port = client.local_addr().unwrap().port();
        let server = listener.accept().unwrap().0;
        Scene {
            _listener: listener,
            _close_wait: close_wait,
            _client: (client, server),
            client_port,
        }
    })
}

fn filter(tui: &Tmux, flags: &str) {
    filter_to(tui, flags, 1);
}

fn filter_to(tui: &Tmux, flags: &str, rows: usize) {
    tui.keys(&["/"]);
    tui.keys(&["C-u"]);
    tui.type_text(flags);
    tui.keys(&["Enter"]);
    tui.wait(flags, |s| {
        s.contains(&format!("filter: {flags}"))
            && s.contains(&format!("Connections all ports ({rows})"))
    });
}

#[test]
#[cfg_attr(
    not(all(
        tcpscope_test_root,
        tcpscope_test_has_ip,
        tcpscope_test_has_tmux,
        tcpscope_test_has_ss
    )),
    ignore = "needs root, ip, ss and tmux: teardown states in a namespace of its own"
)]
fn the_menus_and_dialogs_say_what_really_happens() {
    let _host = crate::common::host::shared();
    let ns = Netns::new("tuitexts");
    let scene = scene(&ns);
    // The server's ACK of the client's FIN may be delayed: the client is in FIN_WAIT1 until
    // it comes, so both states are waited out (a menu opened while the peer lives says RST).
    let orphan_gone = wait_until(Duration::from_secs(10), || {
        let out = ns.exec(&["ss", "-tanH", "state", "fin-wait-1", "state", "fin-wait-2"]);
        out.status.success() && out.stdout.is_empty()
    });
    assert!(orphan_gone, "the client's FIN_WAIT2 did not time out");
    let Some(tui) = Tmux::start_sized(
        "texts",
        &format!("--netns {} --interval 200", ns.name),
        160,
        40,
    ) else {
        return;
    };
    tui.wait("the sockets", |s| {
        s.contains("CLOSE_WAIT") && s.contains("TIME_WAIT ")
    });

    // The CLOSE_WAIT's peer is gone: the menu and the dialog say so, not "gets a RST".
    filter(&tui, "--state close-wait");
    tui.keys(&["a"]);
    tui.wait("the menu", |s| s.contains("its peer is gone already"));
    tui.keys(&["K"]);
    let dialog = tui.wait("the abort dialog", |s| s.contains("Abort this socket?"));
    assert!(dialog.contains("gone already"), "{dialog}");
    assert!(!dialog.contains("it sees ECONNRESET"), "{dialog}");
    tui.keys(&["n"]);
    tui.wait("the cancel", |s| s.contains("cancelled: nothing was done"));

    // A TIME_WAIT is removed, and nothing is sent.
    filter(&tui, "--state time-wait");
    tui.keys(&["a"]);
    let menu = tui.wait("the menu", |s| s.contains("remove  SOCK_DESTROY"));
    assert!(menu.contains("nothing is sent"), "{menu}");
    assert!(!menu.contains("RST to the peer"), "{menu}");
    tui.keys(&["Escape"]);

    // b on the client's port: an outgoing connection holds it, no earlier listener.
    filter(&tui, &format!("--sport {}", scene.client_port));
    tui.keys(&["b"]);
    let report = tui.wait("the can-bind report", |s| {
        s.contains(&format!("can-bind 0.0.0.0:{}", scene.client_port))
            && s.contains("outgoing connection")
    });
    assert!(!report.contains("earlier listener"), "{report}");
    tui.keys(&["Escape", "q"]);
    tui.wait("the view to end", |s| s.contains("EXIT:0"));
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_has_tmux)),
    ignore = "needs root, ip and tmux: a stopped server's TIME_WAITs in a namespace of its own"
)]
fn b_on_a_port_thousands_hold_summarises_them() {
    let _host = crate::common::host::shared();
    let ns = Netns::new("tuiheld");
    // A server on :7300 closed 30 connections first and stopped.
    in_ns(Some(&ns), || {
        let listener = TcpListener::bind("127.0.0.1:7300").unwrap();
        for _ in 0..30 {
            drop(common::server_closes_first(&listener));
        }
    });
    let Some(tui) = Tmux::start_sized(
        "held",
        &format!("--netns {} --interval 200", ns.name),
        160,
        40,
    ) else {
        return;
    };
    tui.wait("the TIME_WAITs", |s| s.contains("TIME_WAIT 30"));
    filter_to(&tui, "--sport 7300", 30);
    tui.keys(&["b"]);
    let report = tui.wait("the summary", |s| {
        s.contains("can-bind 0.0.0.0:7300") && s.contains("held by 30 sockets: TIME_WAIT 30")
    });
    assert!(report.contains("by process: no process 30"), "{report}");
    assert!(report.contains("can-bind 7300 --all"), "{report}");
    let rows = report.matches("127.0.0.1:7300 ").count();
    assert!(rows <= 8, "{rows} rows listed: {report}");
    tui.keys(&["Escape", "q"]);
    tui.wait("the view to end", |s| s.contains("EXIT:0"));
}
