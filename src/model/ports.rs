//! Which end of a connection is the client's, told from its ports alone: the kernel gives a
//! connecting socket its local port from the ephemeral range (`net.ipv4.ip_local_port_range`),
//! and servers listen outside it. A guess for when nothing better is known (no listener, no
//! handshake seen), and said to be one where it is shown.

use std::ops::RangeInclusive;

/// The kernel's default `net.ipv4.ip_local_port_range`.
pub const DEFAULT_EPHEMERAL: RangeInclusive<u16> = 32768..=60999;

/// Which end the ports say this one is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Its local port is a server's: outside the ephemeral range, the peer's inside.
    Server,
    /// Its local port was picked for a client: inside the range, the peer's outside.
    Client,
    /// Both inside or both outside: the ports do not say.
    Unknown,
}

pub fn side_by_ports(local: u16, remote: u16, ephemeral: &RangeInclusive<u16>) -> Side {
    match (ephemeral.contains(&local), ephemeral.contains(&remote)) {
        (false, true) => Side::Server,
        (true, false) => Side::Client,
        _ => Side::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ephemeral_end_is_the_clients() {
        let r = DEFAULT_EPHEMERAL;
        assert_eq!(side_by_ports(7100, 34912, &r), Side::Server);
        assert_eq!(side_by_ports(34912, 7100, &r), Side::Client);
        assert_eq!(side_by_ports(40000, 50000, &r), Side::Unknown);
        assert_eq!(side_by_ports(22, 8080, &r), Side::Unknown);
    }
}
