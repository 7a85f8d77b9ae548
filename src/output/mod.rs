//! Headless output: the `ss`-like table and JSON.

pub mod json;
pub mod table;
pub mod transitions;

use crate::model::netns::Netns;
use crate::model::{Owner, SocketRecord};

/// One socket with its owners and namespace, as the outputs print it.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    pub socket: &'a SocketRecord,
    pub owners: &'a [Owner],
    /// Its namespace's names; `None`: only the socket's `netns` inode is known.
    pub netns: Option<&'a Netns>,
}

/// The table's optional columns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Columns {
    /// Process (pid, fd): what owns each socket.
    pub owners: bool,
    /// NETNS, first: the namespace's label, when several are shown.
    pub netns: bool,
    /// The State column coloured with these colours (ANSI SGR); `None`: plain text.
    pub state_colors: Option<crate::model::color::Palette>,
}
