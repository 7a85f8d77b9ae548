//! "Dump now": the main loop asks after an action (so that its result shows at once), or to
//! end; the snapshot thread, waiting out its interval, wakes at once (a condition variable,
//! not a poll).

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

#[derive(Default)]
pub struct DumpRequest {
    asked: Mutex<bool>,
    wake: Condvar,
}

impl DumpRequest {
    /// Asks for a dump now, and wakes the waiting thread.
    pub fn ask(&self) {
        *self.asked.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.wake.notify_all();
    }

    /// Whether a dump was asked for; the request is taken.
    pub fn take(&self) -> bool {
        std::mem::take(&mut *self.asked.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Waits until a dump is asked for or `timeout` passes (the request stays, for `take`).
    pub fn wait(&self, timeout: Duration) {
        let asked = self.asked.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = self
            .wake
            .wait_timeout_while(asked, timeout, |asked| !*asked)
            .unwrap_or_else(PoisonError::into_inner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Instant;

    #[test]
    fn a_request_wakes_the_waiter_at_once() {
        let request = Arc::new(DumpRequest::default());
        let waiter = {
            let request = request.clone();
            std::thread::spawn(move || {
                let started = Instant::now();
                request.wait(Duration::from_secs(60));
                (started.elapsed(), request.take())
            })
        };
        request.ask();
        let (waited, taken) = waiter.join().unwrap();
        assert!(waited < Duration::from_secs(60), "woken, not timed out");
        assert!(taken);
        assert!(!request.take(), "taken once");
    }

    #[test]
    fn without_a_request_the_wait_ends_at_its_timeout() {
        let request = DumpRequest::default();
        request.wait(Duration::from_millis(1));
        assert!(!request.take());
    }
}
