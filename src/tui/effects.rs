//! Runs what the app asked for: lab calls on tcpscope's own sockets, aborts and shutdowns of
//! other processes' sockets (already confirmed by the user), can-bind reports. The one place
//! of the interactive view where actions touch sockets.

use crate::actions::bind_probe::BindOptions;
use crate::actions::bind_report;
use crate::actions::destroy::destroy;
use crate::actions::foreign_shutdown::shutdown_foreign;
use crate::actions::lab::{Lab, LabError, Outcome, Role};
use crate::app::effect::{Effect, EffectDone, LabCall, LabEntry, LabView, ScenarioUpdate};
use crate::app::menu::Foreign;
use crate::app::scenario::ActorView;
use crate::model::{SocketRecord, TcpState};
use crate::scenario::check::read_name;
use crate::scenario::format::Scenario;
use crate::scenario::player::Player;

/// A scenario being played in the interactive lab.
pub struct Session {
    pub scenario: Scenario,
    player: Player,
    /// Unprivileged: on the host's loopback, with the scenario's ports moved to free ones.
    remap: bool,
    played: usize,
    results: Vec<Vec<String>>,
}

impl Session {
    pub fn new(scenario: Scenario, remap: bool) -> Session {
        Session {
            player: Player::new(&scenario.foreign, remap),
            scenario,
            remap,
            played: 0,
            results: Vec::new(),
        }
    }

    fn update(&self) -> ScenarioUpdate {
        ScenarioUpdate {
            played: self.played,
            results: self.results.clone(),
            actors: self
                .player
                .actors
                .iter()
                .map(|(name, a)| ActorView {
                    name: name.clone(),
                    listener: a.listener,
                    local: a.local,
                    remote: a.remote,
                    inode: a.inode,
                })
                .collect(),
        }
    }

    fn next(&mut self) -> EffectDone {
        let Some(step) = self.scenario.steps.get(self.played) else {
            return failed("the scenario is over: r plays it again".into());
        };
        let mut lines = Vec::new();
        let mut ok = true;
        for (cmd, line) in step.commands.iter().zip(&step.source_lines) {
            // The view must not freeze: here the user paces the steps, so a wait is theirs.
            if let crate::scenario::script::Command::Sleep { duration } = cmd {
                lines.push(format!(
                    "{line} → wait {:.0} s before pressing n (the timers run meanwhile)",
                    duration.as_secs_f64()
                ));
                continue;
            }
            match self.player.play(cmd, line) {
                Ok(r) => {
                    let want = r.actor.as_ref().and_then(|a| step.errno.get(a));
                    let got = match (&r.errno, r.read) {
                        (Some(e), _) => format!("{line} → {e}"),
                        (None, Some(read)) => format!("{line} → {}", read_name(read)),
                        (None, None) => format!("{line} → ok"),
                    };
                    if r.errno.as_ref() != want {
                        ok = false;
                    }
                    lines.push(got);
                }
                Err(e) => {
                    ok = false;
                    lines.push(format!("{line}: cannot play: {e}"));
                }
            }
        }
        self.played += 1;
        self.results.push(lines);
        EffectDone {
            status: format!(
                "step {} of {} played{}",
                self.played,
                self.scenario.steps.len(),
                if ok {
                    ""
                } else {
                    ": a call did not do what the scenario says"
                }
            ),
            ok,
            scenario: Some(self.update()),
            ..EffectDone::default()
        }
    }

    fn restart(&mut self) -> EffectDone {
        // Dropping the player closes its sockets and ends the other process.
        self.player = Player::new(&self.scenario.foreign, self.remap);
        if !self.remap {
            // The namespace is the scenario's own: clear what the last run left (TIME_WAITs
            // would hold its ports for a minute) and the qdisc it may have set.
            if let Ok(left) = crate::sources::dump_all() {
                for (i, rec) in left.iter().enumerate() {
                    let _ = destroy(rec, u32::try_from(i).unwrap_or(0) + 1);
                }
            }
            let _ = std::process::Command::new("tc")
                .args(["qdisc", "del", "dev", "lo", "root"])
                .output();
        }
        self.played = 0;
        self.results.clear();
        EffectDone {
            status: "started again: n plays the first step".into(),
            ok: true,
            scenario: Some(self.update()),
            ..EffectDone::default()
        }
    }
}

pub fn run(effect: Effect, lab: &mut Lab, session: &mut Option<Session>) -> EffectDone {
    match effect {
        Effect::ScenarioNext => match session.as_mut() {
            Some(s) => s.next(),
            None => failed("no scenario".into()),
        },
        Effect::ScenarioRestart => match session.as_mut() {
            Some(s) => s.restart(),
            None => failed("no scenario".into()),
        },
        Effect::Lab(call) => lab_call(call, lab),
        Effect::Abort(t) => abort(&t),
        Effect::GracefulShutdown(t) => graceful(&t),
        Effect::CanBind(addr) => {
            match bind_report::assess(
                addr,
                BindOptions {
                    reuseaddr: false,
                    reuseport: false,
                },
                false,
            ) {
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
                    report: Some((format!("can-bind {addr}"), report.text_lines())),
                    ..EffectDone::default()
                },
                Err(e) => failed(format!("can-bind {addr}: {e:#}")),
            }
        }
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
        LabCall::Connect(spec) => lab
            .connect(&spec)
            .map(|id| format!("lab #{id} connected to {}", spec.to)),
        LabCall::Accept(id) => lab.accept(id).map(|new| format!("accepted: lab #{new}")),
        LabCall::Send(id, data) => lab.send(id, &data).map(|n| format!("sent {n} bytes")),
        LabCall::Read(id) => lab.read(id).map(|d| {
            if d.is_empty() {
                "end of stream: the peer sent FIN".to_string()
            } else {
                format!("read {} bytes", d.len())
            }
        }),
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
            .map(|()| format!("lab #{id} closed with linger 0: RST sent")),
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

/// The socket as it is now: same ends, and the same inode when it had one.
fn find(t: &Foreign) -> anyhow::Result<Option<SocketRecord>> {
    Ok(crate::sources::dump_all()?.into_iter().find(|s| {
        s.local == t.local
            && s.remote == t.remote
            && (t.inode == 0 || s.inode == t.inode)
            && (t.state != TcpState::Listen || s.state == TcpState::Listen)
    }))
}

fn abort(t: &Foreign) -> EffectDone {
    let rec = match find(t) {
        Ok(Some(rec)) => rec,
        Ok(None) => return failed(format!("{} > {}: gone already", t.local, t.remote)),
        Err(e) => return failed(format!("{e:#}")),
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

fn graceful(t: &Foreign) -> EffectDone {
    let Some(owner) = &t.owner else {
        return failed("no process holds this socket: only an abort can remove it".into());
    };
    match shutdown_foreign(owner.pid, owner.fd, t.inode, std::net::Shutdown::Both) {
        Ok(()) => EffectDone {
            status: format!(
                "shut down {} > {} on behalf of {} (pid {})",
                t.local, t.remote, owner.comm, owner.pid
            ),
            ok: true,
            ..EffectDone::default()
        },
        Err(e) => failed(format!("shutdown {} > {}: {e}", t.local, t.remote)),
    }
}
