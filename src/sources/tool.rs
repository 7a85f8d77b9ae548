//! Running the outside tools tcpscope leans on (`ip`, `tc`).

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
        // The first line says what went wrong; tc goes on with its usage text.
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first: String = stderr
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("failed")
            .chars()
            .take(200)
            .collect();
        Err(format!("{tool} {}: {first}", line.join(" ")))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_tool_failure_is_one_line() {
        let e = super::run_tool(
            "sh",
            &[
                "-c",
                "echo out; echo 'Error: bad' >&2; echo usage >&2; exit 1",
            ],
        )
        .unwrap_err();
        assert_eq!(
            e,
            "sh -c echo out; echo 'Error: bad' >&2; echo usage >&2; exit 1: Error: bad"
        );
    }
}
