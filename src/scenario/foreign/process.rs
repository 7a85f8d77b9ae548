//! The scenario's side: starts the other process, sends it requests, reads its answers, and
//! keeps the last lines of its stderr to say why, should it end before answering.

use super::{Answer, BAD_REQUEST, Made, SUBCOMMAND};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How many of the other process's last stderr lines are kept, and how long each may be.
pub(super) const STDERR_LINES: usize = 8;
pub(super) const STDERR_LINE_BYTES: usize = 1024;

/// How long the other process has to end once its stdin is closed, before it is killed.
pub(super) const QUIT_GRACE: Duration = Duration::from_secs(1);
/// How long `call` waits for a process that stopped answering to end (and say why on stderr).
pub(super) const ENDED_GRACE: Duration = Duration::from_secs(2);

/// The last lines a process wrote, at most [`STDERR_LINES`] of at most [`STDERR_LINE_BYTES`].
pub(super) type Tail = Arc<Mutex<VecDeque<String>>>;

/// Reads `from` to its end, keeping its last lines in `tail`.
pub(super) fn keep_tail(mut from: impl Read, tail: &Mutex<VecDeque<String>>) {
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
pub(super) fn ended_within(child: &mut Child, grace: Duration) -> bool {
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
    pub(super) fn spawn(mut command: Command) -> anyhow::Result<ForeignProcess> {
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

pub(super) fn parse_answer(line: &str) -> Answer {
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
