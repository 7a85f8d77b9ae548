//! The teardown lab: scenarios of socket calls by named actors, played on real sockets in a
//! network namespace of their own, observed through the tracker, and checked against what
//! Linux does.

pub mod builtin;
pub mod check;
pub mod foreign;
pub mod format;
pub mod observer;
pub mod player;
pub mod run;
pub mod script;

/// Runs an outside tool (`ip`, `tc`) to its end; its stderr becomes the error.
pub fn run_tool<S: AsRef<std::ffi::OsStr> + std::fmt::Display>(
    tool: &str,
    args: &[S],
) -> Result<(), String> {
    let out = std::process::Command::new(tool)
        .args(args)
        .output()
        .map_err(|e| format!("{tool}: {e} (iproute2 has ip and tc)"))?;
    if out.status.success() {
        Ok(())
    } else {
        let line: Vec<String> = args.iter().map(ToString::to_string).collect();
        Err(format!(
            "{tool} {}: {}",
            line.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
