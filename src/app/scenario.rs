//! A teardown scenario as the interactive lab shows it: its steps, how far it has been
//! played, what each call gave, and who the actors are (to find them among the connections).

use crate::scenario::format::Scenario;
use crate::tracker::{Connection, Step, Tracker};
use std::collections::HashSet;
use std::net::SocketAddr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepView {
    pub calls: Vec<String>,
    pub narrate: String,
    pub myth: Option<String>,
    /// Actor and the states it should enter.
    pub expect: Vec<(String, Vec<String>)>,
}

/// One actor's socket, as the player knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorView {
    pub name: String,
    pub listener: bool,
    pub local: Option<SocketAddr>,
    pub remote: Option<SocketAddr>,
    pub inode: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioView {
    pub name: String,
    pub title: String,
    pub summary: String,
    pub steps: Vec<StepView>,
    /// Steps played so far.
    pub played: usize,
    /// What the calls of each played step gave, a line each.
    pub results: Vec<Vec<String>>,
    pub actors: Vec<ActorView>,
    /// The actor whose path the diagram shows.
    pub diagram_actor: usize,
    /// Why it cannot be played here, if so.
    pub blocked: Option<String>,
}

impl ScenarioView {
    pub fn of(s: &Scenario) -> ScenarioView {
        ScenarioView {
            name: s.name.clone(),
            title: s.title.clone(),
            summary: s.summary.clone(),
            steps: s
                .steps
                .iter()
                .map(|st| StepView {
                    calls: st.source_lines.clone(),
                    narrate: st.narrate.clone(),
                    myth: st.myth.clone(),
                    expect: st
                        .expect
                        .iter()
                        .map(|(a, v)| (a.clone(), v.iter().map(|s| s.name().to_string()).collect()))
                        .collect(),
                })
                .collect(),
            played: 0,
            results: Vec::new(),
            actors: Vec::new(),
            diagram_actor: 0,
            blocked: None,
        }
    }

    pub fn finished(&self) -> bool {
        self.played >= self.steps.len()
    }

    /// The connection the tracker follows for `actor` (the newest, after a restart).
    pub fn connection<'t>(
        &self,
        actor: &ActorView,
        tracker: &'t Tracker,
    ) -> Option<&'t Connection> {
        tracker
            .connections()
            .filter(|c| {
                if actor.listener {
                    (actor.inode != 0 && c.inode == actor.inode)
                        || (Some(c.local) == actor.local && c.remote.port() == 0)
                } else {
                    Some(c.local) == actor.local && Some(c.remote) == actor.remote
                }
            })
            .max_by_key(|c| c.id)
    }

    /// The states an actor has been through, and where it is now.
    pub fn path(&self, actor: &ActorView, tracker: &Tracker) -> (Vec<Step>, Option<Step>) {
        match self.connection(actor, tracker) {
            None => (Vec::new(), None),
            Some(c) => {
                let mut path: Vec<Step> = Vec::new();
                for e in &c.timeline {
                    if path.is_empty() {
                        path.push(e.from);
                    }
                    path.push(e.to);
                }
                (path, Some(c.state))
            }
        }
    }

    pub fn path_set(path: &[Step]) -> HashSet<Step> {
        path.iter().copied().collect()
    }
}
