//! The worker pool: one OS thread per device, driven through a shared job slot, plus one
//! verifier thread that turns candidates (from the pool's devices and from a
//! [`CandidateSender`]) into verdicts and samples hashrates. A device that fails or panics is
//! disabled alone, with an event; `restart_failed` rebuilds it.
//!
//! Channels: workers and [`CandidateSender`]s hold the candidate senders, the verifier the
//! receiver; the verifier holds the verdict sender, callers the [`VerdictReceiver`]s; the pool
//! holds the event sender, callers of [`Pool::events`] the receivers; the pool holds the job
//! announcement sender, callers of [`Pool::jobs`] (the fleet's coordinator) the receivers.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use tokio::sync::{broadcast, watch};
use tracing::{error, info, warn};

use super::hashrate::{RateWindows, SAMPLE_INTERVAL, WINDOW_10S, WINDOW_15M, WINDOW_60S};
use super::job::{JobSlot, Work};
use super::verdict::{judge, verdict_channel, Candidate, Inbox, VerdictSender};
use super::{search, selftest, Backend, DeviceError, WorkerSpec};
use crate::pow::hotloop::HotLoop;
use crate::sync::lock;

pub use super::job::{JobId, REMEMBERED_JOBS};
pub use super::verdict::{CandidateSender, PoolStopped, Solution, Verdict, VerdictCounts, VerdictReceiver};

/// Where a device is in its life.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase", tag = "state", content = "error")]
pub enum DeviceState {
    /// Building and self-testing.
    Starting,
    /// Passed its self-test; searching, or waiting for a job (see [`DeviceSnapshot::idle`]).
    Running,
    /// Disabled after an error or a panic (the text says which); see [`Pool::restart_failed`].
    Failed(String),
    /// Stopped by [`Pool::shutdown`].
    Stopped,
}

impl DeviceState {
    /// Whether the device's thread has ended (failed or stopped).
    pub fn is_finished(&self) -> bool {
        matches!(self, DeviceState::Failed(_) | DeviceState::Stopped)
    }
}

/// A device's state change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceEvent {
    pub tag: String,
    pub name: String,
    pub backend: Backend,
    pub state: DeviceState,
}

/// One device as [`Pool::snapshot`] sees it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DeviceSnapshot {
    /// `cpu:3`, `cuda:0`, `cl:0:1`; `cuda#2` (backend and pool index) until the device is built.
    pub tag: String,
    pub name: String,
    pub backend: Backend,
    pub state: DeviceState,
    /// Running, but blocked on an empty job slot.
    pub idle: bool,
    /// Positions searched since the pool started (monotonic, across restarts).
    pub hashes: u64,
    pub rate_10s: f64,
    pub rate_60s: f64,
    pub rate_15m: f64,
    pub compute_errors: u64,
    pub solutions: u64,
    pub stale: u64,
}

/// The job the pool's devices search, as [`Pool::jobs`] announces it: what a coordinator publishes
/// to remote workers under the SAME id, so their candidates are judged against this job.
#[derive(Clone, Debug)]
pub struct AnnouncedJob {
    pub id: JobId,
    pub hot: Arc<HotLoop>,
    /// Where the pool's own devices start on the position ring.
    pub start_position: u64,
}

/// One worker: its spec and what the pool knows of it.
struct Cell {
    spec: WorkerSpec,
    tag: Mutex<String>,
    state: Mutex<DeviceState>,
    idle: AtomicBool,
    /// The id of the job the device last took from the slot (0: none yet).
    job: AtomicU64,
    hashes: AtomicU64,
    windows: Mutex<RateWindows>,
}

/// What the pool's threads share.
struct Shared {
    slot: JobSlot,
    cells: Vec<Cell>,
    events: broadcast::Sender<DeviceEvent>,
    counts: Mutex<BTreeMap<String, VerdictCounts>>,
    /// Worker threads alive; `live_changed` and `live_watch` tell sync and async waiters.
    live: Mutex<usize>,
    live_changed: Condvar,
    live_watch: watch::Sender<usize>,
}

impl Shared {
    fn set_state(&self, index: usize, state: DeviceState) {
        let cell = &self.cells[index];
        *lock(&cell.state) = state.clone();
        let tag = lock(&cell.tag).clone();
        match &state {
            DeviceState::Failed(why) => error!(device = %tag, name = %cell.spec.name, "{why}; device disabled"),
            DeviceState::Running => info!(device = %tag, name = %cell.spec.name, "self-test passed; running"),
            _ => {}
        }
        // No subscriber is not an error.
        let _ = self.events.send(DeviceEvent { tag, name: cell.spec.name.clone(), backend: cell.spec.backend, state });
    }

    fn add_live(&self, delta: isize) {
        let mut live = lock(&self.live);
        *live = live.saturating_add_signed(delta);
        self.live_watch.send_replace(*live);
        self.live_changed.notify_all();
    }
}

/// The running workers. Share it with `Arc`; every method takes `&self`. Dropping the last
/// handle stops the workers and waits (boundedly) for them.
pub struct Pool {
    shared: Arc<Shared>,
    handles: Mutex<Vec<Option<JoinHandle<()>>>>,
    verifier: Mutex<Option<JoinHandle<()>>>,
    candidates: Sender<Inbox>,
    verdicts: VerdictReceiver,
    /// The current job (`None`: no job), for [`Pool::jobs`].
    announced: watch::Sender<Option<AnnouncedJob>>,
}

/// Events buffered per subscriber before the oldest are dropped.
const EVENT_CAPACITY: usize = 256;
/// How long dropping a pool waits for its threads.
const DROP_JOIN_LIMIT: Duration = Duration::from_secs(10);

impl Pool {
    /// Starts a thread per spec and the verifier. Workers wait for [`Pool::set_job`].
    pub fn start(specs: Vec<WorkerSpec>) -> Pool {
        let cells = specs
            .into_iter()
            .enumerate()
            .map(|(index, spec)| Cell {
                tag: Mutex::new(format!("{}#{index}", spec.backend)),
                spec,
                state: Mutex::new(DeviceState::Starting),
                idle: AtomicBool::new(false),
                job: AtomicU64::new(0),
                hashes: AtomicU64::new(0),
                windows: Mutex::new(RateWindows::default()),
            })
            .collect::<Vec<_>>();
        let count = cells.len();
        let shared = Arc::new(Shared {
            slot: JobSlot::default(),
            cells,
            events: broadcast::channel(EVENT_CAPACITY).0,
            counts: Mutex::new(BTreeMap::new()),
            live: Mutex::new(0),
            live_changed: Condvar::new(),
            live_watch: watch::channel(0).0,
        });
        let (candidates, candidate_rx) = crossbeam_channel::unbounded();
        let (verdict_tx, verdicts) = verdict_channel();
        let verifier = {
            let shared = shared.clone();
            std::thread::Builder::new().name("verifier".into()).spawn(move || verify_loop(&shared, candidate_rx, verdict_tx))
        };
        let verifier = match verifier {
            Ok(handle) => Some(handle),
            Err(err) => {
                error!("could not start the verifier thread: {err}; no candidate will be verified");
                None
            }
        };
        let pool = Pool {
            shared,
            handles: Mutex::new((0..count).map(|_| None).collect()),
            verifier: Mutex::new(verifier),
            candidates,
            verdicts,
            announced: watch::Sender::new(None),
        };
        for index in 0..count {
            pool.spawn(index);
        }
        pool
    }

    fn spawn(&self, index: usize) {
        let (shared, tx) = (self.shared.clone(), self.candidates.clone());
        self.shared.add_live(1);
        let name = format!("device-{index}");
        match std::thread::Builder::new().name(name).stack_size(super::SEARCH_STACK_BYTES).spawn(move || worker(&shared, index, &tx)) {
            Ok(handle) => lock(&self.handles)[index] = Some(handle),
            Err(err) => {
                self.shared.set_state(index, DeviceState::Failed(format!("could not start its thread: {err}")));
                self.shared.add_live(-1);
            }
        }
    }

    /// Makes `hot` the job of every device, from `start_position` on; each switches at its next
    /// batch boundary.
    pub fn set_job(&self, hot: HotLoop, start_position: u64) -> JobId {
        let id = self.shared.slot.set(hot, start_position);
        if let Some(hot) = self.shared.slot.lookup(id) {
            self.announced.send_replace(Some(AnnouncedJob { id, hot, start_position }));
        }
        id
    }

    /// Empties the job slot: devices finish their batch and wait, without spinning.
    pub fn clear_job(&self) {
        self.shared.slot.clear();
        self.announced.send_replace(None);
    }

    /// Every job change from now on (the current job at once): [`Pool::set_job`] announces its
    /// job and id, [`Pool::clear_job`] `None`. A pool with no devices still announces, so a
    /// coordinator can hand its jobs to remote workers alone.
    pub fn jobs(&self) -> watch::Receiver<Option<AnnouncedJob>> {
        self.announced.subscribe()
    }

    /// The job devices are searching, if any.
    pub fn current_job(&self) -> Option<JobId> {
        self.shared.slot.current()
    }

    /// A remembered job's hot loop (the last [`REMEMBERED_JOBS`] set).
    pub fn job(&self, id: JobId) -> Option<Arc<HotLoop>> {
        self.shared.slot.lookup(id)
    }

    /// A sender for candidates from outside the pool, verified like the pool's own.
    pub fn candidate_sender(&self) -> CandidateSender {
        CandidateSender { tx: self.candidates.clone() }
    }

    /// The verdict queue. Every call returns a handle on the same queue.
    pub fn verdicts(&self) -> VerdictReceiver {
        self.verdicts.clone()
    }

    /// Device state changes from now on.
    pub fn events(&self) -> broadcast::Receiver<DeviceEvent> {
        self.shared.events.subscribe()
    }

    /// Every device, in start order.
    pub fn snapshot(&self) -> Vec<DeviceSnapshot> {
        let now = Instant::now();
        let counts = lock(&self.shared.counts);
        self.shared
            .cells
            .iter()
            .map(|cell| {
                let tag = lock(&cell.tag).clone();
                let hashes = cell.hashes.load(Ordering::Relaxed);
                let windows = lock(&cell.windows);
                let verdicts = counts.get(&tag).copied().unwrap_or_default();
                let state = lock(&cell.state).clone();
                DeviceSnapshot {
                    idle: state == DeviceState::Running && cell.idle.load(Ordering::Acquire),
                    tag,
                    name: cell.spec.name.clone(),
                    backend: cell.spec.backend,
                    state,
                    hashes,
                    rate_10s: windows.rate(WINDOW_10S, now, hashes),
                    rate_60s: windows.rate(WINDOW_60S, now, hashes),
                    rate_15m: windows.rate(WINDOW_15M, now, hashes),
                    compute_errors: verdicts.compute_errors,
                    solutions: verdicts.solutions,
                    stale: verdicts.stale,
                }
            })
            .collect()
    }

    /// How many devices have taken job `id` from the slot and are searching it (the measure of
    /// a job switch: `set_job` until this equals the running devices).
    pub fn devices_on_job(&self, id: JobId) -> usize {
        self.shared.cells.iter().filter(|c| c.job.load(Ordering::Acquire) == id.0 && !c.idle.load(Ordering::Acquire)).count()
    }

    /// Verdict counts of every device that sent a candidate, the pool's and remote ones, by tag.
    pub fn verdict_counts(&self) -> BTreeMap<String, VerdictCounts> {
        lock(&self.shared.counts).clone()
    }

    /// Positions searched so far by all devices.
    pub fn total_hashes(&self) -> u64 {
        self.shared.cells.iter().map(|c| c.hashes.load(Ordering::Relaxed)).sum()
    }

    /// Whether any device is starting or running.
    pub fn any_alive(&self) -> bool {
        self.shared.cells.iter().any(|c| !lock(&c.state).is_finished())
    }

    /// Whether every device has passed its self-test or ended.
    pub fn all_settled(&self) -> bool {
        self.shared.cells.iter().all(|c| *lock(&c.state) != DeviceState::Starting)
    }

    /// Rebuilds every failed device on a new thread (not after [`Pool::shutdown`]); returns
    /// how many were restarted.
    pub fn restart_failed(&self) -> usize {
        if self.shared.slot.stopping() {
            return 0;
        }
        let mut restarted = 0;
        for (index, cell) in self.shared.cells.iter().enumerate() {
            if !matches!(*lock(&cell.state), DeviceState::Failed(_)) {
                continue;
            }
            if let Some(old) = lock(&self.handles)[index].take() {
                // Its thread has ended or is about to: failing is its last act.
                let _ = old.join();
            }
            info!(device = %lock(&cell.tag), name = %cell.spec.name, "restarting");
            self.shared.set_state(index, DeviceState::Starting);
            self.spawn(index);
            restarted += 1;
        }
        restarted
    }

    /// Tells every device to stop after its batch (returns at once; see [`Pool::join`]).
    pub fn shutdown(&self) {
        self.shared.slot.stop();
        let _ = self.candidates.send(Inbox::Wake);
    }

    /// Waits up to `timeout` for every device thread to end; true if they all did (the
    /// verifier then ends too, after the candidates already sent).
    pub fn join(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut live = lock(&self.shared.live);
        while *live > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            live = self.shared.live_changed.wait_timeout(live, left).unwrap_or_else(|p| p.into_inner()).0;
        }
        drop(live);
        for handle in lock(&self.handles).iter_mut().filter_map(Option::take) {
            let _ = handle.join();
        }
        if self.shared.slot.stopping() {
            if let Some(handle) = lock(&self.verifier).take() {
                let _ = handle.join();
            }
        }
        true
    }

    /// Waits until every device thread has ended (after [`Pool::shutdown`], or once all failed).
    pub async fn stopped(&self) {
        let mut live = self.shared.live_watch.subscribe();
        // The sender lives in the pool, so this cannot fail while `self` is borrowed.
        let _ = live.wait_for(|&n| n == 0).await;
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shutdown();
        if !self.join(DROP_JOIN_LIMIT) {
            warn!("a device did not stop within {} s; leaving its thread behind", DROP_JOIN_LIMIT.as_secs());
        }
    }
}

/// The text of a panic's payload.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// A worker thread: build, self-test, search until stopped; any error or panic disables it.
fn worker(shared: &Shared, index: usize, tx: &Sender<Inbox>) {
    let outcome = catch_unwind(AssertUnwindSafe(|| drive(shared, index, tx)));
    let state = match outcome {
        Ok(Ok(())) => DeviceState::Stopped,
        Ok(Err(err)) => DeviceState::Failed(err.to_string()),
        Err(payload) => DeviceState::Failed(format!("panicked: {}", panic_text(payload.as_ref()))),
    };
    shared.cells[index].idle.store(false, Ordering::Release);
    shared.set_state(index, state);
    shared.add_live(-1);
    let _ = tx.send(Inbox::Wake);
}

fn drive(shared: &Shared, index: usize, tx: &Sender<Inbox>) -> Result<(), DeviceError> {
    let cell = &shared.cells[index];
    let mut device = (cell.spec.build)()?;
    let tag = device.tag();
    *lock(&cell.tag) = tag.clone();
    selftest::run(device.as_mut())?;
    shared.set_state(index, DeviceState::Running);
    let batch = device.batch_positions();
    loop {
        let (job, seq) = match shared.slot.wait(&cell.idle) {
            Work::Stop => return Ok(()),
            Work::Job { job, seq } => (job, seq),
        };
        cell.job.store(job.id.0, Ordering::Release);
        // Batches on this job until the slot changes.
        while !shared.slot.changed_since(seq) {
            let first = job.reserve(batch);
            for nonce in search(device.as_mut(), &job.hot, first, batch)? {
                // The verifier outlives the workers: a send fails only while the pool is dropped.
                let _ = tx.send(Inbox::Candidate(Candidate { job: job.id, nonce, device: tag.clone() }));
            }
            cell.hashes.fetch_add(batch, Ordering::Relaxed);
        }
    }
}

/// The verifier: judges every candidate against its job, counts the verdicts per device, and
/// samples the hash counters for the rate windows. Ends once the pool stops and its workers did.
fn verify_loop(shared: &Shared, candidates: Receiver<Inbox>, verdicts: VerdictSender) {
    let mut next_sample = Instant::now();
    loop {
        let now = Instant::now();
        if now >= next_sample {
            for cell in &shared.cells {
                lock(&cell.windows).record(now, cell.hashes.load(Ordering::Relaxed));
            }
            next_sample = now + SAMPLE_INTERVAL;
        }
        match candidates.recv_timeout(next_sample.saturating_duration_since(now)) {
            Ok(Inbox::Wake) | Err(RecvTimeoutError::Timeout) => {}
            Ok(Inbox::Candidate(candidate)) => {
                let hot = shared.slot.lookup(candidate.job);
                let verdict = judge(hot.as_deref(), candidate);
                if let Verdict::ComputeError { nonce, device, job } = &verdict {
                    warn!(device = %device, nonce, job = job.0, "compute error: the device reported a nonce the CPU rejects");
                }
                lock(&shared.counts).entry(verdict.device().to_string()).or_default().add(&verdict);
                verdicts.send(verdict);
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
        if shared.slot.stopping() && *lock(&shared.live) == 0 && candidates.is_empty() {
            return;
        }
    }
}

#[cfg(test)]
mod tests;
