//! The same calls over IPv6.

use super::*;

#[test]
fn ipv6_listen_connect_accept_send_close() {
    let _host = crate::common::host::shared();
    scenario("v6", |env| {
        let mut lab = Lab::new();
        let l = lab.listen(&ListenSpec::on(v6(env, PORT))).unwrap();
        assert!(lines(&lab, l)[0].contains("socket(AF_INET6,"));
        let listener = by_inode(&dump(), inode(&lab, l)).unwrap();
        assert_eq!(listener.state, TcpState::Listen);
        assert_eq!(listener.family, tcpscope::model::Family::Inet6);
        let conn = connect_accept(&mut lab, l);
        assert!(conn.caddr.is_ipv6() && conn.saddr.is_ipv6());
        let (c, s) = conn.wait(Some(TcpState::Established), Some(TcpState::Established));
        assert_eq!(c.unwrap().inode, inode(&lab, conn.client));
        assert_eq!(s.unwrap().inode, inode(&lab, conn.server));
        assert_eq!(lab.send(conn.client, b"over v6").unwrap(), 7);
        assert_eq!(read_n(&mut lab, conn.server, 7), b"over v6");
        lab.close(conn.client).unwrap();
        conn.wait(Some(TcpState::FinWait2), Some(TcpState::CloseWait));
        lab.close(conn.server).unwrap();
        let (c, _) = conn.wait(Some(TcpState::TimeWait), None);
        assert_sixty_s_timer(&c.unwrap(), TimerKind::Timewait);
    });
}
