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
