//! `App` with no terminal: actions in, state and effects out.

use super::*;
use crate::tracker::TrackerConfig;

fn app() -> App {
    let info = SourceInfo {
        host: "host".into(),
        netns: "net:[1]".into(),
        source: "netlink".into(),
        inferred_reason: None,
        event_source: Some("ebpf".into()),
        interval_ms: 1000,
    };
    App::new(
        info,
        Tracker::new(TrackerConfig::default()),
        Filter::default(),
    )
}

fn type_filter(app: &mut App, line: &str) {
    app.apply(Action::StartFilter);
    app.apply(Action::FilterClear);
    for c in line.chars() {
        app.apply(Action::FilterChar(c));
    }
    app.apply(Action::FilterSubmit);
}

#[test]
fn the_filter_prompt_takes_the_command_lines_filter() {
    let mut app = app();
    type_filter(&mut app, "--state time-wait --sport 8080 -4");
    assert_eq!(app.filter_error, None);
    assert!(app.prompt.is_none(), "the prompt closes");
    assert_eq!(app.filter.sport, Some(8080));
    assert!(app.filter.inet && !app.filter.inet6);
    assert!(app.filter.states.contains(TcpState::TimeWait));
    assert!(!app.filter.states.contains(TcpState::Established));
}

/// The socket source is chosen once per run: the prompt refuses what it cannot honour rather
/// than ignore it.
#[test]
fn the_filter_prompt_refuses_source_options() {
    for line in ["--netns elsewhere", "--source procfs", "--no-owners"] {
        let mut app = app();
        type_filter(&mut app, line);
        let error = app.filter_error.clone().unwrap_or_default();
        assert!(error.contains("unexpected argument"), "{line}: {error:?}");
        assert!(app.prompt.is_some(), "{line}: the prompt stays open");
        assert_eq!(app.filter.states, crate::model::StateSet::ALL);
    }
}
