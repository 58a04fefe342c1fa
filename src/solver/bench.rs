//! The benchmark harness: devices on a job no one can solve, measured after their self-tests
//! and a first full batch, in seals per second.

use std::time::{Duration, Instant};

use super::pool::{DeviceState, Pool};
use super::{Backend, WorkerSpec};
use crate::pow::hotloop::HotLoop;
use crate::pow::{ByteOrder, Challenge, Scheme, Target};

/// One measured device (CPU threads are summed into one result).
#[derive(serde::Serialize, Clone, Debug)]
pub struct BenchResult {
    pub backend: Backend,
    pub device: String,
    pub threads: usize,
    pub scheme: Scheme,
    pub seals_per_second: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("every device failed (see the log above)")]
    AllDevicesFailed,
}

/// A job no device will ever solve (difficulty 2^64 - 1), so it measures raw hashing.
pub fn bench_job(scheme: Scheme) -> HotLoop {
    let (block, key): ([u8; 32], [u8; 32]) = (rand::random(), rand::random());
    let challenge = match scheme {
        Scheme::PowRegister => Challenge::pow_register(1, &block, &key, &rand::random()).expect("netuid 1 is not root"),
        Scheme::Legacy | Scheme::Faucet => Challenge::legacy(&block, &key),
    };
    HotLoop::new(challenge, Target::from_difficulty(u64::MAX).expect("non-zero"), ByteOrder::Little)
}

/// How long a benchmark waits for devices to pass their self-tests and finish a first batch.
pub const WARM_UP_LIMIT: Duration = Duration::from_secs(300);

/// Runs the specs on one job for `duration` after every device passed its self-test and
/// finished a first batch (drivers may compile lazily on the first full-size launch), and
/// reports seals per second per device.
pub fn measure(specs: Vec<WorkerSpec>, scheme: Scheme, duration: Duration) -> Result<Vec<BenchResult>, BenchError> {
    let pool = Pool::start(specs);
    pool.set_job(bench_job(scheme), rand::random());
    let hashes = |pool: &Pool| -> Vec<u64> { pool.snapshot().iter().map(|d| d.hashes).collect() };
    let settle = Instant::now();
    let wait = |ready: &dyn Fn() -> bool| {
        while !ready() && settle.elapsed() < WARM_UP_LIMIT {
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait(&|| pool.all_settled());
    let settled = hashes(&pool);
    wait(&|| pool.snapshot().iter().zip(&settled).all(|(d, &h)| d.state.is_finished() || d.hashes > h));
    let before = hashes(&pool);
    let started = Instant::now();
    std::thread::sleep(duration);
    let after = pool.snapshot();
    let elapsed = started.elapsed().as_secs_f64();
    pool.shutdown();
    let mut results: Vec<BenchResult> = Vec::new();
    for (device, b) in after.iter().zip(before) {
        if device.state != DeviceState::Running {
            continue;
        }
        let rate = device.hashes.saturating_sub(b) as f64 / elapsed;
        match results.iter_mut().find(|r| r.backend == Backend::Cpu && device.backend == Backend::Cpu) {
            Some(cpu) => {
                cpu.seals_per_second += rate;
                cpu.threads += 1;
            }
            None => results.push(BenchResult {
                backend: device.backend,
                device: device.name.clone(),
                threads: 1,
                scheme,
                seals_per_second: rate,
            }),
        }
    }
    if results.is_empty() {
        return Err(BenchError::AllDevicesFailed);
    }
    Ok(results)
}
