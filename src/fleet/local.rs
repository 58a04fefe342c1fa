//! The solver's [`Pool`] on both ends of the fleet: on a worker it is the [`LocalPool`] and its
//! [`VerdictReceiver`] the [`FoundSource`]; on the coordinator its [`CandidateSender`] is the
//! [`CandidateSink`], so remote candidates meet the same CPU verification as local ones.

use tracing::warn;

use super::protocol::DeviceRate;
use super::worker::{Found, FoundSource, LocalPool};
use super::CandidateSink;
use crate::pow::hotloop::HotLoop;
use crate::solver::pool::{CandidateSender, JobId, Pool, Verdict, VerdictReceiver};

impl LocalPool for Pool {
    fn set_job(&self, hot: HotLoop, start_position: u64) -> u64 {
        Pool::set_job(self, hot, start_position).0
    }

    fn clear_job(&self) {
        Pool::clear_job(self)
    }

    fn devices(&self) -> Vec<String> {
        self.snapshot().into_iter().map(|device| device.tag).collect()
    }

    fn rates(&self) -> Vec<DeviceRate> {
        self.snapshot().into_iter().map(|device| DeviceRate { device: device.tag, hashes_per_second: device.rate_10s }).collect()
    }
}

/// Only solutions are sent on: the pool has already logged and counted stale candidates and
/// compute errors. The worker must be this queue's only reader (handles share one queue).
fn found(verdict: Verdict) -> Option<Found> {
    match verdict {
        Verdict::Solution(s) => Some(Found { job: s.job.0, nonce: s.nonce, device: s.device }),
        Verdict::Stale { .. } | Verdict::ComputeError { .. } => None,
    }
}

impl FoundSource for VerdictReceiver {
    async fn next_found(&mut self) -> Option<Found> {
        loop {
            if let Some(found) = found(self.recv().await?) {
                return Some(found);
            }
        }
    }

    fn try_found(&mut self) -> Option<Found> {
        std::iter::from_fn(|| self.try_recv()).find_map(found)
    }
}

/// The coordinator's job id is the daemon's pool [`JobId`]: the daemon publishes each job as
/// `FleetJob::new(pool.set_job(..).0, ..)`, so a remote candidate is judged against that job.
impl CandidateSink for CandidateSender {
    fn submit(&self, job_id: u64, nonce: u64, device: String) {
        if self.send(JobId(job_id), nonce, device.clone()).is_err() {
            warn!(device = %device, job = job_id, nonce, "the pool has stopped: remote candidate dropped");
        }
    }
}
