//! `--json`: one array of records with the keys documented in the README.

use super::Row;
use crate::model::netns::Netns;
use crate::model::{Family, Owner, TcpInfo, TcpState, Timer};
use serde::Serialize;
use std::borrow::Cow;
use std::io::Write;
use std::net::IpAddr;

/// One socket as `list --json` prints it.
#[derive(Serialize)]
pub struct JsonRecord<'a> {
    family: Family,
    state: TcpState,
    local_addr: IpAddr,
    local_port: u16,
    remote_addr: IpAddr,
    remote_port: u16,
    recv_q: u32,
    send_q: u32,
    timer: Option<Timer>,
    uid: u32,
    inode: u64,
    cookie: u64,
    owners: &'a [Owner],
    tcp_info: Option<TcpInfo>,
    netns: Cow<'a, Netns>,
}

impl<'a> From<&Row<'a>> for JsonRecord<'a> {
    fn from(row: &Row<'a>) -> Self {
        let s = row.socket;
        JsonRecord {
            family: s.family,
            state: s.state,
            local_addr: s.local.ip(),
            local_port: s.local.port(),
            remote_addr: s.remote.ip(),
            remote_port: s.remote.port(),
            recv_q: s.recv_q,
            send_q: s.send_q,
            timer: s.timer,
            uid: s.uid,
            inode: s.inode,
            cookie: s.cookie,
            owners: row.owners,
            tcp_info: s.tcp_info,
            netns: row
                .netns
                .map_or_else(|| Cow::Owned(Netns::unnamed(s.netns)), Cow::Borrowed),
        }
    }
}

/// Writes the rows as one JSON array, one record per line.
pub fn write_json(out: &mut impl Write, rows: &[Row<'_>]) -> std::io::Result<()> {
    out.write_all(b"[")?;
    for (i, row) in rows.iter().enumerate() {
        out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
        serde_json::to_writer(&mut *out, &JsonRecord::from(row))?;
    }
    out.write_all(b"\n]\n")
}
