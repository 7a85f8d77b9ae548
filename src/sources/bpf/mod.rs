//! The eBPF event source: a small program on the TCP tracepoints (`assets/bpf/`, committed
//! compiled, loaded by aya) that reads each socket's network namespace, so that events of
//! other namespaces are told apart, and the socket's SOCK_DONE flag, so that a timewait
//! hand-over is known to be TIME_WAIT or FIN_WAIT2 when it happens. Events come through one
//! ring buffer; the program and its maps go away with this value (the kernel frees them when
//! their last file descriptor closes, also when the process dies).

pub mod record;

use crate::model::KernelEvent;
use aya::maps::{Array, MapData, PerCpuArray, RingBuf};
use aya::programs::TracePoint;
use aya::{Ebpf, include_bytes_aligned};
use std::time::Duration;

static OBJECT: &[u8] = include_bytes_aligned!("../../../assets/bpf/tcp_events.bpf.o");

/// (program, tracepoint category, tracepoint).
const PROGRAMS: [(&str, &str, &str); 4] = [
    ("set_state", "sock", "inet_sock_set_state"),
    ("send_reset", "tcp", "tcp_send_reset"),
    ("receive_reset", "tcp", "tcp_receive_reset"),
    ("destroy_sock", "tcp", "tcp_destroy_sock"),
];

/// The program never wakes the reader (see the C source): the reader looks this often.
const READ_EVERY: Duration = Duration::from_millis(10);

#[derive(Debug, thiserror::Error)]
pub enum BpfError {
    #[error(
        "eBPF needs root, or CAP_BPF, CAP_PERFMON and CAP_DAC_READ_SEARCH (the tracepoints' ids are read from tracefs): `setcap cap_bpf,cap_perfmon,cap_dac_read_search+ep tcpscope` ({0})"
    )]
    Permission(String),
    #[error("the kernel has no BTF (/sys/kernel/btf/vmlinux; CONFIG_DEBUG_INFO_BTF) for eBPF")]
    NoBtf,
    #[error("eBPF: {0}")]
    Other(String),
}

fn classify(what: &str, err: &dyn std::error::Error) -> BpfError {
    // aya nests the errno several sources deep.
    let mut text = format!("{what}: {err}");
    let mut source = err.source();
    let mut denied = false;
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            // EPERM: no privilege. (EACCES from BPF_PROG_LOAD is the verifier refusing the
            // program, not a missing capability.)
            denied |= io.raw_os_error() == Some(1);
        }
        text = format!("{text}: {s}");
        source = s.source();
    }
    denied |= text.contains("Operation not permitted");
    if std::env::var_os("TCPSCOPE_DEBUG").is_some() {
        eprintln!("tcpscope: {text}");
    }
    if denied {
        BpfError::Permission(what.to_string())
    } else {
        // Verifier logs run to pages: the first line says what failed.
        BpfError::Other(text.lines().next().unwrap_or_default().to_string())
    }
}

pub struct BpfSource {
    // Owns the programs and their attachments.
    _ebpf: Ebpf,
    ring: RingBuf<MapData>,
    target: Array<MapData, u32>,
    lost: PerCpuArray<MapData, u64>,
    carry: Vec<KernelEvent>,
    records: u64,
    malformed: u64,
}

impl Drop for BpfSource {
    /// Detaches the programs all at once: each detach waits out the kernel's grace period for
    /// tracepoints (~70 ms here), and one after the other they made quitting take 300 ms.
    fn drop(&mut self) {
        std::thread::scope(|scope| {
            for (_, program) in self._ebpf.programs_mut() {
                if let Ok(tracepoint) = <&mut TracePoint>::try_from(program) {
                    scope.spawn(move || {
                        let _ = tracepoint.unload();
                    });
                }
            }
        });
    }
}

impl BpfSource {
    /// Loads and attaches the program; it reports the sockets of the namespace with inode
    /// `netns` (0: every namespace).
    pub fn open(netns: u32) -> Result<BpfSource, BpfError> {
        if !std::path::Path::new("/sys/kernel/btf/vmlinux").exists() {
            return Err(BpfError::NoBtf);
        }
        // Attaching looks the tracepoints' ids up in tracefs.
        super::trace::tracefs_root().map_err(|e| match e {
            super::trace::TraceError::Permission { what, err } => {
                BpfError::Permission(format!("{what}: {}", std::io::Error::from(err.kind())))
            }
            e => BpfError::Other(e.to_string()),
        })?;
        let mut ebpf = Ebpf::load(OBJECT).map_err(|e| classify("loading the eBPF object", &e))?;
        for (name, category, tracepoint) in PROGRAMS {
            let program: &mut TracePoint = ebpf
                .program_mut(name)
                .ok_or_else(|| BpfError::Other(format!("program {name} missing from the object")))?
                .try_into()
                .map_err(|e| classify(name, &e))?;
            program
                .load()
                .map_err(|e| classify(&format!("loading {name}"), &e))?;
            program
                .attach(category, tracepoint)
                .map_err(|e| classify(&format!("attaching {category}:{tracepoint}"), &e))?;
        }
        let map = |ebpf: &mut Ebpf, name: &str| {
            ebpf.take_map(name)
                .ok_or_else(|| BpfError::Other(format!("map {name} missing from the object")))
        };
        let ring = RingBuf::try_from(map(&mut ebpf, "EVENTS")?)
            .map_err(|e| classify("the ring buffer", &e))?;
        let target = Array::try_from(map(&mut ebpf, "TARGET_NETNS")?)
            .map_err(|e| classify("the namespace map", &e))?;
        let lost = PerCpuArray::try_from(map(&mut ebpf, "LOST")?)
            .map_err(|e| classify("the loss counter", &e))?;
        let mut source = BpfSource {
            _ebpf: ebpf,
            ring,
            target,
            lost,
            carry: Vec::new(),
            records: 0,
            malformed: 0,
        };
        source.set_namespace(netns)?;
        Ok(source)
    }

    /// Reports the namespace with this inode from now on (0: every namespace).
    pub fn set_namespace(&mut self, netns: u32) -> Result<(), BpfError> {
        self.target
            .set(0, netns, 0)
            .map_err(|e| classify("setting the namespace", &e))
    }

    /// Everything in the ring, up to `cutoff_ns`, in time order (see `TraceSource::drain`).
    pub fn drain(&mut self, out: &mut Vec<KernelEvent>, cutoff_ns: u64) {
        let start = out.len();
        out.append(&mut self.carry);
        while let Some(item) = self.ring.next() {
            self.records += 1;
            match record::decode(&item) {
                Some(ev) => out.push(ev),
                None => self.malformed += 1,
            }
        }
        out[start..].sort_by_key(|e| e.ts_ns);
        let keep = start + out[start..].partition_point(|e| e.ts_ns <= cutoff_ns);
        self.carry.extend(out.drain(keep..));
    }

    pub fn lost(&self) -> u64 {
        self.lost
            .get(&0, 0)
            .map(|per_cpu| per_cpu.iter().sum())
            .unwrap_or(0)
    }

    pub fn records(&self) -> u64 {
        self.records
    }

    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    /// Waits `timeout`, at most a few milliseconds: the program does not wake the reader.
    pub fn wait(&self, timeout: Duration) -> bool {
        std::thread::sleep(timeout.min(READ_EVERY));
        true
    }
}
