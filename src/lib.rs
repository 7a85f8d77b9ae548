//! tcpscope: every TCP socket of the host, live, per port.
//!
//! The layers, from the kernel up: `sources` (OS access behind small traits) → `model` (plain
//! data) → `output` (headless tables and JSON) → `cli`.

pub mod actions;
pub mod app;
pub mod cli;
pub mod model;
pub mod options;
pub mod output;
pub mod scenario;
pub mod sources;
pub mod tracker;
pub mod tui;
pub mod ui;
