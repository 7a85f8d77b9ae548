//! errno numbers as names, and what each means for the call that returned it. The generic
//! text is the C library's; the per-call text says what it means for TCP, here.

/// The system call an errno came from, for its meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Socket,
    Setsockopt,
    Bind,
    Listen,
    Connect,
    Accept,
    Send,
    Recv,
    Shutdown,
    Close,
}

/// The errno's symbolic name (`EADDRINUSE`), or `E<number>` for one not listed.
pub fn name(code: i32) -> String {
    let known = match code {
        1 => "EPERM",
        2 => "ENOENT",
        3 => "ESRCH",
        4 => "EINTR",
        9 => "EBADF",
        11 => "EAGAIN",
        12 => "ENOMEM",
        13 => "EACCES",
        22 => "EINVAL",
        23 => "ENFILE",
        24 => "EMFILE",
        32 => "EPIPE",
        38 => "ENOSYS",
        88 => "ENOTSOCK",
        92 => "ENOPROTOOPT",
        95 => "EOPNOTSUPP",
        97 => "EAFNOSUPPORT",
        98 => "EADDRINUSE",
        99 => "EADDRNOTAVAIL",
        100 => "ENETDOWN",
        101 => "ENETUNREACH",
        103 => "ECONNABORTED",
        104 => "ECONNRESET",
        105 => "ENOBUFS",
        106 => "EISCONN",
        107 => "ENOTCONN",
        110 => "ETIMEDOUT",
        111 => "ECONNREFUSED",
        113 => "EHOSTUNREACH",
        114 => "EALREADY",
        115 => "EINPROGRESS",
        _ => "",
    };
    if known.is_empty() {
        format!("E{code}")
    } else {
        known.to_string()
    }
}

/// What the errno means for this call, in TCP terms.
pub fn meaning(call: Call, code: i32) -> &'static str {
    use Call::*;
    match (call, code) {
        (Bind, 98) => {
            "another socket holds this address and port in a way these options cannot share: a live listener (blocks every bind), or a connection or TIME_WAIT without SO_REUSEADDR on both sockets"
        }
        (Listen, 98) => {
            "another socket listens on this address and port (bind succeeded because both set SO_REUSEADDR, but only one may listen unless both use SO_REUSEPORT with the same uid)"
        }
        (Connect, 98) => "the local address chosen with bind() is taken for this destination",
        (Bind, 99) => "the address is not one of this host's (in this network namespace)",
        (Connect, 99) => {
            "no local port is left for this destination (every ephemeral port's 4-tuple is in use, TIME_WAITs included), or the source address is not this host's"
        }
        (Bind, 13) => {
            "ports below 1024 need root or CAP_NET_BIND_SERVICE (see net.ipv4.ip_unprivileged_port_start)"
        }
        (Bind, 22) => "the socket is already bound, or the address is malformed",
        (Listen, 22) => {
            "the socket is connected or connecting; only an unconnected socket can listen"
        }
        (Connect, 111) => "nobody listens there: the peer answered our SYN with a RST",
        (Connect, 110) => {
            "no answer to our SYNs (a firewall dropping them, or the accept queue full)"
        }
        (Connect, 106) => "the socket is already connected",
        (Connect, 114 | 115) => "a connect() is already under way",
        (Connect, 101 | 113) => "no route to that address",
        (Accept, 11) => "the accept queue is empty: no connection has completed its handshake",
        (Accept, 22) => {
            "the socket is not listening (never was, shut down for reading, or aborted with SOCK_DESTROY)"
        }
        (Send, 32) => {
            "this end can no longer send: it shut down writing, or the peer reset the connection (its first answer to data after it closed is a RST)"
        }
        (Send | Recv, 104) => {
            "the peer reset the connection (RST): it closed with unread data, with SO_LINGER 0, or had already closed"
        }
        (Send | Recv, 103) => "the connection was aborted locally (SOCK_DESTROY, e.g. `ss -K`)",
        (Send | Recv, 107) => "the socket is not connected (a listener, or never connected)",
        (Shutdown, 107) => {
            "the socket is not connected (never connected, or already closed by a reset)"
        }
        (Send, 11) => "the send buffer is full: the peer is not reading",
        (Recv, 11) => "nothing to read yet",
        (Send | Recv, 110) => {
            "the connection timed out (retransmissions or keepalives went unanswered)"
        }
        (Setsockopt, 22) => "the option cannot be set on a socket in this state",
        (_, 1 | 13) => "not permitted",
        (_, 9) => "the file descriptor is not open",
        (_, 24) => "too many open files in this process (RLIMIT_NOFILE)",
        _ => "see errno(3)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_table_and_unknown_ones_stay_numbers() {
        assert_eq!(name(98), "EADDRINUSE");
        assert_eq!(name(32), "EPIPE");
        assert_eq!(name(4095), "E4095");
        assert!(meaning(Call::Connect, 111).contains("RST"));
        // What tests/integration/foreign_sockets.rs and tests/integration/lab_actions.rs show.
        assert!(meaning(Call::Accept, 22).contains("aborted"));
        assert!(meaning(Call::Send, 32).contains("RST"));
        assert_eq!(meaning(Call::Bind, 4095), "see errno(3)");
    }
}
