//! The application state: what is selected, filtered, sorted, paused, open; and the actions
//! that change it. No I/O, no drawing.

pub mod keys;
pub mod view;

use crate::cli::args::FilterArgs;
use crate::model::{Filter, TcpState};
use crate::tracker::{ConnId, KernelEvent, Step, Tracker, Transition};
use clap::Parser;
use std::collections::VecDeque;
use view::{PortSummary, Row};

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
    FilterSubmit,
    FilterCancel,
    SortNext,
    SortReverse,
    TogglePause,
    /// A click on a row of a pane (row index within the pane's list).
    Click(Pane, usize),
    ScrollUp,
    ScrollDown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Ports,
    Connections,
    Log,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlay {
    None,
    Help,
    Details(ConnId),
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
    pub tracker: Tracker,
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
    pub filter_error: Option<String>,
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
            tracker,
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
            filter_error: None,
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

    /// Kernel events arrived.
    pub fn on_events(&mut self, events: &[KernelEvent], is_local_pid: &mut dyn FnMut(i32) -> bool) {
        self.tracker.apply_events(events, is_local_pid);
        self.take_transitions();
    }

    /// A snapshot arrived (its sockets already joined with owners by the caller).
    pub fn on_snapshot(
        &mut self,
        ts_ns: u64,
        sockets: &[crate::model::SocketRecord],
        owners_of: &dyn Fn(u64) -> Vec<crate::model::Owner>,
    ) {
        self.on_partial_snapshot(ts_ns, sockets, crate::model::StateSet::ALL, owners_of);
    }

    /// A snapshot of the sockets in `states` only arrived (see `Tracker::apply_partial_snapshot`).
    pub fn on_partial_snapshot(
        &mut self,
        ts_ns: u64,
        sockets: &[crate::model::SocketRecord],
        states: crate::model::StateSet,
        owners_of: &dyn Fn(u64) -> Vec<crate::model::Owner>,
    ) {
        self.tracker
            .apply_partial_snapshot(ts_ns, sockets, states, owners_of);
        self.tracker.expire(ts_ns);
        self.snapshot_ns = ts_ns;
        self.now_ns = self.now_ns.max(ts_ns);
        let count = |st| sockets.iter().filter(|s| s.state == st).count() as u64;
        self.history
            .push_back((count(TcpState::TimeWait), count(TcpState::CloseWait)));
        while self.history.len() > HISTORY {
            self.history.pop_front();
        }
        self.take_transitions();
    }

    fn take_transitions(&mut self) {
        let transitions = self.tracker.take_transitions();
        let structure = self.tracker.changes();
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
        let (rows, ports) = view::build(&self.tracker);
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

    fn clamp(&mut self) {
        self.port_sel = self.port_sel.min(self.ports.len());
        self.row_sel = self.row_sel.min(self.visible.len().saturating_sub(1));
        self.log_sel = self.log_sel.min(self.log.len().saturating_sub(1));
    }

    /// Moves the selection of the focused pane by `delta`, within bounds.
    fn move_by(&mut self, delta: isize) {
        let (sel, len) = match self.pane {
            Pane::Ports => (&mut self.port_sel, self.ports.len() + 1),
            Pane::Connections => (&mut self.row_sel, self.visible.len()),
            Pane::Log => (&mut self.log_sel, self.log.len()),
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
                    Pane::Connections => Pane::Log,
                    Pane::Log => Pane::Ports,
                };
            }
            Action::PrevPane => {
                self.pane = match self.pane {
                    Pane::Ports => Pane::Log,
                    Pane::Connections => Pane::Ports,
                    Pane::Log => Pane::Connections,
                };
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
            Action::StartFilter => self.prompt = Some(self.filter_text.clone()),
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
                }
                self.clamp();
            }
            Action::FilterChar(_)
            | Action::FilterBackspace
            | Action::FilterSubmit
            | Action::FilterCancel => {}
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
            Action::FilterCancel => {
                self.prompt = None;
                self.filter_error = None;
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
