//! Entering a network namespace: by its `/run/netns` name (as `ip netns` keeps them), a
//! process's, or a namespace file.

use rustix::thread::LinkNameSpaceType;

#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error("network namespace {0:?}: not a plain name (expected a name under /run/netns)")]
    BadName(String),
    #[error(
        "--netns {0:?}: expected all, a name under /run/netns, pid:PID or a path (/proc/PID/ns/net, a bind mount)"
    )]
    BadChoice(String),
    #[error("network namespace {name} not found ({path}: {source})")]
    Missing {
        name: String,
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a network namespace")]
    NotNetns { path: String },
    #[error("cannot enter network namespace {name}: {source} (needs CAP_SYS_ADMIN: run as root)")]
    Enter {
        name: String,
        source: std::io::Error,
    },
}

/// Which namespaces `--netns` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetnsChoice {
    /// Every namespace this process can enter.
    All,
    /// `/run/netns/NAME`, as `ip netns exec` has it.
    Named(String),
    /// The namespace of a process.
    Pid(i32),
    /// A namespace file: `/proc/PID/ns/net`, a bind mount.
    Path(std::path::PathBuf),
}

impl std::str::FromStr for NetnsChoice {
    type Err = NetnsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "all" {
            return Ok(NetnsChoice::All);
        }
        if let Some(pid) = s.strip_prefix("pid:") {
            return match pid.parse::<i32>() {
                Ok(pid) if pid > 0 => Ok(NetnsChoice::Pid(pid)),
                _ => Err(NetnsError::BadChoice(s.to_string())),
            };
        }
        if s.contains('/') {
            return Ok(NetnsChoice::Path(s.into()));
        }
        if s.is_empty() || s == "." || s == ".." {
            return Err(NetnsError::BadChoice(s.to_string()));
        }
        Ok(NetnsChoice::Named(s.to_string()))
    }
}

impl NetnsChoice {
    /// The file that enters it; `None` for `All`.
    pub fn path(&self) -> Option<std::path::PathBuf> {
        match self {
            NetnsChoice::All => None,
            NetnsChoice::Named(name) => Some(format!("/run/netns/{name}").into()),
            NetnsChoice::Pid(pid) => Some(format!("/proc/{pid}/ns/net").into()),
            NetnsChoice::Path(p) => Some(p.clone()),
        }
    }

    /// The process it names, if any (`pid:PID`, `/proc/PID/ns/net`).
    pub fn pid(&self) -> Option<i32> {
        match self {
            NetnsChoice::Pid(pid) => Some(*pid),
            NetnsChoice::Path(p) => p
                .to_str()?
                .strip_prefix("/proc/")?
                .strip_suffix("/ns/net")?
                .parse()
                .ok(),
            _ => None,
        }
    }

    /// As the user wrote it, for messages and the view's header.
    pub fn describe(&self) -> String {
        match self {
            NetnsChoice::All => "all".to_string(),
            NetnsChoice::Named(name) => name.clone(),
            NetnsChoice::Pid(pid) => format!("pid:{pid}"),
            NetnsChoice::Path(p) => p.display().to_string(),
        }
    }
}

/// Moves the calling thread into `/run/netns/NAME`. Call it before starting other threads, so
/// that they inherit the namespace.
pub fn enter(name: &str) -> Result<(), NetnsError> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(NetnsError::BadName(name.to_string()));
    }
    enter_choice(&NetnsChoice::Named(name.to_string()))
}

/// Moves the calling thread into the namespace chosen (nothing to do for `All`).
pub fn enter_choice(choice: &NetnsChoice) -> Result<(), NetnsError> {
    let Some(path) = choice.path() else {
        return Ok(());
    };
    let name = match choice {
        NetnsChoice::Named(name) => format!("{name:?}"),
        other => other.describe(),
    };
    let file = std::fs::File::open(&path).map_err(|source| NetnsError::Missing {
        name: name.clone(),
        path: path.display().to_string(),
        source,
    })?;
    rustix::thread::move_into_link_name_space(
        std::os::fd::AsFd::as_fd(&file),
        Some(LinkNameSpaceType::Network),
    )
    .map_err(|e| match e {
        rustix::io::Errno::INVAL => NetnsError::NotNetns {
            path: path.display().to_string(),
        },
        e => NetnsError::Enter {
            name,
            source: e.into(),
        },
    })
}

/// `net:[4026531840]` → 4026531840.
pub fn parse_link(link: &str) -> Option<u32> {
    link.strip_prefix("net:[")?.strip_suffix(']')?.parse().ok()
}

/// Whether other users' processes' namespaces can be read: `/proc/PID/ns/net` needs ptrace
/// read access, which CAP_SYS_PTRACE gives (root has it). Asked of the capability, not of a
/// process's link: in some containers even root may not read PID 1's.
pub fn others_namespaces_readable() -> bool {
    has_effective_capability(CAP_SYS_PTRACE)
}

/// linux/capability.h.
pub(crate) const CAP_SYS_PTRACE: u32 = 19;
pub(crate) const CAP_DAC_READ_SEARCH: u32 = 2;

/// Whether this process's effective set (`CapEff` in /proc/self/status, hexadecimal) has
/// capability number `cap`.
pub(crate) fn has_effective_capability(cap: u32) -> bool {
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
    namespaces: rustc_hash::FxHashMap<i32, Option<u32>>,
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
            namespaces: rustc_hash::FxHashMap::default(),
        }
    }

    /// Gives events that name no namespace (tracefs's) their thread's, where it can be read:
    /// what `--netns all` needs to tell them apart.
    pub fn place(&mut self, events: &mut [crate::model::KernelEvent]) {
        for ev in events.iter_mut().filter(|e| e.netns == 0 && e.pid > 0) {
            ev.netns = self.netns_of(ev.pid).unwrap_or(0);
        }
    }

    /// The namespace of a thread, if its link is readable (cached like `is_local`).
    pub fn netns_of(&mut self, pid: i32) -> Option<u32> {
        if self.namespaces.len() > 100_000 {
            self.namespaces.clear();
        }
        *self.namespaces.entry(pid).or_insert_with(|| {
            std::fs::read_link(format!("/proc/{pid}/ns/net"))
                .ok()
                .and_then(|l| parse_link(&l.to_string_lossy()))
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_parse() {
        assert_eq!("all".parse::<NetnsChoice>().unwrap(), NetnsChoice::All);
        assert_eq!(
            "blue".parse::<NetnsChoice>().unwrap(),
            NetnsChoice::Named("blue".into())
        );
        assert_eq!(
            "pid:42".parse::<NetnsChoice>().unwrap(),
            NetnsChoice::Pid(42)
        );
        assert_eq!(
            "/proc/42/ns/net".parse::<NetnsChoice>().unwrap(),
            NetnsChoice::Path("/proc/42/ns/net".into())
        );
        for bad in ["", "..", "pid:", "pid:0", "pid:-3", "pid:x"] {
            assert!(bad.parse::<NetnsChoice>().is_err(), "{bad:?}");
        }
        assert_eq!(
            NetnsChoice::Pid(42).path().unwrap().to_str(),
            Some("/proc/42/ns/net")
        );
    }

    #[test]
    fn a_file_that_is_no_namespace_is_refused_by_name() {
        let e = enter_choice(&NetnsChoice::Path("/proc/self/status".into())).unwrap_err();
        assert!(
            matches!(e, NetnsError::NotNetns { .. } | NetnsError::Enter { .. }),
            "{e}"
        );
        let e = enter_choice(&NetnsChoice::Named("no-such-ns-here".into())).unwrap_err();
        assert!(e.to_string().contains("not found"), "{e}");
    }
}
