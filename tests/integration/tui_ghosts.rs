//! Closed connections (ghosts, GONE) after a burst can be most of the table: `g` hides and
//! shows them, and a ghost shows no timer (its last snapshot's would still count down).

use crate::common;

use common::tmux::{Tmux, table_rows as rows};
use common::{Netns, in_ns};
use std::net::TcpListener;

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_has_tmux)),
    ignore = "needs root, ip and tmux: TIME_WAITs killed in a namespace of their own"
)]
fn ghosts_show_no_timer_and_g_hides_them() {
    let _host = crate::common::host::shared();
    let ns = Netns::new("tuighosts");
    let args = format!("--netns {} --interval 200 --port 7700", ns.name);
    let Some(tui) = Tmux::start_sized("ghosts", &args, 200, 40) else {
        return;
    };
    tui.wait("the view", |s| s.contains("Ports"));
    in_ns(Some(&ns), || {
        let listener = TcpListener::bind("127.0.0.1:7700").unwrap();
        for _ in 0..3 {
            drop(common::server_closes_first(&listener));
        }
    });
    tui.wait("three TIME_WAITs with their timers", |s| {
        rows(s)
            .iter()
            .filter(|r| r.starts_with("TIME_WAIT") && r.contains(" tw "))
            .count()
            == 3
    });
    // Freed as `ss -K` would: the three become ghosts.
    let out = common::tcpscope(&[
        "kill",
        "--netns",
        &ns.name,
        "--sport",
        "7700",
        "--state",
        "time-wait",
        "--yes",
    ]);
    assert!(out.status.success(), "{out:?}");
    tui.keys(&["/"]);
    tui.type_text(" --state time-wait");
    tui.keys(&["Enter"]);
    let screen = tui.wait("three ghosts of TIME_WAITs", |s| {
        s.contains("filter: --port 7700 --state time-wait")
            && rows(s).iter().filter(|r| r.starts_with("GONE")).count() == 3
    });
    for r in rows(&screen).iter().filter(|r| r.starts_with("GONE")) {
        assert!(!r.contains(" tw "), "a ghost with a timer: {r}\n{screen}");
    }
    tui.keys(&["g"]);
    let screen = tui.wait("the ghosts hidden", |s| {
        s.contains("closed hidden (g)") && s.contains("closed connections hidden (")
    });
    assert!(
        !rows(&screen).iter().any(|r| r.starts_with("GONE")),
        "{screen}"
    );
    tui.keys(&["g"]);
    tui.wait("the ghosts back", |s| {
        !s.contains("closed hidden (g)")
            && rows(s).iter().filter(|r| r.starts_with("GONE")).count() == 3
    });
}
