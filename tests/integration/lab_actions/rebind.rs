//! Rebinding a port: over a TIME_WAIT, with and without SO_REUSEADDR and SO_REUSEPORT, and a live listener.

use super::*;

/// A listener with these options, one connection the server side closes first (its TIME_WAIT
/// is on the listener's port), then the listener closed. Returns the listener and the
/// connection, once the TIME_WAIT is there.
fn time_wait_on_listener_port(
    lab: &mut Lab,
    env: &Place,
    reuseaddr: bool,
    reuseport: bool,
) -> Conn {
    let l = listen(lab, v4(env, PORT), reuseaddr, reuseport);
    let conn = connect_accept(lab, l);
    let s = lab.socket(conn.server).unwrap();
    assert_eq!(
        (s.reuseaddr, s.reuseport),
        (reuseaddr, reuseport),
        "the accepted socket inherits the listener's options"
    );
    lab.close(conn.server).unwrap();
    conn.wait(Some(TcpState::CloseWait), Some(TcpState::FinWait2));
    assert_eq!(lab.read(conn.client).unwrap(), b"");
    lab.close(conn.client).unwrap();
    lab.close(l).unwrap();
    assert_time_wait_holds(&conn);
    assert!(
        !dump()
            .iter()
            .any(|r| r.local == conn.saddr && r.state == TcpState::Listen),
        "the listener is closed"
    );
    conn
}

/// The server's end of `conn` is (still) in TIME_WAIT, with its timer running, no fd.
#[track_caller]
fn assert_time_wait_holds(conn: &Conn) {
    let (_, s) = conn.wait(None, Some(TcpState::TimeWait));
    let s = s.unwrap();
    assert_orphan(&s);
    assert_sixty_s_timer(&s, TimerKind::Timewait);
}

#[test]
fn rebind_over_time_wait_without_reuseaddr_on_the_old_socket_fails() {
    let _host = crate::common::host::shared();
    scenario("rebind-tw", |env| {
        let mut lab = Lab::new();
        let conn = time_wait_on_listener_port(&mut lab, env, false, false);
        let l = conn.listener;
        for (reuseaddr, reuseport) in [(false, false), (true, false), (false, true)] {
            let r = lab.rebind(l, reuseaddr, reuseport);
            assert_failed(&lab, r, "bind(", "EADDRINUSE");
            assert!(
                lab.log().last().unwrap().call.starts_with("close("),
                "the new socket is closed"
            );
            assert_time_wait_holds(&conn);
        }
        assert!(
            !dump()
                .iter()
                .any(|r| r.local == conn.saddr && r.state == TcpState::Listen),
            "no listener came of it"
        );
    });
}

#[test]
fn rebind_over_time_wait_with_reuseaddr_on_both_succeeds() {
    let _host = crate::common::host::shared();
    scenario("rebind-ra", |env| {
        let mut lab = Lab::new();
        let conn = time_wait_on_listener_port(&mut lab, env, true, false);
        let l = conn.listener;
        // Only the old one has it: not enough.
        let r = lab.rebind(l, false, false);
        assert_failed(&lab, r, "bind(", "EADDRINUSE");
        assert_time_wait_holds(&conn);
        // Both: the server restarts on its port while the TIME_WAIT is still there.
        let l2 = lab.rebind(l, true, false).unwrap();
        assert_eq!(local(&lab, l2), conn.saddr);
        let d = dump();
        let listener = by_inode(&d, inode(&lab, l2)).unwrap();
        assert_eq!(listener.state, TcpState::Listen);
        assert_eq!(listener.local, conn.saddr);
        assert_time_wait_holds(&conn);
        assert!(
            lines(&lab, l2)
                .iter()
                .any(|l| l.contains("SO_REUSEADDR, 1) = 0"))
        );
        // And it serves.
        let conn2 = connect_accept(&mut lab, l2);
        conn2.wait(Some(TcpState::Established), Some(TcpState::Established));
    });
}

#[test]
fn rebind_over_time_wait_left_by_reuseport_sockets_succeeds_with_reuseport() {
    let _host = crate::common::host::shared();
    scenario("rebind-rp", |env| {
        let mut lab = Lab::new();
        let conn = time_wait_on_listener_port(&mut lab, env, false, true);
        let r = lab.rebind(conn.listener, true, false);
        assert_failed(&lab, r, "bind(", "EADDRINUSE");
        let l2 = lab.rebind(conn.listener, false, true).unwrap();
        assert_eq!(
            by_inode(&dump(), inode(&lab, l2)).unwrap().state,
            TcpState::Listen
        );
        assert_time_wait_holds(&conn);
    });
}

#[test]
fn a_live_listener_blocks_rebind_whatever_reuseaddr_and_reuseport_on_both_shares() {
    let _host = crate::common::host::shared();
    scenario("rebind-live", |env| {
        let mut lab = Lab::new();
        let l = listen(&mut lab, v4(env, PORT), true, false);
        for (reuseaddr, reuseport) in [(false, false), (true, false), (false, true), (true, true)] {
            let r = lab.rebind(l, reuseaddr, reuseport);
            assert_failed(&lab, r, "bind(", "EADDRINUSE");
        }
        let listeners = |lab: &Lab| {
            dump()
                .into_iter()
                .filter(|r| r.local == local(lab, l) && r.state == TcpState::Listen)
                .count()
        };
        assert_eq!(listeners(&lab), 1);

        // SO_REUSEPORT on both (same uid): two listeners on one port.
        let p = listen(&mut lab, v4(env, PORT + 1), false, true);
        let p2 = lab.rebind(p, false, true).unwrap();
        let paddr = local(&lab, p);
        assert_eq!(local(&lab, p2), paddr);
        let d = dump();
        for id in [p, p2] {
            let r = by_inode(&d, inode(&lab, id)).unwrap();
            assert_eq!((r.state, r.local), (TcpState::Listen, paddr));
        }
        // Connections are spread over the group: each lands in one of the two queues.
        for _ in 0..8 {
            lab.connect(&ConnectSpec::to(paddr)).unwrap();
        }
        let queued = |lab: &Lab| -> Vec<u32> {
            let d = dump();
            [p, p2]
                .iter()
                .map(|&id| by_inode(&d, inode(lab, id)).unwrap().recv_q)
                .collect()
        };
        assert!(
            wait_until(DEADLINE, || queued(&lab).iter().sum::<u32>() == 8),
            "8 connections queued over both: {:?}",
            queued(&lab)
        );
        // A third listener without SO_REUSEPORT is refused.
        let r = lab.rebind(p, true, false);
        assert_failed(&lab, r, "bind(", "EADDRINUSE");
    });
}

#[test]
fn connect_from_a_chosen_port_binds_it_and_a_time_wait_on_it_blocks_it() {
    let _host = crate::common::host::shared();
    scenario("from", |env| {
        let mut lab = Lab::new();
        let l = listen(&mut lab, v4(env, PORT), false, false);
        let to = local(&lab, l);
        let from = if env.own_namespace() {
            v4(env, 40000)
        } else {
            // A free port, found by binding to 0.
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap()
        };
        let c = lab
            .connect(&ConnectSpec {
                from: Some(from),
                ..ConnectSpec::to(to)
            })
            .unwrap();
        assert_eq!(local(&lab, c), from);
        assert!(
            lines(&lab, c)
                .iter()
                .any(|l| l.contains("bind(") && l.contains(&format!("{from}) = 0")))
        );
        let s = lab.accept(l).unwrap();
        let conn = Conn {
            listener: l,
            client: c,
            server: s,
            caddr: from,
            saddr: to,
        };
        conn.wait(Some(TcpState::Established), Some(TcpState::Established));
        // The client closes first: the TIME_WAIT holds its port. (The server reads its end of
        // stream once the FIN has arrived, not before.)
        lab.close(c).unwrap();
        conn.wait(Some(TcpState::FinWait2), Some(TcpState::CloseWait));
        assert_eq!(lab.read(s).unwrap(), b"");
        lab.close(s).unwrap();
        conn.wait(Some(TcpState::TimeWait), None);
        let r = lab.connect(&ConnectSpec {
            from: Some(from),
            ..ConnectSpec::to(to)
        });
        assert_failed(&lab, r, "bind(", "EADDRINUSE");
    });
}
