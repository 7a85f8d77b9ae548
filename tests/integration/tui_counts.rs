//! The header's counts are the ones `ss` gives; a socket that only the kernel's events can see
//! (CLOSE after a failed connect, its fd still open) is counted apart and explained.

use crate::common;

use common::tmux::Tmux;
use common::{Netns, in_ns, list_json};
use socket2::{Domain, Socket, Type};
use std::net::SocketAddr;

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_has_tmux)),
    ignore = "needs root, ip and tmux: kernel events and a failed connect in a namespace of its own"
)]
fn a_failed_connects_close_socket_is_counted_apart_and_explained() {
    let _host = crate::common::host::shared();
    let ns = Netns::new("tuicounts");
    let args = format!("--netns {} --interval 200", ns.name);
    let Some(tui) = Tmux::start_sized("counts", &args, 200, 40) else {
        return;
    };
    tui.wait("the view, traced", |s| s.contains("events: traced"));
    // Nobody listens on :9: the connect is refused, the socket is left in CLOSE, its fd open.
    let refused = in_ns(Some(&ns), || {
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        let to: SocketAddr = "127.0.0.1:9".parse().unwrap();
        assert!(s.connect(&to.into()).is_err(), "nobody listens on :9");
        s
    });
    let said = "CLOSE 1 (fd still open; seen by events, not by ss)";
    tui.wait("the CLOSE socket counted apart", |s| s.contains(said));
    // Neither `list` nor a snapshot sees it, as `ss` does not.
    let listed = list_json(&["--netns", &ns.name, "--state", "close"]);
    assert!(listed.is_empty(), "list shows a CLOSE socket: {listed:?}");
    tui.keys(&["/"]);
    tui.type_text(" --state close");
    tui.keys(&["Enter"]);
    tui.wait("the CLOSE row", |s| s.contains("(1)"));
    tui.keys(&["Enter"]);
    let screen = tui.wait("its details", |s| s.contains("timeline"));
    assert!(
        screen.contains("It is in no table"),
        "the details say why ss does not show it:\n{screen}"
    );
    assert!(
        screen.contains("+ since the first transition, Δ since the one before"),
        "the timeline's columns are explained:\n{screen}"
    );
    tui.keys(&["Escape"]);
    // Its fd closed, the socket is freed: no longer counted.
    drop(refused);
    tui.wait("the CLOSE count gone", |s| !s.contains(said));
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_has_tmux)),
    ignore = "needs root, ip and tmux: TIME_WAITs in a namespace of their own"
)]
fn the_sparklines_name_their_scale() {
    let _host = crate::common::host::shared();
    let ns = Netns::new("tuipeak");
    let args = format!("--netns {} --interval 200", ns.name);
    let Some(tui) = Tmux::start_sized("peak", &args, 160, 40) else {
        return;
    };
    tui.wait("the view", |s| s.contains("Ports"));
    in_ns(Some(&ns), || {
        let listener = std::net::TcpListener::bind("127.0.0.1:7400").unwrap();
        for _ in 0..5 {
            drop(common::server_closes_first(&listener));
        }
    });
    // Each bar's height is relative to the peak the label names.
    tui.wait("TIME_WAIT 5 with its peak", |s| {
        s.contains("TIME_WAIT     5 (peak     5)") && s.contains("CLOSE_WAIT     0 (peak     0)")
    });
}
