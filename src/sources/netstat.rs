//! The namespace's own TCP counters (`/proc/thread-self/net/netstat`: the calling thread's
//! network namespace), read bounded.

use std::io::Read;

/// The most of the file read: it is a few kilobytes.
const MAX_BYTES: u64 = 64 * 1024;

/// A counter of the `TcpExt:` lines (e.g. `TCPTimeWaitOverflow`), if the file has it.
pub fn tcp_ext(name: &str) -> Option<u64> {
    let mut text = String::new();
    std::fs::File::open("/proc/thread-self/net/netstat")
        .ok()?
        .take(MAX_BYTES)
        .read_to_string(&mut text)
        .ok()?;
    counter(&text, "TcpExt:", name)
}

/// The value of `name` in the `group` header/value line pair of a netstat-format text.
fn counter(text: &str, group: &str, name: &str) -> Option<u64> {
    let mut lines = text.lines().filter(|l| l.starts_with(group));
    while let (Some(names), Some(values)) = (lines.next(), lines.next()) {
        let pos = names.split_whitespace().position(|n| n == name);
        if let Some(pos) = pos {
            return values.split_whitespace().nth(pos)?.parse().ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_counter_by_name() {
        let text = "TcpExt: SyncookiesSent TW TCPTimeWaitOverflow\nTcpExt: 0 38906 12\nIpExt: InNoRoutes\nIpExt: 4\n";
        assert_eq!(counter(text, "TcpExt:", "TCPTimeWaitOverflow"), Some(12));
        assert_eq!(counter(text, "TcpExt:", "TW"), Some(38906));
        assert_eq!(counter(text, "TcpExt:", "Nope"), None);
        assert_eq!(counter("TcpExt: TW\n", "TcpExt:", "TW"), None);
    }

    #[test]
    fn reads_this_namespace() {
        assert!(tcp_ext("TW").is_some());
    }
}
