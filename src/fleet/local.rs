//! Today's [`Pool`] behind the worker's [`LocalPool`]: the one place to rewire when the pool
//! gains `&self` jobs, `clear_job` and a verdict stream.
//!
//! Interim limits of today's pool, both gone with the new one: it has no empty job slot, so
//! `clear_job` parks the devices on a job that can never yield a candidate (they keep hashing,
//! nothing is sent); and its candidates can only be polled, so a forwarding thread polls them
//! every few milliseconds, verifies each on the CPU, and sends solutions on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::protocol::DeviceRate;
use super::worker::{Found, LocalPool};
use crate::pow::hotloop::HotLoop;
use crate::pow::{ByteOrder, Challenge, Target};
use crate::solver::pool::{verify, Pool, WorkerSpec};

/// How often the forwarding thread looks for candidates when there were none.
const POLL_INTERVAL: Duration = Duration::from_millis(5);

struct Inner {
    pool: Mutex<Pool>,
    /// The local job id of the parking job, if the pool is parked.
    parked: Mutex<Option<u64>>,
    /// Positions per device at the last rate reading.
    last_reading: Mutex<(Instant, Vec<(String, u64)>)>,
    stop: AtomicBool,
}

/// Today's pool, shared by the worker loop and a candidate-forwarding thread.
pub struct PoolAdapter {
    inner: Arc<Inner>,
    forwarder: Option<JoinHandle<()>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl PoolAdapter {
    /// Starts the pool on `specs`; solutions (CPU-verified) arrive on the receiver.
    pub fn start(specs: Vec<WorkerSpec>) -> (Arc<PoolAdapter>, mpsc::UnboundedReceiver<Found>) {
        let pool = Pool::start(specs);
        let reading = (Instant::now(), pool.hashes_by_device());
        let inner = Arc::new(Inner { pool: Mutex::new(pool), parked: Mutex::new(None), last_reading: Mutex::new(reading), stop: AtomicBool::new(false) });
        let (tx, rx) = mpsc::unbounded_channel();
        let forwarder = {
            let inner = inner.clone();
            std::thread::spawn(move || forward(&inner, &tx))
        };
        let adapter = PoolAdapter { inner, forwarder: Some(forwarder) };
        adapter.clear_job();
        (Arc::new(adapter), rx)
    }

    /// Positions searched so far by all local devices.
    pub fn total_hashes(&self) -> u64 {
        lock(&self.inner.pool).total_hashes()
    }
}

fn forward(inner: &Inner, tx: &mpsc::UnboundedSender<Found>) {
    while !inner.stop.load(Ordering::Relaxed) {
        let candidate = lock(&inner.pool).next_candidate(Duration::ZERO);
        let Some(candidate) = candidate else {
            std::thread::sleep(POLL_INTERVAL);
            continue;
        };
        if *lock(&inner.parked) == Some(candidate.job.id) {
            continue;
        }
        if let Some(solution) = verify(&candidate) {
            if tx.send(Found { job: candidate.job.id, nonce: solution.nonce, device: solution.device }).is_err() {
                return;
            }
        }
    }
}

/// A job no seal meets in practice: difficulty 2^64 - 1 leaves a top limb of 0, which the hot
/// loop's filter passes about once in 2^64 positions; such a stray candidate is dropped anyway.
fn parking_job() -> Option<HotLoop> {
    Some(HotLoop::new(Challenge::legacy(&[0; 32], &[0; 32]), Target::from_difficulty(u64::MAX).ok()?, ByteOrder::Little))
}

impl LocalPool for PoolAdapter {
    fn set_job(&self, hot: HotLoop, start_position: u64) -> u64 {
        let mut pool = lock(&self.inner.pool);
        *lock(&self.inner.parked) = None;
        pool.set_job(hot, start_position).id
    }

    fn clear_job(&self) {
        let mut pool = lock(&self.inner.pool);
        if let Some(hot) = parking_job() {
            let id = pool.set_job(hot, 0).id;
            *lock(&self.inner.parked) = Some(id);
        }
    }

    fn devices(&self) -> Vec<String> {
        lock(&self.inner.pool).hashes_by_device().into_iter().map(|(device, _)| device).collect()
    }

    fn rates(&self) -> Vec<DeviceRate> {
        let now_hashes = lock(&self.inner.pool).hashes_by_device();
        let now = Instant::now();
        let mut last = lock(&self.inner.last_reading);
        let elapsed_s = now.duration_since(last.0).as_secs_f64().max(1e-3);
        let rates = now_hashes
            .iter()
            .map(|(device, hashes)| {
                let before = last.1.iter().find(|(d, _)| d == device).map_or(0, |(_, h)| *h);
                DeviceRate { device: device.clone(), hashes_per_second: hashes.saturating_sub(before) as f64 / elapsed_s }
            })
            .collect();
        *last = (now, now_hashes);
        rates
    }
}

impl Drop for PoolAdapter {
    fn drop(&mut self) {
        self.inner.stop.store(true, Ordering::Relaxed);
        if let Some(forwarder) = self.forwarder.take() {
            let _ = forwarder.join();
        }
        lock(&self.inner.pool).stop();
    }
}
