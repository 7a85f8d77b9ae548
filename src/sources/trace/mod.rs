//! The kernel event source: a private tracefs instance with the TCP tracepoints enabled, read in
//! binary form (`per_cpu/cpuN/trace_pipe_raw`). Never the global buffer, never text.
//!
//! The instance is `instances/tcpscope-PID-START` (see `sources::run_id`); it is removed on
//! drop, and instances of earlier runs whose process is gone are removed on start. Its clock is `mono`, so event times and
//! snapshot times (CLOCK_MONOTONIC) compare.

pub mod decode;
pub mod format;
pub mod ring;

use super::run_id::RunId;
use crate::model::KernelEvent;
use decode::Decoder;
use format::EventFormat;
use rustix::event::{PollFd, PollFlags};
use rustix::fd::OwnedFd;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use std::path::{Path, PathBuf};
use std::time::Duration;

const EVENTS: [&str; 4] = [
    "sock/inet_sock_set_state",
    "tcp/tcp_send_reset",
    "tcp/tcp_receive_reset",
    "tcp/tcp_destroy_sock",
];
const INSTANCE_PREFIX: &str = "tcpscope-";
/// Per-CPU ring size: a second of 250k events/s at ~100 bytes each, with room to spare.
const BUFFER_KB: &str = "16384";

#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error(
        "tracefs is not available ({0}): the kernel needs CONFIG_FTRACE, and mounting it needs CAP_SYS_ADMIN"
    )]
    NoTracefs(String),
    #[error(
        "{what}: {err} (a tracefs instance needs write access to tracefs: root, or CAP_DAC_OVERRIDE, which is close to root, and CAP_SYS_PTRACE to place other users' events; eBPF needs less: CAP_BPF, CAP_PERFMON, CAP_DAC_READ_SEARCH)"
    )]
    Permission { what: String, err: std::io::Error },
    #[error("{what}: {err}")]
    Io { what: String, err: std::io::Error },
    #[error("tracepoint format: {0}")]
    Format(#[from] format::FormatError),
}

fn io_error(what: impl Into<String>, err: std::io::Error) -> TraceError {
    let what = what.into();
    match err.kind() {
        std::io::ErrorKind::PermissionDenied => TraceError::Permission { what, err },
        _ => TraceError::Io { what, err },
    }
}

/// Counters the user is shown: lost records are never silent.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TraceStats {
    pub records: u64,
    /// Records the kernel dropped because the reader fell behind (ring overrun).
    pub lost: u64,
    /// Pages that were cut short or inconsistent.
    pub malformed_pages: u64,
}

pub struct TraceSource {
    instance: PathBuf,
    cpus: Vec<OwnedFd>,
    decoder: Decoder,
    page: Vec<u8>,
    stats: TraceStats,
    /// Events newer than the last cutoff, held for the next drain.
    carry: Vec<KernelEvent>,
}

impl TraceSource {
    /// Sets up the private instance and opens its per-CPU buffers.
    pub fn open() -> Result<TraceSource, TraceError> {
        let root = tracefs_root()?;
        let instances = root.join("instances");
        remove_stale_instances(&instances);
        // Named by PID and start time (see sources::run_id).
        let tag = RunId::current().map_or_else(|| std::process::id().to_string(), |r| r.tag());
        let instance = instances.join(format!("{INSTANCE_PREFIX}{tag}"));
        match std::fs::create_dir(&instance) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_error(format!("creating {}", instance.display()), e)),
        }
        let decoder = (|| {
            Ok::<_, TraceError>(Decoder::new(
                &read_format(&instance, EVENTS[0])?,
                &read_format(&instance, EVENTS[1])?,
                &read_format(&instance, EVENTS[2])?,
                &read_format(&instance, EVENTS[3])?,
            )?)
        })();
        let decoder = match decoder {
            Ok(d) => d,
            Err(e) => {
                let _ = std::fs::remove_dir(&instance);
                return Err(e);
            }
        };
        // From here on, dropping `source` removes the instance whatever fails next.
        let mut source = TraceSource {
            decoder,
            instance,
            cpus: Vec::new(),
            page: Vec::new(),
            stats: TraceStats::default(),
            carry: Vec::new(),
        };
        source.configure()?;
        Ok(source)
    }

    fn configure(&mut self) -> Result<(), TraceError> {
        let write = |file: &str, value: &str| {
            std::fs::write(self.instance.join(file), value)
                .map_err(|e| io_error(format!("writing {value:?} to {file}"), e))
        };
        write("trace_clock", "mono")?;
        write("buffer_size_kb", BUFFER_KB)?;
        // Wake the reader on any data, not when half the buffer is full.
        let _ = write("buffer_percent", "0");
        for event in EVENTS {
            write(&format!("events/{event}/enable"), "1")?;
        }
        let page_kb = std::fs::read_to_string(self.instance.join("buffer_subbuf_size_kb"))
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .unwrap_or(4);
        self.page = vec![0; page_kb.max(4) * 1024];
        let per_cpu = self.instance.join("per_cpu");
        let mut cpus: Vec<usize> = std::fs::read_dir(&per_cpu)
            .map_err(|e| io_error(format!("listing {}", per_cpu.display()), e))?
            .filter_map(|e| {
                e.ok()?
                    .file_name()
                    .to_str()?
                    .strip_prefix("cpu")?
                    .parse()
                    .ok()
            })
            .collect();
        cpus.sort_unstable();
        for cpu in cpus {
            let path = per_cpu.join(format!("cpu{cpu}/trace_pipe_raw"));
            let fd = rustix::fs::open(
                &path,
                OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| io_error(format!("opening {}", path.display()), e.into()))?;
            self.cpus.push(fd);
        }
        write("tracing_on", "1")
    }

    pub fn stats(&self) -> TraceStats {
        self.stats
    }

    /// Reads everything the kernel has buffered so far, on every CPU, and appends the events
    /// up to `cutoff_ns` (CLOCK_MONOTONIC) in time order; newer ones wait for the next drain.
    ///
    /// The CPUs are read one after another, so an event written on the first CPU after it
    /// was read would otherwise arrive after later events of the second: a cutoff a little
    /// before the time of the read (see [`cutoff_now`]) keeps the stream in order.
    pub fn drain(&mut self, out: &mut Vec<KernelEvent>, cutoff_ns: u64) -> Result<(), TraceError> {
        let start = out.len();
        out.append(&mut self.carry);
        for fd in &self.cpus {
            loop {
                match rustix::io::read(fd, &mut self.page[..]) {
                    Ok(0) | Err(Errno::AGAIN) => break,
                    Ok(n) => {
                        let decoder = &self.decoder;
                        let outcome =
                            ring::parse_page(&self.page[..n.min(self.page.len())], &mut |rec| {
                                if let Some(ev) = decoder.decode(rec.ts, rec.data) {
                                    out.push(ev);
                                }
                            });
                        self.stats.records += outcome.records as u64;
                        self.stats.lost += outcome.lost;
                        self.stats.malformed_pages += u64::from(outcome.malformed);
                    }
                    Err(Errno::INTR) => continue,
                    Err(e) => return Err(io_error("reading trace_pipe_raw", e.into())),
                }
            }
        }
        // Each CPU's records are in order; the merge of all CPUs is not.
        out[start..].sort_by_key(|e| e.ts_ns);
        let keep = start + out[start..].partition_point(|e| e.ts_ns <= cutoff_ns);
        self.carry.extend(out.drain(keep..));
        Ok(())
    }

    /// Waits until a buffer has data or `timeout` passes.
    pub fn wait(&self, timeout: Duration) -> bool {
        let mut fds: Vec<PollFd<'_>> = self
            .cpus
            .iter()
            .map(|fd| PollFd::new(fd, PollFlags::IN))
            .collect();
        let ts = rustix::time::Timespec {
            tv_sec: i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(timeout.subsec_nanos()),
        };
        matches!(rustix::event::poll(&mut fds, Some(&ts)), Ok(n) if n > 0)
    }
}

/// How far behind "now" a drain may safely cut: events are stamped when their space in the
/// ring is reserved and readable when committed, microseconds later.
const COMMIT_SLACK_NS: u64 = 1_000_000;

/// The cutoff for a drain that starts now.
pub fn cutoff_now() -> u64 {
    crate::sources::monotonic_ns().saturating_sub(COMMIT_SLACK_NS)
}

impl Drop for TraceSource {
    fn drop(&mut self) {
        let _ = std::fs::write(self.instance.join("tracing_on"), "0");
        for event in EVENTS {
            let _ = std::fs::write(self.instance.join(format!("events/{event}/enable")), "0");
        }
        // The kernel refuses to remove an instance whose files are open.
        self.cpus.clear();
        let _ = std::fs::remove_dir(&self.instance);
    }
}

fn read_format(instance: &Path, event: &str) -> Result<EventFormat, TraceError> {
    let path = instance.join(format!("events/{event}/format"));
    let text = std::fs::read_to_string(&path)
        .map_err(|e| io_error(format!("reading {}", path.display()), e))?;
    Ok(EventFormat::parse(&text)?)
}

/// Where tracefs is, mounting it at /sys/kernel/tracing if it is not mounted anywhere.
pub(crate) fn tracefs_root() -> Result<PathBuf, TraceError> {
    for candidate in ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"] {
        let p = Path::new(candidate);
        match std::fs::read_dir(p) {
            Ok(_) if p.join("instances").is_dir() => return Ok(p.to_path_buf()),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                return Err(io_error(format!("reading {candidate}"), e));
            }
            _ => {}
        }
    }
    let target = Path::new("/sys/kernel/tracing");
    if !target.is_dir() {
        return Err(TraceError::NoTracefs(
            "/sys/kernel/tracing does not exist".into(),
        ));
    }
    rustix::mount::mount(
        "nodev",
        target,
        "tracefs",
        rustix::mount::MountFlags::empty(),
        None,
    )
    .map_err(|e| io_error("mounting tracefs at /sys/kernel/tracing", e.into()))?;
    if target.join("instances").is_dir() {
        Ok(target.to_path_buf())
    } else {
        Err(TraceError::NoTracefs(
            "mounted, but it has no instances directory".into(),
        ))
    }
}

/// Removes the instances of earlier tcpscope runs whose process is gone (a crash or SIGKILL
/// leaves them behind): `tcpscope-PID-START` when that process no longer runs (a PID reused by
/// another process does not keep it), `tcpscope-PID` (older runs) when no process has the PID.
/// Any other name is not ours and is left alone.
fn remove_stale_instances(instances: &Path) {
    let Ok(dir) = std::fs::read_dir(instances) else {
        return;
    };
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(tag) = name.to_str().and_then(|n| n.strip_prefix(INSTANCE_PREFIX)) else {
            continue;
        };
        let stale = match RunId::parse(tag) {
            Some(run) => !run.is_running(),
            None if !tag.is_empty() && tag.bytes().all(|b| b.is_ascii_digit()) => {
                !Path::new(&format!("/proc/{tag}")).exists()
            }
            None => false,
        };
        if stale {
            let _ = std::fs::remove_dir(entry.path());
        }
    }
}
