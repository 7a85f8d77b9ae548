//! The teardown lab's scenarios, played by the real binary: all of them pass (as root every
//! transition of both ends is checked from kernel events), a wrong expectation fails with a
//! diff, a malformed file names its line, and an unprivileged run says what it skips.

use crate::common;

use common::{is_root, tcpscope, tcpscope_as_nobody};
use serde_json::Value;
use std::process::Command;

const EXAMPLE: &str = include_str!("../../assets/scenarios/active-close-client.toml");

/// One scenario run at a time: scenarios in different namespaces use the same addresses, and
/// kernel events do not say which namespace they come from (see `scenario::check::by_actor`).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A scenario file of this test's, removed on drop.
struct TempFile(std::path::PathBuf);

impl TempFile {
    fn new(tag: &str, text: &str) -> TempFile {
        let path = std::env::temp_dir().join(format!("tcpscope-{tag}-{}.toml", std::process::id()));
        std::fs::write(&path, text).unwrap();
        TempFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn every_built_in_scenario_is_listed_and_every_file_is_built_in() {
    let _host = crate::common::host::shared();
    let out = tcpscope(&["lab", "list"]);
    assert!(out.status.success());
    let listed = String::from_utf8_lossy(&out.stdout);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/scenarios");
    let mut files = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let stem = name.strip_suffix(".toml").unwrap();
        assert!(
            listed
                .lines()
                .any(|l| l.split_whitespace().next() == Some(stem)),
            "{name} is not built in (src/scenario/builtin.rs):\n{listed}"
        );
        files += 1;
    }
    assert_eq!(listed.lines().count(), files);
    assert!(
        files >= 14,
        "the first plan's 14 scenarios at least, {files} found"
    );
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip)),
    ignore = "needs root and ip (iproute2): scenarios in namespaces of their own"
)]
fn every_scenario_passes_with_both_ends_observed() {
    let _host = crate::common::host::shared();
    let _serial = serial();
    let out = tcpscope(&["lab", "run", "--all", "--json"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let reports: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let failed: Vec<&str> = reports
        .iter()
        .filter(|r| r["pass"] != true)
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(
        failed.is_empty() && out.status.success(),
        "failed: {failed:?}\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut total_ms = 0;
    for r in &reports {
        let name = r["name"].as_str().unwrap();
        assert_eq!(r["mode"], "traced", "{name}");
        assert!(r["skipped"].is_null(), "{name}");
        total_ms += r["took_ms"].as_u64().unwrap();
        // Both ends: at least two actors were seen changing state, and every step reports
        // the expected and observed transitions of every actor known by then.
        let mut seen_actors = std::collections::HashSet::new();
        for step in r["steps"].as_array().unwrap() {
            for (actor, a) in step["actors"].as_object().unwrap() {
                let expected = a["expected"].as_array().unwrap();
                let observed = a["observed"].as_array().unwrap();
                assert_eq!(
                    expected.len(),
                    observed.len(),
                    "{name} step {}: {actor}",
                    step["step"]
                );
                for (e, o) in expected.iter().zip(observed) {
                    assert!(
                        o.as_str().unwrap().starts_with(e.as_str().unwrap()),
                        "{name}: {e} vs {o}"
                    );
                }
                if !observed.is_empty() {
                    seen_actors.insert(actor.clone());
                }
            }
        }
        assert!(
            seen_actors.len() >= 2,
            "{name}: only {seen_actors:?} observed"
        );
    }
    println!(
        "lab run --all: {} scenarios in {:.1} s",
        reports.len(),
        total_ms as f64 / 1000.0
    );
}

#[test]
fn a_wrong_expectation_fails_with_a_clear_diff() {
    let _host = crate::common::host::shared();
    let _serial = serial();
    // The client really enters TIME_WAIT in the last step; say CLOSE_WAIT instead.
    let wrong = EXAMPLE.replace(
        r#"expect = { client = ["TIME_WAIT"]"#,
        r#"expect = { client = ["CLOSE_WAIT"]"#,
    );
    assert_ne!(wrong, EXAMPLE);
    let file = TempFile::new("wrong", &wrong);
    let out = tcpscope(&["lab", "run", "--file", file.path()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.starts_with("FAIL active-close-client"), "{stdout}");
    assert!(
        stdout.contains("✗ client: expected [CLOSE_WAIT], observed [TIME_WAIT ("),
        "{stdout}"
    );
    // The other steps still pass: only the wrong one is flagged.
    assert_eq!(stdout.matches("  FAIL ").count(), 1, "{stdout}");

    // And a wrong errno: the listen succeeds, the file says it fails.
    let wrong = EXAMPLE.replacen(
        "expect = { listener = [\"LISTEN\"] }",
        "expect = { listener = [\"LISTEN\"] }\nerrno = { listener = \"EADDRINUSE\" }",
        1,
    );
    let file = TempFile::new("errno", &wrong);
    let out = tcpscope(&["lab", "run", "--file", file.path()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("✗ listen listener 127.0.0.1:8080: expected EADDRINUSE, got success"),
        "{stdout}"
    );
}

#[test]
fn a_malformed_file_gives_its_name_and_line() {
    let _host = crate::common::host::shared();
    let bad = EXAMPLE.replace(r#"do = ["close client"]"#, r#"do = ["close klient"]"#);
    let file = TempFile::new("malformed", &bad);
    let out = tcpscope(&["lab", "run", "--file", file.path()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let line = EXAMPLE
        .lines()
        .position(|l| l.contains(r#"do = ["close client"]"#))
        .unwrap();
    // The error points at the step's [[step]] line, just above.
    assert!(
        stderr.starts_with(&format!("tcpscope: {}:{}: ", file.path(), line)),
        "{stderr}"
    );
    assert!(stderr.contains("klient"), "{stderr}");
    let out = tcpscope(&["lab", "run", "no-such-scenario"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn unprivileged_runs_check_what_they_can_and_skip_the_rest() {
    let _host = crate::common::host::shared();
    let _serial = serial();
    let run = |args: &[&str]| {
        if is_root() {
            tcpscope_as_nobody(args)
        } else {
            tcpscope(args)
        }
    };
    let out = run(&["lab", "run", "active-close-client"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("PASS active-close-client"), "{stdout}");
    assert!(stdout.contains("(inferred,"), "{stdout}");
    assert!(
        stdout.contains("not checked: the full sequences"),
        "{stdout}"
    );
    let out = run(&["lab", "run", "abort-foreign"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.starts_with("SKIP abort-foreign"), "{stdout}");
    assert!(stdout.contains("needs root"), "{stdout}");
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip)),
    ignore = "needs root and ip (iproute2): scenarios in namespaces of their own"
)]
fn an_interrupted_run_deletes_its_namespace_and_says_so() {
    let _host = crate::common::host::shared();
    let _serial = serial();
    /// The run this test started, killed, and its namespace deleted, should the test fail.
    struct Started {
        child: std::process::Child,
        netns: String,
    }
    impl Drop for Started {
        fn drop(&mut self) {
            if self.child.try_wait().ok().flatten().is_none() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
            let _ = Command::new("ip")
                .args(["netns", "del", &self.netns])
                .output();
        }
    }
    // Its last step waits 65 s for TIME_WAIT to expire: it is still running when stopped.
    let child = Command::new(env!("CARGO_BIN_EXE_tcpscope"))
        .args(["lab", "run", "time-wait-expiry"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut run = Started {
        child,
        netns: format!("tcpscope-lab-{pid}-time-wait-expiry"),
    };
    let path = std::path::PathBuf::from("/run/netns").join(&run.netns);
    assert!(
        common::wait_until(std::time::Duration::from_secs(20), || path.exists()),
        "{} never appeared",
        run.netns
    );
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(i32::try_from(pid).unwrap()).unwrap(),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    let mut status = None;
    let exited = common::wait_until(std::time::Duration::from_secs(10), || {
        status = run.child.try_wait().unwrap();
        status.is_some()
    });
    assert!(exited, "lab run still runs 10 s after SIGTERM");
    let mut stdout = String::new();
    let mut stderr = String::new();
    use std::io::Read;
    run.child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    run.child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.unwrap().code(), Some(130), "{stdout}\n{stderr}");
    assert!(!path.exists(), "{} was left", run.netns);
    assert!(stdout.starts_with("FAIL time-wait-expiry"), "{stdout}");
    assert!(
        stdout.contains("✗ not played to its end: interrupted"),
        "{stdout}"
    );
    assert!(
        stdout
            .ends_with("1 scenario(s): 0 passed, 1 failed, 0 skipped; interrupted, 0 not played\n"),
        "{stdout}"
    );
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip)),
    ignore = "needs root and ip (iproute2): scenarios in namespaces of their own"
)]
fn a_run_deletes_the_namespace_a_dead_run_left() {
    let _host = crate::common::host::shared();
    let _serial = serial();
    // The largest pid there can be (pid_max is at most 2^22): not a running process.
    let pid = 4_194_303;
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "pid {pid} runs: the test needs a pid that does not"
    );
    let stale = Stale(format!("tcpscope-lab-{pid}-x"));
    let added = Command::new("ip")
        .args(["netns", "add", &stale.0])
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let path = std::path::PathBuf::from("/run/netns").join(&stale.0);
    assert!(path.exists());
    let out = tcpscope(&["lab", "run", "active-close-client"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(!path.exists(), "{} was left\n{stderr}", stale.0);
}

/// A namespace whose maker's PID now belongs to another process (here: this test's PID, with
/// another start time written in its marker) is stale all the same.
#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip)),
    ignore = "needs root and ip (iproute2): scenarios in namespaces of their own"
)]
fn a_namespace_whose_makers_pid_was_reused_is_deleted() {
    let _host = crate::common::host::shared();
    let _serial = serial();
    let pid = std::process::id();
    let stale = Stale(format!("tcpscope-lab-{pid}-reused"));
    let added = Command::new("ip")
        .args(["netns", "add", &stale.0])
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    std::fs::create_dir_all("/run/tcpscope").unwrap();
    std::fs::write(
        format!("/run/tcpscope/netns-{}", stale.0),
        format!("{pid}-1"),
    )
    .unwrap();
    let path = std::path::PathBuf::from("/run/netns").join(&stale.0);
    let out = tcpscope(&["lab", "run", "active-close-client"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !path.exists(),
        "{} was left: its PID runs, but not its maker\n{stderr}",
        stale.0
    );
}

/// A stale lab namespace a test made, deleted (with its marker) should the test fail.
struct Stale(String);

impl Drop for Stale {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
        let _ = std::fs::remove_file(format!("/run/tcpscope/netns-{}", self.0));
    }
}
