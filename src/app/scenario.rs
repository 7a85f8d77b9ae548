//! A teardown scenario as the interactive lab shows it: its steps, how far it has been
//! played, what each call gave, and who the actors are (to find them among the connections).

use crate::scenario::format::Scenario;
use crate::scenario::session::ActorView;
use crate::tracker::{Connection, Phase, Tracker};
use std::collections::HashSet;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepView {
    pub calls: Vec<String>,
    pub narrate: String,
    pub myth: Option<String>,
    /// Actor and the states it should enter.
    pub expect: Vec<(String, Vec<String>)>,
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
            .filter(|c| actor.ident.owns(c.local(), c.remote(), c.inode))
            .max_by_key(|c| c.id)
    }

    /// The states an actor has been through, and where it is now.
    pub fn path(&self, actor: &ActorView, tracker: &Tracker) -> (Vec<Phase>, Option<Phase>) {
        match self.connection(actor, tracker) {
            None => (Vec::new(), None),
            Some(c) => {
                let mut path: Vec<Phase> = Vec::new();
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

    pub fn path_set(path: &[Phase]) -> HashSet<Phase> {
        path.iter().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SocketRecord, TcpState};
    use crate::tracker::{Mode, TrackerConfig};

    fn listener(inode: u64) -> SocketRecord {
        SocketRecord {
            send_q: 128,
            ..SocketRecord::new(
                TcpState::Listen,
                "127.0.0.1:8080".parse().unwrap(),
                "0.0.0.0:0".parse().unwrap(),
                inode,
            )
        }
    }

    fn actor(inode: u64) -> ActorView {
        ActorView {
            name: format!("l{inode}"),
            ident: crate::scenario::actor::Ident {
                listener: true,
                local: Some("127.0.0.1:8080".parse().unwrap()),
                remote: None,
                inode,
            },
        }
    }

    #[test]
    fn a_closed_listener_stays_itself_after_another_takes_its_address() {
        let mut t = Tracker::new(TrackerConfig {
            mode: Mode::Inferred,
            ghost: std::time::Duration::from_secs(600),
            ..TrackerConfig::default()
        });
        let none = |_| Vec::new();
        t.apply_snapshot(1_000_000_000, &[listener(10)], &none);
        t.apply_snapshot(2_000_000_000, &[], &none);
        t.apply_snapshot(3_000_000_000, &[listener(11)], &none);
        let view = ScenarioView {
            name: String::new(),
            title: String::new(),
            summary: String::new(),
            steps: Vec::new(),
            played: 0,
            results: Vec::new(),
            actors: Vec::new(),
            diagram_actor: 0,
        };
        let (_, old) = view.path(&actor(10), &t);
        let (_, new) = view.path(&actor(11), &t);
        assert_eq!(old, Some(Phase::Gone));
        assert_eq!(new, Some(Phase::State(TcpState::Listen)));
    }
}
