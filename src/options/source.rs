//! Where the sockets come from: the table's source, the namespace, and whether to look up
//! owners. Set once per run; the view's prompt cannot change them.

use crate::sources::SourceKind;
use crate::sources::netns::NetnsChoice;
use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// Do not look up the processes that own the sockets (much faster on busy hosts).
    #[arg(long, conflicts_with = "pid")]
    pub no_owners: bool,
    /// Where the socket table comes from.
    #[arg(long, value_enum, default_value_t = SourceKind::Netlink)]
    pub source: SourceKind,
    /// The network namespace: a name under /run/netns (as `ip netns exec` has it), pid:PID
    /// (that process's), a path (/proc/PID/ns/net, a bind mount), or `all`.
    #[arg(long, value_name = "NS")]
    pub netns: Option<NetnsChoice>,
}

impl Default for SourceArgs {
    fn default() -> Self {
        SourceArgs {
            no_owners: false,
            source: SourceKind::Netlink,
            netns: None,
        }
    }
}
