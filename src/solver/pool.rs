//! Worker threads, one per device. Jobs go out through a shared slot that workers check
//! between batches (an atomic sequence number, so no lock on the hot path); candidates come
//! back over a channel and are re-verified on the CPU before they become solutions.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use tracing::{error, info, warn};

use super::{search, selftest, Backend, Device, DeviceError};
use crate::pow::hotloop::HotLoop;
use crate::pow::Seal;

/// What a worker thread builds its device from, on its own thread (device contexts are
/// thread-affine on some drivers).
pub struct WorkerSpec {
    pub backend: Backend,
    /// Human name of the device, for reports (`cpu (avx512)`, `NVIDIA H100`).
    pub name: String,
    pub build: Box<dyn FnOnce() -> Result<Box<dyn Device>, DeviceError> + Send>,
}

/// One job: the hot loop and the shared nonce reservation counter.
pub struct Job {
    pub id: u64,
    pub hot: Arc<HotLoop>,
    /// Next unreserved position; workers take `batch_positions` at a time (wraps at 2^64).
    next_position: AtomicU64,
}

/// A nonce a device reported, not yet verified.
#[derive(Clone)]
pub struct Candidate {
    pub job: Arc<Job>,
    pub nonce: u64,
    pub device: String,
}

/// A candidate the CPU reference accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Solution {
    pub nonce: u64,
    pub seal: Seal,
    pub device: String,
}

/// Live counters of one worker.
pub struct DeviceStats {
    pub backend: Backend,
    pub name: String,
    /// The device's log tag (`cuda:0`), once its worker has built it.
    pub tag: OnceLock<String>,
    /// Positions searched so far.
    pub hashes: AtomicU64,
    /// Set once the device passed its self-test and took work.
    pub running: AtomicBool,
    /// Set when the device failed (build, self-test, or a call) and was dropped.
    pub failed: AtomicBool,
}

struct Shared {
    /// Bumped on every job change and on stop; workers compare it between batches.
    seq: AtomicU64,
    slot: Mutex<Slot>,
    changed: Condvar,
}

#[derive(Default)]
struct Slot {
    job: Option<Arc<Job>>,
    stop: bool,
}

/// The running workers. Dropping it stops and joins them.
pub struct Pool {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    pub stats: Vec<Arc<DeviceStats>>,
    /// Candidates from every worker; the workers hold the senders.
    candidates: Receiver<Candidate>,
    next_job_id: u64,
}

impl Pool {
    pub fn start(specs: Vec<WorkerSpec>) -> Pool {
        let shared = Arc::new(Shared { seq: AtomicU64::new(0), slot: Mutex::new(Slot::default()), changed: Condvar::new() });
        let (tx, rx) = crossbeam_channel::unbounded();
        let mut workers = Vec::new();
        let mut stats = Vec::new();
        for spec in specs {
            let stat = Arc::new(DeviceStats {
                backend: spec.backend,
                name: spec.name.clone(),
                tag: OnceLock::new(),
                hashes: AtomicU64::new(0),
                running: AtomicBool::new(false),
                failed: AtomicBool::new(false),
            });
            stats.push(stat.clone());
            let (shared, tx) = (shared.clone(), tx.clone());
            workers.push(std::thread::spawn(move || worker(spec, shared, stat, tx)));
        }
        Pool { shared, workers, stats, candidates: rx, next_job_id: 0 }
    }

    /// Replaces the current job; workers switch after their current batch.
    pub fn set_job(&mut self, hot: HotLoop, start_position: u64) -> Arc<Job> {
        self.next_job_id += 1;
        let job = Arc::new(Job { id: self.next_job_id, hot: Arc::new(hot), next_position: AtomicU64::new(start_position) });
        let mut slot = self.shared.slot.lock().unwrap_or_else(|p| p.into_inner());
        slot.job = Some(job.clone());
        self.shared.seq.fetch_add(1, Ordering::Release);
        self.shared.changed.notify_all();
        job
    }

    /// Waits up to `timeout` for the next candidate.
    pub fn next_candidate(&self, timeout: Duration) -> Option<Candidate> {
        self.candidates.recv_timeout(timeout).ok()
    }

    /// Whether any device has not failed.
    pub fn any_alive(&self) -> bool {
        self.stats.iter().any(|s| !s.failed.load(Ordering::Relaxed))
    }

    /// Whether every device has either started work or failed.
    pub fn all_settled(&self) -> bool {
        self.stats.iter().all(|s| s.running.load(Ordering::Relaxed) || s.failed.load(Ordering::Relaxed))
    }

    /// Positions searched so far by all devices.
    pub fn total_hashes(&self) -> u64 {
        self.stats.iter().map(|s| s.hashes.load(Ordering::Relaxed)).sum()
    }

    /// Positions searched so far per device, CPU threads summed under `cpu`, in start order.
    pub fn hashes_by_device(&self) -> Vec<(String, u64)> {
        let mut by_device: Vec<(String, u64)> = Vec::new();
        for stat in &self.stats {
            let label = match stat.backend {
                Backend::Cpu => "cpu".to_string(),
                _ => stat.tag.get().cloned().unwrap_or_else(|| stat.name.clone()),
            };
            let hashes = stat.hashes.load(Ordering::Relaxed);
            match by_device.iter_mut().find(|(l, _)| *l == label) {
                Some(entry) => entry.1 += hashes,
                None => by_device.push((label, hashes)),
            }
        }
        by_device
    }

    /// Stops every worker and waits for them.
    pub fn stop(&mut self) {
        {
            let mut slot = self.shared.slot.lock().unwrap_or_else(|p| p.into_inner());
            slot.stop = true;
            self.shared.seq.fetch_add(1, Ordering::Release);
            self.shared.changed.notify_all();
        }
        for handle in self.workers.drain(..) {
            let _ = handle.join();
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Re-verifies a candidate with the CPU reference. A candidate whose seal is not even within
/// the top-64-bit bound is a device compute error and is logged as one.
pub fn verify(candidate: &Candidate) -> Option<Solution> {
    let hot = &candidate.job.hot;
    let seal = hot.challenge.seal(candidate.nonce);
    if hot.target.is_met_by(&seal, hot.order) {
        return Some(Solution { nonce: candidate.nonce, seal, device: candidate.device.clone() });
    }
    if hot.seal_top(&seal) > hot.target.top() {
        warn!(device = %candidate.device, nonce = candidate.nonce, "compute error: device reported a nonce the CPU rejects");
    }
    None
}

fn worker(spec: WorkerSpec, shared: Arc<Shared>, stat: Arc<DeviceStats>, tx: Sender<Candidate>) {
    let fail = |tag: &str, err: DeviceError| {
        error!(device = %tag, "{err}; device disabled");
        stat.failed.store(true, Ordering::Relaxed);
    };
    let mut device = match (spec.build)() {
        Ok(device) => device,
        Err(err) => return fail(&spec.name, err),
    };
    let tag = device.tag();
    let _ = stat.tag.set(tag.clone());
    if let Err(err) = selftest::run(device.as_mut()) {
        return fail(&tag, err);
    }
    info!(device = %tag, name = %spec.name, "self-test passed");
    stat.running.store(true, Ordering::Relaxed);
    let batch = device.batch_positions();
    let mut seen_seq = u64::MAX;
    let mut job: Option<Arc<Job>> = None;
    loop {
        let seq = shared.seq.load(Ordering::Acquire);
        if seq != seen_seq || job.is_none() {
            let mut slot = shared.slot.lock().unwrap_or_else(|p| p.into_inner());
            while slot.job.is_none() && !slot.stop {
                slot = shared.changed.wait(slot).unwrap_or_else(|p| p.into_inner());
            }
            if slot.stop {
                break;
            }
            job = slot.job.clone();
            seen_seq = shared.seq.load(Ordering::Acquire);
        }
        let Some(current) = job.as_ref() else { continue };
        let first = current.next_position.fetch_add(batch, Ordering::Relaxed);
        match search(device.as_mut(), &current.hot, first, batch) {
            Ok(nonces) => {
                for nonce in nonces {
                    let _ = tx.send(Candidate { job: current.clone(), nonce, device: tag.clone() });
                }
                stat.hashes.fetch_add(batch, Ordering::Relaxed);
            }
            Err(err) => return fail(&tag, err),
        }
    }
    stat.running.store(false, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pow::hotloop::Unit;
    use crate::pow::{ByteOrder, Challenge, Target};
    use crate::solver::cpu::{CpuDevice, SimdLevel};

    /// How a test device misbehaves.
    #[derive(Clone, Copy)]
    enum Fault {
        /// Reports nothing: fails the self-test.
        Silent,
        /// Passes the self-test, then every call fails.
        DiesAfterSelfTest,
        /// Passes the self-test, then reports every index as a candidate (wrong nonces).
        Lies,
    }

    struct Faulty {
        fault: Fault,
        inner: CpuDevice,
    }

    impl Device for Faulty {
        fn tag(&self) -> String {
            "faulty:0".into()
        }
        fn batch_positions(&self) -> u64 {
            1 << 12
        }
        fn search_run(&mut self, hot: &HotLoop, unit: &Unit, first: u32, count: u32, out: &mut Vec<u32>) -> Result<(), DeviceError> {
            // The fault shows only on the test's own job, after the self-test passed.
            let after_self_test = hot.target.difficulty == HARD_DIFFICULTY;
            match self.fault {
                Fault::Silent => Ok(()),
                Fault::DiesAfterSelfTest if after_self_test => Err(DeviceError::Call("device lost".into())),
                Fault::Lies if after_self_test => {
                    out.extend(first..first + count);
                    Ok(())
                }
                _ => self.inner.search_run(hot, unit, first, count, out),
            }
        }
    }

    fn faulty(fault: Fault) -> WorkerSpec {
        WorkerSpec {
            backend: Backend::Cpu,
            name: "faulty".into(),
            build: Box::new(move || Ok(Box::new(Faulty { fault, inner: CpuDevice::new(SimdLevel::best(), 9) }) as _)),
        }
    }

    fn cpu() -> WorkerSpec {
        WorkerSpec {
            backend: Backend::Cpu,
            name: "cpu".into(),
            build: Box::new(|| Ok(Box::new(CpuDevice::new(SimdLevel::best(), 0)) as _)),
        }
    }

    /// A few batches of work, so every worker takes part.
    const HARD_DIFFICULTY: u64 = 1 << 20;

    fn hard_job() -> HotLoop {
        HotLoop::new(Challenge::legacy(&[7; 32], &[8; 32]), Target::from_difficulty(HARD_DIFFICULTY).unwrap(), ByteOrder::Little)
    }

    fn solve(pool: &mut Pool) -> Solution {
        pool.set_job(hard_job(), 0);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            if let Some(candidate) = pool.next_candidate(Duration::from_millis(50)) {
                if let Some(solution) = verify(&candidate) {
                    return solution;
                }
            }
        }
        panic!("no solution");
    }

    #[test]
    fn a_device_failing_its_self_test_is_dropped_and_the_others_solve() {
        let mut pool = Pool::start(vec![faulty(Fault::Silent), cpu()]);
        let solution = solve(&mut pool);
        assert_eq!(solution.device, "cpu:0");
        assert!(pool.stats[0].failed.load(Ordering::Relaxed));
        assert!(!pool.stats[1].failed.load(Ordering::Relaxed));
    }

    #[test]
    fn a_device_that_fails_later_is_disabled_alone() {
        let mut pool = Pool::start(vec![faulty(Fault::DiesAfterSelfTest), cpu()]);
        while !pool.all_settled() {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(pool.stats[0].running.load(Ordering::Relaxed), "passed its self-test");
        let solution = solve(&mut pool);
        assert!(hard_job().verify(solution.nonce).is_some());
        while !pool.stats[0].failed.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(pool.any_alive());
    }

    #[test]
    fn wrong_nonces_from_a_device_never_become_solutions() {
        let mut pool = Pool::start(vec![faulty(Fault::Lies), cpu()]);
        pool.set_job(hard_job(), 0);
        let (mut lies, mut solutions) = (0, 0);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while solutions == 0 && std::time::Instant::now() < deadline {
            let Some(candidate) = pool.next_candidate(Duration::from_millis(50)) else { continue };
            match verify(&candidate) {
                Some(solution) => {
                    assert!(candidate.job.hot.verify(solution.nonce).is_some());
                    solutions += 1;
                }
                None => lies += usize::from(candidate.device == "faulty:0"),
            }
        }
        assert_eq!(solutions, 1);
        assert!(lies > 1000, "the lying device's candidates were all rejected ({lies})");
    }
}
