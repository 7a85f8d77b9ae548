//! Real servers from Debian under load (nginx, haproxy in front of nginx, redis), each in a
//! network namespace of the test's own, watched by the real binary with each event source.
//! Checked against the namespace's own counters in the same run: every timewait socket the
//! kernel made (TcpExtTW) is reported → TIME_WAIT, within 0.5 %, even when a new SYN reuses
//! its 4-tuple milliseconds later; → ESTABLISHED as often as ActiveOpens + PassiveOpens;
//! nothing leaves CLOSE but for SYN_SENT, LISTEN or GONE; times never go back; nothing lost.
//! Needs root and the servers (.ci/run installs them); says what it skips.

use crate::common;

use common::{Netns, Reaped, in_ns, wait_until};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The namespace's TCP counters (`/proc/net/netstat` and `/proc/net/snmp` read inside it).
fn counters(ns: &Netns) -> HashMap<String, u64> {
    let out = ns.exec(&["cat", "/proc/net/netstat", "/proc/net/snmp"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    let mut map = HashMap::new();
    for pair in lines.chunks(2) {
        let [names, values] = pair else { continue };
        let (Some((group, names)), Some((_, values))) =
            (names.split_once(':'), values.split_once(':'))
        else {
            continue;
        };
        for (n, v) in names.split_whitespace().zip(values.split_whitespace()) {
            if let Ok(v) = v.parse() {
                map.insert(format!("{group}{n}"), v);
            }
        }
    }
    map
}

/// A server process of the test's, ended on drop.
fn server(ns: &Netns, cmd: &[&str]) -> Reaped {
    Reaped(
        Command::new("ip")
            .args(["netns", "exec", &ns.name])
            .args(cmd)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

/// What the watch printed, counted as it comes (the runs print hundreds of thousands of lines).
#[derive(Default)]
struct Tally {
    lines: u64,
    time_wait: u64,
    established: u64,
    bad_from_close: Vec<String>,
    ts_back: u64,
    last_ts: u64,
    listeners: Vec<u16>,
}

/// The value of `key` (given as `"key":`) in a JSON line, without parsing the line: the runs
/// print half a million lines, which must be read faster than tcpscope writes them.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let at = line.find(key)? + key.len();
    let rest = &line[at..];
    let rest = rest.strip_prefix('"').unwrap_or(rest);
    let end = rest.find(['"', ',', '}'])?;
    Some(&rest[..end])
}

impl Tally {
    fn add(&mut self, line: &str) {
        self.lines += 1;
        let to = field(line, "\"to\":").unwrap_or_default();
        let from = field(line, "\"from\":").unwrap_or_default();
        match to {
            "TIME_WAIT" => self.time_wait += 1,
            "ESTABLISHED" => self.established += 1,
            "LISTEN" => self
                .listeners
                .extend(field(line, "\"local_port\":").and_then(|p| p.parse::<u16>().ok())),
            _ => {}
        }
        if from == "CLOSE" && !["SYN_SENT", "LISTEN", "GONE"].contains(&to) {
            self.bad_from_close.push(line.to_string());
        }
        let ts: u64 = field(line, "\"ts_ns\":")
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        if ts < self.last_ts {
            self.ts_back += 1;
        }
        self.last_ts = self.last_ts.max(ts);
    }
}

struct Watch {
    child: Child,
    tally: Arc<Mutex<Tally>>,
}

impl Watch {
    fn start(ns: &Netns, events: &str) -> Watch {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tcpscope"))
            .args(["watch", "--json", "--events", events, "--netns", &ns.name])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let tally = Arc::new(Mutex::new(Tally::default()));
        let t = tally.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::with_capacity(1 << 20, out);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                t.lock().unwrap().add(&line);
                line.clear();
            }
        });
        let w = Watch { child, tally };
        // Running once a listener made now shows up.
        let mut probes = Vec::new();
        let ready = wait_until(Duration::from_secs(30), || {
            let probe = in_ns(Some(ns), || TcpListener::bind("127.0.0.1:0").unwrap());
            let port = probe.local_addr().unwrap().port();
            probes.push(probe);
            wait_until(Duration::from_millis(400), || {
                w.tally.lock().unwrap().listeners.contains(&port)
            })
        });
        assert!(ready, "watch never got ready");
        w
    }

    /// Ends the watch (SIGINT, as a user would) and returns its stderr.
    fn stop(mut self) -> String {
        let pid = rustix::process::Pid::from_raw(i32::try_from(self.child.id()).unwrap()).unwrap();
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::INT);
        let _ = self.child.wait();
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        err
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn delta(before: &HashMap<String, u64>, after: &HashMap<String, u64>, key: &str) -> u64 {
    after.get(key).copied().unwrap_or(0) - before.get(key).copied().unwrap_or(0)
}

/// Runs `load` in `ns` under a watch with `events`, then checks the watch against the
/// namespace's counters.
fn check(what: &str, ns: &Netns, events: &str, load: &dyn Fn()) {
    let watch = Watch::start(ns, events);
    let before = counters(ns);
    load();
    let after = counters(ns);
    let tw = delta(&before, &after, "TcpExtTW");
    let opens =
        delta(&before, &after, "TcpActiveOpens") + delta(&before, &after, "TcpPassiveOpens");
    assert!(tw > 100, "{what}: the load made only {tw} timewait sockets");
    assert_eq!(
        delta(&before, &after, "TcpExtTCPTimeWaitOverflow"),
        0,
        "{what}: the kernel ran out of timewait buckets"
    );
    // Everything is reported within a few seconds.
    wait_until(Duration::from_secs(30), || {
        let t = watch.tally.lock().unwrap();
        t.time_wait >= tw && t.established >= opens
    });
    // What may still come late (too many) has time to show.
    std::thread::sleep(Duration::from_millis(1500));
    let tally = watch.tally.clone();
    let stderr = watch.stop();
    let t = tally.lock().unwrap();
    println!(
        "{what} ({events}): {} lines; → TIME_WAIT {} (TcpExtTW {tw}); → ESTABLISHED {} (opens {opens})",
        t.lines, t.time_wait, t.established
    );
    let off = t.time_wait.abs_diff(tw) as f64 / tw as f64;
    assert!(
        off <= 0.005,
        "{what} ({events}): → TIME_WAIT {} vs TcpExtTW {tw} ({:.2} % off); → ESTABLISHED {} vs opens {opens}; stderr: {stderr}",
        t.time_wait,
        off * 100.0,
        t.established
    );
    assert_eq!(
        t.established, opens,
        "{what} ({events}): → ESTABLISHED vs opens"
    );
    assert!(
        t.bad_from_close.is_empty(),
        "{what} ({events}): out of CLOSE: {:?}",
        &t.bad_from_close[..t.bad_from_close.len().min(5)]
    );
    assert_eq!(t.ts_back, 0, "{what} ({events}): ts_ns went back");
    assert!(
        !stderr.contains("dropped"),
        "{what} ({events}): events lost: {stderr}"
    );
}

/// A directory of the test's own, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let p = std::env::temp_dir().join(format!("tcpscope-test-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(p.join("logs")).unwrap();
        Dir(p)
    }

    fn write(&self, name: &str, text: &str) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn nginx(ns: &Netns, dir: &Dir) -> Reaped {
    let prefix = dir.0.display().to_string();
    let conf = dir.write(
        "nginx.conf",
        &format!(
            "worker_processes 2;\nerror_log {prefix}/logs/error.log;\npid {prefix}/nginx.pid;\n\
             events {{ worker_connections 4096; }}\n\
             http {{ access_log off; server {{ listen 127.0.0.1:8080; location / {{ return 200 \"ok\\n\"; }} }} }}\n"
        ),
    );
    let s = server(
        ns,
        &["nginx", "-p", &prefix, "-c", &conf, "-g", "daemon off;"],
    );
    wait_for_port(ns, 8080);
    s
}

fn wait_for_port(ns: &Netns, port: u16) {
    let up = wait_until(Duration::from_secs(10), || {
        let out = ns.exec(&["ss", "-Htln", &format!("sport = :{port}")]);
        !String::from_utf8_lossy(&out.stdout).trim().is_empty()
    });
    assert!(up, "nothing listens on :{port}");
}

fn wrk(ns: &Netns, url: &str) {
    let out = ns.exec(&["wrk", "-t2", "-c8", "-d2s", "-H", "Connection: close", url]);
    assert!(
        out.status.success(),
        "wrk: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn nginx_run(events: &str) {
    let ns = Netns::new(&format!("nginx-{events}"));
    let dir = Dir::new(&format!("nginx-{events}"));
    let _nginx = nginx(&ns, &dir);
    check("nginx + wrk", &ns, events, &|| {
        wrk(&ns, "http://127.0.0.1:8080/")
    });
}

fn haproxy_run(events: &str) {
    let ns = Netns::new(&format!("haproxy-{events}"));
    let dir = Dir::new(&format!("haproxy-{events}"));
    let _nginx = nginx(&ns, &dir);
    let conf = dir.write(
        "haproxy.cfg",
        "global\n  maxconn 4096\ndefaults\n  mode http\n  timeout connect 2s\n  timeout client 5s\n  timeout server 5s\n\
         frontend front\n  bind 127.0.0.1:8081\n  default_backend back\n\
         backend back\n  server nginx 127.0.0.1:8080\n",
    );
    let _haproxy = server(&ns, &["haproxy", "-db", "-f", &conf]);
    wait_for_port(&ns, 8081);
    check("haproxy + nginx + wrk", &ns, events, &|| {
        wrk(&ns, "http://127.0.0.1:8081/");
    });
}

fn redis_run(events: &str) {
    let ns = Netns::new(&format!("redis-{events}"));
    let dir = Dir::new(&format!("redis-{events}"));
    let _redis = server(
        &ns,
        &[
            "redis-server",
            "--port",
            "6379",
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            &dir.0.display().to_string(),
        ],
    );
    wait_for_port(&ns, 6379);
    check("redis + redis-benchmark", &ns, events, &|| {
        // -k 0: a new connection for every request.
        let out = ns.exec(&[
            "redis-benchmark",
            "-q",
            "-n",
            "20000",
            "-c",
            "8",
            "-k",
            "0",
            "-t",
            "ping",
        ]);
        assert!(
            out.status.success(),
            "redis-benchmark: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

#[test]
#[cfg_attr(
    not(all(
        tcpscope_test_root,
        tcpscope_test_has_ip,
        tcpscope_test_has_nginx,
        tcpscope_test_has_wrk,
        tcpscope_test_has_ss
    )),
    ignore = "needs root, ip and nginx, wrk, ss (.ci/run installs them)"
)]
fn nginx_with_ebpf() {
    let _host = crate::common::host::alone();
    nginx_run("bpf");
}

#[test]
#[cfg_attr(
    not(all(
        tcpscope_test_root,
        tcpscope_test_has_ip,
        tcpscope_test_has_nginx,
        tcpscope_test_has_wrk,
        tcpscope_test_has_ss
    )),
    ignore = "needs root, ip and nginx, wrk, ss (.ci/run installs them)"
)]
fn nginx_with_tracefs() {
    let _host = crate::common::host::alone();
    nginx_run("tracefs");
}

#[test]
#[cfg_attr(
    not(all(
        tcpscope_test_root,
        tcpscope_test_has_ip,
        tcpscope_test_has_haproxy,
        tcpscope_test_has_nginx,
        tcpscope_test_has_wrk,
        tcpscope_test_has_ss
    )),
    ignore = "needs root, ip and haproxy, nginx, wrk, ss (.ci/run installs them)"
)]
fn haproxy_with_ebpf() {
    let _host = crate::common::host::alone();
    haproxy_run("bpf");
}

#[test]
#[cfg_attr(
    not(all(
        tcpscope_test_root,
        tcpscope_test_has_ip,
        tcpscope_test_has_haproxy,
        tcpscope_test_has_nginx,
        tcpscope_test_has_wrk,
        tcpscope_test_has_ss
    )),
    ignore = "needs root, ip and haproxy, nginx, wrk, ss (.ci/run installs them)"
)]
fn haproxy_with_tracefs() {
    let _host = crate::common::host::alone();
    haproxy_run("tracefs");
}

#[test]
#[cfg_attr(
    not(all(
        tcpscope_test_root,
        tcpscope_test_has_ip,
        tcpscope_test_has_redis_server,
        tcpscope_test_has_redis_benchmark,
        tcpscope_test_has_ss
    )),
    ignore = "needs root, ip and redis-server, redis-benchmark, ss (.ci/run installs them)"
)]
fn redis_with_ebpf() {
    let _host = crate::common::host::alone();
    redis_run("bpf");
}

#[test]
#[cfg_attr(
    not(all(
        tcpscope_test_root,
        tcpscope_test_has_ip,
        tcpscope_test_has_redis_server,
        tcpscope_test_has_redis_benchmark,
        tcpscope_test_has_ss
    )),
    ignore = "needs root, ip and redis-server, redis-benchmark, ss (.ci/run installs them)"
)]
fn redis_with_tracefs() {
    let _host = crate::common::host::alone();
    redis_run("tracefs");
}
