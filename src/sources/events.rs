//! Kernel events: the eBPF source where it loads, the tracefs reader where it does not, and
//! which one runs, and why, in words for the user.

use super::bpf::{BpfError, BpfSource};
use super::trace::{TraceError, TraceSource};
use crate::model::KernelEvent;
use std::time::Duration;

/// Where transitions come from (`--events`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EventsMode {
    /// eBPF if it loads, else tracefs, else snapshot diffs (said once, with the reason).
    Auto,
    /// The eBPF program on the TCP tracepoints (root, or CAP_BPF and CAP_PERFMON), or fail.
    Bpf,
    /// The tracefs reader (root), or fail: events carry no network namespace.
    Tracefs,
    /// Snapshot diffs only.
    Off,
    /// Kernel events of either source, or fail.
    #[value(hide = true)]
    On,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventSourceKind {
    Bpf,
    Tracefs,
}

impl EventSourceKind {
    pub fn name(self) -> &'static str {
        match self {
            EventSourceKind::Bpf => "ebpf",
            EventSourceKind::Tracefs => "tracefs",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    #[error(transparent)]
    Bpf(#[from] BpfError),
    #[error(transparent)]
    Trace(#[from] TraceError),
}

enum Inner {
    Bpf(Box<BpfSource>),
    Tracefs(Box<TraceSource>),
}

/// The running event source.
pub struct KernelEvents {
    inner: Inner,
    /// How many events the last drain brought: a busy source is read again at once.
    last_drain: usize,
}

/// What a drain says besides its events.
#[derive(Debug, Clone, Copy)]
pub struct Drained {
    /// Every event up to here has been handed out.
    pub watermark: u64,
    /// The namespace's TcpExtTCPTimeWaitOverflow, read after the drain, if readable.
    pub timewait_overflows: Option<u64>,
}

/// A drain this large means the kernel is busy: read again without letting a batch gather.
const BUSY_DRAIN: usize = 4096;
/// Otherwise let a batch gather this long: fewer wake-ups and reads, for 10 ms of latency.
const BATCH_GAP: Duration = Duration::from_millis(10);

/// What `open` found: the source, if any, and what to tell the user.
pub struct Opened {
    pub events: Option<KernelEvents>,
    /// Why the source that runs was chosen (the reason the better ones could not run);
    /// `None` when eBPF runs.
    pub caveat: Option<String>,
}

/// The inode of the calling thread's network namespace (0 if it cannot be read).
pub fn current_netns() -> u32 {
    super::namespaces::current().unwrap_or(0)
}

const TRACEFS_LIMIT: &str = "its events carry no network namespace: another namespace's connection with the same addresses can show as this one's";
/// Why tracefs events are placed by the namespace of the process that was running.
const TRACEFS_BLIND: &str = "other users' processes' namespaces cannot be read (CAP_SYS_PTRACE): their connections show only once a snapshot sees them, and those that come and go between two snapshots not at all";

/// What tracefs cannot tell, here.
fn tracefs_limits() -> String {
    if super::netns::others_namespaces_readable() {
        TRACEFS_LIMIT.to_string()
    } else {
        format!("{TRACEFS_LIMIT}; {TRACEFS_BLIND}")
    }
}

/// Opens the source `mode` asks for, watching the namespace with inode `netns`. Errors only
/// for a source asked for by name (or `on`) that cannot run.
pub fn open(mode: EventsMode, netns: u32) -> Result<Opened, EventsError> {
    let bpf = || {
        BpfSource::open(netns).map(|s| KernelEvents {
            inner: Inner::Bpf(Box::new(s)),
            last_drain: 0,
        })
    };
    let tracefs = || {
        TraceSource::open().map(|s| KernelEvents {
            inner: Inner::Tracefs(Box::new(s)),
            last_drain: 0,
        })
    };
    Ok(match mode {
        EventsMode::Off => Opened {
            events: None,
            caveat: Some("--events off".into()),
        },
        EventsMode::Bpf => Opened {
            events: Some(bpf()?),
            caveat: None,
        },
        EventsMode::Tracefs => Opened {
            events: Some(tracefs()?),
            caveat: Some(format!(
                "events from tracefs (--events tracefs): {}",
                tracefs_limits()
            )),
        },
        EventsMode::Auto | EventsMode::On => match bpf() {
            Ok(s) => Opened {
                events: Some(s),
                caveat: None,
            },
            Err(bpf_error) => match tracefs() {
                Ok(s) => Opened {
                    events: Some(s),
                    caveat: Some(format!(
                        "events from tracefs, as eBPF did not load ({bpf_error}): {}",
                        tracefs_limits()
                    )),
                },
                Err(e) if mode == EventsMode::On => return Err(e.into()),
                Err(trace_error) => Opened {
                    events: None,
                    caveat: Some(format!("{bpf_error}; and tracefs: {trace_error}")),
                },
            },
        },
    })
}

impl KernelEvents {
    pub fn kind(&self) -> EventSourceKind {
        match self.inner {
            Inner::Bpf(_) => EventSourceKind::Bpf,
            Inner::Tracefs(_) => EventSourceKind::Tracefs,
        }
    }

    /// Whether each event carries its socket's network namespace.
    pub fn places_namespaces(&self) -> bool {
        self.kind() == EventSourceKind::Bpf
    }

    /// Follows another namespace from now on (a scenario's fresh one).
    pub fn set_namespace(&mut self, netns: u32) -> Result<(), EventsError> {
        match &mut self.inner {
            Inner::Bpf(s) => Ok(s.set_namespace(netns)?),
            Inner::Tracefs(_) => Ok(()),
        }
    }

    /// Appends the events up to `cutoff_ns`, in time order; later ones wait for the next call.
    /// Also reads the namespace's TcpExtTCPTimeWaitOverflow, after the drain, so that the
    /// count covers the events drained (the tracker needs to know whether the kernel ran out
    /// of timewait sockets meanwhile).
    pub fn drain(
        &mut self,
        out: &mut Vec<KernelEvent>,
        cutoff_ns: u64,
    ) -> Result<Drained, EventsError> {
        let before = out.len();
        match &mut self.inner {
            Inner::Bpf(s) => s.drain(out, cutoff_ns),
            Inner::Tracefs(s) => s.drain(out, cutoff_ns)?,
        }
        self.last_drain = out.len().saturating_sub(before);
        Ok(Drained {
            watermark: cutoff_ns,
            timewait_overflows: super::netstat::tcp_ext("TCPTimeWaitOverflow"),
        })
    }

    /// Every event up to `end_ns` (and what came after, up to now), once they are surely
    /// committed: what a snapshot whose dump ended at `end_ns` must wait for.
    pub fn drain_through(
        &mut self,
        out: &mut Vec<KernelEvent>,
        end_ns: u64,
    ) -> Result<Drained, EventsError> {
        while super::trace::cutoff_now() < end_ns {
            std::thread::sleep(Duration::from_micros(200));
        }
        self.drain(out, super::trace::cutoff_now())
    }

    /// Waits until a drain is worth it, at most about `timeout`: at once after a large drain
    /// (the reader must keep up with the kernel), otherwise until events come and a batch
    /// has gathered. True when events may be waiting.
    pub fn wait(&self, timeout: Duration) -> bool {
        if self.last_drain >= BUSY_DRAIN {
            return true;
        }
        let some = match &self.inner {
            Inner::Bpf(s) => s.wait(timeout),
            Inner::Tracefs(s) => s.wait(timeout),
        };
        if some {
            std::thread::sleep(BATCH_GAP.min(timeout));
        }
        some
    }

    /// Events the kernel dropped because the reader fell behind.
    pub fn lost(&self) -> u64 {
        match &self.inner {
            Inner::Bpf(s) => s.lost(),
            Inner::Tracefs(s) => s.stats().lost,
        }
    }
}

/// The nice value of a thread that reads kernel events, when the process may raise it.
const READER_NICE: i32 = -5;

/// Puts the calling thread, a reader of kernel events, ahead of other work when allowed
/// (CAP_SYS_NICE): it needs little CPU, but when the host's cores are saturated it went
/// unscheduled for 250 ms at a time, most of what the ring holds at full churn. Without the
/// capability it runs at the process's priority.
pub fn run_ahead() {
    let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), READER_NICE);
}
