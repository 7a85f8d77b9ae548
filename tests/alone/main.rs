//! The tests that need the host to themselves, in a binary of their own (cargo runs test
//! binaries one after the other): tracefs events carry no network namespace, so another
//! test's connections in another namespace would count as theirs; they measure loss at full
//! churn; and they reuse file descriptor numbers on purpose, which other tests of the same
//! process would take. Each holds `host_to_myself()` for its whole run, but for the two
//! teardown tests, which may share the host with each other (`host_shared()`).

#![allow(clippy::unwrap_used)] // Tests fail loudly by design.

#[path = "../integration/common/mod.rs"]
mod common;

mod exact_feed;
mod owners_incremental;
mod real_servers;
mod trace_instance;
mod watch_teardown;

use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

static HOST: RwLock<()> = RwLock::new(());

/// The host to this test alone (a failed test poisons the lock; the others still run).
pub fn host_to_myself() -> RwLockWriteGuard<'static, ()> {
    HOST.write().unwrap_or_else(PoisonError::into_inner)
}

/// The host, shared with the other tests that take it so.
pub fn host_shared() -> RwLockReadGuard<'static, ()> {
    HOST.read().unwrap_or_else(PoisonError::into_inner)
}
