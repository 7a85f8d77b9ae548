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
    /// Only sockets held by a process whose name contains NAME (any case).
    #[arg(long, value_name = "NAME")]
    pub process: Option<String>,
}

impl FilterArgs {
    /// The same filter as a line of options (what the view's `/` prompt starts from, so a
    /// filter given on the command line is shown and can be edited, not silently replaced).
    pub fn as_line(&self) -> String {
        let mut parts = Vec::new();
        let states = self.filter().states;
        if states != StateSet::ALL {
            for st in crate::model::TcpState::ALL {
                if states.contains(st) {
                    parts.push(format!(
                        "--state {}",
                        st.name().to_lowercase().replace('_', "-")
                    ));
                }
            }
        }
        for (flag, v) in [
            ("--port", self.port),
            ("--sport", self.sport),
            ("--dport", self.dport),
        ] {
            if let Some(p) = v {
                parts.push(format!("{flag} {p}"));
            }
        }
        if let Some(pid) = self.pid {
            parts.push(format!("--pid {pid}"));
        }
        if self.ipv4 {
            parts.push("-4".into());
        }
        if self.ipv6 {
            parts.push("-6".into());
        }
        if let Some(c) = &self.container {
            parts.push(format!("--container {c}"));
        }
        if let Some(p) = &self.process {
            parts.push(format!("--process {p}"));
        }
        parts.join(" ")
    }

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
            process: self.process.clone(),
            words: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    #[command(no_binary_name = true)]
    struct Line {
        #[command(flatten)]
        filter: FilterArgs,
    }

    fn parse(line: &str) -> FilterArgs {
        Line::try_parse_from(line.split_whitespace())
            .unwrap()
            .filter
    }

    #[test]
    fn a_filter_as_a_line_parses_back_to_itself() {
        for line in [
            "",
            "--port 8080",
            "--state time-wait --state close-wait --sport 80 -6",
            "--state connected --dport 443 --pid 12 -4 --container web --process nginx",
        ] {
            let args = parse(line);
            let again = parse(&args.as_line());
            assert_eq!(
                again.filter(),
                args.filter(),
                "{line:?} → {:?}",
                args.as_line()
            );
        }
        assert_eq!(
            parse("--port 8080 --state listen").as_line(),
            "--state listen --port 8080"
        );
    }
}
