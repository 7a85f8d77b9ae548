//! The process that holds a socket through one of its file descriptors.

use serde::Serialize;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Owner {
    pub pid: i32,
    /// The process name (`/proc/PID/comm`), shared by every socket of the process.
    pub comm: Arc<str>,
    /// The command line, arguments joined by spaces, shared likewise.
    pub cmdline: Arc<str>,
    /// The fd number in that process.
    pub fd: i32,
}

impl Owner {
    /// `nginx/4242`, its name made safe for a terminal.
    pub fn label(&self) -> String {
        format!(
            "{}/{}",
            super::safe_text::for_terminal(&self.comm),
            self.pid
        )
    }
}
