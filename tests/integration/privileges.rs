//! Each feature run by the real binary as nobody with exactly the capabilities tcpscope names
//! for it (`setpriv --inh-caps … --ambient-caps …`): with them it works on root's sockets (this
//! test's), with one fewer it refuses and names what is missing. Root only (CI runs as root).

use crate::common;

use common::{Netns, in_ns, wait_until};
use std::io::{BufRead, BufReader, ErrorKind, Read};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The binary as nobody with exactly `caps` (setpriv's names: `sys_ptrace`, `net_admin`…).
fn as_nobody(caps: &[&str]) -> Command {
    nobody_running(Path::new(env!("CARGO_BIN_EXE_tcpscope")), caps)
}

/// `bin` as nobody, with exactly `caps` passed on (and what its file capabilities give).
fn nobody_running(bin: &Path, caps: &[&str]) -> Command {
    let set: String = caps.iter().map(|c| format!(",+{c}")).collect();
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(format!("--inh-caps=-all{set}"))
        .arg(format!("--ambient-caps=-all{set}"))
        .arg(bin)
        .stdin(Stdio::null());
    cmd
}

fn run_as_nobody(caps: &[&str], args: &[&str]) -> Output {
    as_nobody(caps)
        .args(args)
        .output()
        .expect("setpriv (util-linux)")
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A connection of this (root's) process: the client, and the server's end.
fn connection() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (s, _) = l.accept().unwrap();
    (c, s)
}

/// One byte, or the error kind, without waiting.
fn peek(s: &mut TcpStream) -> Result<usize, ErrorKind> {
    s.set_nonblocking(true).unwrap();
    s.read(&mut [0u8; 1]).map_err(|e| e.kind())
}

/// What `s` reads within a few seconds: 0 for a FIN, or the error kind.
fn read_within(s: &mut TcpStream) -> Result<usize, ErrorKind> {
    s.set_nonblocking(false).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.read(&mut [0u8; 1]).map_err(|e| e.kind())
}

/// A `watch --json` run as nobody with `caps`, its lines gathered as they come.
struct Watch {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Watch {
    fn start(caps: &[&str], events: &str) -> Watch {
        // No periodic snapshot meets the test's short connections: what shows is traced.
        let mut child = as_nobody(caps)
            .args(["watch", "--json", "--events", events, "--interval", "60000"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("setpriv (util-linux)");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().unwrap();
        let gathered = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                gathered.lock().unwrap().push(line);
            }
        });
        Watch { child, lines }
    }

    /// Makes short connections of root's until the watch shows one traced to ESTABLISHED.
    fn sees_a_traced_connection(&self) -> bool {
        wait_until(Duration::from_secs(15), || {
            let (c, _s) = connection();
            let port = format!("\"local_port\":{}", c.local_addr().unwrap().port());
            drop(c);
            std::thread::sleep(Duration::from_millis(100));
            self.lines.lock().unwrap().iter().any(|l| {
                l.contains(&port)
                    && l.contains("\"to\":\"ESTABLISHED\"")
                    && l.contains("\"source\":\"traced\"")
            })
        })
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const EBPF_CAPS: [&str; 3] = ["bpf", "perfmon", "dac_read_search"];

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_as_nobody)),
    ignore = "needs root, ip, setpriv and a target directory nobody can enter: the binary run as nobody with chosen capabilities"
)]
fn ebpf_events_need_bpf_perfmon_and_dac_read_search() {
    let _host = crate::common::host::shared();
    let watch = Watch::start(&EBPF_CAPS, "bpf");
    assert!(
        watch.sees_a_traced_connection(),
        "eBPF with {EBPF_CAPS:?} traced none of root's connections: {:?}",
        watch.lines.lock().unwrap()
    );
    drop(watch);
    for missing in EBPF_CAPS {
        let caps: Vec<&str> = EBPF_CAPS.into_iter().filter(|c| *c != missing).collect();
        let out = run_as_nobody(&caps, &["watch", "--events", "bpf", "--duration", "0.2"]);
        let stderr = stderr_of(&out);
        assert_eq!(out.status.code(), Some(1), "without {missing}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("CAP_BPF, CAP_PERFMON and CAP_DAC_READ_SEARCH")
                && stderr.contains("setcap cap_bpf,cap_perfmon,cap_dac_read_search+ep"),
            "without {missing}: {stderr}"
        );
    }
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_as_nobody)),
    ignore = "needs root, ip, setpriv and a target directory nobody can enter: the binary run as nobody with chosen capabilities"
)]
fn tracefs_events_need_dac_override_and_sys_ptrace() {
    let _host = crate::common::host::shared();
    let caps = ["dac_override", "sys_ptrace"];
    let watch = Watch::start(&caps, "tracefs");
    assert!(
        watch.sees_a_traced_connection(),
        "tracefs with {caps:?} traced none of root's connections: {:?}",
        watch.lines.lock().unwrap()
    );
    drop(watch);
    // Without CAP_SYS_PTRACE the events come, but root's processes' namespaces cannot be read
    // to place them: said at the start.
    let out = run_as_nobody(
        &["dac_override"],
        &["watch", "--events", "tracefs", "--duration", "0.2"],
    );
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("namespaces cannot be read (CAP_SYS_PTRACE)"),
        "{stderr}"
    );
    // Without CAP_DAC_OVERRIDE no instance can be made.
    let out = run_as_nobody(
        &["sys_ptrace"],
        &["watch", "--events", "tracefs", "--duration", "0.2"],
    );
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("CAP_DAC_OVERRIDE"), "{stderr}");
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_as_nobody)),
    ignore = "needs root, ip, setpriv and a target directory nobody can enter: the binary run as nobody with chosen capabilities"
)]
fn abort_needs_net_admin() {
    let _host = crate::common::host::shared();
    let (c, mut s) = connection();
    let cport = c.local_addr().unwrap().port().to_string();
    let out = run_as_nobody(&[], &["kill", "--sport", &cport, "--yes"]);
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("needs CAP_NET_ADMIN"), "{stderr}");
    assert_eq!(peek(&mut s), Err(ErrorKind::WouldBlock), "no RST came");

    let out = run_as_nobody(&["net_admin"], &["kill", "--sport", &cport, "--yes"]);
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        read_within(&mut s),
        Err(ErrorKind::ConnectionReset),
        "the peer got the RST"
    );
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_as_nobody)),
    ignore = "needs root, ip, setpriv and a target directory nobody can enter: the binary run as nobody with chosen capabilities"
)]
fn graceful_shutdown_needs_sys_ptrace_and_dac_read_search() {
    let _host = crate::common::host::shared();
    let (c, mut s) = connection();
    let cport = c.local_addr().unwrap().port().to_string();
    for caps in [&[][..], &["sys_ptrace"], &["dac_read_search"]] {
        let out = run_as_nobody(caps, &["shutdown", "--sport", &cport, "--yes"]);
        let stderr = stderr_of(&out);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "with {caps:?}: {stderr}");
        assert!(
            stderr.contains("CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH"),
            "with {caps:?}: {stderr}"
        );
        assert!(
            stdout.contains("no process this user can see holds it"),
            "with {caps:?}: {stdout}"
        );
        assert_eq!(peek(&mut s), Err(ErrorKind::WouldBlock), "no FIN came");
    }
    let out = run_as_nobody(
        &["sys_ptrace", "dac_read_search"],
        &["shutdown", "--sport", &cport, "--yes"],
    );
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("pid {}", std::process::id())),
        "done through this process's fd"
    );
    assert_eq!(read_within(&mut s), Ok(0), "the peer read the FIN");
}

/// `list` as nobody: with CAP_SYS_PTRACE alone other users' fd tables stay closed; with
/// CAP_DAC_READ_SEARCH too, root's socket has its owner.
#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_as_nobody)),
    ignore = "needs root, ip, setpriv and a target directory nobody can enter: the binary run as nobody with chosen capabilities"
)]
fn owners_need_sys_ptrace_and_dac_read_search() {
    let _host = crate::common::host::shared();
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port().to_string();
    let list = |caps: &[&str]| {
        let out = run_as_nobody(caps, &["list", "--json", "--sport", &port]);
        let sockets: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        let owned = sockets
            .iter()
            .any(|s| s["owners"].as_array().is_some_and(|o| !o.is_empty()));
        (owned, stderr_of(&out))
    };
    for caps in [&["sys_ptrace"][..], &["dac_read_search"]] {
        let (owned, stderr) = list(caps);
        assert!(!owned, "{caps:?} alone saw the owner: {stderr}");
        assert!(
            stderr.contains("CAP_SYS_PTRACE") && stderr.contains("CAP_DAC_READ_SEARCH"),
            "{stderr}"
        );
    }
    let (owned, stderr) = list(&["sys_ptrace", "dac_read_search"]);
    assert!(owned, "both capabilities, and still no owner: {stderr}");
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_as_nobody)),
    ignore = "needs root, ip, setpriv and a target directory nobody can enter: the binary run as nobody with chosen capabilities"
)]
fn entering_a_namespace_needs_sys_admin() {
    let _host = crate::common::host::shared();
    let ns = Netns::new("privileges");
    let listener = in_ns(Some(&ns), || TcpListener::bind("127.0.0.1:0").unwrap());
    let port = listener.local_addr().unwrap().port().to_string();
    let args = ["list", "--json", "--netns", &ns.name, "--sport", &port];
    let out = run_as_nobody(&[], &args);
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("needs CAP_SYS_ADMIN"), "{stderr}");
    let out = run_as_nobody(&["sys_admin"], &args);
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let sockets: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sockets.len(), 1, "the namespace's listener: {sockets:?}");
    assert_eq!(sockets[0]["state"], "LISTEN");
}

/// The README's `setcap` line, applied to a copy of the binary: nobody running it (with no
/// capability of its own) gets the exact feed, owners and abort.
#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_as_nobody, tcpscope_test_has_setcap)),
    ignore = "needs root, setpriv and setcap (libcap2-bin): a copy of the binary with file capabilities"
)]
fn the_readme_setcap_line_works() {
    let _host = crate::common::host::shared();
    let readme = include_str!("../../README.md");
    let (_, section) = readme
        .split_once("### Running without root")
        .expect("README: a section \"Running without root\"");
    let caps = section
        .lines()
        .find_map(|l| l.strip_prefix("sudo setcap "))
        .and_then(|l| l.split_whitespace().next())
        .expect("README: a `sudo setcap CAPS+ep …` line");
    let dir = std::env::temp_dir().join(format!("tcpscope-test-setcap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let _cleanup = Cleanup(dir.clone());
    let bin = dir.join("tcpscope");
    std::fs::copy(env!("CARGO_BIN_EXE_tcpscope"), &bin).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let set = Command::new("setcap").arg(caps).arg(&bin).output().unwrap();
    assert!(set.status.success(), "setcap {caps}: {}", stderr_of(&set));
    let nobody = |args: &[&str]| nobody_running(&bin, &[]).args(args).output().unwrap();
    let (c, mut s) = connection();
    let cport = c.local_addr().unwrap().port().to_string();
    // Owners of root's socket.
    let out = nobody(&["list", "--json", "--sport", &cport]);
    let sockets: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        sockets[0]["owners"][0]["pid"],
        std::process::id(),
        "{}",
        stderr_of(&out)
    );
    // The exact feed, by eBPF: no caveat.
    let out = nobody(&["watch", "--duration", "0.2"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(stderr_of(&out), "", "events by eBPF, nothing to say");
    // Abort.
    let out = nobody(&["kill", "--sport", &cport, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(read_within(&mut s), Err(ErrorKind::ConnectionReset));
}

struct Cleanup(std::path::PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
