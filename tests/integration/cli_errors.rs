//! Bad input: one clear line on stderr, exit 2, never a panic.

use crate::common;

use common::{Netns, tcpscope, tcpscope_as_nobody};

fn assert_usage_error(args: &[&str], mentions: &str) {
    let out = tcpscope(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert_eq!(
        stderr.lines().count(),
        1,
        "{args:?}: one line, got {stderr:?}"
    );
    assert!(stderr.starts_with("tcpscope: "), "{stderr}");
    assert!(
        stderr.contains(mentions),
        "{args:?}: {stderr:?} should mention {mentions:?}"
    );
    assert!(!stderr.contains("panicked"));
    assert!(out.stdout.is_empty());
}

#[test]
fn unknown_state() {
    let _host = crate::common::host::shared();
    assert_usage_error(&["list", "--state", "half-open"], "unknown TCP state");
}

#[test]
fn port_out_of_range() {
    let _host = crate::common::host::shared();
    assert_usage_error(&["list", "--port", "65536"], "65536");
    assert_usage_error(&["list", "--sport=-1"], "--sport");
    assert_usage_error(&["list", "--dport", "http"], "http");
}

#[test]
fn a_bad_number_is_refused_in_words() {
    let _host = crate::common::host::shared();
    for (args, says) in [
        (
            &["can-bind", "abc"][..],
            "a port to bind is a whole number from 1 to 65535",
        ),
        (
            &["can-bind", "0"][..],
            "a port to bind is a whole number from 1 to 65535",
        ),
        (
            &["list", "--port", "http"][..],
            "a port is a whole number from 0 to 65535",
        ),
        (&["list", "--pid", "me"][..], "a pid is a whole number"),
        (
            &["watch", "--interval", "fast"][..],
            "the interval in milliseconds is a whole number",
        ),
        (
            &["watch", "--ghost-secs=-1"][..],
            "the ghost time in seconds is a whole number",
        ),
    ] {
        assert_usage_error(args, says);
        let out = tcpscope(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("invalid digit"), "{args:?}: {stderr}");
    }
}

#[test]
fn missing_namespace() {
    let _host = crate::common::host::shared();
    assert_usage_error(&["list", "--netns", "tcpscope-no-such-ns"], "not found");
    // A path is a namespace file, or refused by name.
    assert_usage_error(
        &["list", "--netns", "/etc"],
        "/etc is not a network namespace",
    );
    assert_usage_error(
        &["list", "--netns", "."],
        "expected all, a name under /run/netns",
    );
    assert_usage_error(
        &["can-bind", "8080", "--netns", "all"],
        "only `list`, `watch`, `kill` and `shutdown`",
    );
}

#[test]
fn unknown_source_and_conflicting_flags() {
    let _host = crate::common::host::shared();
    assert_usage_error(&["list", "--source", "bpf"], "bpf");
    assert_usage_error(&["list", "-4", "-6"], "-6");
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_as_nobody)),
    ignore = "needs root, ip, setpriv and a target directory nobody can enter: namespaces, and the binary run as nobody"
)]
fn no_permission_to_enter_a_namespace() {
    let _host = crate::common::host::shared();
    let ns = Netns::new("perm");
    // The real binary, run as nobody.
    let out = tcpscope_as_nobody(&["list", "--netns", &ns.name]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("CAP_SYS_ADMIN"), "{stderr}");
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_as_nobody)),
    ignore = "needs root, ip, setpriv and a target directory nobody can enter: namespaces, and the binary run as nobody"
)]
fn unprivileged_list_works_and_names_what_it_cannot_see() {
    let _host = crate::common::host::shared();
    // As nobody, root's processes' fd tables are closed: the list still prints, and stderr
    // says why some owners are missing and how to fix it.
    let out = tcpscope_as_nobody(&["list"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("State"));
    assert!(stderr.contains("CAP_SYS_PTRACE"), "{stderr}");
    assert!(stderr.contains("CAP_DAC_READ_SEARCH"), "{stderr}");
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_as_nobody)),
    ignore = "needs root, ip, setpriv and a target directory nobody can enter: namespaces, and the binary run as nobody"
)]
fn watch_without_privileges_infers_and_says_why() {
    let _host = crate::common::host::shared();
    let out = tcpscope_as_nobody(&["watch", "--duration", "0.3", "--interval", "100"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        stderr.lines().filter(|l| l.contains("inferred")).count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("root"), "{stderr}");
    // With --events on, the same is an error.
    let out = tcpscope_as_nobody(&["watch", "--events", "on", "--duration", "0.3"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--events on") && stderr.contains("root"),
        "{stderr}"
    );
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_as_nobody)),
    ignore = "needs root, ip, setpriv and a target directory nobody can enter: namespaces, and the binary run as nobody"
)]
fn ebpf_as_nobody_is_refused_with_the_capabilities_to_grant() {
    let _host = crate::common::host::shared();
    let out = tcpscope_as_nobody(&["watch", "--events", "bpf", "--duration", "0.3"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    for needed in [
        "--events bpf",
        "CAP_BPF",
        "CAP_PERFMON",
        "CAP_DAC_READ_SEARCH",
        "setcap",
    ] {
        assert!(stderr.contains(needed), "{needed} missing: {stderr}");
    }
    // tracefs by name: refused too, naming root.
    let out = tcpscope_as_nobody(&["watch", "--events", "tracefs", "--duration", "0.3"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("root"), "{stderr}");
}

#[test]
fn watch_rejects_bad_intervals_and_durations() {
    let _host = crate::common::host::shared();
    assert_usage_error(&["watch", "--interval", "0"], "--interval");
    assert_usage_error(&["watch", "--duration=-1"], "--duration");
    assert_usage_error(&["watch", "--events", "maybe"], "maybe");
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_as_nobody)),
    ignore = "needs root, ip, setpriv and a target directory nobody can enter: namespaces, and the binary run as nobody"
)]
fn acting_without_the_capability_names_it() {
    let _host = crate::common::host::shared();
    // A listener of root's on the host; nobody may see it but not abort it.
    let listener =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    listener
        .bind(
            &"127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
    listener.listen(1).unwrap();
    let port = listener
        .local_addr()
        .unwrap()
        .as_socket()
        .unwrap()
        .port()
        .to_string();
    let out = tcpscope_as_nobody(&["kill", "--sport", &port, "--state", "listen", "--yes"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("CAP_NET_ADMIN"), "{stderr}");
    // Untouched: still listening.
    let still = common::list_json(&["--sport", &port, "--state", "listen"]);
    assert_eq!(still.len(), 1);
}

#[test]
fn a_missing_argument_is_named_on_the_one_line() {
    let _host = crate::common::host::shared();
    assert_usage_error(&["lab", "run"], "<NAMES>");
    assert_usage_error(&["lab", "run", "no-such-scenario"], "no-such-scenario");
}
