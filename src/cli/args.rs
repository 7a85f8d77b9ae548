//! The command line (clap derive): the commands and their own options. The options shared with
//! the interactive view (filter, socket source, the view's settings) are in `crate::options`.

pub use crate::options::{ColorChoice, FilterArgs, SourceArgs, TuiArgs};
use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "tcpscope",
    version,
    about = "Every TCP socket of the host, live, per port: states, queues, timers, owners",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Without a command: the interactive view.
    #[command(flatten)]
    pub tui: TuiArgs,
    /// Colour: auto (when stdout is a terminal and NO_COLOR is unset or empty), always or
    /// never. Any command takes it.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// The config file (instead of $XDG_CONFIG_HOME/tcpscope/config.toml, else
    /// ~/.config/tcpscope/config.toml). The command line overrides it.
    #[arg(long, global = true, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<std::path::PathBuf>,
    /// Read no config file.
    #[arg(long, global = true)]
    pub no_config: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the TCP sockets once, like `ss -tan` (add owners like `ss -tanp`).
    List(ListArgs),
    /// Print state transitions as they happen: traced from the kernel when privileges allow,
    /// inferred from snapshots otherwise.
    Watch(WatchArgs),
    /// Could a server bind (and listen on) this port now? Which options would make it
    /// work, who holds the port, and the myths about it. Exit 0 bindable, 1 not.
    CanBind(CanBindArgs),
    /// Abort the matching sockets with a RST, like `ss -K` (netlink SOCK_DESTROY; needs
    /// CAP_NET_ADMIN). Lists them and asks first unless --yes; refuses an empty filter.
    Kill(KillArgs),
    /// Shut the matching sockets down gracefully, on their owners' behalf: shutdown(SHUT_RDWR)
    /// through a copy of the owner's fd (pidfd_getfd; needs ptrace permission over the
    /// owner: root). Sockets no process holds are skipped. Lists them and asks first unless
    /// --yes; refuses an empty filter.
    Shutdown(ShutdownArgs),
    /// The teardown lab: scenarios of socket calls that play, narrate and check themselves.
    /// `lab list`, `lab run NAME|--all`, or `lab [NAME]` for the interactive view.
    Lab(LabArgs),
    /// Print the settings a run uses (the interactive view's, with the settings given here),
    /// each with where it comes from: the default, the config file or the command line.
    Config(ConfigArgs),
    /// Print a completion script for a shell, e.g. `tcpscope completions bash >
    /// ~/.local/share/bash-completion/completions/tcpscope`.
    Completions(CompletionsArgs),
    /// Print the manual page (roff): `tcpscope man | man -l -`; `tcpscope man list` for one
    /// command's page.
    Man(ManArgs),
    /// Another process's sockets, for the lab's scenarios (not for people).
    #[command(name = "__lab-foreign", hide = true)]
    LabForeign,
}

#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// Milliseconds between snapshots.
    #[arg(long, value_name = "MS", default_value_t = 1000, value_parser = crate::options::number::interval_ms)]
    pub interval: u64,
    /// Seconds closed connections stay visible.
    #[arg(long, value_name = "N", default_value_t = 60, value_parser = crate::options::number::ghost_secs)]
    pub ghost_secs: u64,
    /// Kernel events: auto, bpf, tracefs or off.
    #[arg(long, value_enum, default_value_t = EventsMode::Auto)]
    pub events: EventsMode,
    /// Seconds between full dumps with kernel events.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = crate::options::number::full_every)]
    pub full_every: u64,
}

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Clone, Args)]
pub struct ManArgs {
    /// A command, for its own page (`list`, `lab run`); none for tcpscope(1).
    #[arg(value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct KillArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    #[command(flatten)]
    pub sockets: SourceArgs,
    /// Do not ask.
    #[arg(long)]
    pub yes: bool,
    /// Act even when the filter matches every socket (no filter, `--port 0`, `--state all`).
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ShutdownArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    #[command(flatten)]
    pub sockets: SourceArgs,
    /// Do not ask.
    #[arg(long)]
    pub yes: bool,
    /// Act even when the filter matches every socket (no filter, `--port 0`, `--state all`).
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Clone, Args)]
pub struct CanBindArgs {
    /// The port to try.
    #[arg(value_parser = crate::options::number::server_port)]
    pub port: u16,
    /// The address to bind (0.0.0.0, ::, or one of this host's).
    #[arg(long, default_value = "0.0.0.0")]
    pub addr: std::net::IpAddr,
    /// Set SO_REUSEADDR before bind().
    #[arg(long)]
    pub reuseaddr: bool,
    /// Set SO_REUSEPORT before bind().
    #[arg(long)]
    pub reuseport: bool,
    /// Only bind(), do not listen().
    #[arg(long)]
    pub no_listen: bool,
    /// List every socket that holds the port (by default, past 8 only the ones that matter
    /// are listed and the rest counted per state and per process).
    #[arg(long)]
    pub all: bool,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// The network namespace: a name under /run/netns, pid:PID or a path (not `all`: a
    /// bind is in one namespace).
    #[arg(long, value_name = "NS")]
    pub netns: Option<crate::sources::netns::NetnsChoice>,
}

pub use crate::sources::events::EventsMode;

#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    #[command(flatten)]
    pub sockets: SourceArgs,
    /// Print JSON lines instead of text.
    #[arg(long)]
    pub json: bool,
    /// Milliseconds between snapshots.
    #[arg(long, value_name = "MS", default_value_t = 1000, value_parser = crate::options::number::interval_ms)]
    pub interval: u64,
    /// Stop after this many seconds.
    #[arg(long, value_name = "S", value_parser = positive_seconds)]
    pub duration: Option<f64>,
    /// Kernel events: auto (eBPF, else tracefs, else none), bpf, tracefs or off.
    #[arg(long, value_enum, default_value_t = EventsMode::Auto)]
    pub events: EventsMode,
    /// Seconds closed connections are remembered (for their timelines).
    #[arg(long, value_name = "N", default_value_t = 60, value_parser = crate::options::number::ghost_secs)]
    pub ghost_secs: u64,
}

fn positive_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        _ => Err(format!("{s:?} is not a positive number of seconds")),
    }
}

#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    #[command(flatten)]
    pub sockets: SourceArgs,
    /// Print one JSON array instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Ask the kernel for tcp_info too (always on with --json).
    #[arg(long, short = 'i')]
    pub info: bool,
}

#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LabArgs {
    #[command(subcommand)]
    pub action: Option<LabAction>,
    /// The scenario to open in the interactive view (the first when none is given).
    pub name: Option<String>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum LabAction {
    /// The scenarios, one line each.
    List,
    /// Plays scenarios headless and checks every step (as root: each in a network namespace
    /// of its own, with kernel events). Exit 0 when all pass.
    Run(LabRunArgs),
}

#[derive(Debug, Clone, Args)]
pub struct LabRunArgs {
    /// Scenario names.
    #[arg(required_unless_present_any = ["all", "file"])]
    pub names: Vec<String>,
    /// Every scenario.
    #[arg(long, conflicts_with = "names")]
    pub all: bool,
    /// A scenario file of your own (repeat for several).
    #[arg(long, value_name = "PATH")]
    pub file: Vec<std::path::PathBuf>,
    /// One JSON object per scenario, a line each.
    #[arg(long)]
    pub json: bool,
}
