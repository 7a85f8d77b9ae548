//! The connections table's columns as the view shows them: the time in state when tcpscope
//! started after the socket entered it, and addresses, owners and the columns that do not fit
//! from 80 to 160 columns.

use crate::common;

use common::tmux::Tmux;
use common::{Netns, in_ns, wait_until};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

/// The seconds left on the namespace's TIME_WAIT as the kernel says (`timer:(timewait,57sec,0)`).
fn time_wait_left(ns: &Netns) -> Option<u64> {
    let out = ns.exec(&["ss", "-tanoH", "state", "time-wait"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let timer = text.split("timer:(timewait,").nth(1)?;
    timer.split("sec").next()?.parse().ok()
}

/// The connections table's row in `state` (right of the ports pane), if on the screen.
fn row<'a>(screen: &'a str, state: &str) -> Option<&'a str> {
    screen
        .lines()
        .filter_map(|l| l.split_once("││").map(|(_, table)| table))
        .find(|t| t.starts_with(state))
}

/// The last `N.Ns` figure of the row in `state`: its In st.
fn in_state_cell(screen: &str, state: &str) -> String {
    let line = row(screen, state).unwrap_or_else(|| panic!("no {state} row: {screen}"));
    line.split_whitespace()
        .rfind(|t| {
            t.ends_with('s')
                && t.trim_start_matches('≥')
                    .starts_with(|c: char| c.is_ascii_digit())
        })
        .unwrap_or_else(|| panic!("no time in {line}"))
        .to_string()
}

#[test]
#[cfg_attr(
    not(all(
        tcpscope_test_root,
        tcpscope_test_has_ip,
        tcpscope_test_has_tmux,
        tcpscope_test_has_ss
    )),
    ignore = "needs root, ip, ss and tmux: sockets older than the view in a namespace of its own"
)]
fn time_in_state_is_marked_as_a_lower_bound_or_taken_from_the_kernel() {
    let _host = crate::common::host::shared();
    let ns = Netns::new("tuiage");
    let _kept = in_ns(Some(&ns), || {
        let listener = TcpListener::bind("127.0.0.1:7400").unwrap();
        // The client closes first: the server's end stays in CLOSE_WAIT.
        drop(TcpStream::connect("127.0.0.1:7400").unwrap());
        let close_wait = listener.accept().unwrap().0;
        // The server closes first: its end is a TIME_WAIT.
        drop(common::server_closes_first(&listener));
        (listener, close_wait)
    });
    // Both are older than the view by 3 s at least: the kernel's timer says so.
    assert!(
        wait_until(Duration::from_secs(10), || time_wait_left(&ns)
            .is_some_and(|s| s <= 56)),
        "the TIME_WAIT's timer did not run down"
    );
    let Some(tui) = Tmux::start_sized(
        "age",
        &format!("--netns {} --interval 200", ns.name),
        160,
        30,
    ) else {
        return;
    };
    let screen = tui.wait("the sockets", |s| {
        row(s, "CLOSE_WAIT ").is_some() && row(s, "TIME_WAIT ").is_some()
    });
    // A CLOSE_WAIT's age is unknown: the time since tcpscope saw it is a lower bound.
    let close_wait = in_state_cell(&screen, "CLOSE_WAIT");
    assert!(close_wait.starts_with('≥'), "{close_wait}: {screen}");
    // A TIME_WAIT's is known from its timer (it always starts at 60 s).
    let time_wait = in_state_cell(&screen, "TIME_WAIT ");
    let secs: f64 = time_wait.trim_end_matches('s').parse().unwrap();
    assert!(secs >= 3.0, "{time_wait}: {screen}");
    tui.keys(&["q"]);
    tui.wait("the view to end", |s| s.contains("EXIT:0"));
}

/// This process's name as the kernel has it (what the Owner column shows).
fn own_comm() -> String {
    std::fs::read_to_string("/proc/self/comm")
        .unwrap()
        .trim()
        .to_string()
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_has_tmux)),
    ignore = "needs root, ip and tmux: a long IPv6 address in a namespace of its own"
)]
fn an_ipv6_port_is_never_cut_and_what_does_not_fit_is_still_shown() {
    let _host = crate::common::host::shared();
    let ns = Netns::new("tuiv6");
    let added = ns.exec(&[
        "ip",
        "-6",
        "addr",
        "add",
        "2001:db8:1234:5678::1/128",
        "dev",
        "lo",
        "nodad",
    ]);
    assert!(added.status.success(), "{added:?}");
    let _listener = in_ns(Some(&ns), || {
        TcpListener::bind("[2001:db8:1234:5678::1]:8443").unwrap()
    });
    let owner = format!("{}/{}", own_comm(), std::process::id());
    let args = format!("--netns {} --interval 200", ns.name);

    // Wide: the address whole (its port was cut to :844 when both addresses shared the
    // width equally), and the owner whole.
    let Some(tui) = Tmux::start_sized("v6wide", &args, 160, 30) else {
        return;
    };
    let screen = tui.wait("the listener", |s| row(s, "LISTEN").is_some());
    let listen = row(&screen, "LISTEN").unwrap();
    assert!(
        listen.contains("[2001:db8:1234:5678::1]:8443 "),
        "the port is cut: {screen}"
    );
    assert!(listen.contains(&owner), "no {owner}: {screen}");
    tui.keys(&["q"]);
    tui.wait("the view to end", |s| s.contains("EXIT:0"));

    // 80x24: the queues, the time in state and the owner do not fit in the table; the
    // selected row's are on the table's bottom border, and the ports pane names the owner
    // (it showed one letter of it).
    let Some(tui) = Tmux::start_sized("v6narrow", &args, 80, 24) else {
        return;
    };
    let screen = tui.wait("the listener", |s| row(s, "LISTEN").is_some());
    let listen = row(&screen, "LISTEN").unwrap();
    assert!(listen.contains("]:8443"), "the port is cut: {screen}");
    let strip = screen
        .lines()
        .find(|l| l.contains("│└ "))
        .unwrap_or_else(|| panic!("no strip under the table: {screen}"));
    assert!(strip.contains("Send-Q 128"), "{strip}");
    assert!(strip.contains(&owner), "{strip}");
    let ports = screen
        .lines()
        .find(|l| l.starts_with("│:8443"))
        .unwrap_or_else(|| panic!("no :8443 in the ports pane: {screen}"));
    let comm = own_comm();
    assert!(
        ports.contains(&comm[..comm.len().min(4)]),
        "the owner is cut to nothing: {ports}"
    );
    tui.keys(&["q"]);
    tui.wait("the view to end", |s| s.contains("EXIT:0"));
}
