//! The `regsolver_*` Prometheus series (recorded through `metrics`, rendered by
//! `metrics-exporter-prometheus`) and the HTTP endpoint serving `/metrics` and `/healthz`.
//!
//! The exporter's own listener answers every path with the metrics (and `/health` always with
//! 200), so it cannot say 503 when the loop stalls: the endpoint here is hyper's HTTP/1 server
//! with two routes, rendering the exporter's handle on each scrape. Its connections are counted
//! against a cap derived from the descriptor limit ([`super::sockets`]), get no keep-alive, and
//! are dropped when they have not sent their request within [`REQUEST_LIMIT`] or are not done
//! within [`CONNECTION_LIMIT`]. Remote workers' series live in a recorder of their own whose
//! gauges age out [`WORKER_SERIES_TTL`] after their worker's last report.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use metrics_util::MetricKindMask;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::client_log::Throttle;
use super::health::{Health, HealthLimits, HealthState};
use super::sockets::{accept_failed, Gate, SocketCaps};

/// How long a metrics client may take to send its request's headers.
pub const REQUEST_LIMIT: Duration = Duration::from_secs(5);
/// How long one metrics connection may stay open in all.
pub const CONNECTION_LIMIT: Duration = Duration::from_secs(15);
/// How long a departed worker's series stay (the daemon reports its workers every second).
pub const WORKER_SERIES_TTL: Duration = Duration::from_secs(15);

/// Series names, one place.
pub mod names {
    pub const HASHRATE: &str = "regsolver_hashrate_hashes_per_second";
    pub const SEALS_TRIED: &str = "regsolver_seals_tried_total";
    pub const CANDIDATES: &str = "regsolver_candidates_total";
    pub const COMPUTE_ERRORS: &str = "regsolver_compute_errors_total";
    pub const DEVICE_UP: &str = "regsolver_device_up";
    pub const SOLUTIONS: &str = "regsolver_solutions_total";
    pub const SUBMISSIONS: &str = "regsolver_submissions_total";
    pub const REGISTRATIONS: &str = "regsolver_registrations_total";
    pub const BURNED: &str = "regsolver_burned_rao_total";
    pub const BLOCK: &str = "regsolver_block_number";
    pub const BLOCK_AGE: &str = "regsolver_block_age_seconds";
    pub const DIFFICULTY: &str = "regsolver_difficulty";
    pub const EXPECTED_SEAL: &str = "regsolver_expected_seconds_to_seal";
    pub const JOB_SWITCH: &str = "regsolver_job_switch_milliseconds";
    pub const CHAIN_CONNECTED: &str = "regsolver_chain_connected";
    pub const RECONNECTS: &str = "regsolver_reconnects_total";
    pub const WORKER_HASHRATE: &str = "regsolver_worker_hashrate_hashes_per_second";
    pub const HEARTBEAT_AGE: &str = "regsolver_heartbeat_age_seconds";
}

/// Job switch latency buckets, milliseconds (the goal is under 50 ms).
const JOB_SWITCH_BUCKETS_MS: &[f64] = &[1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 5000.0];

/// One device's figures, as the solver's snapshot has them (monotonic totals, windowed rates).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeviceFigures {
    /// `cpu`, `cuda:0`, `cl:0:1`.
    pub tag: String,
    pub up: bool,
    /// Seals tried since start (monotonic).
    pub hashes_total: u64,
    pub rate_10s: f64,
    pub rate_60s: f64,
    pub rate_15m: f64,
    /// Candidates the CPU rejected (monotonic).
    pub compute_errors: u64,
    /// Candidates reported (monotonic).
    pub candidates: u64,
}

/// One remote worker's hashrate (fleets).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WorkerFigures {
    pub worker: String,
    pub rate_60s: f64,
}

/// Why the endpoint could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("metrics endpoint {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("metrics recorder: {0}")]
    Recorder(String),
}

struct Inner {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    /// Remote workers' series, which age out (see [`WORKER_SERIES_TTL`]).
    workers: PrometheusRecorder,
    health: HealthState,
}

/// What the daemon reports to. Cheap to clone; every clone records into the same series. Each
/// `Telemetry` has its own recorder (no global state), so several can live in one process.
#[derive(Clone)]
pub struct Telemetry {
    inner: Arc<Inner>,
    addr: Option<SocketAddr>,
    server: Option<Arc<JoinHandle<()>>>,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl Telemetry {
    /// Records without serving (no `--metrics`); `/healthz` logic still works through [`Telemetry::health`].
    pub fn new(limits: HealthLimits) -> Result<Self, TelemetryError> {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(names::JOB_SWITCH.into()), JOB_SWITCH_BUCKETS_MS)
            .map_err(|e| TelemetryError::Recorder(e.to_string()))?
            .build_recorder();
        let handle = recorder.handle();
        let workers = PrometheusBuilder::new().idle_timeout(MetricKindMask::GAUGE, Some(WORKER_SERIES_TTL)).build_recorder();
        let inner = Arc::new(Inner { recorder, handle, workers, health: HealthState::new(limits) });
        let telemetry = Telemetry { inner, addr: None, server: None };
        telemetry.describe();
        Ok(telemetry)
    }

    /// Records and serves `/metrics` and `/healthz` on `addr` (port 0 picks a free port; see
    /// [`Telemetry::local_addr`]). Must be called inside a tokio runtime.
    pub async fn install(addr: SocketAddr, limits: HealthLimits) -> Result<Self, TelemetryError> {
        let mut telemetry = Self::new(limits)?;
        let listener = TcpListener::bind(addr).await.map_err(|source| TelemetryError::Bind { addr, source })?;
        let bound = listener.local_addr().map_err(|source| TelemetryError::Bind { addr, source })?;
        let inner = telemetry.inner.clone();
        let caps = SocketCaps::current();
        let server = tokio::spawn(serve(listener, inner, Gate::new(caps.metrics, 0)));
        telemetry.addr = Some(bound);
        telemetry.server = Some(Arc::new(server));
        tracing::info!(address = %bound, "metrics on http://{bound}/metrics, health on http://{bound}/healthz");
        Ok(telemetry)
    }

    /// The address the endpoint listens on, if it serves.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// Stops serving (the last clone's drop does not: call this on shutdown).
    pub fn shutdown(&self) {
        if let Some(server) = &self.server {
            server.abort();
        }
    }

    fn record(&self, f: impl FnOnce()) {
        metrics::with_local_recorder(&self.inner.recorder, f);
    }

    fn describe(&self) {
        use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
        self.record(|| {
            describe_gauge!(names::HASHRATE, "Seals tried per second per device, over a window (10s, 60s, 15m)");
            describe_counter!(names::SEALS_TRIED, "Seals tried per device since start");
            describe_counter!(names::CANDIDATES, "Candidates a device reported");
            describe_counter!(names::COMPUTE_ERRORS, "Candidates a device reported that failed CPU verification");
            describe_gauge!(names::DEVICE_UP, "1 while the device searches, 0 once it failed or stopped");
            describe_counter!(names::SOLUTIONS, "Verified seals for the current job");
            describe_counter!(names::SUBMISSIONS, "Submitted registrations by outcome");
            describe_counter!(names::REGISTRATIONS, "Hotkeys registered, by route (pow or burn)");
            describe_counter!(names::BURNED, "RAO burned by registrations (price and fee)");
            describe_gauge!(names::BLOCK, "Best block number followed");
            describe_gauge!(names::BLOCK_AGE, Unit::Seconds, "Seconds since the last new best block");
            describe_gauge!(names::DIFFICULTY, "Difficulty of the current job");
            describe_gauge!(names::EXPECTED_SEAL, Unit::Seconds, "Expected seconds to a seal at the current hashrate");
            describe_histogram!(names::JOB_SWITCH, Unit::Milliseconds, "From a new head to every device on the new job");
            describe_gauge!(names::CHAIN_CONNECTED, "1 while connected to the chain");
            describe_counter!(names::RECONNECTS, "Reconnections to the chain");
            describe_gauge!(names::HEARTBEAT_AGE, Unit::Seconds, "Seconds since the daemon loop last beat");
        });
        metrics::with_local_recorder(&self.inner.workers, || {
            metrics::describe_gauge!(names::WORKER_HASHRATE, "Remote worker hashrate over 60 s");
        });
    }

    /// The loop is alive (call once per loop turn).
    pub fn heartbeat(&self) {
        self.inner.health.heartbeat();
    }

    /// A new best block.
    pub fn on_block(&self, number: u64) {
        self.inner.health.block_seen();
        self.record(|| gauge!(names::BLOCK).set(number as f64));
    }

    /// A new job on the devices: its difficulty, how long the switch took, the expected time to a seal.
    pub fn on_job(&self, difficulty: u64, switch_ms: f64, expected_s: f64) {
        self.record(|| {
            gauge!(names::DIFFICULTY).set(difficulty as f64);
            histogram!(names::JOB_SWITCH).record(switch_ms);
            gauge!(names::EXPECTED_SEAL).set(expected_s);
        });
    }

    /// Every device's current figures (totals are monotonic: they set the counters).
    pub fn on_devices(&self, devices: &[DeviceFigures]) {
        self.record(|| {
            for d in devices {
                for (window, rate) in [("10s", d.rate_10s), ("60s", d.rate_60s), ("15m", d.rate_15m)] {
                    gauge!(names::HASHRATE, "device" => d.tag.clone(), "window" => window).set(rate);
                }
                counter!(names::SEALS_TRIED, "device" => d.tag.clone()).absolute(d.hashes_total);
                counter!(names::CANDIDATES, "device" => d.tag.clone()).absolute(d.candidates);
                counter!(names::COMPUTE_ERRORS, "device" => d.tag.clone()).absolute(d.compute_errors);
                gauge!(names::DEVICE_UP, "device" => d.tag.clone()).set(if d.up { 1.0 } else { 0.0 });
            }
        });
    }

    /// Remote workers' hashrates (fleets): the connected ones, every second; a worker's series
    /// goes [`WORKER_SERIES_TTL`] after it was last in this list.
    pub fn on_workers(&self, workers: &[WorkerFigures]) {
        metrics::with_local_recorder(&self.inner.workers, || {
            for w in workers {
                gauge!(names::WORKER_HASHRATE, "worker" => w.worker.clone()).set(w.rate_60s);
            }
        });
    }

    /// A verified seal.
    pub fn on_solution(&self) {
        self.record(|| counter!(names::SOLUTIONS).increment(1));
    }

    /// A submission's outcome (`registered`, `already_registered`, `stale`, `rate_limited`,
    /// `pool_rejected`, `failed`...: a short fixed word, never free text).
    pub fn on_submission(&self, outcome: &str) {
        let outcome = outcome.to_string();
        self.record(|| counter!(names::SUBMISSIONS, "outcome" => outcome).increment(1));
    }

    /// A hotkey registered by `route` (`pow` or `burn`, a fixed word), with the RAO it burned.
    pub fn on_registration(&self, route: &'static str, burned_rao: u64) {
        self.record(|| {
            counter!(names::REGISTRATIONS, "route" => route).increment(1);
            counter!(names::BURNED).increment(burned_rao);
        });
    }

    pub fn on_connection(&self, up: bool) {
        self.record(|| gauge!(names::CHAIN_CONNECTED).set(if up { 1.0 } else { 0.0 }));
    }

    pub fn on_reconnect(&self) {
        self.record(|| counter!(names::RECONNECTS).increment(1));
    }

    /// What `/healthz` would answer now.
    pub fn health(&self) -> Health {
        self.inner.health.check()
    }

    /// The Prometheus text a scrape gets now.
    pub fn render(&self) -> String {
        render(&self.inner)
    }
}

fn render(inner: &Inner) -> String {
    let health = &inner.health;
    metrics::with_local_recorder(&inner.recorder, || {
        if let Some(age) = health.block_age() {
            gauge!(names::BLOCK_AGE).set(age.as_secs_f64());
        }
        if let Some(age) = health.heartbeat_age() {
            gauge!(names::HEARTBEAT_AGE).set(age.as_secs_f64());
        }
    });
    inner.handle.run_upkeep();
    let mut text = inner.handle.render();
    let workers = inner.workers.handle();
    workers.run_upkeep();
    text.push_str(&workers.render());
    text
}

async fn serve(listener: TcpListener, inner: Arc<Inner>, gate: Gate) {
    let throttle = Throttle::default();
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(err) => {
                accept_failed("metrics", &err, &throttle).await;
                continue;
            }
        };
        let Some(slot) = gate.admit() else {
            if let Some(dropped) = throttle.allow("full") {
                tracing::warn!(open = gate.open(), dropped, "metrics endpoint: too many open connections; closed a new one");
            }
            continue;
        };
        tokio::spawn(serve_connection(stream, inner.clone(), slot));
    }
}

/// One metrics connection: one request (no keep-alive), headers within [`REQUEST_LIMIT`], the
/// whole exchange within [`CONNECTION_LIMIT`].
async fn serve_connection(stream: tokio::net::TcpStream, inner: Arc<Inner>, slot: super::sockets::Slot) {
    let service = hyper::service::service_fn(move |req| respond(req, inner.clone()));
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(REQUEST_LIMIT)
        .keep_alive(false)
        .serve_connection(TokioIo::new(stream), service);
    match tokio::time::timeout(CONNECTION_LIMIT, connection).await {
        Ok(Err(err)) => tracing::debug!(error = %err, "metrics endpoint: connection ended with an error"),
        Err(_) => tracing::debug!("metrics endpoint: connection open too long; closed"),
        Ok(Ok(())) => {}
    }
    drop(slot);
}

async fn respond(req: Request<Incoming>, inner: Arc<Inner>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, content_type, body) = match (req.method(), req.uri().path()) {
        (&hyper::Method::GET, "/metrics") => (StatusCode::OK, "text/plain; version=0.0.4", render(&inner)),
        (&hyper::Method::GET, "/healthz") => match inner.health.check() {
            Health::Healthy => (StatusCode::OK, "text/plain", "ok\n".to_string()),
            Health::Unhealthy(why) => (StatusCode::SERVICE_UNAVAILABLE, "text/plain", format!("{why}\n")),
        },
        (&hyper::Method::GET, _) => (StatusCode::NOT_FOUND, "text/plain", "not found: try /metrics or /healthz\n".to_string()),
        _ => (StatusCode::METHOD_NOT_ALLOWED, "text/plain", "GET only\n".to_string()),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(response)
}
