//! A listener whose accept queue is over its backlog: new handshakes are dropped. The ports
//! pane says FULL, the LISTEN row's Recv-Q is marked, the details say what it means (and
//! show no rtt or cwnd, which a listener does not have).

use crate::common;

use common::tmux::{Tmux, state_row};
use common::{Netns, in_ns};
use socket2::{Domain, Socket, Type};
use std::net::SocketAddr;

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_has_tmux)),
    ignore = "needs root, ip and tmux: a listener nobody accepts from, in a namespace of its own"
)]
fn a_full_accept_queue_is_flagged_and_explained() {
    let _host = crate::common::host::shared();
    let ns = Netns::new("tuilisten");
    let Some(tui) = Tmux::start_sized(
        "listen",
        &format!("--netns {} --interval 200", ns.name),
        160,
        40,
    ) else {
        return;
    };
    tui.wait("the view", |s| s.contains("Ports"));
    // listen(fd, 2), nobody accepting, five connects: three get into the queue (the kernel
    // drops a handshake only once the queue is over the backlog), two wait in SYN-SENT.
    let addr: SocketAddr = "127.0.0.1:7300".parse().unwrap();
    let (_listener, _clients) = in_ns(Some(&ns), || {
        let l = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        l.bind(&addr.into()).unwrap();
        l.listen(2).unwrap();
        let clients: Vec<Socket> = (0..5)
            .map(|_| {
                let c = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
                c.set_nonblocking(true).unwrap();
                let _ = c.connect(&addr.into()); // EINPROGRESS
                c
            })
            .collect();
        (l, clients)
    });
    let screen = tui.wait("FULL in the ports pane", |s| {
        s.lines().any(|l| l.contains(":7300") && l.contains("FULL"))
    });
    assert!(
        !screen
            .lines()
            .any(|l| l.contains(":7300") && l.contains(" L ")),
        "an unexplained `L`:\n{screen}"
    );
    tui.keys(&["/"]);
    tui.type_text("--state listen");
    tui.keys(&["Enter"]);
    let screen = tui.wait("the listener's row", |s| {
        s.contains("filter: --state listen") && state_row(s, "LISTEN", "127.0.0.1:7300").is_some()
    });
    let listen = state_row(&screen, "LISTEN", "127.0.0.1:7300").unwrap();
    assert!(
        listen.contains("LISTEN") && listen.contains(" 3! ") && listen.contains(" 2 "),
        "Recv-Q 3 marked, Send-Q (the backlog) 2:\n{screen}"
    );
    tui.keys(&["Enter"]);
    let screen = tui.wait("the listener's details", |s| {
        s.contains("accept queue 3 of backlog 2")
    });
    assert!(
        screen.contains("the kernel drops new handshakes"),
        "what a full queue means:\n{screen}"
    );
    assert!(
        !screen.contains("rtt ") && !screen.contains("cwnd"),
        "a listener has no rtt or cwnd:\n{screen}"
    );
}
