//! The other process's side: takes one request line at a time on stdin, plays it on a lab of
//! its own, answers one line on stdout.

use super::{BAD_REQUEST, MAX_SEND};
use crate::actions::lab::{ConnectSpec, Lab, LabError, LabId, ListenSpec};
use std::io::{BufRead, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;

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
pub(super) const MAX_REQUEST: u64 = 4096;

/// One request line; `None` at the end of the input. A line longer than `MAX_REQUEST` or not
/// in UTF-8 ends the conversation (the other side is not the scenario player).
pub(super) fn read_request(input: &mut impl BufRead) -> Result<Option<String>, String> {
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
