//! The integration tests, in one binary (one link, one run: a failing area does not stop the
//! others), a module per area, the helpers in `common`; they run side by side. Those that
//! need the host to themselves are in `tests/alone`. Tests that need root or a tool this
//! machine lacks are ignored with the reason (see `build.rs`).

#![allow(clippy::unwrap_used)] // Tests fail loudly by design.

mod common;

mod against_ss;
mod architecture;
mod can_bind;
mod cli_errors;
mod foreign_sockets;
mod fuzz;
mod hostile_input;
mod kill;
mod lab_actions;
mod lab_scenarios;
mod list_sockets;
mod privileges;
mod tracker_scenarios;
mod tui_netns;
mod tui_pty;
mod tui_render;
