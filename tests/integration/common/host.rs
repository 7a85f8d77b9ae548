//! Who has the host: every test of the binary holds a `Host` for its whole run. Most share it
//! (`shared()`). A few need it to themselves (`alone()`): tracefs events carry no network
//! namespace, so another test's connections would count as theirs; they measure loss at full
//! churn; they reuse file descriptor numbers on purpose. Tests of one `group(name)` share it
//! only with each other. A test waiting for the host alone goes before any shared one that
//! comes after it, so that it waits for at most the tests already running.
//! `architecture::every_test_holds_the_host` checks that no test forgets.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Shared,
    Alone,
    Group(&'static str),
}

#[derive(Default)]
struct State {
    /// What the tests holding the host now are, and how many.
    holders: Option<(Kind, usize)>,
    /// Tests waiting for the host alone or for their group.
    waiting_apart: usize,
}

static STATE: Mutex<State> = Mutex::new(State {
    holders: None,
    waiting_apart: 0,
});
static CHANGED: Condvar = Condvar::new();

/// Held for a test's run; given back when it ends (a failed test gives it back too).
pub struct Host {
    _private: (),
}

fn lock() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(PoisonError::into_inner)
}

fn admitted(state: &State, kind: Kind) -> bool {
    match (state.holders, kind) {
        (None, Kind::Shared) => state.waiting_apart == 0,
        (None, _) => true,
        (Some((Kind::Shared, _)), Kind::Shared) => state.waiting_apart == 0,
        (Some((Kind::Group(a), _)), Kind::Group(b)) => a == b,
        _ => false,
    }
}

fn take(kind: Kind) -> Host {
    let mut state = lock();
    let apart = kind != Kind::Shared;
    if apart {
        state.waiting_apart += 1;
    }
    while !admitted(&state, kind) {
        state = CHANGED.wait(state).unwrap_or_else(PoisonError::into_inner);
    }
    if apart {
        state.waiting_apart -= 1;
    }
    state.holders = Some(match state.holders {
        Some((k, n)) => (k, n + 1),
        None => (kind, 1),
    });
    Host { _private: () }
}

impl Drop for Host {
    fn drop(&mut self) {
        let mut state = lock();
        state.holders = match state.holders {
            Some((k, n)) if n > 1 => Some((k, n - 1)),
            _ => None,
        };
        drop(state);
        CHANGED.notify_all();
    }
}

/// The host, side by side with the other ordinary tests.
pub fn shared() -> Host {
    take(Kind::Shared)
}

/// The host to this test alone.
pub fn alone() -> Host {
    take(Kind::Alone)
}

/// The host, shared only with the tests of the same group.
pub fn group(name: &'static str) -> Host {
    take(Kind::Group(name))
}
