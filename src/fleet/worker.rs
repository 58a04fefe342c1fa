//! The worker's side of the fleet: connect to a coordinator, say hello, follow its jobs on the
//! local pool (idle when it has none, and while disconnected), send candidates back, report
//! hashrate every few seconds, and reconnect with backoff (1 s doubling to 30 s).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use jsonrpsee::core::client::Error as ClientError;
use jsonrpsee::ws_client::{WsClient, WsClientBuilder};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use super::protocol::{codes, DeviceRate, FleetApiClient, FleetJob, PROTOCOL_VERSION};
use super::{FleetError, Token};
use crate::pow::hotloop::HotLoop;
use crate::solver::job::JobHistory;

/// What a worker needs from its local pool; the solver's `Pool` implements it (in
/// [`super::local`]).
pub trait LocalPool: Send + Sync + 'static {
    /// Runs `hot` from `start_position` on every local device, replacing any job; returns the
    /// local job id that [`Found::job`] will carry.
    fn set_job(&self, hot: HotLoop, start_position: u64) -> u64;
    /// Stops searching (no job).
    fn clear_job(&self);
    /// The local devices' tags, for `fleet_hello`.
    fn devices(&self) -> Vec<String>;
    /// Each local device's current hashrate.
    fn rates(&self) -> Vec<DeviceRate>;
}

/// A nonce the local pool found (and may have verified) for local job `job`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub job: u64,
    pub nonce: u64,
    pub device: String,
}

/// Where a worker reads what its local pool found: the pool's verdict queue (in
/// [`super::local`]), or any channel of [`Found`].
pub trait FoundSource: Send + 'static {
    /// The next found nonce; `None` once the pool has stopped.
    fn next_found(&mut self) -> impl Future<Output = Option<Found>> + Send;
    /// A found nonce already waiting, without blocking.
    fn try_found(&mut self) -> Option<Found>;
}

impl FoundSource for mpsc::UnboundedReceiver<Found> {
    fn next_found(&mut self) -> impl Future<Output = Option<Found>> + Send {
        self.recv()
    }

    fn try_found(&mut self) -> Option<Found> {
        self.try_recv().ok()
    }
}

/// How a worker reaches its coordinator.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// `ws://host:7733`, or `wss://` (TLS) with the system roots or [`WorkerConfig::tls`].
    pub url: String,
    pub token: Option<Token>,
    /// For `wss://`: trust these roots (`--ca`, see [`super::tls::client_config`]) instead of the system's.
    pub tls: Option<rustls::ClientConfig>,
    /// How the coordinator lists this worker.
    pub name: String,
    pub report_interval: Duration,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// Bound on connecting and on each call.
    pub call_timeout: Duration,
}

impl WorkerConfig {
    pub fn new(url: impl Into<String>, token: Option<Token>, name: impl Into<String>) -> WorkerConfig {
        WorkerConfig {
            url: url.into(),
            token,
            tls: None,
            name: name.into(),
            report_interval: Duration::from_secs(5),
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
            call_timeout: Duration::from_secs(10),
        }
    }
}

/// How one connection ended.
enum SessionEnd {
    /// The coordinator went away after a hello: reconnect, starting the backoff over.
    Disconnected,
    /// The local pool's found source ended: nothing left to run.
    PoolGone,
}

/// Follows the coordinator at `config.url` until the local pool goes away (`Ok`) or the
/// coordinator refuses this worker for good (wrong token, other protocol version).
pub async fn run_worker<P: LocalPool, F: FoundSource>(config: WorkerConfig, pool: Arc<P>, mut found: F) -> Result<(), FleetError> {
    let mut backoff = config.backoff_initial;
    loop {
        let outcome = session(&config, pool.as_ref(), &mut found).await;
        // Never mine stale work: no job until the coordinator sends one again.
        pool.clear_job();
        match outcome {
            Ok(SessionEnd::PoolGone) => return Ok(()),
            Ok(SessionEnd::Disconnected) => {
                backoff = config.backoff_initial;
                warn!(coordinator = %config.url, retry_in_ms = backoff.as_millis() as u64, "lost the coordinator; idle until it is back");
            }
            Err(err @ (FleetError::Unauthorized { .. } | FleetError::Refused { .. } | FleetError::BadUrl { .. })) => return Err(err),
            Err(err) => warn!("{err}; retrying in {} ms (backoff doubling to {} s)", backoff.as_millis(), config.backoff_max.as_secs()),
        }
        while found.try_found().is_some() {}
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(config.backoff_max);
    }
}

fn connect_error(url: &str, err: ClientError) -> FleetError {
    if let ClientError::Transport(inner) = &err {
        if let Some(jsonrpsee::client_transport::ws::WsHandshakeError::Rejected { status_code: 401 }) = inner.downcast_ref() {
            return FleetError::Unauthorized { url: url.to_string() };
        }
    }
    FleetError::Connect { url: url.to_string(), reason: err.to_string() }
}

fn call_error(url: &str, err: ClientError) -> FleetError {
    match err {
        ClientError::Call(call) if call.code() == codes::VERSION_MISMATCH || call.code() == codes::FLEET_FULL => {
            FleetError::Refused { url: url.to_string(), reason: call.message().to_string() }
        }
        other => FleetError::Connect { url: url.to_string(), reason: other.to_string() },
    }
}

/// Checks that `url` is a `ws://` or `wss://` URL with a host, before any attempt to connect.
pub fn check_url(url: &str) -> Result<(), FleetError> {
    let bad = |reason: &str| FleetError::BadUrl { url: url.to_string(), reason: reason.to_string() };
    let uri: http::Uri = url.parse().map_err(|e: http::uri::InvalidUri| bad(&e.to_string()))?;
    match uri.scheme_str() {
        Some("ws") | Some("wss") => {}
        Some(other) => return Err(bad(&format!("the scheme must be ws:// or wss://, not {other}://"))),
        None => return Err(bad("expected ws://HOST:PORT or wss://HOST:PORT")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    Ok(())
}

/// A client on `url`, the token in the upgrade request, `tls` (or the system roots) for `wss://`.
pub(super) async fn connect(
    url: &str,
    token: Option<&Token>,
    tls: Option<rustls::ClientConfig>,
    timeout: Duration,
) -> Result<WsClient, FleetError> {
    check_url(url)?;
    let mut headers = http::HeaderMap::new();
    if let Some(token) = token {
        let value = http::HeaderValue::from_str(&token.bearer()).map_err(|_| FleetError::TokenCharacters)?;
        headers.insert(http::header::AUTHORIZATION, value);
    }
    let mut builder = WsClientBuilder::default().set_headers(headers).connection_timeout(timeout).request_timeout(timeout);
    if let Some(tls) = tls {
        builder = builder.with_custom_cert_store(tls);
    }
    builder.build(url).await.map_err(|e| connect_error(url, e))
}

async fn session<P: LocalPool, F: FoundSource>(config: &WorkerConfig, pool: &P, found: &mut F) -> Result<SessionEnd, FleetError> {
    let url = config.url.as_str();
    let client = connect(url, config.token.as_ref(), config.tls.clone(), config.call_timeout).await?;
    let welcome = client.hello(PROTOCOL_VERSION, config.name.clone(), pool.devices()).await.map_err(|e| call_error(url, e))?;
    info!(coordinator = %url, slice = welcome.slice_index, session = welcome.session, "following the coordinator");
    let mut jobs = client.subscribe_jobs().await.map_err(|e| call_error(url, e))?;
    // Coordinator job ids by local job id, to name candidates that arrive after a job change.
    let mut recent: JobHistory<u64> = JobHistory::default();
    let mut report = tokio::time::interval(config.report_interval);
    report.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            message = jobs.next() => match message {
                Some(Ok(Some(job))) => follow(pool, &job, &mut recent),
                Some(Ok(None)) => {
                    pool.clear_job();
                    recent.clear();
                    info!(coordinator = %url, "no job from the coordinator: idle");
                }
                Some(Err(err)) => {
                    pool.clear_job();
                    warn!(coordinator = %url, "unreadable job message, idle until the next: {err}");
                }
                None => return Ok(SessionEnd::Disconnected),
            },
            first = found.next_found() => {
                let Some(first) = first else { return Ok(SessionEnd::PoolGone) };
                let mut batch = vec![first];
                while let Some(more) = found.try_found() {
                    batch.push(more);
                }
                if !submit(&client, url, &recent, batch).await {
                    return Ok(SessionEnd::Disconnected);
                }
            }
            _ = report.tick() => {
                if let Err(err) = client.report_hashrate(pool.rates()).await {
                    warn!(coordinator = %url, "hashrate report failed: {err}");
                    if !client.is_connected() {
                        return Ok(SessionEnd::Disconnected);
                    }
                }
            }
        }
    }
}

/// Starts `job` on the local pool.
fn follow<P: LocalPool>(pool: &P, job: &FleetJob, recent: &mut JobHistory<u64>) {
    match job.hot_loop() {
        Ok(hot) => {
            let local = pool.set_job(hot, job.start_position);
            recent.push(local, job.job_id);
            info!(
                job = job.job_id,
                scheme = job.scheme.name(),
                difficulty = job.difficulty,
                start_position = job.start_position,
                "running job"
            );
        }
        Err(err) => {
            pool.clear_job();
            warn!("cannot run the coordinator's job, idle until the next: {err}");
        }
    }
}

/// Sends found nonces, grouped by coordinator job; false when the connection is gone.
async fn submit(client: &WsClient, url: &str, recent: &JobHistory<u64>, batch: Vec<Found>) -> bool {
    let mut by_job: Vec<(u64, Vec<u64>)> = Vec::new();
    for f in batch {
        let Some(&job_id) = recent.get(f.job) else {
            debug!(device = %f.device, nonce = f.nonce, "candidate for a job no longer followed: dropped");
            continue;
        };
        match by_job.iter_mut().find(|(id, _)| *id == job_id) {
            Some((_, nonces)) => nonces.push(f.nonce),
            None => by_job.push((job_id, vec![f.nonce])),
        }
    }
    for (job_id, nonces) in by_job {
        match client.submit_candidates(job_id, nonces.clone()).await {
            Ok(receipt) => {
                info!(coordinator = %url, job = job_id, forwarded = receipt.forwarded, stale = receipt.stale, invalid = receipt.invalid, "candidates sent")
            }
            Err(ClientError::Call(err)) => warn!(coordinator = %url, job = job_id, "coordinator refused candidates: {}", err.message()),
            Err(err) => {
                warn!(coordinator = %url, "sending candidates failed: {err}");
                if !client.is_connected() {
                    return false;
                }
            }
        }
    }
    true
}
