//! listen, connect, accept, send, read, shutdown and close: both ends' states, timers and errors.

use super::*;

#[test]
fn listen_connect_accept_give_listen_and_established_on_both_ends() {
    let _host = crate::common::host::shared();
    scenario("accept", |env| {
        let mut lab = Lab::new();
        let l = lab.listen(&ListenSpec::on(v4(env, PORT))).unwrap();
        let laddr = local(&lab, l);
        if env.own_namespace() {
            assert_eq!(laddr.port(), PORT);
        }
        let listener = by_inode(&dump(), inode(&lab, l)).expect("the listener is listed");
        assert_eq!(listener.state, TcpState::Listen);
        assert_eq!(listener.local, laddr);
        assert_eq!(listener.timer, None);
        assert_eq!(
            (listener.recv_q, listener.send_q),
            (0, 128),
            "Recv-Q: the accept queue, empty; Send-Q: the backlog (128, under somaxconn)"
        );

        // Nothing has connected: accept() on the empty queue says EAGAIN.
        let r = lab.accept(l);
        assert_failed(&lab, r, "accept(", "EAGAIN");

        let c = lab.connect(&ConnectSpec::to(laddr)).unwrap();
        let caddr = local(&lab, c);
        // Before accept(): the handshake is done, the child sits in the accept queue,
        // ESTABLISHED with no file yet (once the client's ACK is processed).
        let mut d = Vec::new();
        assert!(
            wait_until(DEADLINE, || {
                d = dump();
                by_inode(&d, inode(&lab, l)).is_some_and(|r| r.recv_q == 1)
            }),
            "the connection never reached the accept queue"
        );
        let client = find(&d, caddr, laddr).expect("client listed");
        assert_eq!(client.state, TcpState::Established);
        assert_eq!(client.inode, inode(&lab, c));
        let child = find(&d, laddr, caddr).expect("the queued child is listed");
        assert_eq!(child.state, TcpState::Established);
        assert_eq!(child.inode, 0, "not accepted yet: no file");
        assert_eq!(
            by_inode(&d, inode(&lab, l)).unwrap().recv_q,
            1,
            "one queued"
        );

        let s = lab.accept(l).unwrap();
        assert_eq!(lab.socket(s).unwrap().role, Role::Accepted(l));
        assert_eq!(lab.socket(s).unwrap().peer, Some(caddr));
        let d = dump();
        let server = find(&d, laddr, caddr).expect("accepted end listed");
        assert_eq!(server.state, TcpState::Established);
        assert_eq!(server.inode, inode(&lab, s), "now it has our fd");
        assert_eq!(find(&d, caddr, laddr).unwrap().state, TcpState::Established);
        assert_eq!(by_inode(&d, inode(&lab, l)).unwrap().recv_q, 0, "dequeued");
        for r in [&server, &find(&d, caddr, laddr).unwrap()] {
            assert_eq!(r.timer, None, "an idle ESTABLISHED has no timer: {r:?}");
            assert_eq!((r.recv_q, r.send_q), (0, 0));
        }

        // The log says what was done, call by call.
        let log = lines(&lab, l);
        assert!(
            log[0].contains("socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = "),
            "{log:?}"
        );
        assert!(
            log[1].contains("bind(") && log[1].ends_with(&format!(", {}) = 0", v4(env, PORT))),
            "{log:?}"
        );
        assert!(
            log[2].contains("listen(") && log[2].ends_with(", 128) = 0"),
            "{log:?}"
        );
        assert!(
            log[3].contains("fcntl(") && log[3].contains("O_NONBLOCK"),
            "{log:?}"
        );
        assert!(
            log.iter()
                .any(|l| l.contains(&format!("→ #{s} (from {caddr})"))),
            "{log:?}"
        );
        assert!(
            !lines(&lab, c).iter().any(|l| l.contains("setsockopt")),
            "no option asked, none set"
        );
    });
}

#[test]
fn connect_to_a_port_nobody_listens_on_is_refused() {
    let _host = crate::common::host::shared();
    scenario("refused", |env| {
        // Hold the port with a bound socket that does not listen, so nobody else can.
        let holder =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        holder.bind(&v4(env, PORT).into()).unwrap();
        let to = holder.local_addr().unwrap().as_socket().unwrap();
        let mut lab = Lab::new();
        let r = lab.connect(&ConnectSpec::to(to));
        assert_failed(&lab, r, "connect(", "ECONNREFUSED");
        let log: Vec<String> = lab.log().iter().map(CallRecord::line).collect();
        assert!(
            log.last().unwrap().contains("close("),
            "the failed socket is closed, and the log says so: {log:?}"
        );
        assert!(
            lab.sockets().is_empty(),
            "no lab socket left: {:?}",
            lab.sockets()
        );
        assert!(
            !dump().iter().any(|r| r.remote == to),
            "nothing left connecting to {to}"
        );
    });
}

// ---------------------------------------------------------------------------------------------
// send and read.

#[test]
fn sent_data_arrives_reads_say_eagain_when_empty_and_eof_after_fin() {
    let _host = crate::common::host::shared();
    scenario("send", |env| {
        let mut lab = Lab::new();
        let conn = established(&mut lab, v4(env, PORT));
        assert_eq!(lab.send(conn.client, b"hello").unwrap(), 5);
        assert_eq!(read_n(&mut lab, conn.server, 5), b"hello");
        assert_eq!(lab.send(conn.server, b"hi back").unwrap(), 7);
        assert_eq!(read_n(&mut lab, conn.client, 7), b"hi back");
        assert!(
            lines(&lab, conn.client)
                .iter()
                .any(|l| l.contains(r#"send("#) && l.contains(r#""hello", 5) = 5"#))
        );
        assert!(
            lines(&lab, conn.server)
                .iter()
                .any(|l| l.contains(r#"= 5 "hello""#)),
            "{:?}",
            lines(&lab, conn.server)
        );

        // Nothing more: EAGAIN, on both ends.
        let r = lab.read(conn.server);
        assert_failed(&lab, r, "recv(", "EAGAIN");
        let r = lab.read(conn.client);
        assert_failed(&lab, r, "recv(", "EAGAIN");

        // The client closes: its FIN reaches the server, whose read says end of stream.
        lab.close(conn.client).unwrap();
        conn.wait(Some(TcpState::FinWait2), Some(TcpState::CloseWait));
        assert_eq!(lab.read(conn.server).unwrap(), b"");
        assert!(
            lines(&lab, conn.server)
                .last()
                .unwrap()
                .contains("= 0 (end of stream"),
            "{:?}",
            lines(&lab, conn.server)
        );
        // And again: EOF is sticky.
        assert_eq!(lab.read(conn.server).unwrap(), b"");
        assert_eq!(lab.read(conn.client), Err(LabError::Closed(conn.client)));
    });
}

// ---------------------------------------------------------------------------------------------
// shutdown.

#[test]
fn shutdown_write_half_closes_fin_wait2_without_timer_and_peer_close_wait() {
    let _host = crate::common::host::shared();
    scenario("shutwr", |env| {
        let mut lab = Lab::new();
        let conn = established(&mut lab, v4(env, PORT));
        lab.shutdown(conn.client, Shutdown::Write).unwrap();
        assert!(
            lines(&lab, conn.client)
                .last()
                .unwrap()
                .contains("SHUT_WR) = 0")
        );
        let sock = lab.socket(conn.client).unwrap();
        assert!(sock.shut_write && !sock.shut_read && sock.is_open());
        let (c, s) = conn.wait(Some(TcpState::FinWait2), Some(TcpState::CloseWait));
        let (c, s) = (c.unwrap(), s.unwrap());
        // The fd is still open: a full socket, no FIN_WAIT2 timer; it would last for ever.
        assert_eq!(c.inode, inode(&lab, conn.client));
        assert_eq!(c.timer, None, "no timer while the fd is open: {c:?}");
        assert_eq!(s.inode, inode(&lab, conn.server));
        assert_eq!(s.timer, None, "CLOSE_WAIT waits for the application: {s:?}");

        assert_eq!(
            lab.read(conn.server).unwrap(),
            b"",
            "the FIN is end of stream"
        );
        // Half-closed: the other direction still works.
        assert_eq!(lab.send(conn.server, b"still here").unwrap(), 10);
        assert_eq!(read_n(&mut lab, conn.client, 10), b"still here");
        // Sending on the shut end fails with EPIPE.
        let r = lab.send(conn.client, b"x");
        assert_failed(&lab, r, "send(", "EPIPE");
        // Still FIN_WAIT2 / CLOSE_WAIT, no timer.
        let (c, _) = conn.wait(Some(TcpState::FinWait2), Some(TcpState::CloseWait));
        assert_eq!(c.unwrap().timer, None);

        // The server closes too: the client, fd still open, goes to TIME_WAIT all the same
        // (a timewait socket takes over: no inode), the server's end is gone.
        lab.close(conn.server).unwrap();
        let (c, _) = conn.wait(Some(TcpState::TimeWait), None);
        let c = c.unwrap();
        assert_orphan(&c);
        assert_sixty_s_timer(&c, TimerKind::Timewait);
        assert!(lab.socket(conn.client).unwrap().is_open());
        assert_eq!(lab.read(conn.client).unwrap(), b"", "the server's FIN");
        lab.close(conn.client).unwrap();
        let (c, _) = conn.wait(Some(TcpState::TimeWait), None);
        assert_sixty_s_timer(&c.unwrap(), TimerKind::Timewait);
    });
}

#[test]
fn shutdown_read_sends_nothing_both_ends_stay_established() {
    let _host = crate::common::host::shared();
    scenario("shutrd", |env| {
        let mut lab = Lab::new();
        let conn = established(&mut lab, v4(env, PORT));
        lab.shutdown(conn.server, Shutdown::Read).unwrap();
        assert!(
            lines(&lab, conn.server)
                .last()
                .unwrap()
                .contains("SHUT_RD) = 0")
        );
        assert!(lab.socket(conn.server).unwrap().shut_read);
        // No FIN, nothing on the wire: both stay ESTABLISHED, and the peer learns nothing.
        let (c, s) = conn.ends();
        assert_eq!(state(c.as_ref()), Some(TcpState::Established));
        assert_eq!(state(s.as_ref()), Some(TcpState::Established));
        let r = lab.read(conn.client);
        assert_failed(&lab, r, "recv(", "EAGAIN");
        // The shut end reads end of stream at once.
        assert_eq!(lab.read(conn.server).unwrap(), b"");
        // It can still send.
        assert_eq!(lab.send(conn.server, b"one way").unwrap(), 7);
        assert_eq!(read_n(&mut lab, conn.client, 7), b"one way");
        // And Linux still accepts data sent to it (RFC 1122 would have it reset): it queues,
        // and a read after SHUT_RD even returns it.
        assert_eq!(lab.send(conn.client, b"ignored?").unwrap(), 8);
        assert_eq!(read_n(&mut lab, conn.server, 8), b"ignored?");
        conn.wait(Some(TcpState::Established), Some(TcpState::Established));
    });
}

#[test]
fn shutdown_both_sends_fin_and_data_arriving_after_it_is_answered_with_rst() {
    let _host = crate::common::host::shared();
    scenario("shutrdwr", |env| {
        let mut lab = Lab::new();
        let conn = established(&mut lab, v4(env, PORT));
        lab.shutdown(conn.client, Shutdown::Both).unwrap();
        assert!(
            lines(&lab, conn.client)
                .last()
                .unwrap()
                .contains("SHUT_RDWR) = 0")
        );
        let sock = lab.socket(conn.client).unwrap();
        assert!(sock.shut_read && sock.shut_write);
        let (c, _) = conn.wait(Some(TcpState::FinWait2), Some(TcpState::CloseWait));
        assert_eq!(c.unwrap().timer, None, "fd still open: no timer");
        assert_eq!(lab.read(conn.client).unwrap(), b"", "shut for reading");
        let r = lab.send(conn.client, b"x");
        assert_failed(&lab, r, "send(", "EPIPE");
        assert_eq!(lab.read(conn.server).unwrap(), b"", "the FIN");

        // The server sends anyway: accepted by its kernel, but the client, shut for reading in
        // FIN_WAIT2, answers with a RST (RFC 1122); both ends are gone.
        assert_eq!(lab.send(conn.server, b"too late").unwrap(), 8);
        conn.wait(None, None);
        // The RST came in CLOSE_WAIT: Linux reports it as EPIPE, not ECONNRESET.
        let r = lab.send(conn.server, b"x");
        assert_failed(&lab, r, "send(", "EPIPE");
        // The client, which had received no FIN, reads the reset it sent: ECONNRESET, though
        // it had shut reading (a read said end of stream before).
        let r = lab.read(conn.client);
        assert_failed(&lab, r, "recv(", "ECONNRESET");
        assert_eq!(lab.read(conn.client).unwrap(), b"", "reported once");
    });
}

#[test]
fn shutdown_of_a_listener_read_stops_it_listening_write_does_nothing() {
    let _host = crate::common::host::shared();
    scenario("shutlisten", |env| {
        let mut lab = Lab::new();
        let l = listen(&mut lab, v4(env, PORT), false, false);
        let laddr = local(&lab, l);
        let ino = inode(&lab, l);
        // SHUT_WR on a listener changes nothing: it listens and accepts.
        lab.shutdown(l, Shutdown::Write).unwrap();
        assert_eq!(by_inode(&dump(), ino).unwrap().state, TcpState::Listen);
        let conn = connect_accept(&mut lab, l);
        conn.wait(Some(TcpState::Established), Some(TcpState::Established));
        // One more connection, left in the accept queue.
        let queued = lab.connect(&ConnectSpec::to(laddr)).unwrap();
        let qaddr = local(&lab, queued);
        assert!(wait_until(DEADLINE, || by_inode(&dump(), ino)
            .is_some_and(|r| r.recv_q == 1)));

        // SHUT_RD stops it listening: gone from the table, the queued connection reset, the
        // accepted one untouched.
        lab.shutdown(l, Shutdown::Read).unwrap();
        assert!(lines(&lab, l).last().unwrap().contains("SHUT_RD) = 0"));
        assert!(lab.socket(l).unwrap().is_open());
        let d = dump();
        assert_eq!(
            by_inode(&d, ino),
            None,
            "no longer listed: {:?}",
            by_inode(&d, ino)
        );
        assert!(wait_until(DEADLINE, || {
            let d = dump();
            find(&d, qaddr, laddr).is_none() && find(&d, laddr, qaddr).is_none()
        }));
        let r = lab.read(queued);
        assert_failed(&lab, r, "recv(", "ECONNRESET");
        conn.wait(Some(TcpState::Established), Some(TcpState::Established));
        let r = lab.accept(l);
        assert_failed(&lab, r, "accept(", "EINVAL");
        let r = lab.connect(&ConnectSpec::to(laddr));
        assert_failed(&lab, r, "connect(", "ECONNREFUSED");
        // But the port stays bound to it (it was bound to that port explicitly) until its fd
        // is closed. (The accepted connection would hold it too: end it, the client first, so
        // that no TIME_WAIT is on the port.)
        lab.close(conn.client).unwrap();
        conn.wait(Some(TcpState::FinWait2), Some(TcpState::CloseWait));
        lab.close(conn.server).unwrap();
        conn.wait(Some(TcpState::TimeWait), None);
        if env.own_namespace() {
            let r = lab.rebind(l, false, false);
            assert_failed(&lab, r, "bind(", "EADDRINUSE");
            lab.close(l).unwrap();
            let l2 = lab.rebind(l, false, false).unwrap();
            assert_eq!(
                by_inode(&dump(), inode(&lab, l2)).unwrap().state,
                TcpState::Listen
            );
        } else {
            // Bound with port 0, the kernel gave the port back when it stopped listening
            // (no SOCK_BINDPORT_LOCK): a new listener gets it while the old fd is open.
            let l2 = lab.rebind(l, false, false).unwrap();
            assert_eq!(local(&lab, l2), laddr);
            assert!(lab.socket(l).unwrap().is_open());
        }
    });
}

/// recv() also returns 0 after this end's own shutdown(SHUT_RD), and after a reset already
/// reported: the log must not say the peer sent a FIN then.
#[test]
fn a_read_of_zero_says_why_not_always_fin() {
    let _host = crate::common::host::shared();
    scenario("eof-log", |env| {
        let mut lab = Lab::new();
        let conn = established(&mut lab, v4(env, PORT));
        lab.shutdown(conn.server, Shutdown::Read).unwrap();
        assert_eq!(lab.read(conn.server).unwrap(), b"");
        let line = lines(&lab, conn.server).pop().unwrap();
        assert!(
            line.contains("= 0 (end of stream: this end shut down reading)"),
            "{line}"
        );
        conn.wait(Some(TcpState::Established), Some(TcpState::Established));

        lab.close_linger0(conn.client).unwrap();
        conn.wait(None, None);
        let r = lab.read(conn.server);
        assert_failed(&lab, r, "recv(", "ECONNRESET");
        assert_eq!(lab.read(conn.server).unwrap(), b"");
        let line = lines(&lab, conn.server).pop().unwrap();
        assert!(
            line.contains("= 0 (end of stream: the connection was reset"),
            "{line}"
        );
    });
}

// ---------------------------------------------------------------------------------------------
// close.

#[test]
fn close_active_closer_fin_wait2_then_time_wait_and_the_peer_gone() {
    let _host = crate::common::host::shared();
    scenario("close", |env| {
        let mut lab = Lab::new();
        let conn = established(&mut lab, v4(env, PORT));
        lab.close(conn.client).unwrap();
        let sock = lab.socket(conn.client).unwrap();
        assert!(!sock.is_open());
        assert_eq!(sock.closed, Some("closed"));
        assert!(lines(&lab, conn.client).last().unwrap().contains("close("));
        // Orphaned in FIN_WAIT2: a timewait socket with no inode and tcp_fin_timeout to live.
        let (c, s) = conn.wait(Some(TcpState::FinWait2), Some(TcpState::CloseWait));
        let (c, s) = (c.unwrap(), s.unwrap());
        assert_orphan(&c);
        assert_sixty_s_timer(&c, TimerKind::Timewait);
        assert_eq!(s.inode, inode(&lab, conn.server));
        assert_eq!(s.timer, None);

        assert_eq!(lab.read(conn.server).unwrap(), b"");
        lab.close(conn.server).unwrap();
        // The server's LAST_ACK lasts one round trip on loopback (see
        // close_wait_side_close_goes_through_last_ack for one that lasts); then it is gone and
        // the client is in TIME_WAIT for 60 s.
        let (c, _) = conn.wait(Some(TcpState::TimeWait), None);
        let c = c.unwrap();
        assert_orphan(&c);
        assert_sixty_s_timer(&c, TimerKind::Timewait);

        // The real binary sees the same.
        let cport = conn.caddr.port().to_string();
        let sport = conn.saddr.port().to_string();
        let recs = env.list_json(&["--sport", &cport, "--dport", &sport]);
        assert_eq!(recs.len(), 1, "{recs:?}");
        assert_eq!(recs[0]["state"], "TIME_WAIT");
        assert_eq!(recs[0]["inode"], 0);
        assert_eq!(recs[0]["timer"]["kind"], "timewait");
        assert!(recs[0]["timer"]["remaining_ms"].as_u64().unwrap() <= SIXTY_S_MS);
        assert_eq!(recs[0]["local_addr"], "127.0.0.1");
    });
}

#[test]
fn close_wait_side_close_goes_through_last_ack() {
    let _host = crate::common::host::shared();
    scenario("lastack", |env| {
        let mut lab = Lab::new();
        let conn = established(&mut lab, v4(env, PORT));
        // The server half-closes (it keeps reading), the client reads the FIN.
        lab.shutdown(conn.server, Shutdown::Write).unwrap();
        conn.wait(Some(TcpState::CloseWait), Some(TcpState::FinWait2));
        assert_eq!(lab.read(conn.client).unwrap(), b"");
        // The client fills the server's receive buffer (the server does not read) until its
        // own send buffer is full: the server's window is then closed, and the client's FIN
        // has to wait behind the data.
        let chunk = vec![b'x'; 65536];
        let mut sent = 0;
        let full = loop {
            match lab.send(conn.client, &chunk) {
                Ok(n) => sent += n,
                Err(e) => break e,
            }
            assert!(sent < 1 << 30, "the server's buffer never filled");
        };
        assert_eq!(full.errno_name(), Some("EAGAIN"), "{full}");
        lab.close(conn.client).unwrap();
        // LAST_ACK, orphaned, with data still to deliver and a timer probing the window.
        let (c, s) = conn.wait(Some(TcpState::LastAck), Some(TcpState::FinWait2));
        let c = c.unwrap();
        assert_orphan(&c);
        assert!(c.send_q > 0, "data waits: {c:?}");
        let t = c.timer.expect("a timer runs while data and FIN wait");
        assert!(
            matches!(t.kind, TimerKind::ZeroWindowProbe | TimerKind::Retransmit),
            "{c:?}"
        );
        assert!(s.unwrap().recv_q > 0);

        // The server reads it all: the window opens, the data and the FIN arrive.
        let mut got = 0;
        let mut eof = false;
        assert!(
            wait_until(DEADLINE, || {
                match lab.read(conn.server) {
                    Ok(d) if d.is_empty() => eof = true,
                    Ok(d) => got += d.len(),
                    Err(e) => assert_eq!(e.errno_name(), Some("EAGAIN"), "{e}"),
                }
                eof
            }),
            "got {got} of {sent} bytes, then no end of stream"
        );
        assert_eq!(got, sent);
        // The client's FIN acknowledged: LAST_ACK → gone; the server in TIME_WAIT though its
        // fd is still open.
        let (_, s) = conn.wait(None, Some(TcpState::TimeWait));
        let s = s.unwrap();
        assert_orphan(&s);
        assert_sixty_s_timer(&s, TimerKind::Timewait);
        assert!(lab.socket(conn.server).unwrap().is_open());
    });
}

#[test]
fn close_linger0_resets_no_time_wait_and_the_peer_reads_econnreset() {
    let _host = crate::common::host::shared();
    scenario("linger0", |env| {
        let mut lab = Lab::new();
        let conn = established(&mut lab, v4(env, PORT));
        lab.close_linger0(conn.client).unwrap();
        let log = lines(&lab, conn.client);
        let n = log.len();
        assert!(
            log[n - 2].contains("SO_LINGER, {l_onoff=1, l_linger=0}) = 0"),
            "{log:?}"
        );
        assert!(log[n - 1].contains("close("), "{log:?}");
        assert_eq!(
            lab.socket(conn.client).unwrap().closed,
            Some("closed with linger 0")
        );
        // Both ends gone at once: no FIN_WAIT, no TIME_WAIT on the closing end.
        conn.wait(None, None);
        assert!(
            lab.socket(conn.server).unwrap().is_open(),
            "its fd is still ours"
        );
        let r = lab.read(conn.server);
        assert_failed(&lab, r, "recv(", "ECONNRESET");
        // The error is reported once; after it the socket is CLOSE: reads say end of stream,
        // sends EPIPE.
        assert_eq!(lab.read(conn.server).unwrap(), b"");
        let r = lab.send(conn.server, b"x");
        assert_failed(&lab, r, "send(", "EPIPE");
        assert!(
            dump()
                .iter()
                .all(|r| r.local != conn.caddr && r.remote != conn.caddr)
        );
    });
}

#[test]
fn close_with_unread_data_resets_instead_of_fin() {
    let _host = crate::common::host::shared();
    scenario("unread", |env| {
        let mut lab = Lab::new();
        let conn = established(&mut lab, v4(env, PORT));
        assert_eq!(lab.send(conn.server, b"never read").unwrap(), 10);
        let ino = inode(&lab, conn.client);
        assert!(wait_until(DEADLINE, || by_inode(&dump(), ino)
            .is_some_and(|r| r.recv_q == 10)));
        lab.close(conn.client).unwrap();
        // A RST, not a FIN: no FIN_WAIT2 and no TIME_WAIT on the closing end, the peer gone.
        conn.wait(None, None);
        let r = lab.read(conn.server);
        assert_failed(&lab, r, "recv(", "ECONNRESET");
    });
}

#[test]
fn write_after_the_peer_closed_succeeds_once_then_epipe() {
    let _host = crate::common::host::shared();
    scenario("epipe", |env| {
        let mut lab = Lab::new();
        let conn = established(&mut lab, v4(env, PORT));
        lab.close(conn.client).unwrap();
        conn.wait(Some(TcpState::FinWait2), Some(TcpState::CloseWait));
        // The kernel cannot know the peer will not read: the first send() succeeds.
        assert_eq!(lab.send(conn.server, b"anyone?").unwrap(), 7);
        // The client's timewait socket answers the data with a RST and goes; the RST
        // takes the server's end away too.
        conn.wait(None, None);
        // Linux 6.18 says EPIPE, not ECONNRESET: tcp_reset() turns a RST received in
        // CLOSE_WAIT into EPIPE (ECONNRESET in the other states), and once reset the socket
        // is shut down for sending, which is EPIPE too.
        let r = lab.send(conn.server, b"again");
        assert_failed(&lab, r, "send(", "EPIPE");
        let r = lab.send(conn.server, b"and again");
        assert_failed(&lab, r, "send(", "EPIPE");
        // The FIN came before the RST: a read says end of stream, not ECONNRESET.
        assert_eq!(lab.read(conn.server).unwrap(), b"");
    });
}
