//! What the confirmation dialog says will happen to both ends, before tcpscope touches a
//! socket that is not its own. The facts are the ones `tests/integration/foreign_sockets.rs` checks.

use super::effect::{Effect, Foreign, Peer};
use crate::model::TcpState;

/// A question the user answers before the effect runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    pub title: String,
    pub lines: Vec<String>,
    pub effect: Effect,
}

fn who(t: &Foreign) -> String {
    t.owners.first().map_or_else(
        || "no process (nobody holds it)".to_string(),
        |o| format!("{} (pid {}, fd {})", o.comm, o.pid, o.fd),
    )
}

/// The dialog for an effect on another process's socket; `None` for one that needs none.
pub fn confirm(effect: &Effect) -> Option<Confirm> {
    let (title, lines) = match effect {
        Effect::Abort(t) => ("Abort this socket?", abort_lines(t)),
        Effect::GracefulShutdown(t) => ("Shut this socket down?", shutdown_lines(t)),
        _ => return None,
    };
    Some(Confirm {
        title: title.to_string(),
        lines,
        effect: effect.clone(),
    })
}

fn target_line(t: &Foreign) -> String {
    format!(
        "{} {} > {}, held by {}",
        t.state.name(),
        t.local,
        t.remote,
        who(t)
    )
}

/// What the dialog says of the peer: `usual` while it may exist, or that it is gone, which a
/// CLOSE_WAIT left for minutes mostly is (the closing end's FIN_WAIT2 timed out long ago).
fn peer_line(t: &Foreign, usual: String) -> String {
    match t.peer {
        Peer::Gone => format!(
            "The peer {}: gone already (no socket of this host has that end any more): nothing sent reaches it.",
            t.remote
        ),
        Peer::Here(s) => usual.replacen(
            &format!("The peer {}:", t.remote),
            &format!("The peer {} ({} on this host):", t.remote, s.name()),
            1,
        ),
        Peer::Unknown if t.state == TcpState::CloseWait => format!(
            "{usual} If it still exists: a peer that called close() leaves FIN_WAIT2 after net.ipv4.tcp_fin_timeout (60 s by default), so a CLOSE_WAIT older than that has mostly no peer left."
        ),
        Peer::Unknown => usual,
    }
}

fn abort_lines(t: &Foreign) -> Vec<String> {
    let mut lines = vec![
        target_line(t),
        String::new(),
        "netlink SOCK_DESTROY (as `ss -K` does; needs CAP_NET_ADMIN):".to_string(),
    ];
    match t.state {
        TcpState::Listen => {
            lines.push("This end: the listener stops accepting; its owner's accept() fails with EINVAL (a waiting one wakes); connections waiting in its accept queue get a RST, new ones are refused.".into());
            lines.push("The port stays bound until the owner closes the fd (unless it was bound to port 0): a new server cannot bind it before. The owner may listen() on it again.".into());
        }
        TcpState::TimeWait => {
            lines.push(
                "The TIME_WAIT entry is removed: the port can be bound again at once.".into(),
            );
            lines.push("The peer: nothing is sent (it closed already).".into());
        }
        TcpState::SynSent => {
            lines.push("This end: the connection attempt ends (CLOSE); its owner's connect() fails with ECONNABORTED.".into());
            lines.push("The peer: nothing is sent (no connection exists yet).".into());
        }
        TcpState::LastAck | TcpState::Closing => {
            lines.push("This end: gone at once, with no TIME_WAIT. Its FIN is out already; nothing more is sent.".into());
            lines.push(peer_line(
                t,
                format!(
                "The peer {}: nothing more is sent to it; its end finishes on its own timers (TIME_WAIT, or a FIN_WAIT2 timeout if our FIN never arrived).",
                t.remote
            ),
            ));
        }
        TcpState::FinWait2 if t.inode == 0 => {
            lines.push(
                "This end: an orphan (its owner closed it); the entry is removed, nothing is sent."
                    .into(),
            );
            lines.push(peer_line(
                t,
                format!(
                "The peer {}: its CLOSE_WAIT is untouched; when it closes, its FIN meets a RST.",
                t.remote
            ),
            ));
        }
        TcpState::CloseWait => {
            lines.push("This end: gone at once, no FIN, no TIME_WAIT; its owner's recv() still returns 0, its next send() fails with ECONNABORTED, then EPIPE.".into());
            lines.push(peer_line(
                t,
                format!(
                "The peer {}: gets a RST instead of our FIN; it sees ECONNRESET and its end is gone.",
                t.remote
            ),
            ));
        }
        _ => {
            lines.push("This end: gone at once, no FIN, no TIME_WAIT; its owner gets ECONNABORTED on its next call (a waiting recv() wakes with it), then EPIPE from send().".into());
            lines.push(peer_line(
                t,
                format!(
                    "The peer {}: gets a RST; its next call fails with ECONNRESET.",
                    t.remote
                ),
            ));
        }
    }
    lines
}

fn shutdown_lines(t: &Foreign) -> Vec<String> {
    let mut lines = vec![
        target_line(t),
        String::new(),
        "pidfd_getfd() copies the owner's fd (needs ptrace rights: CAP_SYS_PTRACE), then shutdown(SHUT_RDWR) on the copy:".to_string(),
    ];
    match t.state {
        TcpState::Listen => {
            lines.push("This end: the listener stops accepting; the owner's accept() fails with EINVAL (a waiting one wakes); queued connections get a RST. The port stays bound while the owner holds the fd (unless bound to port 0).".into());
        }
        TcpState::CloseWait => {
            lines.push("This end: sends the FIN its owner never did, goes LAST_ACK, then is gone once the peer acknowledges; the owner's recv() returns 0 and send() fails with EPIPE.".into());
            lines.push(peer_line(
                t,
                format!(
                    "The peer {}: reads end-of-file and goes to TIME_WAIT (60 s).",
                    t.remote
                ),
            ));
        }
        _ => {
            lines.push("This end: a FIN goes out (no RST): FIN_WAIT1 → FIN_WAIT2, where it stays with no timer while the owner holds the fd. The owner's recv() returns 0 and its send() fails with EPIPE.".into());
            lines.push(peer_line(
                t,
                format!(
                "The peer {}: reads end-of-file and stays CLOSE_WAIT until it closes; data it still sends is answered with a RST.",
                t.remote
            ),
            ));
        }
    }
    lines
}
