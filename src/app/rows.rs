//! Building the view from the tracker: rows and ports from the connections, the log from the
//! transitions, the visible rows filtered and sorted.

use super::action::SortKey;
use super::view::{self, StateCounts};
use super::{App, HISTORY, LOG_LEN};
use crate::model::TcpState;
use crate::tracker::{KernelEvent, Phase, Snapshot};

impl App {
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

    pub(super) fn take_transitions(&mut self) {
        let transitions = self.feed.take_transitions();
        let structure = self.feed.tracker().changes();
        // Rows change when a connection comes, goes or changes state; queues and timers are
        // read fresh when drawn, unless the table is sorted by them.
        let changed = !transitions.is_empty()
            || structure != self.seen_changes
            || matches!(
                self.sorting.key,
                SortKey::RecvQ | SortKey::SendQ | SortKey::Timer
            );
        self.seen_changes = structure;
        let arrived = !transitions.is_empty();
        for t in transitions {
            self.log.push_front(t);
        }
        self.log.truncate(LOG_LEN);
        if arrived {
            self.rebuild_log_visible();
        }
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
        let port = self.selected_port().map(|p| (p.netns, p.port));
        let (mut rows, ports) = view::build(self.feed.tracker(), &self.ephemeral);
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
        self.counts = StateCounts::default();
        for p in &self.ports {
            self.counts.add(&p.counts);
        }
        self.sel.port = port
            .and_then(|p| self.ports.iter().position(|s| (s.netns, s.port) == p))
            .map_or(0, |i| i + 1);
        self.rebuild_visible();
        if let Some(id) = selected
            && let Some(i) = self.visible.iter().position(|&r| self.rows[r].id == id)
        {
            self.sel.row = i;
        }
        self.clamp();
    }

    /// The rows of `port` (every port: `None`) that the filter lets through.
    fn filtered<'a>(
        &'a self,
        port: Option<&'a super::view::PortSummary>,
    ) -> impl Iterator<Item = usize> + 'a {
        let f = &self.filter;
        self.rows
            .iter()
            .enumerate()
            .filter(move |(_, r)| port.is_none_or(|p| p.has(r)))
            .filter(move |(_, r)| self.show_ghosts || !r.ghost)
            .filter(move |(_, r)| {
                let state_ok = match (r.state, r.was) {
                    (Phase::State(s), _) | (Phase::Gone, Some(s)) => f.states.contains(s),
                    (Phase::Gone, None) => f.states == crate::model::StateSet::ALL,
                };
                let family = crate::model::Family::of(&r.local.ip());
                state_ok
                    && self.matches_but_state(
                        &[r.state],
                        family,
                        r.local,
                        r.remote,
                        &r.owners,
                        r.netns,
                    )
            })
            .map(|(i, _)| i)
    }

    pub(super) fn rebuild_visible(&mut self) {
        let port = self.selected_port().cloned();
        let mut visible: Vec<usize> = self.filtered(port.as_ref()).collect();
        // What an empty table says: how many the filter finds with `all` chosen instead.
        self.matching_elsewhere = if visible.is_empty() && port.is_some() {
            self.filtered(None).count()
        } else {
            0
        };
        let rows = &self.rows;
        let key = self.sorting.key;
        // A timer's time left is the tracker's, read once per row rather than per comparison.
        let timer_left: Vec<u64> = if key == SortKey::Timer {
            let tracker = self.feed.tracker();
            let mut left = vec![u64::MAX; rows.len()];
            for &i in &visible {
                if let Some(t) = tracker
                    .connection(rows[i].id)
                    .filter(|_| !rows[i].ghost)
                    .and_then(|c| c.timer(self.snapshot_ns))
                {
                    left[i] = t.remaining_ms;
                }
            }
            left
        } else {
            Vec::new()
        };
        visible.sort_by(|&ia, &ib| {
            let (a, b) = (&rows[ia], &rows[ib]);
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
                SortKey::Timer => timer_left[ia].cmp(&timer_left[ib]),
                SortKey::Owner => match (owner_key(a), owner_key(b)) {
                    (Some(x), Some(y)) => x.cmp(&y),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                },
            }
            .then(a.ghost.cmp(&b.ghost))
            .then(a.local.cmp(&b.local))
            .then(a.remote.cmp(&b.remote));
            if self.sorting.descending {
                ord.reverse()
            } else {
                ord
            }
        });
        self.visible = visible;
    }
}

impl App {
    /// The transitions the filter lets through, newest first: a transition matches when it
    /// comes from or goes to a wanted state, and its ends, owners and namespace match.
    pub(super) fn rebuild_log_visible(&mut self) {
        let f = &self.filter;
        let visible: Vec<usize> = self
            .log
            .iter()
            .enumerate()
            .filter(|(_, t)| {
                let wanted = |p: Phase| match p {
                    Phase::State(s) => f.states.contains(s),
                    Phase::Gone => false,
                };
                (f.states == crate::model::StateSet::ALL || wanted(t.from) || wanted(t.to))
                    && self.matches_but_state(
                        &[t.from, t.to],
                        t.family,
                        t.local,
                        t.remote,
                        &t.owners,
                        t.netns,
                    )
            })
            .map(|(i, _)| i)
            .collect();
        self.log_visible = visible;
    }

    /// Every test of the filter but the state's, which rows (a ghost's earlier state) and
    /// transitions (either end of the step) make their own way: ends, owners, namespace,
    /// and the text search, whose words may be in any of `states`' names.
    fn matches_but_state(
        &self,
        states: &[Phase],
        family: crate::model::Family,
        local: std::net::SocketAddr,
        remote: std::net::SocketAddr,
        owners: &[crate::model::Owner],
        netns: u32,
    ) -> bool {
        let f = &self.filter;
        f.matches_ends(family, &local, &remote)
            && f.matches_owners(owners)
            && (f.namespace.is_none() || f.matches_netns_label(self.netns_label(netns).as_deref()))
            && (f.words.is_empty() || self.matches_words(states, local, remote, owners, netns))
    }

    /// The text search on what the view shows of a connection.
    fn matches_words(
        &self,
        states: &[Phase],
        local: std::net::SocketAddr,
        remote: std::net::SocketAddr,
        owners: &[crate::model::Owner],
        netns: u32,
    ) -> bool {
        let mut fields: Vec<String> = states.iter().map(|s| s.name().to_string()).collect();
        fields.extend([local.to_string(), remote.to_string()]);
        for o in owners {
            fields.push(format!("{}/{}", o.comm, o.pid));
            fields.push(o.cmdline.to_string());
        }
        if let Some(ns) = self.netns_label(netns) {
            fields.push(ns);
        }
        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        self.filter.matches_words(&fields)
    }
}

/// What sorting by owner compares: the first owner's name, then its pid.
fn owner_key(r: &view::Row) -> Option<(&str, i32)> {
    r.owners.first().map(|o| (&*o.comm, o.pid))
}

/// Teardown order, so that sorting by state reads like the life of a connection.
fn state_rank(s: Phase) -> u8 {
    match s {
        Phase::State(TcpState::Listen) => 0,
        Phase::State(TcpState::SynSent) => 1,
        Phase::State(TcpState::SynRecv | TcpState::NewSynRecv) => 2,
        Phase::State(TcpState::Established) => 3,
        Phase::State(TcpState::FinWait1) => 4,
        Phase::State(TcpState::FinWait2) => 5,
        Phase::State(TcpState::Closing) => 6,
        Phase::State(TcpState::TimeWait) => 7,
        Phase::State(TcpState::CloseWait) => 8,
        Phase::State(TcpState::LastAck) => 9,
        Phase::State(TcpState::Close) => 10,
        Phase::Gone => 11,
    }
}
