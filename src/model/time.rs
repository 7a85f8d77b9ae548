//! Time, as tcpscope keeps it: an instant is nanoseconds of CLOCK_MONOTONIC in a `u64`
//! named `*_ns`, as every kernel source dates its records (tracepoints, the eBPF ring,
//! `sources::monotonic_ns`); a span (a setting, a timeout) is a `Duration`. This is where
//! the two meet.

use std::time::Duration;

/// A span in nanoseconds, saturating (584 years fit; a larger setting means "never").
pub fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_convert_and_saturate() {
        assert_eq!(nanos(Duration::from_millis(1500)), 1_500_000_000);
        assert_eq!(nanos(Duration::MAX), u64::MAX);
    }
}
