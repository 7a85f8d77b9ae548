//! The screens, rendered into ratatui's TestBackend and compared as text with insta. Inputs
//! are fixed (times, host, owners), so nothing needs scrubbing.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tcpscope::app::{Action, App, SourceInfo};
use tcpscope::model::{Family, Filter, Owner, SocketRecord, TcpState, Timer, TimerKind};
use tcpscope::tracker::{KernelEvent, KernelEventKind, Mode, Snapshot, Tracker, TrackerConfig};
use tcpscope::ui::{self, theme::Theme};

const S: u64 = 1_000_000_000;

fn sock(
    state: TcpState,
    local: &str,
    remote: &str,
    inode: u64,
    timer: Option<(TimerKind, u64)>,
) -> SocketRecord {
    SocketRecord {
        recv_q: if state == TcpState::CloseWait { 1 } else { 0 },
        send_q: if state == TcpState::Listen { 128 } else { 0 },
        timer: timer.map(|(kind, remaining_ms)| Timer {
            kind,
            remaining_ms,
            retransmits: 0,
        }),
        ..SocketRecord::new(
            state,
            local.parse().unwrap(),
            remote.parse().unwrap(),
            inode,
        )
    }
}

fn owners(inode: u64) -> Vec<Owner> {
    let (pid, comm) = if inode < 100 {
        (4242, "nginx")
    } else {
        (777, "curl")
    };
    vec![Owner {
        pid,
        comm: comm.into(),
        cmdline: comm.into(),
        fd: i32::try_from(inode).unwrap(),
    }]
}

/// A host with a server on :8080 and connections in every teardown state, one of which just
/// changed (flashing) and one gone (a ghost).
fn app(mode: Mode) -> App {
    let tracker = Tracker::new(TrackerConfig {
        mode,
        ..TrackerConfig::default()
    });
    let reason = (mode == Mode::Inferred).then(|| {
        "kernel events need root: run as root, or grant CAP_SYS_ADMIN and tracefs access"
            .to_string()
    });
    let info = SourceInfo {
        host: "testhost".into(),
        netns: "(this one)".into(),
        source: "netlink".into(),
        event_source: None,
        inferred_reason: reason,
        interval_ms: 1000,
        owners_hidden: false,
    };
    let mut app = App::new(info, tracker, Filter::default());
    let tw = Some((TimerKind::Timewait, 42_000));
    let mut sockets = vec![
        sock(TcpState::Listen, "0.0.0.0:8080", "0.0.0.0:0", 10, None),
        sock(
            TcpState::Established,
            "10.0.0.1:8080",
            "10.0.0.9:50001",
            11,
            None,
        ),
        sock(
            TcpState::FinWait1,
            "10.0.0.1:8080",
            "10.0.0.9:50002",
            12,
            Some((TimerKind::Retransmit, 200)),
        ),
        sock(
            TcpState::FinWait2,
            "10.0.0.1:8080",
            "10.0.0.9:50003",
            13,
            None,
        ),
        sock(
            TcpState::Closing,
            "10.0.0.1:8080",
            "10.0.0.9:50004",
            14,
            None,
        ),
        sock(TcpState::TimeWait, "10.0.0.1:8080", "10.0.0.9:50005", 0, tw),
        sock(
            TcpState::CloseWait,
            "10.0.0.1:8080",
            "10.0.0.9:50006",
            15,
            None,
        ),
        sock(
            TcpState::LastAck,
            "10.0.0.1:8080",
            "10.0.0.9:50007",
            16,
            None,
        ),
        sock(
            TcpState::Established,
            "10.0.0.1:41000",
            "93.184.216.34:443",
            101,
            None,
        ),
        sock(
            TcpState::Established,
            "[2001:db8::1]:8080",
            "[2001:db8::9]:50008",
            17,
            None,
        ),
    ];
    app.on_snapshot(Snapshot::full(10 * S, sockets.clone(), &owners));
    // Every event up to the snapshot is in (there were none): it applies.
    app.on_events(&[], 10 * S, None, &mut |_| true);
    if mode == Mode::Traced {
        // The client connection closes: a flash.
        let ev = |ts, old, new| KernelEvent {
            ts_ns: ts,
            skaddr: 0xabc,
            family: Family::Inet,
            local: "10.0.0.1:41000".parse().unwrap(),
            remote: "93.184.216.34:443".parse().unwrap(),
            pid: 777,
            kind: KernelEventKind::SetState { old, new },
            ..KernelEvent::default()
        };
        app.on_events(
            &[
                ev(11 * S, TcpState::Established, TcpState::FinWait1),
                ev(11 * S + 5_000_000, TcpState::FinWait1, TcpState::FinWait2),
            ],
            11 * S + 5_000_000,
            None,
            &mut |_| true,
        );
    }
    // The LAST_ACK end is gone by the next snapshot: a ghost.
    sockets.retain(|s| s.state != TcpState::LastAck);
    if mode == Mode::Traced {
        sockets
            .iter_mut()
            .filter(|s| s.local.port() == 41000)
            .for_each(|s| s.state = TcpState::FinWait2);
    }
    app.on_snapshot(Snapshot::full(12 * S, sockets.clone(), &owners));
    app.on_events(&[], 12 * S, None, &mut |_| true);
    // With events, a socket is gone once two snapshots miss it (a dump can skip a socket).
    app.on_snapshot(Snapshot::full(12 * S + 100_000_000, sockets, &owners));
    app.on_events(&[], 12 * S + 100_000_000, None, &mut |_| true);
    app.refresh_view();
    app.now_ns = 12 * S + 500_000_000;
    app
}

fn render(app: &mut App, width: u16, height: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(width, height)).unwrap();
    term.draw(|f| {
        ui::draw(f, app, Theme::plain());
    })
    .unwrap();
    let buf = term.backend().buffer().clone();
    (0..height)
        .map(|y| {
            (0..width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn main_view_with_every_teardown_state_a_flash_and_a_ghost() {
    let _host = crate::common::host::shared();
    let mut app = app(Mode::Traced);
    let screen = render(&mut app, 130, 30);
    for state in [
        "LISTEN",
        "ESTABLISHED",
        "FIN_WAIT1",
        "CLOSING",
        "TIME_WAIT",
        "CLOSE_WAIT",
        "GONE",
    ] {
        assert!(screen.contains(state), "{state} missing:\n{screen}");
    }
    assert!(screen.contains("→ FIN_WAIT2"), "the flash:\n{screen}");
    insta::assert_snapshot!("main_view", screen);
}

#[test]
fn inferred_mode_header_says_why_and_how_to_fix() {
    let _host = crate::common::host::shared();
    let mut app = app(Mode::Inferred);
    let screen = render(&mut app, 130, 30);
    assert!(
        screen.contains("events: inferred (kernel events need root"),
        "{screen}"
    );
    insta::assert_snapshot!(
        "inferred_header",
        screen.lines().take(3).collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn details_view_with_timeline_and_diagram() {
    let _host = crate::common::host::shared();
    let mut app = app(Mode::Traced);
    // Select the flashing client connection and open it.
    app.apply(Action::SortNext); // remote
    let i = app
        .visible
        .iter()
        .position(|&r| app.rows[r].local.port() == 41000)
        .unwrap();
    app.sel.row = i;
    app.apply(Action::OpenDetails);
    let screen = render(&mut app, 130, 30);
    assert!(screen.contains("ESTABLISHED → FIN_WAIT1"), "{screen}");
    assert!(screen.contains("our FIN is acknowledged"), "{screen}");
    insta::assert_snapshot!("details", screen);
}

#[test]
fn help_lists_every_key() {
    let _host = crate::common::host::shared();
    let mut app = app(Mode::Traced);
    app.apply(Action::ToggleHelp);
    let screen = render(&mut app, 100, 30);
    for (_, text, _) in tcpscope::app::keys::KEYS.iter().filter(|k| !k.1.is_empty()) {
        assert!(
            screen.contains(text.trim()),
            "help lacks {text:?}:\n{screen}"
        );
    }
    insta::assert_snapshot!("help", screen);
}

#[test]
fn filter_prompt_filters_with_the_cli_language() {
    let _host = crate::common::host::shared();
    let mut app = app(Mode::Traced);
    app.apply(Action::StartFilter);
    for c in "--state close-wait".chars() {
        app.apply(Action::FilterChar(c));
    }
    let prompt = render(&mut app, 100, 24);
    assert!(
        prompt
            .lines()
            .last()
            .unwrap()
            .starts_with("/--state close-wait"),
        "{prompt}"
    );
    insta::assert_snapshot!("filter_prompt", prompt);
    app.apply(Action::FilterSubmit);
    assert_eq!(app.visible.len(), 1);
    // A bad filter says why and keeps the prompt open.
    app.apply(Action::StartFilter);
    for c in " --port 99999".chars() {
        app.apply(Action::FilterChar(c));
    }
    app.apply(Action::FilterSubmit);
    assert!(app.prompt.text.is_some());
    assert!(app.prompt.error.as_deref().unwrap().contains("99999"));
}

#[test]
fn fits_an_80_by_24_terminal() {
    let _host = crate::common::host::shared();
    let mut app = app(Mode::Traced);
    let screen = render(&mut app, 80, 24);
    assert_eq!(screen.lines().count(), 24);
    assert!(
        screen.contains("Connections")
            && screen.contains("Transitions")
            && screen.contains("Ports")
    );
    insta::assert_snapshot!("small_terminal", screen);
}

#[test]
fn mouse_clicks_select_the_row_under_them_and_the_wheel_scrolls() {
    let _host = crate::common::host::shared();
    let mut app = app(Mode::Traced);
    let mut term = Terminal::new(TestBackend::new(130, 30)).unwrap();
    let mut areas = ui::Areas::default();
    term.draw(|f| areas = ui::draw(f, &mut app, Theme::plain()))
        .unwrap();
    // The connections table: border, header line, then rows; click the third row.
    let c = areas.connections;
    let hit = areas.hit(&app, c.x + 5, c.y + 2 + 2).unwrap();
    assert_eq!(hit, (tcpscope::app::Pane::Connections, 2));
    app.apply(Action::Click(hit.0, hit.1));
    assert_eq!(app.sel.row, 2);
    app.apply(Action::ScrollDown);
    assert_eq!(app.sel.row, 3);
    // A click on the ports pane's second line selects the first port, and the table follows.
    let p = areas.ports;
    let hit = areas.hit(&app, p.x + 3, p.y + 2).unwrap();
    app.apply(Action::Click(hit.0, hit.1));
    assert_eq!(app.sel.port, 1);
    assert!(
        app.visible
            .iter()
            .all(|&i| app.rows[i].service == app.ports[0].port)
    );
    // Outside every pane: nothing.
    assert_eq!(areas.hit(&app, 0, 0), None);
}

fn select_local(app: &mut App, local: &str, remote: &str) {
    let (local, remote): (std::net::SocketAddr, std::net::SocketAddr) =
        (local.parse().unwrap(), remote.parse().unwrap());
    app.sel.row = app
        .visible
        .iter()
        .position(|&r| app.rows[r].local == local && app.rows[r].remote == remote)
        .unwrap();
}

#[test]
fn actions_menu_offers_the_valid_actions_and_confirms_before_acting() {
    let _host = crate::common::host::shared();
    use tcpscope::app::effect::Effect;
    let mut app = app(Mode::Traced);
    // A CLOSE_WAIT held by nginx: abort, graceful shutdown, can-bind.
    select_local(&mut app, "10.0.0.1:8080", "10.0.0.9:50006");
    app.apply(Action::OpenActions);
    let menu = render(&mut app, 100, 30);
    assert!(
        menu.contains("abort") && menu.contains("graceful shutdown"),
        "{menu}"
    );
    insta::assert_snapshot!("actions_menu", menu);
    app.apply(Action::MenuPick('K'));
    let dialog = render(&mut app, 100, 30);
    assert!(dialog.contains("Abort this socket?"), "{dialog}");
    assert!(
        dialog.contains("ECONNRESET") && dialog.contains("ECONNABORTED"),
        "{dialog}"
    );
    insta::assert_snapshot!("confirm_abort", dialog);
    // Cancel: nothing is queued.
    app.apply(Action::Back);
    assert!(app.pending.is_empty());
    assert_eq!(
        app.status.as_ref().unwrap().text,
        "cancelled: nothing was done"
    );
    // Confirm a graceful shutdown: exactly that effect is queued.
    app.apply(Action::OpenActions);
    app.apply(Action::MenuPick('G'));
    app.apply(Action::Confirm);
    assert!(
        matches!(&app.pending[..], [Effect::GracefulShutdown(t)] if t.remote.port() == 50006),
        "{:?}",
        app.pending
    );
    // A TIME_WAIT has no process to act for: removing it only (and can-bind), which sends
    // nothing.
    select_local(&mut app, "10.0.0.1:8080", "10.0.0.9:50005");
    app.apply(Action::OpenActions);
    let menu = render(&mut app, 100, 30);
    assert!(
        menu.contains("remove  SOCK_DESTROY")
            && menu.contains("nothing is sent")
            && !menu.contains("RST")
            && !menu.contains("graceful shutdown"),
        "{menu}"
    );
}

#[test]
fn lab_pane_shows_its_sockets_their_states_and_the_calls() {
    let _host = crate::common::host::shared();
    use tcpscope::app::effect::{EffectDone, LabEntry, LabView};
    let mut app = app(Mode::Traced);
    // Pretend the lab made the ESTABLISHED socket with inode 11.
    app.on_effect_done(EffectDone {
        status: "lab #1 connected to 10.0.0.9:50001".into(),
        ok: true,
        report: None,
        scenario: None,
        lab: Some(LabView {
            sockets: vec![LabEntry {
                id: 1,
                listener: false,
                open: true,
                inode: 11,
                local: Some("10.0.0.1:8080".parse().unwrap()),
                reuseaddr: false,
                reuseport: false,
                text: "#1 client 10.0.0.1:8080 > 10.0.0.9:50001 (fd 7)".into(),
            }],
            log: vec![
                ("#1 connect(7, 10.0.0.9:50001) = 0".into(), false),
                (
                    "#1 send(7, \"x\", 1) = -1 EPIPE: this end can no longer send".into(),
                    true,
                ),
            ],
        }),
    });
    app.refresh_view();
    assert!(app.lab_open);
    let screen = render(&mut app, 130, 34);
    assert!(screen.contains("lab#1"), "{screen}");
    assert!(screen.contains("ESTABLISHED #1 client"), "{screen}");
    assert!(screen.contains("EPIPE"), "{screen}");
    insta::assert_snapshot!("lab_pane", screen);
}

#[test]
fn actions_in_the_transitions_log_act_on_the_transition_s_connection() {
    let _host = crate::common::host::shared();
    use tcpscope::app::{Overlay, Pane};
    let mut app = app(Mode::Traced);
    // The connections pane points at the CLOSE_WAIT; the log at the client's FIN_WAIT2.
    select_local(&mut app, "10.0.0.1:8080", "10.0.0.9:50006");
    app.pane = Pane::Log;
    app.sel.log = app
        .log
        .iter()
        .position(|t| t.local.port() == 41000)
        .unwrap();
    app.apply(Action::OpenActions);
    let Overlay::Menu(menu) = &app.overlay else {
        panic!("no menu: {:?}", app.overlay);
    };
    assert!(menu.title.contains("10.0.0.1:41000"), "{}", menu.title);
}
