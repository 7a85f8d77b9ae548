//! Plays a scenario's calls on real sockets: the lab's own, and another process's for the
//! actors named foreign. Keeps each actor's socket identity (addresses, inode) so that the
//! observer can tell whose transitions it sees.

use super::actor::{Actor, CallResult, Home};
use super::foreign::{Answer, ForeignProcess, Made};
use super::format::Read;
use super::script::{Command, Options, Target};
use crate::actions::lab::{ConnectSpec, Lab, LabError, LabId, ListenSpec};
use std::collections::{BTreeMap, HashMap};
use std::net::{Shutdown, SocketAddr};

pub struct Player {
    lab: Lab,
    foreign: Option<ForeignProcess>,
    foreign_actors: Vec<String>,
    pub actors: BTreeMap<String, Actor>,
    /// Unprivileged runs share the host's loopback: the scenario's ports become free ones,
    /// and this maps each scenario port to the one really used.
    remap: Option<HashMap<u16, u16>>,
}

impl Player {
    pub fn new(foreign_actors: &[String], remap_ports: bool) -> Player {
        Player {
            lab: Lab::new(),
            foreign: None,
            foreign_actors: foreign_actors.to_vec(),
            actors: BTreeMap::new(),
            remap: remap_ports.then(HashMap::new),
        }
    }

    pub fn foreign_pid(&self) -> Option<i32> {
        self.foreign.as_ref().map(ForeignProcess::pid)
    }

    /// The address to use for a scenario address.
    fn map(&self, addr: SocketAddr) -> SocketAddr {
        match &self.remap {
            Some(m) if addr.port() != 0 => {
                SocketAddr::new(addr.ip(), m.get(&addr.port()).copied().unwrap_or(0))
            }
            _ => addr,
        }
    }

    fn learn(&mut self, scenario: SocketAddr, real: Option<SocketAddr>) {
        if let (Some(m), Some(real)) = (self.remap.as_mut(), real)
            && scenario.port() != 0
        {
            m.entry(scenario.port()).or_insert(real.port());
        }
    }

    fn is_foreign(&self, actor: &str) -> bool {
        self.foreign_actors.iter().any(|a| a == actor)
    }

    fn foreign_call(&mut self, line: &str) -> Result<Answer, String> {
        if self.foreign.is_none() {
            self.foreign = Some(
                ForeignProcess::start().map_err(|e| format!("starting the other process: {e}"))?,
            );
        }
        let Some(f) = self.foreign.as_mut() else {
            return Err("no other process".into());
        };
        f.call(line).map_err(|e| e.to_string())
    }

    /// A call of the other process that makes a socket: `Ok(Err(errno))` when the call
    /// failed, `Err` when it could not be made at all.
    fn foreign_made(&mut self, line: &str) -> Result<Result<(Made, Home), String>, String> {
        match self.foreign_call(line)? {
            Answer::Made(m) => Ok(Ok((m, Home::Foreign(m.id)))),
            Answer::Failed(e) => Ok(Err(e)),
            other => Err(format!("unexpected answer {other:?}")),
        }
    }

    fn actor(&self, name: &str) -> Result<&Actor, String> {
        self.actors
            .get(name)
            .ok_or_else(|| format!("no actor {name:?}"))
    }

    fn set_made(&mut self, name: &str, made: Made, home: Home, listener: bool) {
        let foreign = matches!(home, Home::Foreign(_));
        self.actors.insert(
            name.to_string(),
            Actor {
                home,
                listener,
                foreign,
                local: made.local,
                remote: made.peer,
                inode: made.inode,
                fd: made.fd,
            },
        );
    }

    fn lab_made(&self, id: LabId) -> Made {
        let s = self.lab.socket(id);
        Made {
            id,
            fd: s.map_or(-1, |s| s.fd),
            inode: s.map_or(0, |s| s.inode),
            local: s.and_then(|s| s.local),
            peer: s.and_then(|s| s.peer),
        }
    }

    /// Plays one call. Failures of the call itself come back as its errno; failures to
    /// play it at all (a bad scenario, a missing privilege) as `Err`.
    pub fn play(&mut self, cmd: &Command, line: &str) -> Result<CallResult, String> {
        let mut result = CallResult {
            actor: cmd.actor().map(str::to_string),
            call: line.to_string(),
            errno: None,
            read: None,
        };
        let outcome: Result<(), String> = match cmd {
            Command::Listen {
                actor,
                addr,
                backlog,
                options,
            } => {
                let real = self.map(*addr);
                self.listen(actor, real, Some(*addr), *backlog, options)
                    .map(|errno| result.errno = errno)
            }
            Command::Rebind {
                actor,
                like,
                options,
            } => {
                // The old socket's address is already the real one.
                let old = self.actor(like)?.local.ok_or("it has no address")?;
                self.listen(
                    actor,
                    old,
                    None,
                    crate::actions::lab::spec::DEFAULT_BACKLOG,
                    options,
                )
                .map(|errno| result.errno = errno)
            }
            Command::Connect {
                actor,
                to,
                peer,
                from,
                options,
            } => {
                let to_addr = match to {
                    Target::Actor(a) => self.actor(a)?.local.ok_or("the target has no address")?,
                    Target::Addr(a) => self.map(*a),
                };
                let spec = ConnectSpec {
                    to: to_addr,
                    from: from.map(|f| self.map(f)),
                    reuseaddr: options.reuseaddr,
                    reuseport: options.reuseport,
                };
                let made = if self.is_foreign(actor) {
                    self.foreign_made(&connect_line(&spec))?
                } else {
                    self.lab
                        .connect(&spec)
                        .map(|id| (self.lab_made(id), Home::Lab(id)))
                        .map_err(errno_of)
                };
                match made {
                    Ok((m, home)) => {
                        if let (Some(f), Some(real)) = (from, m.local) {
                            self.learn(*f, Some(real));
                        }
                        self.set_made(actor, m, home, false);
                        if let Some(p) = peer {
                            let listener_foreign =
                                matches!(to, Target::Actor(a) if self.is_foreign(a));
                            self.actors.insert(
                                p.clone(),
                                Actor {
                                    home: Home::Queued,
                                    listener: false,
                                    foreign: listener_foreign,
                                    local: m.peer,
                                    remote: m.local,
                                    inode: 0,
                                    fd: -1,
                                },
                            );
                        }
                        Ok(())
                    }
                    Err(e) => {
                        // The failed socket's end of the 4-tuple is known when the scenario
                        // chose it: its SYN_SENT → CLOSE can still be checked.
                        if let Some(local) = from.map(|f| self.map(f)).filter(|f| f.port() != 0) {
                            self.actors.insert(
                                actor.clone(),
                                Actor {
                                    home: Home::Failed,
                                    listener: false,
                                    foreign: self.is_foreign(actor),
                                    local: Some(local),
                                    remote: Some(to_addr),
                                    inode: 0,
                                    fd: -1,
                                },
                            );
                        }
                        result.errno = Some(e);
                        Ok(())
                    }
                }
            }
            Command::Accept { listener, actor } => {
                let l = self.actor(listener)?.clone();
                let made = match l.home {
                    Home::Foreign(id) => self.foreign_made(&format!("accept {id}"))?,
                    Home::Lab(id) => self
                        .lab
                        .accept(id)
                        .map(|new| (self.lab_made(new), Home::Lab(new)))
                        .map_err(errno_of),
                    Home::Queued | Home::Failed => {
                        return Err(format!("{listener} is not a listener"));
                    }
                };
                match made {
                    Ok((m, home)) => {
                        self.set_made(actor, m, home, false);
                        Ok(())
                    }
                    Err(e) => {
                        result.errno = Some(e);
                        Ok(())
                    }
                }
            }
            Command::Send { actor, data } => self.simple(
                actor,
                &mut result,
                |lab, id| lab.send(id, data).map(|_| ()),
                &format!("send {{id}} {}", data.len()),
            ),
            Command::Read { actor } => {
                let a = self.actor(actor)?.clone();
                match a.home {
                    Home::Lab(id) => match self.lab.read(id) {
                        Ok(d) if d.is_empty() => result.read = Some(Read::Eof),
                        Ok(d) => result.read = Some(Read::Bytes(d.len())),
                        Err(e) => result.errno = Some(errno_of(e)),
                    },
                    Home::Foreign(id) => match self.foreign_call(&format!("read {id}"))? {
                        Answer::Read(None) => result.read = Some(Read::Eof),
                        Answer::Read(Some(n)) => result.read = Some(Read::Bytes(n)),
                        Answer::Failed(e) => result.errno = Some(e),
                        other => return Err(format!("unexpected answer {other:?}")),
                    },
                    Home::Queued => return Err(format!("{actor} is not accepted yet")),
                    Home::Failed => {
                        return Err(format!("{actor} has no socket (its connect failed)"));
                    }
                }
                Ok(())
            }
            Command::Shutdown { actor, how } => {
                let word = match how {
                    Shutdown::Read => "rd",
                    Shutdown::Write => "wr",
                    Shutdown::Both => "rdwr",
                };
                let how = *how;
                self.simple(
                    actor,
                    &mut result,
                    |lab, id| lab.shutdown(id, how),
                    &format!("shutdown {{id}} {word}"),
                )
            }
            Command::Close { actor } => {
                self.simple(actor, &mut result, |lab, id| lab.close(id), "close {id}")
            }
            Command::CloseRst { actor } => self.simple(
                actor,
                &mut result,
                |lab, id| lab.close_linger0(id),
                "close-rst {id}",
            ),
            Command::Abort { actor } => {
                let a = self.actor(actor)?.clone();
                let rec = crate::sources::dump_all()
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .find(|s| {
                        if a.listener {
                            s.inode == a.inode && a.inode != 0
                        } else {
                            Some(s.local) == a.local && Some(s.remote) == a.remote
                        }
                    });
                match rec {
                    Some(rec) => {
                        if let Err(e) = crate::actions::destroy::destroy(&rec, 1) {
                            result.errno = Some(e.errno_name());
                        }
                    }
                    None => result.errno = Some("ENOENT".into()),
                }
                Ok(())
            }
            Command::ShutdownForeign { actor } => {
                let a = self.actor(actor)?.clone();
                let pid = self.foreign_pid().ok_or("no other process")?;
                if !a.foreign {
                    return Err(format!("{actor} is not another process's"));
                }
                if let Err(e) = crate::actions::foreign_shutdown::shutdown_foreign(
                    pid,
                    a.fd,
                    a.inode,
                    Shutdown::Both,
                ) {
                    result.errno = Some(e.errno_name());
                }
                Ok(())
            }
            Command::Sysctl { name, value } => {
                let path = format!("/proc/sys/{}", name.replace('.', "/"));
                std::fs::write(&path, value).map_err(|e| format!("{path}: {e}"))
            }
            Command::Qdisc { spec } => {
                let mut args = vec!["qdisc".to_string()];
                match spec {
                    Some(s) => {
                        args.extend(["replace", "dev", "lo", "root"].map(String::from));
                        args.extend(s.split_whitespace().map(String::from));
                    }
                    None => args.extend(["del", "dev", "lo", "root"].map(String::from)),
                }
                crate::sources::tool::run_tool("tc", &args)
            }
            Command::Sleep { duration } => {
                std::thread::sleep(*duration);
                Ok(())
            }
            Command::Mtu { bytes } => crate::sources::tool::run_tool(
                "ip",
                &["link", "set", "dev", "lo", "mtu", &bytes.to_string()].map(String::from),
            ),
        };
        outcome.map(|()| result)
    }

    /// A listener on `addr` (already the real address); `scenario` is the address as the
    /// scenario wrote it, to learn the port really used. `Ok(Some(errno))`: listen failed.
    fn listen(
        &mut self,
        actor: &str,
        addr: SocketAddr,
        scenario: Option<SocketAddr>,
        backlog: i32,
        options: &Options,
    ) -> Result<Option<String>, String> {
        let spec = ListenSpec {
            addr,
            backlog,
            reuseaddr: options.reuseaddr,
            reuseport: options.reuseport,
        };
        let made = if self.is_foreign(actor) {
            self.foreign_made(&listen_line(&spec))?
        } else {
            self.lab
                .listen(&spec)
                .map(|id| (self.lab_made(id), Home::Lab(id)))
                .map_err(errno_of)
        };
        match made {
            Ok((m, home)) => {
                if let Some(sc) = scenario {
                    self.learn(sc, m.local);
                }
                self.set_made(actor, m, home, true);
                Ok(None)
            }
            Err(e) => Ok(Some(e)),
        }
    }

    /// A call on one actor's socket, in this process or the other.
    fn simple(
        &mut self,
        actor: &str,
        result: &mut CallResult,
        on_lab: impl FnOnce(&mut Lab, LabId) -> Result<(), LabError>,
        foreign_line: &str,
    ) -> Result<(), String> {
        let a = self.actor(actor)?.clone();
        match a.home {
            Home::Lab(id) => {
                if let Err(e) = on_lab(&mut self.lab, id) {
                    result.errno = Some(errno_of(e));
                }
            }
            Home::Foreign(id) => {
                let line = foreign_line.replace("{id}", &id.to_string());
                if let Answer::Failed(e) = self.foreign_call(&line)? {
                    result.errno = Some(e);
                }
            }
            Home::Queued => return Err(format!("{actor} is not accepted yet")),
            Home::Failed => return Err(format!("{actor} has no socket (its connect failed)")),
        }
        Ok(())
    }
}

/// The errno name of a failed lab call (or the error as text).
fn errno_of(e: LabError) -> String {
    e.errno_name().map_or_else(|| e.to_string(), str::to_string)
}

fn listen_line(spec: &ListenSpec) -> String {
    let mut s = format!("listen {} backlog={}", spec.addr, spec.backlog);
    if spec.reuseaddr {
        s.push_str(" reuseaddr");
    }
    if spec.reuseport {
        s.push_str(" reuseport");
    }
    s
}

fn connect_line(spec: &ConnectSpec) -> String {
    let mut s = format!("connect {}", spec.to);
    if let Some(f) = spec.from {
        s.push_str(&format!(" from={f}"));
    }
    if spec.reuseaddr {
        s.push_str(" reuseaddr");
    }
    if spec.reuseport {
        s.push_str(" reuseport");
    }
    s
}
