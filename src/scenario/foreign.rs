//! Another process, for the scenarios that act on sockets tcpscope does not own: tcpscope
//! itself, started as `tcpscope __lab-foreign`, runs a lab of its own and takes calls one
//! line each on stdin, answering one line each on stdout.
//!
//! ```text
//! listen SPEC | connect SPEC        ok id=1 fd=5 inode=123 local=127.0.0.1:8080 peer=-
//! accept ID                          ok id=2 fd=6 inode=124 local=… peer=…
//! read ID                            ok read=eof | ok read=5
//! send ID N | shutdown ID rd|wr|rdwr | close ID | close-rst ID    ok
//! (a call that failed)               err ECONNABORTED
//! (a request it cannot make sense of) err bad request: unknown verb "frob"
//! ```
//!
//! Only the failure of a call the other process really made is answered with an errno name
//! (or, for a call on a socket it already closed, the lab's words for it): a malformed
//! request, an unknown verb or socket id, or a `send` of more than [`MAX_SEND`] bytes is a
//! bad request, which the scenario side reports as a scenario error, never as an errno.
//!
//! The other process never writes to the terminal: under the interactive lab (a TUI in raw
//! mode) that would land on the screen. Its stderr is piped to this process, which keeps the
//! last few lines to say why, should it end before answering.

use crate::actions::lab::{ConnectSpec, Lab, LabError, LabId, ListenSpec};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The hidden subcommand's name.
pub const SUBCOMMAND: &str = "__lab-foreign";

/// The most bytes one `send` may ask for: the other process makes them in memory.
pub const MAX_SEND: usize = 16 << 20;

/// The prefix of the answer to a request that cannot be played.
const BAD_REQUEST: &str = "bad request: ";

/// How many of the other process's last stderr lines are kept, and how long each may be.
const STDERR_LINES: usize = 8;
const STDERR_LINE_BYTES: usize = 1024;

/// How long the other process has to end once its stdin is closed, before it is killed.
const QUIT_GRACE: Duration = Duration::from_secs(1);
/// How long `call` waits for a process that stopped answering to end (and say why on stderr).
const ENDED_GRACE: Duration = Duration::from_secs(2);

/// A socket the other process made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Made {
    pub id: LabId,
    pub fd: i32,
    pub inode: u64,
    pub local: Option<SocketAddr>,
    pub peer: Option<SocketAddr>,
}

/// What a call in the other process gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Made(Made),
    Read(Option<usize>),
    Done,
    /// The call was made and failed: its errno name.
    Failed(String),
    /// The request was not understood (why): no call was made. [`ForeignProcess::call`]
    /// turns it into an error, so a scenario reports it as a call it could not play.
    Refused(String),
}

/// The serving side: runs until stdin ends. Returns the exit code.
pub fn serve() -> i32 {
    // Ctrl-C in a terminal reaches the whole foreground process group, this process too: the
    // scenario side decides when to stop, and closes stdin then. (A handler that only sets a
    // flag nobody reads replaces the default action, which would end this process.)
    let ignored = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let _ = signal_hook::flag::register(signal_hook::consts::SIGINT, ignored);
    let mut lab = Lab::new();
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut out = std::io::stdout().lock();
    loop {
        let line = match read_request(&mut input) {
            Ok(Some(line)) => line,
            Ok(None) => return 0,
            Err(why) => {
                eprintln!("tcpscope: {why}");
                return 1;
            }
        };
        let answer = handle(&mut lab, &line);
        if writeln!(out, "{answer}")
            .and_then(|()| out.flush())
            .is_err()
        {
            return 1;
        }
    }
}

/// The longest request line read: requests are a few words.
const MAX_REQUEST: u64 = 4096;

/// One request line; `None` at the end of the input. A line longer than `MAX_REQUEST` or not
/// in UTF-8 ends the conversation (the other side is not the scenario player).
fn read_request(input: &mut impl BufRead) -> Result<Option<String>, String> {
    let mut line = Vec::new();
    let n = input
        .by_ref()
        .take(MAX_REQUEST + 1)
        .read_until(b'\n', &mut line)
        .map_err(|e| format!("reading a request: {e}"))?;
    if n == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') && n as u64 > MAX_REQUEST {
        return Err(format!("a request longer than {MAX_REQUEST} bytes"));
    }
    let line = String::from_utf8(line).map_err(|_| "a request not in UTF-8".to_string())?;
    Ok(Some(line.trim_end_matches(['\n', '\r']).to_string()))
}

/// Why a request got no `ok`.
enum Refusal {
    /// Not understood, or naming no socket: no call was made.
    Bad(String),
    /// The call was made and failed.
    Call(LabError),
}

impl From<LabError> for Refusal {
    fn from(e: LabError) -> Refusal {
        match e {
            // The scenario side only names sockets this process made: an unknown id is its
            // mistake, not the call's.
            LabError::NoSuch(id) => Refusal::Bad(format!("no socket #{id}")),
            e => Refusal::Call(e),
        }
    }
}

fn bad(why: impl Into<String>) -> Refusal {
    Refusal::Bad(why.into())
}

fn made(lab: &Lab, id: LabId) -> Result<String, Refusal> {
    let s = lab.socket(id).ok_or(LabError::NoSuch(id))?;
    let addr = |a: Option<SocketAddr>| a.map_or("-".to_string(), |a| a.to_string());
    Ok(format!(
        "ok id={id} fd={} inode={} local={} peer={}",
        s.fd,
        s.inode,
        addr(s.local),
        addr(s.peer)
    ))
}

/// Plays one request line on `lab`; returns the answer line (`ok …` or `err …`). It never
/// writes anywhere itself.
pub(crate) fn handle(lab: &mut Lab, line: &str) -> String {
    match attempt(lab, line) {
        Ok(answer) => answer,
        Err(Refusal::Bad(why)) => format!("err {BAD_REQUEST}{why}"),
        Err(Refusal::Call(e)) => match e.errno_name() {
            Some(name) => format!("err {name}"),
            None => format!("err {e}"),
        },
    }
}

fn attempt(lab: &mut Lab, line: &str) -> Result<String, Refusal> {
    let (verb, rest) = line.trim().split_once(' ').unwrap_or((line.trim(), ""));
    let mut words = rest.split_whitespace();
    let mut id = || -> Result<LabId, Refusal> {
        let w = words.next().ok_or_else(|| bad(format!("{verb} ID")))?;
        w.parse::<LabId>()
            .map_err(|_| bad(format!("{w:?} is not a socket id")))
    };
    Ok(match verb {
        "listen" => {
            let spec = ListenSpec::parse(rest).map_err(bad)?;
            let id = lab.listen(&spec)?;
            made(lab, id)?
        }
        "connect" => {
            let spec = ConnectSpec::parse(rest).map_err(bad)?;
            let id = lab.connect(&spec)?;
            made(lab, id)?
        }
        "accept" => {
            let new = lab.accept(id()?)?;
            made(lab, new)?
        }
        "read" => match lab.read(id()?)? {
            d if d.is_empty() => "ok read=eof".into(),
            d => format!("ok read={}", d.len()),
        },
        "send" => {
            let id = id()?;
            let n = match words.next() {
                None => 1,
                Some(n) => n
                    .parse::<usize>()
                    .map_err(|_| bad(format!("{n:?} is not a byte count")))?,
            };
            if n > MAX_SEND {
                return Err(bad(format!("send of {n} bytes: at most {MAX_SEND}")));
            }
            lab.send(id, &vec![b'x'; n])?;
            "ok".into()
        }
        "shutdown" => {
            let id = id()?;
            let how = match words.next() {
                Some("rd") => Shutdown::Read,
                Some("wr") => Shutdown::Write,
                Some("rdwr") | None => Shutdown::Both,
                Some(w) => return Err(bad(format!("shutdown {w:?}: rd, wr or rdwr"))),
            };
            lab.shutdown(id, how)?;
            "ok".into()
        }
        "close" => {
            lab.close(id()?)?;
            "ok".into()
        }
        "close-rst" => {
            lab.close_linger0(id()?)?;
            "ok".into()
        }
        "" => return Err(bad("an empty line")),
        other => return Err(bad(format!("unknown verb {other:?}"))),
    })
}

/// The last lines a process wrote, at most [`STDERR_LINES`] of at most [`STDERR_LINE_BYTES`].
type Tail = Arc<Mutex<VecDeque<String>>>;

/// Reads `from` to its end, keeping its last lines in `tail`.
fn keep_tail(mut from: impl Read, tail: &Mutex<VecDeque<String>>) {
    let mut line: Vec<u8> = Vec::new();
    let keep = |line: &mut Vec<u8>| {
        let text = String::from_utf8_lossy(line).trim_end().to_string();
        line.clear();
        if text.is_empty() {
            return;
        }
        let mut tail = tail.lock().unwrap_or_else(PoisonError::into_inner);
        tail.push_back(text);
        while tail.len() > STDERR_LINES {
            tail.pop_front();
        }
    };
    let mut buf = [0u8; 4096];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        for &b in &buf[..n] {
            if b == b'\n' {
                keep(&mut line);
            } else if line.len() < STDERR_LINE_BYTES {
                line.push(b);
            }
        }
    }
    keep(&mut line);
}

/// Waits up to `grace` for `child` to end; returns whether it did.
fn ended_within(child: &mut Child, grace: Duration) -> bool {
    let deadline = Instant::now() + grace;
    loop {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return true,
            Ok(None) if Instant::now() >= deadline => return false,
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
        }
    }
}

/// The other process, from the scenario's side.
pub struct ForeignProcess {
    child: Child,
    /// `None` once closed (when dropped).
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    stderr: Tail,
    stderr_reader: Option<JoinHandle<()>>,
}

impl ForeignProcess {
    /// Starts it in the calling thread's network namespace.
    pub fn start() -> anyhow::Result<ForeignProcess> {
        let mut command = Command::new(std::env::current_exe()?);
        command.arg(SUBCOMMAND);
        ForeignProcess::spawn(command)
    }

    /// Starts `command` as the other process, its stdin, stdout and stderr piped here.
    fn spawn(mut command: Command) -> anyhow::Result<ForeignProcess> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let stderr_pipe = child.stderr.take();
        let (Some(stdin), Some(stdout), Some(stderr_pipe)) = (stdin, stdout, stderr_pipe) else {
            let _ = child.kill();
            let _ = child.wait();
            anyhow::bail!("the other process has no stdin, stdout or stderr pipe");
        };
        let stderr = Tail::default();
        let tail = Arc::clone(&stderr);
        let stderr_reader = std::thread::Builder::new()
            .name("lab-foreign-stderr".into())
            .spawn(move || keep_tail(stderr_pipe, &tail));
        let stderr_reader = match stderr_reader {
            Ok(t) => t,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e.into());
            }
        };
        Ok(ForeignProcess {
            child,
            stdin: Some(stdin),
            stdout: BufReader::new(stdout),
            stderr,
            stderr_reader: Some(stderr_reader),
        })
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap_or(0)
    }

    /// Sends one call and reads its answer. A bad request (see [`Answer::Refused`]) and an
    /// end of the other process are errors.
    pub fn call(&mut self, line: &str) -> anyhow::Result<Answer> {
        let mut answer = String::new();
        let sent = match self.stdin.as_mut() {
            Some(stdin) => writeln!(stdin, "{line}").and_then(|()| stdin.flush()),
            None => Err(std::io::ErrorKind::BrokenPipe.into()),
        };
        match sent.and_then(|()| self.stdout.read_line(&mut answer)) {
            Ok(n) if n > 0 => {}
            Ok(_) | Err(_) => anyhow::bail!("the other process ended: {}", self.why_ended()),
        }
        match parse_answer(answer.trim()) {
            Answer::Refused(why) => anyhow::bail!("the other process refused {line:?}: {why}"),
            a => Ok(a),
        }
    }

    /// Why the other process stopped answering: its last stderr line, or how it ended.
    fn why_ended(&mut self) -> String {
        let ended = ended_within(&mut self.child, ENDED_GRACE);
        // Its stderr ends with it: let the reader take in the last lines.
        if ended && let Some(reader) = self.stderr_reader.take() {
            let deadline = Instant::now() + ENDED_GRACE;
            while !reader.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
            if reader.is_finished() {
                let _ = reader.join();
            } else {
                self.stderr_reader = Some(reader);
            }
        }
        let last = self
            .stderr
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .back()
            .cloned();
        match (last, self.child.try_wait()) {
            (Some(line), _) => line,
            (None, Ok(Some(status))) => format!("{status}, nothing on stderr"),
            (None, _) => "it closed its stdout, nothing on stderr".into(),
        }
    }
}

impl Drop for ForeignProcess {
    fn drop(&mut self) {
        // Closing its stdin ends it: `serve` returns at the end of its input and its sockets
        // close as it exits. If it has not ended within QUIT_GRACE (stuck in a call), it is
        // killed. Either way it is waited for, so that no zombie is left, and so is the
        // thread reading its stderr (which ends with it).
        drop(self.stdin.take());
        if !ended_within(&mut self.child, QUIT_GRACE) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
    }
}

fn parse_answer(line: &str) -> Answer {
    let Some(rest) = line.strip_prefix("ok") else {
        let why = line.strip_prefix("err ").unwrap_or(line);
        return match why.strip_prefix(BAD_REQUEST) {
            Some(why) => Answer::Refused(why.to_string()),
            None => Answer::Failed(why.to_string()),
        };
    };
    let mut fields = std::collections::HashMap::new();
    for w in rest.split_whitespace() {
        if let Some((k, v)) = w.split_once('=') {
            fields.insert(k, v);
        }
    }
    if let Some(r) = fields.get("read") {
        return Answer::Read(r.parse().ok());
    }
    let Some(id) = fields.get("id").and_then(|v| v.parse().ok()) else {
        return Answer::Done;
    };
    let addr = |k: &str| fields.get(k).and_then(|v| v.parse().ok());
    Answer::Made(Made {
        id,
        fd: fields.get("fd").and_then(|v| v.parse().ok()).unwrap_or(-1),
        inode: fields
            .get("inode")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        local: addr("local"),
        peer: addr("peer"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse() {
        assert_eq!(
            parse_answer("ok id=2 fd=6 inode=9 local=127.0.0.1:8080 peer=-"),
            Answer::Made(Made {
                id: 2,
                fd: 6,
                inode: 9,
                local: Some("127.0.0.1:8080".parse().unwrap()),
                peer: None
            })
        );
        assert_eq!(parse_answer("ok read=eof"), Answer::Read(None));
        assert_eq!(parse_answer("ok read=5"), Answer::Read(Some(5)));
        assert_eq!(parse_answer("ok"), Answer::Done);
        assert_eq!(
            parse_answer("err ECONNABORTED"),
            Answer::Failed("ECONNABORTED".into())
        );
        // A bad request is no errno.
        assert_eq!(
            parse_answer("err bad request: unknown verb \"frob\""),
            Answer::Refused("unknown verb \"frob\"".into())
        );
        // A call on a socket already closed is the lab's words, as in this process.
        assert_eq!(
            parse_answer("err lab socket #3 is closed"),
            Answer::Failed("lab socket #3 is closed".into())
        );
    }

    /// Set in the copy of the test binary that [`bad_requests_are_answered_never_written`]
    /// starts.
    const QUIET_CHILD: &str = "TCPSCOPE_TEST_FOREIGN_QUIET_CHILD";

    /// Malformed requests, unknown verbs and ids, and a send too big to make in memory: each
    /// gets `err bad request: …`, which the scenario side never takes for an errno.
    fn answer_bad_requests() {
        let mut lab = Lab::new();
        for line in [
            "",
            "frobnicate 1",
            "listen",
            "listen nowhere",
            "listen 127.0.0.1:0 backlog=many",
            "connect",
            "connect 127.0.0.1:1 sideways",
            "accept",
            "accept x",
            "read 99",
            "close",
            "close-rst -1",
            "shutdown 1 sideways",
            "send 1 lots",
            // Far beyond MAX_SEND: made in memory, this aborts with a message on stderr.
            "send 1 999999999999999",
            "send 1 16777217",
        ] {
            let answer = handle(&mut lab, line);
            assert!(
                answer.starts_with("err bad request: "),
                "{line:?} → {answer:?}"
            );
            assert!(
                matches!(parse_answer(&answer), Answer::Refused(_)),
                "{line:?} → {answer:?}"
            );
        }
        // No call was made for any of them.
        assert!(lab.sockets().is_empty());
        assert!(lab.log().is_empty());
    }

    #[test]
    fn bad_requests_are_answered_never_written() {
        if std::env::var_os(QUIET_CHILD).is_some() {
            answer_bad_requests();
            return;
        }
        // The test harness captures what a test prints: run this test alone in a copy of
        // the test binary, whose stderr is a real one, to see that nothing is written there
        // (no message, no panic, no allocation failure).
        let name = "scenario::foreign::tests::bad_requests_are_answered_never_written";
        let out = Command::new(std::env::current_exe().unwrap())
            .args([name, "--exact", "--nocapture", "--test-threads=1"])
            .env(QUIET_CHILD, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{}\n{stdout}\n{stderr}", out.status);
        assert!(
            stdout.contains("1 passed"),
            "the test did not run:\n{stdout}"
        );
        assert!(stderr.is_empty(), "written to stderr:\n{stderr}");
    }

    /// A stand-in for the other process: a shell script.
    fn script(text: &str) -> ForeignProcess {
        let mut command = Command::new("sh");
        command.args(["-c", text]);
        ForeignProcess::spawn(command).unwrap()
    }

    #[test]
    fn an_end_is_told_by_the_last_stderr_line_and_a_bad_request_is_no_errno() {
        let mut p = script("read l; echo ok; read l; echo first >&2; echo 'panicked: boom' >&2");
        assert_eq!(p.call("close 1").unwrap(), Answer::Done);
        let e = p.call("close 2").unwrap_err().to_string();
        assert_eq!(e, "the other process ended: panicked: boom");
        // Nothing on stderr: how it ended.
        let e = script("exit 3").call("close 1").unwrap_err().to_string();
        assert_eq!(
            e,
            "the other process ended: exit status: 3, nothing on stderr"
        );
        // A bad request is an error of the call, not an errno; dropped, it ends when its
        // stdin closes (the second read), well before the kill.
        let started = Instant::now();
        let mut p = script("read l; echo 'err bad request: unknown verb \"x\"'; read l");
        let e = p.call("x").unwrap_err().to_string();
        assert_eq!(e, "the other process refused \"x\": unknown verb \"x\"");
        drop(p);
        assert!(started.elapsed() < QUIT_GRACE, "{:?}", started.elapsed());
    }

    #[test]
    fn the_tail_of_stderr_is_bounded() {
        let long = "y".repeat(5000);
        let text = format!("{long}\n{}last words\n\n", "line\n".repeat(100));
        let tail = Mutex::new(VecDeque::new());
        keep_tail(text.as_bytes(), &tail);
        let tail = tail.into_inner().unwrap();
        assert_eq!(tail.len(), STDERR_LINES);
        assert_eq!(tail.back().map(String::as_str), Some("last words"));
        let tail = Mutex::new(VecDeque::new());
        keep_tail(long.as_bytes(), &tail);
        assert_eq!(tail.into_inner().unwrap()[0].len(), STDERR_LINE_BYTES);
    }
}
