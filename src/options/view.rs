//! The interactive view's settings.

use super::{FilterArgs, SourceArgs};
use crate::sources::events::EventsMode;
use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct TuiArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    #[command(flatten)]
    pub sockets: SourceArgs,
    /// Milliseconds between snapshots.
    #[arg(long, value_name = "MS", default_value_t = 1000, value_parser = super::number::interval_ms)]
    pub interval: u64,
    /// Seconds closed connections stay visible, greyed.
    #[arg(long, value_name = "N", default_value_t = 60, value_parser = super::number::ghost_secs)]
    pub ghost_secs: u64,
    /// Kernel events: auto (eBPF, else tracefs, else none), bpf, tracefs or off.
    #[arg(long, value_enum, default_value_t = EventsMode::Auto)]
    pub events: EventsMode,
    /// With kernel events, dump the whole table every N seconds; in between only teardown
    /// states and listeners (events tell the rest). Queues of established connections are
    /// as fresh as the last full dump.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = super::number::full_every)]
    pub full_every: u64,
}

impl TuiArgs {
    /// The lab view's settings: every socket, snapshots five times a second (a step's moves
    /// show at once), the other defaults of the command line.
    pub fn for_lab() -> TuiArgs {
        TuiArgs {
            filter: FilterArgs::default(),
            sockets: SourceArgs::default(),
            interval: 200,
            ghost_secs: 60,
            events: EventsMode::Auto,
            full_every: 10,
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
        view: TuiArgs,
    }

    /// The lab's settings are the command line's defaults but for the interval.
    #[test]
    fn the_lab_settings_are_the_defaults_with_a_short_interval() {
        let parsed = Line::try_parse_from(["--interval", "200"]).unwrap().view;
        let lab = TuiArgs::for_lab();
        assert_eq!(format!("{parsed:?}"), format!("{lab:?}"));
    }
}
