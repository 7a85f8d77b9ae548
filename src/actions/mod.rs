//! What tcpscope does to sockets. For now: probing whether a port can be bound, with
//! throwaway sockets of its own.

pub mod bind_probe;
pub mod destroy;
