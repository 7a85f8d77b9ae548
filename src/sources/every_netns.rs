//! Snapshots of many network namespaces at once (`--netns all`). A netlink socket made in a
//! namespace keeps dumping that namespace after its thread leaves: each namespace's sockets
//! are made once, on a helper thread that enters it and ends, and every dump runs them side
//! by side on as many threads as there are cores, so the cost grows with the sockets, not
//! with the namespaces. The namespaces are scanned again (at most once a second): those that
//! appear are entered, those that went are dropped (the dump sockets would keep them alive).

use super::containers::StateFiles;
use super::namespaces::{self, Discovery, Found};
use super::netns::NetnsChoice;
use super::sock_diag::SockDiagSource;
use super::{Query, SnapshotSource, SourceError, SourceKind};
use crate::model::SocketRecord;
use crate::model::netns::Netns;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the namespaces are looked for again.
const RESCAN: Duration = Duration::from_secs(1);

/// What seeing other users' processes' namespaces needs.
pub const SEE_NEEDS: &str = "CAP_SYS_PTRACE (run as root)";

struct Member {
    netns: Arc<Netns>,
    source: SockDiagSource,
}

/// Every namespace this process can enter.
pub struct EveryNetns {
    members: BTreeMap<u32, Member>,
    /// Namespaces found but not entered, and why.
    refused: BTreeMap<u32, (Arc<Netns>, String)>,
    unreadable: usize,
    state: StateFiles,
    scanned: Option<Instant>,
}

impl EveryNetns {
    pub fn open() -> Result<EveryNetns, SourceError> {
        let mut all = EveryNetns {
            members: BTreeMap::new(),
            refused: BTreeMap::new(),
            unreadable: 0,
            state: StateFiles::new(Path::new("/")),
            scanned: None,
        };
        all.rescan()?;
        Ok(all)
    }

    /// Scans the namespaces now; enters the new ones (in parallel), drops the gone.
    pub fn rescan(&mut self) -> Result<(), SourceError> {
        let Discovery { found, unreadable } = namespaces::discover(&mut self.state);
        self.unreadable = unreadable;
        self.scanned = Some(Instant::now());
        self.members.retain(|inode, _| found.contains_key(inode));
        self.refused.retain(|inode, _| found.contains_key(inode));
        let own = namespaces::current();
        let new: Vec<Found> = found
            .into_values()
            .filter(|f| {
                let known = self.members.get_mut(&f.netns.inode);
                if let Some(m) = known {
                    // Labels may improve (a container's state file written after its start).
                    if *m.netns != f.netns {
                        m.netns = Arc::new(f.netns.clone());
                    }
                    return false;
                }
                !self.refused.contains_key(&f.netns.inode)
            })
            .collect();
        let opened: Vec<(Found, Result<SockDiagSource, String>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = new
                .into_iter()
                .map(|f| {
                    let here = own == Some(f.netns.inode);
                    scope.spawn(move || {
                        let source = if here {
                            SockDiagSource::open_one().map_err(|e| e.to_string())
                        } else {
                            open_in(&f.path)
                        };
                        (f, source)
                    })
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        for (f, source) in opened {
            let inode = f.netns.inode;
            let netns = Arc::new(f.netns);
            match source {
                Ok(source) => {
                    self.members.insert(inode, Member { netns, source });
                }
                Err(why) => {
                    self.refused.insert(inode, (netns, why));
                }
            }
        }
        if self.members.is_empty() {
            return Err(SourceError::Io {
                what: "entering the network namespaces",
                source: std::io::Error::other("none could be entered"),
            });
        }
        Ok(())
    }

    /// The namespaces dumped, by inode.
    pub fn namespaces(&self) -> BTreeMap<u32, Arc<Netns>> {
        self.members
            .iter()
            .map(|(i, m)| (*i, m.netns.clone()))
            .collect()
    }

    /// A netlink sock_diag socket inside namespace `inode`, if it is one of those dumped.
    pub fn socket_of(&self, inode: u32) -> Option<rustix::fd::BorrowedFd<'_>> {
        self.members.get(&inode).and_then(|m| m.source.socket())
    }

    /// Namespaces seen but not entered, with the reason.
    pub fn refused(&self) -> impl Iterator<Item = (&Netns, &str)> {
        self.refused.values().map(|(n, why)| (&**n, why.as_str()))
    }

    /// Processes whose namespace could not be read.
    pub fn unreadable(&self) -> usize {
        self.unreadable
    }
}

/// A dump socket made inside the namespace `path` enters, on a thread of its own (which
/// ends, the socket staying in that namespace).
fn open_in(path: &Path) -> Result<SockDiagSource, String> {
    super::netns::enter_choice(&NetnsChoice::Path(path.to_path_buf()))
        .map_err(|e| e.to_string())?;
    SockDiagSource::open_one().map_err(|e| e.to_string())
}

/// The snapshot source `--netns` asks for: every namespace, or the one this thread is in.
pub fn open_for(
    choice: Option<&NetnsChoice>,
    kind: SourceKind,
) -> anyhow::Result<Box<dyn SnapshotSource>> {
    if choice != Some(&NetnsChoice::All) {
        return Ok(super::open_source(kind)?);
    }
    anyhow::ensure!(
        kind == SourceKind::Netlink,
        "--netns all reads netlink sock_diag: --source procfs reads one namespace"
    );
    Ok(Box::new(
        EveryNetns::open().map_err(|e| anyhow::anyhow!("--netns all: {e}"))?,
    ))
}

impl SnapshotSource for EveryNetns {
    fn kind(&self) -> SourceKind {
        SourceKind::Netlink
    }

    fn snapshot(
        &mut self,
        query: &Query,
        out: &mut Vec<SocketRecord>,
    ) -> Result<usize, SourceError> {
        if self.scanned.is_none_or(|t| t.elapsed() >= RESCAN) {
            self.rescan()?;
        }
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let mut members: Vec<&mut Member> = self.members.values_mut().collect();
        let per_thread = members.len().div_ceil(cores).max(1);
        let results: Vec<Result<(usize, Vec<SocketRecord>), SourceError>> =
            std::thread::scope(|scope| {
                let handles: Vec<_> = members
                    .chunks_mut(per_thread)
                    .map(|chunk| {
                        scope.spawn(move || {
                            let mut records = Vec::new();
                            let mut malformed = 0;
                            for m in chunk.iter_mut() {
                                // A namespace that went between the scan and now dumps
                                // empty; an error of one does not hide the others.
                                if let Ok(n) = m.source.snapshot(query, &mut records) {
                                    malformed += n;
                                }
                            }
                            Ok((malformed, records))
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or(Err(SourceError::Truncated)))
                    .collect()
            });
        let mut malformed = 0;
        for r in results {
            let (m, records) = r?;
            malformed += m;
            out.extend(records);
        }
        Ok(malformed)
    }

    fn namespaces(&self) -> Vec<Arc<Netns>> {
        self.members.values().map(|m| m.netns.clone()).collect()
    }
}
