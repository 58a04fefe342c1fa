//! Liveness for `/healthz`: the loop's heartbeat and the last new block, each judged against a
//! staleness limit on the monotonic clock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// When `/healthz` turns 503.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HealthLimits {
    /// The loop has not called `heartbeat` for this long.
    pub heartbeat_stale: Duration,
    /// No new block was seen for this long (or none yet).
    pub block_stale: Duration,
}

impl Default for HealthLimits {
    fn default() -> Self {
        HealthLimits { heartbeat_stale: Duration::from_secs(30), block_stale: Duration::from_secs(120) }
    }
}

/// The verdict `/healthz` serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    Healthy,
    /// Why not, in words (the 503 body).
    Unhealthy(String),
}

/// Shared between the loop (which touches it) and the HTTP endpoint (which judges it).
#[derive(Debug)]
pub struct HealthState {
    start: Instant,
    limits: HealthLimits,
    /// Microseconds since `start` plus one; 0 = never.
    heartbeat_us: AtomicU64,
    block_us: AtomicU64,
}

impl HealthState {
    pub fn new(limits: HealthLimits) -> Self {
        HealthState { start: Instant::now(), limits, heartbeat_us: AtomicU64::new(0), block_us: AtomicU64::new(0) }
    }

    fn now_us(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX - 1) + 1
    }

    pub fn heartbeat(&self) {
        self.heartbeat_us.store(self.now_us(), Ordering::Relaxed);
    }

    pub fn block_seen(&self) {
        self.block_us.store(self.now_us(), Ordering::Relaxed);
    }

    fn age(&self, stamp: &AtomicU64) -> Option<Duration> {
        match stamp.load(Ordering::Relaxed) {
            0 => None,
            at => Some(Duration::from_micros(self.now_us().saturating_sub(at))),
        }
    }

    /// Time since the last heartbeat, if any.
    pub fn heartbeat_age(&self) -> Option<Duration> {
        self.age(&self.heartbeat_us)
    }

    /// Time since the last new block, if any.
    pub fn block_age(&self) -> Option<Duration> {
        self.age(&self.block_us)
    }

    pub fn check(&self) -> Health {
        let limits = self.limits;
        match (self.heartbeat_age(), self.block_age()) {
            (None, _) => Health::Unhealthy("the loop has not started".into()),
            (Some(age), _) if age > limits.heartbeat_stale => Health::Unhealthy(format!(
                "the loop's last heartbeat was {:.1} s ago (limit {} s)",
                age.as_secs_f64(),
                limits.heartbeat_stale.as_secs()
            )),
            (_, None) => Health::Unhealthy("no block seen yet".into()),
            (_, Some(age)) if age > limits.block_stale => Health::Unhealthy(format!(
                "the last new block was seen {:.1} s ago (limit {} s)",
                age.as_secs_f64(),
                limits.block_stale.as_secs()
            )),
            _ => Health::Healthy,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthy_only_with_a_fresh_heartbeat_and_block() {
        let state = HealthState::new(HealthLimits { heartbeat_stale: Duration::from_secs(3600), block_stale: Duration::from_secs(3600) });
        assert!(matches!(state.check(), Health::Unhealthy(why) if why.contains("not started")));
        state.heartbeat();
        assert!(matches!(state.check(), Health::Unhealthy(why) if why.contains("no block")));
        state.block_seen();
        assert_eq!(state.check(), Health::Healthy);
    }

    #[test]
    fn zero_limits_make_any_age_stale() {
        let state = HealthState::new(HealthLimits { heartbeat_stale: Duration::ZERO, block_stale: Duration::from_secs(3600) });
        state.block_seen();
        state.heartbeat();
        std::thread::sleep(Duration::from_millis(2));
        assert!(matches!(state.check(), Health::Unhealthy(why) if why.contains("heartbeat")));
    }
}
