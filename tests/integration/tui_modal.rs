//! Overlays own the keyboard while open: keys pressed in the help scroll it and move nothing
//! underneath, and on a small terminal the help scrolls to its last line.

use crate::common;

use common::tmux::Tmux;
use common::{Netns, in_ns};
use std::net::{TcpListener, TcpStream};

/// The details overlay's title line: which connection it shows.
fn details_title(screen: &str) -> Option<String> {
    screen
        .lines()
        .find(|l| l.contains(" > ") && l.contains("(Esc to close)"))
        .map(str::to_string)
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_has_tmux)),
    ignore = "needs root, ip and tmux: the view at 80x24 on a namespace of its own"
)]
fn keys_in_the_help_scroll_it_and_move_nothing_under_it() {
    let _host = crate::common::host::shared();
    let ns = Netns::new("tuihelp");
    let _sockets = in_ns(Some(&ns), || {
        let l = TcpListener::bind("127.0.0.1:9300").unwrap();
        let pairs: Vec<(TcpStream, TcpStream)> = (0..4)
            .map(|_| {
                let c = TcpStream::connect("127.0.0.1:9300").unwrap();
                (c, l.accept().unwrap().0)
            })
            .collect();
        (l, pairs)
    });
    let args = format!("--netns {} --interval 200", ns.name);
    let Some(tui) = Tmux::start_sized("help", &args, 80, 24) else {
        return;
    };
    tui.wait("the connections", |s| {
        s.contains("Connections all ports (9)")
    });
    // The first row's details, to compare with.
    tui.keys(&["Enter"]);
    let first = details_title(&tui.wait("the details", |s| details_title(s).is_some())).unwrap();
    tui.keys(&["Escape"]);
    tui.wait("the details to close", |s| details_title(s).is_none());

    // At 80x24 the help does not fit: it says so, and End shows its last line.
    tui.keys(&["?"]);
    let cut = tui.wait("the help", |s| s.contains("Keys 1-"));
    assert!(!cut.contains("inferred:"), "the help fits at 80x24?\n{cut}");
    tui.keys(&["End"]);
    tui.wait("the help's last line", |s| s.contains("inferred:"));
    tui.keys(&["Home", "j", "j", "j", "PgDn", "s"]);
    tui.keys(&["Escape"]);
    tui.wait("the help to close", |s| !s.contains("Keys "));

    // Nothing moved or re-sorted underneath: Enter opens the same first row.
    tui.keys(&["Enter"]);
    let after = details_title(&tui.wait("the details", |s| details_title(s).is_some())).unwrap();
    assert_eq!(
        after, first,
        "the keys pressed in the help moved the selection"
    );
    tui.keys(&["Escape"]);
    let screen = tui.wait("the details to close", |s| details_title(s).is_none());
    assert!(
        screen.contains("sort: local"),
        "s in the help sorted:\n{screen}"
    );
    tui.keys(&["q"]);
    tui.wait("the view to end", |s| s.contains("EXIT:0"));
}
