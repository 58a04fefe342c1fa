//! The job slot every worker reads between batches: empty (workers block, no busy wait) or one
//! job with its shared nonce reservation counter; the last few jobs are remembered by id so a
//! late candidate is verified against its own job.
//!
//! [`JobHistory`] is the one job history: the pool keeps its jobs in it (for verifying late
//! candidates), the fleet coordinator its published hot loops (for remote candidates), a fleet
//! worker its local-to-coordinator id map; all [`REMEMBERED_JOBS`] deep. The daemon's session
//! keeps a different memory, which jobs' seals are still inside their block window: it is
//! judged by the chain, not by count.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::pow::hotloop::HotLoop;
use crate::sync::lock;

/// How many jobs (the current one included) candidates can still be verified against.
pub const REMEMBERED_JOBS: usize = 16;

/// The last [`REMEMBERED_JOBS`] jobs, by id, oldest first.
#[derive(Debug)]
pub struct JobHistory<V> {
    entries: VecDeque<(u64, V)>,
}

impl<V> Default for JobHistory<V> {
    fn default() -> Self {
        JobHistory { entries: VecDeque::with_capacity(REMEMBERED_JOBS + 1) }
    }
}

impl<V> JobHistory<V> {
    /// Remembers `value` as job `id`'s, forgetting the oldest beyond [`REMEMBERED_JOBS`].
    pub fn push(&mut self, id: u64, value: V) {
        self.entries.push_back((id, value));
        while self.entries.len() > REMEMBERED_JOBS {
            self.entries.pop_front();
        }
    }

    /// Job `id`'s value, while it is remembered.
    pub fn get(&self, id: u64) -> Option<&V> {
        self.entries.iter().find(|(known, _)| *known == id).map(|(_, value)| value)
    }

    /// Forgets every job.
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

/// A job's key: increasing, never reused within a pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct JobId(pub u64);

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One job: the hot loop and the shared nonce reservation counter.
#[derive(Debug)]
pub(crate) struct Job {
    pub id: JobId,
    pub hot: Arc<HotLoop>,
    /// Next unreserved position; workers take a batch at a time (wraps at 2^64).
    next_position: AtomicU64,
}

impl Job {
    /// Reserves `count` positions and returns the first.
    pub fn reserve(&self, count: u64) -> u64 {
        self.next_position.fetch_add(count, Ordering::Relaxed)
    }
}

#[derive(Default)]
struct SlotState {
    current: Option<Arc<Job>>,
    /// The jobs set, the current one last.
    recent: JobHistory<Arc<Job>>,
    last_id: u64,
    stop: bool,
}

/// What a waiting worker gets: a job to search, or the order to stop.
pub(crate) enum Work {
    Job { job: Arc<Job>, seq: u64 },
    Stop,
}

/// The slot. Every change bumps `seq` (under the lock), so workers notice a change between
/// batches with one atomic load and take the lock only then.
#[derive(Default)]
pub(crate) struct JobSlot {
    seq: AtomicU64,
    state: Mutex<SlotState>,
    changed: Condvar,
}

impl JobSlot {
    fn lock(&self) -> MutexGuard<'_, SlotState> {
        lock(&self.state)
    }

    fn bump(&self) {
        self.seq.fetch_add(1, Ordering::Release);
        self.changed.notify_all();
    }

    /// Makes `hot` the current job, searched from `start_position`.
    pub fn set(&self, hot: HotLoop, start_position: u64) -> JobId {
        let mut state = self.lock();
        state.last_id += 1;
        let job = Arc::new(Job { id: JobId(state.last_id), hot: Arc::new(hot), next_position: AtomicU64::new(start_position) });
        state.current = Some(job.clone());
        let id = job.id;
        state.recent.push(id.0, job);
        self.bump();
        id
    }

    /// Empties the slot: workers finish their batch and block until the next [`JobSlot::set`].
    pub fn clear(&self) {
        let mut state = self.lock();
        state.current = None;
        self.bump();
    }

    /// Tells every worker to stop after its batch.
    pub fn stop(&self) {
        let mut state = self.lock();
        state.stop = true;
        self.bump();
    }

    pub fn stopping(&self) -> bool {
        self.lock().stop
    }

    /// Whether anything changed since a worker read `seq`.
    pub fn changed_since(&self, seq: u64) -> bool {
        self.seq.load(Ordering::Acquire) != seq
    }

    pub fn current(&self) -> Option<JobId> {
        self.lock().current.as_ref().map(|job| job.id)
    }

    /// A remembered job's hot loop.
    pub fn lookup(&self, id: JobId) -> Option<Arc<HotLoop>> {
        self.lock().recent.get(id.0).map(|job| job.hot.clone())
    }

    /// Blocks until there is a job or the order to stop; `idle` is set while blocked.
    pub fn wait(&self, idle: &AtomicBool) -> Work {
        let mut state = self.lock();
        loop {
            if state.stop {
                return Work::Stop;
            }
            if let Some(job) = &state.current {
                idle.store(false, Ordering::Release);
                return Work::Job { job: job.clone(), seq: self.seq.load(Ordering::Acquire) };
            }
            idle.store(true, Ordering::Release);
            state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pow::{ByteOrder, Challenge, Target};

    fn hot(byte: u8) -> HotLoop {
        HotLoop::new(Challenge::legacy(&[byte; 32], &[1; 32]), Target::from_difficulty(2).unwrap(), ByteOrder::Little)
    }

    #[test]
    fn ids_increase_and_only_the_last_jobs_are_remembered() {
        let slot = JobSlot::default();
        let ids: Vec<JobId> = (0..20).map(|i| slot.set(hot(i), 0)).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert!(slot.lookup(ids[3]).is_none());
        assert_eq!(slot.lookup(ids[4]).map(|h| h.challenge.clone()), Some(hot(4).challenge));
        assert_eq!(slot.current(), Some(ids[19]));
        slot.clear();
        assert_eq!(slot.current(), None);
        assert!(slot.lookup(ids[19]).is_some(), "a cleared job is still remembered for late candidates");
    }

    #[test]
    fn reservations_do_not_overlap() {
        let slot = JobSlot::default();
        slot.set(hot(1), 100);
        let Work::Job { job, .. } = slot.wait(&AtomicBool::new(false)) else { panic!("a job is set") };
        assert_eq!(job.reserve(10), 100);
        assert_eq!(job.reserve(10), 110);
    }
}
