//! Runs what the app asked for: lab calls on tcpscope's own sockets, aborts and shutdowns of
//! other processes' sockets (already confirmed by the user), can-bind reports. The one place
//! of the interactive view where actions touch sockets.

use crate::actions::bind_probe::BindOptions;
use crate::actions::bind_report;
use crate::actions::destroy::destroy;
use crate::actions::foreign_shutdown::shutdown_through_any;
use crate::actions::lab::{Lab, LabError, Outcome, Role};
use crate::app::effect::Foreign;
use crate::app::effect::{Effect, EffectDone, LabCall, LabEntry, LabView};
use crate::model::SocketRecord;
use crate::model::safe_text::for_terminal;
use crate::scenario::session::{Played, Session};

pub fn run(effect: Effect, lab: &mut Lab, session: &mut Option<Session>) -> EffectDone {
    match effect {
        Effect::ScenarioNext => match session.as_mut() {
            Some(s) => played(s.play_next()),
            None => failed("no scenario".into()),
        },
        Effect::ScenarioRestart => match session.as_mut() {
            Some(s) => played(s.restart()),
            None => failed("no scenario".into()),
        },
        Effect::Lab(call) => lab_call(call, lab),
        Effect::Abort(t) => in_namespace(t.netns, || abort(&t)),
        Effect::GracefulShutdown(t) => graceful(&t),
        Effect::CanBind(addr, netns) => in_namespace(netns, || can_bind(addr)),
        Effect::Copy { text, what } => copy(&text, what),
        Effect::MouseCapture(on) => mouse_capture(on),
    }
}

/// Puts `text` on the clipboard through the terminal: OSC 52, which xterm, kitty, iTerm2,
/// WezTerm, foot and tmux (with `set-clipboard on`) understand; a terminal that does not
/// ignores it, so the status says so.
fn copy(text: &str, what: &str) -> EffectDone {
    use base64::Engine;
    use std::io::Write;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    let mut out = std::io::stdout();
    let written = write!(out, "\x1b]52;c;{encoded}\x07").and_then(|()| out.flush());
    match written {
        Ok(()) => EffectDone {
            status: format!(
                "copied {what} to the clipboard (OSC 52: if nothing was copied, your terminal does not take it)"
            ),
            ok: true,
            ..EffectDone::default()
        },
        Err(e) => failed(format!("copying {what}: {e}")),
    }
}

/// Takes the mouse, or leaves it to the terminal.
fn mouse_capture(on: bool) -> EffectDone {
    let done = if on {
        crossterm::execute!(std::io::stdout(), crossterm::event::EnableMouseCapture)
    } else {
        crossterm::execute!(std::io::stdout(), crossterm::event::DisableMouseCapture)
    };
    match (done, on) {
        (Err(e), _) => failed(format!("mouse capture: {e}")),
        (Ok(()), true) => EffectDone {
            status: "mouse: tcpscope's again (clicks select, the wheel scrolls; m gives it back)"
                .into(),
            ok: true,
            ..EffectDone::default()
        },
        (Ok(()), false) => EffectDone {
            status: "mouse: the terminal's (select text as usual; m takes it back)".into(),
            ok: true,
            ..EffectDone::default()
        },
    }
}

/// Runs an effect in the namespace of the socket it is about.
fn in_namespace(netns: u32, f: impl FnOnce() -> EffectDone + Send) -> EffectDone {
    crate::sources::namespaces::run_in(netns, f).unwrap_or_else(failed)
}

/// The can-bind report for `addr`, in this thread's namespace.
fn can_bind(addr: std::net::SocketAddr) -> EffectDone {
    let options = BindOptions {
        reuseaddr: false,
        reuseport: false,
    };
    match bind_report::assess(addr, options, false) {
        Ok(report) => EffectDone {
            status: format!(
                "{addr}: {}",
                if report.bindable() {
                    "a server could bind and listen now"
                } else {
                    "a server could not bind now"
                }
            ),
            ok: true,
            report: Some((format!("can-bind {addr}"), report.text_lines(false))),
            ..EffectDone::default()
        },
        Err(e) => failed(format!("can-bind {addr}: {e:#}")),
    }
}

fn played(p: Played) -> EffectDone {
    EffectDone {
        status: p.status,
        ok: p.ok,
        scenario: Some(p.progress),
        ..EffectDone::default()
    }
}

fn failed(status: String) -> EffectDone {
    EffectDone {
        status,
        ok: false,
        ..EffectDone::default()
    }
}

fn lab_call(call: LabCall, lab: &mut Lab) -> EffectDone {
    let result: Result<String, LabError> = match call {
        LabCall::Listen(spec) => lab.listen(&spec).map(|id| format!("lab #{id} listens")),
        // The view never waits for a handshake: the socket shows SYN_SENT until it is done.
        LabCall::Connect(spec) => lab
            .connect_in_background(&spec)
            .map(|id| format!("lab #{id} connects to {}", spec.to)),
        LabCall::Accept(id) => lab.accept(id).map(|new| format!("accepted: lab #{new}")),
        LabCall::Send(id, data) => lab.send(id, &data).map(|n| format!("sent {n} bytes")),
        // The log line says why a read returned 0 (a FIN, our own SHUT_RD, an earlier reset).
        LabCall::Read(id) => lab
            .read(id)
            .map(|_| lab.log().last().map(|c| c.line()).unwrap_or_default()),
        LabCall::Shutdown(id, how) => lab.shutdown(id, how).map(|()| {
            let name = match how {
                std::net::Shutdown::Read => "SHUT_RD",
                std::net::Shutdown::Write => "SHUT_WR",
                std::net::Shutdown::Both => "SHUT_RDWR",
            };
            format!("lab #{id}: shutdown({name}) done")
        }),
        LabCall::Close(id) => lab.close(id).map(|()| format!("lab #{id} closed")),
        LabCall::CloseLinger0(id) => lab
            .close_linger0(id)
            .map(|()| format!("lab #{id} closed with SO_LINGER {{1, 0}}")),
        LabCall::Rebind {
            id,
            reuseaddr,
            reuseport,
        } => lab
            .rebind(id, reuseaddr, reuseport)
            .map(|new| format!("rebound: lab #{new} listens")),
    };
    let (status, ok) = match result {
        Ok(s) => (s, true),
        Err(e) => (e.to_string(), false),
    };
    EffectDone {
        status,
        ok,
        lab: Some(view(lab)),
        ..EffectDone::default()
    }
}

/// The lab as the app shows it.
pub fn view(lab: &Lab) -> LabView {
    LabView {
        sockets: lab
            .sockets()
            .iter()
            .map(|s| LabEntry {
                id: s.id,
                listener: s.role == Role::Listener,
                open: s.is_open(),
                inode: s.inode,
                local: s.local,
                reuseaddr: s.reuseaddr,
                reuseport: s.reuseport,
                text: s.describe(),
            })
            .collect(),
        log: lab
            .log()
            .iter()
            .map(|c| (c.line(), matches!(c.outcome, Outcome::Err(_))))
            .collect(),
    }
}

/// The socket the user confirmed, in a fresh dump: the same ends and inode, and for a socket
/// without an inode (TIME_WAIT, an orphan) the same state too. The 4-tuple alone may belong
/// to another socket by now (a new connection after the TIME_WAIT went), which must not be
/// touched.
fn find(t: &Foreign, dump: Vec<SocketRecord>) -> Option<SocketRecord> {
    dump.into_iter().find(|s| {
        s.local == t.local
            && s.remote == t.remote
            && s.inode == t.inode
            && (t.inode != 0 || s.state == t.state)
    })
}

fn abort(t: &Foreign) -> EffectDone {
    let dump = match crate::sources::dump_all() {
        Ok(d) => d,
        Err(e) => return failed(format!("{e:#}")),
    };
    let Some(rec) = find(t, dump) else {
        return failed(format!(
            "{} > {}: gone already (or no longer the socket confirmed): nothing done",
            t.local, t.remote
        ));
    };
    match destroy(&rec, 1) {
        Ok(()) => EffectDone {
            status: format!("aborted {} {} > {}", rec.state, rec.local, rec.remote),
            ok: true,
            ..EffectDone::default()
        },
        Err(e) => failed(format!("abort {} > {}: {e}", t.local, t.remote)),
    }
}

/// Through the first owner whose fd still is the socket, as `tcpscope shutdown` does.
fn graceful(t: &Foreign) -> EffectDone {
    if t.owners.is_empty() {
        return failed("no process holds this socket: only an abort can remove it".into());
    }
    match shutdown_through_any(&t.owners, t.inode, std::net::Shutdown::Both) {
        Ok(owner) => EffectDone {
            status: format!(
                "shut down {} > {} on behalf of {} (pid {})",
                t.local,
                t.remote,
                for_terminal(&owner.comm),
                owner.pid
            ),
            ok: true,
            ..EffectDone::default()
        },
        Err(errors) => {
            let why: Vec<String> = errors
                .iter()
                .map(|(o, e)| format!("pid {}: {e}", o.pid))
                .collect();
            failed(format!(
                "shutdown {} > {}: {}",
                t.local,
                t.remote,
                why.join("; ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TcpState;

    fn rec(state: TcpState, inode: u64) -> SocketRecord {
        SocketRecord {
            cookie: 1,
            ..SocketRecord::new(
                state,
                "127.0.0.1:40000".parse().unwrap(),
                "127.0.0.1:8080".parse().unwrap(),
                inode,
            )
        }
    }

    fn target(state: TcpState, inode: u64) -> Foreign {
        Foreign {
            local: "127.0.0.1:40000".parse().unwrap(),
            remote: "127.0.0.1:8080".parse().unwrap(),
            state,
            inode,
            owners: Vec::new().into(),
            netns: 0,
            peer: crate::app::effect::Peer::Unknown,
        }
    }

    #[test]
    fn an_abort_finds_only_the_socket_that_was_confirmed() {
        let tw = target(TcpState::TimeWait, 0);
        assert!(find(&tw, vec![rec(TcpState::TimeWait, 0)]).is_some());
        // The TIME_WAIT went and a new connection took the 4-tuple: not that one.
        assert!(find(&tw, vec![rec(TcpState::Established, 77)]).is_none());
        // A live socket is known by its inode, whatever its state now.
        let est = target(TcpState::Established, 77);
        assert!(find(&est, vec![rec(TcpState::CloseWait, 77)]).is_some());
        assert!(find(&est, vec![rec(TcpState::Established, 78)]).is_none());
    }
}
