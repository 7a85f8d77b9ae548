//! Where the sockets come from: the table's source, the namespace, and whether to look up
//! owners. Set once per run; the view's prompt cannot change them.

use crate::sources::SourceKind;
use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// Do not look up the processes that own the sockets (much faster on busy hosts).
    #[arg(long, conflicts_with = "pid")]
    pub no_owners: bool,
    /// Where the socket table comes from.
    #[arg(long, value_enum, default_value_t = SourceKind::Netlink)]
    pub source: SourceKind,
    /// Enter the network namespace /run/netns/NAME first (as `ip netns exec` does).
    #[arg(long, value_name = "NAME")]
    pub netns: Option<String>,
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
