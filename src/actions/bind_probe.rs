//! Throwaway sockets that try bind() (and listen()) with chosen options, the way a server
//! would, and close at once. Options are set one setsockopt call each (never OR-ed: the names
//! are numbers, and SO_REUSEADDR | SO_REUSEPORT is 2 | 15 = 15, which is just SO_REUSEPORT).

use super::errno;
use serde::Serialize;
use socket2::{Domain, Socket, Type};
use std::net::SocketAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BindOptions {
    pub reuseaddr: bool,
    pub reuseport: bool,
}

impl BindOptions {
    pub const ALL: [BindOptions; 4] = [
        BindOptions {
            reuseaddr: false,
            reuseport: false,
        },
        BindOptions {
            reuseaddr: true,
            reuseport: false,
        },
        BindOptions {
            reuseaddr: false,
            reuseport: true,
        },
        BindOptions {
            reuseaddr: true,
            reuseport: true,
        },
    ];

    pub fn describe(self) -> &'static str {
        match (self.reuseaddr, self.reuseport) {
            (false, false) => "no option",
            (true, false) => "SO_REUSEADDR",
            (false, true) => "SO_REUSEPORT",
            (true, true) => "SO_REUSEADDR and SO_REUSEPORT (two setsockopt calls)",
        }
    }
}

/// The system call that failed and its errno.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub call: &'static str,
    pub errno: String,
    pub meaning: String,
}

/// Tries `bind(addr)` with `opts`, then `listen()` if asked; closes the socket either way.
pub fn probe(addr: SocketAddr, opts: BindOptions, listen: bool) -> Result<(), Failure> {
    let fail = |call: &'static str, e: std::io::Error| {
        let code = e.raw_os_error().unwrap_or(0);
        let kind = match call {
            "bind" => errno::Call::Bind,
            "listen" => errno::Call::Listen,
            "socket" => errno::Call::Socket,
            _ => errno::Call::Setsockopt,
        };
        Failure {
            call,
            errno: errno::name(code),
            meaning: errno::meaning(kind, code).to_string(),
        }
    };
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)
        .map_err(|e| fail("socket", e))?;
    if opts.reuseaddr {
        socket
            .set_reuse_address(true)
            .map_err(|e| fail("setsockopt(SO_REUSEADDR)", e))?;
    }
    if opts.reuseport {
        socket
            .set_reuse_port(true)
            .map_err(|e| fail("setsockopt(SO_REUSEPORT)", e))?;
    }
    socket.bind(&addr.into()).map_err(|e| fail("bind", e))?;
    if listen {
        socket.listen(1).map_err(|e| fail("listen", e))?;
    }
    Ok(())
}
