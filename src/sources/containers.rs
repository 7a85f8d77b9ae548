//! Which container a process runs in, from its cgroup path (`/proc/PID/cgroup`), and the
//! container's name from the runtime's own state files: never through a runtime's socket,
//! never needing its command. Paths as the runtimes make them, with the systemd and the
//! cgroupfs managers:
//!
//! - Podman: `…/libpod-<id>.scope[/container]`, `/libpod_parent/libpod-<id>`
//! - Docker: `/system.slice/docker-<id>.scope`, `/docker/<id>`
//! - containerd under Kubernetes: `/kubepods.slice/…/cri-containerd-<id>.scope`
//! - CRI-O: `/kubepods.slice/…/crio-<id>.scope`
//! - Kubernetes with the cgroupfs manager: `/kubepods/<qos>/pod<uid>/<id>`
//!
//! `libpod-conmon-` and `crio-conmon-` are the runtimes' monitors, not containers.

use crate::model::netns::{Container, Runtime};
use std::io::Read;
use std::path::Path;

/// The innermost container named by the lines of a `/proc/PID/cgroup` file.
pub fn from_cgroup(text: &str) -> Option<(Runtime, String)> {
    text.lines()
        .filter_map(|line| line.splitn(3, ':').nth(2))
        .filter_map(from_path)
        .next()
}

fn from_path(path: &str) -> Option<(Runtime, String)> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let kube = parts.iter().any(|p| p.starts_with("kubepods"));
    let mut found = None;
    for (i, part) in parts.iter().enumerate() {
        let unit = part.strip_suffix(".scope").unwrap_or(part);
        let hit = if let Some(id) = unit.strip_prefix("libpod-") {
            hex_id(id).map(|id| (Runtime::Podman, id))
        } else if let Some(id) = unit.strip_prefix("docker-") {
            hex_id(id).map(|id| (Runtime::Docker, id))
        } else if let Some(id) = unit.strip_prefix("cri-containerd-") {
            hex_id(id).map(|id| (Runtime::Containerd, id))
        } else if let Some(id) = unit.strip_prefix("crio-") {
            hex_id(id).map(|id| (Runtime::CriO, id))
        } else if i > 0 && parts[i - 1] == "docker" {
            hex_id(unit).map(|id| (Runtime::Docker, id))
        } else if kube && i > 0 && parts[i - 1].starts_with("pod") {
            hex_id(unit).map(|id| (Runtime::Kubernetes, id))
        } else {
            None
        };
        if hit.is_some() {
            found = hit;
        }
    }
    if found.is_none() && kube {
        // Only the pod is named (a process of the pod's own cgroup): its uid.
        found = parts
            .iter()
            .rev()
            .find_map(|p| pod_uid(p))
            .map(|uid| (Runtime::Kubernetes, uid));
    }
    found
}

/// A container id: 64 hexadecimal digits.
fn hex_id(s: &str) -> Option<String> {
    (s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())).then(|| s.to_ascii_lowercase())
}

/// `kubepods-burstable-pod<uid>.slice` (uid with `_` for `-`) or `pod<uid>`.
fn pod_uid(part: &str) -> Option<String> {
    let unit = part.strip_suffix(".slice").unwrap_or(part);
    let uid = unit
        .rsplit_once("-pod")
        .map_or_else(|| unit.strip_prefix("pod"), |(_, u)| Some(u))?;
    let uid = uid.replace('_', "-");
    (uid.len() == 36 && uid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')).then_some(uid)
}

/// The most read from one state file: a runtime's index of every container can be large.
const MAX_STATE_BYTES: u64 = 32 << 20;

fn read_bounded(path: &Path) -> Option<Vec<u8>> {
    let file = std::fs::File::open(path).ok()?;
    let mut bytes = Vec::new();
    file.take(MAX_STATE_BYTES + 1)
        .read_to_end(&mut bytes)
        .ok()?;
    (bytes.len() as u64 <= MAX_STATE_BYTES).then_some(bytes)
}

/// Where the runtimes keep their state, under `root` (`/` on a host; a test's directory).
pub struct StateFiles {
    root: std::path::PathBuf,
    /// containers/storage's index (Podman, CRI-O): id → first name.
    storage: Option<std::collections::HashMap<String, String>>,
    /// Whether the index was read since the last `begin_scan`: an id it lacks (a container
    /// started since) has it read again, at most once a scan.
    read_this_scan: bool,
}

impl StateFiles {
    pub fn new(root: &Path) -> StateFiles {
        StateFiles {
            root: root.to_path_buf(),
            storage: None,
            read_this_scan: false,
        }
    }

    /// A new scan of the namespaces starts: state files may have changed since the last.
    pub fn begin_scan(&mut self) {
        self.read_this_scan = false;
    }

    /// The container, with its name where the runtime's files are readable.
    pub fn container(&mut self, runtime: Runtime, id: String) -> Container {
        let name = match runtime {
            Runtime::Podman | Runtime::CriO => self
                .cri_name(&id, "var/lib/containers/storage/overlay-containers")
                .or_else(|| self.storage_name(&id)),
            Runtime::Docker => self.docker_name(&id),
            Runtime::Containerd | Runtime::Kubernetes => {
                self.cri_name(&id, "run/containerd/io.containerd.runtime.v2.task/k8s.io")
            }
        };
        Container { id, name, runtime }
    }

    /// containers/storage's `containers.json` (every graph driver's), read again for an id
    /// it lacks, once a scan.
    fn storage_name(&mut self, id: &str) -> Option<String> {
        if let Some(name) = self.storage.as_ref().and_then(|s| s.get(id)) {
            return Some(name.clone());
        }
        if self.read_this_scan {
            return None;
        }
        self.read_this_scan = true;
        let mut names = std::collections::HashMap::new();
        let dir = self.root.join("var/lib/containers/storage");
        for driver in ["overlay", "vfs", "btrfs", "zfs"] {
            let path = dir.join(format!("{driver}-containers/containers.json"));
            let Some(bytes) = read_bounded(&path) else {
                continue;
            };
            let Ok(all) = serde_json::from_slice::<Vec<StorageEntry>>(&bytes) else {
                continue;
            };
            for e in all {
                if let Some(name) = e.names.into_iter().next() {
                    names.insert(e.id, name);
                }
            }
        }
        let name = names.get(id).cloned();
        self.storage = Some(names);
        name
    }

    /// Docker's `containers/<id>/config.v2.json`: `"Name": "/web"`.
    fn docker_name(&self, id: &str) -> Option<String> {
        let path = self
            .root
            .join(format!("var/lib/docker/containers/{id}/config.v2.json"));
        let v: serde_json::Value = serde_json::from_slice(&read_bounded(&path)?).ok()?;
        let name = v.get("Name")?.as_str()?;
        Some(name.trim_start_matches('/').to_string()).filter(|n| !n.is_empty())
    }

    /// An OCI bundle's `config.json` with the Kubernetes annotations: `pod/container`, or
    /// the pod's name for its sandbox.
    fn cri_name(&self, id: &str, dir: &str) -> Option<String> {
        let bundle = self.root.join(dir).join(id);
        let path = [
            bundle.join("userdata/config.json"),
            bundle.join("config.json"),
        ]
        .into_iter()
        .find(|p| p.is_file())?;
        let v: serde_json::Value = serde_json::from_slice(&read_bounded(&path)?).ok()?;
        let notes = v.get("annotations")?;
        let get = |k: &str| {
            notes
                .get(k)
                .and_then(|s| s.as_str())
                .filter(|s| !s.is_empty())
        };
        let pod = get("io.kubernetes.pod.name").or_else(|| get("io.kubernetes.cri.sandbox-name"));
        let container = get("io.kubernetes.container.name")
            .or_else(|| get("io.kubernetes.cri.container-name"))
            .filter(|c| *c != "POD");
        match (pod, container) {
            (Some(p), Some(c)) => Some(format!("{p}/{c}")),
            (Some(p), None) => Some(p.to_string()),
            (None, Some(c)) => Some(c.to_string()),
            (None, None) => None,
        }
    }
}

#[derive(serde::Deserialize)]
struct StorageEntry {
    id: String,
    #[serde(default)]
    names: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904a1b2c3d4e5f60718293a4b5c";

    fn runtime_and_id(text: &str) -> Option<(Runtime, String)> {
        from_cgroup(text)
    }

    #[test]
    fn podman_paths() {
        for text in [
            format!("0::/machine.slice/libpod-{ID}.scope/container\n"),
            format!(
                "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope\n"
            ),
            format!("0::/libpod_parent/libpod-{ID}\n"),
            // cgroup v1 / hybrid: several hierarchies, the container in each.
            format!(
                "12:pids:/libpod_parent/libpod-{ID}\n1:name=systemd:/libpod_parent/libpod-{ID}\n0::/\n"
            ),
        ] {
            assert_eq!(
                runtime_and_id(&text),
                Some((Runtime::Podman, ID.into())),
                "{text}"
            );
        }
        // The monitor is not the container.
        assert_eq!(
            runtime_and_id(&format!("0::/machine.slice/libpod-conmon-{ID}.scope\n")),
            None
        );
    }

    #[test]
    fn docker_paths() {
        assert_eq!(
            runtime_and_id(&format!("0::/system.slice/docker-{ID}.scope\n")),
            Some((Runtime::Docker, ID.into()))
        );
        assert_eq!(
            runtime_and_id(&format!("11:memory:/docker/{ID}\n0::/docker/{ID}\n")),
            Some((Runtime::Docker, ID.into()))
        );
        assert_eq!(runtime_and_id("0::/system.slice/docker.service\n"), None);
    }

    #[test]
    fn kubernetes_paths() {
        let pod = "kubepods-burstable-pod8d3c1a6e_2f4b_4c1d_9e8f_0123456789ab.slice";
        assert_eq!(
            runtime_and_id(&format!(
                "0::/kubepods.slice/kubepods-burstable.slice/{pod}/cri-containerd-{ID}.scope\n"
            )),
            Some((Runtime::Containerd, ID.into()))
        );
        assert_eq!(
            runtime_and_id(&format!(
                "0::/kubepods.slice/kubepods-besteffort.slice/{pod}/crio-{ID}.scope\n"
            )),
            Some((Runtime::CriO, ID.into()))
        );
        assert_eq!(
            runtime_and_id(&format!(
                "0::/kubepods/burstable/pod8d3c1a6e-2f4b-4c1d-9e8f-0123456789ab/{ID}\n"
            )),
            Some((Runtime::Kubernetes, ID.into()))
        );
        assert_eq!(
            runtime_and_id(&format!(
                "0::/kubepods.slice/kubepods-burstable.slice/{pod}\n"
            )),
            Some((
                Runtime::Kubernetes,
                "8d3c1a6e-2f4b-4c1d-9e8f-0123456789ab".into()
            ))
        );
    }

    #[test]
    fn host_paths_and_garbage_are_no_container() {
        for text in [
            "0::/init.scope\n",
            "0::/user.slice/user-0.slice/session-3.scope\n",
            "0::/system.slice/libpod-notanid.scope\n",
            "",
            "garbage without colons\n",
            "0::/docker/short\n",
        ] {
            assert_eq!(runtime_and_id(text), None, "{text:?}");
        }
    }

    fn tree(files: &[(&str, &str)]) -> tempdir::Dir {
        let dir = tempdir::Dir::new();
        for (path, text) in files {
            let p = dir.0.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        dir
    }

    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
                let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let p =
                    std::env::temp_dir().join(format!("tcpscope-state-{}-{n}", std::process::id()));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn names_from_the_runtimes_state_files() {
        let dir = tree(&[
            (
                "var/lib/containers/storage/overlay-containers/containers.json",
                &format!(r#"[{{"id":"{ID}","names":["web-a"],"image":"x"}},{{"id":"other"}}]"#),
            ),
            (
                &format!("var/lib/docker/containers/{ID}/config.v2.json"),
                r#"{"Name":"/db","State":{}}"#,
            ),
            (
                &format!("run/containerd/io.containerd.runtime.v2.task/k8s.io/{ID}/config.json"),
                r#"{"annotations":{"io.kubernetes.cri.sandbox-name":"shop-7d9","io.kubernetes.cri.container-name":"nginx"}}"#,
            ),
        ]);
        let mut files = StateFiles::new(&dir.0);
        assert_eq!(
            files.container(Runtime::Podman, ID.into()).name.as_deref(),
            Some("web-a")
        );
        assert_eq!(
            files.container(Runtime::Docker, ID.into()).name.as_deref(),
            Some("db")
        );
        assert_eq!(
            files
                .container(Runtime::Containerd, ID.into())
                .name
                .as_deref(),
            Some("shop-7d9/nginx")
        );
        // A container started after the index was read is named at the next scan.
        let later = "e".repeat(64);
        let index = dir
            .0
            .join("var/lib/containers/storage/overlay-containers/containers.json");
        std::fs::write(&index, format!(r#"[{{"id":"{later}","names":["web-b"]}}]"#)).unwrap();
        assert_eq!(files.container(Runtime::Podman, later.clone()).name, None);
        files.begin_scan();
        assert_eq!(
            files.container(Runtime::Podman, later).name.as_deref(),
            Some("web-b")
        );
        // Unknown id, unreadable or garbage files: the id alone.
        assert_eq!(files.container(Runtime::Podman, "f".repeat(64)).name, None);
        let bad = tree(&[(
            "var/lib/containers/storage/overlay-containers/containers.json",
            "[{",
        )]);
        assert_eq!(
            StateFiles::new(&bad.0)
                .container(Runtime::Podman, ID.into())
                .name,
            None
        );
    }
}
