//! What the loop tells the outside while it runs: the Prometheus series and `/healthz` (with
//! `--metrics`) and systemd's `READY=1`, `STATUS=`, `WATCHDOG=1` (under a `Type=notify` unit).
//!
//! The loop calls [`Observer::heartbeat`] from its own turns (never from a timer, so a stuck loop
//! stops the watchdog and turns `/healthz` 503); a sampler task copies the pool's device figures
//! once a second and sends `READY=1` once the chain is followed and the devices passed their
//! self-tests.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::report::{Event, Glance, Reporter};
use crate::chain::outcome::OutcomeClass;
use crate::fleet::status as fleet_status;
use crate::fleet::Coordinator;
use crate::solver::pool::Pool;
use crate::telemetry::metrics::{DeviceFigures, Telemetry};
use crate::telemetry::notify::Notifier;

/// How often the sampler copies device figures (and checks readiness, and hands the reporter its
/// sample).
const SAMPLE_EVERY: Duration = Duration::from_secs(1);
/// How often `STATUS=` is refreshed.
const STATUS_EVERY_SAMPLES: u64 = 5;

/// One handle for metrics and systemd; cheap to share (`Arc`).
pub struct Observer {
    telemetry: Option<Telemetry>,
    notifier: Notifier,
    /// A best block arrived on a live connection.
    following: AtomicBool,
    ready_sent: AtomicBool,
    block: AtomicU64,
    difficulty: AtomicU64,
    /// The burn route's last price and the RAO burned, once a burn was sent (`u64::MAX`: none).
    burn_price_rao: AtomicU64,
    burned_rao: AtomicU64,
}

impl Observer {
    pub fn new(telemetry: Option<Telemetry>, notifier: Notifier) -> Self {
        Observer {
            telemetry,
            notifier,
            following: AtomicBool::new(false),
            ready_sent: AtomicBool::new(false),
            block: AtomicU64::new(0),
            difficulty: AtomicU64::new(0),
            burn_price_rao: AtomicU64::new(u64::MAX),
            burned_rao: AtomicU64::new(0),
        }
    }

    /// The loop is alive: `/healthz`'s heartbeat and, once `READY=1` went out, systemd's
    /// watchdog (systemd arms `WatchdogSec=` when start-up completes; `TimeoutStartSec=` bounds
    /// the start), so systemd hears READY=1, STATUS=, WATCHDOG=1 in that order.
    pub fn heartbeat(&self) {
        if let Some(t) = &self.telemetry {
            t.heartbeat();
        }
        if !self.ready_sent.load(Ordering::Relaxed) {
            return;
        }
        if let Err(err) = self.notifier.watchdog() {
            debug!("{err}");
        }
    }

    /// A new best block on a live connection.
    pub fn block(&self, number: u64) {
        // The block first: a sampler that sees `following` (Acquire) sees it too.
        self.block.store(number, Ordering::Relaxed);
        self.following.store(true, Ordering::Release);
        if let Some(t) = &self.telemetry {
            t.on_block(number);
        }
    }

    /// The chain connection came up or went down.
    pub fn connection(&self, up: bool) {
        if !up {
            self.following.store(false, Ordering::Relaxed);
        }
        if let Some(t) = &self.telemetry {
            t.on_connection(up);
        }
    }

    /// A reconnection attempt after a lost connection.
    pub fn reconnecting(&self) {
        if let Some(t) = &self.telemetry {
            t.on_reconnect();
        }
    }

    /// What became of a submission, as a fixed word for the `outcome` label.
    pub fn submission(&self, class: Option<&OutcomeClass>) {
        let word = match class {
            Some(OutcomeClass::Registered) => "registered",
            Some(OutcomeClass::AlreadyRegistered) => "already_registered",
            Some(OutcomeClass::RetryNextBlock) => "retry",
            Some(OutcomeClass::Fatal(_)) => "refused",
            None => "unwatched",
        };
        if let Some(t) = &self.telemetry {
            t.on_submission(word);
        }
    }

    /// An event the reporter prints; the figures it carries go to the series (the pool's
    /// hashrate is read only for a new job, whose expected time to a seal needs it).
    pub fn event(&self, event: &Event, pool: &Pool) {
        match event {
            Event::Job { difficulty, switch_ms, .. } => {
                self.difficulty.store(*difficulty, Ordering::Relaxed);
                if let Some(t) = &self.telemetry {
                    let rate = pool.snapshot().iter().map(|d| d.rate_10s).sum();
                    t.on_job(*difficulty, *switch_ms, crate::pow::expected_seconds(*difficulty, rate));
                }
            }
            Event::Burning { price_tao, .. } => {
                let price = crate::burn::parse_tao(price_tao).unwrap_or(u64::MAX);
                self.burn_price_rao.store(price, Ordering::Relaxed);
            }
            Event::Registered(result) => {
                let burned_rao = result.burned_tao.as_deref().and_then(|tao| crate::burn::parse_tao(tao).ok());
                self.burned_rao.fetch_add(burned_rao.unwrap_or(0), Ordering::Relaxed);
                if let Some(t) = &self.telemetry {
                    t.on_registration(if burned_rao.is_some() { "burn" } else { "pow" }, burned_rao.unwrap_or(0));
                }
            }
            Event::Solution { .. } => {
                if let Some(t) = &self.telemetry {
                    t.on_solution();
                }
            }
            _ => {}
        }
    }

    /// Copies the pool's figures (and a coordinator's workers) to the series every second and
    /// hands the reporter the same sample (its status line, `--json` hashrates), sends `READY=1`
    /// (with the first `STATUS=`) once a block was followed and every device settled with at
    /// least one running (with `--serve` and no local device: at once), then refreshes `STATUS=`
    /// every few seconds; until `stop` is cancelled.
    pub fn spawn_sampler(
        self: &Arc<Self>,
        pool: Arc<Pool>,
        fleet: Option<Arc<Coordinator>>,
        reporter: Reporter,
        stop: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SAMPLE_EVERY);
            let mut turns: u64 = 0;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = stop.cancelled() => return,
                }
                turns += 1;
                let devices = pool.snapshot();
                if let Some(t) = &me.telemetry {
                    let figures: Vec<DeviceFigures> = devices
                        .iter()
                        .map(|d| DeviceFigures {
                            tag: d.tag.clone(),
                            up: matches!(d.state, crate::solver::pool::DeviceState::Running),
                            hashes_total: d.hashes,
                            rate_10s: d.rate_10s,
                            rate_60s: d.rate_60s,
                            rate_15m: d.rate_15m,
                            compute_errors: d.compute_errors,
                            candidates: d.solutions + d.stale + d.compute_errors,
                        })
                        .collect();
                    t.on_devices(&figures);
                }
                let workers = fleet.as_ref().map(|c| c.workers());
                if let (Some(t), Some(workers)) = (&me.telemetry, &workers) {
                    t.on_workers(&fleet_status::figures(workers));
                }
                // Read before the figures, so a READY=1 sent on it has the block in its STATUS=.
                let following = me.following.load(Ordering::Acquire);
                let known = |v: u64| (v > 0).then_some(v);
                let glance = Glance {
                    block: known(me.block.load(Ordering::Relaxed)),
                    difficulty: known(me.difficulty.load(Ordering::Relaxed)),
                    devices: &devices,
                    workers: workers.as_deref(),
                    burn: me.burn_figures(),
                };
                reporter.sample(&glance, turns - 1);
                if !me.maybe_ready(&pool, &glance, following)
                    && turns.is_multiple_of(STATUS_EVERY_SAMPLES)
                    && me.ready_sent.load(Ordering::Relaxed)
                {
                    me.status_line(&glance);
                }
            }
        })
    }

    /// The burn route's figures, once a burn was sent: (last price, RAO burned).
    fn burn_figures(&self) -> Option<(u64, u64)> {
        let price = self.burn_price_rao.load(Ordering::Relaxed);
        (price != u64::MAX).then(|| (price, self.burned_rao.load(Ordering::Relaxed)))
    }

    /// Sends `READY=1` and the first `STATUS=` once ready (true then): `following` a best block
    /// when `glance` was sampled, every device settled. Only the sampler calls it.
    fn maybe_ready(&self, pool: &Pool, glance: &Glance<'_>, following: bool) -> bool {
        let devices_ready = pool.all_settled() && (pool.any_alive() || glance.devices.is_empty());
        if self.ready_sent.load(Ordering::Relaxed) || !following || !devices_ready {
            return false;
        }
        info!("ready: the chain is followed and the devices passed their self-tests");
        if let Err(err) = self.notifier.ready() {
            warn!("{err}");
        }
        self.status_line(glance);
        // Set last: the loop's heartbeat sends WATCHDOG=1 only after READY=1 and STATUS=.
        self.ready_sent.store(true, Ordering::Relaxed);
        true
    }

    fn status_line(&self, glance: &Glance<'_>) {
        if !self.notifier.enabled() {
            return;
        }
        if let Err(err) = self.notifier.status(&glance.text()) {
            debug!("{err}");
        }
    }

    /// `STOPPING=1`.
    pub fn stopping(&self) {
        if let Err(err) = self.notifier.stopping() {
            debug!("{err}");
        }
        if let Some(t) = &self.telemetry {
            t.shutdown();
        }
    }
}
