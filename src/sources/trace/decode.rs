//! Records of the four tracepoints, decoded into tracker events. Field offsets come from the
//! events' `format` files, never from constants.

use super::format::{EventFormat, Field, FormatError};
use crate::model::{Family, TcpState};
use crate::model::{KernelEvent, KernelEventKind};
use crate::sources::bytes::{be16_at, ipv4_at, ipv6_at, u16_at};
use std::net::SocketAddr;

/// The fields every socket event of ours has: address, ports, family, both addresses.
struct SockFields {
    skaddr: Field,
    sport: Field,
    dport: Field,
    family: Field,
    saddr: Field,
    daddr: Field,
    saddr_v6: Field,
    daddr_v6: Field,
}

impl SockFields {
    fn of(f: &EventFormat) -> Result<Self, FormatError> {
        Ok(SockFields {
            skaddr: f.field("skaddr")?.clone(),
            sport: f.field("sport")?.clone(),
            dport: f.field("dport")?.clone(),
            family: f.field("family")?.clone(),
            saddr: f.field("saddr")?.clone(),
            daddr: f.field("daddr")?.clone(),
            saddr_v6: f.field("saddr_v6")?.clone(),
            daddr_v6: f.field("daddr_v6")?.clone(),
        })
    }

    /// (skaddr, family, local, remote): the tracepoints store the socket's own view, so
    /// `saddr`/`sport` are the local end.
    fn read(&self, d: &[u8]) -> Option<(u64, Family, SocketAddr, SocketAddr)> {
        let family = self.family.u16_in(d)?;
        let (fam, local, remote) = match family {
            Family::AF_INET => (Family::Inet, self.saddr.ipv4_in(d)?, self.daddr.ipv4_in(d)?),
            Family::AF_INET6 => (
                Family::Inet6,
                self.saddr_v6.ipv6_in(d)?,
                self.daddr_v6.ipv6_in(d)?,
            ),
            _ => return None,
        };
        Some((
            self.skaddr.u64_in(d)?,
            fam,
            SocketAddr::new(local, self.sport.u16_in(d)?),
            SocketAddr::new(remote, self.dport.u16_in(d)?),
        ))
    }
}

/// A `struct sockaddr_in`/`sockaddr_in6` as tcp_send_reset stores it.
fn sockaddr(b: &[u8]) -> Option<(Family, SocketAddr)> {
    let port = be16_at(b, 2)?;
    match u16_at(b, 0)? {
        Family::AF_INET => Some((Family::Inet, SocketAddr::new(ipv4_at(b, 4)?.into(), port))),
        Family::AF_INET6 => Some((Family::Inet6, SocketAddr::new(ipv6_at(b, 8)?.into(), port))),
        _ => None,
    }
}

pub struct Decoder {
    common_type: Field,
    common_pid: Field,
    set_state_id: u16,
    set_state: SockFields,
    oldstate: Field,
    newstate: Field,
    protocol: Field,
    receive_reset_id: u16,
    receive_reset: SockFields,
    destroy_id: u16,
    destroy: SockFields,
    send_reset_id: u16,
    send_reset: SendResetFields,
}

/// tcp_send_reset stores `sockaddr`s since Linux 6.10 or so; before, the same plain fields as
/// the other socket events.
enum SendResetFields {
    Sockaddrs {
        skaddr: Field,
        saddr: Field,
        daddr: Field,
    },
    Plain(Box<SockFields>),
}

impl Decoder {
    pub fn new(
        set_state: &EventFormat,
        send_reset: &EventFormat,
        receive_reset: &EventFormat,
        destroy: &EventFormat,
    ) -> Result<Decoder, FormatError> {
        Ok(Decoder {
            common_type: set_state.field("common_type")?.clone(),
            common_pid: set_state.field("common_pid")?.clone(),
            set_state_id: set_state.id,
            set_state: SockFields::of(set_state)?,
            oldstate: set_state.field("oldstate")?.clone(),
            newstate: set_state.field("newstate")?.clone(),
            protocol: set_state.field("protocol")?.clone(),
            receive_reset_id: receive_reset.id,
            receive_reset: SockFields::of(receive_reset)?,
            destroy_id: destroy.id,
            destroy: SockFields::of(destroy)?,
            send_reset_id: send_reset.id,
            send_reset: if send_reset.field("saddr")?.size >= 16 {
                SendResetFields::Sockaddrs {
                    skaddr: send_reset.field("skaddr")?.clone(),
                    saddr: send_reset.field("saddr")?.clone(),
                    daddr: send_reset.field("daddr")?.clone(),
                }
            } else {
                SendResetFields::Plain(Box::new(SockFields::of(send_reset)?))
            },
        })
    }

    /// Decodes one record; `None` for records of other events, other protocols (SCTP and
    /// MPTCP share inet_sock_set_state), or cut short.
    pub fn decode(&self, ts_ns: u64, d: &[u8]) -> Option<KernelEvent> {
        let id = self.common_type.u16_in(d)?;
        let pid = self.common_pid.i32_in(d)?;
        let (skaddr, family, local, remote, kind) = if id == self.set_state_id {
            if self.protocol.u16_in(d)? != u16::from(crate::sources::IPPROTO_TCP) {
                return None;
            }
            let state = |f: &Field| TcpState::from_kernel(u8::try_from(f.i32_in(d)?).ok()?);
            let kind = KernelEventKind::SetState {
                old: state(&self.oldstate)?,
                new: state(&self.newstate)?,
            };
            let (sk, fam, l, r) = self.set_state.read(d)?;
            (sk, fam, l, r, kind)
        } else if id == self.receive_reset_id {
            let (sk, fam, l, r) = self.receive_reset.read(d)?;
            (sk, fam, l, r, KernelEventKind::ReceiveReset)
        } else if id == self.destroy_id {
            let (sk, fam, l, r) = self.destroy.read(d)?;
            (sk, fam, l, r, KernelEventKind::Destroy)
        } else if id == self.send_reset_id {
            match &self.send_reset {
                SendResetFields::Sockaddrs {
                    skaddr,
                    saddr,
                    daddr,
                } => {
                    let (fam, l) = sockaddr(saddr.bytes_in(d)?)?;
                    let (_, r) = sockaddr(daddr.bytes_in(d)?)?;
                    (skaddr.u64_in(d)?, fam, l, r, KernelEventKind::SendReset)
                }
                SendResetFields::Plain(fields) => {
                    let (sk, fam, l, r) = fields.read(d)?;
                    (sk, fam, l, r, KernelEventKind::SendReset)
                }
            }
        } else {
            return None;
        };
        Some(KernelEvent {
            ts_ns,
            skaddr,
            family,
            local,
            remote,
            pid,
            kind,
            ..KernelEvent::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SET_STATE: &str = "name: inet_sock_set_state\nID: 2287\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\tfield:const void * skaddr;\toffset:8;\tsize:8;\tsigned:0;\n\tfield:int oldstate;\toffset:16;\tsize:4;\tsigned:1;\n\tfield:int newstate;\toffset:20;\tsize:4;\tsigned:1;\n\tfield:__u16 sport;\toffset:24;\tsize:2;\tsigned:0;\n\tfield:__u16 dport;\toffset:26;\tsize:2;\tsigned:0;\n\tfield:__u16 family;\toffset:28;\tsize:2;\tsigned:0;\n\tfield:__u16 protocol;\toffset:30;\tsize:2;\tsigned:0;\n\tfield:__u8 saddr[4];\toffset:32;\tsize:4;\tsigned:0;\n\tfield:__u8 daddr[4];\toffset:36;\tsize:4;\tsigned:0;\n\tfield:__u8 saddr_v6[16];\toffset:40;\tsize:16;\tsigned:0;\n\tfield:__u8 daddr_v6[16];\toffset:56;\tsize:16;\tsigned:0;\n";
    const SOCK_EVENT: &str = "name: NAME\nID: IDNUM\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\tfield:const void * skaddr;\toffset:8;\tsize:8;\tsigned:0;\n\tfield:__u16 sport;\toffset:16;\tsize:2;\tsigned:0;\n\tfield:__u16 dport;\toffset:18;\tsize:2;\tsigned:0;\n\tfield:__u16 family;\toffset:20;\tsize:2;\tsigned:0;\n\tfield:__u8 saddr[4];\toffset:22;\tsize:4;\tsigned:0;\n\tfield:__u8 daddr[4];\toffset:26;\tsize:4;\tsigned:0;\n\tfield:__u8 saddr_v6[16];\toffset:30;\tsize:16;\tsigned:0;\n\tfield:__u8 daddr_v6[16];\toffset:46;\tsize:16;\tsigned:0;\n\tfield:__u64 sock_cookie;\toffset:64;\tsize:8;\tsigned:0;\n";
    const SEND_RESET: &str = "name: tcp_send_reset\nID: 40\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\tfield:const void * skbaddr;\toffset:8;\tsize:8;\tsigned:0;\n\tfield:const void * skaddr;\toffset:16;\tsize:8;\tsigned:0;\n\tfield:int state;\toffset:24;\tsize:4;\tsigned:1;\n\tfield:enum sk_rst_reason reason;\toffset:28;\tsize:4;\tsigned:0;\n\tfield:__u8 saddr[28];\toffset:32;\tsize:28;\tsigned:0;\n\tfield:__u8 daddr[28];\toffset:60;\tsize:28;\tsigned:0;\n";

    fn decoder() -> Decoder {
        let fmt = |t: &str| EventFormat::parse(t).unwrap();
        let sock =
            |name: &str, id: &str| fmt(&SOCK_EVENT.replace("NAME", name).replace("IDNUM", id));
        Decoder::new(
            &fmt(SET_STATE),
            &fmt(SEND_RESET),
            &sock("tcp_receive_reset", "41"),
            &sock("tcp_destroy_sock", "42"),
        )
        .unwrap()
    }

    fn set_state(protocol: u16, family: u16) -> Vec<u8> {
        let mut d = vec![0u8; 72];
        d[0..2].copy_from_slice(&2287u16.to_ne_bytes());
        d[4..8].copy_from_slice(&321i32.to_ne_bytes());
        d[8..16].copy_from_slice(&0xffff_8880_1234_5678u64.to_ne_bytes());
        d[16..20].copy_from_slice(&1i32.to_ne_bytes());
        d[20..24].copy_from_slice(&4i32.to_ne_bytes());
        d[24..26].copy_from_slice(&40000u16.to_ne_bytes());
        d[26..28].copy_from_slice(&8080u16.to_ne_bytes());
        d[28..30].copy_from_slice(&family.to_ne_bytes());
        d[30..32].copy_from_slice(&protocol.to_ne_bytes());
        d[32..36].copy_from_slice(&[127, 0, 0, 1]);
        d[36..40].copy_from_slice(&[127, 0, 0, 2]);
        d[55] = 1;
        d[71] = 2;
        d
    }

    #[test]
    fn decodes_set_state_for_tcp_only() {
        let dec = decoder();
        let ev = dec.decode(99, &set_state(6, 2)).unwrap();
        assert_eq!(
            ev.kind,
            KernelEventKind::SetState {
                old: TcpState::Established,
                new: TcpState::FinWait1
            }
        );
        assert_eq!(
            (ev.ts_ns, ev.pid, ev.skaddr),
            (99, 321, 0xffff_8880_1234_5678)
        );
        assert_eq!(ev.local, "127.0.0.1:40000".parse().unwrap());
        assert_eq!(ev.remote, "127.0.0.2:8080".parse().unwrap());
        let v6 = dec.decode(1, &set_state(6, 10)).unwrap();
        assert_eq!(v6.local, "[::1]:40000".parse().unwrap());
        assert_eq!(v6.remote, "[::2]:8080".parse().unwrap());
        assert_eq!(dec.decode(1, &set_state(132, 2)), None, "SCTP");
        assert_eq!(dec.decode(1, &set_state(6, 1)), None, "AF_UNIX?");
        // Cut anywhere before the end of the IPv4 addresses, it does not decode.
        let short = set_state(6, 2);
        for cut in 0..40 {
            assert_eq!(dec.decode(1, &short[..cut]), None);
        }
    }

    #[test]
    fn decodes_the_older_plain_send_reset_layout() {
        let fmt = |t: &str| EventFormat::parse(t).unwrap();
        let sock =
            |name: &str, id: &str| fmt(&SOCK_EVENT.replace("NAME", name).replace("IDNUM", id));
        let dec = Decoder::new(
            &fmt(SET_STATE),
            &sock("tcp_send_reset", "40"),
            &sock("tcp_receive_reset", "41"),
            &sock("tcp_destroy_sock", "42"),
        )
        .unwrap();
        let mut d = vec![0u8; 72];
        d[0..2].copy_from_slice(&40u16.to_ne_bytes());
        d[8..16].copy_from_slice(&9u64.to_ne_bytes());
        d[16..18].copy_from_slice(&8080u16.to_ne_bytes());
        d[18..20].copy_from_slice(&40000u16.to_ne_bytes());
        d[20..22].copy_from_slice(&Family::AF_INET.to_ne_bytes());
        d[22..26].copy_from_slice(&[127, 0, 0, 1]);
        d[26..30].copy_from_slice(&[127, 0, 0, 1]);
        let ev = dec.decode(5, &d).unwrap();
        assert_eq!((ev.kind, ev.skaddr), (KernelEventKind::SendReset, 9));
        assert_eq!(ev.local, "127.0.0.1:8080".parse().unwrap());
    }

    #[test]
    fn decodes_send_reset_sockaddrs() {
        let dec = decoder();
        let mut d = vec![0u8; 88];
        d[0..2].copy_from_slice(&40u16.to_ne_bytes());
        d[16..24].copy_from_slice(&7u64.to_ne_bytes());
        d[32..34].copy_from_slice(&Family::AF_INET.to_ne_bytes());
        d[34..36].copy_from_slice(&8080u16.to_be_bytes());
        d[36..40].copy_from_slice(&[127, 0, 0, 1]);
        d[60..62].copy_from_slice(&Family::AF_INET.to_ne_bytes());
        d[62..64].copy_from_slice(&40000u16.to_be_bytes());
        d[64..68].copy_from_slice(&[127, 0, 0, 1]);
        let ev = dec.decode(5, &d).unwrap();
        assert_eq!(ev.kind, KernelEventKind::SendReset);
        assert_eq!(ev.skaddr, 7);
        assert_eq!(ev.local, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(ev.remote, "127.0.0.1:40000".parse().unwrap());
    }
}
