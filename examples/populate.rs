//! Fills a network namespace with TCP sockets for tests and benchmarks: N established loopback
//! pairs, plus listeners and a few sockets in each teardown state that lasts (CLOSE_WAIT,
//! FIN_WAIT2 with and without timer, TIME_WAIT), in IPv4 and IPv6.
//!
//!   populate --netns NAME --pairs N [--extras K]
//!
//! Pairs are spread over worker processes (this program run again with `--worker`), as many as
//! the fd limit requires. It prints `ready` when every socket is in place and keeps them until
//! its standard input closes. Needs root (to enter the namespace).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};

/// Pairs per worker stay well below the fd limit: two fds a pair.
fn pairs_per_worker() -> usize {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    let hard = limit.maximum.unwrap_or(1 << 20);
    let _ = rustix::process::setrlimit(
        rustix::process::Resource::Nofile,
        rustix::process::Rlimit {
            current: Some(hard),
            maximum: limit.maximum,
        },
    );
    usize::try_from(hard.saturating_sub(200) / 2)
        .unwrap_or(50_000)
        .clamp(100, 50_000)
}

const WORKER_PORT_BASE: u16 = 20000;
const EXTRAS_PORT: u16 = 7000;

fn main() {
    if let Err(e) = run() {
        eprintln!("populate: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let get = |name: &str| -> Option<String> {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let netns = get("--netns");
    if let Some(name) = &netns {
        tcpscope::sources::netns::enter(name).map_err(|e| e.to_string())?;
    }
    if let Some(index) = get("--worker") {
        let index: u16 = index.parse().map_err(|_| "bad --worker")?;
        let count: usize = get("--count")
            .and_then(|c| c.parse().ok())
            .ok_or("bad --count")?;
        return worker(index, count);
    }
    let pairs: usize = get("--pairs")
        .map_or(Ok(1000), |p| p.parse())
        .map_err(|_| "bad --pairs")?;
    let extras: usize = get("--extras")
        .map_or(Ok(4), |p| p.parse())
        .map_err(|_| "bad --extras")?;
    // Listener ports sit below the default ephemeral range (32768-60999), so that no client's
    // port can take them; each worker's clients get that whole range for its one listener.

    let per = pairs_per_worker();
    let mut workers: Vec<Child> = Vec::new();
    let mut left = pairs;
    let mut index = 0u16;
    while left > 0 {
        let count = left.min(per);
        let mut cmd = Command::new(std::env::current_exe().map_err(|e| e.to_string())?);
        if let Some(name) = &netns {
            cmd.args(["--netns", name]);
        }
        let mut child = cmd
            .args([
                "--worker",
                &index.to_string(),
                "--count",
                &count.to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("spawning a worker: {e}"))?;
        wait_ready(&mut child)?;
        workers.push(child);
        left -= count;
        index += 1;
    }

    let _keep = teardown_states(extras).map_err(|e| format!("extras: {e}"))?;
    let pids: Vec<String> = workers.iter().map(|w| w.id().to_string()).collect();
    println!(
        "ready pairs={pairs} workers={} worker_pids={} pid={}",
        workers.len(),
        pids.join(","),
        std::process::id()
    );
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    // Hold everything until told to go.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    for mut w in workers {
        drop(w.stdin.take());
        let _ = w.wait();
    }
    Ok(())
}

fn wait_ready(child: &mut Child) -> Result<(), String> {
    let out = child.stdout.take().ok_or("worker without stdout")?;
    let mut line = String::new();
    BufReader::new(out)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    if line.trim() == "ready" {
        Ok(())
    } else {
        Err(format!("worker failed: {line:?}"))
    }
}

fn worker(index: u16, count: usize) -> Result<(), String> {
    pairs_per_worker();
    let port = WORKER_PORT_BASE + index;
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, port)).map_err(|e| format!("bind {port}: {e}"))?;
    let mut keep = Vec::with_capacity(count);
    for _ in 0..count {
        let client =
            TcpStream::connect((Ipv4Addr::LOCALHOST, port)).map_err(|e| format!("connect: {e}"))?;
        let (server, _) = listener.accept().map_err(|e| format!("accept: {e}"))?;
        keep.push((client, server));
    }
    println!("ready");
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    drop(keep);
    Ok(())
}

/// Sockets in each lasting teardown state, `extras` of each, in IPv4 and IPv6:
/// - CLOSE_WAIT + FIN_WAIT2 without timer: the client shuts down writing, keeps its fd;
/// - CLOSE_WAIT + FIN_WAIT2 with the timewait timer: the client closes, the server does not;
/// - TIME_WAIT: the client closes first, then the server.
/// - LISTEN with `extras` connections waiting in the accept queue.
fn teardown_states(extras: usize) -> std::io::Result<(Vec<TcpListener>, Vec<TcpStream>)> {
    let (mut listeners, mut keep) = (Vec::new(), Vec::new());
    for addr in [
        SocketAddr::from((Ipv4Addr::LOCALHOST, EXTRAS_PORT)),
        SocketAddr::from((Ipv6Addr::LOCALHOST, EXTRAS_PORT + 1)),
    ] {
        let listener = TcpListener::bind(addr)?;
        let pair = || -> std::io::Result<(TcpStream, TcpStream)> {
            let c = TcpStream::connect(listener.local_addr()?)?;
            let (s, _) = listener.accept()?;
            Ok((c, s))
        };
        for _ in 0..extras {
            let (c, s) = pair()?;
            c.shutdown(Shutdown::Write)?;
            keep.extend([c, s]);

            let (c, s) = pair()?;
            drop(c);
            keep.push(s);

            let (c, mut s) = pair()?;
            drop(c);
            // Wait for the client's FIN before closing, so the client is the active closer.
            let _ = s.read(&mut [0u8; 1]);
            drop(s);
        }
        for _ in 0..extras {
            keep.push(TcpStream::connect(listener.local_addr()?)?);
        }
        listeners.push(listener);
    }
    Ok((listeners, keep))
}
