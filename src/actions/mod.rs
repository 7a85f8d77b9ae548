//! What tcpscope does to sockets: probing whether a port can be bound, lab sockets of its
//! own, and aborting or shutting down other processes' sockets.

pub mod bind_holders;
pub mod bind_probe;
pub mod bind_report;
pub mod destroy;
pub mod errno;
pub mod foreign_shutdown;
pub mod lab;
