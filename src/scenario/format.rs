//! A scenario file: TOML with a title, the actors' calls step by step, what each step must
//! show, and a narration line per step. Errors name the file and the line.
//!
//! ```toml
//! name = "half-close"
//! title = "Half-close: shutdown(SHUT_WR) and keep reading"
//! summary = "…"
//!
//! [[step]]
//! do = ["listen listener 127.0.0.1:8080"]
//! narrate = "The server listens on :8080."
//! expect = { listener = ["LISTEN"] }
//! ```

use super::script::{self, Command};
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// A scenario as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: String,
    title: String,
    summary: String,
    /// Actors whose calls a separate process makes (for the abort and shutdown of another
    /// process's sockets).
    #[serde(default)]
    foreign: Vec<String>,
    /// What this scenario needs beyond loopback: "root" (a namespace of its own, sysctl,
    /// qdisc, acting on another process's sockets).
    #[serde(default)]
    needs_root: bool,
    #[serde(rename = "step")]
    steps: Vec<Spanned<RawStep>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    #[serde(rename = "do", default)]
    calls: Vec<String>,
    narrate: String,
    /// The states each actor enters during the step, in order; actors not named must not
    /// change state.
    #[serde(default)]
    expect: BTreeMap<String, Vec<String>>,
    /// The errno a call of this actor must fail with.
    #[serde(default)]
    errno: BTreeMap<String, String>,
    /// What a read of this actor must return: "eof" or a number of bytes.
    #[serde(default)]
    reads: BTreeMap<String, String>,
    /// Seconds to wait for the expected transitions (default 3).
    timeout: Option<f64>,
    /// A myth this step corrects, said with the narration.
    myth: Option<String>,
}

/// A parsed, checked scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub title: String,
    pub summary: String,
    pub foreign: Vec<String>,
    pub needs_root: bool,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone)]
pub struct Step {
    /// The line of `[[step]]` in the file.
    pub line: usize,
    pub commands: Vec<Command>,
    /// The calls as written, for reports.
    pub source_lines: Vec<String>,
    pub narrate: String,
    pub expect: BTreeMap<String, Vec<crate::tracker::Phase>>,
    pub errno: BTreeMap<String, String>,
    pub reads: BTreeMap<String, Read>,
    pub timeout_s: f64,
    pub myth: Option<String>,
}

/// What a read must return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    Eof,
    Bytes(usize),
}

/// A scenario file that cannot be used, with where.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct FormatError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// Where the lines of a text start, for the 1-based line of a byte offset in O(log n): one
/// scan from the start per step made a 1 MB file take 90 s.
struct Lines(Vec<usize>);

impl Lines {
    fn of(text: &str) -> Lines {
        Lines(text.match_indices('\n').map(|(at, _)| at).collect())
    }

    fn line_of(&self, offset: usize) -> usize {
        self.0.partition_point(|&newline| newline < offset) + 1
    }
}

/// Parses and checks `text`, read from `file` (named in errors).
pub fn parse(file: &str, text: &str) -> Result<Scenario, FormatError> {
    let err = |line: usize, message: String| FormatError {
        file: file.to_string(),
        line,
        message,
    };
    let lines = Lines::of(text);
    let raw: RawScenario = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |s| lines.line_of(s.start));
        err(line, e.message().to_string())
    })?;
    if raw.steps.is_empty() {
        return Err(err(1, "no [[step]]".into()));
    }
    let mut steps = Vec::new();
    // A set: a hostile file may make actors by the thousand.
    let mut actors: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for spanned in raw.steps {
        let line = lines.line_of(spanned.span().start);
        let raw_step = spanned.into_inner();
        let mut commands = Vec::new();
        for c in &raw_step.calls {
            let cmd = script::parse(c).map_err(|m| err(line, format!("{c:?}: {m}")))?;
            for used in cmd.actors_used() {
                if !actors.contains(used) {
                    return Err(err(
                        line,
                        format!(
                            "{c:?}: no actor {used:?} yet (made by listen, connect … as, accept … as)"
                        ),
                    ));
                }
            }
            for made in cmd.actors_made() {
                if !actors.contains(made) {
                    actors.insert(made.to_string());
                }
            }
            commands.push(cmd);
        }
        if commands.len() > 1 && commands.iter().any(|c| matches!(c, Command::Sleep { .. })) {
            return Err(err(line, "a sleep is a step of its own".into()));
        }
        let mut expect = BTreeMap::new();
        for (actor, states) in raw_step.expect {
            if !actors.contains(&actor) {
                return Err(err(line, format!("expect: unknown actor {actor:?}")));
            }
            let parsed = states
                .iter()
                .map(|s| {
                    parse_phase(s)
                        .ok_or_else(|| err(line, format!("expect: {actor}: unknown state {s:?}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            expect.insert(actor, parsed);
        }
        for actor in raw_step.errno.keys().chain(raw_step.reads.keys()) {
            if !actors.contains(actor) {
                return Err(err(line, format!("unknown actor {actor:?}")));
            }
        }
        for (actor, name) in &raw_step.errno {
            if !name.starts_with('E') || name.len() < 3 {
                return Err(err(
                    line,
                    format!("errno: {actor}: {name:?} is not an errno name"),
                ));
            }
        }
        let mut reads = BTreeMap::new();
        for (actor, r) in raw_step.reads {
            let read = match r.as_str() {
                "eof" => Read::Eof,
                n => Read::Bytes(n.parse().map_err(|_| {
                    err(
                        line,
                        format!("reads: {actor}: {n:?} is neither \"eof\" nor a number"),
                    )
                })?),
            };
            reads.insert(actor, read);
        }
        let timeout_s = raw_step.timeout.unwrap_or(3.0);
        if !(timeout_s > 0.0 && timeout_s <= 120.0) {
            return Err(err(
                line,
                format!("timeout {timeout_s} is not within (0, 120] seconds"),
            ));
        }
        steps.push(Step {
            line,
            commands,
            source_lines: raw_step.calls.clone(),
            narrate: raw_step.narrate,
            expect,
            errno: raw_step.errno,
            reads,
            timeout_s,
            myth: raw_step.myth,
        });
    }
    for f in &raw.foreign {
        if !actors.contains(f) {
            return Err(err(1, format!("foreign: no step makes actor {f:?}")));
        }
    }
    Ok(Scenario {
        name: raw.name,
        title: raw.title,
        summary: raw.summary,
        foreign: raw.foreign,
        needs_root: raw.needs_root,
        steps,
    })
}

/// `ESTABLISHED`, `time-wait`, `GONE`…
fn parse_phase(s: &str) -> Option<crate::tracker::Phase> {
    if s.eq_ignore_ascii_case("gone") {
        return Some(crate::tracker::Phase::Gone);
    }
    s.parse::<crate::model::TcpState>()
        .ok()
        .map(crate::tracker::Phase::State)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "t"
title = "T"
summary = "S"

[[step]]
do = ["listen listener 127.0.0.1:8080"]
narrate = "listens"
expect = { listener = ["LISTEN"] }

[[step]]
do = ["connect client listener as server"]
narrate = "connects"
expect = { client = ["SYN_SENT", "ESTABLISHED"], server = ["SYN_RECV", "ESTABLISHED"] }
"#;

    #[test]
    fn a_good_file_parses() {
        let s = parse("t.toml", GOOD).unwrap();
        assert_eq!(s.steps.len(), 2);
        assert_eq!(s.steps[1].line, 11);
        assert_eq!(s.steps[1].expect["server"].len(), 2);
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let bad = GOOD.replace("SYN_RECV", "SYN_RECIEVED");
        let e = parse("t.toml", &bad).unwrap_err().to_string();
        assert!(
            e.starts_with("t.toml:11: expect: server: unknown state"),
            "{e}"
        );
        let bad = GOOD.replace(
            "narrate = \"connects\"",
            "narrate = \"connects\"\nnarate = 1",
        );
        let e = parse("t.toml", &bad).unwrap_err().to_string();
        assert!(e.starts_with("t.toml:14:") && e.contains("narate"), "{e}");
        let bad = GOOD.replace("connect client listener", "connect client nobody");
        let e = parse("t.toml", &bad).unwrap_err().to_string();
        assert!(e.contains("t.toml:11:") && e.contains("nobody"), "{e}");
    }
}
