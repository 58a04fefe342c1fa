//! Open sockets of the listeners (fleet and metrics) against the process's descriptor limit:
//! the caps derived from `RLIMIT_NOFILE`, a gate that counts every open connection (with a
//! share only authenticated ones may use), and what an accept loop does when `accept` fails
//! (`EMFILE`: a warning, rate-limited, and a pause instead of a busy loop).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::client_log::Throttle;

/// Descriptors kept for everything but the listeners' connections: the chain connection, the
/// light client's peers, GPU drivers, files, the listeners themselves.
pub const OTHER_DESCRIPTORS: u64 = 128;
/// Most fleet connections whatever the limit (255 workers, `status` queries, headroom).
const MAX_FLEET: u64 = 1024;
/// Most metrics connections whatever the limit (scrapers and health checks are few).
const MAX_METRICS: u64 = 64;
/// The descriptor limit the systemd units set (`LimitNOFILE=`), so every cap is at its maximum.
pub const RECOMMENDED_LIMIT: u64 = 4096;
/// Pause after an accept failure for lack of descriptors, and after any other.
const EMFILE_PAUSE: Duration = Duration::from_millis(250);
const OTHER_PAUSE: Duration = Duration::from_millis(10);

/// The soft `RLIMIT_NOFILE` of this process (`ulimit -n`).
pub fn descriptor_limit() -> u64 {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into the struct it is given and reads nothing else.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return 1024;
    }
    limit.rlim_cur
}

/// How many connections each listener may hold open, from the descriptor limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketCaps {
    /// Every open fleet socket, authenticated or not.
    pub fleet: u32,
    /// Of those, how many only authenticated (upgraded) connections may use.
    pub fleet_reserved: u32,
    /// Every open metrics socket.
    pub metrics: u32,
}

impl SocketCaps {
    /// The caps for a soft descriptor limit of `limit`: what is left after
    /// [`OTHER_DESCRIPTORS`], one sixteenth for metrics, the rest for the fleet (a quarter of
    /// it reserved for authenticated workers), each within its maximum and at least a few.
    pub fn for_limit(limit: u64) -> SocketCaps {
        let budget = limit.saturating_sub(OTHER_DESCRIPTORS);
        let metrics = (budget / 16).clamp(4, MAX_METRICS);
        let fleet = budget.saturating_sub(metrics).clamp(8, MAX_FLEET);
        let to_u32 = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        SocketCaps { fleet: to_u32(fleet), fleet_reserved: to_u32((fleet / 4).max(2)), metrics: to_u32(metrics) }
    }

    /// The caps for this process's descriptor limit.
    pub fn current() -> SocketCaps {
        SocketCaps::for_limit(descriptor_limit())
    }
}

#[derive(Debug, Default)]
struct Counts {
    open: AtomicUsize,
    pending: AtomicUsize,
}

/// Counts a listener's open connections: at most `cap` in all, at most `cap - reserved` not
/// (yet) authenticated. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Gate {
    counts: Arc<Counts>,
    cap: usize,
    pending_cap: usize,
}

impl Gate {
    pub fn new(cap: u32, reserved: u32) -> Gate {
        let cap = cap as usize;
        Gate { counts: Arc::default(), cap, pending_cap: cap.saturating_sub(reserved as usize).max(1) }
    }

    /// A slot for a new connection (not authenticated), or `None` when the gate is full.
    pub fn admit(&self) -> Option<Slot> {
        let counts = &self.counts;
        let pending = counts.pending.fetch_add(1, Ordering::AcqRel);
        let open = counts.open.fetch_add(1, Ordering::AcqRel);
        let slot = Slot { counts: counts.clone(), pending: true };
        (pending < self.pending_cap && open < self.cap).then_some(slot)
    }

    /// Connections open now, authenticated or not.
    pub fn open(&self) -> usize {
        self.counts.open.load(Ordering::Acquire)
    }
}

/// One open connection's place; dropping it frees it.
#[derive(Debug)]
pub struct Slot {
    counts: Arc<Counts>,
    pending: bool,
}

impl Slot {
    /// The connection proved itself: it no longer counts against the unauthenticated share.
    pub fn authenticated(&mut self) {
        if std::mem::replace(&mut self.pending, false) {
            self.counts.pending.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.authenticated();
        self.counts.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// After `accept` failed on `listener` (`fleet`, `metrics`): a warning (rate-limited by
/// `throttle`) naming the descriptor limit when that is the cause, then a pause.
pub async fn accept_failed(listener: &'static str, err: &std::io::Error, throttle: &Throttle) {
    let out_of_descriptors = matches!(err.raw_os_error(), Some(libc::EMFILE | libc::ENFILE));
    if let Some(dropped) = throttle.allow("accept") {
        if out_of_descriptors {
            tracing::warn!(
                listener,
                limit = descriptor_limit(),
                dropped,
                "cannot accept a connection: out of file descriptors ({err}); raise LimitNOFILE / ulimit -n"
            );
        } else {
            tracing::warn!(listener, dropped, "cannot accept a connection: {err}");
        }
    }
    tokio::time::sleep(if out_of_descriptors { EMFILE_PAUSE } else { OTHER_PAUSE }).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_follow_the_descriptor_limit() {
        assert_eq!(SocketCaps::for_limit(256), SocketCaps { fleet: 120, fleet_reserved: 30, metrics: 8 });
        assert_eq!(SocketCaps::for_limit(1024), SocketCaps { fleet: 840, fleet_reserved: 210, metrics: 56 });
        assert_eq!(SocketCaps::for_limit(RECOMMENDED_LIMIT), SocketCaps { fleet: 1024, fleet_reserved: 256, metrics: 64 });
        assert_eq!(SocketCaps::for_limit(u64::MAX), SocketCaps::for_limit(RECOMMENDED_LIMIT));
        let tiny = SocketCaps::for_limit(16);
        assert_eq!((tiny.fleet, tiny.metrics), (8, 4));
        assert!(SocketCaps::current().fleet >= 8);
    }

    #[test]
    fn the_gate_keeps_a_share_for_authenticated_connections() {
        let gate = Gate::new(4, 2);
        let (a, b) = (gate.admit().expect("first"), gate.admit().expect("second"));
        assert!(gate.admit().is_none(), "only two unauthenticated");
        let mut a = a;
        a.authenticated();
        let mut c = gate.admit().expect("a pending place freed");
        c.authenticated();
        let d = gate.admit().expect("the fourth");
        assert!(gate.admit().is_none(), "four open in all");
        assert_eq!(gate.open(), 4);
        drop((a, b, c, d));
        assert_eq!(gate.open(), 0);
        assert!(gate.admit().is_some());
    }
}
