//! Kernel events read on a thread of their own, so that the kernel's buffer is emptied while
//! the caller is busy elsewhere: a dump of 200k TIME_WAITs and its processing take longer than
//! the 16 MiB ring lasts at full churn (about a third of a second), and `watch` read events
//! and dumps on one thread and lost 400k events per full dump.
//!
//! What was read waits in memory (bounded: when the caller falls behind by `BACKLOG` batches,
//! the thread stops reading and the kernel drops, and counts, what does not fit).

use super::events::{Drained, KernelEvents};
use crate::model::KernelEvent;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::Duration;

/// Batches read but not yet taken, at most.
const BACKLOG: usize = 4096;

/// The reader thread's nice value, when the process may raise its priority.
const READER_NICE: i32 = -10;

/// One drain of the source.
pub struct Batch {
    pub events: Vec<KernelEvent>,
    pub drained: Drained,
    /// Events the kernel dropped so far.
    pub lost: u64,
}

pub struct EventPump {
    rx: Receiver<Result<Batch, String>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EventPump {
    /// Starts reading `source` on a new thread (in the caller's network namespace).
    pub fn start(source: KernelEvents) -> std::io::Result<EventPump> {
        let (tx, rx) = std::sync::mpsc::sync_channel(BACKLOG);
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::Builder::new()
            .name("tcpscope-events".into())
            .spawn({
                let stop = stop.clone();
                move || pump(source, &tx, &stop)
            })?;
        Ok(EventPump {
            rx,
            stop,
            thread: Some(thread),
        })
    }

    /// The next batch, waiting at most `timeout`; `Ok(None)` when none came. A batch is sent
    /// even when it holds no event: its watermark lets waiting snapshots through.
    pub fn next(&self, timeout: Duration) -> Result<Option<Batch>, String> {
        match self.rx.recv_timeout(timeout) {
            Ok(batch) => batch.map(Some),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err("the event reader stopped".into()),
        }
    }

    /// A batch if one is ready now.
    pub fn ready(&self) -> Result<Option<Batch>, String> {
        self.next(Duration::ZERO)
    }
}

impl Drop for EventPump {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Unblocks a thread waiting for room.
        while self.rx.try_recv().is_ok() {}
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Puts the calling thread, a reader of kernel events, ahead of other work when allowed
/// (CAP_SYS_NICE): it needs little CPU, but when the host's cores are saturated it went
/// unscheduled for 250 ms at a time, most of what the ring holds at full churn. Without the
/// capability it runs at the process's priority.
pub fn run_ahead() {
    let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), READER_NICE);
}

fn pump(mut source: KernelEvents, tx: &SyncSender<Result<Batch, String>>, stop: &AtomicBool) {
    run_ahead();
    while !stop.load(Ordering::Relaxed) {
        // Returns once a batch has gathered, at once while the kernel is busy.
        source.wait(Duration::from_millis(50));
        let mut events = Vec::new();
        let batch = source
            .drain(&mut events, super::trace::cutoff_now())
            .map(|drained| Batch {
                events,
                drained,
                lost: source.lost(),
            })
            .map_err(|e| format!("reading kernel events: {e}"));
        let failed = batch.is_err();
        let mut item = batch;
        // Waits for room, but gives up when told to stop.
        loop {
            match tx.try_send(item) {
                Ok(()) => break,
                Err(TrySendError::Disconnected(_)) => return,
                Err(TrySendError::Full(back)) => {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    item = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
        if failed {
            return;
        }
    }
}
