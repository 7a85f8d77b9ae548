//! The `/` filter as a user meets it: it looks at every port (and says so when the port
//! chosen on the left hides what it finds), it filters the transitions too, it finds words
//! and process names.

use crate::common;

use common::tmux::{Tmux, table_rows as rows};
use common::{Netns, in_ns};
use std::net::{TcpListener, TcpStream};

/// The lines of the transitions pane: below its title, up to the frame's bottom.
fn transitions(screen: &str) -> Vec<&str> {
    screen
        .lines()
        .skip_while(|l| !l.contains("┌ Transitions"))
        .skip(1)
        .take_while(|l| !l.contains("└"))
        .filter_map(|l| {
            l.split_once("││")
                .map(|(_, r)| r.trim_end_matches('│').trim())
        })
        .filter(|r| !r.is_empty())
        .collect()
}

/// The title of the connections table, up to its count.
fn title(screen: &str) -> String {
    screen
        .lines()
        .find_map(|l| l.split_once("┌ Connections "))
        .map(|(_, t)| t.split(" (").next().unwrap_or("").to_string())
        .unwrap_or_default()
}

/// Clicks `label`'s line in the ports pane (an SGR mouse press and release, as a terminal
/// sends them), then waits for the table to show that port.
fn choose_port(tui: &Tmux, label: &str) {
    let screen = tui.screen();
    let y = screen
        .lines()
        .position(|l| {
            l.strip_prefix('│')
                .is_some_and(|r| r.starts_with(&format!("{label} ")))
        })
        .unwrap_or_else(|| panic!("{label} is not in the ports pane:\n{screen}"))
        + 1;
    tui.type_text(&format!("\u{1b}[<0;3;{y}M\u{1b}[<0;3;{y}m"));
    tui.wait(label, |s| title(s) == label);
}

fn filter(tui: &Tmux, line: &str) {
    tui.keys(&["/"]);
    tui.wait("the prompt", |s| s.contains("Enter apply, Esc cancel"));
    tui.keys(&["C-u"]);
    tui.type_text(line);
    tui.keys(&["Enter"]);
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_has_tmux)),
    ignore = "needs root, ip and tmux: two servers in a namespace of their own"
)]
fn the_filter_says_what_it_hides_filters_transitions_and_finds_words() {
    let _host = crate::common::host::shared();
    let ns = Netns::new("tuifilter");
    let args = format!("--netns {} --interval 200", ns.name);
    let Some(tui) = Tmux::start_sized("filter", &args, 200, 45) else {
        return;
    };
    tui.wait("the view", |s| s.contains("Ports"));
    // Two servers, one connection each: :7500 and :7600.
    let _held = in_ns(Some(&ns), || {
        let mut held = Vec::new();
        for port in [7500, 7600] {
            let l = TcpListener::bind(("127.0.0.1", port)).unwrap();
            let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
            let (s, _) = l.accept().unwrap();
            held.push((l, c, s));
        }
        held
    });
    tui.wait(
        "both servers in the ports pane, and their transitions",
        |s| {
            let pane = |p: &str| s.lines().any(|l| l.starts_with(&format!("│{p} ")));
            pane(":7500") && pane(":7600") && transitions(s).iter().any(|l| l.contains(":7600"))
        },
    );
    // Choose :7600 on the left (all, :7500, :7600), then filter for :7500.
    choose_port(&tui, ":7600");
    filter(&tui, "--port 7500");
    let screen = tui.wait("the filter on every port", |s| {
        s.contains("Connections all ports (3) filter: --port 7500")
    });
    assert!(
        rows(&screen).iter().all(|r| !r.contains(":7600")),
        "{screen}"
    );
    // The transitions follow the filter, and say so.
    let t = transitions(&screen);
    assert!(
        !t.is_empty() && t.iter().all(|l| l.contains(":7500")),
        "only :7500's transitions: {t:?}\n{screen}"
    );
    assert!(screen.contains("(filter: --port 7500)"), "{screen}");
    // Choosing :7600 again: the table is empty and says why.
    choose_port(&tui, ":7600");
    tui.wait("why :7600 shows nothing", |s| {
        s.contains("no connection on :7600 matches --port 7500: 3 on other ports")
    });

    // Words: any case, in the state, the addresses, the owner.
    filter(&tui, "established 7600");
    let screen = tui.wait("the words found", |s| {
        s.contains("Connections all ports (2) filter: established 7600")
    });
    assert!(
        rows(&screen)
            .iter()
            .filter(|r| r.contains("ESTABLISHED"))
            .all(|r| r.contains(":7600")),
        "{screen}"
    );
    // A process name, any case: this test's own (as /proc names it; until the next full
    // snapshot, an event's owner is its thread's name), and one nobody has.
    let comm = std::fs::read_to_string(format!("/proc/{}/comm", std::process::id())).unwrap();
    let name = comm.trim().to_uppercase();
    filter(&tui, &format!("--process {name} --port 7600"));
    tui.wait("the process filter", |s| {
        s.contains(&format!(
            "Connections all ports (3) filter: --process {name}"
        ))
    });
    filter(&tui, "--process no-such-process");
    tui.wait("no such process", |s| {
        s.contains("Connections all ports (0)")
            && s.contains("no connection matches the filter --process no-such-process")
    });
}
