//! The accept queue: full, dropped SYNs, connect timeouts.

use super::*;

/// Listener with backlog 0 (Linux queues backlog + 1 connections), one connection queued,
/// then a connect() whose SYNs the full queue drops: it gives up after CONNECT_TIMEOUT.
/// Returns that failure.
fn connect_to_a_full_accept_queue(env: &Place) -> (Lab, LabError) {
    let mut lab = Lab::new();
    let l = lab
        .listen(&ListenSpec {
            backlog: 0,
            ..ListenSpec::on(v4(env, PORT))
        })
        .unwrap();
    let laddr = local(&lab, l);
    let queued = |lab: &Lab| by_inode(&dump(), inode(lab, l)).unwrap();
    assert_eq!(queued(&lab).send_q, 0, "the backlog as asked");
    let c1 = lab.connect(&ConnectSpec::to(laddr)).unwrap();
    assert!(
        wait_until(DEADLINE, || queued(&lab).recv_q == 1),
        "the first connection is queued: {:?}",
        queued(&lab)
    );
    let started = std::time::Instant::now();
    let r = lab.connect(&ConnectSpec::to(laddr));
    // (poll()'s timeout is whole milliseconds: it may give up a fraction of one early.)
    let waited = started.elapsed();
    assert!(
        waited + Duration::from_millis(5) >= tcpscope::actions::lab::CONNECT_TIMEOUT,
        "it waited {waited:?}"
    );
    let err = r.expect_err("the queue is full");
    assert!(err.to_string().starts_with("connect("), "{err}");
    let LabError::Failed { call, .. } = &err else {
        panic!("{err:?}")
    };
    let failed = last_failure(&lab);
    assert_eq!(&failed.call, call);
    assert!(lab.log().last().unwrap().call.starts_with("close("));
    // Nothing was added to the queue, the client's SYN_SENT socket is gone with its fd.
    assert_eq!(queued(&lab).recv_q, 1);
    assert!(
        !dump()
            .iter()
            .any(|r| r.remote == laddr && r.state == TcpState::SynSent),
        "no SYN_SENT left"
    );
    // Accepting makes room.
    let s = lab.accept(l).unwrap();
    assert_eq!(queued(&lab).recv_q, 0);
    let c3 = lab.connect(&ConnectSpec::to(laddr)).unwrap();
    assert!(wait_until(DEADLINE, || queued(&lab).recv_q == 1));
    let _ = (c1, s, c3);
    (lab, err)
}

#[test]
fn a_full_accept_queue_drops_syns_and_connect_gives_up() {
    let _host = crate::common::host::shared();
    scenario("backlog", |env| {
        connect_to_a_full_accept_queue(env);
    });
}

/// socket2's connect_timeout() gives up with an io::Error of kind TimedOut and no OS error
/// code: the lab must still name it ETIMEDOUT, not `E0`.
#[test]
fn a_connect_timeout_is_named_etimedout() {
    let _host = crate::common::host::shared();
    scenario("timedout", |env| {
        let (lab, err) = connect_to_a_full_accept_queue(env);
        assert_eq!(err.errno_name(), Some("ETIMEDOUT"), "{err}");
        let failed = last_failure(&lab);
        assert!(
            failed
                .line()
                .contains("= -1 ETIMEDOUT: no answer to our SYNs"),
            "{}",
            failed.line()
        );
    });
}

/// The interactive view's connect never waits: EINPROGRESS, and the socket shows SYN_SENT
/// for as long as the handshake takes; against a full accept queue that is until the client
/// gives up (a retransmit timer runs meanwhile).
#[test]
fn a_background_connect_returns_at_once_and_shows_syn_sent_while_unanswered() {
    let _host = crate::common::host::shared();
    scenario("bgconnect", |env| {
        let mut lab = Lab::new();
        let l = lab
            .listen(&ListenSpec {
                backlog: 0,
                ..ListenSpec::on(v4(env, PORT))
            })
            .unwrap();
        let laddr = local(&lab, l);
        // The first one completes (the queue has room for one): ESTABLISHED.
        let c1 = lab.connect_in_background(&ConnectSpec::to(laddr)).unwrap();
        assert!(wait_until(DEADLINE, || state(
            find(&dump(), local(&lab, c1), laddr).as_ref()
        ) == Some(TcpState::Established)));
        // The second one's SYN is dropped: the call returns at once, SYN_SENT stays.
        let started = std::time::Instant::now();
        let c2 = lab.connect_in_background(&ConnectSpec::to(laddr)).unwrap();
        assert!(
            started.elapsed() < tcpscope::actions::lab::CONNECT_TIMEOUT,
            "it waited {:?}",
            started.elapsed()
        );
        let line = lab
            .log()
            .iter()
            .rev()
            .find(|c| c.call.starts_with("connect("))
            .unwrap()
            .line();
        assert!(line.contains("EINPROGRESS"), "{line}");
        let r = find(&dump(), local(&lab, c2), laddr).unwrap();
        assert_eq!(r.state, TcpState::SynSent);
        assert_eq!(r.timer.map(|t| t.kind), Some(TimerKind::Retransmit));
        // accept() makes room; the retransmitted SYN then completes the handshake.
        lab.accept(l).unwrap();
        assert!(
            wait_until(Duration::from_secs(8), || state(
                find(&dump(), local(&lab, c2), laddr).as_ref()
            ) == Some(TcpState::Established)),
            "the second client never got in"
        );
    });
}
