//! The inet_diag wire format (linux/inet_diag.h, linux/netlink.h): building the dump request and
//! parsing its answers. Pure functions over byte slices, so malformed input is easy to test.
//!
//! Parsing is defensive: a record whose fixed part is cut short, or whose state is unknown, is
//! counted and skipped; an attribute that is cut short or unknown is skipped. Nothing panics.

use crate::model::{Family, SocketRecord, TcpInfo, TcpState, Timer, TimerKind};
use crate::sources::IPPROTO_TCP;
use crate::sources::bytes::{be16_at, i32_at, ipv4_at, ipv6_at, u8_at, u16_at, u32_at};
use std::net::{IpAddr, SocketAddr};

pub const NLMSG_HDRLEN: usize = 16;
const NLMSG_NOOP: u16 = 1;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// The request of inet_diag's first interface: its family is AF_UNSPEC, so one walk of the
/// kernel's table gives both families (`SOCK_DIAG_BY_FAMILY` walks it once per family).
const TCPDIAG_GETSOCK: u16 = 18;
const NLM_F_REQUEST: u16 = 0x01;
const NLM_F_DUMP: u16 = 0x300;
// sock_diag carries the family in one byte.
pub const AF_INET: u8 = Family::AF_INET as u8;
pub const AF_INET6: u8 = Family::AF_INET6 as u8;
/// `struct inet_diag_msg`: family, state, timer, retrans, sockid (48), expires, rqueue, wqueue,
/// uid, inode.
const DIAG_MSG_LEN: usize = 72;
const INET_DIAG_INFO: u16 = 2;
const INET_DIAG_REQ_BYTECODE: u16 = 1;
const INET_DIAG_BC_S_GE: u8 = 2;
const INET_DIAG_BC_S_LE: u8 = 3;
/// `struct tcp_info` up to and including `tcpi_total_retrans`.
const TCP_INFO_MIN_LEN: usize = 104;
/// The length of a request without filter: header plus `struct inet_diag_req_v2`.
pub const REQUEST_LEN: usize = NLMSG_HDRLEN + 56;
/// Header plus `struct inet_diag_req` (family, src_len, dst_len, ext, sockid, states, dbs).
const COMPAT_REQUEST_LEN: usize = NLMSG_HDRLEN + 60;

/// Which families a dump asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Families {
    One(u8),
    /// Both, in one walk (`TCPDIAG_GETSOCK`).
    Both,
}

/// Which local ports a dump covers, so that two dumps can run at once on two cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortRange {
    All,
    /// Local port below the pivot.
    Below(u16),
    /// Local port at or above the pivot.
    From(u16),
}

/// The inet_diag bytecode for a port range: one comparison op and its operand op. Taking the
/// `yes` jump lands exactly on the end (accept); the `no` jump lands 4 bytes past it (reject).
fn port_range_bytecode(range: PortRange) -> Option<[u8; 8]> {
    let (code, port) = match range {
        PortRange::All => return None,
        PortRange::Below(pivot) => (INET_DIAG_BC_S_LE, pivot.checked_sub(1)?),
        PortRange::From(pivot) => (INET_DIAG_BC_S_GE, pivot),
    };
    let mut bc = [0u8; 8];
    bc[0] = code;
    bc[1] = 8; // yes
    bc[2..4].copy_from_slice(&12u16.to_ne_bytes()); // no
    bc[6..8].copy_from_slice(&port.to_ne_bytes());
    Some(bc)
}

/// Builds a dump request for TCP sockets of `families` in `states` (the kernel's bit mask)
/// with a local port in `ports`, asking for `tcp_info` when `with_info`.
pub fn dump_request(
    families: Families,
    states: u32,
    with_info: bool,
    ports: PortRange,
    seq: u32,
) -> Vec<u8> {
    let (kind, len) = match families {
        Families::One(_) => (SOCK_DIAG_BY_FAMILY, REQUEST_LEN),
        Families::Both => (TCPDIAG_GETSOCK, COMPAT_REQUEST_LEN),
    };
    let mut req = vec![0u8; len];
    if let Some(bc) = port_range_bytecode(ports) {
        req.extend_from_slice(&((4 + bc.len()) as u16).to_ne_bytes());
        req.extend_from_slice(&INET_DIAG_REQ_BYTECODE.to_ne_bytes());
        req.extend_from_slice(&bc);
    }
    let total = req.len() as u32;
    req[0..4].copy_from_slice(&total.to_ne_bytes());
    req[4..6].copy_from_slice(&kind.to_ne_bytes());
    req[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    req[8..12].copy_from_slice(&seq.to_ne_bytes());
    // pid 0: the kernel. The sockid stays zero: no address filter, no cookie.
    let ext = if with_info {
        1 << (INET_DIAG_INFO - 1)
    } else {
        0
    };
    match families {
        Families::One(family) => {
            // inet_diag_req_v2: family, protocol, ext, pad, states, sockid.
            req[16] = family;
            req[17] = IPPROTO_TCP;
            req[18] = ext;
            req[20..24].copy_from_slice(&states.to_ne_bytes());
        }
        Families::Both => {
            // inet_diag_req: family (ignored: the kernel reads AF_UNSPEC), src_len,
            // dst_len, ext, sockid, states, dbs; the protocol is the message type's.
            req[19] = ext;
            req[68..72].copy_from_slice(&states.to_ne_bytes());
        }
    }
    req
}

const SOCK_DESTROY: u16 = 21;
const NLM_F_ACK: u16 = 0x04;

/// Builds a `SOCK_DESTROY` request for exactly this socket (4-tuple and cookie), as `ss -K`
/// does; the kernel answers with an acknowledgement carrying 0 or an errno.
pub fn destroy_request(rec: &SocketRecord, seq: u32) -> [u8; REQUEST_LEN] {
    let mut req = [0u8; REQUEST_LEN];
    req[0..4].copy_from_slice(&(REQUEST_LEN as u32).to_ne_bytes());
    req[4..6].copy_from_slice(&SOCK_DESTROY.to_ne_bytes());
    req[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
    req[8..12].copy_from_slice(&seq.to_ne_bytes());
    req[16] = match rec.family {
        Family::Inet => AF_INET,
        Family::Inet6 => AF_INET6,
    };
    req[17] = IPPROTO_TCP;
    req[20..24].copy_from_slice(&u32::MAX.to_ne_bytes());
    req[24..26].copy_from_slice(&rec.local.port().to_be_bytes());
    req[26..28].copy_from_slice(&rec.remote.port().to_be_bytes());
    let put_ip = |req: &mut [u8], at: usize, ip: &IpAddr| match ip {
        IpAddr::V4(v4) => req[at..at + 4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => req[at..at + 16].copy_from_slice(&v6.octets()),
    };
    put_ip(&mut req, 28, &rec.local.ip());
    put_ip(&mut req, 44, &rec.remote.ip());
    // The cookie: low word first, as the dump gave it.
    req[64..68].copy_from_slice(&(rec.cookie as u32).to_ne_bytes());
    req[68..72].copy_from_slice(&((rec.cookie >> 32) as u32).to_ne_bytes());
    req
}

/// The kernel's answer to a request with NLM_F_ACK: `Ok` for 0, `Err(errno)` otherwise;
/// `None` when the buffer holds no acknowledgement for `seq`.
pub fn parse_ack(buf: &[u8], seq: u32) -> Option<Result<(), i32>> {
    let mut rest = buf;
    while rest.len() >= NLMSG_HDRLEN {
        let (len, kind, msg_seq) = header(rest)?;
        if len < NLMSG_HDRLEN || len > rest.len() {
            return None;
        }
        if kind == NLMSG_ERROR && msg_seq == seq {
            let errno = i32_at(rest, NLMSG_HDRLEN).unwrap_or(0);
            return Some(if errno == 0 {
                Ok(())
            } else {
                Err(errno.saturating_neg())
            });
        }
        rest = &rest[align4(len).min(rest.len())..];
    }
    None
}

/// What one buffer of answers held.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BufferOutcome {
    /// The kernel sent NLMSG_DONE: the dump is complete.
    pub done: bool,
    /// Records cut short or with values we do not know, skipped.
    pub malformed: usize,
}

/// Why a dump failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("the kernel refused the sock_diag dump: errno {0}")]
    Kernel(i32),
}

/// Parses one datagram of dump answers, handing each socket to `sink`.
pub fn parse_buffer(
    buf: &[u8],
    seq: u32,
    sink: &mut dyn FnMut(SocketRecord),
) -> Result<BufferOutcome, WireError> {
    let mut outcome = BufferOutcome::default();
    let mut rest = buf;
    while rest.len() >= NLMSG_HDRLEN {
        let Some((len, kind, msg_seq)) = header(rest) else {
            break;
        };
        if len < NLMSG_HDRLEN || len > rest.len() {
            // A header that lies about its length: nothing after it can be trusted.
            outcome.malformed += 1;
            break;
        }
        let payload = &rest[NLMSG_HDRLEN..len];
        if msg_seq == seq {
            match kind {
                NLMSG_DONE => {
                    outcome.done = true;
                    break;
                }
                NLMSG_ERROR => {
                    let errno = i32_at(payload, 0).unwrap_or(0);
                    if errno != 0 {
                        return Err(WireError::Kernel(errno.saturating_neg()));
                    }
                }
                SOCK_DIAG_BY_FAMILY | TCPDIAG_GETSOCK => match parse_diag_msg(payload) {
                    Some(rec) => sink(rec),
                    None => outcome.malformed += 1,
                },
                NLMSG_NOOP => {}
                _ => outcome.malformed += 1,
            }
        }
        rest = &rest[align4(len).min(rest.len())..];
    }
    if !rest.is_empty() && !outcome.done && rest.len() < NLMSG_HDRLEN {
        outcome.malformed += 1;
    }
    Ok(outcome)
}

/// Parses one `inet_diag_msg` and its attributes.
pub fn parse_diag_msg(p: &[u8]) -> Option<SocketRecord> {
    if p.len() < DIAG_MSG_LEN {
        return None;
    }
    let family = match u8_at(p, 0)? {
        AF_INET => Family::Inet,
        AF_INET6 => Family::Inet6,
        _ => return None,
    };
    let state = TcpState::from_kernel(u8_at(p, 1)?)?;
    let timer = match TimerKind::from_kernel(u8_at(p, 2)?) {
        Some(kind) => Some(Timer {
            kind,
            remaining_ms: u64::from(u32_at(p, 52)?),
            retransmits: u8_at(p, 3)?,
        }),
        None => None,
    };
    let local = SocketAddr::new(ip_at(family, p, 8)?, be16_at(p, 4)?);
    let remote = SocketAddr::new(ip_at(family, p, 24)?, be16_at(p, 6)?);
    // The cookie is two host-order u32, low word first, as ss prints it.
    let cookie = u64::from(u32_at(p, 44)?) | (u64::from(u32_at(p, 48)?) << 32);
    let mut rec = SocketRecord {
        family,
        state,
        local,
        remote,
        recv_q: u32_at(p, 56)?,
        send_q: u32_at(p, 60)?,
        timer,
        uid: u32_at(p, 64)?,
        inode: u64::from(u32_at(p, 68)?),
        cookie,
        tcp_info: None,
        netns: 0,
    };
    for (kind, data) in Attributes(p.get(DIAG_MSG_LEN..)?) {
        if kind == INET_DIAG_INFO {
            rec.tcp_info = parse_tcp_info(data);
        }
    }
    Some(rec)
}

/// The figures tcpscope uses from `struct tcp_info`; `None` when the kernel sent less.
pub fn parse_tcp_info(d: &[u8]) -> Option<TcpInfo> {
    if d.len() < TCP_INFO_MIN_LEN {
        return None;
    }
    Some(TcpInfo {
        rtt_us: u32_at(d, 68)?,
        rttvar_us: u32_at(d, 72)?,
        cwnd: u32_at(d, 80)?,
        total_retrans: u32_at(d, 100)?,
    })
}

/// Iterates `struct rtattr`s (u16 length, u16 type, data, padded to 4); stops at the first
/// one that is cut short.
struct Attributes<'a>(&'a [u8]);

impl<'a> Iterator for Attributes<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.0;
        let (Some(len), Some(kind)) = (u16_at(rest, 0), u16_at(rest, 2)) else {
            self.0 = &[];
            return None;
        };
        let len = usize::from(len);
        let Some(data) = rest.get(4..len) else {
            self.0 = &[];
            return None;
        };
        let item = (kind, data);
        self.0 = &rest[align4(len).min(rest.len())..];
        Some(item)
    }
}

/// An address in an `inet_diag_sockid` field (16 bytes; an IPv4 address in the first 4).
fn ip_at(family: Family, p: &[u8], at: usize) -> Option<IpAddr> {
    Some(match family {
        Family::Inet => IpAddr::V4(ipv4_at(p, at)?),
        Family::Inet6 => IpAddr::V6(ipv6_at(p, at)?),
    })
}

/// A netlink message header: (length, type, sequence number).
fn header(b: &[u8]) -> Option<(usize, u16, u32)> {
    Some((
        usize::try_from(u32_at(b, 0)?).ok()?,
        u16_at(b, 4)?,
        u32_at(b, 8)?,
    ))
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

#[cfg(test)]
mod tests {
    use super::*;

    // In tests a short buffer is a bug of the test: the values, unwrapped.
    fn u16_at(b: &[u8], at: usize) -> u16 {
        crate::sources::bytes::u16_at(b, at).unwrap()
    }

    fn u32_at(b: &[u8], at: usize) -> u32 {
        crate::sources::bytes::u32_at(b, at).unwrap()
    }

    #[test]
    fn an_errno_of_i32_min_is_no_overflow() {
        let mut m = vec![0u8; NLMSG_HDRLEN + 4];
        let len = m.len() as u32;
        m[0..4].copy_from_slice(&len.to_ne_bytes());
        m[4..6].copy_from_slice(&NLMSG_ERROR.to_ne_bytes());
        m[8..12].copy_from_slice(&7u32.to_ne_bytes());
        m[NLMSG_HDRLEN..].copy_from_slice(&i32::MIN.to_ne_bytes());
        assert_eq!(parse_ack(&m, 7), Some(Err(i32::MAX)));
    }

    /// Encodes a message the way the kernel does, for tests.
    fn diag_msg(family: u8, state: u8, timer: u8, attrs: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut p = vec![0u8; DIAG_MSG_LEN];
        p[0] = family;
        p[1] = state;
        p[2] = timer;
        p[3] = 2; // retrans
        p[4..6].copy_from_slice(&8080u16.to_be_bytes());
        p[6..8].copy_from_slice(&40000u16.to_be_bytes());
        if family == AF_INET {
            p[8..12].copy_from_slice(&[127, 0, 0, 1]);
            p[24..28].copy_from_slice(&[10, 1, 2, 3]);
        } else {
            p[23] = 1; // ::1
            p[24] = 0xfe;
            p[25] = 0x80;
        }
        p[44..48].copy_from_slice(&7u32.to_ne_bytes());
        p[48..52].copy_from_slice(&1u32.to_ne_bytes());
        p[52..56].copy_from_slice(&59_000u32.to_ne_bytes());
        p[56..60].copy_from_slice(&3u32.to_ne_bytes());
        p[60..64].copy_from_slice(&128u32.to_ne_bytes());
        p[64..68].copy_from_slice(&1000u32.to_ne_bytes());
        p[68..72].copy_from_slice(&4242u32.to_ne_bytes());
        for (kind, data) in attrs {
            let len = 4 + data.len();
            p.extend_from_slice(&(len as u16).to_ne_bytes());
            p.extend_from_slice(&kind.to_ne_bytes());
            p.extend_from_slice(data);
            p.resize(align4(p.len()), 0);
        }
        p
    }

    fn nlmsg(kind: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&((NLMSG_HDRLEN + payload.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&0u16.to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.extend_from_slice(payload);
        m.resize(align4(m.len()), 0);
        m
    }

    fn tcp_info_bytes(len: usize) -> Vec<u8> {
        let mut d = vec![0u8; len];
        let mut put = |at: usize, v: u32| {
            if at + 4 <= len {
                d[at..at + 4].copy_from_slice(&v.to_ne_bytes())
            }
        };
        put(68, 123);
        put(72, 45);
        put(80, 10);
        put(100, 6);
        d
    }

    fn parse_all(buf: &[u8]) -> (Vec<SocketRecord>, BufferOutcome) {
        let mut out = Vec::new();
        let outcome = parse_buffer(buf, 9, &mut |r| out.push(r)).unwrap();
        (out, outcome)
    }

    #[test]
    fn request_is_a_tcp_dump_for_the_family_and_states() {
        let req = dump_request(Families::One(AF_INET6), 0x1ffe, true, PortRange::All, 5);
        assert_eq!(u32_at(&req, 0) as usize, REQUEST_LEN);
        assert_eq!(req.len(), REQUEST_LEN);
        assert_eq!(u16_at(&req, 4), SOCK_DIAG_BY_FAMILY);
        assert_eq!(u16_at(&req, 6), NLM_F_REQUEST | NLM_F_DUMP);
        assert_eq!(u32_at(&req, 8), 5);
        assert_eq!((req[16], req[17], req[18]), (AF_INET6, IPPROTO_TCP, 2));
        assert_eq!(u32_at(&req, 20), 0x1ffe);
        assert_eq!(
            dump_request(Families::One(AF_INET), 1 << 10, false, PortRange::All, 1)[18],
            0
        );
    }

    #[test]
    fn both_families_are_one_compat_request_with_ext_and_states_where_inet_diag_req_has_them() {
        let req = dump_request(Families::Both, 0x1ffe, true, PortRange::From(32768), 9);
        assert_eq!(req.len(), COMPAT_REQUEST_LEN + 12);
        assert_eq!(u32_at(&req, 0) as usize, req.len());
        assert_eq!(u16_at(&req, 4), TCPDIAG_GETSOCK);
        assert_eq!(u32_at(&req, 8), 9);
        // family 0 (AF_UNSPEC: both), no address lengths, tcp_info asked for in ext.
        assert_eq!((req[16], req[17], req[18], req[19]), (0, 0, 0, 2));
        assert_eq!(u32_at(&req, 68), 0x1ffe);
        assert_eq!(u16_at(&req, COMPAT_REQUEST_LEN + 2), INET_DIAG_REQ_BYTECODE);
        assert_eq!(
            dump_request(Families::Both, 1, false, PortRange::All, 1).len(),
            COMPAT_REQUEST_LEN
        );
    }

    #[test]
    fn destroy_request_names_exactly_one_socket() {
        let msg = diag_msg(AF_INET, 1, 0, &[]);
        let rec = parse_diag_msg(&msg).unwrap();
        let req = destroy_request(&rec, 3);
        assert_eq!(u16_at(&req, 4), SOCK_DESTROY);
        assert_eq!(u16_at(&req, 6), NLM_F_REQUEST | NLM_F_ACK);
        // The sockid is laid out as in the dump's answer: ports, addresses, cookie.
        assert_eq!(&req[24..28], &msg[4..8]);
        assert_eq!(&req[28..32], &[127, 0, 0, 1]);
        assert_eq!(&req[44..48], &[10, 1, 2, 3]);
        assert_eq!(&req[64..72], &msg[44..52]);
        let ack = |errno: i32| nlmsg(NLMSG_ERROR, 3, &errno.to_ne_bytes());
        assert_eq!(parse_ack(&ack(0), 3), Some(Ok(())));
        assert_eq!(parse_ack(&ack(-1), 3), Some(Err(1)));
        assert_eq!(parse_ack(&ack(0), 4), None);
        assert_eq!(parse_ack(&[1, 2], 3), None);
    }

    #[test]
    fn port_ranges_add_one_bytecode_attribute() {
        let req = dump_request(
            Families::One(AF_INET),
            0x1ffe,
            false,
            PortRange::From(32768),
            1,
        );
        assert_eq!(req.len(), REQUEST_LEN + 12);
        assert_eq!(u32_at(&req, 0) as usize, req.len());
        let attr = &req[REQUEST_LEN..];
        assert_eq!(
            (u16_at(attr, 0), u16_at(attr, 2)),
            (12, INET_DIAG_REQ_BYTECODE)
        );
        assert_eq!(
            (attr[4], attr[5], u16_at(attr, 6)),
            (INET_DIAG_BC_S_GE, 8, 12)
        );
        assert_eq!(u16_at(attr, 10), 32768);
        let below = dump_request(
            Families::One(AF_INET),
            0x1ffe,
            false,
            PortRange::Below(32768),
            1,
        );
        assert_eq!(
            (below[REQUEST_LEN + 4], u16_at(&below, REQUEST_LEN + 10)),
            (INET_DIAG_BC_S_LE, 32767)
        );
    }

    #[test]
    fn parses_an_ipv4_record_with_tcp_info() {
        let msg = diag_msg(AF_INET, 1, 1, &[(INET_DIAG_INFO, tcp_info_bytes(232))]);
        let (recs, outcome) = parse_all(&nlmsg(SOCK_DIAG_BY_FAMILY, 9, &msg));
        assert_eq!(
            outcome,
            BufferOutcome {
                done: false,
                malformed: 0
            }
        );
        let r = &recs[0];
        assert_eq!(r.family, Family::Inet);
        assert_eq!(r.state, TcpState::Established);
        assert_eq!(r.local, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(r.remote, "10.1.2.3:40000".parse().unwrap());
        assert_eq!((r.recv_q, r.send_q, r.uid, r.inode), (3, 128, 1000, 4242));
        assert_eq!(r.cookie, (1 << 32) | 7);
        let t = r.timer.unwrap();
        assert_eq!(
            (t.kind, t.remaining_ms, t.retransmits),
            (TimerKind::Retransmit, 59_000, 2)
        );
        let i = r.tcp_info.unwrap();
        assert_eq!(
            (i.rtt_us, i.rttvar_us, i.cwnd, i.total_retrans),
            (123, 45, 10, 6)
        );
    }

    #[test]
    fn parses_ipv6_and_timewait() {
        let msg = diag_msg(AF_INET6, 6, 3, &[]);
        let (recs, _) = parse_all(&nlmsg(SOCK_DIAG_BY_FAMILY, 9, &msg));
        assert_eq!(recs[0].local, "[::1]:8080".parse().unwrap());
        assert_eq!(recs[0].remote.ip(), "fe80::".parse::<IpAddr>().unwrap());
        assert_eq!(recs[0].state, TcpState::TimeWait);
        assert_eq!(recs[0].timer.unwrap().kind, TimerKind::Timewait);
        assert_eq!(recs[0].tcp_info, None);
    }

    #[test]
    fn short_tcp_info_and_unknown_or_truncated_attributes_are_skipped() {
        let short = diag_msg(AF_INET, 1, 0, &[(INET_DIAG_INFO, tcp_info_bytes(100))]);
        let (recs, _) = parse_all(&nlmsg(SOCK_DIAG_BY_FAMILY, 9, &short));
        assert_eq!(recs[0].tcp_info, None);
        assert_eq!(recs[0].timer, None);

        let mut unknown = diag_msg(AF_INET, 1, 0, &[(99, vec![1, 2, 3])]);
        // An attribute claiming more bytes than there are.
        unknown.extend_from_slice(&200u16.to_ne_bytes());
        unknown.extend_from_slice(&INET_DIAG_INFO.to_ne_bytes());
        unknown.extend_from_slice(&[0; 8]);
        let (recs, outcome) = parse_all(&nlmsg(SOCK_DIAG_BY_FAMILY, 9, &unknown));
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].tcp_info, None);
        assert_eq!(outcome.malformed, 0);
    }

    #[test]
    fn truncated_records_and_unknown_values_are_counted_not_fatal() {
        let good = diag_msg(AF_INET, 10, 0, &[]);
        let mut buf = nlmsg(SOCK_DIAG_BY_FAMILY, 9, &good[..40]); // cut short
        buf.extend(nlmsg(
            SOCK_DIAG_BY_FAMILY,
            9,
            &diag_msg(AF_INET, 99, 0, &[]),
        )); // bad state
        buf.extend(nlmsg(SOCK_DIAG_BY_FAMILY, 9, &diag_msg(7, 1, 0, &[]))); // bad family
        buf.extend(nlmsg(SOCK_DIAG_BY_FAMILY, 9, &good));
        buf.extend(nlmsg(SOCK_DIAG_BY_FAMILY, 8, &good)); // another request's answer: ignored
        let (recs, outcome) = parse_all(&buf);
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].state, TcpState::Listen);
        assert_eq!(outcome.malformed, 3);
    }

    #[test]
    fn a_lying_header_stops_the_buffer_without_panic() {
        let mut buf = nlmsg(SOCK_DIAG_BY_FAMILY, 9, &diag_msg(AF_INET, 1, 0, &[]));
        let mut liar = nlmsg(SOCK_DIAG_BY_FAMILY, 9, &diag_msg(AF_INET, 1, 0, &[]));
        liar[0..4].copy_from_slice(&100_000u32.to_ne_bytes());
        buf.extend(liar);
        buf.extend_from_slice(&[1, 2, 3]);
        let (recs, outcome) = parse_all(&buf);
        assert_eq!(recs.len(), 1);
        assert_eq!(outcome.malformed, 1);
        // Every prefix of a valid buffer parses without panic.
        let whole = nlmsg(
            SOCK_DIAG_BY_FAMILY,
            9,
            &diag_msg(AF_INET, 1, 1, &[(2, tcp_info_bytes(232))]),
        );
        for cut in 0..whole.len() {
            let _ = parse_buffer(&whole[..cut], 9, &mut |_| {});
        }
    }

    #[test]
    fn done_and_error_messages() {
        let (recs, outcome) = parse_all(&nlmsg(NLMSG_DONE, 9, &0i32.to_ne_bytes()));
        assert!(outcome.done && recs.is_empty());
        let err = parse_buffer(
            &nlmsg(NLMSG_ERROR, 9, &(-13i32).to_ne_bytes()),
            9,
            &mut |_| {},
        );
        assert_eq!(err, Err(WireError::Kernel(13)));
        let ack = parse_buffer(&nlmsg(NLMSG_ERROR, 9, &0i32.to_ne_bytes()), 9, &mut |_| {});
        assert!(ack.is_ok());
    }
}
