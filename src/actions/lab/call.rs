//! The lab's call log: every system call a lab action made, with its arguments and result.

use crate::actions::errno;

/// What a call returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It succeeded; the text says what it returned (`= 0`, `= fd 7`, `= 5 bytes`).
    Ok(String),
    /// It failed with this errno.
    Err(Errno),
}

/// A failed call's errno, by name, with what it means for this call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Errno {
    pub code: i32,
    pub name: String,
    pub meaning: &'static str,
}

impl Errno {
    pub fn of(call: errno::Call, e: &std::io::Error) -> Errno {
        // socket2's connect_timeout() gives up on its own poll() timeout with an error of kind
        // TimedOut and no OS code: that is ETIMEDOUT.
        let code = e.raw_os_error().unwrap_or(match e.kind() {
            std::io::ErrorKind::TimedOut => 110,
            _ => 0,
        });
        Errno {
            code,
            name: errno::name(code),
            meaning: errno::meaning(call, code),
        }
    }
}

/// One line of the call log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    /// `CLOCK_MONOTONIC` when the call returned.
    pub ts_ns: u64,
    /// The lab socket it was made on (the new one for socket()).
    pub socket: u32,
    /// The call as C would write it: `bind(7, 127.0.0.1:8080)`.
    pub call: String,
    pub outcome: Outcome,
}

impl CallRecord {
    /// One line: `#2 bind(7, 127.0.0.1:8080) = -1 EADDRINUSE: …`.
    pub fn line(&self) -> String {
        match &self.outcome {
            Outcome::Ok(what) => format!("#{} {} {what}", self.socket, self.call),
            Outcome::Err(e) => format!(
                "#{} {} = -1 {}: {}",
                self.socket, self.call, e.name, e.meaning
            ),
        }
    }
}
