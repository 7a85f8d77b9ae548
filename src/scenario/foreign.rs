//! Another process, for the scenarios that act on sockets tcpscope does not own: tcpscope
//! itself, started as `tcpscope __lab-foreign`, runs a lab of its own and takes calls one
//! line each on stdin, answering one line each on stdout.
//!
//! ```text
//! listen SPEC | connect SPEC        ok id=1 fd=5 inode=123 local=127.0.0.1:8080 peer=-
//! accept ID                          ok id=2 fd=6 inode=124 local=… peer=…
//! read ID                            ok read=eof | ok read=5
//! send ID N | shutdown ID rd|wr|rdwr | close ID | close-rst ID    ok
//! (any failure)                      err ECONNABORTED
//! ```

use crate::actions::lab::{ConnectSpec, Lab, LabError, LabId, ListenSpec};
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// The hidden subcommand's name.
pub const SUBCOMMAND: &str = "__lab-foreign";

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
    Failed(String),
}

/// The serving side: runs until stdin ends. Returns the exit code.
pub fn serve() -> i32 {
    let mut lab = Lab::new();
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let answer = match handle(&mut lab, &line) {
            Ok(a) => a,
            Err(e) => match e.errno_name() {
                Some(name) => format!("err {name}"),
                None => format!("err {e}"),
            },
        };
        if writeln!(out, "{answer}")
            .and_then(|()| out.flush())
            .is_err()
        {
            break;
        }
    }
    0
}

fn made(lab: &Lab, id: LabId) -> String {
    let Some(s) = lab.socket(id) else {
        return format!("err no socket {id}");
    };
    let addr = |a: Option<SocketAddr>| a.map_or("-".to_string(), |a| a.to_string());
    format!(
        "ok id={id} fd={} inode={} local={} peer={}",
        s.fd,
        s.inode,
        addr(s.local),
        addr(s.peer)
    )
}

fn handle(lab: &mut Lab, line: &str) -> Result<String, LabError> {
    let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
    let id = || {
        rest.split_whitespace()
            .next()
            .and_then(|w| w.parse::<LabId>().ok())
            .unwrap_or(0)
    };
    Ok(match verb {
        "listen" => {
            let spec = ListenSpec::parse(rest).map_err(|_| LabError::NoSuch(0))?;
            let id = lab.listen(&spec)?;
            made(lab, id)
        }
        "connect" => {
            let spec = ConnectSpec::parse(rest).map_err(|_| LabError::NoSuch(0))?;
            let id = lab.connect(&spec)?;
            made(lab, id)
        }
        "accept" => {
            let new = lab.accept(id())?;
            made(lab, new)
        }
        "read" => match lab.read(id())? {
            d if d.is_empty() => "ok read=eof".into(),
            d => format!("ok read={}", d.len()),
        },
        "send" => {
            let n: usize = rest
                .split_whitespace()
                .nth(1)
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            lab.send(id(), &vec![b'x'; n])?;
            "ok".into()
        }
        "shutdown" => {
            let how = match rest.split_whitespace().nth(1) {
                Some("rd") => Shutdown::Read,
                Some("wr") => Shutdown::Write,
                _ => Shutdown::Both,
            };
            lab.shutdown(id(), how)?;
            "ok".into()
        }
        "close" => {
            lab.close(id())?;
            "ok".into()
        }
        "close-rst" => {
            lab.close_linger0(id())?;
            "ok".into()
        }
        _ => return Err(LabError::NoSuch(0)),
    })
}

/// The other process, from the scenario's side.
pub struct ForeignProcess {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl ForeignProcess {
    /// Starts it in the calling thread's network namespace.
    pub fn start() -> anyhow::Result<ForeignProcess> {
        let exe = std::env::current_exe()?;
        let mut child = Command::new(exe)
            .arg(SUBCOMMAND)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdin"))?;
        let stdout = BufReader::new(
            child
                .stdout
                .take()
                .ok_or_else(|| anyhow::anyhow!("no stdout"))?,
        );
        Ok(ForeignProcess {
            child,
            stdin,
            stdout,
        })
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap_or(0)
    }

    /// Sends one call and reads its answer.
    pub fn call(&mut self, line: &str) -> anyhow::Result<Answer> {
        writeln!(self.stdin, "{line}")?;
        self.stdin.flush()?;
        let mut answer = String::new();
        if self.stdout.read_line(&mut answer)? == 0 {
            anyhow::bail!("the other process ended");
        }
        Ok(parse_answer(answer.trim()))
    }
}

impl Drop for ForeignProcess {
    fn drop(&mut self) {
        // Closing its stdin ends it (and its sockets); wait so that no zombie is left.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn parse_answer(line: &str) -> Answer {
    let Some(rest) = line.strip_prefix("ok") else {
        return Answer::Failed(line.strip_prefix("err ").unwrap_or(line).to_string());
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
    }
}
