//! A listener's accept queue: connections the handshake finished that no `accept()` took yet.
//! For a LISTEN socket the kernel reports the queue in Recv-Q and the backlog in Send-Q.
//!
//! Verified on Linux 6.18: with `listen(fd, 2)`, nobody accepting and five connects, `ss`
//! shows the listener at Recv-Q 3, Send-Q 2, two clients stay in SYN-SENT and
//! `TcpExtListenOverflows` counts 2. The kernel drops a completed handshake only when the
//! queue is already *over* the backlog (`sk_acceptq_is_full`: `ack_backlog > max_ack_backlog`),
//! so a queue of backlog + 1 is the fullest it gets.

/// How full an accept queue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptQueue {
    /// Room left: `accept()` keeps up.
    Room,
    /// As many waiting as the backlog: the next one still gets in, the one after is dropped.
    AtBacklog,
    /// Over the backlog: new handshakes are dropped (the clients retry their SYN or ACK) and
    /// TcpExtListenOverflows counts them.
    Full,
}

impl AcceptQueue {
    /// From a listener's Recv-Q (`queued`) and Send-Q (`backlog`).
    pub fn of(queued: u32, backlog: u32) -> AcceptQueue {
        if queued > backlog {
            AcceptQueue::Full
        } else if queued == backlog && backlog > 0 {
            AcceptQueue::AtBacklog
        } else {
            AcceptQueue::Room
        }
    }

    /// Whether it deserves a mark where the queue is shown.
    pub fn flagged(self) -> bool {
        self != AcceptQueue::Room
    }

    /// One sentence on what this means for the listener's clients.
    pub fn explain(self) -> &'static str {
        match self {
            AcceptQueue::Room => "accept() keeps up",
            AcceptQueue::AtBacklog => {
                "at its backlog: one more fits, the next completed handshake is dropped"
            }
            AcceptQueue::Full => {
                "full: the kernel drops new handshakes (clients wait in SYN-SENT and retry; \
                 TcpExtListenOverflows counts them) until the process calls accept()"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_means_over_the_backlog_as_the_kernel_counts_it() {
        assert_eq!(AcceptQueue::of(0, 128), AcceptQueue::Room);
        assert_eq!(AcceptQueue::of(1, 2), AcceptQueue::Room);
        assert_eq!(AcceptQueue::of(2, 2), AcceptQueue::AtBacklog);
        assert_eq!(AcceptQueue::of(3, 2), AcceptQueue::Full);
        // listen(fd, 0): one connection is still queued before the next is dropped.
        assert_eq!(AcceptQueue::of(0, 0), AcceptQueue::Room);
        assert_eq!(AcceptQueue::of(1, 0), AcceptQueue::Full);
        assert!(!AcceptQueue::Room.flagged());
        assert!(AcceptQueue::AtBacklog.flagged() && AcceptQueue::Full.flagged());
    }
}
