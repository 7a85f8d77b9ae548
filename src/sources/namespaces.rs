//! Every network namespace of the host: those of processes (`/proc/*/ns/net`, one entry per
//! inode) and those `ip netns` keeps under /run/netns (which may hold no process), each with
//! its label (`model::netns`) and a path to enter it by. Docker and Podman do not register
//! theirs in /run/netns: only the process scan finds them.

use super::containers::{self, StateFiles};
use crate::model::netns::Netns;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A namespace, and the file that enters it (`setns`).
#[derive(Debug, Clone)]
pub struct Found {
    pub netns: Netns,
    pub path: PathBuf,
}

/// What a scan saw.
#[derive(Debug, Default)]
pub struct Discovery {
    /// By inode.
    pub found: BTreeMap<u32, Found>,
    /// Processes whose namespace link could not be read (another user's, without
    /// CAP_SYS_PTRACE): their namespaces may be missing.
    pub unreadable: usize,
}

pub use super::netns::parse_link;

/// The inode of the namespace a file enters (a /proc/PID/ns/net link or a bind mount).
pub fn inode_of(path: &Path) -> Option<u32> {
    let st = rustix::fs::stat(path).ok()?;
    u32::try_from(st.st_ino).ok()
}

/// The calling thread's namespace.
pub fn current() -> Option<u32> {
    std::fs::read_link("/proc/thread-self/ns/net")
        .ok()
        .and_then(|l| parse_link(&l.to_string_lossy()))
}

static STARTED_IN: std::sync::OnceLock<Option<u32>> = std::sync::OnceLock::new();

/// Notes the namespace tcpscope starts in (the one called `host`), before `--netns` moves
/// it elsewhere. Later calls change nothing.
pub fn remember_start() {
    let _ = STARTED_IN.get_or_init(|| {
        std::fs::read_link("/proc/self/ns/net")
            .ok()
            .and_then(|l| parse_link(&l.to_string_lossy()))
    });
}

/// The namespace tcpscope started in.
pub fn own() -> Option<u32> {
    remember_start();
    STARTED_IN.get().copied().flatten()
}

/// `/run/netns` names by inode.
fn run_netns_names() -> BTreeMap<u32, String> {
    let mut names = BTreeMap::new();
    if let Ok(dir) = std::fs::read_dir("/run/netns") {
        for entry in dir.flatten() {
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if let Some(inode) = inode_of(&entry.path()) {
                names.entry(inode).or_insert(name);
            }
        }
    }
    names
}

/// One namespace's names, without a scan of every process: its /run/netns name, whether it
/// is tcpscope's own, and the container and name of `pid` (a process known to be in it).
pub fn describe(inode: u32, pid: Option<i32>, state: &mut StateFiles) -> Netns {
    let mut netns = Netns::unnamed(inode);
    netns.host = Some(inode) == own();
    netns.name = run_netns_names().remove(&inode);
    if let Some(pid) = pid {
        label_from_process(&mut netns, pid, state);
    }
    netns
}

/// This thread's namespace as `--netns` chose it (a `pid:PID` or `/proc/PID/ns/net` choice
/// names a process in it, whose container labels it).
pub fn describe_here(choice: Option<&super::netns::NetnsChoice>) -> Netns {
    let inode = current().unwrap_or(0);
    let pid = choice.and_then(super::netns::NetnsChoice::pid);
    describe(inode, pid, &mut StateFiles::new(Path::new("/")))
}

fn label_from_process(netns: &mut Netns, pid: i32, state: &mut StateFiles) {
    netns.process = Some((pid, comm(pid)));
    if !netns.host {
        netns.container = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
            .ok()
            .and_then(|t| containers::from_cgroup(&t))
            .map(|(runtime, id)| state.container(runtime, id));
    }
}

/// Scans `/proc` and `/run/netns`. `state` names the containers (read once per scan of a
/// new container).
pub fn discover(state: &mut StateFiles) -> Discovery {
    state.begin_scan();
    let own = own();
    let mut d = Discovery::default();
    // Lowest pid per namespace: the container's init, or the oldest process.
    let mut first_pid: BTreeMap<u32, i32> = BTreeMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<i32>().ok())
            else {
                continue;
            };
            match std::fs::read_link(format!("/proc/{pid}/ns/net")) {
                Ok(link) => {
                    if let Some(inode) = parse_link(&link.to_string_lossy()) {
                        let p = first_pid.entry(inode).or_insert(pid);
                        *p = (*p).min(pid);
                    }
                }
                // Gone since the directory was listed: not a failure.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(_) => d.unreadable += 1,
            }
        }
    }
    let names = run_netns_names();
    let inodes: std::collections::BTreeSet<u32> =
        first_pid.keys().chain(names.keys()).copied().collect();
    for inode in inodes {
        let mut netns = Netns::unnamed(inode);
        netns.host = Some(inode) == own;
        netns.name = names.get(&inode).cloned();
        let pid = first_pid.get(&inode).copied();
        if let Some(pid) = pid {
            label_from_process(&mut netns, pid, state);
        }
        let path = match (&netns.name, pid) {
            (Some(name), _) => PathBuf::from(format!("/run/netns/{name}")),
            (None, Some(pid)) => PathBuf::from(format!("/proc/{pid}/ns/net")),
            (None, None) => continue,
        };
        d.found.insert(inode, Found { netns, path });
    }
    d
}

/// Runs `f` in the namespace with inode `inode`: here when it is this thread's (or 0), else
/// on a thread that enters it (found by a scan) and ends. Sockets `f` makes belong there.
pub fn run_in<T: Send>(inode: u32, f: impl FnOnce() -> T + Send) -> Result<T, String> {
    if inode == 0 || current() == Some(inode) {
        return Ok(f());
    }
    let found = discover(&mut StateFiles::new(Path::new("/")));
    let Some(ns) = found.found.get(&inode) else {
        return Err(format!("network namespace net:[{inode}] is gone"));
    };
    let path = ns.path.clone();
    std::thread::scope(|scope| {
        scope
            .spawn(move || {
                super::netns::enter_choice(&super::netns::NetnsChoice::Path(path))
                    .map_err(|e| e.to_string())?;
                // The path may name another namespace by now (a pid reused).
                if current() != Some(inode) {
                    return Err(format!("network namespace net:[{inode}] is gone"));
                }
                Ok(f())
            })
            .join()
            .unwrap_or_else(|_| Err("the namespace thread failed".into()))
    })
}

/// A process's name (`/proc/PID/comm`, at most 16 bytes), or empty.
fn comm(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim_end_matches('\n').chars().take(64).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_parse() {
        assert_eq!(parse_link("net:[4026531840]"), Some(4026531840));
        assert_eq!(parse_link("mnt:[4026531840]"), None);
        assert_eq!(parse_link("net:[x]"), None);
        assert_eq!(parse_link("net:[99999999999]"), None);
    }

    #[test]
    fn the_scan_finds_our_own_namespace_as_host() {
        let d = discover(&mut StateFiles::new(Path::new("/")));
        let own = own().unwrap();
        let ours = &d.found[&own];
        assert!(ours.netns.host);
        assert_eq!(ours.netns.label(), "host");
        assert_eq!(inode_of(&ours.path), Some(own));
    }
}
