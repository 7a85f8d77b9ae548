//! The connections table's columns as the view shows them: the time in state when tcpscope
//! started after the socket entered it.

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
