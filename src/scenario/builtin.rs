//! The scenarios shipped with tcpscope, from `assets/scenarios/`, built in.

use super::format::{FormatError, Scenario, parse};

/// (file name, text), in teaching order.
pub const FILES: &[(&str, &str)] = &[(
    "active-close-client.toml",
    include_str!("../../assets/scenarios/active-close-client.toml"),
)];

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
