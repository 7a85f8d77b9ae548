//! The actors of a scenario: where each one's socket lives, who it is as far as the tracker can
//! tell, and what its calls gave. Shared by the player (which makes them) and the checks
//! (which read them).

use super::format::Read;
use crate::actions::lab::LabId;
use std::net::SocketAddr;

/// Who an actor's socket is, as far as the tracker can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ident {
    pub listener: bool,
    pub local: Option<std::net::SocketAddr>,
    pub remote: Option<std::net::SocketAddr>,
    pub inode: u64,
}

impl Ident {
    /// Whether the connection with these ends and inode is this actor's. A listener is known
    /// by its inode (another listener may take its address later); by its address only while
    /// the connection's inode is not known yet.
    pub fn owns(
        &self,
        local: std::net::SocketAddr,
        remote: std::net::SocketAddr,
        inode: u64,
    ) -> bool {
        if self.listener {
            (self.inode != 0 && inode == self.inode)
                || (inode == 0 && Some(local) == self.local && remote.port() == 0)
        } else {
            Some(local) == self.local && Some(remote) == self.remote
        }
    }
}

/// Where an actor's socket lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Home {
    Lab(LabId),
    Foreign(LabId),
    /// Named by `connect … as` but not accepted yet: it waits in the listener's queue.
    Queued,
    /// No socket any more: a connect() that failed (the socket was closed). Its transitions
    /// can still be told apart when its address was given (`from=`).
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub home: Home,
    pub listener: bool,
    pub foreign: bool,
    pub local: Option<SocketAddr>,
    pub remote: Option<SocketAddr>,
    pub inode: u64,
    pub fd: i32,
}

impl Actor {
    pub fn ident(&self) -> Ident {
        Ident {
            listener: self.listener,
            local: self.local,
            remote: self.remote,
            inode: self.inode,
        }
    }
}

/// What one call gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallResult {
    pub actor: Option<String>,
    pub call: String,
    /// The errno name when it failed.
    pub errno: Option<String>,
    pub read: Option<Read>,
}
