//! A network namespace as tcpscope names it: its inode (what the kernel and `ip netns
//! identify` know it by), and what a user knows it by: the container whose processes run in
//! it, its `/run/netns` name, a process in it, or at last `net:[inode]`.

use serde::Serialize;

/// The container engine a namespace's processes belong to, read from their cgroup path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Runtime {
    Podman,
    Docker,
    Containerd,
    #[serde(rename = "cri-o")]
    CriO,
    /// A Kubernetes pod whose container runtime the path does not name.
    Kubernetes,
}

impl Runtime {
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Podman => "podman",
            Runtime::Docker => "docker",
            Runtime::Containerd => "containerd",
            Runtime::CriO => "cri-o",
            Runtime::Kubernetes => "kubernetes",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Container {
    /// The runtime's id (64 hexadecimal digits for Podman, Docker, containerd and CRI-O; a
    /// pod's uid for Kubernetes).
    pub id: String,
    /// The name the runtime's own state files give it, when readable.
    pub name: Option<String>,
    pub runtime: Runtime,
}

impl Container {
    /// The name, or the id's first 12 digits as `podman ps` shows them.
    pub fn label(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| self.id.chars().take(12).collect())
    }
}

/// One network namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Netns {
    pub inode: u32,
    /// Its name under /run/netns (`ip netns add`), if it has one.
    pub name: Option<String>,
    pub container: Option<Container>,
    /// tcpscope's own namespace when it started (the host's, unless it was started inside
    /// another).
    #[serde(skip)]
    pub host: bool,
    /// A process in it (the lowest pid) and its name, for a namespace with no other name.
    #[serde(skip)]
    pub process: Option<(i32, String)>,
}

impl Netns {
    /// A namespace known only by its inode.
    pub fn unnamed(inode: u32) -> Netns {
        Netns {
            inode,
            name: None,
            container: None,
            host: false,
            process: None,
        }
    }

    /// What to call it, best first: `host`, the container, the /run/netns name, `pid:PID
    /// comm`, `net:[inode]`. Untrusted text (container and process names) is the caller's to
    /// make safe for a terminal.
    pub fn label(&self) -> String {
        if self.host {
            return "host".to_string();
        }
        if let Some(c) = &self.container {
            return c.label();
        }
        if let Some(name) = &self.name {
            return name.clone();
        }
        if let Some((pid, comm)) = &self.process {
            return format!("pid:{pid} {comm}");
        }
        format!("net:[{}]", self.inode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_best_first() {
        let mut ns = Netns::unnamed(4026532000);
        assert_eq!(ns.label(), "net:[4026532000]");
        ns.process = Some((812, "httpd".into()));
        assert_eq!(ns.label(), "pid:812 httpd");
        ns.name = Some("blue".into());
        assert_eq!(ns.label(), "blue");
        ns.container = Some(Container {
            id: "0123456789abcdef0123".into(),
            name: None,
            runtime: Runtime::Podman,
        });
        assert_eq!(ns.label(), "0123456789ab");
        ns.container.as_mut().unwrap().name = Some("web".into());
        assert_eq!(ns.label(), "web");
        ns.host = true;
        assert_eq!(ns.label(), "host");
    }

    #[test]
    fn json_has_inode_name_and_container() {
        let ns = Netns {
            inode: 7,
            name: None,
            container: Some(Container {
                id: "ab".into(),
                name: Some("web".into()),
                runtime: Runtime::CriO,
            }),
            host: false,
            process: Some((1, "x".into())),
        };
        assert_eq!(
            serde_json::to_string(&ns).unwrap(),
            r#"{"inode":7,"name":null,"container":{"id":"ab","name":"web","runtime":"cri-o"}}"#
        );
    }
}
