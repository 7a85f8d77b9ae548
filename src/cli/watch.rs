//! `tcpscope watch`: snapshots on an interval, kernel events between them, the tracker joining
//! both, and every transition printed as it is known.

use super::args::{EventsMode, WatchArgs};
use crate::model::{Filter, SocketRecord, StateSet};
use crate::output::transitions::{write_json_line, write_text_line};
use crate::sources::monotonic_ns;
use crate::sources::netns::LocalPids;
use crate::sources::owners::{OwnerLookup, ProcfsOwners};
use crate::sources::trace::{TraceSource, cutoff_now};
use crate::sources::{Query, open_source};
use crate::tracker::{KernelEvent, Mode, Step, Tracker, TrackerConfig, Transition};
use anyhow::Context;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often the loop looks for events (and for Ctrl-C) between snapshots.
const EVENT_POLL: Duration = Duration::from_millis(20);
/// After a batch of events, let more gather before reading again: fewer wake-ups and
/// system calls under heavy churn, for 10 ms of latency.
const BATCH_GAP: Duration = Duration::from_millis(10);

pub fn run(args: &WatchArgs) -> anyhow::Result<()> {
    let filter = args.filter.filter();
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, stop.clone()).context("installing signal handlers")?;
    }

    let events = match args.events {
        EventsMode::Off => None,
        EventsMode::On => Some(TraceSource::open().context("kernel events (--events on)")?),
        EventsMode::Auto => match TraceSource::open() {
            Ok(source) => Some(source),
            Err(e) => {
                eprintln!(
                    "tcpscope: kernel events off, transitions are inferred from snapshots: {e}"
                );
                None
            }
        },
    };
    let mode = if events.is_some() {
        Mode::Traced
    } else {
        Mode::Inferred
    };
    let mut events = events.map(|source| Events {
        source,
        lost_reported: 0,
    });
    let interval = Duration::from_millis(args.interval);
    let mut tracker = Tracker::new(TrackerConfig {
        mode,
        ghost_ns: args.ghost_secs.saturating_mul(1_000_000_000),
        confirm_ns: duration_ns(interval * 3).max(2_000_000_000),
        ..TrackerConfig::default()
    });
    let mut source = open_source(args.filter.source)?;
    let mut owners = ProcfsOwners::new();
    let mut netns = LocalPids::new();
    // The tracker needs every socket; the filter applies to what is printed.
    let query = Query::states(StateSet::ALL, false);
    let wall_offset = wall_minus_monotonic_ns();
    // A duration too long to represent means "until stopped".
    let deadline = args
        .duration
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .and_then(|d| Instant::now().checked_add(d));
    let stdout = std::io::stdout();
    let mut printer = Printer {
        out: stdout.lock(),
        json: args.json,
        wall_offset,
        filter,
    };
    let mut batch: Vec<KernelEvent> = Vec::new();
    let mut sockets: Vec<SocketRecord> = Vec::new();

    while !stop.load(Ordering::Relaxed) && deadline.is_none_or(|d| Instant::now() < d) {
        let tick = Instant::now();
        let ts = monotonic_ns();
        sockets.clear();
        source
            .snapshot(&query, &mut sockets)
            .context("reading the socket table")?;
        if !args.filter.no_owners {
            owners.refresh(&sockets);
        }
        // Changes made while the dump ran may show in it: apply every event up to its end
        // first, once they are surely committed, or such a change shows twice (observed, then
        // traced).
        if let Some(ev) = events.as_mut() {
            let end = monotonic_ns();
            while cutoff_now() < end {
                std::thread::sleep(Duration::from_micros(200));
            }
            ev.feed(&mut tracker, &mut netns, &mut batch, end)?;
        }
        tracker.apply_snapshot(ts, &sockets, &|inode| owners.owners_of(inode).to_vec());
        tracker.expire(ts);
        if !printer.print(tracker.take_transitions())? {
            return Ok(());
        }

        // Between snapshots: events as they come.
        let next = tick + interval;
        while !stop.load(Ordering::Relaxed)
            && Instant::now() < next
            && deadline.is_none_or(|d| Instant::now() < d)
        {
            let wait = next
                .saturating_duration_since(Instant::now())
                .min(EVENT_POLL);
            match events.as_mut() {
                Some(ev) => {
                    if ev.source.wait(wait) {
                        ev.feed(&mut tracker, &mut netns, &mut batch, cutoff_now())?;
                        if !printer.print(tracker.take_transitions())? {
                            return Ok(());
                        }
                        std::thread::sleep(
                            BATCH_GAP.min(next.saturating_duration_since(Instant::now())),
                        );
                    }
                }
                None => std::thread::sleep(wait),
            }
        }
    }
    let dropped = tracker.stats().unconfirmed_dropped;
    if dropped > 0 && std::env::var_os("TCPSCOPE_DEBUG").is_some() {
        eprintln!("tcpscope: {dropped} connections of other network namespaces ignored");
    }
    Ok(())
}

/// The kernel event source and what was said of its losses.
struct Events {
    source: TraceSource,
    lost_reported: u64,
}

impl Events {
    /// Reads what the kernel has and hands it to the tracker; says so when records were lost.
    fn feed(
        &mut self,
        tracker: &mut Tracker,
        netns: &mut LocalPids,
        batch: &mut Vec<KernelEvent>,
        cutoff_ns: u64,
    ) -> anyhow::Result<()> {
        batch.clear();
        self.source
            .drain(batch, cutoff_ns)
            .context("reading kernel events")?;
        tracker.apply_events(batch, &mut |pid| netns.is_local(pid));
        let lost = self.source.stats().lost;
        if lost > self.lost_reported {
            eprintln!(
                "tcpscope: the kernel dropped {} events so far: the reader fell behind, transitions of some connections are missing",
                lost
            );
            self.lost_reported = lost;
        }
        Ok(())
    }
}

struct Printer<W: Write> {
    out: W,
    json: bool,
    wall_offset: i128,
    filter: Filter,
}

impl<W: Write> Printer<W> {
    /// Prints the transitions the filter wants; false when stdout is gone (a closed pipe).
    fn print(&mut self, transitions: Vec<Transition>) -> anyhow::Result<bool> {
        for t in &transitions {
            if !self.wants(t) {
                continue;
            }
            let written = if self.json {
                write_json_line(&mut self.out, t)
            } else {
                let wall = u64::try_from(i128::from(t.ts_ns) + self.wall_offset).unwrap_or(0);
                write_text_line(&mut self.out, t, wall)
            };
            if let Err(e) = written {
                return broken_pipe_is_the_end(e);
            }
        }
        match self.out.flush() {
            Ok(()) => Ok(true),
            Err(e) => broken_pipe_is_the_end(e),
        }
    }

    fn wants(&self, t: &Transition) -> bool {
        let state_ok = |s: Step| matches!(s, Step::State(st) if self.filter.states.contains(st));
        (state_ok(t.from) || state_ok(t.to))
            && self.filter.matches_ends(t.family, &t.local, &t.remote)
            && self.filter.matches_owners(&t.owners)
    }
}

fn broken_pipe_is_the_end(e: std::io::Error) -> anyhow::Result<bool> {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Ok(false)
    } else {
        Err(e).context("writing transitions")
    }
}

fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn wall_minus_monotonic_ns() -> i128 {
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128);
    wall - i128::from(monotonic_ns())
}
