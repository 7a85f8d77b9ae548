//! Entering a named network namespace (`ip netns` keeps them under /run/netns).

use rustix::thread::LinkNameSpaceType;

#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error("network namespace {0:?}: not a plain name (expected a name under /run/netns)")]
    BadName(String),
    #[error("network namespace {name:?} not found ({path}: {source})")]
    Missing {
        name: String,
        path: String,
        source: std::io::Error,
    },
    #[error("cannot enter network namespace {name:?}: {source} (needs CAP_SYS_ADMIN: run as root)")]
    Enter {
        name: String,
        source: std::io::Error,
    },
}

/// Moves the calling thread into `/run/netns/NAME`. Call it before starting other threads, so
/// that they inherit the namespace.
pub fn enter(name: &str) -> Result<(), NetnsError> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(NetnsError::BadName(name.to_string()));
    }
    let path = format!("/run/netns/{name}");
    let file = std::fs::File::open(&path).map_err(|source| NetnsError::Missing {
        name: name.to_string(),
        path: path.clone(),
        source,
    })?;
    rustix::thread::move_into_link_name_space(
        std::os::fd::AsFd::as_fd(&file),
        Some(LinkNameSpaceType::Network),
    )
    .map_err(|e| NetnsError::Enter {
        name: name.to_string(),
        source: e.into(),
    })
}

/// Whether other users' processes' namespaces can be read: `/proc/PID/ns/net` needs ptrace
/// read access, which CAP_SYS_PTRACE gives (root has it). Asked of the capability, not of a
/// process's link: in some containers even root may not read PID 1's.
pub fn others_namespaces_readable() -> bool {
    has_effective_capability(CAP_SYS_PTRACE)
}

/// linux/capability.h.
const CAP_SYS_PTRACE: u32 = 19;

/// Whether this process's effective set (`CapEff` in /proc/self/status, hexadecimal) has
/// capability number `cap`.
fn has_effective_capability(cap: u32) -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|set| set & (1 << cap) != 0)
}

/// Whether a thread runs in this thread's network namespace, cached per thread id (the
/// tracepoints name the thread that was running, not the namespace).
pub struct LocalPids {
    ours: Option<std::path::PathBuf>,
    cache: rustc_hash::FxHashMap<i32, bool>,
}

impl Default for LocalPids {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalPids {
    pub fn new() -> Self {
        LocalPids {
            ours: std::fs::read_link("/proc/thread-self/ns/net").ok(),
            cache: rustc_hash::FxHashMap::default(),
        }
    }

    pub fn is_local(&mut self, pid: i32) -> bool {
        let Some(ours) = &self.ours else { return false };
        if self.cache.len() > 100_000 {
            // Thread ids get reused; start over now and then.
            self.cache.clear();
        }
        *self.cache.entry(pid).or_insert_with(|| {
            std::fs::read_link(format!("/proc/{pid}/ns/net")).is_ok_and(|p| &p == ours)
        })
    }
}
