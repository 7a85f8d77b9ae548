//! Real containers: two Podman containers from an image built here (a busybox-static rootfs
//! through `podman import`, no registry), `--network none`, each serving `busybox httpd` on
//! its own 127.0.0.1:8080, with clients inside each (`podman exec … wget`); and a named
//! namespace with its own listener on 127.0.0.1:8080. `list --netns all` must tell the three
//! apart and name each container; `watch --netns all` must give each its own connections,
//! and go on doing so when one of them exits.
//!
//! Podman runs as this machine allows it: `--runtime runc --cgroup-manager cgroupfs` (crun
//! fails on a hybrid cgroup setup), rlimits within the current hard limits.

use crate::common::watch::JsonWatch;
use crate::common::{Netns, in_ns, list_json, wait_until};
use serde_json::Value;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

fn podman(args: &[&str]) -> Output {
    Command::new("podman")
        .args(["--runtime", "runc", "--cgroup-manager", "cgroupfs"])
        .args(args)
        .output()
        .expect("podman")
}

fn podman_ok(args: &[&str]) -> String {
    let out = podman(args);
    assert!(
        out.status.success(),
        "podman {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// An image of busybox alone, imported from a tarball made here; removed on drop.
struct Image {
    name: String,
    dir: PathBuf,
}

impl Image {
    fn build() -> Image {
        let tag = format!("tcpscope-test-busybox-{}", std::process::id());
        let dir = std::env::temp_dir().join(&tag);
        let root = dir.join("rootfs");
        for sub in ["bin", "www", "tmp"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        std::fs::copy(busybox(), root.join("bin/busybox")).unwrap();
        for applet in ["sh", "httpd", "wget", "sleep"] {
            std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
        }
        std::fs::write(root.join("www/index.html"), "hello from a container\n").unwrap();
        let tar = dir.join("rootfs.tar");
        let made = Command::new("tar")
            .arg("-C")
            .arg(&root)
            .arg("-cf")
            .arg(&tar)
            .arg(".")
            .status()
            .unwrap();
        assert!(made.success());
        let name = format!("localhost/{tag}:latest");
        podman_ok(&["import", tar.to_str().unwrap(), &name]);
        Image { name, dir }
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        let _ = podman(&["rmi", "-f", &self.name]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Debian's busybox-static.
fn busybox() -> PathBuf {
    ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .expect("busybox (Debian package busybox-static)")
}

/// A running container serving httpd on its own 127.0.0.1:8080; removed on drop.
struct Container {
    name: String,
    id: String,
}

impl Container {
    fn start(image: &Image, name: &str) -> Container {
        let id = podman_ok(&[
            "run",
            "-d",
            "--network",
            "none",
            "--ulimit",
            "nofile=1024:20000",
            "--ulimit",
            "nproc=1000:1000",
            "--name",
            name,
            &image.name,
            "/bin/busybox",
            "httpd",
            "-f",
            "-p",
            "127.0.0.1:8080",
            "-h",
            "/www",
        ]);
        Container {
            name: name.to_string(),
            id,
        }
    }

    fn get(&self) -> bool {
        podman(&[
            "exec",
            &self.name,
            "/bin/busybox",
            "wget",
            "-q",
            "-O",
            "/dev/null",
            "http://127.0.0.1:8080/",
        ])
        .status
        .success()
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = podman(&["rm", "-f", "-t", "0", &self.name]);
    }
}

/// The listeners on 127.0.0.1:8080, with their `netns` objects.
fn listeners(recs: &[Value]) -> Vec<Value> {
    recs.iter()
        .filter(|r| {
            r["state"] == "LISTEN" && r["local_port"] == 8080 && r["local_addr"] == "127.0.0.1"
        })
        .map(|r| r["netns"].clone())
        .collect()
}

/// The connections a container's httpd accepted: one LISTEN → SYN_RECV each (which end
/// closes first, and so which one has the TIME_WAIT, is a race between httpd and wget).
fn accepted_by(seen: &[Value], container: &str) -> usize {
    seen.iter()
        .filter(|t| {
            t["netns"]["container"]["name"] == container
                && t["local_port"] == 8080
                && t["from"] == "LISTEN"
                && t["to"] == "SYN_RECV"
        })
        .count()
}

#[test]
#[cfg_attr(
    not(all(
        tcpscope_test_root,
        tcpscope_test_has_ip,
        tcpscope_test_has_podman,
        tcpscope_test_has_runc,
        tcpscope_test_has_busybox
    )),
    ignore = "needs root, ip, podman, runc and busybox (Debian packages podman, runc, busybox-static)"
)]
fn two_containers_and_a_named_namespace_each_labelled_and_counted() {
    let _host = crate::common::host::alone(); // Its watch sees every namespace's churn.
    let image = Image::build();
    let pid = std::process::id();
    let (a, b) = (
        Container::start(&image, &format!("tcpscope-test-web-a-{pid}")),
        Container::start(&image, &format!("tcpscope-test-web-b-{pid}")),
    );
    let ns = Netns::new("beside-containers");
    let _l = in_ns(Some(&ns), || TcpListener::bind("127.0.0.1:8080").unwrap());

    // All three listeners, each in its own namespace, each named.
    let mut seen = Vec::new();
    let all_there = wait_until(Duration::from_secs(20), || {
        seen = listeners(&list_json(&["--netns", "all", "--state", "listen"]));
        let has = |c: &Container| seen.iter().any(|n| n["container"]["name"] == *c.name);
        has(&a) && has(&b) && seen.iter().any(|n| n["name"] == *ns.name)
    });
    assert!(all_there, "{seen:#?}");
    let ours: Vec<&Value> = seen
        .iter()
        .filter(|n| {
            n["name"] == *ns.name
                || n["container"]["name"] == *a.name
                || n["container"]["name"] == *b.name
        })
        .collect();
    assert_eq!(ours.len(), 3, "{ours:#?}");
    let mut inodes: Vec<u64> = ours.iter().map(|n| n["inode"].as_u64().unwrap()).collect();
    inodes.sort();
    inodes.dedup();
    assert_eq!(inodes.len(), 3, "three namespaces: {ours:#?}");
    for c in [&a, &b] {
        let n = ours
            .iter()
            .find(|n| n["container"]["name"] == *c.name)
            .unwrap();
        assert_eq!(n["container"]["id"], *c.id, "{n}");
        assert_eq!(n["container"]["runtime"], "podman", "{n}");
    }
    let named = ours.iter().find(|n| n["name"] == *ns.name).unwrap();
    assert!(named["container"].is_null(), "{named}");
    // --container keeps one container's sockets: by name, or by its id's first digits.
    for which in [a.name.clone(), a.id[..12].to_string()] {
        let only = list_json(&["--netns", "all", "--container", &which, "--state", "listen"]);
        assert!(!only.is_empty(), "--container {which}");
        assert!(
            only.iter()
                .all(|r| r["netns"]["container"]["name"] == *a.name),
            "--container {which}: {only:#?}"
        );
    }

    // Each container's connections, exactly: 3 requests in one, 5 in the other.
    let mut watch = JsonWatch::start_all(&ns, "bpf", 200);
    watch.seen.clear();
    for (c, n) in [(&a, 3), (&b, 5)] {
        for _ in 0..n {
            assert!(c.get(), "wget in {}", c.name);
        }
    }
    let counted = watch.collect_until(Duration::from_secs(20), |seen| {
        accepted_by(seen, &a.name) == 3 && accepted_by(seen, &b.name) == 5
    });
    assert!(
        counted,
        "{} and {}:\n{}",
        accepted_by(&watch.seen, &a.name),
        accepted_by(&watch.seen, &b.name),
        watch.dump()
    );
    watch.gather(Duration::from_millis(600));
    assert_eq!(accepted_by(&watch.seen, &a.name), 3);
    assert_eq!(accepted_by(&watch.seen, &b.name), 5);

    // A container that exits while watched: its listener's close still carries its name
    // (its namespace is gone by the time the line is printed), and the watch goes on
    // attributing the other's connections.
    let gone = a.name.clone();
    drop(a);
    let closed = |seen: &[Value]| {
        seen.iter().any(|t| {
            t["netns"]["container"]["name"] == *gone
                && t["local_port"] == 8080
                && t["from"] == "LISTEN"
                && t["to"] == "CLOSE"
        })
    };
    let labelled = watch.collect_until(Duration::from_secs(20), closed);
    assert!(
        labelled,
        "no labelled close of {gone}'s listener:\n{}",
        watch.dump()
    );
    for _ in 0..2 {
        assert!(b.get(), "wget in {} after {gone} exited", b.name);
    }
    let still = watch.collect_until(Duration::from_secs(20), |seen| {
        accepted_by(seen, &b.name) == 7
    });
    assert!(
        still,
        "{}:\n{}",
        accepted_by(&watch.seen, &b.name),
        watch.dump()
    );
    assert_eq!(accepted_by(&watch.seen, &gone), 3);
}
