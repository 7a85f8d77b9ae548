//! Tells the integration tests what this machine lets them do: whether they run as root, and
//! which outside tools are installed. A test that needs what is missing is marked ignored,
//! with the reason (`#[cfg_attr(not(…), ignore = "…")]`), so that `cargo test` counts it apart
//! from the tests that passed instead of letting it pass empty. Reruns when the user or PATH
//! changes; after installing a tool, `touch build.rs`.

/// The tools tests call, and the cfg each sets (`tcpscope_test_has_<name>`, `-` as `_`).
const TOOLS: [&str; 20] = [
    "ip",
    "ss",
    "tmux",
    "setpriv",
    "setcap",
    "nginx",
    "haproxy",
    "redis-server",
    "redis-benchmark",
    "wrk",
    "curl",
    "tcpstates",
    "tc",
    "python3",
    "bpftool",
    "podman",
    "runc",
    "busybox",
    "bash",
    "man",
];

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    for var in ["PATH", "USER", "LOGNAME", "SUDO_UID"] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    println!("cargo::rustc-check-cfg=cfg(tcpscope_test_root)");
    if effective_uid() == Some(0) {
        println!("cargo::rustc-cfg=tcpscope_test_root");
    }
    // Tests that run a binary as nobody (setpriv) need every directory above it open to
    // others: a checkout under a 0700 home is not.
    println!("cargo::rustc-check-cfg=cfg(tcpscope_test_as_nobody)");
    let out_dir = std::env::var_os("OUT_DIR").map(std::path::PathBuf::from);
    if effective_uid() == Some(0)
        && on_path("setpriv")
        && out_dir.is_some_and(|d| others_can_enter(&d))
    {
        println!("cargo::rustc-cfg=tcpscope_test_as_nobody");
    }
    // ::1 on the loopback (a kernel booted with ipv6.disable=1 has none).
    println!("cargo::rustc-check-cfg=cfg(tcpscope_test_ipv6)");
    if std::fs::read_to_string("/proc/net/if_inet6").is_ok_and(|t| {
        t.lines()
            .any(|l| l.starts_with("00000000000000000000000000000001"))
    }) {
        println!("cargo::rustc-cfg=tcpscope_test_ipv6");
    }
    for tool in TOOLS {
        let cfg = format!("tcpscope_test_has_{}", tool.replace('-', "_"));
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        if on_path(tool) {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
}

/// The effective uid, from /proc/self/status (`Uid: real effective saved fs`).
fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// Whether every directory from `/` down to `dir` lets others through (o+x).
fn others_can_enter(dir: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    dir.ancestors()
        .all(|d| std::fs::metadata(d).is_ok_and(|m| m.permissions().mode() & 0o001 != 0))
}

fn on_path(tool: &str) -> bool {
    let dirs = std::env::var_os("PATH").unwrap_or_default();
    // Root's tools (ip, tc, setcap) are in the sbin directories, on root's PATH only.
    let extra = ["/usr/sbin", "/sbin"].map(std::path::PathBuf::from);
    std::env::split_paths(&dirs).chain(extra).any(|dir| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(dir.join(tool))
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}
