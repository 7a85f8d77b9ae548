//! The kernel event sources clean up after themselves: the tracefs instance is gone after a normal
//! end and after SIGTERM, and instances left by crashed runs are removed on start. Needs root.

#![allow(clippy::unwrap_used)] // Tests fail loudly by design.

mod common;

use common::{Reaped, require_root, wait_until};
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

fn instance_of(pid: u32) -> PathBuf {
    instances().join(format!("tcpscope-{pid}"))
}

/// The tests share tracefs; one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn stale_instances_are_removed_and_our_own_on_exit() {
    if !require_root("stale_instances_are_removed_and_our_own_on_exit") {
        return;
    }
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
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
    let child = Command::new(env!("CARGO_BIN_EXE_tcpscope"))
        .args(["watch", "--events", "tracefs", "--duration", "0.5"])
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(!stale.exists(), "the stale instance is still there");
    assert!(
        !instance_of(pid).exists(),
        "our own instance is still there"
    );
}

#[test]
fn sigterm_ends_watch_and_removes_its_instance() {
    if !require_root("sigterm_ends_watch_and_removes_its_instance") {
        return;
    }
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut child = Reaped(
        Command::new(env!("CARGO_BIN_EXE_tcpscope"))
            .args(["watch", "--events", "tracefs"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let dir = instance_of(child.0.id());
    assert!(wait_until(Duration::from_secs(10), || Path::new(&dir)
        .join("trace_clock")
        .exists()));
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
fn ebpf_programs_go_with_the_process() {
    if !require_root("ebpf_programs_go_with_the_process") {
        return;
    }
    if Command::new("bpftool").arg("version").output().is_err() {
        println!(
            "skipped ebpf_programs_go_with_the_process: bpftool (Debian package bpftool) missing"
        );
        return;
    }
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
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
