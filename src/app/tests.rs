//! `App` with no terminal: actions in, state and effects out.

use super::*;
use crate::model::TcpState;
use crate::tracker::TrackerConfig;

fn app() -> App {
    let info = SourceInfo {
        host: "host".into(),
        netns: "net:[1]".into(),
        source: "netlink".into(),
        inferred_reason: None,
        event_source: Some("ebpf".into()),
        interval_ms: 1000,
        owners_hidden: false,
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
    assert_eq!(app.prompt.error, None);
    assert!(app.prompt.text.is_none(), "the prompt closes");
    assert_eq!(app.filter.sport, Some(8080));
    assert!(app.filter.inet && !app.filter.inet6);
    assert!(app.filter.states.contains(TcpState::TimeWait));
    assert!(!app.filter.states.contains(TcpState::Established));
}

/// The socket source is chosen once per run: the prompt refuses what it cannot honour rather
/// than ignore it.
#[test]
fn the_filter_prompt_refuses_source_options() {
    for (line, says) in [
        ("--netns elsewhere", "this view shows one namespace"),
        ("--source procfs", "unexpected argument"),
        ("--no-owners", "unexpected argument"),
    ] {
        let mut app = app();
        type_filter(&mut app, line);
        let error = app.prompt.error.clone().unwrap_or_default();
        assert!(error.contains(says), "{line}: {error:?}");
        assert!(app.prompt.text.is_some(), "{line}: the prompt stays open");
        assert_eq!(app.filter.states, crate::model::StateSet::ALL);
    }
}

use super::view::ServicePort;
use crate::model::{Owner, SocketRecord};
use crate::tracker::{Phase, Snapshot};

const S: u64 = 1_000_000_000;

fn record(state: TcpState, local: &str, remote: &str, inode: u64) -> SocketRecord {
    SocketRecord::new(
        state,
        local.parse().unwrap(),
        remote.parse().unwrap(),
        inode,
    )
}

/// A server on :8080 with one client, both held by nginx (pid 4242).
fn serving() -> App {
    let mut app = app();
    let sockets = vec![
        record(TcpState::Listen, "0.0.0.0:8080", "0.0.0.0:0", 10),
        record(TcpState::Established, "10.0.0.1:8080", "10.0.0.9:50001", 11),
    ];
    let owners = |inode: u64| {
        vec![Owner {
            pid: 4242,
            comm: "nginx".into(),
            cmdline: "nginx".into(),
            fd: i32::try_from(inode).unwrap(),
        }]
    };
    app.on_snapshot(Snapshot::full(10 * S, sockets, &owners));
    app.on_events(&[], 10 * S, None, &mut |_| true);
    app.refresh_view();
    app
}

/// Selects the connections pane's row in `state`.
fn select(app: &mut App, state: TcpState) {
    while app.pane != Pane::Connections {
        app.apply(Action::NextPane);
    }
    app.apply(Action::Home);
    for _ in 0..app.visible.len() {
        if app
            .focused_row()
            .is_some_and(|r| r.state == Phase::State(state))
        {
            return;
        }
        app.apply(Action::Down);
    }
    panic!("no {state:?} row: {:?}", app.visible);
}

#[test]
fn an_abort_is_asked_for_and_queued_only_once_confirmed() {
    let mut app = serving();
    select(&mut app, TcpState::Established);
    app.apply(Action::OpenActions);
    let Overlay::Menu(menu) = &app.overlay else {
        panic!("no menu: {:?}", app.overlay);
    };
    assert!(menu.items.iter().any(|i| i.key == 'K'), "{menu:?}");
    app.apply(Action::MenuPick('K'));
    assert!(
        matches!(app.overlay, Overlay::Confirm(_)),
        "{:?}",
        app.overlay
    );
    assert!(app.pending.is_empty(), "nothing done before the yes");
    app.apply(Action::Confirm);
    let [Effect::Abort(target)] = app.pending.as_slice() else {
        panic!("{:?}", app.pending);
    };
    assert_eq!(target.remote.to_string(), "10.0.0.9:50001");
    assert_eq!(target.owners.first().map(|o| o.pid), Some(4242));
    assert_eq!(app.overlay, Overlay::None);
}

#[test]
fn a_cancelled_confirmation_queues_nothing() {
    let mut app = serving();
    select(&mut app, TcpState::Established);
    app.apply(Action::OpenActions);
    app.apply(Action::MenuPick('K'));
    app.apply(Action::Back);
    assert!(app.pending.is_empty(), "{:?}", app.pending);
    assert_eq!(app.overlay, Overlay::None);
}

#[test]
fn a_listeners_menu_offers_can_bind() {
    let mut app = serving();
    select(&mut app, TcpState::Listen);
    app.apply(Action::OpenActions);
    let Overlay::Menu(menu) = &app.overlay else {
        panic!("no menu: {:?}", app.overlay);
    };
    let keys: Vec<char> = menu.items.iter().map(|i| i.key).collect();
    assert!(keys.contains(&'b'), "can-bind for a listener: {keys:?}");
}

#[test]
fn sorting_cycles_and_reverses() {
    let mut app = serving();
    let first = app.sorting.key;
    app.apply(Action::SortNext);
    assert_ne!(app.sorting.key, first);
    let order: Vec<usize> = app.visible.clone();
    app.apply(Action::SortReverse);
    assert!(app.sorting.descending);
    let mut reversed = app.visible.clone();
    reversed.reverse();
    assert_eq!(order, reversed, "two rows, reversed");
}

/// A socket two processes hold (a forked worker): `--pid` finds it by either, and a graceful
/// shutdown gets both to try.
#[test]
fn a_socket_is_every_owners() {
    let mut app = app();
    let sockets = vec![record(
        TcpState::Established,
        "10.0.0.1:8080",
        "10.0.0.9:50001",
        11,
    )];
    let owners = |_inode: u64| {
        [4242, 5151]
            .map(|pid| Owner {
                pid,
                comm: "nginx".into(),
                cmdline: "nginx".into(),
                fd: 7,
            })
            .to_vec()
    };
    app.on_snapshot(Snapshot::full(10 * S, sockets, &owners));
    app.on_events(&[], 10 * S, None, &mut |_| true);
    app.refresh_view();
    type_filter(&mut app, "--pid 5151");
    assert_eq!(app.visible.len(), 1, "found by its second owner");
    select(&mut app, TcpState::Established);
    app.apply(Action::OpenActions);
    app.apply(Action::MenuPick('G'));
    app.apply(Action::Confirm);
    let [Effect::GracefulShutdown(target)] = app.pending.as_slice() else {
        panic!("{:?}", app.pending);
    };
    let pids: Vec<i32> = target.owners.iter().map(|o| o.pid).collect();
    assert_eq!(pids, [4242, 5151]);
}

/// The ports pane's lines after one snapshot of `sockets`.
fn ports_of(app: &mut App, at: u64, sockets: Vec<SocketRecord>) -> Vec<ServicePort> {
    app.on_snapshot(Snapshot::full(at, sockets, &|_| Vec::new()));
    app.on_events(&[], at, None, &mut |_| true);
    app.refresh_view();
    app.ports.iter().map(|p| p.port).collect()
}

#[test]
fn a_servers_time_waits_are_its_ports_after_its_listener_is_gone() {
    // Seen only after the server exited: told by the ports, 7100 is no ephemeral port.
    let mut app = app();
    let ports = ports_of(
        &mut app,
        10 * S,
        vec![
            record(TcpState::TimeWait, "127.0.0.1:7100", "127.0.0.1:34912", 0),
            record(TcpState::TimeWait, "127.0.0.1:7100", "127.0.0.1:34918", 0),
            record(TcpState::Established, "10.0.0.1:40000", "10.0.0.9:443", 7),
        ],
    );
    assert_eq!(
        ports,
        [ServicePort::Local(7100), ServicePort::Remote(443)],
        "{:?}",
        app.ports
    );
}

#[test]
fn a_listener_that_closed_keeps_its_ports_sockets() {
    // Every port ephemeral: only the listener, kept as a ghost, tells the server's end.
    let mut app = app();
    app.ephemeral = 1..=65535;
    let tw = || record(TcpState::TimeWait, "127.0.0.1:40100", "127.0.0.1:40200", 0);
    let listener = record(TcpState::Listen, "127.0.0.1:40100", "0.0.0.0:0", 5);
    ports_of(&mut app, 10 * S, vec![listener, tw()]);
    // Two snapshots without it: with events, one miss does not end a socket.
    ports_of(&mut app, 11 * S, vec![tw()]);
    let ports = ports_of(&mut app, 12 * S, vec![tw()]);
    assert_eq!(ports, [ServicePort::Local(40100)], "{:?}", app.ports);
    assert_eq!(app.ports[0].counts.of(TcpState::TimeWait), 1);
    assert_eq!(app.ports[0].listeners, 0, "the ghost is no listener");
}

#[test]
fn a_status_line_goes_once_old_and_a_cancel_says_so() {
    let mut app = app();
    app.now_ns = 100 * S;
    type_filter(&mut app, "--port 80");
    app.apply(Action::StartFilter);
    app.apply(Action::FilterChar('x'));
    app.apply(Action::FilterCancel);
    assert_eq!(
        app.status_shown().map(|s| s.text.as_str()),
        Some("filter unchanged: --port 80")
    );
    app.now_ns += super::STATUS_NS - 1;
    assert!(app.status_shown().is_some(), "still fresh");
    app.now_ns += 1;
    assert!(app.status_shown().is_none(), "an old outcome is not news");
    // A failure stays longer.
    app.say("it failed".into(), false);
    app.now_ns += super::STATUS_NS;
    assert!(app.status_shown().is_some());
    app.now_ns += super::STATUS_FAILED_NS;
    assert!(app.status_shown().is_none());
}

#[test]
fn sorting_by_timer_and_by_owner_puts_the_unknown_last() {
    use crate::model::{Timer, TimerKind};
    let mut app = app();
    let with_timer = |state, local: &str, inode, ms| SocketRecord {
        timer: Some(Timer {
            kind: TimerKind::Timewait,
            remaining_ms: ms,
            retransmits: 0,
        }),
        ..record(state, local, "10.0.0.9:80", inode)
    };
    let sockets = vec![
        with_timer(TcpState::FinWait2, "10.0.0.1:40001", 1, 30_000),
        record(TcpState::Established, "10.0.0.1:40002", "10.0.0.9:80", 2),
        with_timer(TcpState::FinWait2, "10.0.0.1:40003", 3, 5_000),
    ];
    let owners = |inode: u64| match inode {
        1 => vec![Owner {
            pid: 9,
            comm: "redis".into(),
            cmdline: "".into(),
            fd: 3,
        }],
        3 => vec![Owner {
            pid: 7,
            comm: "nginx".into(),
            cmdline: "".into(),
            fd: 3,
        }],
        _ => vec![],
    };
    app.on_snapshot(Snapshot::full(10 * S, sockets, &owners));
    app.on_events(&[], 10 * S, None, &mut |_| true);
    app.refresh_view();
    let order = |app: &mut App, key: SortKey| {
        while app.sorting.key != key {
            app.apply(Action::SortNext);
        }
        app.visible
            .iter()
            .map(|&i| app.rows[i].local.port())
            .collect::<Vec<_>>()
    };
    assert_eq!(order(&mut app, SortKey::Timer), [40003, 40001, 40002]);
    assert_eq!(order(&mut app, SortKey::Owner), [40003, 40001, 40002]);
}
