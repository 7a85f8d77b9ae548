//! The calls of a scenario step, one line each, e.g. `connect client listener as server`.
//!
//! ```text
//! listen ACTOR ADDR [backlog=N] [reuseaddr] [reuseport]
//! connect ACTOR (LISTENER|ADDR) [as PEER] [from=ADDR] [reuseaddr] [reuseport]
//!                              with from=, ACTOR names the socket even when connect() fails,
//!                              so that its SYN_SENT → CLOSE is checked
//! accept LISTENER as ACTOR
//! send ACTOR (N|TEXT)          N bytes of "x", or the text
//! read ACTOR
//! shutdown ACTOR (rd|wr|rdwr)
//! close ACTOR
//! close-rst ACTOR              SO_LINGER {1, 0}, then close(): a RST
//! rebind ACTOR like OLD [reuseaddr] [reuseport]   a new listener on OLD's address
//! abort ACTOR                  SOCK_DESTROY from outside, as `ss -K`
//! shutdown-foreign ACTOR       pidfd_getfd() + shutdown(SHUT_RDWR) on the owner's behalf
//! sysctl NAME=VALUE            in the scenario's network namespace
//! qdisc SPEC… | qdisc off      the root qdisc of lo (`tc qdisc replace dev lo root SPEC`)
//! mtu BYTES                    the MTU of lo
//! sleep SECONDS                wait (e.g. to show that a state outlives a timer); the step
//!                              looks again after it, so a timewait socket that comes and goes
//!                              within the sleep is not seen
//! ```

use crate::actions::lab::spec;
use std::net::{Shutdown, SocketAddr};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Actor(String),
    Addr(SocketAddr),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub reuseaddr: bool,
    pub reuseport: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Listen {
        actor: String,
        addr: SocketAddr,
        backlog: i32,
        options: Options,
    },
    Connect {
        actor: String,
        to: Target,
        peer: Option<String>,
        from: Option<SocketAddr>,
        options: Options,
    },
    Accept {
        listener: String,
        actor: String,
    },
    Send {
        actor: String,
        data: Vec<u8>,
    },
    Read {
        actor: String,
    },
    Shutdown {
        actor: String,
        how: Shutdown,
    },
    Close {
        actor: String,
    },
    CloseRst {
        actor: String,
    },
    Rebind {
        actor: String,
        like: String,
        options: Options,
    },
    Abort {
        actor: String,
    },
    ShutdownForeign {
        actor: String,
    },
    Sysctl {
        name: String,
        value: String,
    },
    Qdisc {
        /// `None`: back to none.
        spec: Option<String>,
    },
    /// The MTU of lo (65536 by default; a qdisc that shapes needs packets it can hold).
    Mtu {
        bytes: u32,
    },
    /// A pause between calls.
    Sleep {
        duration: std::time::Duration,
    },
}

impl Command {
    /// The actors this command needs to exist already.
    pub fn actors_used(&self) -> Vec<&str> {
        match self {
            Command::Listen { .. }
            | Command::Sysctl { .. }
            | Command::Qdisc { .. }
            | Command::Mtu { .. }
            | Command::Sleep { .. } => vec![],
            Command::Connect { to, .. } => match to {
                Target::Actor(a) => vec![a.as_str()],
                Target::Addr(_) => vec![],
            },
            Command::Accept { listener, .. } => vec![listener.as_str()],
            Command::Rebind { like, .. } => vec![like.as_str()],
            Command::Send { actor, .. }
            | Command::Read { actor }
            | Command::Shutdown { actor, .. }
            | Command::Close { actor }
            | Command::CloseRst { actor }
            | Command::Abort { actor }
            | Command::ShutdownForeign { actor } => vec![actor.as_str()],
        }
    }

    /// The actors this command makes (or names).
    pub fn actors_made(&self) -> Vec<&str> {
        match self {
            Command::Listen { actor, .. }
            | Command::Accept { actor, .. }
            | Command::Rebind { actor, .. } => vec![actor.as_str()],
            Command::Connect { actor, peer, .. } => {
                let mut v = vec![actor.as_str()];
                if let Some(p) = peer {
                    v.push(p.as_str());
                }
                v
            }
            _ => vec![],
        }
    }

    /// The actor whose call this is (for errno and reads), if any.
    pub fn actor(&self) -> Option<&str> {
        match self {
            Command::Sysctl { .. }
            | Command::Qdisc { .. }
            | Command::Mtu { .. }
            | Command::Sleep { .. } => None,
            Command::Listen { actor, .. }
            | Command::Connect { actor, .. }
            | Command::Accept { actor, .. }
            | Command::Send { actor, .. }
            | Command::Read { actor }
            | Command::Shutdown { actor, .. }
            | Command::Close { actor }
            | Command::CloseRst { actor }
            | Command::Rebind { actor, .. }
            | Command::Abort { actor }
            | Command::ShutdownForeign { actor } => Some(actor),
        }
    }

    /// Whether it needs root (a namespace of its own, or acting on another process).
    pub fn needs_root(&self) -> bool {
        matches!(
            self,
            Command::Sysctl { .. }
                | Command::Qdisc { .. }
                | Command::Mtu { .. }
                | Command::Abort { .. }
                | Command::ShutdownForeign { .. }
        )
    }
}

/// `reuseaddr`, `reuseport` and the `KEY=VALUE` words `keyed` takes: the lab's own option
/// grammar (`actions::lab::spec`).
fn options(
    words: &[&str],
    known: &str,
    keyed: impl FnMut(&str, &str) -> Result<bool, String>,
) -> Result<Options, String> {
    let (reuseaddr, reuseport) = spec::parse_options(words.iter().copied(), known, keyed)?;
    Ok(Options {
        reuseaddr,
        reuseport,
    })
}

fn addr(s: &str) -> Result<SocketAddr, String> {
    spec::parse_addr(s)
}

/// Sysctls of the network namespace besides `net.ipv4.tcp_*`. Not every `net.*` one is: a
/// scenario that wrote net.netfilter.nf_hooks_lwtunnel in the lab's namespace set the host's.
const PER_NAMESPACE: &[&str] = &[
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.ip_nonlocal_bind",
    "net.core.somaxconn",
];

/// Whether a scenario may set the sysctl `name`: one of its own namespace's.
fn per_namespace(name: &str) -> bool {
    // tcp_mem is the host's (the memory of all namespaces' TCP).
    (name.starts_with("net.ipv4.tcp_") && name != "net.ipv4.tcp_mem")
        || PER_NAMESPACE.contains(&name)
}

/// Parses one line.
pub fn parse(line: &str) -> Result<Command, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let name = |i: usize| -> Result<String, String> {
        words
            .get(i)
            .map(|s| s.to_string())
            .ok_or_else(|| "too few words".to_string())
    };
    let verb = *words.first().ok_or("empty call")?;
    let cmd = match verb {
        "listen" => {
            // The lab prompt's grammar after the actor: ADDR [backlog=N] [reuseaddr] [reuseport].
            let spec = spec::ListenSpec::parse(&words.get(2..).unwrap_or_default().join(" "))?;
            Command::Listen {
                actor: name(1)?,
                addr: spec.addr,
                backlog: spec.backlog,
                options: Options {
                    reuseaddr: spec.reuseaddr,
                    reuseport: spec.reuseport,
                },
            }
        }
        "connect" => {
            let target = name(2)?;
            let to = match addr(&target) {
                Ok(a) => Target::Addr(a),
                Err(_) => Target::Actor(target),
            };
            let mut rest: &[&str] = words.get(3..).unwrap_or_default();
            let mut peer = None;
            if rest.first() == Some(&"as") {
                peer = Some(rest.get(1).ok_or("as whom?")?.to_string());
                rest = &rest[2..];
            }
            let mut from = None;
            let opts = options(rest, "from=PORT, reuseaddr, reuseport", |key, value| {
                if key != "from" {
                    return Ok(false);
                }
                from = Some(addr(value)?);
                Ok(true)
            })?;
            Command::Connect {
                actor: name(1)?,
                to,
                peer,
                from,
                options: opts,
            }
        }
        "accept" => {
            if words.get(2) != Some(&"as") || words.len() != 4 {
                return Err("accept LISTENER as ACTOR".into());
            }
            Command::Accept {
                listener: name(1)?,
                actor: name(3)?,
            }
        }
        "send" => {
            let what = words.get(2..).unwrap_or_default().join(" ");
            if what.is_empty() {
                return Err("send ACTOR (N|TEXT)".into());
            }
            let data = match what.parse::<usize>() {
                // More than a socket buffer or two teaches nothing more.
                Ok(n) if n > 16 << 20 => return Err("send: at most 16 MiB".into()),
                Ok(n) => vec![b'x'; n],
                Err(_) => what.into_bytes(),
            };
            Command::Send {
                actor: name(1)?,
                data,
            }
        }
        "shutdown" => Command::Shutdown {
            actor: name(1)?,
            how: match (words.get(2).copied(), words.len()) {
                (Some("rd"), 3) => Shutdown::Read,
                (Some("wr"), 3) => Shutdown::Write,
                (Some("rdwr"), 3) => Shutdown::Both,
                _ => return Err("shutdown ACTOR (rd|wr|rdwr)".into()),
            },
        },
        "rebind" => {
            if words.get(2) != Some(&"like") {
                return Err("rebind ACTOR like OLD [reuseaddr] [reuseport]".into());
            }
            Command::Rebind {
                actor: name(1)?,
                like: name(3)?,
                options: options(
                    words.get(4..).unwrap_or_default(),
                    "reuseaddr, reuseport",
                    |_, _| Ok(false),
                )?,
            }
        }
        "read" | "close" | "close-rst" | "abort" | "shutdown-foreign" => {
            if words.len() != 2 {
                return Err(format!("{verb} ACTOR"));
            }
            let actor = name(1)?;
            match verb {
                "read" => Command::Read { actor },
                "close" => Command::Close { actor },
                "close-rst" => Command::CloseRst { actor },
                "abort" => Command::Abort { actor },
                _ => Command::ShutdownForeign { actor },
            }
        }
        "sysctl" => {
            // The value is the rest of the line: ip_local_port_range takes two numbers.
            let rest = words.get(1..).unwrap_or_default().join(" ");
            let (n, v) = rest
                .split_once('=')
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .filter(|(n, v)| !n.is_empty() && !n.contains(' ') && !v.is_empty())
                .ok_or("sysctl NAME=VALUE")?;
            if !per_namespace(&n) {
                return Err(format!(
                    "{n}: not a sysctl a scenario may set (only those of the network namespace: net.ipv4.tcp_* but tcp_mem, {})",
                    PER_NAMESPACE.join(", ")
                ));
            }
            Command::Sysctl { name: n, value: v }
        }
        "qdisc" => {
            let spec = words.get(1..).unwrap_or_default().join(" ");
            Command::Qdisc {
                spec: match spec.as_str() {
                    "" => return Err("qdisc SPEC… | qdisc off".into()),
                    "off" => None,
                    _ => Some(spec),
                },
            }
        }
        "mtu" => Command::Mtu {
            bytes: name(1)?
                .parse()
                .ok()
                .filter(|_| words.len() == 2)
                .ok_or("mtu BYTES")?,
        },
        "sleep" => {
            let seconds = name(1)?
                .parse::<f64>()
                .ok()
                .filter(|s| *s > 0.0 && *s <= 120.0 && words.len() == 2)
                .ok_or("sleep SECONDS (more than 0, at most 120)")?;
            Command::Sleep {
                duration: std::time::Duration::from_secs_f64(seconds),
            }
        }
        _ => return Err(format!("unknown call {verb:?}")),
    };
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse() {
        assert_eq!(
            parse("connect client listener as server from=40000 reuseaddr").unwrap(),
            Command::Connect {
                actor: "client".into(),
                to: Target::Actor("listener".into()),
                peer: Some("server".into()),
                from: Some("127.0.0.1:40000".parse().unwrap()),
                options: Options {
                    reuseaddr: true,
                    reuseport: false
                },
            }
        );
        assert!(
            matches!(parse("send c 5").unwrap(), Command::Send { data, .. } if data.len() == 5)
        );
        assert!(matches!(
            parse("listen l 8080 backlog=1").unwrap(),
            Command::Listen { backlog: 1, .. }
        ));
        assert!(parse("shutdown c sideways").is_err());
        assert!(parse("send c 99999999999").is_err());
        assert!(parse("listen l 8080 SO_EXCLUSIVEADDRUSE").is_err());
        assert!(parse("sysctl kernel.panic=1").is_err());
        assert!(parse("sysctl net.netfilter.nf_hooks_lwtunnel=1").is_err());
        assert!(parse("sysctl net.ipv4.tcp_mem=1 2 3").is_err());
        assert_eq!(
            parse("sysctl net.ipv4.ip_local_port_range=1024 65000").unwrap(),
            Command::Sysctl {
                name: "net.ipv4.ip_local_port_range".into(),
                value: "1024 65000".into()
            }
        );
        assert!(parse("sysctl net.ipv4.tcp_fin_timeout=2").is_ok());
        assert!(parse("sysctl net.ipv4.tcp_fin_timeout=").is_err());
        assert!(parse("mtu 1500 dev eth0").is_err());
        assert!(parse("mtu 1500").is_ok());
        assert!(parse("shutdown c wr junk").is_err());
        assert!(parse("shutdown c wr").is_ok());
        assert!(parse("fly away").is_err());
        assert_eq!(
            parse("sleep 2.5").unwrap(),
            Command::Sleep {
                duration: std::time::Duration::from_millis(2500)
            }
        );
        assert!(parse("sleep 0").is_err());
        assert!(parse("sleep soon").is_err());
        assert!(parse("sleep 1 2").is_err());
    }
}
