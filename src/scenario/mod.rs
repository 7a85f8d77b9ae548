//! The teardown lab: scenarios of socket calls by named actors, played on real sockets in a
//! network namespace of their own, observed through the tracker, and checked against what
//! Linux does.

pub mod actor;
pub mod builtin;
pub mod check;
pub mod foreign;
pub mod format;
pub mod observer;
pub mod player;
pub mod run;
pub mod script;
pub mod session;
