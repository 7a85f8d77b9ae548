//! Copying a row: `y` as text, `Y` as JSON, to the clipboard through OSC 52 (here tmux's,
//! with `set-clipboard on`); `m` leaves the mouse to the terminal, for its own selection.

use crate::common;

use common::tmux::Tmux;
use common::{Netns, in_ns};
use std::process::Command;

fn tmux_buffer() -> String {
    let out = Command::new("tmux").args(["show-buffer"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_has_tmux)),
    ignore = "needs root, ip and tmux: a listener in a namespace of its own"
)]
fn y_copies_the_row_as_text_and_as_json_and_m_frees_the_mouse() {
    let _host = crate::common::host::shared();
    let ns = Netns::new("tuicopy");
    let args = format!("--netns {} --interval 200 --state listen", ns.name);
    let Some(tui) = Tmux::start_sized("copy", &args, 160, 40) else {
        return;
    };
    // tmux takes OSC 52 into a paste buffer only with set-clipboard on.
    assert!(
        Command::new("tmux")
            .args(["set-option", "-s", "set-clipboard", "on"])
            .status()
            .unwrap()
            .success()
    );
    let _listener = in_ns(Some(&ns), || {
        std::net::TcpListener::bind("127.0.0.1:7900").unwrap()
    });
    tui.wait("the listener", |s| s.contains("127.0.0.1:7900"));
    tui.keys(&["y"]);
    tui.wait("copied", |s| s.contains("copied the row to the clipboard"));
    let text = tmux_buffer();
    assert!(
        text.starts_with("LISTEN 127.0.0.1:7900 0.0.0.0:0 recv-q 0 send-q 128"),
        "{text:?}"
    );
    tui.keys(&["Y"]);
    tui.wait("copied as JSON", |s| s.contains("copied the row as JSON"));
    let json: serde_json::Value = serde_json::from_str(&tmux_buffer()).expect("JSON");
    assert_eq!(json["state"], "LISTEN");
    assert_eq!(json["local_port"], 7900);
    assert_eq!(json["owners"][0]["pid"], std::process::id());
    tui.keys(&["m"]);
    tui.wait("the mouse left to the terminal", |s| {
        s.contains("mouse: the terminal's")
    });
    tui.keys(&["m"]);
    tui.wait("the mouse back", |s| s.contains("mouse: tcpscope's again"));
}
