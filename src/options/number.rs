//! Numbers on the command line, refused in words a user reads ("a port is a whole number from
//! 1 to 65535") instead of Rust's parse errors ("invalid digit found in string").

use std::fmt::Display;
use std::str::FromStr;

fn within<T: FromStr + PartialOrd + Display>(
    s: &str,
    lo: T,
    hi: T,
    what: &str,
) -> Result<T, String> {
    match s.parse::<T>() {
        Ok(v) if lo <= v && v <= hi => Ok(v),
        _ => Err(format!("{what} is a whole number from {lo} to {hi}")),
    }
}

/// A port to match (0 matches a listener's unset peer port).
pub fn port(s: &str) -> Result<u16, String> {
    within(s, 0, u16::MAX, "a port")
}

/// A port a server could bind (not 0, which asks the kernel to pick one).
pub fn server_port(s: &str) -> Result<u16, String> {
    // `ss` habits: ADDR:PORT. Said how to write it rather than refused as a bad number.
    if let Ok(addr) = s.parse::<std::net::SocketAddr>() {
        return Err(format!(
            "give the port, and the address with --addr: can-bind {} --addr {}",
            addr.port(),
            addr.ip()
        ));
    }
    within(s, 1, u16::MAX, "a port to bind")
}

/// A process id.
pub fn pid(s: &str) -> Result<i32, String> {
    within(s, 1, i32::MAX, "a pid")
}

/// The time between two snapshots, in milliseconds.
pub fn interval_ms(s: &str) -> Result<u64, String> {
    within(s, 10, 3_600_000, "the interval in milliseconds")
}

/// How long a closed connection stays on screen, in seconds (0: not at all).
pub fn ghost_secs(s: &str) -> Result<u64, String> {
    within(s, 0, 86_400, "the ghost time in seconds")
}

/// Seconds between two full dumps while kernel events run.
pub fn full_every(s: &str) -> Result<u64, String> {
    within(s, 1, 3600, "--full-every (seconds)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_number_is_refused_in_words() {
        assert_eq!(
            server_port("abc").unwrap_err(),
            "a port to bind is a whole number from 1 to 65535"
        );
        assert_eq!(
            server_port("127.0.0.1:8089").unwrap_err(),
            "give the port, and the address with --addr: can-bind 8089 --addr 127.0.0.1"
        );
        assert_eq!(
            server_port("[::1]:80").unwrap_err(),
            "give the port, and the address with --addr: can-bind 80 --addr ::1"
        );
        for bad in ["0", "65536", "-1", "8o80", "", " 80"] {
            assert!(server_port(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            interval_ms("5").unwrap_err(),
            "the interval in milliseconds is a whole number from 10 to 3600000"
        );
        assert!(pid("0").is_err() && pid("-4").is_err());
    }

    #[test]
    fn good_numbers_pass() {
        assert_eq!(server_port("8080"), Ok(8080));
        assert_eq!(port("0"), Ok(0));
        assert_eq!(interval_ms("200"), Ok(200));
        assert_eq!(ghost_secs("0"), Ok(0));
        assert_eq!(full_every("3600"), Ok(3600));
        assert_eq!(pid("4242"), Ok(4242));
    }
}
