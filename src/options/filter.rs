//! Which sockets to show: the filter proper, and nothing about where they come from.

use crate::model::{Filter, StateSet};
use clap::Args;

/// The filters shared by every command that shows sockets, and by the view's `/` prompt.
#[derive(Debug, Clone, Default, Args)]
pub struct FilterArgs {
    /// Only sockets in this state (kernel names, any case, `-` or `_`; or a group: all,
    /// connected, closing). Repeat for several.
    #[arg(long = "state", value_name = "STATE", value_parser = StateSet::parse_one)]
    pub states: Vec<StateSet>,
    /// Only sockets with this local or remote port.
    #[arg(long, value_name = "PORT", value_parser = super::number::port)]
    pub port: Option<u16>,
    /// Only sockets with this local (source) port.
    #[arg(long, value_name = "PORT", value_parser = super::number::port)]
    pub sport: Option<u16>,
    /// Only sockets with this remote (destination) port.
    #[arg(long, value_name = "PORT", value_parser = super::number::port)]
    pub dport: Option<u16>,
    /// Only sockets held by this process.
    #[arg(long, value_name = "PID", value_parser = super::number::pid)]
    pub pid: Option<i32>,
    /// IPv4 only.
    #[arg(short = '4', conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// IPv6 only.
    #[arg(short = '6')]
    pub ipv6: bool,
    /// Only sockets of this container or namespace (with --netns all): a container's name or
    /// id, a /run/netns name, or a label as shown (host, pid:812 httpd).
    #[arg(long, value_name = "NAME")]
    pub container: Option<String>,
}

impl FilterArgs {
    pub fn filter(&self) -> Filter {
        let states = if self.states.is_empty() {
            StateSet::ALL
        } else {
            self.states
                .iter()
                .fold(StateSet::EMPTY, |acc, s| acc.union(*s))
        };
        Filter {
            states,
            port: self.port,
            sport: self.sport,
            dport: self.dport,
            pid: self.pid,
            inet: !self.ipv6,
            inet6: !self.ipv4,
            namespace: self.container.clone(),
        }
    }
}
