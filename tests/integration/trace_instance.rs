//! The kernel event sources clean up after themselves: the tracefs instance is gone after a normal
//! end and after SIGTERM, and instances left by crashed runs are removed on start. Needs root.

use crate::common;

use common::{Reaped, wait_until};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn instances() -> PathBuf {
    [
        "/sys/kernel/tracing/instances",
        "/sys/kernel/debug/tracing/instances",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_dir())
    .unwrap_or_else(|| PathBuf::from("/sys/kernel/tracing/instances"))
}

/// The instance of process `pid`: `tcpscope-PID-START` (PID and start time).
fn instance_of(pid: u32) -> PathBuf {
    let prefix = format!("tcpscope-{pid}-");
    std::fs::read_dir(instances())
        .ok()
        .and_then(|dir| {
            dir.flatten()
                .find(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .map(|e| e.path())
        })
        .unwrap_or_else(|| instances().join(format!("tcpscope-{pid}-none")))
}

#[test]
#[cfg_attr(not(tcpscope_test_root), ignore = "needs root: tracefs instances")]
fn stale_instances_are_removed_and_our_own_on_exit() {
    let _host = crate::common::host::alone();
    // Make sure tracefs is mounted (tcpscope mounts it when it is not).
    let first = Command::new(env!("CARGO_BIN_EXE_tcpscope"))
        .args(["watch", "--events", "tracefs", "--duration", "0.2"])
        .output()
        .unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    // A pid above the kernel's pid_max is never alive.
    let stale = instances().join("tcpscope-4194305");
    std::fs::create_dir(&stale).unwrap();
    // This test's own PID with another start time: a process that got a dead run's PID.
    let reused = instances().join(format!("tcpscope-{}-1", std::process::id()));
    std::fs::create_dir(&reused).unwrap();
    // Not a name tcpscope makes: not ours to remove.
    let not_ours = instances().join("tcpscope-foo");
    let _ = std::fs::create_dir(&not_ours);
    let child = Command::new(env!("CARGO_BIN_EXE_tcpscope"))
        .args(["watch", "--events", "tracefs", "--duration", "0.5"])
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(!stale.exists(), "the stale instance is still there");
    assert!(
        !reused.exists(),
        "the instance of a reused PID is still there"
    );
    let kept = not_ours.exists();
    let _ = std::fs::remove_dir(&not_ours);
    assert!(kept, "an instance that is not ours was removed");
    assert!(
        !instance_of(pid).exists(),
        "our own instance is still there"
    );
}

#[test]
#[cfg_attr(not(tcpscope_test_root), ignore = "needs root: tracefs instances")]
fn sigterm_ends_watch_and_removes_its_instance() {
    let _host = crate::common::host::alone();
    let mut child = Reaped(
        Command::new(env!("CARGO_BIN_EXE_tcpscope"))
            .args(["watch", "--events", "tracefs"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut dir = PathBuf::new();
    assert!(wait_until(Duration::from_secs(10), || {
        dir = instance_of(child.0.id());
        Path::new(&dir).join("trace_clock").exists()
    }));
    terminate(&child.0);
    let status = child.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(!dir.exists(), "{} is still there", dir.display());
}

fn terminate(child: &std::process::Child) {
    let pid = rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
}

/// How many eBPF programs with our program's name are loaded, as bpftool lists them.
fn our_programs() -> usize {
    let out = Command::new("bpftool")
        .args(["prog", "list", "--json"])
        .output()
        .expect("bpftool");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v.as_array().map_or(0, |all| {
        all.iter().filter(|p| p["name"] == "set_state").count()
    })
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_bpftool)),
    ignore = "needs root and bpftool (Debian package bpftool): the kernel's list of programs"
)]
fn ebpf_programs_go_with_the_process() {
    let _host = crate::common::host::alone();
    let before = our_programs();
    let mut child = Reaped(
        Command::new(env!("CARGO_BIN_EXE_tcpscope"))
            .args(["watch", "--events", "bpf"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    assert!(
        wait_until(Duration::from_secs(10), || our_programs() > before),
        "the program never showed in bpftool"
    );
    terminate(&child.0);
    let status = child.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(
        wait_until(Duration::from_secs(5), || our_programs() == before),
        "programs left loaded"
    );
}
