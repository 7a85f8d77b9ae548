//! A populated network namespace seen by `ss -tanH` and by both tcpscope sources: the same set
//! of (state, local, remote), and every socket with an inode owned by a populating process.

use crate::common;

use common::{Netns, Populated, list_json};
use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};

type Key = (String, SocketAddr, SocketAddr);

/// ss spellings → kernel names.
fn kernel_state(ss: &str) -> String {
    match ss {
        "ESTAB" => "ESTABLISHED",
        "SYN-SENT" => "SYN_SENT",
        "SYN-RECV" => "SYN_RECV",
        "FIN-WAIT-1" => "FIN_WAIT1",
        "FIN-WAIT-2" => "FIN_WAIT2",
        "TIME-WAIT" => "TIME_WAIT",
        "UNCONN" => "CLOSE",
        "CLOSE-WAIT" => "CLOSE_WAIT",
        "LAST-ACK" => "LAST_ACK",
        "LISTEN" => "LISTEN",
        "CLOSING" => "CLOSING",
        other => panic!("unexpected ss state {other}"),
    }
    .to_string()
}

/// `127.0.0.1:80`, `[::1]:80`, `0.0.0.0:*`, `*:80`, `[::ffff:1.2.3.4]:80`, `[fe80::1]%lo:80`.
fn ss_endpoint(text: &str, v6: bool) -> SocketAddr {
    let (host, port) = text.rsplit_once(':').expect("host:port");
    let port = if port == "*" {
        0
    } else {
        port.parse().expect("port")
    };
    let host = host
        .split('%')
        .next()
        .unwrap()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let ip: IpAddr = match host {
        "*" if v6 => "::".parse().unwrap(),
        "*" => "0.0.0.0".parse().unwrap(),
        h => h.parse().expect("address"),
    };
    SocketAddr::new(ip, port)
}

fn from_ss(ns: &Netns) -> BTreeSet<Key> {
    let out = ns.exec(&["ss", "-tanH"]);
    assert!(
        out.status.success(),
        "ss failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let v6 = cols[3].starts_with('[');
            (
                kernel_state(cols[0]),
                ss_endpoint(cols[3], v6),
                ss_endpoint(cols[4], v6),
            )
        })
        .collect()
}

fn from_tcpscope(ns: &Netns, source: &str) -> (BTreeSet<Key>, Vec<serde_json::Value>) {
    let recs = list_json(&["--netns", &ns.name, "--source", source]);
    let keys = recs
        .iter()
        .map(|r| {
            let ep = |a: &str, p: &str| {
                let ip: IpAddr = r[a].as_str().unwrap().parse().unwrap();
                SocketAddr::new(ip, u16::try_from(r[p].as_u64().unwrap()).unwrap())
            };
            (
                r["state"].as_str().unwrap().to_string(),
                ep("local_addr", "local_port"),
                ep("remote_addr", "remote_port"),
            )
        })
        .collect();
    (keys, recs)
}

#[test]
#[cfg_attr(
    not(all(tcpscope_test_root, tcpscope_test_has_ip, tcpscope_test_has_ss)),
    ignore = "needs root, ip and ss (iproute2): a namespace of its own, compared with ss"
)]
fn both_sources_match_ss_on_a_populated_namespace() {
    let _host = crate::common::host::shared();
    let ns = Netns::new("diff");
    let populated = Populated::start(&ns, 3000, 5);
    // Compare a settled namespace: on a busy machine a FIN's ACK can take a moment, and a
    // socket seen in FIN_WAIT1 by ss may be in FIN_WAIT2 by the time tcpscope looks.
    let transient = ["FIN_WAIT1", "SYN_SENT", "SYN_RECV", "LAST_ACK", "CLOSING"];
    let mut expected = from_ss(&ns);
    assert!(
        common::wait_until(std::time::Duration::from_secs(10), || {
            expected = from_ss(&ns);
            !expected.iter().any(|k| transient.contains(&k.0.as_str()))
        }),
        "sockets still changing state after 10 s"
    );
    assert!(
        expected.len() > 6000,
        "populate made {} sockets",
        expected.len()
    );
    for state in [
        "LISTEN",
        "ESTABLISHED",
        "CLOSE_WAIT",
        "FIN_WAIT2",
        "TIME_WAIT",
    ] {
        assert!(expected.iter().any(|k| k.0 == state), "ss shows no {state}");
    }
    for source in ["netlink", "procfs"] {
        let (got, recs) = from_tcpscope(&ns, source);
        let missing: Vec<_> = expected.difference(&got).take(5).collect();
        let extra: Vec<_> = got.difference(&expected).take(5).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{source}: missing {missing:?}, extra {extra:?}"
        );
        // Every socket that still has a file is owned by one of the populating processes.
        for r in recs.iter().filter(|r| r["inode"] != 0) {
            let owners = r["owners"].as_array().unwrap();
            assert!(
                owners
                    .iter()
                    .any(|o| populated.pids.iter().any(|&p| o["pid"] == p)),
                "{source}: no owner for {r}"
            );
        }
    }
}
