//! The call log, and refusals that are not system calls.

use super::*;

#[test]
fn the_log_shows_one_setsockopt_per_option_and_every_failure_by_errno_name() {
    let _host = crate::common::host::shared();
    scenario("log", |env| {
        let mut lab = Lab::new();
        let l = listen(&mut lab, v4(env, PORT), true, true);
        let log = lines(&lab, l);
        let opts: Vec<&String> = log.iter().filter(|l| l.contains("setsockopt(")).collect();
        assert_eq!(opts.len(), 2, "one call per option: {log:?}");
        assert!(
            opts[0].contains("SOL_SOCKET, SO_REUSEADDR, 1) = 0"),
            "{log:?}"
        );
        assert!(
            opts[1].contains("SOL_SOCKET, SO_REUSEPORT, 1) = 0"),
            "{log:?}"
        );
        assert!(
            !log.iter().any(|l| l.contains("|")),
            "options are never OR-ed: {log:?}"
        );
        // Calls in order: socket, options, bind, listen, non-blocking.
        let order: Vec<&str> = log
            .iter()
            .map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap()
                    .split('(')
                    .next()
                    .unwrap()
            })
            .collect();
        assert_eq!(
            order,
            [
                "socket",
                "setsockopt",
                "setsockopt",
                "bind",
                "listen",
                "fcntl"
            ]
        );
        assert!(
            log.iter().all(|line| line.starts_with(&format!("#{l} "))),
            "{log:?}"
        );
        let fd = lab.socket(l).unwrap().fd;
        assert!(log[1].contains(&format!("setsockopt({fd}, ")), "{log:?}");

        // A failure carries its errno by name, its meaning, and the call's arguments.
        let r = lab.rebind(l, false, false);
        assert_failed(&lab, r, "bind(", "EADDRINUSE");
        let failed = last_failure(&lab);
        assert!(
            failed.call.ends_with(&format!("{})", local(&lab, l))),
            "{failed:?}"
        );
        assert!(
            failed.line().contains("= -1 EADDRINUSE: "),
            "{}",
            failed.line()
        );
        let r = lab.accept(l);
        assert_failed(&lab, r, "accept(", "EAGAIN");
        assert!(last_failure(&lab).line().contains("accept queue is empty"));
        // A listener has no connection to read from or send on.
        let r = lab.read(l);
        assert_failed(&lab, r, "recv(", "ENOTCONN");
        let r = lab.send(l, b"x");
        assert_failed(&lab, r, "send(", "EPIPE");
        // Every failure in the log has a name.
        for r in lab.log() {
            if let Outcome::Err(e) = &r.outcome {
                assert!(e.name.starts_with('E') && e.name.len() > 2, "{r:?}");
            }
        }
    });
}

#[test]
fn refusals_name_the_lab_socket_and_make_no_call() {
    let _host = crate::common::host::shared();
    scenario("refuse", |env| {
        let mut lab = Lab::new();
        let conn = established(&mut lab, v4(env, PORT));
        let before = lab.log().len();
        assert_eq!(
            lab.accept(conn.client),
            Err(LabError::NotListener(conn.client))
        );
        assert_eq!(lab.accept(99), Err(LabError::NoSuch(99)));
        assert_eq!(lab.send(99, b"x"), Err(LabError::NoSuch(99)));
        lab.close(conn.client).unwrap();
        let after_close = lab.log().len();
        assert_eq!(lab.close(conn.client), Err(LabError::Closed(conn.client)));
        assert_eq!(
            lab.send(conn.client, b"x"),
            Err(LabError::Closed(conn.client))
        );
        assert_eq!(
            lab.shutdown(conn.client, Shutdown::Both),
            Err(LabError::Closed(conn.client))
        );
        assert_eq!(
            lab.close_linger0(conn.client),
            Err(LabError::Closed(conn.client))
        );
        assert_eq!(lab.log().len(), after_close, "refusals make no call");
        assert_eq!(after_close, before + 1, "close() logged once");
        assert_eq!(LabError::Closed(1).errno_name(), None);
        // Closed sockets stay listed, and by_inode finds only open ones.
        assert!(lab.socket(conn.client).is_some());
        assert!(lab.by_inode(inode(&lab, conn.client)).is_none());
        assert_eq!(
            lab.by_inode(inode(&lab, conn.server)).unwrap().id,
            conn.server
        );
        assert!(lab.by_inode(0).is_none());
        // Dropping the lab closes what is open: the server's end goes, and the listener.
        let listener = inode(&lab, conn.listener);
        assert!(by_inode(&dump(), listener).is_some());
        drop(lab);
        conn.wait(Some(TcpState::TimeWait), None);
        assert_eq!(by_inode(&dump(), listener), None);
    });
}
