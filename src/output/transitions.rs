//! `watch` output: one line per transition, as text or JSON lines.

use crate::model::Family;
use crate::model::netns::Netns;
use crate::model::safe_text::for_terminal;
use crate::tracker::{Reset, Transition};
use std::io::Write;
use std::net::IpAddr;

/// One JSON line, written field by field (the same keys and values serde would write for the
/// record): `watch --json` prints half a million of them a second under churn, and a generic
/// serializer spent most of the reader's time on them. `netns` is the connection's
/// namespace as JSON (`netns_json`), written once per namespace, not once per line.
/// `unix_ns` is the same instant on the wall clock (ns since the Unix epoch; `ts_ns` is
/// CLOCK_MONOTONIC, the kernel's clock for events, which only orders them).
pub fn write_json_line(
    out: &mut impl Write,
    t: &Transition,
    unix_ns: u64,
    netns: &[u8],
) -> std::io::Result<()> {
    let mut num = itoa::Buffer::new();
    out.write_all(b"{\"ts_ns\":")?;
    out.write_all(num.format(t.ts_ns).as_bytes())?;
    out.write_all(b",\"ts_unix_ns\":")?;
    out.write_all(num.format(unix_ns).as_bytes())?;
    out.write_all(match t.family {
        Family::Inet => b",\"family\":\"inet\",\"local_addr\":\"",
        Family::Inet6 => b",\"family\":\"inet6\",\"local_addr\":\"",
    })?;
    write_ip(out, t.local.ip())?;
    out.write_all(b"\",\"local_port\":")?;
    out.write_all(num.format(t.local.port()).as_bytes())?;
    out.write_all(b",\"remote_addr\":\"")?;
    write_ip(out, t.remote.ip())?;
    out.write_all(b"\",\"remote_port\":")?;
    out.write_all(num.format(t.remote.port()).as_bytes())?;
    for (key, step) in [(&b",\"from\":\""[..], t.from), (&b"\",\"to\":\""[..], t.to)] {
        out.write_all(key)?;
        out.write_all(step.name().as_bytes())?;
    }
    out.write_all(b"\",\"source\":\"")?;
    out.write_all(t.source.name().as_bytes())?;
    out.write_all(match t.reset {
        None => b"\",\"reset\":null,\"owners\":[",
        Some(Reset::Sent) => b"\",\"reset\":\"sent\",\"owners\":[",
        Some(Reset::Received) => b"\",\"reset\":\"received\",\"owners\":[",
    })?;
    for (i, o) in t.owners.iter().enumerate() {
        out.write_all(if i == 0 { b"{\"pid\":" } else { b",{\"pid\":" })?;
        out.write_all(num.format(o.pid).as_bytes())?;
        out.write_all(b",\"comm\":")?;
        json_string(out, &o.comm)?;
        out.write_all(b",\"cmdline\":")?;
        json_string(out, &o.cmdline)?;
        out.write_all(b",\"fd\":")?;
        out.write_all(num.format(o.fd).as_bytes())?;
        out.write_all(b"}")?;
    }
    out.write_all(b"],\"netns\":")?;
    out.write_all(netns)?;
    out.write_all(b"}\n")
}

/// A namespace as `write_json_line` takes it: `{"inode":…,"name":…,"container":…}`.
pub fn netns_json(netns: &Netns) -> Vec<u8> {
    serde_json::to_vec(netns)
        .unwrap_or_else(|_| format!("{{\"inode\":{}}}", netns.inode).into_bytes())
}

/// An address as `Display` writes it; IPv4 without the formatting machinery (two per line,
/// half a million lines a second).
fn write_ip(out: &mut impl Write, ip: IpAddr) -> std::io::Result<()> {
    match ip {
        IpAddr::V4(v4) => {
            let mut text = [0u8; 15];
            let mut len = 0;
            let mut num = itoa::Buffer::new();
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    text[len] = b'.';
                    len += 1;
                }
                let digits = num.format(octet).as_bytes();
                text[len..len + digits.len()].copy_from_slice(digits);
                len += digits.len();
            }
            out.write_all(&text[..len])
        }
        IpAddr::V6(v6) => write!(out, "{v6}"),
    }
}

/// A JSON string: as it is when nothing in it needs escaping (the usual case), through
/// serde_json's escaper otherwise (process names are anyone's to choose).
fn json_string(out: &mut impl Write, s: &str) -> std::io::Result<()> {
    if s.bytes()
        .all(|b| b >= 0x20 && b != b'"' && b != b'\\' && b != 0x7f)
    {
        out.write_all(b"\"")?;
        out.write_all(s.as_bytes())?;
        out.write_all(b"\"")
    } else {
        serde_json::to_writer(&mut *out, s).map_err(std::io::Error::other)
    }
}

/// `12:00:01.123456  127.0.0.1:40000 -> 127.0.0.1:8080  FIN_WAIT1 -> FIN_WAIT2  traced  curl/42`
/// with the time of day (UTC) of `wall_ns`; first the namespace's label, when given (with
/// `--netns all`; already made safe for a terminal).
pub fn write_text_line(
    out: &mut impl Write,
    t: &Transition,
    wall_ns: u64,
    netns: Option<&str>,
) -> std::io::Result<()> {
    if let Some(label) = netns {
        write!(out, "{label:<16} ")?;
    }
    let secs = wall_ns / 1_000_000_000;
    let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    let micros = (wall_ns % 1_000_000_000) / 1000;
    let ends = format!("{} > {}", endpoint(&t.local), endpoint(&t.remote));
    let change = format!("{} -> {}", t.from.name(), t.to.name());
    write!(
        out,
        "{h:02}:{m:02}:{s:02}.{micros:06}  {ends:<47} {change:<26} {:<8}",
        t.source.name()
    )?;
    match t.reset {
        Some(Reset::Sent) => write!(out, " RST sent")?,
        Some(Reset::Received) => write!(out, " RST received")?,
        None => {}
    }
    if let Some(o) = t.owners.first() {
        write!(out, " {}/{}", for_terminal(&o.comm), o.pid)?;
    }
    out.write_all(b"\n")
}

fn endpoint(a: &std::net::SocketAddr) -> String {
    match a.ip() {
        IpAddr::V4(ip) => format!("{ip}:{}", a.port()),
        IpAddr::V6(ip) => format!("[{ip}]:{}", a.port()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Owner, TcpState};
    use crate::tracker::{Phase, Source};

    fn line(t: &Transition) -> serde_json::Value {
        let mut out = Vec::new();
        write_json_line(&mut out, t, t.ts_ns, &netns_json(&Netns::unnamed(t.netns))).unwrap();
        assert!(out.ends_with(b"}\n"), "one line");
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        for ip in [
            "0.0.0.0",
            "255.255.255.255",
            "10.1.20.3",
            "127.0.0.1",
            "::1",
            "::ffff:1.2.3.4",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            let mut out = Vec::new();
            write_ip(&mut out, ip).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), ip.to_string());
        }
    }

    #[test]
    fn writes_every_key_and_escapes_hostile_names() {
        let owner = |comm: &str| Owner {
            pid: 42,
            comm: comm.into(),
            cmdline: "a \"b\" \\c".into(),
            fd: 7,
        };
        let t = Transition {
            ts_ns: 123,
            conn: 1,
            family: Family::Inet6,
            local: "[::1]:8080".parse().unwrap(),
            remote: "[2001:db8::9]:40000".parse().unwrap(),
            from: Phase::State(TcpState::FinWait2),
            to: Phase::Gone,
            source: Source::Observed,
            reset: Some(Reset::Received),
            owners: std::sync::Arc::from([owner("\u{1b}]2;OWNED\u{7}"), owner("nginx")]),
            netns: 4026532000,
        };
        assert_eq!(
            line(&t),
            serde_json::json!({
                "ts_ns": 123, "ts_unix_ns": 123, "family": "inet6", "local_addr": "::1", "local_port": 8080,
                "remote_addr": "2001:db8::9", "remote_port": 40000, "from": "FIN_WAIT2",
                "to": "GONE", "source": "observed", "reset": "received",
                "owners": [
                    {"pid": 42, "comm": "\u{1b}]2;OWNED\u{7}", "cmdline": "a \"b\" \\c", "fd": 7},
                    {"pid": 42, "comm": "nginx", "cmdline": "a \"b\" \\c", "fd": 7}
                ],
                "netns": {"inode": 4026532000u64, "name": null, "container": null}
            })
        );
        let mut raw = Vec::new();
        write_json_line(&mut raw, &t, 1_765_000_000_000_000_000, b"{}").unwrap();
        assert!(
            !raw.contains(&0x1b),
            "the escape byte itself never reaches the output"
        );
        let t = Transition {
            family: Family::Inet,
            local: "127.0.0.1:0".parse().unwrap(),
            remote: "127.0.0.1:9".parse().unwrap(),
            reset: None,
            owners: std::sync::Arc::from([]),
            ..t
        };
        let v = line(&t);
        assert_eq!(v["reset"], serde_json::Value::Null);
        assert_eq!(v["owners"], serde_json::json!([]));
        assert_eq!(v["family"], "inet");
    }
}
