//! Every integration test, in one binary (one link, one run: a failing area does not stop
//! the others). A module per area, the helpers in `common`. Tests that need root or a tool
//! this machine lacks are ignored with the reason (see `build.rs`).

#![allow(clippy::unwrap_used)] // Tests fail loudly by design.

mod common;

mod against_ss;
mod architecture;
mod can_bind;
mod cli_errors;
mod exact_feed;
mod foreign_sockets;
mod fuzz;
mod hostile_input;
mod kill;
mod lab_actions;
mod lab_scenarios;
mod list_sockets;
mod owners_incremental;
mod privileges;
mod real_servers;
mod trace_instance;
mod tracker_scenarios;
mod tui_netns;
mod tui_pty;
mod tui_render;
mod watch_teardown;
