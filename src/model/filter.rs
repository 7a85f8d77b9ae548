//! Which sockets a view or command shows: the `list` flags, as data.

use super::netns::Netns;
use super::owner::Owner;
use super::socket::{Family, SocketRecord};
use super::state::StateSet;
use std::net::SocketAddr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub states: StateSet,
    /// Local or remote port.
    pub port: Option<u16>,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    pub pid: Option<i32>,
    pub inet: bool,
    pub inet6: bool,
    /// Only sockets of this namespace: a container's name or id (its first digits, 3 at
    /// least), a /run/netns name, or a label as shown (`host`, `pid:812 httpd`).
    pub namespace: Option<String>,
    /// Only sockets held by a process whose name contains this (any case).
    pub process: Option<String>,
    /// Words that must each appear (any case) in what the view shows of a socket: its state,
    /// addresses, owner, command line or namespace. The view's text search.
    pub words: Vec<String>,
}

impl Default for Filter {
    fn default() -> Self {
        Filter {
            states: StateSet::ALL,
            port: None,
            sport: None,
            dport: None,
            pid: None,
            inet: true,
            inet6: true,
            namespace: None,
            process: None,
            words: Vec::new(),
        }
    }
}

impl Filter {
    pub fn wants_family(&self, family: Family) -> bool {
        match family {
            Family::Inet => self.inet,
            Family::Inet6 => self.inet6,
        }
    }

    /// Whether the filter needs owners to decide.
    pub fn needs_owners(&self) -> bool {
        self.pid.is_some() || self.process.is_some()
    }

    /// Everything but the owner test; sources may apply this while they parse.
    pub fn matches_socket(&self, s: &SocketRecord) -> bool {
        self.states.contains(s.state) && self.matches_ends(s.family, &s.local, &s.remote)
    }

    /// The family and port tests.
    pub fn matches_ends(&self, family: Family, local: &SocketAddr, remote: &SocketAddr) -> bool {
        let (lp, rp) = (local.port(), remote.port());
        self.wants_family(family)
            && self.port.is_none_or(|p| p == lp || p == rp)
            && self.sport.is_none_or(|p| p == lp)
            && self.dport.is_none_or(|p| p == rp)
    }

    /// The namespace test, on what is known of the socket's namespace (`None`: nothing).
    pub fn matches_netns(&self, netns: Option<&Netns>) -> bool {
        let Some(want) = self.namespace.as_deref() else {
            return true;
        };
        netns.is_some_and(|n| {
            n.label() == want
                || n.name.as_deref() == Some(want)
                || n.container.as_ref().is_some_and(|c| {
                    c.name.as_deref() == Some(want) || (want.len() >= 3 && c.id.starts_with(want))
                })
        })
    }

    /// The namespace test on a label alone (the view keeps labels only).
    pub fn matches_netns_label(&self, label: Option<&str>) -> bool {
        self.namespace
            .as_deref()
            .is_none_or(|want| label == Some(want))
    }

    pub fn matches_owners(&self, owners: &[Owner]) -> bool {
        self.pid
            .is_none_or(|pid| owners.iter().any(|o| o.pid == pid))
            && self
                .process
                .as_deref()
                .is_none_or(|name| owners.iter().any(|o| contains_any_case(&o.comm, name)))
    }

    /// The text search: whether every word is in one of `fields` (any case).
    pub fn matches_words(&self, fields: &[&str]) -> bool {
        self.words
            .iter()
            .all(|w| fields.iter().any(|f| contains_any_case(f, w)))
    }
}

/// Whether `needle` is in `hay`, ignoring ASCII case (process names and states are ASCII;
/// anything else is compared as it is).
fn contains_any_case(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    let (hay, needle) = (hay.as_bytes(), needle.as_bytes());
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::state::TcpState;

    fn sock(state: TcpState, local: &str, remote: &str) -> SocketRecord {
        SocketRecord::new(state, local.parse().unwrap(), remote.parse().unwrap(), 1)
    }

    #[test]
    fn port_matches_either_end_sport_and_dport_one_each() {
        let s = sock(TcpState::Established, "127.0.0.1:8080", "127.0.0.1:40000");
        let f = |port, sport, dport| Filter {
            port,
            sport,
            dport,
            ..Filter::default()
        };
        assert!(f(Some(8080), None, None).matches_socket(&s));
        assert!(f(Some(40000), None, None).matches_socket(&s));
        assert!(!f(Some(1), None, None).matches_socket(&s));
        assert!(f(None, Some(8080), None).matches_socket(&s));
        assert!(!f(None, Some(40000), None).matches_socket(&s));
        assert!(f(None, None, Some(40000)).matches_socket(&s));
        assert!(!f(None, None, Some(8080)).matches_socket(&s));
    }

    #[test]
    fn namespace_by_container_name_id_run_netns_name_or_label() {
        use crate::model::netns::{Container, Runtime};
        let f = |want: &str| Filter {
            namespace: Some(want.into()),
            ..Filter::default()
        };
        let mut ns = Netns::unnamed(9);
        assert!(Filter::default().matches_netns(None));
        assert!(!f("web").matches_netns(None));
        assert!(f("net:[9]").matches_netns(Some(&ns)));
        ns.name = Some("blue".into());
        assert!(f("blue").matches_netns(Some(&ns)));
        ns.container = Some(Container {
            id: "4b825dc642cb".into(),
            name: Some("web".into()),
            runtime: Runtime::Podman,
        });
        assert!(f("web").matches_netns(Some(&ns)));
        assert!(f("4b8").matches_netns(Some(&ns)));
        assert!(!f("4b").matches_netns(Some(&ns)), "too short an id prefix");
        assert!(!f("db").matches_netns(Some(&ns)));
        assert!(f("web").matches_netns_label(Some("web")));
        assert!(!f("web").matches_netns_label(Some("db")));
    }

    #[test]
    fn family_and_state() {
        let v6 = sock(TcpState::Listen, "[::1]:22", "[::]:0");
        let only4 = Filter {
            inet6: false,
            ..Filter::default()
        };
        assert!(!only4.matches_socket(&v6));
        let tw = Filter {
            states: StateSet::of(&[TcpState::TimeWait]),
            ..Filter::default()
        };
        assert!(!tw.matches_socket(&v6));
        assert!(Filter::default().matches_socket(&v6));
    }

    #[test]
    fn pid_needs_an_owner_with_that_pid() {
        let f = Filter {
            pid: Some(7),
            ..Filter::default()
        };
        let owner = |pid| Owner {
            pid,
            comm: "x".into(),
            cmdline: "x".into(),
            fd: 3,
        };
        assert!(f.needs_owners());
        assert!(f.matches_owners(&[owner(3), owner(7)]));
        assert!(!f.matches_owners(&[owner(3)]));
        assert!(!f.matches_owners(&[]));
    }

    #[test]
    fn process_and_words_match_any_case() {
        let owners = [Owner {
            pid: 7,
            comm: "nginx".into(),
            cmdline: "nginx: worker process".into(),
            fd: 3,
        }];
        let f = |process: Option<&str>, words: &[&str]| Filter {
            process: process.map(String::from),
            words: words.iter().map(|w| w.to_string()).collect(),
            ..Filter::default()
        };
        assert!(f(Some("nginx"), &[]).matches_owners(&owners));
        assert!(f(Some("NGI"), &[]).matches_owners(&owners));
        assert!(!f(Some("redis"), &[]).matches_owners(&owners));
        assert!(!f(Some("nginx"), &[]).matches_owners(&[]));
        assert!(f(Some("nginx"), &[]).needs_owners());
        let fields = ["TIME_WAIT", "127.0.0.1:8080", "nginx/7"];
        assert!(f(None, &["time_wait", "8080"]).matches_words(&fields));
        assert!(!f(None, &["time_wait", "9090"]).matches_words(&fields));
        assert!(f(None, &[]).matches_words(&fields));
    }
}
