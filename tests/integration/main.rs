//! The integration tests, in one binary (one link, one run: a failing area does not stop the
//! others), a module per area, the helpers in `common`. They run side by side, but for
//! those that need the host to themselves: every test holds `common::host` (shared, alone or
//! in a group) from its first line. Tests that need root or a tool this machine lacks are
//! ignored with the reason (see `build.rs`), and counted apart.

#![allow(clippy::unwrap_used)] // Tests fail loudly by design.

mod common;

mod against_ss;
mod all_namespaces;
mod architecture;
mod can_bind;
mod cli_conventions;
mod cli_errors;
mod containers;
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
mod tui_columns;
mod tui_copy;
mod tui_counts;
mod tui_filter;
mod tui_ghosts;
mod tui_listen;
mod tui_modal;
mod tui_netns;
mod tui_ports;
mod tui_pty;
mod tui_render;
mod tui_status;
mod tui_texts;
mod tui_unprivileged;
mod watch_teardown;
