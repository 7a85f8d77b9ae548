//! What the tracker sees while a scenario plays: kernel events when they can be had,
//! snapshots of the scenario's namespace always, joined by the same feed as `watch`'s.

use crate::model::StateSet;
use crate::sources::events::{KernelEvents, current_netns};
use crate::sources::netns::LocalPids;
use crate::sources::trace::cutoff_now;
use crate::sources::{Query, SnapshotSource, SourceKind, monotonic_ns, open_source};
use crate::tracker::{Feed, KernelEvent, Mode, Snapshot, Tracker, TrackerConfig, Transition};

pub struct Observer {
    events: Option<KernelEvents>,
    source: Box<dyn SnapshotSource>,
    feed: Feed,
    local: LocalPids,
    batch: Vec<KernelEvent>,
    /// Every transition seen, in order.
    pub log: Vec<Transition>,
}

impl Observer {
    /// Starts observing the calling thread's network namespace. Events from before now
    /// (another scenario's) are read and dropped.
    pub fn new(mut events: Option<KernelEvents>) -> anyhow::Result<Observer> {
        let netns = current_netns();
        let mut batch = Vec::new();
        if let Some(ev) = events.as_mut() {
            ev.set_namespace(netns)?;
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
            feed: Feed::new(Tracker::new(TrackerConfig {
                mode,
                // Scenarios are short: remember every connection for their whole length.
                ghost: std::time::Duration::from_secs(600),
                netns,
                ..TrackerConfig::default()
            })),
            local: LocalPids::new(),
            batch,
            log: Vec::new(),
        })
    }

    pub fn traced(&self) -> bool {
        self.events.is_some()
    }

    pub fn tracker(&self) -> &Tracker {
        self.feed.tracker()
    }

    /// Hands the event source back (for the next scenario).
    pub fn into_events(self) -> Option<KernelEvents> {
        self.events
    }

    /// A snapshot and the events up to it.
    pub fn poll(&mut self) -> anyhow::Result<()> {
        let ts_ns = monotonic_ns();
        let mut sockets = Vec::new();
        self.source
            .snapshot(&Query::states(StateSet::ALL, false), &mut sockets)?;
        let end_ns = monotonic_ns();
        let mut snapshot = Snapshot::full(ts_ns, sockets, &|_| Vec::new());
        snapshot.end_ns = end_ns;
        self.feed.on_snapshot(snapshot);
        if let Some(ev) = self.events.as_mut() {
            // The snapshot waits for every event up to the end of its dump.
            self.batch.clear();
            let drained = ev.drain_through(&mut self.batch, end_ns)?;
            let local = &mut self.local;
            self.feed.on_events(
                &self.batch,
                drained.watermark,
                drained.timewait_overflows,
                &mut |pid| local.is_local(pid),
            );
        }
        self.log.extend(self.feed.take_transitions());
        Ok(())
    }
}
