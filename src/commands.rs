//! The commands: `solve` (one offline search), `bench` (hashrate per device), `devices`.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;
use tracing::info;

use crate::cli::{BenchArgs, BenchBackend, Cli, Command, SolveArgs};
use crate::devices::{backend_specs, listing, listing_text, requested_backends, specs_with_fallback};
use crate::pow::hotloop::HotLoop;
use crate::pow::ss58::{parse_account, parse_hex};
use crate::pow::{ByteOrder, Challenge, Scheme, Target, FAUCET_DIFFICULTY};
use crate::solver::pool::{verify, Pool, Solution, WorkerSpec};
use crate::solver::{Backend, DeviceError};

/// Errors with their own exit codes.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// Malformed or inconsistent input (exit 2, like clap's own usage errors).
    #[error("{0}")]
    Usage(String),
    /// `solve --timeout` ran out (exit 3).
    #[error("no solution found within {0} s")]
    Timeout(f64),
}

/// Exit code for an error: 2 for bad input, 3 for a search that timed out, 1 otherwise.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    match err.downcast_ref::<CommandError>() {
        Some(CommandError::Usage(_)) => 2,
        Some(CommandError::Timeout(_)) => 3,
        None => 1,
    }
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Solve(args) => solve(args),
        Command::Bench(args) => bench(args),
        Command::Devices(args) => {
            let listing = listing();
            if args.json {
                println!("{listing}");
            } else {
                print!("{}", listing_text(&listing));
            }
            Ok(())
        }
    }
}

/// Device errors that are the user's input (a bad selection, a SIMD path this CPU lacks) are
/// usage errors; the rest (no driver, a failing device) are run-time errors.
fn device_usage(err: DeviceError) -> anyhow::Error {
    match err {
        DeviceError::Selection(_) | DeviceError::Unsupported(_) => usage(err.to_string()),
        other => other.into(),
    }
}

fn usage(text: impl Into<String>) -> anyhow::Error {
    CommandError::Usage(text.into()).into()
}

fn account(flag: &str, value: &Option<String>, scheme: Scheme) -> anyhow::Result<[u8; 32]> {
    let text = value.as_deref().ok_or_else(|| usage(format!("--scheme {} needs {flag}", scheme.name())))?;
    parse_account(text).map_err(|e| usage(format!("{flag}: {e}")))
}

fn refuse(given: bool, flag: &str, scheme: Scheme, why: &str) -> anyhow::Result<()> {
    if given {
        return Err(usage(format!("--scheme {} does not take {flag}: {why}", scheme.name())));
    }
    Ok(())
}

/// The job `solve` searches, from its flags.
fn solve_job(args: &SolveArgs) -> anyhow::Result<HotLoop> {
    let block_hash = parse_hex::<32>(&args.block_hash).map_err(|e| usage(format!("--block-hash: {e}")))?;
    let scheme = args.scheme;
    let needs_difficulty = || args.difficulty.ok_or_else(|| usage(format!("--scheme {} needs --difficulty", scheme.name())));
    let (challenge, difficulty) = match scheme {
        Scheme::PowRegister => {
            let netuid = args.netuid.ok_or_else(|| usage("--scheme pow-register needs --netuid"))?;
            let (hotkey, coldkey) = (account("--hotkey", &args.hotkey, scheme)?, account("--coldkey", &args.coldkey, scheme)?);
            let challenge = Challenge::pow_register(netuid, &block_hash, &hotkey, &coldkey).map_err(|e| usage(e.to_string()))?;
            (challenge, needs_difficulty()?)
        }
        Scheme::Legacy => {
            refuse(args.coldkey.is_some(), "--coldkey", scheme, "the legacy seal binds only the hotkey")?;
            (Challenge::legacy(&block_hash, &account("--hotkey", &args.hotkey, scheme)?), needs_difficulty()?)
        }
        Scheme::Faucet => {
            refuse(args.hotkey.is_some(), "--hotkey", scheme, "the faucet seal binds only the coldkey")?;
            (Challenge::legacy(&block_hash, &account("--coldkey", &args.coldkey, scheme)?), args.difficulty.unwrap_or(FAUCET_DIFFICULTY))
        }
    };
    let target = Target::from_difficulty(difficulty).map_err(|e| usage(format!("--difficulty: {e}")))?;
    Ok(HotLoop::new(challenge, target, args.byte_order.unwrap_or(ByteOrder::Little)))
}

#[derive(Serialize)]
struct SolveReport {
    scheme: Scheme,
    nonce: u64,
    seal: String,
    difficulty: u64,
    byte_order: ByteOrder,
    hashes: u64,
    seconds: f64,
    device: String,
}

fn solve(args: SolveArgs) -> anyhow::Result<()> {
    let hot = solve_job(&args)?;
    if let Some(t) = args.timeout {
        if !(t.is_finite() && t > 0.0) {
            return Err(usage("--timeout must be a positive number of seconds"));
        }
    }
    let difficulty = hot.target.difficulty;
    let order = hot.order;
    let start = hot.layout.position_of(args.start_nonce.unwrap_or_else(rand::random));
    let specs = specs_with_fallback(&requested_backends(args.backend.clone(), &args.devices), &args.devices).map_err(device_usage)?;
    let mut pool = Pool::start(specs);
    let started = Instant::now();
    pool.set_job(hot, start);
    let solution = wait_for_solution(&pool, started, args.timeout)?;
    let seconds = started.elapsed().as_secs_f64();
    pool.stop();
    let report = SolveReport {
        scheme: args.scheme,
        nonce: solution.nonce,
        seal: hex::encode(solution.seal),
        difficulty,
        byte_order: order,
        hashes: pool.total_hashes(),
        seconds,
        device: solution.device,
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "nonce {}\nseal  0x{}\nfound by {} after {} hashes in {:.3} s",
            report.nonce, report.seal, report.device, report.hashes, report.seconds
        );
    }
    Ok(())
}

/// How often a running search logs its progress.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(10);

fn wait_for_solution(pool: &Pool, started: Instant, timeout: Option<f64>) -> anyhow::Result<Solution> {
    let mut last_report = (Instant::now(), pool.hashes_by_device());
    loop {
        if last_report.0.elapsed() >= PROGRESS_INTERVAL {
            let now = pool.hashes_by_device();
            let (hashes, rates) = progress(&last_report.1, &now, last_report.0.elapsed().as_secs_f64());
            info!(hashes, rates = %rates, "searching ({:.0} s)", started.elapsed().as_secs_f64());
            last_report = (Instant::now(), now);
        }
        if let Some(candidate) = pool.next_candidate(Duration::from_millis(100)) {
            if let Some(solution) = verify(&candidate) {
                return Ok(solution);
            }
            continue;
        }
        if !pool.any_alive() {
            anyhow::bail!("every device failed (see the log above); nothing is searching");
        }
        if let Some(t) = timeout {
            if started.elapsed().as_secs_f64() > t {
                return Err(CommandError::Timeout(t).into());
            }
        }
    }
}

/// Total positions searched, and the rate since the last report: in all, then per device
/// (`2.63 G/s: cuda:0 1.31 G/s, cuda:1 1.32 G/s`) where more than one device searches.
fn progress(before: &[(String, u64)], now: &[(String, u64)], seconds: f64) -> (u64, String) {
    let rate = |label: &str, hashes: u64| {
        let previous = before.iter().find(|(l, _)| l == label).map_or(0, |(_, h)| *h);
        hashes.saturating_sub(previous) as f64 / seconds.max(1e-9)
    };
    let total: u64 = now.iter().map(|(_, h)| h).sum();
    let all: f64 = now.iter().map(|(label, hashes)| rate(label, *hashes)).sum();
    let mut text = format!("{}/s", format_rate(all));
    if now.len() > 1 {
        let each: Vec<String> = now.iter().map(|(label, hashes)| format!("{label} {}/s", format_rate(rate(label, *hashes)))).collect();
        text += &format!(": {}", each.join(", "));
    }
    (total, text)
}

#[derive(Serialize, Clone, Debug)]
pub struct BenchResult {
    pub backend: Backend,
    pub device: String,
    pub threads: usize,
    pub scheme: Scheme,
    pub seals_per_second: f64,
}

/// A job no device will ever solve (difficulty 2^64 - 1), so it measures raw hashing.
fn bench_job(scheme: Scheme) -> HotLoop {
    let (block, key): ([u8; 32], [u8; 32]) = (rand::random(), rand::random());
    let challenge = match scheme {
        Scheme::PowRegister => Challenge::pow_register(1, &block, &key, &rand::random()).expect("netuid 1"),
        Scheme::Legacy | Scheme::Faucet => Challenge::legacy(&block, &key),
    };
    HotLoop::new(challenge, Target::from_difficulty(u64::MAX).expect("non-zero"), ByteOrder::Little)
}

/// How long `bench` waits for devices to pass their self-tests and finish a first batch.
const WARM_UP_LIMIT: Duration = Duration::from_secs(300);

/// Runs the specs on one job for `seconds` after every device passed its self-test, and reports
/// seals per second per device (CPU threads are summed into one result).
pub fn measure(specs: Vec<WorkerSpec>, scheme: Scheme, seconds: f64) -> anyhow::Result<Vec<BenchResult>> {
    let mut pool = Pool::start(specs);
    pool.set_job(bench_job(scheme), rand::random());
    // Warm-up: self-tests, then one whole batch on every device (drivers may compile lazily
    // on the first full-size launch), all outside the measured window.
    let hashes = |pool: &Pool| -> Vec<u64> { pool.stats.iter().map(|s| s.hashes.load(Ordering::Relaxed)).collect() };
    let settle = Instant::now();
    let warm = |pool: &Pool, start: &[u64]| {
        pool.stats.iter().zip(start).all(|(s, &h)| s.failed.load(Ordering::Relaxed) || s.hashes.load(Ordering::Relaxed) > h)
    };
    while !pool.all_settled() && settle.elapsed() < WARM_UP_LIMIT {
        std::thread::sleep(Duration::from_millis(20));
    }
    let settled = hashes(&pool);
    while !warm(&pool, &settled) && settle.elapsed() < WARM_UP_LIMIT {
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = hashes(&pool);
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    let after = hashes(&pool);
    let elapsed = started.elapsed().as_secs_f64();
    pool.stop();
    let mut results: Vec<BenchResult> = Vec::new();
    for ((stat, b), a) in pool.stats.iter().zip(before).zip(after) {
        if stat.failed.load(Ordering::Relaxed) {
            continue;
        }
        let rate = (a - b) as f64 / elapsed;
        match results.iter_mut().find(|r| r.backend == Backend::Cpu && stat.backend == Backend::Cpu) {
            Some(cpu) => {
                cpu.seals_per_second += rate;
                cpu.threads += 1;
            }
            None => {
                results.push(BenchResult { backend: stat.backend, device: stat.name.clone(), threads: 1, scheme, seals_per_second: rate })
            }
        }
    }
    if results.is_empty() {
        anyhow::bail!("every device failed (see the log above)");
    }
    Ok(results)
}

fn bench(args: BenchArgs) -> anyhow::Result<()> {
    if !(args.seconds.is_finite() && args.seconds > 0.0) {
        return Err(usage("--seconds must be a positive number"));
    }
    let asked: Vec<Backend> = match args.backend {
        BenchBackend::Cpu => vec![Backend::Cpu],
        BenchBackend::Cuda => vec![Backend::Cuda],
        BenchBackend::Opencl => vec![Backend::Opencl],
        BenchBackend::All => vec![Backend::Cpu, Backend::Cuda, Backend::Opencl],
    };
    let backends = requested_backends(asked, &args.devices);
    let mut results = Vec::new();
    let mut unavailable = Vec::new();
    for backend in backends {
        // Each backend is measured alone.
        let specs = match backend_specs(backend, &args.devices, &[]) {
            Ok(specs) => specs,
            Err(err @ DeviceError::Selection(_)) => return Err(device_usage(err)),
            // `--backend all` measures what this machine has and says what it lacks.
            Err(err) if args.backend == BenchBackend::All => {
                info!(backend = %backend, "not measured: {err}");
                unavailable.push(json!({ "backend": backend, "reason": err.to_string() }));
                continue;
            }
            Err(err) => return Err(device_usage(err).context(format!("{backend} backend"))),
        };
        results.extend(measure(specs, args.scheme, args.seconds)?);
    }
    if args.json {
        println!("{}", json!({ "results": results, "unavailable": unavailable }));
    } else {
        println!("{:<8} {:<40} {:>8} {:<13} {:>16}", "backend", "device", "threads", "scheme", "seals/s");
        for r in &results {
            println!(
                "{:<8} {:<40} {:>8} {:<13} {:>16}",
                r.backend.to_string(),
                r.device,
                r.threads,
                r.scheme.name(),
                format_rate(r.seals_per_second)
            );
        }
        for u in &unavailable {
            println!("{:<8} unavailable: {}", u["backend"].as_str().unwrap_or(""), u["reason"].as_str().unwrap_or(""));
        }
    }
    Ok(())
}

fn format_rate(rate: f64) -> String {
    match rate {
        r if r >= 1e9 => format!("{:.2} G", r / 1e9),
        r if r >= 1e6 => format!("{:.2} M", r / 1e6),
        r if r >= 1e3 => format!("{:.2} k", r / 1e3),
        r => format!("{r:.0}"),
    }
}

#[cfg(test)]
mod tests {
    use super::progress;

    #[test]
    fn progress_reports_the_rate_in_all_and_per_device() {
        let entry = |label: &str, hashes: u64| (label.to_string(), hashes);
        let before = [entry("cpu", 100), entry("cuda:0", 0)];
        let now = [entry("cpu", 1_100), entry("cuda:0", 4_000_000_000), entry("cuda:1", 2_000_000)];
        assert_eq!(progress(&before, &now, 2.0), (4_002_001_100, "2.00 G/s: cpu 500/s, cuda:0 2.00 G/s, cuda:1 1.00 M/s".to_string()));
        assert_eq!(progress(&[entry("cpu", 0)], &[entry("cpu", 30_000_000)], 10.0), (30_000_000, "3.00 M/s".to_string()));
    }
}
