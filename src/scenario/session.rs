//! A scenario played step by step, at the user's pace: the interactive lab's session. Plays
//! each step's calls (the same player and checks as `lab run`), and says where it stands.

use super::actor::Ident;
use super::check::read_name;
use super::format::Scenario;
use super::player::Player;
use crate::actions::destroy::destroy;

/// Where a scenario stands: the steps played, what each call gave, who the actors are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    pub played: usize,
    /// What the calls of each played step gave, a line each.
    pub results: Vec<Vec<String>>,
    pub actors: Vec<ActorView>,
}

/// One actor's socket, as the player knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorView {
    pub name: String,
    pub ident: Ident,
}

/// What a step or a restart did: one line for the status bar, whether every call did what
/// the scenario says, and where the scenario stands now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Played {
    pub status: String,
    pub ok: bool,
    pub progress: Progress,
}

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

    fn progress(&self) -> Progress {
        Progress {
            played: self.played,
            results: self.results.clone(),
            actors: self
                .player
                .actors
                .iter()
                .map(|(name, a)| ActorView {
                    name: name.clone(),
                    ident: a.ident(),
                })
                .collect(),
        }
    }

    /// Plays the next step's calls.
    pub fn play_next(&mut self) -> Played {
        let Some(step) = self.scenario.steps.get(self.played) else {
            return Played {
                status: "the scenario is over: r plays it again".into(),
                ok: false,
                progress: self.progress(),
            };
        };
        let mut lines = Vec::new();
        let mut results = Vec::new();
        let mut ok = true;
        for (cmd, line) in step.commands.iter().zip(&step.source_lines) {
            // The view must not freeze: here the user paces the steps, so a wait is theirs.
            if let super::script::Command::Sleep { duration } = cmd {
                lines.push(format!(
                    "{line} → wait {:.0} s before pressing n (the timers run meanwhile)",
                    duration.as_secs_f64()
                ));
                continue;
            }
            match self.player.play(cmd, line) {
                Ok(r) => {
                    lines.push(match (&r.errno, r.read) {
                        (Some(e), _) => format!("{line} → {e}"),
                        (None, Some(read)) => format!("{line} → {}", read_name(read)),
                        (None, None) => format!("{line} → ok"),
                    });
                    results.push(r);
                }
                Err(e) => {
                    ok = false;
                    lines.push(format!("{line}: cannot play: {e}"));
                }
            }
        }
        // The same checks of errnos and reads as `lab run` makes.
        for problem in super::check::check_calls(step, &results) {
            ok = false;
            lines.push(format!("✗ {problem}"));
        }
        self.played += 1;
        self.results.push(lines);
        Played {
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
            progress: self.progress(),
        }
    }

    /// Closes the scenario's sockets (and, in its own namespace, what they left) and starts
    /// again.
    pub fn restart(&mut self) -> Played {
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
            let _ = crate::sources::tool::run_tool("tc", &["qdisc", "del", "dev", "lo", "root"]);
        }
        self.played = 0;
        self.results.clear();
        Played {
            status: "started again: n plays the first step".into(),
            ok: true,
            progress: self.progress(),
        }
    }
}
