//! The interactive UI: collector, event reader and input threads feed one channel; the main
//! loop owns the app state, applies what arrives, and draws.

mod dump_request;
mod effects;
mod terminal;

use crate::app::{Action, App, Overlay, SourceInfo, keys};
use crate::model::{StateSet, TcpState};
use crate::options::TuiArgs;
use crate::sources::Query;
use crate::sources::events::{self, Drained, KernelEvents, current_netns};
use crate::sources::netns::LocalPids;
use crate::sources::owners::{NewOwners, ProcfsOwners};
use crate::tracker::{KernelEvent, Mode, Snapshot, Tracker, TrackerConfig};
use crate::ui::{self, theme::Theme};
use anyhow::Context;
use crossterm::event::{Event, KeyEventKind, MouseEventKind};
use dump_request::DumpRequest;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Duration;

/// What the threads send the main loop.
enum Msg {
    Snapshot(Snapshot),
    /// Events up to the drain's watermark (every earlier event has been sent).
    Events(Vec<KernelEvent>, Drained),
    Input(Event),
    Failed(String),
    /// With every namespace: their labels (safe for the terminal), as the last scan found.
    Namespaces(std::collections::BTreeMap<u32, String>),
}

/// How often the screen is redrawn when nothing happens (timers count down, flashes fade).
const TICK: Duration = Duration::from_millis(250);

/// Whether the interactive view can run here.
pub fn has_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::io::stdin().is_terminal()
}

/// `theme`: the colours, and whether to use them (decided by the command line).
pub fn run(args: &TuiArgs, netns: &str, theme: Theme) -> anyhow::Result<()> {
    run_with(args, netns, None, theme)
}

/// The interactive view, with a lab scenario to play when `session` is given.
fn run_with(
    args: &TuiArgs,
    netns: &str,
    mut session: Option<crate::scenario::session::Session>,
    theme: Theme,
) -> anyhow::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register(signal, stop.clone()).context("installing signal handlers")?;
    }
    let all = args.sockets.netns == Some(crate::sources::netns::NetnsChoice::All);
    // With every namespace, the eBPF program takes every namespace's events (0).
    let netns_inode = if all { 0 } else { current_netns() };
    let opened = events::open(args.events, netns_inode).context("kernel events")?;
    let events = opened.events;
    let mode = if events.is_some() {
        Mode::Traced
    } else {
        Mode::Inferred
    };
    let (inferred_reason, event_source) = match (&events, opened.caveat) {
        (Some(e), None) => (None, Some(e.kind().name().to_string())),
        (Some(e), Some(_)) => (
            None,
            Some(format!(
                "{}: namespaces not told apart{}",
                e.kind().name(),
                if crate::sources::netns::others_namespaces_readable() {
                    ""
                } else {
                    "; other users' connections from snapshots (CAP_SYS_PTRACE)"
                }
            )),
        ),
        (None, why) => (why.map(|w| short_reason(&w)), None),
    };
    let source =
        crate::sources::every_netns::open_for(args.sockets.netns.as_ref(), args.sockets.source)?;
    let info = SourceInfo {
        host: rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned(),
        netns: netns.to_string(),
        source: format!("{:?}", args.sockets.source).to_lowercase(),
        inferred_reason,
        event_source,
        interval_ms: args.interval,
        owners_hidden: !args.sockets.no_owners && !crate::sources::owners::others_readable(),
    };
    let tracker = Tracker::new(TrackerConfig {
        mode,
        ghost: Duration::from_secs(args.ghost_secs),
        confirm: Duration::from_millis(args.interval.saturating_mul(3)).max(Duration::from_secs(2)),
        netns: netns_inode,
        all_namespaces: all,
        ..TrackerConfig::default()
    });
    let mut app = App::new(info, tracker, args.filter.filter());
    app.filter_text = args.filter.as_line();
    // tcpscope's own namespace's: others' are the same unless someone set theirs.
    if let Some(range) = crate::sources::sysctl::ephemeral_ports() {
        app.ephemeral = range;
    }
    if all {
        app.namespaces = Some(std::collections::BTreeMap::new());
    }
    if let Some(s) = &session {
        app.scenario = Some(crate::app::scenario::ScenarioView::of(&s.scenario));
    }

    let (tx, rx) = channel();
    // Set by the main loop after an action: the collector then dumps everything at once, so
    // the result (and a lab socket's inode) shows without waiting for the next full dump.
    let dump_now = Arc::new(DumpRequest::default());
    let interval = Duration::from_millis(args.interval);
    let with_owners = !args.sockets.no_owners;
    let full_every_secs = args.full_every;
    std::thread::scope(|scope| -> anyhow::Result<()> {
        {
            let (tx, stop) = (tx.clone(), stop.clone());
            let pacing = Pacing {
                interval,
                full_every: (mode == Mode::Traced)
                    .then(|| Duration::from_secs(full_every_secs).max(interval)),
            };
            let dump_now = dump_now.clone();
            scope.spawn(move || collect(source, with_owners, pacing, &tx, &stop, &dump_now));
        }
        if let Some(ev) = events {
            let (tx, stop) = (tx.clone(), stop.clone());
            scope.spawn(move || read_events(ev, all, &tx, &stop));
        }
        {
            let (tx, stop) = (tx.clone(), stop.clone());
            scope.spawn(move || read_input(&tx, &stop));
        }
        drop(tx);
        let result = main_loop(&mut app, &rx, &stop, &dump_now, &mut session, theme);
        // Wake and end the threads; the scope joins them.
        stop.store(true, Ordering::Relaxed);
        dump_now.ask();
        result
    })
}

fn short_reason(error: &str) -> String {
    if error.contains("Permission denied")
        || error.contains("not permitted")
        || error.contains("need root")
    {
        "kernel events need root (or CAP_BPF, CAP_PERFMON and CAP_DAC_READ_SEARCH for eBPF)".into()
    } else {
        error.to_string()
    }
}

fn main_loop(
    app: &mut App,
    rx: &Receiver<Msg>,
    stop: &AtomicBool,
    dump_now: &DumpRequest,
    session: &mut Option<crate::scenario::session::Session>,
    theme: Theme,
) -> anyhow::Result<()> {
    let mut term = terminal::setup().context("setting up the terminal")?;
    let mut local = LocalPids::new();
    // tcpscope's own lab sockets: they live as long as the view, and close with it.
    let mut lab = crate::actions::lab::Lab::new();
    let result = (|| -> anyhow::Result<()> {
        let mut areas = ui::Areas::default();
        let mut last_rebuild = (std::time::Instant::now(), Duration::ZERO);
        // Whether the last batch had a key or a click: its effect is drawn first, and the
        // rebuild (60 ms at 100k rows) waits for the next frame, up to a second.
        let mut answering = false;
        while !app.quit && !stop.load(Ordering::Relaxed) {
            app.now_ns = crate::sources::monotonic_ns();
            // Rebuild the view at most as often as it costs: never more than half the time.
            let (at, took) = last_rebuild;
            let due = at.elapsed() >= (took * 2).max(Duration::from_millis(100));
            let postponed = answering && at.elapsed() < Duration::from_secs(1);
            if app.dirty && due && !postponed {
                let started = std::time::Instant::now();
                app.refresh_if_dirty();
                last_rebuild = (started, started.elapsed());
            }
            term.draw(|f| areas = ui::draw(f, app, theme))?;
            let mut msg = rx.recv_timeout(TICK).ok();
            answering = false;
            // Apply everything that is waiting before the next frame.
            while let Some(m) = msg.take() {
                match m {
                    Msg::Snapshot(snapshot) => app.on_snapshot(snapshot),
                    Msg::Events(batch, drained) => {
                        app.on_events(
                            &batch,
                            drained.watermark,
                            drained
                                .timewait_overflows
                                .filter(|_| app.namespaces.is_none()),
                            &mut |pid| local.is_local(pid),
                        );
                    }
                    Msg::Input(ev) => {
                        answering = true;
                        if let Some(action) = action_for(&ev, app, &areas) {
                            app.apply(action);
                        }
                    }
                    Msg::Failed(why) => anyhow::bail!(why),
                    Msg::Namespaces(labels) => {
                        app.namespaces = Some(labels);
                        app.dirty = true;
                    }
                }
                msg = rx.try_recv().ok();
            }
            // What the user asked for runs here, between frames.
            for effect in std::mem::take(&mut app.pending) {
                let done = effects::run(effect, &mut lab, session);
                app.on_effect_done(done);
                dump_now.ask();
            }
        }
        Ok(())
    })();
    lab.close_all();
    // The scenario's sockets and its other process go with it.
    drop(session.take());
    terminal::restore();
    drop(term);
    result
}

fn action_for(ev: &Event, app: &App, areas: &ui::Areas) -> Option<Action> {
    match ev {
        Event::Key(k) if k.kind != KeyEventKind::Release => {
            if app.prompt.text.is_some() {
                keys::prompt(*k)
            } else {
                match app.overlay {
                    Overlay::Menu(_) => keys::menu(*k),
                    Overlay::Confirm(_) => keys::confirm(*k),
                    _ => keys::normal(*k),
                }
            }
        }
        Event::Mouse(m) => match m.kind {
            MouseEventKind::ScrollUp => Some(Action::ScrollUp),
            MouseEventKind::ScrollDown => Some(Action::ScrollDown),
            MouseEventKind::Down(_) => areas
                .hit(app, m.column, m.row)
                .map(|(p, i)| Action::Click(p, i)),
            _ => None,
        },
        _ => None,
    }
}

/// How the collector paces its dumps.
#[derive(Debug, Clone, Copy)]
struct Pacing {
    interval: Duration,
    /// With kernel events: a full dump this often, and between full dumps only the states
    /// the events cannot tell about (timewait sockets) and listeners. `None`: always full.
    full_every: Option<Duration>,
}

/// What a dump between full ones covers: the teardown states (timewait sockets are seen
/// only in snapshots) and listeners. The kernel still walks the whole table, but fills
/// and copies only these; at 200k established sockets that is most of the cost saved.
fn partial_states() -> StateSet {
    StateSet::closing().union(StateSet::of(&[TcpState::Listen]))
}

/// Snapshots on the interval, joined with owners, until told to stop.
fn collect(
    mut source: Box<dyn crate::sources::SnapshotSource>,
    with_owners: bool,
    pacing: Pacing,
    tx: &Sender<Msg>,
    stop: &AtomicBool,
    dump_now: &DumpRequest,
) {
    let interval = pacing.interval;
    let mut owners = NewOwners::new(ProcfsOwners::new());
    let mut last_full: Option<std::time::Instant> = None;
    while !stop.load(Ordering::Relaxed) {
        let started = std::time::Instant::now();
        let full = dump_now.take()
            || match (pacing.full_every, last_full) {
                (Some(every), Some(at)) => at.elapsed() >= every,
                _ => true,
            };
        if full {
            last_full = Some(started);
        }
        let states = if full {
            StateSet::ALL
        } else {
            partial_states()
        };
        let query = Query::states(states, true);
        let ts_ns = crate::sources::monotonic_ns();
        let mut sockets = Vec::new();
        if let Err(e) = source.snapshot(&query, &mut sockets) {
            let _ = tx.send(Msg::Failed(format!("reading the socket table: {e}")));
            return;
        }
        let end_ns = crate::sources::monotonic_ns();
        let spaces = source.namespaces();
        if !spaces.is_empty() {
            let labels = spaces
                .iter()
                .map(|n| {
                    let label = crate::model::safe_text::for_terminal(&n.label()).into_owned();
                    (n.inode, label)
                })
                .collect();
            if tx.send(Msg::Namespaces(labels)).is_err() {
                return;
            }
        }
        let map = if with_owners {
            owners.of(&sockets, full)
        } else {
            HashMap::new()
        };
        if tx
            .send(Msg::Snapshot(Snapshot {
                ts_ns,
                end_ns,
                sockets,
                owners: map,
                states,
            }))
            .is_err()
        {
            return;
        }
        dump_now.wait(interval.saturating_sub(started.elapsed()));
    }
}

fn read_events(mut source: KernelEvents, all: bool, tx: &Sender<Msg>, stop: &AtomicBool) {
    events::run_ahead();
    let mut batch: Vec<KernelEvent> = Vec::new();
    // With every namespace, a tracefs event (which names none) goes to its thread's.
    let mut threads = LocalPids::new();
    while !stop.load(Ordering::Relaxed) {
        // Returns once a batch has gathered, at once while the kernel is busy.
        source.wait(Duration::from_millis(50));
        batch.clear();
        let drained = match source.drain(&mut batch, crate::sources::trace::cutoff_now()) {
            Ok(d) => d,
            Err(e) => {
                let _ = tx.send(Msg::Failed(format!("reading kernel events: {e}")));
                return;
            }
        };
        if all {
            threads.place(&mut batch);
        }
        // Sent even when empty: the watermark lets waiting snapshots through.
        if tx
            .send(Msg::Events(std::mem::take(&mut batch), drained))
            .is_err()
        {
            return;
        }
    }
}

fn read_input(tx: &Sender<Msg>, stop: &AtomicBool) {
    use rustix::event::{PollFd, PollFlags};
    let stdin = std::io::stdin();
    // How soon the thread sees the stop flag: quitting waits for it (25 ms; it was 100).
    let timeout = rustix::time::Timespec {
        tv_sec: 0,
        tv_nsec: 25_000_000,
    };
    'outer: while !stop.load(Ordering::Relaxed) {
        // First what crossterm has read already: it reads the terminal in chunks, so keys
        // typed together wait in its buffer, not on the fd that we poll below.
        loop {
            match crossterm::event::poll(Duration::ZERO) {
                Ok(true) => match crossterm::event::read() {
                    Ok(ev) => {
                        if tx.send(Msg::Input(ev)).is_err() {
                            return;
                        }
                    }
                    Err(_) => break 'outer,
                },
                Ok(false) => break,
                Err(_) => break 'outer,
            }
        }
        // Wait on the terminal ourselves: once it hangs up, crossterm's reader would spin on
        // end-of-file for ever (it reads 0 bytes and tries again).
        let mut fds = [PollFd::new(&stdin, PollFlags::IN)];
        match rustix::event::poll(&mut fds, Some(&timeout)) {
            Ok(0) | Err(rustix::io::Errno::INTR) => continue,
            Ok(_) => {}
            Err(_) => break,
        }
        if fds[0]
            .revents()
            .intersects(PollFlags::HUP | PollFlags::ERR | PollFlags::NVAL)
        {
            break;
        }
    }
    // The terminal is gone (or we are told to stop): end the program.
    stop.store(true, Ordering::Relaxed);
}

/// The interactive lab on one scenario: as root in a network namespace of its own (made
/// here, deleted on exit), otherwise on this namespace's loopback with free ports.
pub fn run_lab(scenario: crate::scenario::format::Scenario, theme: Theme) -> anyhow::Result<()> {
    let root = rustix::process::geteuid().is_root();
    let needs_root = scenario.needs_root
        || scenario
            .steps
            .iter()
            .any(|st| st.commands.iter().any(|c| c.needs_root()));
    if needs_root && !root {
        anyhow::bail!(
            "scenario {} needs root (a network namespace of its own, sysctl or qdisc there, or another process's sockets)",
            scenario.name
        );
    }
    let ns = if root {
        let name = format!("tcpscope-lab-{}-tui", std::process::id());
        let ns = crate::sources::lab_netns::Namespace::create(&name).map_err(anyhow::Error::msg)?;
        crate::sources::netns::enter(&ns.name)?;
        Some(ns)
    } else {
        None
    };
    let label = ns
        .as_ref()
        .map_or("(this one)".to_string(), |n| n.name.clone());
    let session = crate::scenario::session::Session::new(scenario, ns.is_none());
    let result = run_with(&TuiArgs::for_lab(), &label, Some(session), theme);
    drop(ns);
    result
}
