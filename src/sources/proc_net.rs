//! The `/proc/net/tcp` and `/proc/net/tcp6` text tables: the fallback source and a cross-check.
//!
//! The procfs crate's `TcpNetEntry` drops the timer columns (`tr`, `tm->when`, `retrnsmt`),
//! which tcpscope shows, so the lines are parsed here. Limits of this source, from the kernel's
//! `get_tcp4_sock()`: no socket cookie and no tcp_info; for a LISTEN socket the Send-Q column is
//! not the backlog (sock_diag gives it), so it reports 0 there.

use super::{Query, SnapshotSource, SourceError, SourceKind};
use crate::model::{Family, SocketRecord, TcpState, Timer, TimerKind};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub struct ProcNetSource {
    ticks_per_second: u64,
}

impl Default for ProcNetSource {
    fn default() -> Self {
        Self::new()
    }
}

impl ProcNetSource {
    pub fn new() -> Self {
        ProcNetSource {
            ticks_per_second: rustix::param::clock_ticks_per_second().max(1),
        }
    }
}

impl SnapshotSource for ProcNetSource {
    fn kind(&self) -> SourceKind {
        SourceKind::Procfs
    }

    fn snapshot(
        &mut self,
        query: &Query,
        out: &mut Vec<SocketRecord>,
    ) -> Result<usize, SourceError> {
        let mut malformed = 0;
        let netns = crate::sources::namespaces::current().unwrap_or(0);
        // thread-self: the namespace of this thread, which `--netns` moved into.
        for (family, wanted, path) in [
            (Family::Inet, query.inet, "/proc/thread-self/net/tcp"),
            (Family::Inet6, query.inet6, "/proc/thread-self/net/tcp6"),
        ] {
            if !wanted {
                continue;
            }
            let text = match std::fs::read(path) {
                Ok(text) => text,
                // No tcp6 file: IPv6 is disabled, which means no IPv6 sockets.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && family == Family::Inet6 => {
                    continue;
                }
                Err(source) => return Err(SourceError::Io { what: path, source }),
            };
            malformed += parse_table(&text, family, self.ticks_per_second, &mut |mut rec| {
                if query.states.contains(rec.state) {
                    rec.netns = netns;
                    out.push(rec);
                }
            });
        }
        Ok(malformed)
    }
}

/// Parses a whole table (header line first); returns how many lines were malformed.
pub fn parse_table(
    text: &[u8],
    family: Family,
    ticks_per_second: u64,
    sink: &mut dyn FnMut(SocketRecord),
) -> usize {
    let mut malformed = 0;
    for line in text.split(|&b| b == b'\n').skip(1) {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_line(line, family, ticks_per_second) {
            Some(rec) => sink(rec),
            None => malformed += 1,
        }
    }
    malformed
}

/// One line: `sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...`.
pub fn parse_line(line: &[u8], family: Family, ticks_per_second: u64) -> Option<SocketRecord> {
    let text = std::str::from_utf8(line).ok()?;
    let mut cols = text.split_ascii_whitespace();
    cols.next()?.strip_suffix(':')?;
    let local = parse_endpoint(cols.next()?, family)?;
    let remote = parse_endpoint(cols.next()?, family)?;
    let state = TcpState::from_kernel(u8::from_str_radix(cols.next()?, 16).ok()?)?;
    let (tx, rx) = cols.next()?.split_once(':')?;
    let (timer_code, when) = cols.next()?.split_once(':')?;
    let retransmits = u32::from_str_radix(cols.next()?, 16).ok()?;
    let uid: u32 = cols.next()?.parse().ok()?;
    let _probes = cols.next()?;
    let inode: u64 = cols.next()?.parse().ok()?;
    let when_ticks = u64::from_str_radix(when, 16).ok()?;
    let timer =
        TimerKind::from_kernel(u8::from_str_radix(timer_code, 16).ok()?).map(|kind| Timer {
            kind,
            remaining_ms: when_ticks.saturating_mul(1000) / ticks_per_second,
            retransmits: u8::try_from(retransmits).unwrap_or(u8::MAX),
        });
    let recv_q = u32::from_str_radix(rx, 16).ok()?;
    let send_q = u32::from_str_radix(tx, 16).ok()?;
    Some(SocketRecord {
        family,
        state,
        local,
        remote,
        recv_q,
        // For LISTEN this column is write_seq - snd_una, not the backlog.
        send_q: if state == TcpState::Listen { 0 } else { send_q },
        timer,
        uid,
        inode,
        cookie: 0,
        tcp_info: None,
        netns: 0,
    })
}

/// `0100007F:1F90` or the 32-hex-digit IPv6 form. The kernel prints each 32-bit word of the
/// address as a host-order number, so the bytes come back with `to_ne_bytes`.
fn parse_endpoint(col: &str, family: Family) -> Option<SocketAddr> {
    let (addr, port) = col.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |i: usize| -> Option<[u8; 4]> {
        let hex = addr.get(i * 8..i * 8 + 8)?;
        Some(u32::from_str_radix(hex, 16).ok()?.to_ne_bytes())
    };
    let ip = match (family, addr.len()) {
        (Family::Inet, 8) => IpAddr::V4(Ipv4Addr::from(word(0)?)),
        (Family::Inet6, 32) => {
            let mut octets = [0u8; 16];
            for i in 0..4 {
                octets[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            IpAddr::V6(Ipv6Addr::from(octets))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    const V4: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000003 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 0100007F:9C40 06 00000000:00000000 03:00001707 00000000     0        0 0 3 0000000000000000
   2: 0100007F:9C40 0100007F:1F90 01 0000000A:00000000 01:00000032 00000002  1000        0 77 2 0000000000000000 20 4 30 10 -1
";

    fn parse(text: &str, family: Family) -> (Vec<SocketRecord>, usize) {
        let mut out = Vec::new();
        let bad = parse_table(text.as_bytes(), family, 100, &mut |r| out.push(r));
        (out, bad)
    }

    #[test]
    fn parses_listen_timewait_and_established() {
        let (recs, bad) = parse(V4, Family::Inet);
        assert_eq!(bad, 0);
        assert_eq!(recs.len(), 3);
        let l = &recs[0];
        assert_eq!(l.state, TcpState::Listen);
        assert_eq!(l.local, "127.0.0.1:8080".parse().unwrap());
        assert_eq!((l.recv_q, l.send_q, l.inode, l.timer), (3, 0, 4242, None));
        let tw = &recs[1];
        assert_eq!(tw.state, TcpState::TimeWait);
        assert_eq!(tw.remote, "127.0.0.1:40000".parse().unwrap());
        let t = tw.timer.unwrap();
        assert_eq!((t.kind, t.remaining_ms), (TimerKind::Timewait, 0x1707 * 10));
        let e = &recs[2];
        assert_eq!((e.send_q, e.uid, e.inode), (10, 1000, 77));
        let t = e.timer.unwrap();
        assert_eq!(
            (t.kind, t.remaining_ms, t.retransmits),
            (TimerKind::Retransmit, 500, 2)
        );
    }

    #[test]
    fn parses_ipv6() {
        let text = "header\n   0: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99 1 0\n";
        let (recs, bad) = parse(text, Family::Inet6);
        assert_eq!(bad, 0);
        assert_eq!(recs[0].local, "[::1]:22".parse().unwrap());
        assert_eq!(recs[0].remote, "[::]:0".parse().unwrap());
    }

    #[test]
    fn malformed_and_truncated_lines_are_counted() {
        let full = V4.lines().nth(3).unwrap();
        // Every cut before the inode column leaves a line with a column missing.
        let inode_at = full.find(" 77 ").unwrap() + 1;
        let mut text = String::from("header\n");
        for cut in 0..inode_at {
            text.push_str(&full[..cut]);
            text.push('\n');
        }
        text.push_str(
            "   9: 0100007F:1F90 00000000:0000 FF 00000000:00000000 00:00000000 00000000 0 0 1\n",
        );
        text.push_str(
            "   9: 0100007F1F90 00000000:0000 01 00000000:00000000 00:00000000 00000000 0 0 1\n",
        );
        text.push_str(full);
        let (recs, bad) = parse(&text, Family::Inet);
        assert_eq!(recs.len(), 1, "only the complete line parses");
        // The first four cuts are blank ("   ") and skipped; two more lines are bad.
        assert_eq!(bad, inode_at - 4 + 2);
        // An IPv4 line read as IPv6 does not parse.
        let (recs, _) = parse(V4, Family::Inet6);
        assert!(recs.is_empty());
        // Non-UTF-8 does not panic.
        assert_eq!(
            parse_table(b"h\n\xff\xfe 1 2\n", Family::Inet, 100, &mut |_| {}),
            1
        );
    }
}
