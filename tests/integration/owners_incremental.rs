//! The owner lookup reads only what changed between refreshes, and still finds new sockets,
//! closed ones and fd numbers reused for another socket. Real sockets of this process.

use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use tcpscope::model::{SocketRecord, StateSet};
use tcpscope::sources::owners::{OwnerLookup, ProcfsOwners};
use tcpscope::sources::sock_diag::SockDiagSource;
use tcpscope::sources::{Query, SnapshotSource};

fn snapshot() -> Vec<SocketRecord> {
    let mut source = SockDiagSource::open().unwrap();
    let mut out = Vec::new();
    source
        .snapshot(&Query::states(StateSet::ALL, false), &mut out)
        .unwrap();
    out
}

fn inode_of(sockets: &[SocketRecord], local: std::net::SocketAddr) -> u64 {
    sockets
        .iter()
        .find(|s| s.local == local)
        .map(|s| s.inode)
        .unwrap()
}

fn my_fd_for(owners: &ProcfsOwners, inode: u64) -> Option<i32> {
    let me = i32::try_from(std::process::id()).unwrap();
    owners
        .owners_of(inode)
        .iter()
        .find(|o| o.pid == me)
        .map(|o| o.fd)
}

#[test]
fn refreshes_read_only_new_links_and_follow_changes() {
    let _host = crate::common::host::alone();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut owners = ProcfsOwners::new();

    let first = owners.refresh(&snapshot());
    assert!(first.links_read > 0);
    let inode = inode_of(&snapshot(), listener.local_addr().unwrap());
    assert_eq!(my_fd_for(&owners, inode), Some(listener.as_raw_fd()));

    // Nothing of ours changed: far fewer links are read than on the first scan. Other
    // processes may open files meanwhile: the quietest of a few refreshes counts.
    let steady = (0..10)
        .map(|_| owners.refresh(&snapshot()).links_read)
        .min()
        .unwrap();
    assert!(
        steady * 4 < first.links_read.max(8),
        "steady refresh read {steady} links at least, first {}",
        first.links_read
    );
    assert_eq!(my_fd_for(&owners, inode), Some(listener.as_raw_fd()));

    // A new socket is found.
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let sockets = snapshot();
    owners.refresh(&sockets);
    let client_inode = inode_of(&sockets, client.local_addr().unwrap());
    assert_eq!(my_fd_for(&owners, client_inode), Some(client.as_raw_fd()));

    // The listener closes and its fd number is reused by a new listener: the new inode is
    // found at the old number, and the old inode has no owner any more.
    let old_fd = listener.as_raw_fd();
    drop(listener);
    let reused = TcpListener::bind("127.0.0.1:0").unwrap();
    assert_eq!(
        reused.as_raw_fd(),
        old_fd,
        "the kernel hands out the lowest free fd"
    );
    let sockets = snapshot();
    owners.refresh(&sockets);
    let reused_inode = inode_of(&sockets, reused.local_addr().unwrap());
    assert_eq!(my_fd_for(&owners, reused_inode), Some(old_fd));
    assert_eq!(my_fd_for(&owners, inode), None);
}

#[test]
fn an_fd_number_that_was_a_file_and_now_is_a_socket_is_found() {
    let _host = crate::common::host::alone();
    let mut owners = ProcfsOwners::new();
    let file = std::fs::File::open("/proc/self/stat").unwrap();
    let fd = file.as_raw_fd();
    owners.refresh(&snapshot());
    drop(file);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    assert_eq!(listener.as_raw_fd(), fd);
    let sockets = snapshot();
    owners.refresh(&sockets);
    let inode = inode_of(&sockets, listener.local_addr().unwrap());
    assert_eq!(my_fd_for(&owners, inode), Some(fd));
}

#[test]
fn an_fd_number_reused_while_a_dup_keeps_the_old_socket_alive() {
    let _host = crate::common::host::alone();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let first = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let dup = first.try_clone().unwrap();
    let mut owners = ProcfsOwners::new();
    owners.refresh(&snapshot());
    let fd = first.as_raw_fd();
    drop(first);
    // The old socket lives on through `dup`; its old fd number now holds a new socket.
    let second = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    assert_eq!(second.as_raw_fd(), fd);
    let sockets = snapshot();
    owners.refresh(&sockets);
    let inode = inode_of(&sockets, second.local_addr().unwrap());
    assert_eq!(my_fd_for(&owners, inode), Some(fd));
    let old = inode_of(&sockets, dup.local_addr().unwrap());
    assert_eq!(my_fd_for(&owners, old), Some(dup.as_raw_fd()));
}
