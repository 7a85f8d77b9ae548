//! Headless output: the `ss`-like table and JSON.

pub mod json;
pub mod table;
pub mod transitions;

use crate::model::{Owner, SocketRecord};

/// One socket with its owners, as the outputs print it.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    pub socket: &'a SocketRecord,
    pub owners: &'a [Owner],
}
