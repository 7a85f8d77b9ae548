//! Socket inode → owning processes, from `/proc/PID/fd`.
//!
//! The scan is incremental: per process it remembers which inode each fd number pointed to, and
//! on the next refresh reads a link again only when the fd number is new, or when the socket it
//! pointed to has left the snapshot (so the number may have been reused). Reading links is the
//! expensive part (a few µs of kernel time each), so this keeps refreshes cheap on hosts with
//! hundreds of thousands of sockets. Processes are scanned on all cores.

use crate::model::{Owner, SocketRecord};
use rustix::fs::{Mode, OFlags};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What seeing other users' owners takes, for messages.
pub const OWNERS_NEED: &str = "run as root, or grant CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH: sudo setcap cap_sys_ptrace,cap_dac_read_search+ep $(command -v tcpscope)";

/// Whether other users' processes' fd tables can be read: `/proc/PID/fd` needs ptrace read
/// access (CAP_SYS_PTRACE) and is a directory only its owner may search (CAP_DAC_READ_SEARCH).
pub fn others_readable() -> bool {
    use super::netns::{CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE, has_effective_capability};
    has_effective_capability(CAP_SYS_PTRACE) && has_effective_capability(CAP_DAC_READ_SEARCH)
}

/// Maps socket inodes to the processes that hold them.
pub trait OwnerLookup {
    /// Brings the map up to date for the sockets of a new snapshot.
    fn refresh(&mut self, sockets: &[SocketRecord]) -> OwnerScanStats;
    /// The owners of a socket inode; empty when unknown (and always for inode 0).
    fn owners_of(&self, inode: u64) -> &[Owner];
}

/// What a refresh did and could not do, for the user to see.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct OwnerScanStats {
    pub processes: usize,
    /// Processes whose fd table we may not read (another user's, without CAP_SYS_PTRACE and
    /// CAP_DAC_READ_SEARCH).
    pub unreadable_processes: usize,
    /// fds whose link may not be read (ptrace rules, security modules): their owners are
    /// unknown. Counted once per fd, not read again until it changes.
    pub unreadable_fds: usize,
    /// fd links read this refresh.
    pub links_read: usize,
    /// fds that vanished between listing and reading (process exit, close).
    pub vanished: usize,
}

/// What we know of one process.
struct ProcessEntry {
    start_time: u64,
    comm: Arc<str>,
    cmdline: Arc<str>,
    /// fd number → socket inode, 0 for an fd that is not a socket, [`UNREADABLE`] for one
    /// whose link we may not read.
    fds: HashMap<i32, u64>,
}

/// The `/proc` implementation of [`OwnerLookup`].
pub struct ProcfsOwners {
    processes: HashMap<i32, ProcessEntry>,
    by_inode: HashMap<u64, Vec<Owner>>,
    /// Live inodes no readable fd pointed to at the last refresh.
    unresolved: HashSet<u64>,
    /// The live inodes of the previous refresh.
    last_live: HashSet<u64>,
    refreshes: u64,
    workers: usize,
}

impl Default for ProcfsOwners {
    fn default() -> Self {
        Self::new()
    }
}

/// Every this many refreshes the fd tables are read even when nothing seems new.
const FULL_PASS_EVERY: u64 = 30;

/// Marks an fd whose link the kernel refused to show us.
const UNREADABLE: u64 = u64::MAX;

/// The result of scanning one process's fd directory.
enum FdScan {
    Fds {
        fds: HashMap<i32, u64>,
        links_read: usize,
        vanished: usize,
    },
    Unreadable,
    Gone,
}

impl ProcfsOwners {
    pub fn new() -> Self {
        ProcfsOwners {
            processes: HashMap::new(),
            by_inode: HashMap::new(),
            unresolved: HashSet::new(),
            last_live: HashSet::new(),
            refreshes: 0,
            workers: std::thread::available_parallelism().map_or(1, usize::from),
        }
    }

    fn rebuild_index(&mut self) {
        self.by_inode.clear();
        for (&pid, p) in &self.processes {
            for (&fd, &inode) in &p.fds {
                if inode != 0 && inode != UNREADABLE {
                    self.by_inode.entry(inode).or_default().push(Owner {
                        pid,
                        comm: p.comm.clone(),
                        cmdline: p.cmdline.clone(),
                        fd,
                    });
                }
            }
        }
        for owners in self.by_inode.values_mut() {
            owners.sort_by_key(|o| (o.pid, o.fd));
        }
    }
}

impl OwnerLookup for ProcfsOwners {
    fn refresh(&mut self, sockets: &[SocketRecord]) -> OwnerScanStats {
        let live: HashSet<u64> = sockets
            .iter()
            .map(|s| s.inode)
            .filter(|&i| i != 0)
            .collect();
        let mut stats = OwnerScanStats::default();

        // The process list, with start times to tell a reused pid from the old process.
        let mut current: Vec<(procfs::process::Process, procfs::process::Stat)> = Vec::new();
        if let Ok(all) = procfs::process::all_processes() {
            current.extend(
                all.flatten()
                    .filter_map(|p| p.stat().ok().map(|st| (p, st))),
            );
        }
        stats.processes = current.len();
        let current_pids: HashSet<i32> = current.iter().map(|(p, _)| p.pid).collect();
        let before = self.processes.len();
        self.processes.retain(|pid, _| current_pids.contains(pid));
        let mut processes_changed = self.processes.len() != before;
        for (proc, stat) in &current {
            let known = self.processes.get(&proc.pid);
            if known.is_some_and(|p| p.start_time == stat.starttime) {
                continue;
            }
            processes_changed = true;
            let cmdline = proc.cmdline().map(|c| c.join(" ")).unwrap_or_default();
            self.processes.insert(
                proc.pid,
                ProcessEntry {
                    start_time: stat.starttime,
                    comm: stat.comm.as_str().into(),
                    cmdline: cmdline.into(),
                    fds: HashMap::new(),
                },
            );
        }

        // Nothing to learn: the same processes, and every live socket either owned by a known
        // fd or known to be unreadable. Reading fd directories is the expensive part (0.6 µs
        // an entry to list, 2.6 µs a link to read), so skip it; a full pass now and then
        // catches what this cannot see (an exec, an fd passed between processes).
        let nothing_new = live
            .iter()
            .all(|i| self.by_inode.contains_key(i) || self.unresolved.contains(i));
        if self.refreshes > 0
            && !processes_changed
            && nothing_new
            && !self.refreshes.is_multiple_of(FULL_PASS_EVERY)
        {
            self.last_live = live;
            self.refreshes += 1;
            return stats;
        }
        let pids: Vec<i32> = current.iter().map(|(p, _)| p.pid).collect();
        self.scan_all(&pids, &live, false, &mut stats);
        self.rebuild_index();
        // A live socket nobody seems to hold may sit on an fd number that was a file before:
        // read the non-socket links again, once per new such inode (not on the first scan,
        // which read every link already).
        let unknown: HashSet<u64> = live
            .iter()
            .copied()
            .filter(|i| !self.by_inode.contains_key(i))
            .collect();
        if self.refreshes > 0 && !unknown.is_subset(&self.unresolved) {
            self.scan_all(&pids, &live, true, &mut stats);
            self.rebuild_index();
        }
        self.unresolved = live
            .iter()
            .copied()
            .filter(|i| !self.by_inode.contains_key(i))
            .collect();
        self.last_live = live;
        self.refreshes += 1;
        stats
    }

    fn owners_of(&self, inode: u64) -> &[Owner] {
        self.by_inode.get(&inode).map_or(&[], Vec::as_slice)
    }
}

impl ProcfsOwners {
    /// Scans the fd tables on all cores: each worker takes the next process.
    fn scan_all(
        &mut self,
        pids: &[i32],
        live: &HashSet<u64>,
        recheck: bool,
        stats: &mut OwnerScanStats,
    ) {
        let next = AtomicUsize::new(0);
        let processes = &self.processes;
        let last_live = &self.last_live;
        let results: Vec<(i32, FdScan)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..self.workers.min(pids.len()).max(1))
                .map(|_| {
                    scope.spawn(|| {
                        let mut out = Vec::new();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(&pid) = pids.get(i) else { break };
                            let known = processes.get(&pid).map(|p| &p.fds);
                            out.push((pid, scan_fds(pid, known, live, last_live, recheck)));
                        }
                        out
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        });

        for (pid, scan) in results {
            match scan {
                FdScan::Fds {
                    fds,
                    links_read,
                    vanished,
                } => {
                    stats.unreadable_fds += fds.values().filter(|&&i| i == UNREADABLE).count();
                    stats.links_read += links_read;
                    stats.vanished += vanished;
                    if let Some(p) = self.processes.get_mut(&pid) {
                        p.fds = fds;
                    }
                }
                FdScan::Unreadable => {
                    stats.unreadable_processes += 1;
                    if let Some(p) = self.processes.get_mut(&pid) {
                        p.fds.clear();
                    }
                }
                FdScan::Gone => {
                    self.processes.remove(&pid);
                }
            }
        }
    }
}

/// Lists a process's fds and reads the links that are new or may have changed.
fn scan_fds(
    pid: i32,
    known: Option<&HashMap<i32, u64>>,
    live: &HashSet<u64>,
    last_live: &HashSet<u64>,
    recheck: bool,
) -> FdScan {
    let path = format!("/proc/{pid}/fd");
    let dirfd = match rustix::fs::open(
        path.as_str(),
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::ACCESS | rustix::io::Errno::PERM) => return FdScan::Unreadable,
        Err(_) => return FdScan::Gone,
    };
    let Ok(dir) = rustix::fs::Dir::read_from(&dirfd) else {
        return FdScan::Gone;
    };
    let mut fds = HashMap::with_capacity(known.map_or(16, HashMap::len));
    let (mut links_read, mut vanished) = (0, 0);
    let mut link = [0u8; 64];
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(fd) = parse_fd_number(name.to_bytes()) else {
            continue;
        };
        // A socket that left the snapshot may have been closed and its number reused: read
        // again. Sockets still in the snapshot, non-sockets and other namespaces' sockets are
        // kept: a number reused meanwhile (another fd of a dup'ed or forked socket may keep
        // the old one alive) shows up as an unknown inode, and the caller then asks for a
        // recheck, which reads every link.
        if let Some(&inode) = known.and_then(|k| k.get(&fd))
            && !recheck
            && (live.contains(&inode) || !last_live.contains(&inode))
        {
            fds.insert(fd, inode);
            continue;
        }
        links_read += 1;
        match rustix::fs::readlinkat_raw(&dirfd, name, &mut link[..]) {
            Ok(len) => {
                let target = &link[..len.min(link.len())];
                fds.insert(fd, parse_socket_link(target).unwrap_or(0));
            }
            Err(rustix::io::Errno::ACCESS | rustix::io::Errno::PERM) => {
                fds.insert(fd, UNREADABLE);
            }
            Err(_) => vanished += 1,
        }
    }
    FdScan::Fds {
        fds,
        links_read,
        vanished,
    }
}

fn parse_fd_number(name: &[u8]) -> Option<i32> {
    std::str::from_utf8(name).ok()?.parse().ok()
}

/// `socket:[12345]` → 12345.
pub fn parse_socket_link(target: &[u8]) -> Option<u64> {
    let digits = target.strip_prefix(b"socket:[")?.strip_suffix(b"]")?;
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The owners of the sockets a snapshot shows that were not handed on before: the tracker
/// keeps a socket's owners (its inode, and so its owner, does not change while it lives), so
/// each goes once. Cloning 200k owner lists a second showed as an eighth of the TUI's CPU.
pub struct NewOwners<L: OwnerLookup> {
    lookup: L,
    sent: std::collections::HashSet<u64>,
}

impl<L: OwnerLookup> NewOwners<L> {
    pub fn new(lookup: L) -> Self {
        NewOwners {
            lookup,
            sent: std::collections::HashSet::new(),
        }
    }

    /// Refreshes the lookup for `sockets` and returns the owners of the inodes new to us.
    /// `full`: the snapshot holds every socket, so inodes it lacks can be forgotten.
    pub fn of(
        &mut self,
        sockets: &[SocketRecord],
        full: bool,
    ) -> std::collections::HashMap<u64, Vec<Owner>> {
        self.lookup.refresh(sockets);
        let mut map = std::collections::HashMap::new();
        for s in sockets
            .iter()
            .filter(|s| s.inode != 0 && !self.sent.contains(&s.inode))
        {
            let o = self.lookup.owners_of(s.inode);
            if !o.is_empty() {
                map.insert(s.inode, o.to_vec());
            }
        }
        self.sent.extend(map.keys().copied());
        if full && self.sent.len() > 2 * sockets.len() + 1024 {
            let live: std::collections::HashSet<u64> = sockets.iter().map(|s| s.inode).collect();
            self.sent.retain(|i| live.contains(i));
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_links_parse() {
        assert_eq!(parse_socket_link(b"socket:[12345]"), Some(12345));
        assert_eq!(parse_socket_link(b"socket:[]"), None);
        assert_eq!(parse_socket_link(b"socket:[12"), None);
        assert_eq!(parse_socket_link(b"/dev/null"), None);
        assert_eq!(parse_socket_link(b"pipe:[5]"), None);
        assert_eq!(parse_socket_link(b"socket:[99999999999999999999999]"), None);
    }
}
