//! `tcpscope list` against `ss`, in one run, on the same populated namespace:
//!
//!   tcpscope list --no-owners   vs  ss -tan
//!   tcpscope list               vs  ss -tanp
//!
//! at 10k and 100k established loopback pairs (set TCPSCOPE_BENCH_PAIRS=10000,100000 to
//! change). Every command runs through `ip netns exec`, output to /dev/null, interleaved, and
//! the median of the runs is reported with the ratio tcpscope/ss. Needs root.
//!
//!   cargo bench --bench list_vs_ss

mod support;

use std::process::Command;
use std::time::Instant;

const RUNS: usize = 7;

use support::{build_populate, median, run_ok, start_populate, time_in};

fn main() {
    if !rustix::process::geteuid().is_root() {
        println!("skipped list_vs_ss: needs root (network namespaces)");
        return;
    }
    let sizes: Vec<usize> = std::env::var("TCPSCOPE_BENCH_PAIRS")
        .unwrap_or_else(|_| "10000,100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let tcpscope = env!("CARGO_BIN_EXE_tcpscope");
    let populate = build_populate();
    println!(
        "{:>8} {:<28} {:>10} {:>10} {:>7}",
        "pairs", "tcpscope vs ss", "tcpscope", "ss", "ratio"
    );
    for pairs in sizes {
        let ns = format!("tcpscope-bench-{}", std::process::id());
        run_ok(Command::new("ip").args(["netns", "add", &ns]));
        run_ok(Command::new("ip").args(["-n", &ns, "link", "set", "lo", "up"]));
        let started = Instant::now();
        let holder = start_populate(&populate, &ns, pairs, 10);
        eprintln!("populated {pairs} pairs in {:.1?}", started.elapsed());

        let cases: [(&str, Vec<&str>, Vec<&str>); 2] = [
            (
                "list --no-owners / ss -tan",
                vec![tcpscope, "list", "--no-owners"],
                vec!["ss", "-tan"],
            ),
            (
                "list / ss -tanp",
                vec![tcpscope, "list"],
                vec!["ss", "-tanp"],
            ),
        ];
        for (name, ours, theirs) in cases {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for _ in 0..RUNS {
                a.push(time_in(&ns, &ours));
                b.push(time_in(&ns, &theirs));
            }
            let (a, b) = (median(a), median(b));
            println!(
                "{pairs:>8} {name:<28} {:>8.1}ms {:>8.1}ms {:>7.3}",
                a.as_secs_f64() * 1e3,
                b.as_secs_f64() * 1e3,
                a.as_secs_f64() / b.as_secs_f64()
            );
        }
        drop(holder);
        let _ = Command::new("ip").args(["netns", "del", &ns]).status();
    }
}
