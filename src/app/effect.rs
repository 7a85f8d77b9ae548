//! Side effects the app asks for. The app only queues them; the main loop runs them (the one
//! place with I/O) and hands the outcome back with `App::on_effect_done`.

use crate::actions::lab::{ConnectSpec, LabId, ListenSpec};
use crate::model::{Owner, TcpState};
use crate::scenario::session::Progress;
use std::net::{Shutdown, SocketAddr};

/// Another process's socket, as the user picked it. The effect finds it again in a fresh
/// dump before acting (it may have changed since the screen was drawn).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Foreign {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub state: TcpState,
    pub inode: u64,
    /// Every process that holds it: a graceful shutdown goes through the first whose fd
    /// still is the socket.
    pub owners: std::sync::Arc<[Owner]>,
    /// The inode of its network namespace: the effect runs there.
    pub netns: u32,
    /// Its other end, as far as this host can tell: what the dialog says happens to it.
    pub peer: Peer,
}

/// The other end of a connection, as far as this host can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// A socket of this host (its namespace) has it, in this state.
    Here(TcpState),
    /// It was this host's and is gone: its socket closed (a ghost), or it was on the
    /// loopback and no socket has it any more. Nothing sent to it reaches a socket.
    Gone,
    /// On another host, or not known.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Lab(LabCall),
    /// SOCK_DESTROY, confirmed by the user.
    Abort(Foreign),
    /// pidfd_getfd + shutdown(SHUT_RDWR), confirmed by the user.
    GracefulShutdown(Foreign),
    /// The can-bind report for this address (bind and listen, no options), in the
    /// namespace with this inode (0: the view's own).
    CanBind(SocketAddr, u32),
    /// Plays the scenario's next step.
    ScenarioNext,
    /// Closes the scenario's sockets and starts it again.
    ScenarioRestart,
    /// Puts `text` on the terminal's clipboard (OSC 52); `what` names it for the status.
    Copy {
        text: String,
        what: &'static str,
    },
    /// Captures the mouse (clicks select, the wheel scrolls) or leaves it to the terminal
    /// (which then selects text).
    MouseCapture(bool),
}

/// A call on tcpscope's own lab sockets (no confirmation: they are its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabCall {
    Listen(ListenSpec),
    Connect(ConnectSpec),
    Accept(LabId),
    Send(LabId, Vec<u8>),
    Read(LabId),
    Shutdown(LabId, Shutdown),
    Close(LabId),
    CloseLinger0(LabId),
    Rebind {
        id: LabId,
        reuseaddr: bool,
        reuseport: bool,
    },
}

/// One lab socket as the app shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabEntry {
    pub id: LabId,
    pub listener: bool,
    pub open: bool,
    pub inode: u64,
    pub local: Option<SocketAddr>,
    pub reuseaddr: bool,
    pub reuseport: bool,
    /// `#2 client 127.0.0.1:40312 > 127.0.0.1:8080 (fd 9)`.
    pub text: String,
}

/// The lab as the app shows it: its sockets and call log (oldest first; failed calls marked).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabView {
    pub sockets: Vec<LabEntry>,
    pub log: Vec<(String, bool)>,
}

/// What came of an effect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EffectDone {
    /// One line for the status bar.
    pub status: String,
    pub ok: bool,
    /// A report to show in a window: title and lines.
    pub report: Option<(String, Vec<String>)>,
    /// The lab after a lab call.
    pub lab: Option<LabView>,
    /// The scenario after a step or a restart.
    pub scenario: Option<Progress>,
}
