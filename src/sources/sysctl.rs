//! The few kernel settings tcpscope explains with, read bounded from `/proc/sys` (of the
//! calling thread's network namespace, for the `net.` ones).

use std::io::Read;
use std::ops::RangeInclusive;

/// The ports the kernel picks a connecting socket's local port from
/// (`net.ipv4.ip_local_port_range`, IPv6 too).
pub fn ephemeral_ports() -> Option<RangeInclusive<u16>> {
    let mut text = String::new();
    std::fs::File::open("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()?
        .take(64)
        .read_to_string(&mut text)
        .ok()?;
    parse_port_range(&text)
}

/// `"32768\t60999\n"` → 32768..=60999; `None` for anything else.
fn parse_port_range(text: &str) -> Option<RangeInclusive<u16>> {
    let mut parts = text.split_whitespace().map(str::parse::<u16>);
    let (Some(Ok(low)), Some(Ok(high)), None) = (parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    (low <= high).then_some(low..=high)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_as_the_kernel_writes_it() {
        assert_eq!(parse_port_range("32768\t60999\n"), Some(32768..=60999));
        assert_eq!(parse_port_range("1024 65535"), Some(1024..=65535));
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in ["", "32768", "60999 32768", "1 2 3", "a b", "70000 80000"] {
            assert_eq!(parse_port_range(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn this_kernel_has_one() {
        let r = ephemeral_ports().expect("/proc/sys/net/ipv4/ip_local_port_range");
        assert!(r.start() >= &1, "{r:?}");
    }
}
