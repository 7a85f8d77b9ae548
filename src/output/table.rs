//! The `ss`-like table. Written byte by byte into one buffer: at 200k rows the `fmt` machinery
//! alone would cost more than the kernel's dump.

use super::{Columns, Row};
use crate::model::safe_text::for_terminal;
use crate::model::{Owner, Timer};
use std::io::Write;
use std::net::{IpAddr, SocketAddr};

const STATE_W: usize = 13;
const QUEUE_W: usize = 7;
const TIMER_W: usize = 17;

/// Writes a header and one line per row; columns are as wide as their widest cell.
pub fn write_table(
    out: &mut impl Write,
    rows: &[Row<'_>],
    columns: Columns,
) -> std::io::Result<()> {
    let show_owners = columns.owners;
    let label = |r: &Row<'_>| {
        let text = r
            .netns
            .map_or_else(|| format!("net:[{}]", r.socket.netns), |n| n.label());
        for_terminal(&text).into_owned()
    };
    let netns_w = if columns.netns {
        rows.iter()
            .map(|r| label(r).chars().count())
            .max()
            .unwrap_or(0)
            .max("NetNS".len())
            + 1
    } else {
        0
    };
    let local_w = rows
        .iter()
        .map(|r| endpoint_len(&r.socket.local))
        .max()
        .unwrap_or(0)
        .max("Local Address:Port".len())
        + 1;
    let peer_w = rows
        .iter()
        .map(|r| endpoint_len(&r.socket.remote))
        .max()
        .unwrap_or(0)
        .max("Peer Address:Port".len())
        + 1;

    let mut buf: Vec<u8> = Vec::with_capacity(1 << 17);
    if columns.netns {
        cell(&mut buf, b"NetNS", netns_w);
    }
    cell(&mut buf, b"State", STATE_W);
    cell(&mut buf, b"Recv-Q", QUEUE_W);
    cell(&mut buf, b"Send-Q", QUEUE_W);
    cell(&mut buf, b"Local Address:Port", local_w);
    cell(&mut buf, b"Peer Address:Port", peer_w);
    if show_owners {
        cell(&mut buf, b"Timer", TIMER_W);
        buf.extend_from_slice(b"Process");
    } else {
        buf.extend_from_slice(b"Timer");
    }
    buf.push(b'\n');

    let mut num = itoa::Buffer::new();
    for row in rows {
        let s = row.socket;
        if columns.netns {
            // Padded by characters: a label may hold escaped or multibyte text.
            let text = label(row);
            buf.extend_from_slice(text.as_bytes());
            let pad = netns_w.saturating_sub(text.chars().count()).max(1);
            buf.resize(buf.len() + pad, b' ');
        }
        match &columns.state_colors {
            Some(palette) => coloured_cell(
                &mut buf,
                s.state.name().as_bytes(),
                &palette.state(s.state).sgr_foreground(),
                STATE_W,
            ),
            None => cell(&mut buf, s.state.name().as_bytes(), STATE_W),
        }
        cell(&mut buf, num.format(s.recv_q).as_bytes(), QUEUE_W);
        cell(&mut buf, num.format(s.send_q).as_bytes(), QUEUE_W);
        let start = buf.len();
        push_endpoint(&mut buf, &s.local, &mut num);
        pad_from(&mut buf, start, local_w);
        let start = buf.len();
        push_endpoint(&mut buf, &s.remote, &mut num);
        pad_from(&mut buf, start, peer_w);
        let start = buf.len();
        if let Some(t) = &s.timer {
            push_timer(&mut buf, t, &mut num);
        }
        if show_owners {
            pad_from(&mut buf, start, TIMER_W);
            push_owners(&mut buf, row.owners, &mut num);
        }
        trim_trailing_spaces(&mut buf);
        buf.push(b'\n');
        if buf.len() >= 1 << 16 {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    out.write_all(&buf)
}

fn cell(buf: &mut Vec<u8>, text: &[u8], width: usize) {
    let start = buf.len();
    buf.extend_from_slice(text);
    pad_from(buf, start, width);
}

/// A cell whose text is in a colour (`ESC[{sgr}m` … `ESC[0m`), padded as if plain.
fn coloured_cell(buf: &mut Vec<u8>, text: &[u8], sgr: &str, width: usize) {
    buf.extend_from_slice(b"\x1b[");
    buf.extend_from_slice(sgr.as_bytes());
    buf.push(b'm');
    buf.extend_from_slice(text);
    buf.extend_from_slice(b"\x1b[0m");
    buf.resize(buf.len() + width.saturating_sub(text.len()).max(1), b' ');
}

/// Pads what was written since `start` to `width`, with at least one space.
fn pad_from(buf: &mut Vec<u8>, start: usize, width: usize) {
    let written = buf.len() - start;
    let pad = width.saturating_sub(written).max(1);
    buf.resize(buf.len() + pad, b' ');
}

fn trim_trailing_spaces(buf: &mut Vec<u8>) {
    while buf.last() == Some(&b' ') {
        buf.pop();
    }
}

fn digits(n: u32) -> usize {
    n.checked_ilog10().map_or(1, |l| l as usize + 1)
}

/// The printed length of an endpoint, without printing it.
fn endpoint_len(addr: &SocketAddr) -> usize {
    let port = if addr.port() == 0 {
        1
    } else {
        digits(u32::from(addr.port()))
    };
    match addr.ip() {
        IpAddr::V4(ip) => {
            ip.octets()
                .iter()
                .map(|&o| digits(u32::from(o)))
                .sum::<usize>()
                + 3
                + 1
                + port
        }
        IpAddr::V6(ip) => {
            let mut scratch = Vec::with_capacity(48);
            let _ = write!(scratch, "{ip}");
            scratch.len() + 2 + 1 + port
        }
    }
}

/// `127.0.0.1:8080`, `[::1]:8080`, with `*` for port 0 as `ss` prints it.
fn push_endpoint(buf: &mut Vec<u8>, addr: &SocketAddr, num: &mut itoa::Buffer) {
    match addr.ip() {
        IpAddr::V4(ip) => {
            let [a, b, c, d] = ip.octets();
            for (i, o) in [a, b, c, d].into_iter().enumerate() {
                if i > 0 {
                    buf.push(b'.');
                }
                buf.extend_from_slice(num.format(o).as_bytes());
            }
        }
        IpAddr::V6(ip) => {
            let _ = write!(buf, "[{ip}]");
        }
    }
    buf.push(b':');
    if addr.port() == 0 {
        buf.push(b'*');
    } else {
        buf.extend_from_slice(num.format(addr.port()).as_bytes());
    }
}

/// `timewait 59.8s`, `retransmit 204ms x2`.
pub fn push_timer(buf: &mut Vec<u8>, t: &Timer, num: &mut itoa::Buffer) {
    let kind: &[u8] = match t.kind {
        crate::model::TimerKind::ZeroWindowProbe => b"persist",
        other => other.name().as_bytes(),
    };
    buf.extend_from_slice(kind);
    buf.push(b' ');
    let ms = t.remaining_ms;
    if ms < 1000 {
        buf.extend_from_slice(num.format(ms).as_bytes());
        buf.extend_from_slice(b"ms");
    } else {
        buf.extend_from_slice(num.format(ms / 1000).as_bytes());
        buf.push(b'.');
        buf.extend_from_slice(num.format(ms % 1000 / 100).as_bytes());
        buf.push(b's');
    }
    if t.retransmits > 0 {
        buf.extend_from_slice(b" x");
        buf.extend_from_slice(num.format(t.retransmits).as_bytes());
    }
}

/// `python3/1234` and `+N` for further owners.
fn push_owners(buf: &mut Vec<u8>, owners: &[Owner], num: &mut itoa::Buffer) {
    let Some(first) = owners.first() else { return };
    buf.extend_from_slice(for_terminal(&first.comm).as_bytes());
    buf.push(b'/');
    buf.extend_from_slice(num.format(first.pid).as_bytes());
    let more = owners.iter().skip(1).filter(|o| o.pid != first.pid).count();
    if more > 0 {
        buf.extend_from_slice(b" +");
        buf.extend_from_slice(num.format(more).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SocketRecord, TcpState, TimerKind};

    fn rec(state: TcpState, local: &str, remote: &str, timer: Option<Timer>) -> SocketRecord {
        SocketRecord {
            recv_q: 1,
            send_q: 128,
            timer,
            cookie: 9,
            ..SocketRecord::new(state, local.parse().unwrap(), remote.parse().unwrap(), 5)
        }
    }

    #[test]
    fn table_lines_up_and_names_owners() {
        let listen = rec(TcpState::Listen, "0.0.0.0:8080", "0.0.0.0:0", None);
        let tw = rec(
            TcpState::TimeWait,
            "[::1]:8080",
            "[::1]:40000",
            Some(Timer {
                kind: TimerKind::Timewait,
                remaining_ms: 59_812,
                retransmits: 0,
            }),
        );
        let owners = [
            Owner {
                pid: 42,
                comm: "srv".into(),
                cmdline: "srv -p".into(),
                fd: 3,
            },
            Owner {
                pid: 43,
                comm: "srv".into(),
                cmdline: "srv -p".into(),
                fd: 3,
            },
        ];
        let rows = [
            Row {
                socket: &listen,
                owners: &owners,
                netns: None,
            },
            Row {
                socket: &tw,
                owners: &[],
                netns: None,
            },
        ];
        let mut out = Vec::new();
        write_table(
            &mut out,
            &rows,
            Columns {
                owners: true,
                netns: false,
                state_colors: None,
            },
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains('\x1b'));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("State"));
        assert!(
            lines[1].starts_with("LISTEN       1      128    0.0.0.0:8080"),
            "{}",
            lines[1]
        );
        assert!(lines[1].contains("0.0.0.0:*"));
        assert!(lines[1].ends_with("srv/42 +1"), "{}", lines[1]);
        assert!(lines[2].contains("[::1]:40000"));
        assert!(lines[2].ends_with("timewait 59.8s"), "{}", lines[2]);
        // The peer column starts at the same place on every line.
        let col = lines[0].find("Peer").unwrap();
        assert_eq!(lines[2].find("[::1]:40000"), Some(col));
    }

    /// Coloured, the State cells are wrapped in SGR, and the table lines up as plain.
    #[test]
    fn coloured_states_line_up_as_plain_ones() {
        let listen = rec(TcpState::Listen, "0.0.0.0:8080", "0.0.0.0:0", None);
        let cw = rec(TcpState::CloseWait, "10.0.0.1:8080", "10.0.0.9:5000", None);
        let rows: Vec<Row<'_>> = [&listen, &cw]
            .into_iter()
            .map(|socket| Row {
                socket,
                owners: &[],
                netns: None,
            })
            .collect();
        let write = |state_colors| {
            let mut out = Vec::new();
            let columns = Columns {
                owners: true,
                netns: false,
                state_colors,
            };
            write_table(&mut out, &rows, columns).unwrap();
            String::from_utf8(out).unwrap()
        };
        let plain = write(None);
        let coloured = write(Some(crate::model::color::Palette::default()));
        let lines: Vec<&str> = coloured.lines().collect();
        assert!(lines[0].starts_with("State"), "the header is plain");
        assert!(
            lines[1].starts_with("\x1b[34mLISTEN\x1b[0m "),
            "{:?}",
            lines[1]
        );
        assert!(
            lines[2].starts_with("\x1b[31mCLOSE_WAIT\x1b[0m "),
            "{:?}",
            lines[2]
        );
        let stripped = coloured
            .replace("\x1b[34m", "")
            .replace("\x1b[31m", "")
            .replace("\x1b[0m", "");
        assert_eq!(stripped, plain);
    }

    #[test]
    fn endpoint_len_matches_what_is_printed() {
        let mut num = itoa::Buffer::new();
        for a in [
            "1.2.3.4:5",
            "255.255.255.255:65535",
            "0.0.0.0:0",
            "[::]:0",
            "[fe80::1:2]:443",
        ] {
            let addr: SocketAddr = a.parse().unwrap();
            let mut buf = Vec::new();
            push_endpoint(&mut buf, &addr, &mut num);
            assert_eq!(endpoint_len(&addr), buf.len(), "{a}");
        }
    }

    #[test]
    fn timers_read_well() {
        let mut num = itoa::Buffer::new();
        let mut text = |kind, remaining_ms, retransmits| {
            let mut buf = Vec::new();
            push_timer(
                &mut buf,
                &Timer {
                    kind,
                    remaining_ms,
                    retransmits,
                },
                &mut num,
            );
            String::from_utf8(buf).unwrap()
        };
        assert_eq!(text(TimerKind::Retransmit, 204, 2), "retransmit 204ms x2");
        assert_eq!(
            text(TimerKind::Keepalive, 7_200_000, 0),
            "keepalive 7200.0s"
        );
        assert_eq!(text(TimerKind::ZeroWindowProbe, 1_050, 0), "persist 1.0s");
    }
}
