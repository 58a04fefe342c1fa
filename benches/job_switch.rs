//! The pool's part of a job switch: from `Pool::set_job` to every device searching the new job
//! (`Pool::devices_on_job`), on CPU devices, for each scheme and thread count (issue 7, part 7:
//! goal under 50 ms from the new-head notification; the daemon's own `switch_ms`, which adds the
//! chain reads, is measured by benches/daemon.rs).
//!
//! `cargo bench --bench job_switch` (optional arguments: rounds, thread counts, e.g. `-- 200 1,2`).
//! Each round waits a random 0-20 ms first, so the switch lands anywhere in a device's batch.

use std::time::{Duration, Instant};

use regsolver::pow::Scheme;
use regsolver::solver::bench::bench_job;
use regsolver::solver::cpu;
use regsolver::solver::pool::{DeviceState, Pool};
use regsolver::solver::selection::{self, DeviceSelection};

/// Longest wait for one switch before the round counts as failed (the bench never hangs).
const SWITCH_LIMIT: Duration = Duration::from_secs(10);
/// How often the main thread looks (it must not steal a core from the devices by spinning).
const POLL: Duration = Duration::from_micros(100);

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let rounds: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(200);
    let thread_counts: Vec<usize> =
        args.get(1).map(|a| a.split(',').filter_map(|t| t.parse().ok()).collect()).unwrap_or_else(|| vec![1, cpu::cores()]);
    println!("{:<13} {:>7} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9}", "scheme", "threads", "rounds", "min ms", "median", "p90", "p99", "max ms");
    for scheme in [Scheme::PowRegister, Scheme::Legacy] {
        for &threads in &thread_counts {
            let selection = DeviceSelection { threads: Some(threads), ..Default::default() };
            let specs = selection::specs(&selection).expect("CPU devices");
            let pool = Pool::start(specs);
            let first = pool.set_job(bench_job(scheme), rand::random());
            let settled = Instant::now();
            while pool.devices_on_job(first) < threads && settled.elapsed() < SWITCH_LIMIT * 3 {
                std::thread::sleep(Duration::from_millis(5));
            }
            let running = pool.snapshot().iter().filter(|d| d.state == DeviceState::Running).count();
            assert_eq!(running, threads, "every CPU device runs");
            let mut switch_ms = Vec::with_capacity(rounds);
            for _ in 0..rounds {
                std::thread::sleep(Duration::from_micros(rand::random_range(0..20_000)));
                let hot = bench_job(scheme);
                let started = Instant::now();
                let job = pool.set_job(hot, rand::random());
                while pool.devices_on_job(job) < running && started.elapsed() < SWITCH_LIMIT {
                    std::thread::sleep(POLL);
                }
                assert!(pool.devices_on_job(job) == running, "a device did not take the job within {} s", SWITCH_LIMIT.as_secs());
                switch_ms.push(started.elapsed().as_secs_f64() * 1e3);
            }
            pool.shutdown();
            pool.join(Duration::from_secs(5));
            switch_ms.sort_by(f64::total_cmp);
            println!(
                "{:<13} {:>7} {:>7} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3}",
                scheme.to_string(),
                threads,
                rounds,
                switch_ms[0],
                percentile(&switch_ms, 0.5),
                percentile(&switch_ms, 0.9),
                percentile(&switch_ms, 0.99),
                switch_ms[switch_ms.len() - 1]
            );
        }
    }
}
