//! The interactive view with kernel events on a real host, in a real pseudo-terminal (tmux):
//! started with `--netns A` it shows exactly A's connections and none of B's, even when B
//! has the very same 4-tuples and churns while a process of A is busy on the CPU (an event
//! belongs to its socket's namespace, not to the task that happens to run when it fires).
//!
//! B's churn and A's busy process share one CPU, and B's servers close only after their
//! delayed ACKs of the clients' FINs went out: those ACKs, and the clients' FIN_WAIT1 →
//! FIN_WAIT2 → CLOSE they cause, run in a timer's softirq in the context of whatever task
//! the CPU runs then, mostly A's busy process. A source that places events by the task (the
//! tracefs reader, with `--events tracefs`) then shows B's closed clients as A's.

use crate::common;

use common::tmux::Tmux;
use common::{Netns, Reaped, in_ns, wait_until};
use rustix::thread::{CpuSet, sched_getaffinity, sched_setaffinity};
use socket2::{Domain, Socket, Type};
use std::net::{SocketAddr, TcpListener};
use std::process::Command;
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

const SERVER: &str = "127.0.0.1:8080";
/// The client ports of A's connections; B connects from the same ones.
const CLIENT_PORTS: [u16; 3] = [42001, 42002, 42003];
/// B's short connections, from ephemeral ports.
const CHURN: usize = 300;

type Job = Box<dyn FnOnce() -> Vec<Socket> + Send>;

/// A thread inside a namespace that runs jobs there and holds the sockets they make until
/// it is dropped (also when an assertion fails: the drop closes the job queue, which ends
/// the thread).
struct Holder {
    what: &'static str,
    jobs: Option<mpsc::Sender<Job>>,
    done: mpsc::Receiver<()>,
    thread: Option<JoinHandle<()>>,
}

impl Holder {
    fn start(what: &'static str, ns: &Arc<Netns>) -> Holder {
        let (jobs, queue) = mpsc::channel::<Job>();
        let (done_tx, done) = mpsc::channel();
        let ns = Arc::clone(ns);
        let thread = std::thread::spawn(move || {
            in_ns(Some(&ns), move || {
                let mut held = Vec::new();
                for job in queue {
                    held.extend(job());
                    if done_tx.send(()).is_err() {
                        break;
                    }
                }
                drop(held);
            });
        });
        Holder {
            what,
            jobs: Some(jobs),
            done,
            thread: Some(thread),
        }
    }

    /// Queues `job`; it runs in the namespace while this thread goes on.
    fn run(&self, job: impl FnOnce() -> Vec<Socket> + Send + 'static) {
        self.jobs.as_ref().unwrap().send(Box::new(job)).unwrap();
    }

    /// Waits for the oldest queued job to end.
    fn finished(&self) {
        let r = self.done.recv_timeout(Duration::from_secs(60));
        assert!(r.is_ok(), "{}: a job failed or hangs ({r:?})", self.what);
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        drop(self.jobs.take());
        let thread = self.thread.take().unwrap();
        if !std::thread::panicking() {
            thread.join().unwrap();
        }
    }
}

/// One CPU this test may run on (the last one).
fn one_cpu() -> CpuSet {
    let allowed = sched_getaffinity(None).unwrap();
    let cpu = (0..CpuSet::MAX_CPU)
        .rev()
        .find(|c| allowed.is_set(*c))
        .unwrap();
    let mut set = CpuSet::new();
    set.set(cpu);
    set
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn tcp() -> Socket {
    Socket::new(Domain::IPV4, Type::STREAM, None).unwrap()
}

/// A listener on 127.0.0.1:8080 of the calling thread's namespace.
fn listen() -> Arc<TcpListener> {
    let s = tcp();
    s.set_reuse_address(true).unwrap();
    s.bind(&addr(SERVER).into()).unwrap();
    s.listen(1024).unwrap();
    Arc::new(s.into())
}

/// A connection to the listener from `port` (0: an ephemeral one): the client, the
/// accepted end.
fn connect(listener: &TcpListener, port: u16) -> [Socket; 2] {
    let client = tcp();
    if port != 0 {
        client
            .bind(&SocketAddr::from(([127, 0, 0, 1], port)).into())
            .unwrap();
    }
    client.connect(&addr(SERVER).into()).unwrap();
    let (server, _) = listener.accept().unwrap();
    [client, server.into()]
}

/// The rows of the connections table: (state, local, remote, time in state).
fn rows(screen: &str) -> Vec<[&str; 4]> {
    // From the header to the pane's bottom border (`│…│└──┘`, no `││` in it).
    screen
        .lines()
        .skip_while(|line| !line.contains("││State "))
        .skip(1)
        .map_while(|line| line.split_once("││").map(|(_, table)| table))
        .filter_map(|table| {
            let cells: Vec<&str> = table
                .trim_end_matches('│')
                .split_whitespace()
                .filter(|t| *t != "→")
                .collect();
            match cells[..] {
                [state, local, remote, .., in_state] => Some([state, local, remote, in_state]),
                _ => None,
            }
        })
        .collect()
}

/// Seconds in the state as the row shows them (`3.2s`, `4m05s`).
fn seconds(in_state: &str) -> f64 {
    match in_state.strip_suffix('s').map(str::parse::<f64>) {
        Some(Ok(s)) => s,
        _ if in_state.contains('m') || in_state.contains('h') => 60.0,
        _ => 0.0,
    }
}

/// The count after `title` in a pane's title, e.g. 12 in `┌ Transitions 12 ──` for
/// `Transitions `.
fn title_count(screen: &str, title: &str) -> Option<usize> {
    let (_, rest) = screen.split_once(&format!("┌ {title}"))?;
    let number: String = rest.chars().take_while(char::is_ascii_digit).collect();
    number.parse().ok()
}

/// The (local, remote) of each line of the transitions pane.
fn logged(screen: &str) -> Vec<(&str, &str)> {
    screen
        .lines()
        .skip_while(|l| !l.contains("┌ Transitions "))
        .skip(1)
        .filter_map(|l| l.split_once("││").map(|(_, log)| log))
        .filter_map(|log| {
            let cells: Vec<&str> = log.split_whitespace().collect();
            let at = cells.iter().position(|t| *t == ">")?;
            Some((*cells.get(at.checked_sub(1)?)?, *cells.get(at + 1)?))
        })
        .collect()
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_has_tmux)),
    ignore = "needs root, ip and tmux: the view in namespaces of its own"
)]
fn netns_view_shows_exactly_its_namespace_while_another_churns_the_same_tuples() {
    let _host = crate::common::host::shared();
    let a = Arc::new(Netns::new("tui-a"));
    let b = Arc::new(Netns::new("tui-b"));
    let listener_a = in_ns(Some(&a), listen);
    let listener_b = in_ns(Some(&b), listen);

    let Some(tui) = Tmux::start_sized(
        "netns",
        &format!("--netns {} --interval 200", a.name),
        120,
        50,
    ) else {
        return;
    };
    tui.wait("A's listener", |s| {
        rows(s).iter().any(|r| r[0] == "LISTEN" && r[1] == SERVER)
    });

    // A process of A spins throughout, on the CPU where B will churn.
    let cpu = one_cpu();
    let busy = Command::new("ip")
        .args(["netns", "exec", &a.name, "sh", "-c", "while :; do :; done"])
        .spawn()
        .unwrap();
    let busy = Reaped(busy);
    let pid = busy.0.id();
    sched_setaffinity(rustix::process::Pid::from_raw(pid as i32), &cpu).unwrap();
    let ns_of = |pid: String| std::fs::read_link(format!("/proc/{pid}/ns/net")).ok();
    let a_ns = in_ns(Some(&a), || ns_of("thread-self".into()));
    assert!(
        wait_until(Duration::from_secs(10), || {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "sh")
                && ns_of(pid.to_string()) == a_ns
        }),
        "the busy process {pid} did not start in {}",
        a.name
    );

    // B: the same 4-tuples as A's, held open, then a churn of short connections: the
    // clients close, the servers once no client waits for the ACK of its FIN. A at the same
    // time: two of its connections now, the third once B's churn is over (when the screen
    // shows that one, the events of the churn came before it).
    let in_b = Holder::start("B", &b);
    let in_a = Holder::start("A", &a);
    let l = Arc::clone(&listener_b);
    let b_name = b.name.clone();
    in_b.run(move || {
        sched_setaffinity(None, &cpu).unwrap();
        let held: Vec<Socket> = CLIENT_PORTS.iter().flat_map(|p| connect(&l, *p)).collect();
        let churn: Vec<[Socket; 2]> = (0..CHURN).map(|_| connect(&l, 0)).collect();
        let (clients, servers): (Vec<Socket>, Vec<Socket>) =
            churn.into_iter().map(|[c, s]| (c, s)).unzip();
        drop(clients);
        let fin_wait1 = || {
            let out = Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &b_name,
                    "ss",
                    "-Htn",
                    "state",
                    "fin-wait-1",
                ])
                .output()
                .unwrap();
            assert!(out.status.success(), "ss in B: {out:?}");
            !out.stdout.is_empty()
        };
        assert!(
            wait_until(Duration::from_secs(10), || !fin_wait1()),
            "B's clients are still in FIN_WAIT1"
        );
        drop(servers);
        held
    });
    let l = Arc::clone(&listener_a);
    in_a.run(move || {
        CLIENT_PORTS[..2]
            .iter()
            .flat_map(|p| connect(&l, *p))
            .collect()
    });
    in_a.finished();
    in_b.finished();
    let l = Arc::clone(&listener_a);
    in_a.run(move || connect(&l, CLIENT_PORTS[2]).into());
    in_a.finished();

    let client = |p: u16| format!("127.0.0.1:{p}");
    let row = |state: &str, local: &str, remote: &str| {
        [state.to_string(), local.to_string(), remote.to_string()]
    };
    let mut expected = vec![row("LISTEN", SERVER, "0.0.0.0:*")];
    for p in CLIENT_PORTS {
        expected.push(row("ESTABLISHED", SERVER, &client(p)));
        expected.push(row("ESTABLISHED", &client(p), SERVER));
    }
    expected.sort();
    // A's connections, the last one for 2 s of the view's own clock (10 refreshes) after
    // the churn in B ended; or more rows than A has (B's may push A's off the screen).
    let last = client(CLIENT_PORTS[2]);
    let s = tui.wait("A's three connections, the last for 2 s", |s| {
        let rows = rows(s);
        if title_count(s, "Connections all ports (").is_some_and(|n| n > expected.len()) {
            return true;
        }
        let shown = |state: &str, local: &str, remote: &str| {
            rows.iter()
                .any(|r| r[0] == state && r[1] == local && r[2] == remote)
        };
        CLIENT_PORTS.iter().all(|p| {
            shown("ESTABLISHED", SERVER, &client(*p)) && shown("ESTABLISHED", &client(*p), SERVER)
        }) && rows
            .iter()
            .filter(|r| r[1] == last || r[2] == last)
            .all(|r| seconds(r[3]) >= 2.0)
    });

    assert!(
        s.lines()
            .next()
            .is_some_and(|h| h.contains("events: traced (ebpf)")),
        "the header does not say the events are traced by eBPF:\n{s}"
    );
    // Exactly A's rows: each of A's 4-tuples once per end, nothing else (no row of B's, not
    // even a closed one).
    let mut shown: Vec<[String; 3]> = rows(&s).iter().map(|r| row(r[0], r[1], r[2])).collect();
    shown.sort();
    assert_eq!(
        shown, expected,
        "the rows are not exactly A's; screen:\n{s}"
    );
    assert!(
        s.contains(&format!("Connections all ports ({}) ", expected.len())),
        "the table counts other rows than A's; screen:\n{s}"
    );
    // The transitions: A's connections' only (each end: the handshake's two), none of B's.
    let log = logged(&s);
    let ours = |a: &str| a == SERVER || CLIENT_PORTS.iter().any(|p| a == client(*p));
    assert!(
        !log.is_empty() && log.iter().all(|(l, r)| ours(l) && ours(r)),
        "transitions of connections not of A are logged; screen:\n{s}"
    );
    assert_eq!(
        title_count(&s, "Transitions "),
        Some(4 * CLIENT_PORTS.len()),
        "not exactly A's transitions are logged; screen:\n{s}"
    );

    tui.keys(&["q"]);
    tui.wait("the exit", |s| s.contains("EXIT:0"));
    drop(in_a);
    drop(in_b);
    drop(busy);
}
