//! One end of a connection, in 19 bytes instead of a `SocketAddr`'s 32: the tracker keeps two
//! per connection, a million connections at a time on a busy host. IPv6 flow labels and scope
//! ids are not kept (the socket table reports neither for TCP sockets).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// An IPv4 address in its first four bytes, or an IPv6 address.
    ip: [u8; 16],
    port: [u8; 2],
    v4: bool,
}

impl Endpoint {
    pub fn addr(self) -> SocketAddr {
        let port = u16::from_ne_bytes(self.port);
        if self.v4 {
            let [a, b, c, d, ..] = self.ip;
            SocketAddr::from((Ipv4Addr::new(a, b, c, d), port))
        } else {
            SocketAddr::from((Ipv6Addr::from(self.ip), port))
        }
    }

    pub fn port(self) -> u16 {
        u16::from_ne_bytes(self.port)
    }
}

impl From<SocketAddr> for Endpoint {
    fn from(addr: SocketAddr) -> Endpoint {
        let mut ip = [0; 16];
        let v4 = match addr.ip() {
            IpAddr::V4(v4) => {
                ip[..4].copy_from_slice(&v4.octets());
                true
            }
            IpAddr::V6(v6) => {
                ip = v6.octets();
                false
            }
        };
        Endpoint {
            ip,
            port: addr.port().to_ne_bytes(),
            v4,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_gives_back_the_address_it_was_made_of() {
        for text in [
            "127.0.0.1:8080",
            "[::1]:443",
            "[::ffff:10.0.0.1]:1",
            "0.0.0.0:0",
        ] {
            let addr: SocketAddr = text.parse().unwrap_or_else(|_| unreachable!());
            assert_eq!(Endpoint::from(addr).addr(), addr, "{text}");
            assert_eq!(Endpoint::from(addr).port(), addr.port());
        }
        assert_eq!(std::mem::size_of::<Endpoint>(), 19);
    }

    #[test]
    fn the_same_bytes_in_two_families_are_two_endpoints() {
        let v4: SocketAddr = "1.2.3.4:5".parse().unwrap_or_else(|_| unreachable!());
        let v6: SocketAddr = "[102:304::]:5".parse().unwrap_or_else(|_| unreachable!());
        assert_ne!(Endpoint::from(v4), Endpoint::from(v6));
    }
}
