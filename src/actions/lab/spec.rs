//! What the user types to make lab sockets, e.g. `127.0.0.1:8080 backlog=4 reuseaddr` for a
//! listener, or `8080 from=40000 reuseaddr` for a client. A bare port means 127.0.0.1.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// listen()'s backlog when none is given (the kernel caps it at net.core.somaxconn).
pub const DEFAULT_BACKLOG: i32 = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenSpec {
    pub addr: SocketAddr,
    pub backlog: i32,
    pub reuseaddr: bool,
    pub reuseport: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectSpec {
    pub to: SocketAddr,
    /// bind() to this address first (to pick the local port).
    pub from: Option<SocketAddr>,
    pub reuseaddr: bool,
    pub reuseport: bool,
}

impl ListenSpec {
    pub fn on(addr: SocketAddr) -> ListenSpec {
        ListenSpec {
            addr,
            backlog: DEFAULT_BACKLOG,
            reuseaddr: false,
            reuseport: false,
        }
    }

    /// `ADDR [backlog=N] [reuseaddr] [reuseport]`.
    pub fn parse(text: &str) -> Result<ListenSpec, String> {
        let mut words = text.split_whitespace();
        let addr = parse_addr(words.next().ok_or("give an address: PORT or IP:PORT")?)?;
        let mut spec = ListenSpec::on(addr);
        let mut backlog = spec.backlog;
        (spec.reuseaddr, spec.reuseport) =
            parse_options(words, "backlog=N, reuseaddr, reuseport", |key, value| {
                if key != "backlog" {
                    return Ok(false);
                }
                backlog = value
                    .parse()
                    .map_err(|_| format!("backlog {value:?} is not a number"))?;
                Ok(true)
            })?;
        spec.backlog = backlog;
        Ok(spec)
    }
}

impl ConnectSpec {
    pub fn to(to: SocketAddr) -> ConnectSpec {
        ConnectSpec {
            to,
            from: None,
            reuseaddr: false,
            reuseport: false,
        }
    }

    /// `ADDR [from=ADDR] [reuseaddr] [reuseport]`.
    pub fn parse(text: &str) -> Result<ConnectSpec, String> {
        let mut words = text.split_whitespace();
        let to = parse_addr(words.next().ok_or("give an address: PORT or IP:PORT")?)?;
        let mut spec = ConnectSpec::to(to);
        let mut from = None;
        (spec.reuseaddr, spec.reuseport) =
            parse_options(words, "from=PORT, reuseaddr, reuseport", |key, value| {
                if key != "from" {
                    return Ok(false);
                }
                from = Some(parse_from(value, to)?);
                Ok(true)
            })?;
        spec.from = from;
        Ok(spec)
    }
}

/// A `from=` address, of the destination's family.
pub fn parse_from(text: &str, to: SocketAddr) -> Result<SocketAddr, String> {
    let from = parse_addr(text)?;
    if from.is_ipv4() != to.is_ipv4() {
        return Err("from= and the destination must be the same family".into());
    }
    Ok(from)
}

/// The words after an address: `reuseaddr` and `reuseport` (returned, in that order), and
/// `KEY=VALUE` words that `keyed` takes (false for a key it does not know). `known` lists
/// every word, for the error.
pub fn parse_options<'a>(
    words: impl IntoIterator<Item = &'a str>,
    known: &str,
    mut keyed: impl FnMut(&str, &str) -> Result<bool, String>,
) -> Result<(bool, bool), String> {
    let (mut reuseaddr, mut reuseport) = (false, false);
    for w in words {
        match w {
            "reuseaddr" => reuseaddr = true,
            "reuseport" => reuseport = true,
            _ => {
                let taken = match w.split_once('=') {
                    Some((key, value)) => keyed(key, value)?,
                    None => false,
                };
                if !taken {
                    return Err(unknown(w, known));
                }
            }
        }
    }
    Ok((reuseaddr, reuseport))
}

/// `8080` (127.0.0.1), `0.0.0.0:8080`, `[::1]:8080`.
pub fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    text.parse::<SocketAddr>()
        .map_err(|_| format!("{text:?} is not PORT, IP:PORT or [IPv6]:PORT"))
}

fn unknown(word: &str, known: &str) -> String {
    format!("unknown word {word:?} (known: {known})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_lines_parse_with_defaults_and_options() {
        let s = ListenSpec::parse("8080").unwrap();
        assert_eq!(s.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!((s.backlog, s.reuseaddr, s.reuseport), (128, false, false));
        let s = ListenSpec::parse("[::1]:9 backlog=2 reuseport reuseaddr").unwrap();
        assert_eq!(s.addr, "[::1]:9".parse().unwrap());
        assert_eq!((s.backlog, s.reuseaddr, s.reuseport), (2, true, true));
        assert!(ListenSpec::parse("").is_err());
        assert!(ListenSpec::parse("8080 SO_EXCLUSIVEADDRUSE").is_err());
        assert!(ListenSpec::parse("host:80").is_err());
    }

    #[test]
    fn connect_lines_parse_a_source_address() {
        let s = ConnectSpec::parse("127.0.0.1:80 from=40000 reuseaddr").unwrap();
        assert_eq!(s.from, Some("127.0.0.1:40000".parse().unwrap()));
        assert!(s.reuseaddr);
        assert!(ConnectSpec::parse("[::1]:80 from=40000").is_err());
    }
}
