//! One search to the first solution: start the devices on a job, wait for a verified seal with
//! a progress line every few seconds, give up after a time limit or when every device failed.

use std::time::{Duration, Instant};

use tracing::info;

use super::hashrate::format_rate;
use super::pool::{DeviceSnapshot, Pool, Solution, Verdict};
use super::{Backend, WorkerSpec};
use crate::pow::hotloop::HotLoop;

/// How often a running search logs its progress.
pub const PROGRESS_INTERVAL: Duration = Duration::from_secs(10);

/// A search's result.
#[derive(Clone, Debug)]
pub struct Found {
    pub solution: Solution,
    /// Positions searched by every device until the solution.
    pub hashes: u64,
    pub elapsed: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("no solution found within {} s", .0.as_secs_f64())]
    Timeout(Duration),
    #[error("every device failed (see the log above); nothing is searching")]
    AllDevicesFailed,
}

/// Searches `hot` from `start_position` on the devices of `specs` until a seal verifies, for at
/// most `timeout`.
pub fn search_until_solved(
    specs: Vec<WorkerSpec>,
    hot: HotLoop,
    start_position: u64,
    timeout: Option<Duration>,
) -> Result<Found, SearchError> {
    let pool = Pool::start(specs);
    let verdicts = pool.verdicts();
    let started = Instant::now();
    let deadline = timeout.and_then(|t| started.checked_add(t));
    let job = pool.set_job(hot, start_position);
    let mut last_report = Instant::now();
    loop {
        if last_report.elapsed() >= PROGRESS_INTERVAL {
            let (hashes, rates) = progress(&pool.snapshot());
            info!(hashes, rates = %rates, "searching ({:.0} s)", started.elapsed().as_secs_f64());
            last_report = Instant::now();
        }
        if let Some(verdict) = verdicts.recv_timeout(Duration::from_millis(100)) {
            if let Verdict::Solution(solution) = verdict {
                if solution.job == job {
                    let elapsed = started.elapsed();
                    pool.shutdown();
                    return Ok(Found { solution, hashes: pool.total_hashes(), elapsed });
                }
            }
            continue;
        }
        if !pool.any_alive() {
            return Err(SearchError::AllDevicesFailed);
        }
        if let (Some(deadline), Some(timeout)) = (deadline, timeout) {
            if Instant::now() >= deadline {
                return Err(SearchError::Timeout(timeout));
            }
        }
    }
}

/// Total positions searched, and the 10-second rate: in all, then per device where more than
/// one searches (`2.63 G/s: cpu 500/s, cuda:0 1.31 G/s`), CPU threads summed under `cpu`.
pub fn progress(devices: &[DeviceSnapshot]) -> (u64, String) {
    let mut by_device: Vec<(String, f64)> = Vec::new();
    for device in devices {
        let label = if device.backend == Backend::Cpu { "cpu".to_string() } else { device.tag.clone() };
        match by_device.iter_mut().find(|(l, _)| *l == label) {
            Some(entry) => entry.1 += device.rate_10s,
            None => by_device.push((label, device.rate_10s)),
        }
    }
    let total: u64 = devices.iter().map(|d| d.hashes).sum();
    let all: f64 = by_device.iter().map(|(_, rate)| rate).sum();
    let mut text = format!("{}/s", format_rate(all));
    if by_device.len() > 1 {
        let each: Vec<String> = by_device.iter().map(|(label, rate)| format!("{label} {}/s", format_rate(*rate))).collect();
        text += &format!(": {}", each.join(", "));
    }
    (total, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solver::pool::DeviceState;

    fn device(tag: &str, backend: Backend, hashes: u64, rate_10s: f64) -> DeviceSnapshot {
        DeviceSnapshot {
            tag: tag.into(),
            name: tag.into(),
            backend,
            state: DeviceState::Running,
            idle: false,
            hashes,
            rate_10s,
            rate_60s: 0.0,
            rate_15m: 0.0,
            compute_errors: 0,
            solutions: 0,
            stale: 0,
        }
    }

    #[test]
    fn progress_reports_the_rate_in_all_and_per_device() {
        let devices = [
            device("cpu:0", Backend::Cpu, 600, 300.0),
            device("cpu:1", Backend::Cpu, 500, 200.0),
            device("cuda:0", Backend::Cuda, 4_000_000_000, 2.0e9),
            device("cuda:1", Backend::Cuda, 2_000_000, 1.0e6),
        ];
        assert_eq!(progress(&devices), (4_002_001_100, "2.00 G/s: cpu 500/s, cuda:0 2.00 G/s, cuda:1 1.00 M/s".to_string()));
        assert_eq!(progress(&devices[..2]), (1100, "500/s".to_string()));
    }
}
