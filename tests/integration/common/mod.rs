//! Helpers for the integration tests: namespaces, the real binary, the populate example, and
//! waiting on conditions with a deadline (never a bare sleep).

#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub mod host;
pub mod tmux;
pub mod watch;

/// A child process of the test, ended and reaped however the test ends: SIGTERM first (a
/// server such as nginx then stops its own workers; SIGKILL would leave them running), SIGKILL
/// if it is still there after 5 s.
pub struct Reaped(pub Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Some(pid) = i32::try_from(self.0.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let ended = wait_until(Duration::from_secs(5), || {
            self.0.try_wait().is_ok_and(|s| s.is_some())
        });
        if !ended {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Polls `cond` until it holds or `timeout` passes; returns whether it held.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn tcpscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tcpscope"))
        .args(args)
        .output()
        .expect("run tcpscope")
}

/// The real binary, run as nobody without capabilities.
pub fn tcpscope_as_nobody(args: &[&str]) -> Output {
    Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(env!("CARGO_BIN_EXE_tcpscope"))
        .args(args)
        .output()
        .expect("setpriv (util-linux)")
}

/// `tcpscope list --json ARGS`, parsed; panics with stderr on failure.
pub fn list_json(args: &[&str]) -> Vec<Value> {
    let mut all = vec!["list", "--json"];
    all.extend_from_slice(args);
    let out = tcpscope(&all);
    assert!(
        out.status.success(),
        "tcpscope {all:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    v.as_array().expect("a JSON array").clone()
}

/// Where a test's sockets live: a network namespace of its own when root (its sockets and
/// dumps then belong there, on the ports the test chooses), this namespace otherwise (on
/// ports the kernel picks).
pub struct Place {
    pub ns: Option<Netns>,
}

impl Place {
    pub fn new(tag: &str) -> Place {
        let ns = is_root().then(|| Netns::new(tag));
        if ns.is_none() {
            println!("{tag}: not root, so on this namespace's loopback, ports the kernel picks");
        }
        Place { ns }
    }

    /// `wanted` in the test's namespace; 0 (the kernel picks) here.
    pub fn port(&self, wanted: u16) -> u16 {
        if self.ns.is_some() { wanted } else { 0 }
    }

    /// Whether the test has a namespace of its own.
    pub fn own_namespace(&self) -> bool {
        self.ns.is_some()
    }

    /// Runs `f` where the sockets live.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        in_ns(self.ns.as_ref(), f)
    }

    /// `ARGS` (a subcommand first) with `--netns NAME` after the subcommand when the test
    /// has a namespace.
    pub fn args<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut all = args.to_vec();
        if let Some(ns) = &self.ns {
            all.splice(1..1, ["--netns", ns.name.as_str()]);
        }
        all
    }

    /// The binary, run with `args` on the test's namespace.
    pub fn tcpscope(&self, args: &[&str]) -> Output {
        tcpscope(&self.args(args))
    }

    /// `tcpscope list --json` of the test's namespace, with these filters.
    pub fn list_json(&self, filters: &[&str]) -> Vec<Value> {
        let mut all = vec!["list"];
        all.extend_from_slice(filters);
        let args = self.args(&all);
        list_json(&args[1..])
    }
}

/// A network namespace of this test, deleted on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(tag: &str) -> Netns {
        // One test process runs every test: a sequence number keeps two tests that use the
        // same tag apart.
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("tcpscope-test-{tag}-{}-{n}", std::process::id());
        let ok = |c: &mut Command| assert!(c.status().expect("run ip").success(), "{c:?}");
        ok(Command::new("ip").args(["netns", "add", &name]));
        ok(Command::new("ip").args(["-n", &name, "link", "set", "lo", "up"]));
        Netns { name }
    }

    /// Runs a command inside the namespace.
    pub fn exec(&self, cmd: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(cmd)
            .output()
            .expect("ip netns exec")
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// The path of an example; `cargo test` builds examples, `cargo test --test X` does not, so
/// build it then.
/// Runs `f` on a thread inside the namespace (or here, without one), so that the sockets it
/// makes belong there.
pub fn in_ns<T: Send>(ns: Option<&Netns>, f: impl FnOnce() -> T + Send) -> T {
    let Some(ns) = ns else { return f() };
    std::thread::scope(|s| {
        s.spawn(|| {
            tcpscope::sources::netns::enter(&ns.name).expect("enter the test namespace");
            f()
        })
        .join()
        .expect("namespace thread")
    })
}

fn example(name: &str) -> PathBuf {
    // target/debug/deps/<test> → target/debug/examples/<name>
    let mut p = std::env::current_exe().expect("test exe");
    p.pop();
    p.pop();
    p.push("examples");
    p.push(name);
    if !p.exists() {
        let mut cargo = Command::new(env!("CARGO"));
        cargo.args(["build", "--example", name]);
        if !cfg!(debug_assertions) {
            cargo.arg("--release");
        }
        assert!(
            cargo.status().expect("run cargo").success(),
            "building example {name}"
        );
    }
    p
}

/// The populate example, holding its sockets until dropped.
pub struct Populated {
    child: Child,
    /// Every process that holds populated sockets.
    pub pids: Vec<i32>,
}

impl Populated {
    pub fn start(netns: &Netns, pairs: usize, extras: usize) -> Populated {
        let mut child = Command::new(example("populate"))
            .args(["--netns", &netns.name, "--pairs", &pairs.to_string()])
            .args(["--extras", &extras.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn the populate example (cargo test builds it)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read ready line");
        assert!(line.starts_with("ready"), "populate failed: {line:?}");
        let field = |key: &str| -> String {
            line.split_whitespace()
                .find_map(|kv| kv.strip_prefix(key))
                .unwrap_or_default()
                .to_string()
        };
        let mut pids: Vec<i32> = field("worker_pids=")
            .split(',')
            .filter_map(|p| p.parse().ok())
            .collect();
        pids.extend(field("pid=").parse::<i32>().ok());
        Populated { child, pids }
    }
}

impl Drop for Populated {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// Non-blocking read: Some(Ok(n)) data or end of stream, Some(Err(kind)) an error, None
/// nothing yet.
pub fn try_read(s: &mut std::net::TcpStream) -> Option<Result<usize, std::io::ErrorKind>> {
    s.set_nonblocking(true).unwrap();
    match std::io::Read::read(s, &mut [0u8; 64]) {
        Ok(n) => Some(Ok(n)),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => None,
        Err(e) => Some(Err(e.kind())),
    }
}

/// One connection to `listener` that its server closes first: the client reads the FIN and
/// is returned, so that dropping it leaves a TIME_WAIT on the server's end.
pub fn server_closes_first(listener: &std::net::TcpListener) -> std::net::TcpStream {
    use std::io::Read;
    let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    drop(listener.accept().unwrap().0);
    assert_eq!(client.read(&mut [0u8; 8]).unwrap(), 0);
    client
}
