//! The daemon's figures (issue 7, part 7), with the real binary against a real runtime under
//! chopsticks (spec 293, manual blocks):
//! 1. hashrate: `regsolver bench --scheme legacy --threads N --seconds S --json` against the daemon
//!    mining a difficulty no device meets (2^52) for S seconds with no new block, read from its
//!    `hashrate` events (`hashes` is monotonic: the rate is a difference over the span). The bench
//!    runs before the daemon and again after it, and the daemon is compared with both and their
//!    mean: on a shared machine the load drifts between one measurement and the next;
//! 2. job switch, end to end: the daemon's `switch_ms` (new-head notification -> chain state read
//!    -> job set) for blocks built every few seconds while it mines (chopsticks builds each
//!    block on the same cores: the load is reported with the figure);
//! 3. the light client's resident memory: `regsolver status --network finney` (the bundled
//!    smoldot with the finney spec) sampled from /proc until it gives up for lack of peers.
//!
//! `cargo bench --bench daemon` (needs chopsticks: `REGSOLVER_CHOPSTICKS`, see
//! tests/it/support/chopsticks.rs). Optional arguments: seconds, threads, blocks (`-- 40 2 20`,
//! the defaults; the test suite's pass defaults to 15 s and 10 blocks).

// The integration tests' helpers (tests/it/support/), of which this bench uses a part.
#[allow(dead_code)]
#[path = "../tests/it/support/chopsticks.rs"]
mod chopsticks;
#[allow(dead_code)]
#[path = "../tests/it/support/daemon_run.rs"]
mod daemon_run;
#[allow(dead_code)]
#[path = "../tests/it/support/process.rs"]
mod process;
#[allow(dead_code)]
#[path = "../tests/it/support/test_wallet.rs"]
mod test_wallet;

use std::time::{Duration, Instant};

use chopsticks::{BlockMode, Spec};
use daemon_run::{chain, command, NEVER};
use process::Running;
use serde_json::Value;
use test_wallet::{hotkey_public, wallet};

/// Seconds between blocks while `switch_ms` is collected.
const BLOCK_GAP: Duration = Duration::from_secs(2);
/// How long the light client is given to find peers (it has none offline).
const LIGHT_CLIENT_WAIT_S: u64 = 45;

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// `regsolver bench` on the same CPU threads and scheme as the daemon (legacy, spec 293).
fn bench_rate(threads: usize, seconds: u64) -> f64 {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_regsolver"))
        .args([
            "bench",
            "--backend",
            "cpu",
            "--scheme",
            "legacy",
            "--json",
            "--threads",
            &threads.to_string(),
            "--seconds",
            &seconds.to_string(),
        ])
        .output()
        .expect("run regsolver bench");
    let text = String::from_utf8_lossy(&output.stdout);
    let report: Value = text.lines().rev().find_map(|l| serde_json::from_str(l).ok()).expect("bench JSON");
    report["results"].as_array().expect("results").iter().filter_map(|r| r["seals_per_second"].as_f64()).sum()
}

/// Resident memory (KiB) of a process: now and at its peak.
fn rss_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| status.lines().find(|l| l.starts_with(name))?.split_whitespace().nth(1)?.parse().ok();
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let number = |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    // `cargo bench` passes --bench and measures 40 s windows over 20 blocks; the test suite's
    // one pass (`cargo test --all-targets`, no --bench) takes 15 s over 10, its time being short.
    let full = std::env::args().any(|a| a == "--bench");
    let (seconds, threads, blocks) =
        (number(0, if full { 40 } else { 15 }), number(1, 2) as usize, number(2, if full { 20 } else { 10 }) as usize);
    let dir = tempfile::tempdir().expect("temp dir");
    wallet(dir.path(), 1);

    // 1. The bench first, alone on the machine (and again at the end).
    let bench_before = bench_rate(threads, seconds);
    println!(
        "regsolver bench --scheme legacy --threads {threads} --seconds {seconds}, before the daemon: {:.3} M seals/s",
        bench_before / 1e6
    );

    let node = chain(Spec::S293, BlockMode::Manual).await;
    node.prepare_pow_subnet(1, NEVER, &[hotkey_public(0)]).await.expect("prepare subnet 1");
    node.new_block().await.expect("a block with the subnet prepared");
    let args = ["--subnet", "1", "--wallet.hotkey", "h0", "--threads", &threads.to_string()];
    let mut daemon = Running::start(command(&[], &node.url(), dir.path(), &args, &[]));
    daemon.next_event("job").await;
    // The same warm-up the bench allows itself (self-tests, first batches), then S seconds.
    let warm = daemon.next_event("hashrate").await;
    let measured = Instant::now();
    let mut last = warm.clone();
    while measured.elapsed() < Duration::from_secs(seconds) {
        last = daemon.next_event("hashrate").await;
    }
    let span_s = last["elapsed_s"].as_f64().unwrap_or(0.0) - warm["elapsed_s"].as_f64().unwrap_or(0.0);
    let hashes = last["hashes"].as_u64().unwrap_or(0).saturating_sub(warm["hashes"].as_u64().unwrap_or(0));
    let daemon_rate = hashes as f64 / span_s;
    println!("daemon, {threads} threads, {span_s:.1} s on one job: {:.3} M seals/s", daemon_rate / 1e6);

    // 2. Job switches on new blocks.
    for _ in 0..blocks {
        tokio::time::sleep(BLOCK_GAP).await;
        node.new_block().await.expect("dev_newBlock");
    }
    tokio::time::sleep(BLOCK_GAP).await;
    let run = daemon.kill().await;
    let mut switch_ms: Vec<f64> = run.events("job").iter().skip(1).filter_map(|e| e["switch_ms"].as_f64()).collect();
    assert!(!switch_ms.is_empty(), "no job events:\n{run}");
    let count = switch_ms.len();
    let max = switch_ms.iter().copied().fold(0.0, f64::max);
    let min = switch_ms.iter().copied().fold(f64::MAX, f64::min);
    println!(
        "daemon switch_ms over {count} new blocks (one every {} s, chopsticks building them on the same cores): min {min:.1}, median {:.1}, max {max:.1}",
        BLOCK_GAP.as_secs(),
        median(&mut switch_ms)
    );
    drop(node);
    let bench_after = bench_rate(threads, seconds);
    println!(
        "regsolver bench --scheme legacy --threads {threads} --seconds {seconds}, after the daemon: {:.3} M seals/s",
        bench_after / 1e6
    );
    let percent = |bench: f64| daemon_rate / bench * 100.0;
    println!(
        "daemon / bench: {:.1} % of the mean ({:.1} % of the bench before, {:.1} % of the one after)",
        percent((bench_before + bench_after) / 2.0),
        percent(bench_before),
        percent(bench_after)
    );

    // 3. The light client's memory with the finney spec loaded (no peers here).
    let mut status = std::process::Command::new(env!("CARGO_BIN_EXE_regsolver"))
        .args([
            "status",
            "--subnet",
            "1",
            "--network",
            "finney",
            "--threads",
            "1",
            "--connect-timeout",
            &LIGHT_CLIENT_WAIT_S.to_string(),
            "--wallet.path",
        ])
        .arg(dir.path())
        .args(["--wallet.name", "w", "--wallet.hotkey", "h0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start regsolver status");
    let pid = status.id();
    let started = Instant::now();
    let mut samples: Vec<(f64, u64)> = Vec::new();
    let mut peak = 0;
    while status.try_wait().ok().flatten().is_none() && started.elapsed() < Duration::from_secs(LIGHT_CLIENT_WAIT_S + 30) {
        if let Some((now, hwm)) = rss_kib(pid) {
            samples.push((started.elapsed().as_secs_f64(), now));
            peak = peak.max(hwm);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let _ = status.kill();
    let output = status.wait_with_output().expect("status output");
    let code = output.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last_line = stderr.lines().last().unwrap_or_default();
    let at = |t: f64| samples.iter().find(|(s, _)| *s >= t).map_or(0, |(_, kib)| *kib);
    println!(
        "light client (finney spec, no peers): RSS {} MiB at 5 s, {} MiB at 30 s, {} MiB last sample, peak {} MiB; exit {code}: {last_line}",
        at(5.0) / 1024,
        at(30.0) / 1024,
        samples.last().map_or(0, |(_, kib)| *kib) / 1024,
        peak / 1024
    );
}
