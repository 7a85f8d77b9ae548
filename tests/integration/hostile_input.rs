//! Hostile and careless input: names that try to command the terminal, files that never end,
//! outputs that fail, filters that match everything under another name. Each reproduces a
//! finding of issue 12 and fails without its fix.

use crate::common;

use common::{Netns, Reaped, in_ns, tcpscope, wait_until};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A process named `\e]2;OWNED\a` holding a listener on `port` in `ns`.
fn hostile_listener(ns: &Netns, port: u16) -> Reaped {
    let script = format!(
        "import socket, time\n\
         open('/proc/self/comm', 'w').write('\\x1b]2;OWNED\\x07')\n\
         s = socket.socket(); s.bind(('127.0.0.1', {port})); s.listen()\n\
         print('ready', flush=True)\n\
         time.sleep(60)\n"
    );
    let mut child = Command::new("ip")
        .args(["netns", "exec", &ns.name, "python3", "-c", &script])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "ready");
    Reaped(child)
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_has_python3)),
    ignore = "needs root, ip (iproute2) and python3: a namespace and a process of another name"
)]
fn a_process_name_with_an_escape_sequence_is_listed_escaped() {
    let _host = crate::common::host::shared();
    let ns = Netns::new("escape");
    let _owner = hostile_listener(&ns, 8087);
    let out = tcpscope(&["list", "--netns", &ns.name, "--port", "8087"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("\\x1b]2;OWNED\\x07"), "{text}");
    assert!(
        !out.stdout.contains(&0x1b) && !out.stdout.contains(&0x07),
        "{text:?}"
    );
    // JSON keeps the exact name, escaped as JSON does.
    let json = tcpscope(&["list", "--json", "--netns", &ns.name, "--port", "8087"]);
    let text = String::from_utf8_lossy(&json.stdout);
    assert!(text.contains("\\u001b]2;OWNED\\u0007"), "{text}");
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_has_python3)),
    ignore = "needs root, ip (iproute2) and python3: a namespace and a process of another name"
)]
fn watch_text_escapes_process_names() {
    let _host = crate::common::host::shared();
    let ns = Netns::new("escape-watch");
    let mut watch = Reaped(
        Command::new(env!("CARGO_BIN_EXE_tcpscope"))
            .args(["watch", "--interval", "200", "--netns", &ns.name])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let out = watch.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut r = std::io::BufReader::new(out);
        loop {
            let mut line = Vec::new();
            match std::io::BufRead::read_until(&mut r, b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            }
        }
    });
    // The listener is made once watch runs: its CLOSE -> LISTEN names the process.
    std::thread::sleep(Duration::from_millis(1500));
    let _owner = hostile_listener(&ns, 8088);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
            let named = String::from_utf8_lossy(&line).contains("OWNED");
            seen.push(line);
            if named {
                break;
            }
        }
    }
    let line = seen
        .iter()
        .find(|l| String::from_utf8_lossy(l).contains("OWNED"))
        .unwrap_or_else(|| panic!("no line names the owner: {seen:?}"));
    assert!(!line.contains(&0x1b), "{:?}", String::from_utf8_lossy(line));
    assert!(String::from_utf8_lossy(line).contains("\\x1b]2;OWNED\\x07"));
}

/// `/dev/full`: every write fails with ENOSPC.
fn to_full_disk(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tcpscope"))
        .args(args)
        .stdout(
            std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap(),
        )
        .output()
        .unwrap()
}

#[test]
fn a_failed_write_is_one_line_and_exit_1_never_a_panic() {
    let _host = crate::common::host::shared();
    for args in [
        &["can-bind", "47555"][..],
        &["lab", "list"],
        &["--help"],
        &["list"],
    ] {
        let out = to_full_disk(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("tcpscope: "), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let _host = crate::common::host::shared();
    for args in [&["lab", "list"][..], &["can-bind", "47556"]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tcpscope"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before the first line.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{args:?}: {:?}",
            out.status
        );
    }
}

#[test]
fn a_scenario_file_that_never_ends_is_refused() {
    let _host = crate::common::host::shared();
    for (path, says) in [
        ("/dev/zero", "not a regular file"),
        ("/proc/self/fd/0", "not a regular file"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_tcpscope"))
            .args(["lab", "run", "--file", path])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{path}: {stderr}");
        assert!(stderr.contains(says), "{path}: {stderr}");
    }
    let big = std::env::temp_dir().join(format!("tcpscope-big-{}.toml", std::process::id()));
    std::fs::write(&big, vec![b'#'; (1 << 20) + 1]).unwrap();
    let out = tcpscope(&["lab", "run", "--file", big.to_str().unwrap()]);
    let _ = std::fs::remove_file(&big);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("1024 KiB"), "{stderr}");
}

/// Parsing is linear in the file's size: a 1 MB file of steps took 90 s when every step's line
/// number was counted from the start of the text. (A generous bound: this guards the order of
/// growth, not a speed.)
#[test]
fn a_1_mb_scenario_file_is_parsed_in_well_under_a_second() {
    let _host = crate::common::host::shared();
    let mut text = String::from("name = \"big\"\ntitle = \"big\"\nsummary = \"s\"\n");
    while text.len() < 1_000_000 {
        text.push_str("[[step]]\nnarrate = \"\"\n");
    }
    // The steps are valid but a call is missing at the very end: the whole file is parsed
    // before the error, which names the last line.
    text.push_str("[[step]]\ncalls = [\"accept nobody as x\"]\n");
    let path = std::env::temp_dir().join(format!("tcpscope-1mb-{}.toml", std::process::id()));
    std::fs::write(&path, &text).unwrap();
    let started = Instant::now();
    let out = tcpscope(&["lab", "run", "--file", path.to_str().unwrap()]);
    let took = started.elapsed();
    let _ = std::fs::remove_file(&path);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let lines = text.lines().count();
    assert!(stderr.contains(&format!(":{}:", lines)), "{stderr}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip)),
    ignore = "needs root and ip (iproute2): a namespace and a process of another name"
)]
fn a_filter_that_matches_everything_under_another_name_is_refused() {
    let _host = crate::common::host::shared();
    let ns = Netns::new("everything");
    let _listener = in_ns(Some(&ns), || {
        std::net::TcpListener::bind("127.0.0.1:8089").unwrap()
    });
    for filter in [
        &["--port", "0"][..],
        &["--dport", "0"],
        &["--sport", "0"],
        &["--state", "all"],
    ] {
        for action in ["kill", "shutdown"] {
            let out = tcpscope(&[&[action, "--yes", "--netns", &ns.name][..], filter].concat());
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{action} {filter:?}: {stderr}");
            assert!(stderr.contains("--all"), "{stderr}");
        }
    }
    // The listener is still there.
    assert!(wait_until(Duration::from_secs(5), || {
        let out = tcpscope(&["list", "--netns", &ns.name, "--port", "8089"]);
        String::from_utf8_lossy(&out.stdout).contains("LISTEN")
    }));
    // With --all, it is acted on, and the count said.
    let out = tcpscope(&["kill", "--yes", "--all", "--netns", &ns.name, "--port", "0"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Abort 1 socket(s)"), "{stdout}");
}

/// The lab's helper for another process's sockets reads its requests with a bound: endless
/// input grew it to 3.4 GB, and a line not in UTF-8 ended it with 0 as if all were well.
#[test]
fn the_lab_helper_bounds_its_requests() {
    let _host = crate::common::host::shared();
    for (input, says) in [
        (vec![0u8; 100_000], "longer than 4096 bytes"),
        (b"\xff\xfe listen\n".to_vec(), "not in UTF-8"),
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tcpscope"))
            .arg("__lab-foreign")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        // It may stop reading before all is written.
        let _ = std::io::Write::write_all(&mut stdin, &input);
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
    }
}
