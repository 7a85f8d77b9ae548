//! What the tracker sees while a scenario plays: kernel events when they can be had,
//! snapshots of the scenario's namespace always, joined as `watch` joins them.

use crate::model::{SocketRecord, StateSet};
use crate::sources::netns::LocalPids;
use crate::sources::trace::{TraceSource, cutoff_now};
use crate::sources::{Query, SnapshotSource, SourceKind, monotonic_ns, open_source};
use crate::tracker::{KernelEvent, Mode, Tracker, TrackerConfig, Transition};

pub struct Observer {
    events: Option<TraceSource>,
    source: Box<dyn SnapshotSource>,
    tracker: Tracker,
    local: LocalPids,
    batch: Vec<KernelEvent>,
    sockets: Vec<SocketRecord>,
    /// Every transition seen, in order.
    pub log: Vec<Transition>,
}

impl Observer {
    /// Starts observing the calling thread's network namespace. Events from before now
    /// (another scenario's) are read and dropped.
    pub fn new(mut events: Option<TraceSource>) -> anyhow::Result<Observer> {
        let mut batch = Vec::new();
        if let Some(ev) = events.as_mut() {
            ev.drain(&mut batch, cutoff_now())?;
            batch.clear();
        }
        let mode = if events.is_some() {
            Mode::Traced
        } else {
            Mode::Inferred
        };
        Ok(Observer {
            events,
            source: open_source(SourceKind::Netlink)?,
            tracker: Tracker::new(TrackerConfig {
                mode,
                // Scenarios are short: remember every connection for their whole length.
                ghost_ns: 600_000_000_000,
                ..TrackerConfig::default()
            }),
            local: LocalPids::new(),
            batch,
            sockets: Vec::new(),
            log: Vec::new(),
        })
    }

    pub fn traced(&self) -> bool {
        self.events.is_some()
    }

    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    /// Hands the event source back (for the next scenario).
    pub fn into_events(self) -> Option<TraceSource> {
        self.events
    }

    /// A snapshot and the events up to it.
    pub fn poll(&mut self) -> anyhow::Result<()> {
        let ts = monotonic_ns();
        self.sockets.clear();
        self.source
            .snapshot(&Query::states(StateSet::ALL, false), &mut self.sockets)?;
        if let Some(ev) = self.events.as_mut() {
            // The dump may already show changes made while it ran, after `ts`: apply every
            // event up to its end first (the tracker then lets those events win over it),
            // once they are surely committed. Otherwise a change seen by the dump is
            // reported twice: observed now, traced at the next poll.
            let end = monotonic_ns();
            while cutoff_now() < end {
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
            self.batch.clear();
            ev.drain(&mut self.batch, end)?;
            let local = &mut self.local;
            self.tracker
                .apply_events(&self.batch, &mut |pid| local.is_local(pid));
        }
        self.tracker
            .apply_snapshot(ts, &self.sockets, &|_| Vec::new());
        self.tracker.expire(ts);
        self.log.extend(self.tracker.take_transitions());
        Ok(())
    }
}
