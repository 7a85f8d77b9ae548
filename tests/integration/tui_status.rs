//! The status bar says what a key did, a cancel included, and gives the keys back once the
//! news is old.

use crate::common;

use common::tmux::Tmux;

const KEYS: &str = "q quit  ? help";

#[test]
#[cfg_attr(
    not(tcpscope_test_has_tmux),
    ignore = "needs tmux: the real binary in a terminal"
)]
fn a_cancel_is_said_and_the_status_line_does_not_go_stale() {
    let _host = crate::common::host::shared();
    let Some(tui) = Tmux::start("status", "--interval 200 --port 9") else {
        return;
    };
    tui.wait("the view", |s| s.contains("Ports") && s.contains(KEYS));
    tui.keys(&["/"]);
    tui.wait("the prompt", |s| s.contains("Enter apply, Esc cancel"));
    tui.type_text(" --state listen");
    tui.keys(&["Escape"]);
    let screen = tui.wait("the cancel said", |s| {
        s.contains("filter unchanged: --port 9")
    });
    assert!(
        screen.contains("filter: --port 9 sort"),
        "the typed filter was not applied:\n{screen}"
    );
    // After a while the keys are back.
    tui.wait("the keys again", |s| {
        s.contains(KEYS) && !s.contains("filter unchanged")
    });
}
