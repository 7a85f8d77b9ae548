//! The tracker on recorded event and snapshot sequences kept as data files in tests/tracker/:
//! each file gives the inputs in order and the transitions expected out, one line each:
//! `ts local remote from to source reset`.

use serde::Deserialize;
use std::net::SocketAddr;
use tcpscope::model::{Family, Owner, SocketRecord, StateSet, TcpState, Timer, TimerKind};
use tcpscope::tracker::{KernelEvent, KernelEventKind, Mode, Tracker, TrackerConfig};

#[derive(Deserialize)]
struct Scenario {
    mode: String,
    #[serde(default)]
    local_pids: Vec<i32>,
    #[serde(default)]
    confirm_ns: Option<u64>,
    steps: Vec<Input>,
    expect: Vec<String>,
    #[serde(default)]
    expect_unconfirmed_dropped: u64,
    /// The namespace followed (events of others are ignored).
    #[serde(default)]
    netns: u32,
    #[serde(default)]
    expect_stale_records: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum Input {
    Events(Vec<Ev>),
    Snapshot {
        ts: u64,
        sockets: Vec<Sock>,
        /// A partial snapshot: only these states (names or groups) were dumped.
        #[serde(default)]
        states: Option<Vec<String>>,
    },
}

#[derive(Deserialize)]
struct Ev {
    ts: u64,
    sk: u64,
    /// `OLD>NEW`, `send_reset`, `receive_reset` or `destroy`.
    kind: String,
    local: SocketAddr,
    remote: SocketAddr,
    #[serde(default)]
    pid: i32,
    /// The socket's namespace, as the eBPF source gives it (0: unknown, as from tracefs).
    #[serde(default)]
    netns: u32,
    /// Whether the peer's FIN had arrived (eBPF source only).
    #[serde(default)]
    fin: Option<bool>,
    /// At FIN_WAIT2 or CLOSING → CLOSE: whether a timewait socket was in the kernel's table
    /// (eBPF source only).
    #[serde(default)]
    timewait: Option<bool>,
}

#[derive(Deserialize)]
struct Sock {
    state: String,
    local: SocketAddr,
    remote: SocketAddr,
    #[serde(default)]
    inode: u64,
    /// A timewait socket: timewait timer and no inode.
    #[serde(default)]
    tw: bool,
    /// Its timer's time left.
    #[serde(default)]
    left_ms: u64,
}

fn event(e: &Ev) -> KernelEvent {
    let kind = match e.kind.as_str() {
        "send_reset" => KernelEventKind::SendReset,
        "receive_reset" => KernelEventKind::ReceiveReset,
        "destroy" => KernelEventKind::Destroy,
        states => {
            let (old, new) = states.split_once('>').unwrap();
            KernelEventKind::SetState {
                old: old.parse().unwrap(),
                new: new.parse().unwrap(),
            }
        }
    };
    KernelEvent {
        ts_ns: e.ts,
        skaddr: e.sk,
        family: Family::of(&e.local.ip()),
        local: e.local,
        remote: e.remote,
        pid: e.pid,
        kind,
        netns: e.netns,
        fin_received: e.fin,
        timewait: e.timewait,
        comm: [0; 16],
    }
}

fn record(s: &Sock) -> SocketRecord {
    SocketRecord {
        timer: s.tw.then_some(Timer {
            kind: TimerKind::Timewait,
            remaining_ms: s.left_ms,
            retransmits: 0,
        }),
        cookie: 0,
        ..SocketRecord::new(
            s.state.parse::<TcpState>().unwrap(),
            s.local,
            s.remote,
            if s.tw { 0 } else { s.inode },
        )
    }
}

fn run(path: &std::path::Path) -> Result<(), String> {
    let sc: Scenario = serde_json::from_str(&std::fs::read_to_string(path).unwrap())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut config = TrackerConfig {
        mode: if sc.mode == "traced" {
            Mode::Traced
        } else {
            Mode::Inferred
        },
        netns: sc.netns,
        ..TrackerConfig::default()
    };
    if let Some(c) = sc.confirm_ns {
        config.confirm = std::time::Duration::from_nanos(c);
    }
    let mut tracker = Tracker::new(config);
    let owners = |inode: u64| {
        vec![Owner {
            pid: 100,
            comm: "app".into(),
            cmdline: "app".into(),
            fd: i32::try_from(inode).unwrap_or(0),
        }]
    };
    let mut got = Vec::new();
    for step in &sc.steps {
        match step {
            Input::Events(evs) => {
                let evs: Vec<KernelEvent> = evs.iter().map(event).collect();
                tracker.apply_events(&evs, &mut |pid| sc.local_pids.contains(&pid));
            }
            Input::Snapshot {
                ts,
                sockets,
                states,
            } => {
                let recs: Vec<SocketRecord> = sockets.iter().map(record).collect();
                match states {
                    None => tracker.apply_snapshot(*ts, &recs, &owners),
                    Some(names) => {
                        let set = names
                            .iter()
                            .map(|n| StateSet::parse_one(n).unwrap())
                            .fold(StateSet::EMPTY, StateSet::union);
                        tracker.apply_partial_snapshot(*ts, &recs, set, &owners);
                    }
                }
            }
        }
        for t in tracker.take_transitions() {
            let reset = t.reset.map_or("-", |r| {
                if r == tcpscope::tracker::Reset::Sent {
                    "sent"
                } else {
                    "received"
                }
            });
            got.push(format!(
                "{} {} {} {} {} {} {}",
                t.ts_ns,
                t.local,
                t.remote,
                t.from.name(),
                t.to.name(),
                t.source.name(),
                reset
            ));
        }
    }
    if got != sc.expect {
        return Err(format!(
            "{}:\nexpected:\n  {}\ngot:\n  {}",
            path.display(),
            sc.expect.join("\n  "),
            got.join("\n  ")
        ));
    }
    let dropped = tracker.stats().unconfirmed_dropped;
    if dropped != sc.expect_unconfirmed_dropped {
        return Err(format!(
            "{}: {dropped} unconfirmed dropped, expected {}",
            path.display(),
            sc.expect_unconfirmed_dropped
        ));
    }
    if let Some(stale) = sc.expect_stale_records
        && tracker.stats().stale_records != stale
    {
        return Err(format!(
            "{}: {} stale records skipped, expected {stale}",
            path.display(),
            tracker.stats().stale_records
        ));
    }
    Ok(())
}

#[test]
fn recorded_scenarios() {
    let _host = crate::common::host::shared();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tracker");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 5, "scenario files in {}", dir.display());
    let failures: Vec<String> = files.iter().filter_map(|f| run(f).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
