//! Candidates in, verdicts out: every nonce a device (local or remote) reports is re-verified on
//! the CPU against its own job and becomes a solution, a stale candidate or a compute error.

use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use tokio::sync::Notify;

use super::job::JobId;
use crate::pow::hotloop::HotLoop;
use crate::pow::Seal;

/// A nonce a device reported for a job, not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub job: JobId,
    pub nonce: u64,
    /// The reporting device's tag (`cuda:0`, or a remote worker's name).
    pub device: String,
}

/// A candidate the CPU reference accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Solution {
    pub job: JobId,
    pub nonce: u64,
    pub seal: Seal,
    pub device: String,
}

/// What the CPU made of a candidate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The seal meets its job's target.
    Solution(Solution),
    /// Its job is no longer remembered (more than [`super::job::REMEMBERED_JOBS`] jobs ago, or
    /// never set): it cannot be checked, and it could not be submitted anyway.
    Stale { job: JobId, nonce: u64, device: String },
    /// The CPU rejects the nonce for its job: the device computed wrong (the one honest miss,
    /// a seal whose top 64 bits equal the target's exactly, has odds of about 2^-64).
    ComputeError { job: JobId, nonce: u64, device: String },
}

impl Verdict {
    pub fn job(&self) -> JobId {
        match self {
            Verdict::Solution(s) => s.job,
            Verdict::Stale { job, .. } | Verdict::ComputeError { job, .. } => *job,
        }
    }

    pub fn device(&self) -> &str {
        match self {
            Verdict::Solution(s) => &s.device,
            Verdict::Stale { device, .. } | Verdict::ComputeError { device, .. } => device,
        }
    }
}

/// Verdicts per device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct VerdictCounts {
    pub solutions: u64,
    pub compute_errors: u64,
    pub stale: u64,
}

impl VerdictCounts {
    pub fn add(&mut self, verdict: &Verdict) {
        match verdict {
            Verdict::Solution(_) => self.solutions += 1,
            Verdict::Stale { .. } => self.stale += 1,
            Verdict::ComputeError { .. } => self.compute_errors += 1,
        }
    }
}

/// Judges `candidate` against its job's hot loop (`None`: the job is not remembered).
pub fn judge(hot: Option<&HotLoop>, candidate: Candidate) -> Verdict {
    let Candidate { job, nonce, device } = candidate;
    match hot {
        None => Verdict::Stale { job, nonce, device },
        Some(hot) => match hot.verify(nonce) {
            Some(seal) => Verdict::Solution(Solution { job, nonce, seal, device }),
            None => Verdict::ComputeError { job, nonce, device },
        },
    }
}

/// The pool has stopped: nothing verifies candidates any more.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the worker pool has stopped")]
pub struct PoolStopped;

/// What the pool's verifier reads: candidates, and a wake-up when a worker thread ends or a
/// shutdown starts (so it notices a finished shutdown at once).
pub(crate) enum Inbox {
    Candidate(Candidate),
    Wake,
}

/// Feeds candidates from outside the pool (remote workers) into the same verify step as the
/// pool's own devices. The pool's verifier holds the receiving end.
#[derive(Clone)]
pub struct CandidateSender {
    pub(crate) tx: Sender<Inbox>,
}

impl CandidateSender {
    pub fn send(&self, job: JobId, nonce: u64, device: String) -> Result<(), PoolStopped> {
        self.tx.send(Inbox::Candidate(Candidate { job, nonce, device })).map_err(|_| PoolStopped)
    }
}

/// Creates the verdict queue: the pool's verifier holds the [`VerdictSender`].
pub(crate) fn verdict_channel() -> (VerdictSender, VerdictReceiver) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let notify = Arc::new(Notify::new());
    (VerdictSender { tx: Some(tx), notify: notify.clone() }, VerdictReceiver { rx, notify })
}

pub(crate) struct VerdictSender {
    tx: Option<Sender<Verdict>>,
    notify: Arc<Notify>,
}

impl VerdictSender {
    pub fn send(&self, verdict: Verdict) {
        if let Some(tx) = &self.tx {
            // The pool keeps a receiver for as long as it lives: this cannot fail before then.
            let _ = tx.send(verdict);
            self.notify.notify_one();
        }
    }
}

impl Drop for VerdictSender {
    fn drop(&mut self) {
        // Closing wakes an async reader, which then sees the end.
        self.tx = None;
        self.notify.notify_one();
    }
}

/// The verdict queue's reading end, for async and for blocking callers. Handles from
/// [`super::pool::Pool::verdicts`] share one queue: each verdict goes to one of them.
#[derive(Clone)]
pub struct VerdictReceiver {
    rx: Receiver<Verdict>,
    notify: Arc<Notify>,
}

impl VerdictReceiver {
    /// The next verdict; `None` once the pool has stopped and every verdict was read.
    pub async fn recv(&mut self) -> Option<Verdict> {
        loop {
            match self.rx.try_recv() {
                Ok(verdict) => return Some(verdict),
                Err(TryRecvError::Disconnected) => return None,
                // A verdict sent after this point leaves a permit, so the wait cannot miss it.
                Err(TryRecvError::Empty) => self.notify.notified().await,
            }
        }
    }

    /// The next verdict within `timeout` (for callers without a runtime); `None` on timeout or
    /// once the pool has stopped.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Verdict> {
        self.rx.recv_timeout(timeout).ok()
    }

    /// A verdict already waiting, without blocking.
    pub fn try_recv(&self) -> Option<Verdict> {
        self.rx.try_recv().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pow::{ByteOrder, Challenge, Target};

    #[test]
    fn a_candidate_is_judged_against_its_own_job() {
        let hot = HotLoop::new(Challenge::legacy(&[3; 32], &[4; 32]), Target::from_difficulty(1000).unwrap(), ByteOrder::Little);
        let good = hot.challenge.first_valid(&hot.target, hot.order, 0, 1 << 20).unwrap();
        let candidate = |nonce| Candidate { job: JobId(7), nonce, device: "cpu:0".into() };
        match judge(Some(&hot), candidate(good)) {
            Verdict::Solution(s) => assert_eq!((s.job, s.nonce, Some(s.seal)), (JobId(7), good, hot.verify(good))),
            other => panic!("{other:?}"),
        }
        let bad = (0..).find(|&n| hot.verify(n).is_none()).unwrap();
        assert!(matches!(judge(Some(&hot), candidate(bad)), Verdict::ComputeError { nonce, .. } if nonce == bad));
        assert!(matches!(judge(None, candidate(good)), Verdict::Stale { job: JobId(7), .. }));
    }

    #[test]
    fn the_async_end_sees_every_verdict_then_the_end() {
        let (tx, mut rx) = verdict_channel();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let verdict = |n| Verdict::Stale { job: JobId(1), nonce: n, device: "x".into() };
        let writer = std::thread::spawn(move || {
            for n in 0..100 {
                tx.send(verdict(n));
            }
        });
        let got = runtime.block_on(async {
            let mut got = Vec::new();
            let read = async {
                while let Some(v) = rx.recv().await {
                    got.push(v);
                }
            };
            tokio::time::timeout(Duration::from_secs(30), read).await.expect("the queue ends once the sender is gone");
            got
        });
        writer.join().unwrap();
        assert_eq!(got, (0..100).map(verdict).collect::<Vec<_>>());
    }
}
