//! The ports pane as the tool's own question asks it ("why can't I bind :7100?"): a server's
//! sockets stay under the server's port, also once its listener is gone.

use crate::common;

use common::tmux::Tmux;
use common::{Netns, in_ns, wait_until};
use std::net::TcpListener;
use std::time::Duration;

/// The ports pane's lines (the left column), trimmed.
fn ports_pane(screen: &str) -> Vec<String> {
    screen
        .lines()
        .filter_map(|l| {
            let inner = l.strip_prefix('│')?;
            let end = inner.find('│')?;
            Some(inner[..end].trim().to_string())
        })
        .filter(|l| !l.is_empty())
        .collect()
}

/// A server on 127.0.0.1:7100 in `ns` that closes `n` connections first, then exits: it
/// leaves `n` TIME_WAITs whose local port is 7100. Returns the clients' ports.
fn server_closes_first_and_exits(ns: &Netns, n: usize) -> Vec<u16> {
    in_ns(Some(ns), || {
        let listener = TcpListener::bind("127.0.0.1:7100").unwrap();
        let mut ports = Vec::new();
        for _ in 0..n {
            // The client reads the server's FIN, then closes: the server's end is TIME_WAIT.
            let client = common::server_closes_first(&listener);
            ports.push(client.local_addr().unwrap().port());
        }
        drop(listener);
        ports
    })
}

#[test]
#[cfg_attr(
    not(all(
        tcpscope_test_root,
        tcpscope_test_has_ip,
        tcpscope_test_has_tmux,
        tcpscope_test_has_ss
    )),
    ignore = "needs root, ip, ss and tmux: a server's teardown in a namespace of its own"
)]
fn a_servers_time_waits_stay_under_its_port_once_it_exited() {
    let _host = crate::common::host::shared();
    let ns = Netns::new("tuiports");
    let args = format!("--netns {} --interval 200", ns.name);
    // One view watches it happen (events: the handshake, the listener's close); one starts
    // after (a snapshot only: told by the ports).
    let Some(before) = Tmux::start("ports-before", &args) else {
        return;
    };
    before.wait("the view", |s| s.contains("Ports"));
    let clients = server_closes_first_and_exits(&ns, 3);
    let after = Tmux::start("ports-after", &args).unwrap();
    for (tui, which) in [
        (&before, "the view started before"),
        (&after, "the view started after"),
    ] {
        let screen = tui.wait(which, |s| {
            ports_pane(s)
                .iter()
                .any(|l| l.starts_with(":7100") && l.contains("TW:3"))
        });
        let pane = ports_pane(&screen);
        for port in &clients {
            assert!(
                !pane.iter().any(|l| l.starts_with(&format!("→:{port}"))),
                "{which}: a TIME_WAIT of :7100 filed under its client's port {port}:\n{screen}"
            );
        }
    }
    // Sanity: the server's TIME_WAITs are there for the kernel too.
    assert!(wait_until(Duration::from_secs(1), || {
        let out = ns.exec(&["ss", "-tanH", "state", "time-wait", "sport", "= :7100"]);
        String::from_utf8_lossy(&out.stdout).lines().count() == 3
    }));
    for tui in [&before, &after] {
        tui.keys(&["q"]);
        tui.wait("the view to end", |s| s.contains("EXIT:0"));
    }
}
