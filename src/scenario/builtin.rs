//! The scenarios shipped with tcpscope, from `assets/scenarios/`, built in.

use super::format::{FormatError, Scenario, parse};

/// (file name, text), in teaching order.
pub const FILES: &[(&str, &str)] = &[
    (
        "active-close-client.toml",
        include_str!("../../assets/scenarios/active-close-client.toml"),
    ),
    (
        "server-restart-fails.toml",
        include_str!("../../assets/scenarios/server-restart-fails.toml"),
    ),
    (
        "server-restart-reuseaddr.toml",
        include_str!("../../assets/scenarios/server-restart-reuseaddr.toml"),
    ),
    (
        "port-held-by-listener.toml",
        include_str!("../../assets/scenarios/port-held-by-listener.toml"),
    ),
    (
        "reuseport-pair.toml",
        include_str!("../../assets/scenarios/reuseport-pair.toml"),
    ),
    (
        "half-close.toml",
        include_str!("../../assets/scenarios/half-close.toml"),
    ),
    (
        "simultaneous-close.toml",
        include_str!("../../assets/scenarios/simultaneous-close.toml"),
    ),
    (
        "rst-linger0.toml",
        include_str!("../../assets/scenarios/rst-linger0.toml"),
    ),
    (
        "close-unread-data.toml",
        include_str!("../../assets/scenarios/close-unread-data.toml"),
    ),
    (
        "write-after-peer-closed.toml",
        include_str!("../../assets/scenarios/write-after-peer-closed.toml"),
    ),
    (
        "close-wait-leak.toml",
        include_str!("../../assets/scenarios/close-wait-leak.toml"),
    ),
    (
        "fin-wait2-timeout.toml",
        include_str!("../../assets/scenarios/fin-wait2-timeout.toml"),
    ),
    (
        "accept-queue-overflow.toml",
        include_str!("../../assets/scenarios/accept-queue-overflow.toml"),
    ),
    (
        "abort-foreign.toml",
        include_str!("../../assets/scenarios/abort-foreign.toml"),
    ),
    (
        "shutdown-foreign.toml",
        include_str!("../../assets/scenarios/shutdown-foreign.toml"),
    ),
    (
        "time-wait-expiry.toml",
        include_str!("../../assets/scenarios/time-wait-expiry.toml"),
    ),
];

/// Every built-in scenario, parsed.
pub fn all() -> Result<Vec<Scenario>, FormatError> {
    FILES
        .iter()
        .map(|(file, text)| parse(&format!("assets/scenarios/{file}"), text))
        .collect()
}

/// The built-in scenario called `name`.
pub fn find(name: &str) -> Result<Option<Scenario>, FormatError> {
    Ok(all()?.into_iter().find(|s| s.name == name))
}
