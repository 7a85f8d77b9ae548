//! `tcpscope watch`: snapshots on an interval, kernel events between them, the tracker joining
//! both, and every transition printed as it is known.

use super::args::{EventsMode, WatchArgs};
use crate::model::netns::Netns;
use crate::model::safe_text::for_terminal;
use crate::model::{Filter, StateSet, TcpState};
use crate::output::transitions::{netns_json, write_json_line, write_text_line};
use crate::sources::Query;
use crate::sources::events::{self, KernelEvents, current_netns};
use crate::sources::every_netns::open_for;
use crate::sources::monotonic_ns;
use crate::sources::namespaces;
use crate::sources::netns::LocalPids;
use crate::sources::netns::NetnsChoice;
use crate::sources::owners::{NewOwners, ProcfsOwners};
use crate::sources::trace::cutoff_now;
use crate::tracker::{
    Feed, KernelEvent, Mode, Phase, Snapshot, Tracker, TrackerConfig, Transition,
};
use anyhow::Context;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::time::{Duration, Instant};

/// How often the loop looks for events (and for Ctrl-C) between snapshots.
const EVENT_POLL: Duration = Duration::from_millis(20);

/// With kernel events, how often a dump includes TIME_WAIT. Events tell everything of a
/// TIME_WAIT but its end by its timer (dated from the timer all the same) or by a reset: a
/// busy host holds 100k+ of them, and dumping them every second cost more than all the events
/// (a fifth of the reader's time at 200k, and events lost at full churn).
const TIME_WAIT_EVERY: Duration = Duration::from_secs(5);

pub fn run(args: &WatchArgs) -> anyhow::Result<()> {
    let filter = args.filter.filter();
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, stop.clone()).context("installing signal handlers")?;
    }

    let all = args.sockets.netns == Some(NetnsChoice::All);
    // With every namespace, the eBPF program takes every namespace's events (0).
    let netns = if all { 0 } else { current_netns() };
    let opened = events::open(args.events, netns).with_context(|| {
        let flag = clap::ValueEnum::to_possible_value(&args.events)
            .map(|v| v.get_name().to_string())
            .unwrap_or_default();
        format!("kernel events (--events {flag})")
    })?;
    match (&opened.events, &opened.caveat) {
        (Some(_), Some(why)) => eprintln!("tcpscope: {why}"),
        (None, Some(why)) if args.events != EventsMode::Off => {
            eprintln!(
                "tcpscope: kernel events off, transitions are inferred from snapshots: {why}"
            );
        }
        _ => {}
    }
    let mode = if opened.events.is_some() {
        Mode::Traced
    } else {
        Mode::Inferred
    };
    let mut events = opened.events.map(|source| Events {
        source,
        lost_reported: 0,
        batch: Vec::new(),
        all_namespaces: all,
    });
    let interval = Duration::from_millis(args.interval);
    let mut feed = Feed::new(Tracker::new(TrackerConfig {
        mode,
        ghost: Duration::from_secs(args.ghost_secs),
        confirm: (interval * 3).max(Duration::from_secs(2)),
        netns,
        all_namespaces: all,
        ..TrackerConfig::default()
    }));
    let source = open_for(args.sockets.netns.as_ref(), args.sockets.source)?;
    let names = Arc::new(std::sync::Mutex::new(NamespaceNames::default()));
    if !all {
        let netns = namespaces::describe_here(args.sockets.netns.as_ref());
        if let Ok(mut n) = names.lock() {
            n.by_inode.insert(netns.inode, Arc::new(netns));
        }
    }
    let mut local = LocalPids::new();
    let wall_offset = wall_minus_monotonic_ns();
    // A duration too long to represent means "until stopped".
    let deadline = args
        .duration
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .and_then(|d| Instant::now().checked_add(d));
    let stdout = std::io::stdout();
    let mut printer = Printer {
        // Written in batches and flushed when a batch is done: a line-buffered stdout scans
        // and writes every line on its own.
        out: std::io::BufWriter::with_capacity(1 << 16, stdout.lock()),
        batch: Vec::new(),
        json: args.json,
        wall_offset,
        filter,
        names: names.clone(),
        written: HashMap::new(),
        label_column: all,
        lookup: all.then(Lookup::new),
    };
    let pacing = Pacing {
        interval,
        traced: mode == Mode::Traced,
        owners: !args.sockets.no_owners,
    };
    let done = AtomicBool::new(false);

    std::thread::scope(|scope| {
        let (snapshots, dumped) = std::sync::mpsc::sync_channel(1);
        let (spares, spare) = std::sync::mpsc::channel();
        let dumper = std::thread::Builder::new()
            .name("tcpscope-dumps".into())
            .spawn_scoped(scope, {
                let done = &done;
                let names = names.clone();
                move || dump(source, pacing, &snapshots, &spare, done, &names)
            })
            .context("starting the dump thread")?;
        // This thread reads the kernel's events: ahead of other work (when allowed), and
        // never held up by a dump, which takes the kernel a third of a second at 200k
        // TIME_WAITs, as long as the ring holds events at full churn.
        if events.is_some() {
            events::run_ahead();
        }
        let outcome = (|| -> anyhow::Result<()> {
            while !stop.load(Ordering::Relaxed) && deadline.is_none_or(|d| Instant::now() < d) {
                // Snapshots wait in the feed for the events up to the end of their dump.
                let next = match &events {
                    Some(_) => dumped.try_recv().ok(),
                    None => dumped.recv_timeout(EVENT_POLL).ok(),
                };
                if let Some(snapshot) = next {
                    feed.on_snapshot(snapshot.map_err(anyhow::Error::msg)?);
                    let _ = spares.send(feed.spare_sockets());
                }
                if let Some(ev) = events.as_mut() {
                    ev.source.wait(EVENT_POLL);
                    ev.feed(&mut feed, &mut local)?;
                }
                if !printer.print(&mut feed)? {
                    break;
                }
            }
            Ok(())
        })();
        done.store(true, Ordering::Relaxed);
        // A dump thread waiting for room is let go.
        drop(dumped);
        let _ = dumper.join();
        outcome
    })?;

    if std::env::var_os("TCPSCOPE_DEBUG").is_some() {
        let stats = feed.tracker().stats();
        eprintln!(
            "tcpscope: ignored {} connections never placed in this namespace, {} events of other namespaces, {} stale dump records",
            stats.unconfirmed_dropped, stats.other_netns_events, stats.stale_records
        );
        let ghosts = feed
            .tracker()
            .connections()
            .filter(|c| c.is_ghost())
            .count();
        eprintln!(
            "tcpscope: tracking {} connections ({ghosts} of them gone), {} ghosts of reused 4-tuples dropped",
            feed.tracker().connections().count(),
            stats.reused_ghosts_dropped
        );
    }
    Ok(())
}

/// How the dump thread works.
#[derive(Clone, Copy)]
struct Pacing {
    interval: Duration,
    /// With kernel events: TIME_WAIT only every `TIME_WAIT_EVERY`.
    traced: bool,
    owners: bool,
}

/// Dumps the socket table every interval, on a thread of its own, and sends the snapshots
/// (at most one waiting: a slow reader holds the dumps back, they do not pile up).
fn dump(
    mut source: Box<dyn crate::sources::SnapshotSource>,
    pacing: Pacing,
    tx: &SyncSender<Result<Snapshot, String>>,
    spare: &Receiver<Vec<crate::model::SocketRecord>>,
    done: &AtomicBool,
    names: &std::sync::Mutex<NamespaceNames>,
) {
    let mut owners = NewOwners::new(ProcfsOwners::new());
    let mut last_full: Option<Instant> = None;
    while !done.load(Ordering::Relaxed) {
        let tick = Instant::now();
        let full =
            !pacing.traced || last_full.is_none_or(|at| tick.duration_since(at) >= TIME_WAIT_EVERY);
        if full {
            last_full = Some(tick);
        }
        let states = if full {
            StateSet::ALL
        } else {
            StateSet::ALL.without(TcpState::TimeWait)
        };
        // The tracker needs every socket; the filter applies to what is printed.
        let mut sockets = spare.try_recv().unwrap_or_default();
        sockets.clear();
        let ts_ns = monotonic_ns();
        if let Err(e) = source.snapshot(&Query::states(states, false), &mut sockets) {
            let _ = tx.send(Err(format!("reading the socket table: {e}")));
            return;
        }
        let end_ns = monotonic_ns();
        let spaces = source.namespaces();
        if !spaces.is_empty()
            && let Ok(mut n) = names.lock()
        {
            for netns in spaces {
                n.by_inode.insert(netns.inode, netns);
            }
        }
        let owner_map = if pacing.owners {
            // Only timewait sockets may be left out, and they have no inode: every inode
            // is in the dump.
            owners.of(&sockets, true)
        } else {
            HashMap::new()
        };
        let snapshot = Snapshot {
            ts_ns,
            end_ns,
            sockets,
            owners: owner_map,
            states,
        };
        if tx.send(Ok(snapshot)).is_err() {
            return;
        }
        let next = tick + pacing.interval;
        while !done.load(Ordering::Relaxed) && Instant::now() < next {
            std::thread::sleep(
                next.saturating_duration_since(Instant::now())
                    .min(EVENT_POLL),
            );
        }
    }
}

/// The kernel event source and what was said of its losses.
struct Events {
    source: KernelEvents,
    lost_reported: u64,
    batch: Vec<KernelEvent>,
    /// Every namespace: a tracefs event (which names none) is placed in its thread's.
    all_namespaces: bool,
}

impl Events {
    /// Reads what the kernel has and hands it to the feed; says so when records were lost.
    fn feed(&mut self, feed: &mut Feed, local: &mut LocalPids) -> anyhow::Result<()> {
        self.batch.clear();
        let drained = self
            .source
            .drain(&mut self.batch, cutoff_now())
            .context("reading kernel events")?;
        if self.all_namespaces {
            local.place(&mut self.batch);
        }
        // The timewait overflow counter is one namespace's: with every namespace, which
        // one overflowed is not known.
        let overflows = drained.timewait_overflows.filter(|_| !self.all_namespaces);
        feed.on_events(&self.batch, drained.watermark, overflows, &mut |pid| {
            local.is_local(pid)
        });
        // A burst's large list is cut down.
        self.batch.clear();
        self.batch.shrink_to(1 << 16);
        let lost = self.source.lost();
        if lost > self.lost_reported {
            eprintln!(
                "tcpscope: the kernel dropped {lost} events so far: the reader fell behind, transitions of some connections are missing"
            );
            self.lost_reported = lost;
        }
        Ok(())
    }
}

/// Transitions a printing buffer keeps room for between batches.
const KEPT_BATCH: usize = 1 << 16;

struct Printer<W: Write> {
    out: W,
    batch: Vec<Transition>,
    json: bool,
    wall_offset: i128,
    filter: Filter,
    names: Arc<std::sync::Mutex<NamespaceNames>>,
    /// Each namespace's JSON object and label, made once.
    written: HashMap<u32, Arc<(Vec<u8>, String)>>,
    /// Text lines start with the namespace's label (`--netns all`).
    label_column: bool,
    /// With every namespace: one made since the dump thread's last scan is looked up as its
    /// first transition is printed, so that its lines carry its label from the first.
    lookup: Option<Lookup>,
}

/// Scans for namespaces the dump thread has not named yet, at most every `LOOKUP_EVERY`.
struct Lookup {
    state: crate::sources::containers::StateFiles,
    last: Option<Instant>,
}

/// A namespace none of whose processes can be seen stays unnamed: it is looked for again
/// after this long, not at each of its events.
const LOOKUP_EVERY: Duration = Duration::from_millis(200);

impl Lookup {
    fn new() -> Lookup {
        Lookup {
            state: crate::sources::containers::StateFiles::new(std::path::Path::new("/")),
            last: None,
        }
    }

    /// Scans /proc and /run/netns into `names`, unless it did so a moment ago.
    fn scan_into(&mut self, names: &std::sync::Mutex<NamespaceNames>) {
        if self.last.is_some_and(|at| at.elapsed() < LOOKUP_EVERY) {
            return;
        }
        self.last = Some(Instant::now());
        let found = namespaces::discover(&mut self.state).found;
        if let Ok(mut n) = names.lock() {
            for (inode, f) in found {
                n.by_inode.entry(inode).or_insert_with(|| Arc::new(f.netns));
            }
        }
    }
}

/// The labels of the namespaces seen, by inode, as the dump thread learns them.
#[derive(Default)]
struct NamespaceNames {
    by_inode: BTreeMap<u32, Arc<Netns>>,
}

impl<W: Write> Printer<W> {
    /// Prints the transitions the feed has ready that the filter wants; false when stdout is
    /// gone (a closed pipe). The buffers circulate between the tracker, the feed and here;
    /// a burst's large ones are cut down here.
    fn print(&mut self, feed: &mut Feed) -> anyhow::Result<bool> {
        let mut transitions = std::mem::take(&mut self.batch);
        transitions.clear();
        feed.take_transitions_into(&mut transitions);
        let printed = self.print_all(&transitions);
        transitions.clear();
        transitions.shrink_to(KEPT_BATCH);
        self.batch = transitions;
        printed
    }

    fn print_all(&mut self, transitions: &[Transition]) -> anyhow::Result<bool> {
        for t in transitions {
            // First: a namespace looked up here is known to the filter too.
            let line = self.netns_texts(t.netns);
            if !self.wants(t) {
                continue;
            }
            let wall = u64::try_from(i128::from(t.ts_ns) + self.wall_offset).unwrap_or(0);
            let written = if self.json {
                write_json_line(&mut self.out, t, wall, &line.0)
            } else {
                let label = self.label_column.then_some(line.1.as_str());
                write_text_line(&mut self.out, t, wall, label)
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

    /// A namespace's JSON object and label (safe for a terminal), made once it is known; a
    /// namespace no scan finds (none of its processes visible) is its inode until one does.
    fn netns_texts(&mut self, inode: u32) -> Arc<(Vec<u8>, String)> {
        if let Some(texts) = self.written.get(&inode) {
            return texts.clone();
        }
        let known_now = || {
            self.names
                .lock()
                .ok()
                .and_then(|n| n.by_inode.get(&inode).cloned())
        };
        let mut known = known_now();
        if known.is_none()
            && let Some(lookup) = self.lookup.as_mut()
        {
            lookup.scan_into(&self.names);
            known = known_now();
        }
        let netns = known
            .clone()
            .unwrap_or_else(|| Arc::new(Netns::unnamed(inode)));
        let texts = Arc::new((
            netns_json(&netns),
            for_terminal(&netns.label()).into_owned(),
        ));
        if known.is_some() {
            self.written.insert(inode, texts.clone());
        }
        texts
    }

    fn wants(&self, t: &Transition) -> bool {
        let state_ok = |s: Phase| matches!(s, Phase::State(st) if self.filter.states.contains(st));
        (state_ok(t.from) || state_ok(t.to))
            && self.filter.matches_ends(t.family, &t.local, &t.remote)
            && self.filter.matches_owners(&t.owners)
            && (self.filter.namespace.is_none() || {
                let names = self.names.lock().ok();
                let netns = names.as_ref().and_then(|n| n.by_inode.get(&t.netns));
                self.filter.matches_netns(netns.map(|n| &**n))
            })
    }
}

fn broken_pipe_is_the_end(e: std::io::Error) -> anyhow::Result<bool> {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Ok(false)
    } else {
        Err(e).context("writing transitions")
    }
}

fn wall_minus_monotonic_ns() -> i128 {
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128);
    wall - i128::from(monotonic_ns())
}
