//! A mutation fuzzer on stable Rust over every parser of untrusted input: sock_diag dumps,
//! /proc/net/tcp tables, tracefs format files and ring pages, eBPF records, scenario files, the
//! call grammar, command lines. Each starts from real captures (tests/fuzz_seeds/, made by
//! capture.py and tracefs on this kernel) and mutates them — bit flips, random bytes,
//! truncation, repeated and spliced chunks — for a time budget; a parser may refuse anything,
//! but never panic (a panic fails the test with the input that caused it).
//!
//!   cargo test --test integration fuzz::                     (a few seconds, as in CI)
//!   TCPSCOPE_FUZZ_SECS=600 cargo test --release --test integration fuzz:: -- --nocapture
//!                                                           (10 min each)

use std::path::Path;
use std::time::{Duration, Instant};
use tcpscope::model::Family;

/// xorshift64*: deterministic per target, so that a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One mutation of `input`, with `other` (another seed) for splices.
fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut d = input.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(d.len() + 1);
        match rng.below(7) {
            0 if !d.is_empty() => {
                let i = at.min(d.len() - 1);
                d[i] ^= 1 << rng.below(8);
            }
            1 if !d.is_empty() => {
                let i = at.min(d.len() - 1);
                d[i] = rng.next() as u8;
            }
            2 => d.truncate(at),
            3 => {
                let len = rng.below(16);
                let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                d.splice(at..at, bytes);
            }
            4 if !d.is_empty() => {
                let from = rng.below(d.len());
                let to = (from + rng.below(64)).min(d.len());
                let chunk = d[from..to].to_vec();
                d.splice(at..at, chunk);
            }
            5 if !other.is_empty() => {
                let from = rng.below(other.len());
                d.truncate(at);
                d.extend_from_slice(&other[from..]);
            }
            // Interesting values where parsers read lengths and counts.
            _ if d.len() >= 4 => {
                let i = at.min(d.len() - 4);
                let v: u32 = [0, 1, 0xffff, 0x7fff_ffff, 0x8000_0000, u32::MAX][rng.below(6)];
                d[i..i + 4].copy_from_slice(&v.to_ne_bytes());
            }
            _ => {}
        }
    }
    d
}

fn budget() -> Duration {
    let secs = std::env::var("TCPSCOPE_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(0.4);
    Duration::from_secs_f64(secs)
}

fn seed(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_seeds")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs `parse` on the seeds and on mutations of them until the budget is spent.
fn fuzz(target: &str, seeds: &[Vec<u8>], mut parse: impl FnMut(&[u8])) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ target.len() as u64);
    for s in seeds {
        parse(s);
    }
    let started = Instant::now();
    let mut runs = 0u64;
    while started.elapsed() < budget() {
        let a = &seeds[rng.below(seeds.len())];
        let b = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, a, b);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parse(&input)));
        assert!(
            caught.is_ok(),
            "{target} panicked on input {:?}",
            String::from_utf8_lossy(&input)
        );
        runs += 1;
    }
    println!("{target}: {runs} inputs, no panic");
}

#[test]
fn sock_diag_dumps() {
    let _host = crate::common::host::shared();
    use tcpscope::sources::sock_diag::wire;
    let seeds = [seed("sock_diag_inet.bin"), seed("sock_diag_inet6.bin")];
    for s in &seeds {
        let mut n = 0;
        wire::parse_buffer(s, 1, &mut |_| n += 1).unwrap();
        assert!(n >= 4, "a real dump of the capture's sockets: {n}");
    }
    fuzz("sock_diag", &seeds, |d| {
        let _ = wire::parse_buffer(d, 1, &mut |_| {});
        let _ = wire::parse_ack(d, 1);
        for at in [0, wire::NLMSG_HDRLEN] {
            if let Some(p) = d.get(at..) {
                let _ = wire::parse_diag_msg(p);
                let _ = wire::parse_tcp_info(p);
            }
        }
    });
}

#[test]
fn proc_net_tables() {
    let _host = crate::common::host::shared();
    use tcpscope::sources::proc_net;
    let seeds = [seed("proc_net_tcp.txt"), seed("proc_net_tcp6.txt")];
    for (s, family) in seeds.iter().zip([Family::Inet, Family::Inet6]) {
        let mut n = 0;
        let _ = proc_net::parse_table(s, family, 100, &mut |_| n += 1);
        assert!(n >= 4, "the capture's sockets: {n}");
    }
    fuzz("proc_net", &seeds, |d| {
        for family in [Family::Inet, Family::Inet6] {
            let _ = proc_net::parse_table(d, family, 100, &mut |_| {});
        }
    });
}

#[test]
fn tracefs_formats_and_ring_pages() {
    let _host = crate::common::host::shared();
    use tcpscope::sources::trace::{decode::Decoder, format::EventFormat, ring};
    let names = [
        "format_inet_sock_set_state.txt",
        "format_tcp_send_reset.txt",
        "format_tcp_receive_reset.txt",
        "format_tcp_destroy_sock.txt",
    ];
    let formats: Vec<Vec<u8>> = names.iter().map(|n| seed(n)).collect();
    fuzz("tracefs format", &formats, |d| {
        let _ = EventFormat::parse(&String::from_utf8_lossy(d));
    });
    let parsed: Vec<EventFormat> = formats
        .iter()
        .map(|f| EventFormat::parse(std::str::from_utf8(f).unwrap()).unwrap())
        .collect();
    let decoder = Decoder::new(&parsed[0], &parsed[1], &parsed[2], &parsed[3]).unwrap();
    let pages = [seed("ring_page_cpu0.bin")];
    let mut decoded = 0;
    ring::parse_page(&pages[0], &mut |rec| {
        decoded += usize::from(decoder.decode(rec.ts, rec.data).is_some());
    });
    assert!(decoded > 0, "the captured page holds events");
    fuzz("ring page", &pages, |d| {
        ring::parse_page(d, &mut |rec| {
            let _ = decoder.decode(rec.ts, rec.data);
        });
    });
}

#[test]
fn ebpf_records() {
    let _host = crate::common::host::shared();
    use tcpscope::sources::bpf::record::{RECORD_LEN, decode};
    // A state change and a reset, laid out as the program writes them.
    let mut change = vec![0u8; RECORD_LEN];
    change[24] = 0; // SET_STATE
    change[25] = 5; // FIN_WAIT2
    change[26] = 7; // CLOSE
    change[27] = 1 | 2 | 4;
    change[28..30].copy_from_slice(&2u16.to_ne_bytes());
    change[40..44].copy_from_slice(&[127, 0, 0, 1]);
    let mut reset = change.clone();
    reset[24] = 1;
    reset[28..30].copy_from_slice(&10u16.to_ne_bytes());
    fuzz("ebpf record", &[change, reset], |d| {
        let _ = decode(d);
    });
}

#[test]
fn scenario_files_and_calls() {
    let _host = crate::common::host::shared();
    use tcpscope::scenario::{format, script};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/scenarios");
    let mut files: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| std::fs::read(e.path()).unwrap())
        .collect();
    files.sort();
    fuzz("scenario file", &files, |d| {
        let _ = format::parse("fuzz.toml", &String::from_utf8_lossy(d));
    });
    // Every call line of every built-in scenario.
    let calls: Vec<Vec<u8>> = files
        .iter()
        .flat_map(|f| {
            let text = String::from_utf8_lossy(f).to_string();
            text.lines()
                .flat_map(|l| l.split('"').skip(1).step_by(2).map(str::to_string))
                .filter(|c| script::parse(c).is_ok())
                .map(String::into_bytes)
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(calls.len() > 20, "{} calls found", calls.len());
    fuzz("call", &calls, |d| {
        let _ = script::parse(&String::from_utf8_lossy(d));
    });
}

#[test]
fn command_lines() {
    let _host = crate::common::host::shared();
    use clap::Parser;
    use tcpscope::cli::args::Cli;
    let vectors: Vec<Vec<u8>> = [
        "list --state time-wait --port 8080 --json",
        "watch --json --events bpf --interval 200 --duration 3 --netns x",
        "kill --sport 40000 --state established --yes",
        "shutdown --pid 1 --dport 443",
        "can-bind 8080 --addr :: --reuseaddr --no-listen --json",
        "lab run --all --json",
        "--netns blue --interval 500 --no-owners",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    fuzz("command line", &vectors, |d| {
        let text = String::from_utf8_lossy(d);
        let args = std::iter::once("tcpscope").chain(text.split(' '));
        let _ = Cli::try_parse_from(args);
    });
}
