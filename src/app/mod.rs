//! The application state: what is selected, filtered, sorted, paused, open; and the actions
//! that change it. No I/O, no drawing.

pub mod confirm;
pub mod effect;
pub mod keys;
pub mod menu;
pub mod scenario;
pub mod view;

#[cfg(test)]
mod tests;

use crate::model::{Filter, TcpState};
use crate::options::FilterArgs;
use crate::tracker::{ConnId, Feed, KernelEvent, Snapshot, Step, Tracker, Transition};
use clap::Parser;
use confirm::Confirm;
use effect::{Effect, EffectDone, LabCall, LabView};
use menu::{Foreign, Menu, Op};
use std::collections::VecDeque;
use view::{PortSummary, Row, ServicePort};

/// What the user can ask for; keys and mouse map to these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    ToggleHelp,
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    NextPane,
    PrevPane,
    OpenDetails,
    Back,
    StartFilter,
    FilterChar(char),
    FilterBackspace,
    /// Ctrl-U: empties the prompt.
    FilterClear,
    FilterSubmit,
    FilterCancel,
    SortNext,
    SortReverse,
    TogglePause,
    /// A click on a row of a pane (row index within the pane's list).
    Click(Pane, usize),
    ScrollUp,
    ScrollDown,
    /// The actions menu for the selected socket (or the lab).
    OpenActions,
    /// The can-bind report for the selected port.
    CanBind,
    /// Opens or closes the lab pane.
    ToggleLab,
    /// Enter in a menu.
    Select,
    /// A menu item's key.
    MenuPick(char),
    /// Yes in a confirmation dialog.
    Confirm,
    /// The lab scenario's next step.
    ScenarioNext,
    /// The lab scenario from the start.
    ScenarioRestart,
    /// The next actor in the scenario's state diagram.
    DiagramActor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Ports,
    Connections,
    Log,
    /// Only while the lab is open.
    Lab,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    None,
    Help,
    Details(ConnId),
    Menu(Menu),
    Confirm(Confirm),
    /// A text report (can-bind): title, lines, first line shown.
    Report(String, Vec<String>, usize),
}

/// What the bottom prompt is asking for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    Filter,
    LabListen,
    LabConnect,
    LabSend(crate::actions::lab::LabId),
    LabRebind(crate::actions::lab::LabId),
}

impl PromptKind {
    /// The prompt's label and its hint.
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            PromptKind::Filter => ("/", "e.g. --port 8080 --state time-wait"),
            PromptKind::LabListen => ("listen on ", "ADDR [backlog=N] [reuseaddr] [reuseport]"),
            PromptKind::LabConnect => ("connect to ", "ADDR [from=ADDR] [reuseaddr] [reuseport]"),
            PromptKind::LabSend(_) => ("send ", "the text to send (\\n for a newline)"),
            PromptKind::LabRebind(_) => ("rebind with ", "options: reuseaddr reuseport (or none)"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    State,
    Local,
    Remote,
    RecvQ,
    SendQ,
    Age,
}

impl SortKey {
    const ORDER: [SortKey; 6] = [
        SortKey::State,
        SortKey::Local,
        SortKey::Remote,
        SortKey::RecvQ,
        SortKey::SendQ,
        SortKey::Age,
    ];

    fn next(self) -> SortKey {
        let i = SortKey::ORDER.iter().position(|k| *k == self).unwrap_or(0);
        SortKey::ORDER[(i + 1) % SortKey::ORDER.len()]
    }

    pub fn name(self) -> &'static str {
        match self {
            SortKey::State => "state",
            SortKey::Local => "local",
            SortKey::Remote => "remote",
            SortKey::RecvQ => "recv-q",
            SortKey::SendQ => "send-q",
            SortKey::Age => "time in state",
        }
    }
}

/// What the header says about where data comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    pub host: String,
    pub netns: String,
    pub source: String,
    /// `None` when traced; otherwise why events are off and how to turn them on.
    pub inferred_reason: Option<String>,
    /// Which event source runs (`ebpf`, `tracefs` and its limit), when one does.
    pub event_source: Option<String>,
    pub interval_ms: u64,
}

/// TIME_WAIT and CLOSE_WAIT counts, one sample per snapshot, for the sparklines.
pub const HISTORY: usize = 240;
/// Transitions kept for the log pane.
const LOG_LEN: usize = 1000;
/// How long a changed row flashes.
pub const FLASH_NS: u64 = 3_000_000_000;

pub struct App {
    pub info: SourceInfo,
    feed: Feed,
    pub rows: Vec<Row>,
    pub ports: Vec<PortSummary>,
    /// Indices into `rows` that pass the filter and port selection, sorted.
    pub visible: Vec<usize>,
    pub log: VecDeque<Transition>,
    pub pane: Pane,
    pub overlay: Overlay,
    /// 0: all ports; i: `ports[i - 1]`.
    pub port_sel: usize,
    pub row_sel: usize,
    pub log_sel: usize,
    pub paused: bool,
    pub filter: Filter,
    pub filter_text: String,
    /// The prompt's text while it is open.
    pub prompt: Option<String>,
    pub prompt_kind: PromptKind,
    /// Why the prompt's text was refused.
    pub filter_error: Option<String>,
    /// The last action's outcome, for the status bar: (text, ok).
    pub status: Option<(String, bool)>,
    /// Effects asked for, run by the main loop.
    pub pending: Vec<Effect>,
    pub lab: LabView,
    pub lab_open: bool,
    pub lab_sel: usize,
    /// Inodes of the rows shown as lab sockets, as of the last rebuild.
    lab_marked: std::collections::HashSet<u64>,
    /// The teardown scenario being played (`tcpscope lab NAME`).
    pub scenario: Option<scenario::ScenarioView>,
    pub sort: SortKey,
    pub sort_desc: bool,
    pub now_ns: u64,
    pub snapshot_ns: u64,
    pub history: VecDeque<(u64, u64)>,
    /// Live connections per state (by kernel number) and ghosts (index 0), for the header.
    pub counts: [usize; 13],
    pub quit: bool,
    /// Rows a page holds, as last drawn (for PgUp/PgDn).
    pub page: usize,
    /// Data changed since the view was last rebuilt.
    pub dirty: bool,
    /// The tracker's change counter at the last look.
    seen_changes: u64,
}

/// A filter line in the CLI's own language.
#[derive(Parser)]
#[command(no_binary_name = true)]
struct FilterLine {
    #[command(flatten)]
    filter: FilterArgs,
}

impl App {
    pub fn new(info: SourceInfo, tracker: Tracker, filter: Filter) -> App {
        App {
            info,
            feed: Feed::new(tracker),
            rows: Vec::new(),
            ports: Vec::new(),
            visible: Vec::new(),
            log: VecDeque::new(),
            pane: Pane::Connections,
            overlay: Overlay::None,
            port_sel: 0,
            row_sel: 0,
            log_sel: 0,
            paused: false,
            filter,
            filter_text: String::new(),
            prompt: None,
            prompt_kind: PromptKind::Filter,
            filter_error: None,
            status: None,
            pending: Vec::new(),
            lab: LabView::default(),
            lab_open: false,
            lab_sel: 0,
            lab_marked: std::collections::HashSet::new(),
            scenario: None,
            sort: SortKey::Local,
            sort_desc: false,
            now_ns: 0,
            snapshot_ns: 0,
            history: VecDeque::new(),
            counts: [0; 13],
            quit: false,
            page: 10,
            dirty: false,
            seen_changes: 0,
        }
    }

    /// The tracker, as the feed keeps it.
    pub fn tracker(&self) -> &Tracker {
        self.feed.tracker()
    }

    /// Kernel events arrived, every one up to `watermark` (see `Feed::on_events`).
    pub fn on_events(
        &mut self,
        events: &[KernelEvent],
        watermark: u64,
        timewait_overflows: Option<u64>,
        is_local_pid: &mut dyn FnMut(i32) -> bool,
    ) {
        self.feed
            .on_events(events, watermark, timewait_overflows, is_local_pid);
        self.take_transitions();
    }

    /// A snapshot arrived (with the owners of its sockets new to us). The feed applies it
    /// once the events have caught up with it.
    pub fn on_snapshot(&mut self, snapshot: Snapshot) {
        let ts_ns = snapshot.ts_ns;
        let sockets = &snapshot.sockets;
        // A lab socket not yet on screen may have just got its inode (an accepted socket has
        // none until accept()): rebuild so that it shows as the lab's.
        if self.lab.sockets.iter().any(|e| e.open) {
            let unmarked: std::collections::HashSet<u64> = self
                .lab
                .sockets
                .iter()
                .filter(|e| e.open && e.inode != 0 && !self.lab_marked.contains(&e.inode))
                .map(|e| e.inode)
                .collect();
            if !unmarked.is_empty() && sockets.iter().any(|s| unmarked.contains(&s.inode)) {
                self.dirty = true;
            }
        }
        self.snapshot_ns = ts_ns;
        self.now_ns = self.now_ns.max(ts_ns);
        let count = |st| sockets.iter().filter(|s| s.state == st).count() as u64;
        self.history
            .push_back((count(TcpState::TimeWait), count(TcpState::CloseWait)));
        while self.history.len() > HISTORY {
            self.history.pop_front();
        }
        self.feed.on_snapshot(snapshot);
        self.take_transitions();
    }

    fn take_transitions(&mut self) {
        let transitions = self.feed.take_transitions();
        let structure = self.feed.tracker().changes();
        // Rows change when a connection comes, goes or changes state; queues and timers are
        // read fresh when drawn, unless the table is sorted by them.
        let changed = !transitions.is_empty()
            || structure != self.seen_changes
            || matches!(self.sort, SortKey::RecvQ | SortKey::SendQ);
        self.seen_changes = structure;
        for t in transitions {
            self.log.push_front(t);
        }
        self.log.truncate(LOG_LEN);
        if !changed {
            return;
        }
        // The view is rebuilt by the caller when it is time to draw (see `refresh_if_dirty`):
        // events may come every few milliseconds, a rebuild at 100k sockets costs ~0.1 s.
        self.dirty = true;
    }

    /// Rebuilds the view if data changed and the display is not paused.
    pub fn refresh_if_dirty(&mut self) {
        if self.dirty && !self.paused {
            self.refresh_view();
        }
    }

    /// Rebuilds rows, ports and the visible list; keeps the selection on the same connection.
    pub fn refresh_view(&mut self) {
        self.dirty = false;
        let selected = self.selected_row().map(|r| r.id);
        let port = self.selected_port().map(|p| p.port);
        let (mut rows, ports) = view::build(self.feed.tracker());
        self.lab_marked.clear();
        if self.lab.sockets.iter().any(|e| e.open) {
            for r in &mut rows {
                r.lab = self
                    .lab
                    .sockets
                    .iter()
                    .find(|e| e.open && e.inode != 0 && e.inode == r.inode)
                    .map(|e| e.id);
                if r.lab.is_some() {
                    self.lab_marked.insert(r.inode);
                }
            }
        }
        self.rows = rows;
        self.ports = ports;
        self.counts = [0; 13];
        for p in &self.ports {
            for (total, n) in self.counts.iter_mut().zip(p.counts) {
                *total += n;
            }
        }
        self.port_sel = port
            .and_then(|p| self.ports.iter().position(|s| s.port == p))
            .map_or(0, |i| i + 1);
        self.rebuild_visible();
        if let Some(id) = selected
            && let Some(i) = self.visible.iter().position(|&r| self.rows[r].id == id)
        {
            self.row_sel = i;
        }
        self.clamp();
    }

    fn rebuild_visible(&mut self) {
        let port = self.selected_port().map(|p| p.port);
        let f = &self.filter;
        let mut visible: Vec<usize> = self
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| port.is_none_or(|p| r.service == p))
            .filter(|(_, r)| {
                let state_ok = match (r.state, r.was) {
                    (Step::State(s), _) | (Step::Gone, Some(s)) => f.states.contains(s),
                    (Step::Gone, None) => f.states == crate::model::StateSet::ALL,
                };
                let family = crate::model::Family::of(&r.local.ip());
                state_ok
                    && f.matches_ends(family, &r.local, &r.remote)
                    && f.matches_owners(r.owner.as_slice())
            })
            .map(|(i, _)| i)
            .collect();
        let rows = &self.rows;
        let key = self.sort;
        visible.sort_by(|&a, &b| {
            let (a, b) = (&rows[a], &rows[b]);
            let ord = match key {
                SortKey::State => state_rank(a.state).cmp(&state_rank(b.state)),
                SortKey::Local => {
                    (a.local.port(), a.local.ip()).cmp(&(b.local.port(), b.local.ip()))
                }
                SortKey::Remote => {
                    (a.remote.port(), a.remote.ip()).cmp(&(b.remote.port(), b.remote.ip()))
                }
                SortKey::RecvQ => a.recv_q.cmp(&b.recv_q),
                SortKey::SendQ => a.send_q.cmp(&b.send_q),
                SortKey::Age => b.since_ns.cmp(&a.since_ns),
            }
            .then(a.ghost.cmp(&b.ghost))
            .then(a.local.cmp(&b.local))
            .then(a.remote.cmp(&b.remote));
            if self.sort_desc { ord.reverse() } else { ord }
        });
        self.visible = visible;
    }

    pub fn selected_port(&self) -> Option<&PortSummary> {
        self.port_sel.checked_sub(1).and_then(|i| self.ports.get(i))
    }

    pub fn selected_row(&self) -> Option<&Row> {
        self.visible.get(self.row_sel).map(|&i| &self.rows[i])
    }

    /// The connection the focused pane points at: the selected row, or in the transitions
    /// log the selected transition's connection.
    pub fn focused_row(&self) -> Option<&Row> {
        match self.pane {
            Pane::Log => {
                let id = self.log.get(self.log_sel)?.conn;
                self.rows.iter().find(|r| r.id == id)
            }
            _ => self.selected_row(),
        }
    }

    fn clamp(&mut self) {
        self.port_sel = self.port_sel.min(self.ports.len());
        self.row_sel = self.row_sel.min(self.visible.len().saturating_sub(1));
        self.log_sel = self.log_sel.min(self.log.len().saturating_sub(1));
        self.lab_sel = self.lab_sel.min(self.lab.sockets.len().saturating_sub(1));
    }

    /// Moves the selection of the focused pane by `delta`, within bounds.
    fn move_by(&mut self, delta: isize) {
        let (sel, len) = match self.pane {
            Pane::Ports => (&mut self.port_sel, self.ports.len() + 1),
            Pane::Connections => (&mut self.row_sel, self.visible.len()),
            Pane::Log => (&mut self.log_sel, self.log.len()),
            Pane::Lab => (&mut self.lab_sel, self.lab.sockets.len()),
        };
        let max = len.saturating_sub(1) as isize;
        *sel = (*sel as isize + delta).clamp(0, max.max(0)) as usize;
        if self.pane == Pane::Ports {
            self.row_sel = 0;
            self.rebuild_visible();
        }
    }

    pub fn apply(&mut self, action: Action) {
        if self.prompt.is_some() {
            self.apply_prompt(action);
            return;
        }
        if matches!(self.overlay, Overlay::Menu(_) | Overlay::Confirm(_)) {
            self.apply_dialog(action);
            return;
        }
        if let Overlay::Report(_, lines, top) = &mut self.overlay
            && matches!(
                action,
                Action::Up
                    | Action::Down
                    | Action::ScrollUp
                    | Action::ScrollDown
                    | Action::PageUp
                    | Action::PageDown
            )
        {
            let delta: isize = match action {
                Action::Up | Action::ScrollUp => -1,
                Action::Down | Action::ScrollDown => 1,
                Action::PageUp => -10,
                _ => 10,
            };
            let max = lines.len().saturating_sub(1) as isize;
            *top = (*top as isize + delta).clamp(0, max) as usize;
            return;
        }
        let page = self.page.max(1) as isize;
        match action {
            Action::Quit => self.quit = true,
            Action::ToggleHelp => {
                self.overlay = if self.overlay == Overlay::Help {
                    Overlay::None
                } else {
                    Overlay::Help
                };
            }
            Action::Back => self.overlay = Overlay::None,
            Action::Up | Action::ScrollUp => self.move_by(-1),
            Action::Down | Action::ScrollDown => self.move_by(1),
            Action::PageUp => self.move_by(-page),
            Action::PageDown => self.move_by(page),
            Action::Home => self.move_by(isize::MIN / 2),
            Action::End => self.move_by(isize::MAX / 2),
            Action::NextPane => {
                self.pane = match self.pane {
                    Pane::Ports => Pane::Connections,
                    Pane::Connections if self.lab_open => Pane::Lab,
                    Pane::Connections | Pane::Lab => Pane::Log,
                    Pane::Log => Pane::Ports,
                };
            }
            Action::PrevPane => {
                self.pane = match self.pane {
                    Pane::Ports => Pane::Log,
                    Pane::Connections => Pane::Ports,
                    Pane::Log if self.lab_open => Pane::Lab,
                    Pane::Log | Pane::Lab => Pane::Connections,
                };
            }
            Action::OpenActions => self.open_actions(),
            Action::ScenarioNext | Action::ScenarioRestart | Action::DiagramActor => {
                self.apply_scenario(action);
            }
            Action::CanBind => match self.selected_bind_addr() {
                Some(addr) => {
                    self.status = Some((format!("probing {addr}…"), true));
                    self.pending.push(Effect::CanBind(addr));
                }
                None => {
                    self.status = Some((
                        "select a local port (a listener's, or one in the lab) to ask about".into(),
                        false,
                    ));
                }
            },
            Action::ToggleLab => {
                self.lab_open = !self.lab_open;
                if self.lab_open {
                    self.pane = Pane::Lab;
                } else if self.pane == Pane::Lab {
                    self.pane = Pane::Connections;
                }
            }
            Action::OpenDetails => {
                let id = match self.pane {
                    Pane::Log => self.log.get(self.log_sel).map(|t| t.conn),
                    _ => self.selected_row().map(|r| r.id),
                };
                if let Some(id) = id {
                    self.overlay = Overlay::Details(id);
                }
            }
            Action::StartFilter => self.open_prompt(PromptKind::Filter, self.filter_text.clone()),
            Action::SortNext => {
                self.sort = self.sort.next();
                self.rebuild_visible();
            }
            Action::SortReverse => {
                self.sort_desc = !self.sort_desc;
                self.rebuild_visible();
            }
            Action::TogglePause => {
                self.paused = !self.paused;
                if !self.paused {
                    self.refresh_view();
                }
            }
            Action::Click(pane, i) => {
                self.pane = pane;
                match pane {
                    Pane::Ports => {
                        self.port_sel = i.min(self.ports.len());
                        self.row_sel = 0;
                        self.rebuild_visible();
                    }
                    Pane::Connections => self.row_sel = i,
                    Pane::Log => self.log_sel = i,
                    Pane::Lab => self.lab_sel = i,
                }
                self.clamp();
            }
            Action::FilterChar(_)
            | Action::FilterBackspace
            | Action::FilterClear
            | Action::FilterSubmit
            | Action::FilterCancel
            | Action::Select
            | Action::MenuPick(_)
            | Action::Confirm => {}
        }
    }

    fn apply_scenario(&mut self, action: Action) {
        let Some(sc) = self.scenario.as_mut() else {
            self.status = Some((
                "no scenario: `tcpscope lab NAME` opens one (`tcpscope lab list`)".into(),
                false,
            ));
            return;
        };
        match action {
            Action::ScenarioNext if sc.finished() => {
                self.status = Some(("the scenario is over: r plays it again".into(), true));
            }
            Action::ScenarioNext => self.pending.push(Effect::ScenarioNext),
            Action::ScenarioRestart => self.pending.push(Effect::ScenarioRestart),
            _ => sc.diagram_actor = (sc.diagram_actor + 1) % sc.actors.len().max(1),
        }
    }

    fn open_prompt(&mut self, kind: PromptKind, text: String) {
        self.prompt_kind = kind;
        self.prompt = Some(text);
        self.filter_error = None;
    }

    /// The address a server would bind for the selected port: ports pane, connection or lab
    /// socket. `None` when nothing local is selected.
    fn selected_bind_addr(&self) -> Option<std::net::SocketAddr> {
        match self.pane {
            Pane::Ports => {
                let p = self.selected_port()?;
                let ServicePort::Local(port) = p.port else {
                    return None;
                };
                let row = self.rows.iter().find(|r| r.service == p.port)?;
                Some(menu::unspecified(std::net::SocketAddr::new(
                    row.local.ip(),
                    port,
                )))
            }
            Pane::Lab => self
                .lab
                .sockets
                .get(self.lab_sel)
                .and_then(|e| e.local)
                .map(menu::unspecified),
            _ => self.focused_row().map(|r| menu::unspecified(r.local)),
        }
    }

    /// The actions menu for what is selected.
    fn open_actions(&mut self) {
        let menu = match self.pane {
            Pane::Lab => {
                let mut items = menu::lab_new_items();
                let mut title = " Lab ".to_string();
                if let Some(e) = self.lab.sockets.get(self.lab_sel) {
                    title = format!(" {} ", e.text);
                    items.extend(menu::lab_items(
                        e.id,
                        e.listener,
                        e.open,
                        self.lab_state(e.inode),
                        e.local,
                    ));
                }
                Menu {
                    title,
                    items,
                    sel: 0,
                }
            }
            Pane::Ports => {
                let Some(addr) = self.selected_bind_addr() else {
                    self.status = Some(("select a local port first".into(), false));
                    return;
                };
                Menu {
                    title: format!(" Port {} ", addr.port()),
                    items: vec![
                        menu::MenuItem {
                            key: 'b',
                            label: "can-bind  could a server bind this port now?".into(),
                            op: Op::CanBind(addr),
                        },
                        menu::MenuItem {
                            key: 'l',
                            label: "listen…  a lab listener on this port".into(),
                            op: Op::LabListen,
                        },
                    ],
                    sel: 0,
                }
            }
            Pane::Connections | Pane::Log => {
                let Some(r) = self.focused_row() else {
                    self.status = Some(("no socket selected".into(), false));
                    return;
                };
                if r.ghost {
                    self.status =
                        Some(("this connection is gone: nothing to act on".into(), false));
                    return;
                }
                let Step::State(state) = r.state else {
                    return;
                };
                let title = format!(" {} {} > {} ", state.name(), r.local, r.remote);
                let items = match r
                    .lab
                    .and_then(|id| self.lab.sockets.iter().find(|e| e.id == id))
                {
                    Some(e) => menu::lab_items(e.id, e.listener, e.open, Some(state), e.local),
                    None => menu::foreign_items(&Foreign {
                        local: r.local,
                        remote: r.remote,
                        state,
                        inode: r.inode,
                        owner: r.owner.clone(),
                    }),
                };
                Menu {
                    title,
                    items,
                    sel: 0,
                }
            }
        };
        self.overlay = Overlay::Menu(menu);
    }

    /// The state of a lab socket as the tracker has it.
    fn lab_state(&self, inode: u64) -> Option<TcpState> {
        self.rows
            .iter()
            .find(|r| inode != 0 && r.inode == inode && !r.ghost)
            .and_then(|r| match r.state {
                Step::State(s) => Some(s),
                Step::Gone => None,
            })
    }

    /// Keys while a menu or a confirmation dialog is open.
    fn apply_dialog(&mut self, action: Action) {
        let overlay = std::mem::replace(&mut self.overlay, Overlay::None);
        match (overlay, action) {
            (_, Action::Quit) => self.quit = true,
            (Overlay::Confirm(c), Action::Confirm) => self.run_op(c.op),
            (Overlay::Confirm(_), Action::Back) => {
                self.status = Some(("cancelled: nothing was done".into(), true));
            }
            (
                Overlay::Menu(mut m),
                Action::Up | Action::Down | Action::ScrollUp | Action::ScrollDown,
            ) => {
                let n = m.items.len().max(1);
                m.sel = if matches!(action, Action::Up | Action::ScrollUp) {
                    (m.sel + n - 1) % n
                } else {
                    (m.sel + 1) % n
                };
                self.overlay = Overlay::Menu(m);
            }
            (Overlay::Menu(m), Action::Select) => {
                if let Some(item) = m.items.into_iter().nth(m.sel) {
                    self.choose(item.op);
                }
            }
            (Overlay::Menu(m), Action::MenuPick(c)) => {
                match m.items.iter().position(|i| i.key == c) {
                    Some(i) => {
                        let op = m.items[i].op.clone();
                        self.choose(op);
                    }
                    None => self.overlay = Overlay::Menu(m),
                }
            }
            (Overlay::Menu(_), Action::Back) => {}
            (other, _) => self.overlay = other,
        }
    }

    /// A menu item was chosen: ask for arguments, confirm, or run.
    fn choose(&mut self, op: Op) {
        if let Some(c) = confirm::confirm(&op) {
            self.overlay = Overlay::Confirm(c);
            return;
        }
        match op {
            Op::LabListen => {
                let port = match self.selected_port().map(|p| p.port) {
                    Some(ServicePort::Local(p)) if self.pane == Pane::Ports => p,
                    _ => 8080,
                };
                self.open_prompt(PromptKind::LabListen, format!("127.0.0.1:{port}"));
            }
            Op::LabConnect => {
                let to = self
                    .lab
                    .sockets
                    .iter()
                    .rev()
                    .find(|e| e.listener && e.open)
                    .and_then(|e| e.local)
                    .map_or("127.0.0.1:8080".to_string(), |a| a.to_string());
                self.open_prompt(PromptKind::LabConnect, to);
            }
            Op::LabSend(id) => self.open_prompt(PromptKind::LabSend(id), "hello\\n".into()),
            Op::LabRebind(id) => {
                let e = self.lab.sockets.iter().find(|e| e.id == id);
                let mut words = Vec::new();
                if e.is_some_and(|e| e.reuseaddr) {
                    words.push("reuseaddr");
                }
                if e.is_some_and(|e| e.reuseport) {
                    words.push("reuseport");
                }
                self.open_prompt(PromptKind::LabRebind(id), words.join(" "));
            }
            other => self.run_op(other),
        }
    }

    /// Queues the effect of an operation that needs nothing more from the user.
    fn run_op(&mut self, op: Op) {
        let effect = match op {
            Op::LabAccept(id) => Effect::Lab(LabCall::Accept(id)),
            Op::LabRead(id) => Effect::Lab(LabCall::Read(id)),
            Op::LabShutdown(id, how) => Effect::Lab(LabCall::Shutdown(id, how)),
            Op::LabClose(id) => Effect::Lab(LabCall::Close(id)),
            Op::LabCloseLinger0(id) => Effect::Lab(LabCall::CloseLinger0(id)),
            Op::Abort(t) => Effect::Abort(t),
            Op::GracefulShutdown(t) => Effect::GracefulShutdown(t),
            Op::CanBind(addr) => Effect::CanBind(addr),
            Op::LabListen | Op::LabConnect | Op::LabSend(_) | Op::LabRebind(_) => return,
        };
        self.pending.push(effect);
    }

    /// The main loop ran an effect.
    pub fn on_effect_done(&mut self, done: EffectDone) {
        self.status = Some((done.status, done.ok));
        if let Some((title, lines)) = done.report {
            self.overlay = Overlay::Report(title, lines, 0);
        }
        if let (Some(update), Some(sc)) = (done.scenario, self.scenario.as_mut()) {
            sc.played = update.played;
            sc.results = update.results;
            sc.actors = update.actors;
            sc.diagram_actor = sc.diagram_actor.min(sc.actors.len().saturating_sub(1));
            self.dirty = true;
        }
        if let Some(lab) = done.lab {
            let grew = lab.sockets.len() > self.lab.sockets.len();
            self.lab = lab;
            if grew {
                self.lab_sel = self.lab.sockets.len() - 1;
            }
            self.lab_open = true;
            self.dirty = true;
            self.clamp();
        }
    }

    /// The prompt's text for a lab call, parsed; `Err` says what is wrong with it.
    fn lab_call(kind: PromptKind, line: &str) -> Result<LabCall, String> {
        use crate::actions::lab::{ConnectSpec, ListenSpec};
        match kind {
            PromptKind::LabListen => ListenSpec::parse(line).map(LabCall::Listen),
            PromptKind::LabConnect => ConnectSpec::parse(line).map(LabCall::Connect),
            PromptKind::LabSend(id) => {
                Ok(LabCall::Send(id, line.replace("\\n", "\n").into_bytes()))
            }
            PromptKind::LabRebind(id) => {
                let (mut reuseaddr, mut reuseport) = (false, false);
                for w in line.split_whitespace() {
                    match w {
                        "reuseaddr" => reuseaddr = true,
                        "reuseport" => reuseport = true,
                        "none" => {}
                        _ => {
                            return Err(format!(
                                "unknown option {w:?} (reuseaddr, reuseport; SO_EXCLUSIVEADDRUSE does not exist on Linux)"
                            ));
                        }
                    }
                }
                Ok(LabCall::Rebind {
                    id,
                    reuseaddr,
                    reuseport,
                })
            }
            PromptKind::Filter => Err("not a lab prompt".into()),
        }
    }

    fn apply_prompt(&mut self, action: Action) {
        let Some(text) = self.prompt.as_mut() else {
            return;
        };
        match action {
            Action::FilterChar(c) => text.push(c),
            Action::FilterBackspace => {
                text.pop();
            }
            Action::FilterClear => text.clear(),
            Action::FilterCancel => {
                self.prompt = None;
                self.filter_error = None;
            }
            Action::FilterSubmit if self.prompt_kind != PromptKind::Filter => {
                let line = text.clone();
                match Self::lab_call(self.prompt_kind, &line) {
                    Ok(call) => {
                        self.pending.push(Effect::Lab(call));
                        self.prompt = None;
                        self.filter_error = None;
                    }
                    Err(e) => self.filter_error = Some(e),
                }
            }
            Action::FilterSubmit => {
                let line = text.clone();
                match FilterLine::try_parse_from(line.split_whitespace()) {
                    Ok(parsed) => {
                        self.filter = parsed.filter.filter();
                        self.filter_text = line;
                        self.filter_error = None;
                        self.prompt = None;
                        self.row_sel = 0;
                        self.rebuild_visible();
                        self.clamp();
                    }
                    Err(e) => {
                        let text = e.to_string();
                        self.filter_error = Some(
                            text.lines()
                                .next()
                                .unwrap_or("bad filter")
                                .trim_start_matches("error: ")
                                .to_string(),
                        );
                    }
                }
            }
            Action::Quit => self.quit = true,
            _ => {}
        }
    }
}

/// Teardown order, so that sorting by state reads like the life of a connection.
fn state_rank(s: Step) -> u8 {
    match s {
        Step::State(TcpState::Listen) => 0,
        Step::State(TcpState::SynSent) => 1,
        Step::State(TcpState::SynRecv | TcpState::NewSynRecv) => 2,
        Step::State(TcpState::Established) => 3,
        Step::State(TcpState::FinWait1) => 4,
        Step::State(TcpState::FinWait2) => 5,
        Step::State(TcpState::Closing) => 6,
        Step::State(TcpState::TimeWait) => 7,
        Step::State(TcpState::CloseWait) => 8,
        Step::State(TcpState::LastAck) => 9,
        Step::State(TcpState::Close) => 10,
        Step::Gone => 11,
    }
}
