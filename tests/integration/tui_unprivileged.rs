//! Run as nobody, the view cannot read other users' processes' fds: it says so where the owner
//! would be, in the header and in the details, with the capabilities that would show it.

use crate::common;

use common::tmux::{Tmux, state_row};
use std::net::{TcpListener, TcpStream};

const NOTE: &str = "owners: yours only (CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH)";

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_tmux, tcpscope_test_as_nobody)),
    ignore = "needs root, tmux, setpriv and a target directory nobody can enter: root's sockets seen by tcpscope run as nobody"
)]
fn as_nobody_other_users_owners_are_said_to_be_hidden_and_why() {
    let _host = crate::common::host::shared();
    // Root's sockets (this test's), on a port of their own.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (_server, _) = listener.accept().unwrap();
    let args = format!("--interval 200 --port {port}");
    let listening = format!("127.0.0.1:{port}");

    let Some(nobody) = Tmux::start_as_nobody("unpriv", &args) else {
        return;
    };
    let screen = nobody.wait("root's listener", |s| {
        state_row(s, "LISTEN", &listening).is_some()
    });
    let listen = state_row(&screen, "LISTEN", &listening).unwrap();
    assert!(
        listen.contains("(hidden)"),
        "the Owner cell says the owner is hidden:\n{screen}"
    );
    assert!(
        screen.contains(NOTE),
        "the header says why, whole:\n{screen}"
    );
    nobody.keys(&["/"]);
    nobody.type_text(" --state listen");
    nobody.keys(&["Enter"]);
    nobody.wait("the listener alone", |s| s.contains("(1)"));
    nobody.keys(&["Enter"]);
    let screen = nobody.wait("the details", |s| s.contains("timeline"));
    assert!(
        screen.contains("hidden: another user's process")
            && screen.contains("CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH"),
        "the details say what would show the owner:\n{screen}"
    );

    // As root the same view names the owner and has no note.
    let root = Tmux::start_sized("priv", &args, 200, 40).unwrap();
    let screen = root.wait("root's listener with its owner", |s| {
        state_row(s, "LISTEN", &listening).is_some_and(|r| r.contains('/'))
    });
    assert!(
        !screen.contains("(hidden)") && !screen.contains(NOTE),
        "{screen}"
    );
}
