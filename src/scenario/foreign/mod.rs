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

mod process;
mod serve;

pub use process::ForeignProcess;
pub use serve::serve;

use crate::actions::lab::LabId;
use std::net::SocketAddr;

/// The hidden subcommand's name.
pub const SUBCOMMAND: &str = "__lab-foreign";

/// The most bytes one `send` may ask for: the other process makes them in memory.
pub const MAX_SEND: usize = 16 << 20;

/// The prefix of the answer to a request that cannot be played.
const BAD_REQUEST: &str = "bad request: ";

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

#[cfg(test)]
mod tests {
    use super::process::*;
    use super::serve::*;
    use super::*;
    use crate::actions::lab::Lab;
    use std::collections::VecDeque;
    use std::process::Command;
    use std::sync::Mutex;
    use std::time::Instant;

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
