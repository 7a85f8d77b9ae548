//! The application state: what is selected, filtered, sorted, paused, open; and the actions
//! that change it. No I/O, no drawing.

mod acting;
mod action;
pub mod confirm;
mod dispatch;
pub mod effect;
pub mod keys;
pub mod menu;
mod overlay;
mod prompt;
mod rows;
pub mod scenario;
pub mod view;

#[cfg(test)]
mod tests;

use crate::model::Filter;

use crate::tracker::{Feed, Tracker, Transition};

pub use action::{Action, Pane, PromptKind, SortKey};
use effect::{Effect, LabView};
pub use overlay::Overlay;
use std::collections::VecDeque;
use view::{PortSummary, Row, StateCounts};

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
    /// Other users' sockets' owners cannot be read (see `sources::owners::OWNERS_NEED`).
    pub owners_hidden: bool,
}

/// One line for the status bar: an action's outcome, a cancel, a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub text: String,
    /// An outcome (dim) or a failure (warned).
    pub ok: bool,
    /// When it was said: it goes after a while, so that an old outcome is not taken for news.
    pub at_ns: u64,
}

/// How long an outcome stays in the status bar; a failure stays longer.
pub const STATUS_NS: u64 = 8_000_000_000;
pub const STATUS_FAILED_NS: u64 = 30_000_000_000;

/// TIME_WAIT and CLOSE_WAIT counts, one sample per snapshot, for the sparklines.
pub const HISTORY: usize = 240;
/// Transitions kept for the log pane.
const LOG_LEN: usize = 1000;
/// How long a changed row flashes.
pub const FLASH_NS: u64 = 3_000_000_000;

/// The selected line of each pane (an index into what the pane lists).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Selection {
    /// 0: all ports; i: `ports[i - 1]`.
    pub port: usize,
    /// Into `visible`.
    pub row: usize,
    pub log: usize,
    pub lab: usize,
}

/// The bottom prompt: its text while it is open, what it asks for, and why its last text
/// was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub text: Option<String>,
    pub kind: PromptKind,
    pub error: Option<String>,
}

/// How the connections are sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sorting {
    pub key: SortKey,
    pub descending: bool,
}

pub struct App {
    pub info: SourceInfo,
    feed: Feed,
    pub rows: Vec<Row>,
    pub ports: Vec<PortSummary>,
    /// Indices into `rows` that pass the filter and port selection, sorted.
    pub visible: Vec<usize>,
    pub log: VecDeque<Transition>,
    /// With a port chosen and nothing of it matching: the rows the filter finds on every port.
    pub matching_elsewhere: usize,
    /// Indices into `log` of the transitions the filter lets through (the pane shows these).
    pub log_visible: Vec<usize>,
    pub pane: Pane,
    pub overlay: Overlay,
    /// What is selected in each pane.
    pub sel: Selection,
    pub paused: bool,
    /// Whether closed connections (ghosts) are listed; after a burst they can be most rows.
    pub show_ghosts: bool,
    /// Whether tcpscope takes the mouse (clicks, wheel) rather than the terminal (selection).
    pub mouse_captured: bool,
    pub filter: Filter,
    pub filter_text: String,
    /// The bottom prompt.
    pub prompt: Prompt,
    /// The last action's outcome, for the status bar (shown while fresh: see `status_shown`).
    pub status: Option<Status>,
    /// Effects asked for, run by the main loop.
    pub pending: Vec<Effect>,
    pub lab: LabView,
    pub lab_open: bool,
    /// Inodes of the rows shown as lab sockets, as of the last rebuild.
    lab_marked: std::collections::HashSet<u64>,
    /// The teardown scenario being played (`tcpscope lab NAME`).
    pub scenario: Option<scenario::ScenarioView>,
    pub sorting: Sorting,
    pub now_ns: u64,
    pub snapshot_ns: u64,
    pub history: VecDeque<(u64, u64)>,
    /// Live connections per state, and ghosts, for the header.
    pub counts: StateCounts,
    pub quit: bool,
    /// Rows a page holds, as last drawn (for PgUp/PgDn).
    pub page: usize,
    /// Data changed since the view was last rebuilt.
    pub dirty: bool,
    /// The tracker's change counter at the last look.
    seen_changes: u64,
    /// With every namespace (`--netns all`): their labels by inode, made safe for the
    /// terminal, as the last scan named them; `None` with one namespace.
    pub namespaces: Option<std::collections::BTreeMap<u32, String>>,
    /// The ports the kernel gives connecting sockets (`net.ipv4.ip_local_port_range`): a
    /// socket whose handshake was not seen is a client's when its port is one of them.
    pub ephemeral: std::ops::RangeInclusive<u16>,
}

impl App {
    /// Puts a line in the status bar, dated now.
    pub(crate) fn say(&mut self, text: String, ok: bool) {
        self.status = Some(Status {
            text,
            ok,
            at_ns: self.now_ns,
        });
    }

    /// The status line while it is fresh; after that the bar shows the keys again.
    pub fn status_shown(&self) -> Option<&Status> {
        self.status.as_ref().filter(|s| {
            let keep = if s.ok { STATUS_NS } else { STATUS_FAILED_NS };
            self.now_ns.saturating_sub(s.at_ns) < keep
        })
    }

    pub fn new(info: SourceInfo, tracker: Tracker, filter: Filter) -> App {
        App {
            info,
            feed: Feed::new(tracker),
            rows: Vec::new(),
            ports: Vec::new(),
            visible: Vec::new(),
            log: VecDeque::new(),
            log_visible: Vec::new(),
            matching_elsewhere: 0,
            pane: Pane::Connections,
            overlay: Overlay::None,
            sel: Selection::default(),
            paused: false,
            show_ghosts: true,
            mouse_captured: true,
            filter,
            filter_text: String::new(),
            prompt: Prompt {
                text: None,
                kind: PromptKind::Filter,
                error: None,
            },
            status: None,
            pending: Vec::new(),
            lab: LabView::default(),
            lab_open: false,
            lab_marked: std::collections::HashSet::new(),
            scenario: None,
            sorting: Sorting {
                key: SortKey::Local,
                descending: false,
            },
            now_ns: 0,
            snapshot_ns: 0,
            history: VecDeque::new(),
            counts: StateCounts::default(),
            quit: false,
            page: 10,
            dirty: false,
            seen_changes: 0,
            namespaces: None,
            ephemeral: crate::model::ports::DEFAULT_EPHEMERAL,
        }
    }

    /// The label of a namespace, when the view shows several (`None` with one).
    pub fn netns_label(&self, inode: u32) -> Option<String> {
        let names = self.namespaces.as_ref()?;
        Some(
            names
                .get(&inode)
                .cloned()
                .unwrap_or_else(|| format!("net:[{inode}]")),
        )
    }

    /// The tracker, as the feed keeps it.
    pub fn tracker(&self) -> &Tracker {
        self.feed.tracker()
    }
}
