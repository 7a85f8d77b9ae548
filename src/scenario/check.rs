//! Compares what a step should show with what was seen. Pure: no I/O.

use super::actor::{Actor, CallResult};
use super::format::{Read, Step};
use crate::tracker::{Connection, Phase, Source, Tracker, Transition};
use serde::Serialize;
use std::collections::BTreeMap;

/// One actor in one step.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ActorCheck {
    pub expected: Vec<String>,
    /// The states entered, each with how it is known (`traced`, `observed`, `inferred`).
    pub observed: Vec<String>,
    pub ok: bool,
}

/// The states each actor entered, from the transitions of a step.
///
/// Kernel events do not say which network namespace they come from: another namespace with
/// the same 4-tuple (two scenarios played at once) can slip a connection in when its event
/// ran while one of ours was on the CPU. When several connections answer to one actor, the
/// ones a snapshot of this namespace has shown are the actor's.
pub fn by_actor(
    transitions: &[Transition],
    tracker: &Tracker,
    actors: &BTreeMap<String, Actor>,
) -> BTreeMap<String, Vec<(Phase, Source)>> {
    let owner_of = |t: &Transition| -> Option<(&String, bool)> {
        // The connection as it is now: a client's first event has local port 0.
        let conn = tracker.connection(t.conn);
        let (local, remote, inode) =
            conn.map_or((t.local, t.remote, 0), |c| (c.local(), c.remote(), c.inode));
        let seen = conn.is_some_and(Connection::seen_in_snapshot);
        actors
            .iter()
            .find(|(_, a)| a.ident().owns(local, remote, inode))
            .map(|(name, _)| (name, seen))
    };
    // Which actors have a connection this namespace's snapshots showed.
    let mut seen_conns: BTreeMap<&String, std::collections::BTreeSet<u64>> = BTreeMap::new();
    let mut all_conns: BTreeMap<&String, std::collections::BTreeSet<u64>> = BTreeMap::new();
    for t in transitions {
        if let Some((name, seen)) = owner_of(t) {
            all_conns.entry(name).or_default().insert(t.conn);
            if seen {
                seen_conns.entry(name).or_default().insert(t.conn);
            }
        }
    }
    let mut out: BTreeMap<String, Vec<(Phase, Source)>> = BTreeMap::new();
    for t in transitions {
        let Some((name, _)) = owner_of(t) else {
            continue;
        };
        let several = all_conns.get(name).is_some_and(|c| c.len() > 1);
        if several
            && let Some(seen) = seen_conns.get(name)
            && !seen.contains(&t.conn)
        {
            continue;
        }
        out.entry(name.clone()).or_default().push((t.to, t.source));
    }
    out
}

/// Whether the step has shown at least what it expects (to stop waiting).
pub fn satisfied(step: &Step, seen: &BTreeMap<String, Vec<(Phase, Source)>>, traced: bool) -> bool {
    step.expect.iter().all(|(actor, want)| {
        let got = seen.get(actor).map_or(&[][..], Vec::as_slice);
        if traced {
            got.len() >= want.len()
        } else {
            want.last()
                .is_none_or(|w| got.last().map(|g| g.0) == Some(*w))
        }
    })
}

/// The verdict on one step: per actor, and the calls' errnos and reads.
pub fn check(
    step: &Step,
    seen: &BTreeMap<String, Vec<(Phase, Source)>>,
    calls: &[CallResult],
    actors: &[String],
    traced: bool,
) -> (BTreeMap<String, ActorCheck>, Vec<String>) {
    let mut problems = Vec::new();
    let mut out = BTreeMap::new();
    for actor in actors {
        let want = step.expect.get(actor).cloned().unwrap_or_default();
        let got = seen.get(actor).cloned().unwrap_or_default();
        let ok = if traced {
            got.iter().map(|g| g.0).eq(want.iter().copied())
        } else {
            // Snapshots miss short states: only where the actor ends up can be checked.
            match want.last() {
                Some(w) => got.last().map(|g| g.0) == Some(*w),
                None => true,
            }
        };
        let names = |v: &[Phase]| v.iter().map(|s| s.name().to_string()).collect::<Vec<_>>();
        let check = ActorCheck {
            expected: names(&want),
            observed: got
                .iter()
                .map(|(s, src)| format!("{} ({})", s.name(), src.name()))
                .collect(),
            ok,
        };
        if !ok {
            problems.push(format!(
                "{actor}: expected [{}], observed [{}]",
                check.expected.join(" → "),
                check.observed.join(" → ")
            ));
        }
        out.insert(actor.clone(), check);
    }
    problems.extend(check_calls(step, calls));
    (out, problems)
}

/// The calls' errnos and reads against the step's `errno` and `reads`.
pub fn check_calls(step: &Step, calls: &[CallResult]) -> Vec<String> {
    let mut problems = Vec::new();
    for call in calls {
        let Some(actor) = &call.actor else { continue };
        let want = step.errno.get(actor);
        if call.errno.as_ref() != want {
            problems.push(format!(
                "{}: expected {}, got {}",
                call.call,
                want.map_or("success", String::as_str),
                call.errno.as_deref().unwrap_or("success")
            ));
        }
        if let (Some(want), Some(got)) = (step.reads.get(actor), call.read)
            && *want != got
        {
            problems.push(format!(
                "{}: expected to read {}, read {}",
                call.call,
                read_name(*want),
                read_name(got)
            ));
        }
    }
    problems
}

pub fn read_name(r: Read) -> String {
    match r {
        Read::Eof => "end of stream (0)".into(),
        Read::Bytes(n) => format!("{n} bytes"),
    }
}
