//! The netlink sock_diag source: one inet_diag dump of both address families (one walk of the
//! kernel's table; `ss` walks it once per family), parsed straight from the receive buffer.

pub mod wire;

use super::{Query, SnapshotSource, SourceError, SourceKind};
use crate::model::SocketRecord;
use rustix::fd::OwnedFd;
use rustix::io::Errno;
use rustix::net::{
    AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType,
    netlink::{self, SocketAddrNetlink},
};
use wire::{Families, PortRange};

/// The kernel fills at most ~32 KiB per dump datagram; twice that is never cut short.
const RECV_BUFFER: usize = 64 * 1024;

/// Where the dump is split in two: the start of Linux's default ephemeral range. Servers'
/// ports usually sit below it and clients' above, so on a host with both the halves are even;
/// on a host with one kind the second dump costs a walk of the table and little else.
const SPLIT_PORT: u16 = 32768;

/// One netlink socket and its receive buffer; one dump at a time.
struct Dumper {
    socket: OwnedFd,
    /// The namespace the socket was made in: the one it dumps, wherever its thread goes.
    netns: u32,
    buf: Vec<u8>,
    seq: u32,
}

/// Dumps the table, in two halves at once on two cores when there are two.
pub struct SockDiagSource {
    dumpers: Vec<Dumper>,
}

impl SockDiagSource {
    pub fn open() -> Result<Self, SourceError> {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let dumpers = (0..cores.min(2))
            .map(|_| Dumper::open())
            .collect::<Result<_, _>>()?;
        Ok(SockDiagSource { dumpers })
    }

    /// Its netlink socket, made in the namespace it dumps: requests on that namespace's
    /// sockets (SOCK_DESTROY) go through it. Between dumps nothing waits in it.
    pub fn socket(&self) -> Option<rustix::fd::BorrowedFd<'_>> {
        use rustix::fd::AsFd;
        self.dumpers.first().map(|d| d.socket.as_fd())
    }

    /// One dump at a time, on the caller's thread: for many namespaces dumped side by side.
    pub fn open_one() -> Result<Self, SourceError> {
        Ok(SockDiagSource {
            dumpers: vec![Dumper::open()?],
        })
    }
}

impl Dumper {
    fn open() -> Result<Self, SourceError> {
        let socket = rustix::net::socket_with(
            AddressFamily::NETLINK,
            SocketType::DGRAM,
            SocketFlags::CLOEXEC,
            Some(netlink::SOCK_DIAG),
        )
        .map_err(|e| SourceError::Io {
            what: "netlink sock_diag socket",
            source: e.into(),
        })?;
        Ok(Dumper {
            socket,
            netns: crate::sources::namespaces::current().unwrap_or(0),
            buf: vec![0; RECV_BUFFER],
            seq: 0,
        })
    }

    /// Both families' sockets with a local port in `ports`.
    fn dump(
        &mut self,
        query: &Query,
        ports: PortRange,
        out: &mut Vec<SocketRecord>,
    ) -> Result<usize, SourceError> {
        let families = match (query.inet, query.inet6) {
            (true, true) => Families::Both,
            (true, false) => Families::One(wire::AF_INET),
            (false, true) => Families::One(wire::AF_INET6),
            (false, false) => return Ok(0),
        };
        self.dump_families(families, query, ports, out)
    }

    fn dump_families(
        &mut self,
        families: Families,
        query: &Query,
        ports: PortRange,
        out: &mut Vec<SocketRecord>,
    ) -> Result<usize, SourceError> {
        self.seq = self.seq.wrapping_add(1);
        let states = query.states.bits();
        let request = wire::dump_request(families, states, query.tcp_info, ports, self.seq);
        let kernel = SocketAddrNetlink::new(0, 0);
        retry_eintr(|| rustix::net::sendto(&self.socket, &request, SendFlags::empty(), &kernel))
            .map_err(|e| SourceError::Io {
                what: "sock_diag request",
                source: e.into(),
            })?;
        let mut malformed = 0;
        loop {
            let (len, full_len) = retry_eintr(|| {
                rustix::net::recv(&self.socket, &mut self.buf[..], RecvFlags::TRUNC)
            })
            .map_err(|e| SourceError::Io {
                what: "sock_diag answer",
                source: e.into(),
            })?;
            if len == 0 {
                return Err(SourceError::Truncated);
            }
            if full_len > len {
                // Cannot happen with our buffer size; count it rather than misparse.
                malformed += 1;
            }
            let netns = self.netns;
            let outcome =
                wire::parse_buffer(&self.buf[..len.min(full_len)], self.seq, &mut |mut r| {
                    r.netns = netns;
                    out.push(r)
                })?;
            malformed += outcome.malformed;
            if outcome.done {
                return Ok(malformed);
            }
        }
    }
}

fn retry_eintr<T>(mut f: impl FnMut() -> rustix::io::Result<T>) -> rustix::io::Result<T> {
    loop {
        match f() {
            Err(Errno::INTR) => continue,
            other => return other,
        }
    }
}

impl SnapshotSource for SockDiagSource {
    fn kind(&self) -> SourceKind {
        SourceKind::Netlink
    }

    fn snapshot(
        &mut self,
        query: &Query,
        out: &mut Vec<SocketRecord>,
    ) -> Result<usize, SourceError> {
        // Each dump walks the whole table; splitting pays only when filling is most of the
        // work, i.e. when established sockets (the bulk of a busy table) are asked for.
        let split = query.states.contains(crate::model::TcpState::Established);
        match self.dumpers.as_mut_slice() {
            [low, high] if split => std::thread::scope(|scope| {
                let upper = scope.spawn(|| {
                    let mut upper = Vec::new();
                    high.dump(query, PortRange::From(SPLIT_PORT), &mut upper)
                        .map(|m| (m, upper))
                });
                let lower = low.dump(query, PortRange::Below(SPLIT_PORT), out);
                let (upper_malformed, upper) =
                    upper.join().unwrap_or(Err(SourceError::Truncated))?;
                out.extend(upper);
                Ok(lower? + upper_malformed)
            }),
            [only, ..] => only.dump(query, PortRange::All, out),
            [] => Ok(0),
        }
    }
}
