//! The pool's behaviour with real CPU devices and misbehaving ones; every wait is bounded.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicUsize;

use super::*;
use crate::pow::hotloop::Unit;
use crate::pow::{ByteOrder, Challenge, Target};
use crate::solver::cpu::{self, CpuDevice, SimdLevel};
use crate::solver::Device;

/// The longest any test waits for one thing before it fails.
const LIMIT: Duration = Duration::from_secs(60);

/// Waits (bounded) until `done`; fails with `what` otherwise.
fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The next verdict that `wanted` accepts (bounded).
fn next_verdict(verdicts: &VerdictReceiver, wanted: impl Fn(&Verdict) -> bool) -> Verdict {
    let deadline = Instant::now() + LIMIT;
    while Instant::now() < deadline {
        if let Some(v) = verdicts.recv_timeout(Duration::from_millis(50)) {
            if wanted(&v) {
                return v;
            }
        }
    }
    panic!("no such verdict within {} s", LIMIT.as_secs());
}

/// How a test device misbehaves.
#[derive(Clone, Copy)]
enum Fault {
    /// Reports nothing: fails the self-test.
    Silent,
    /// Passes the self-test, then every call fails.
    DiesAfterSelfTest,
    /// Passes the self-test, then reports every index as a candidate (wrong nonces).
    Lies,
    /// Passes the self-test, then panics.
    Panics,
}

struct Faulty {
    fault: Fault,
    inner: CpuDevice,
}

/// The test's own jobs are this hard, so the fault shows only after the self-test passed.
const HARD_DIFFICULTY: u64 = 1 << 20;

impl Device for Faulty {
    fn tag(&self) -> String {
        "faulty:0".into()
    }
    fn batch_positions(&self) -> u64 {
        1 << 12
    }
    fn search_run(&mut self, hot: &HotLoop, unit: &Unit, first: u32, count: u32, out: &mut Vec<u32>) -> Result<(), DeviceError> {
        let after_self_test = hot.target.difficulty == HARD_DIFFICULTY;
        match self.fault {
            Fault::Silent => Ok(()),
            Fault::DiesAfterSelfTest if after_self_test => Err(DeviceError::Call("device lost".into())),
            Fault::Lies if after_self_test => {
                // Wrong nonces only: an index whose seal really meets the target would be an
                // honest solution, not a lie.
                out.extend((first..first + count).filter(|&i| hot.verify(unit.nonce(i)).is_none()));
                Ok(())
            }
            Fault::Panics if after_self_test => std::panic::panic_any(INTENTIONAL_PANIC),
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

fn hard_job() -> HotLoop {
    HotLoop::new(Challenge::legacy(&[7; 32], &[8; 32]), Target::from_difficulty(HARD_DIFFICULTY).unwrap(), ByteOrder::Little)
}

fn solve(pool: &Pool) -> Solution {
    let verdicts = pool.verdicts();
    let job = pool.set_job(hard_job(), 0);
    match next_verdict(&verdicts, |v| matches!(v, Verdict::Solution(s) if s.job == job)) {
        Verdict::Solution(s) => s,
        _ => unreachable!(),
    }
}

fn state(pool: &Pool, index: usize) -> DeviceState {
    pool.snapshot()[index].state.clone()
}

#[test]
fn a_device_failing_its_self_test_is_dropped_and_the_others_solve() {
    let pool = Pool::start(vec![faulty(Fault::Silent), cpu::worker_spec(SimdLevel::best(), 0)]);
    let solution = solve(&pool);
    assert_eq!(solution.device, "cpu:0");
    assert!(hard_job().verify(solution.nonce) == Some(solution.seal));
    wait_until("the silent device to fail", || matches!(state(&pool, 0), DeviceState::Failed(_)));
    let DeviceState::Failed(why) = state(&pool, 0) else { unreachable!() };
    assert!(why.contains("self-test failed"), "{why}");
    assert_eq!(state(&pool, 1), DeviceState::Running);
}

#[test]
fn a_device_that_fails_later_is_disabled_alone_with_an_event() {
    let pool = Pool::start(vec![faulty(Fault::DiesAfterSelfTest), cpu::worker_spec(SimdLevel::best(), 0)]);
    let mut events = pool.events();
    wait_until("both devices to pass their self-tests", || pool.all_settled());
    assert_eq!(state(&pool, 0), DeviceState::Running, "passed its self-test");
    let solution = solve(&pool);
    assert!(hard_job().verify(solution.nonce).is_some());
    wait_until("the device to fail", || matches!(state(&pool, 0), DeviceState::Failed(_)));
    assert!(pool.any_alive());
    let event = loop {
        match events.try_recv() {
            Ok(e) if matches!(e.state, DeviceState::Failed(_)) => break e,
            Ok(_) => continue,
            Err(err) => panic!("no failure event: {err:?}"),
        }
    };
    assert_eq!(event.tag, "faulty:0");
    assert_eq!(event.state, DeviceState::Failed("device call failed: device lost".into()));
}

/// The payload of [`Fault::Panics`]'s panic, which [`QuietPanic`] keeps out of the test log.
const INTENTIONAL_PANIC: &str = "driver bug";

/// While alive, panics whose payload is exactly [`INTENTIONAL_PANIC`] print nothing (no message,
/// no backtrace); every other panic, in any test, still goes to the hook that was there before.
struct QuietPanic(std::sync::Arc<dyn Fn(&std::panic::PanicHookInfo<'_>) + Send + Sync>);

impl QuietPanic {
    fn install() -> Self {
        let previous: std::sync::Arc<dyn Fn(&std::panic::PanicHookInfo<'_>) + Send + Sync> = std::panic::take_hook().into();
        let next = previous.clone();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<&str>() != Some(&INTENTIONAL_PANIC) {
                next(info);
            }
        }));
        QuietPanic(previous)
    }
}

impl Drop for QuietPanic {
    fn drop(&mut self) {
        let previous = self.0.clone();
        std::panic::set_hook(Box::new(move |info| previous(info)));
    }
}

#[test]
fn a_panicking_device_is_disabled_alone() {
    let _quiet = QuietPanic::install();
    let pool = Pool::start(vec![faulty(Fault::Panics), cpu::worker_spec(SimdLevel::best(), 0)]);
    let solution = solve(&pool);
    assert_eq!(solution.device, "cpu:0");
    wait_until("the panicking device to fail", || matches!(state(&pool, 0), DeviceState::Failed(_)));
    assert_eq!(state(&pool, 0), DeviceState::Failed("panicked: driver bug".into()));
    assert_eq!(state(&pool, 1), DeviceState::Running);
}

#[test]
fn wrong_nonces_from_a_device_are_compute_errors_never_solutions() {
    let pool = Pool::start(vec![faulty(Fault::Lies), cpu::worker_spec(SimdLevel::best(), 0)]);
    let verdicts = pool.verdicts();
    let job = pool.set_job(hard_job(), 0);
    let solution = next_verdict(&verdicts, |v| matches!(v, Verdict::Solution(_)));
    let Verdict::Solution(solution) = solution else { unreachable!() };
    assert_eq!((solution.job, solution.device.as_str()), (job, "cpu:0"));
    wait_until("compute errors to be counted", || pool.snapshot()[0].compute_errors > 1000);
    let faulty = &pool.snapshot()[0];
    assert_eq!(faulty.solutions, 0);
    assert_eq!(pool.verdict_counts()["faulty:0"].solutions, 0);
}

#[test]
fn a_failed_device_is_rebuilt_by_restart_failed() {
    let builds = Arc::new(AtomicUsize::new(0));
    let counter = builds.clone();
    let flaky = WorkerSpec {
        backend: Backend::Cpu,
        name: "flaky".into(),
        build: Box::new(move || match counter.fetch_add(1, Ordering::SeqCst) {
            0 => Err(DeviceError::Unavailable("not yet".into())),
            _ => Ok(Box::new(CpuDevice::new(SimdLevel::best(), 5)) as _),
        }),
    };
    let pool = Pool::start(vec![flaky]);
    wait_until("the first build to fail", || matches!(state(&pool, 0), DeviceState::Failed(_)));
    assert!(!pool.any_alive(), "a failed device is not running");
    assert_eq!(pool.restart_failed(), 1);
    wait_until("the rebuilt device to run", || state(&pool, 0) == DeviceState::Running);
    assert_eq!(builds.load(Ordering::SeqCst), 2);
    assert_eq!(pool.restart_failed(), 0, "nothing left to restart");
    assert_eq!(solve(&pool).device, "cpu:5");
}

#[test]
fn outside_candidates_are_verified_against_their_own_job() {
    let pool = Pool::start(vec![]);
    let verdicts = pool.verdicts();
    let hot = hard_job();
    let good = hot.challenge.first_valid(&hot.target, hot.order, 0, u64::MAX).unwrap();
    let first = pool.set_job(hot.clone(), 0);
    let sender = pool.candidate_sender();
    sender.send(first, good, "remote:1".into()).unwrap();
    let Verdict::Solution(s) = next_verdict(&verdicts, |_| true) else { panic!("a valid nonce is a solution") };
    assert_eq!((s.job, s.nonce, s.device.as_str(), Some(s.seal)), (first, good, "remote:1", hot.verify(good)));
    // Still remembered after newer jobs: verified against its own job, not the current one.
    for _ in 1..REMEMBERED_JOBS {
        pool.set_job(HotLoop::new(Challenge::legacy(&[1; 32], &[1; 32]), hot.target, hot.order), 0);
    }
    sender.send(first, good, "remote:1".into()).unwrap();
    assert!(matches!(next_verdict(&verdicts, |_| true), Verdict::Solution(_)));
    sender.send(first, good + 1, "remote:1".into()).unwrap();
    assert!(matches!(next_verdict(&verdicts, |_| true), Verdict::ComputeError { .. }));
    // One more job and the first is forgotten: its candidates are stale.
    pool.clear_job();
    pool.set_job(hot.clone(), 0);
    sender.send(first, good, "remote:1".into()).unwrap();
    assert!(matches!(next_verdict(&verdicts, |_| true), Verdict::Stale { job, .. } if job == first));
    sender.send(JobId(10_000), good, "remote:2".into()).unwrap();
    assert!(matches!(next_verdict(&verdicts, |_| true), Verdict::Stale { .. }));
    let counts = pool.verdict_counts();
    assert_eq!(counts["remote:1"], VerdictCounts { solutions: 2, compute_errors: 1, stale: 1 });
    assert_eq!(counts["remote:2"].stale, 1);
}

#[test]
fn shutdown_stops_every_device_and_ends_the_verdicts() {
    let pool = Pool::start(vec![cpu::worker_spec(SimdLevel::best(), 0), cpu::worker_spec(SimdLevel::best(), 1)]);
    let verdicts = pool.verdicts();
    pool.set_job(hard_job(), 0);
    wait_until("the devices to hash", || pool.snapshot().iter().all(|d| d.hashes > 0));
    pool.shutdown();
    assert!(pool.join(LIMIT), "workers stop within the limit");
    assert!(pool.snapshot().iter().all(|d| d.state == DeviceState::Stopped));
    assert!(!pool.any_alive());
    let deadline = Instant::now() + LIMIT;
    while verdicts.recv_timeout(Duration::from_millis(100)).is_some() {
        assert!(Instant::now() < deadline, "the verdict queue ends after a shutdown");
    }
    assert!(pool.candidate_sender().send(JobId(1), 0, "x".into()).is_err(), "nothing verifies after a shutdown");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    runtime.block_on(async { tokio::time::timeout(LIMIT, pool.stopped()).await }).expect("stopped() returns once the workers ended");
}

#[test]
fn hashrate_windows_read_the_monotonic_counters() {
    let pool = Pool::start(vec![cpu::worker_spec(SimdLevel::best(), 0)]);
    pool.set_job(hard_job(), 0);
    wait_until("a 10-second rate", || pool.snapshot()[0].rate_10s > 0.0);
    let device = &pool.snapshot()[0];
    assert!(device.rate_60s > 0.0 && device.rate_15m > 0.0);
    assert!(device.hashes > 0);
}

/// Records which jobs a device is asked to search.
#[derive(Default)]
struct Recorder {
    /// Search calls on the test's jobs.
    calls: AtomicU64,
    /// Difficulties of jobs the test has set (each job's own).
    set: Mutex<HashSet<u64>>,
    /// Calls on a job that was never set.
    strays: AtomicU64,
}

struct Recording {
    inner: CpuDevice,
    recorder: Arc<Recorder>,
}

/// The test's jobs' difficulties start here (the self-test uses 16 and 1000).
const FIRST_DIFFICULTY: u64 = 40;

impl Device for Recording {
    fn tag(&self) -> String {
        self.inner.tag()
    }
    fn batch_positions(&self) -> u64 {
        1 << 9
    }
    fn search_run(&mut self, hot: &HotLoop, unit: &Unit, first: u32, count: u32, out: &mut Vec<u32>) -> Result<(), DeviceError> {
        let difficulty = hot.target.difficulty;
        if difficulty >= FIRST_DIFFICULTY && difficulty != 1000 {
            self.recorder.calls.fetch_add(1, Ordering::SeqCst);
            if !lock(&self.recorder.set).contains(&difficulty) {
                self.recorder.strays.fetch_add(1, Ordering::SeqCst);
            }
        }
        self.inner.search_run(hot, unit, first, count, out)
    }
}

/// Many `set_job` and `clear_job` calls while workers run: every verdict's job is one that was
/// set and is verified against that job; once the slot is cleared and the workers are idle, no
/// worker searches until the next job.
#[test]
fn the_job_slot_under_stress() {
    let recorder = Arc::new(Recorder::default());
    let specs = (0..3)
        .map(|thread| {
            let recorder = recorder.clone();
            WorkerSpec {
                backend: Backend::Cpu,
                name: "recording".into(),
                build: Box::new(move || {
                    Ok(Box::new(Recording { inner: CpuDevice::new(SimdLevel::Scalar, thread), recorder: recorder.clone() }) as _)
                }),
            }
        })
        .collect();
    let pool = Pool::start(specs);
    let verdicts = pool.verdicts();
    wait_until("the workers to start", || pool.all_settled());
    let mut jobs: HashMap<JobId, HotLoop> = HashMap::new();
    let mut set = |pool: &Pool, i: u64| {
        let difficulty = FIRST_DIFFICULTY + i;
        lock(&recorder.set).insert(difficulty);
        let hot =
            HotLoop::new(Challenge::legacy(&[i as u8; 32], &[3; 32]), Target::from_difficulty(difficulty).unwrap(), ByteOrder::Little);
        jobs.insert(pool.set_job(hot.clone(), i << 20), hot);
    };
    for i in 0..150u64 {
        set(&pool, 2 * i);
        // A replacement without a pause in between, every third round.
        if i % 3 == 0 {
            set(&pool, 2 * i + 1);
        }
        // Let the workers take the job for a varying number of batches (none, on some rounds).
        for _ in 0..(i % 4) {
            std::thread::yield_now();
            std::thread::sleep(Duration::from_micros(200));
        }
        pool.clear_job();
        wait_until("every worker to wait on the empty slot", || pool.snapshot().iter().all(|d| d.idle));
        let calls = recorder.calls.load(Ordering::SeqCst);
        // A worker that kept searching a cleared slot would add calls here.
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(recorder.calls.load(Ordering::SeqCst), calls, "round {i}: a worker searched while the slot was empty");
    }
    assert!(recorder.calls.load(Ordering::SeqCst) > 0, "the workers searched the jobs");
    assert_eq!(recorder.strays.load(Ordering::SeqCst), 0, "a worker searched a job that was never set");
    pool.shutdown();
    assert!(pool.join(LIMIT));
    let (mut solutions, deadline) = (0, Instant::now() + LIMIT);
    while let Some(verdict) = verdicts.recv_timeout(Duration::from_secs(5)) {
        assert!(Instant::now() < deadline, "the verdicts end");
        let hot = jobs.get(&verdict.job()).unwrap_or_else(|| panic!("verdict for a job never set: {verdict:?}"));
        match verdict {
            Verdict::Solution(s) => {
                assert_eq!(hot.verify(s.nonce), Some(s.seal), "a solution verifies against its own job");
                solutions += 1;
            }
            Verdict::Stale { .. } => {}
            Verdict::ComputeError { .. } => panic!("an honest CPU device made a compute error: {verdict:?}"),
        }
    }
    assert!(solutions > 0, "easy jobs gave solutions");
}

/// The daemon shares the pool between async tasks and hands senders and receivers to them.
#[test]
fn the_pool_and_its_handles_cross_threads() {
    fn shareable<T: Send + Sync>() {}
    fn sendable<T: Send + Clone>() {}
    shareable::<Pool>();
    sendable::<CandidateSender>();
    sendable::<VerdictReceiver>();
    sendable::<DeviceEvent>();
}

#[test]
fn job_changes_are_announced_with_their_ids_even_without_devices() {
    let pool = Pool::start(Vec::new());
    let mut jobs = pool.jobs();
    assert!(jobs.borrow_and_update().is_none(), "no job before set_job");
    let id = pool.set_job(hard_job(), 42);
    let announced = jobs.borrow_and_update().clone().expect("set_job announces its job");
    assert_eq!((announced.id, announced.start_position), (id, 42));
    assert_eq!(announced.hot.challenge, hard_job().challenge);
    assert!(pool.job(id).is_some_and(|hot| Arc::ptr_eq(&hot, &announced.hot)), "the pool's own job, not a copy");
    pool.clear_job();
    assert!(jobs.has_changed().unwrap_or(false));
    assert!(jobs.borrow_and_update().is_none(), "clear_job announces no job");
}
