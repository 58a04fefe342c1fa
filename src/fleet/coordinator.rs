//! The coordinator's side of the fleet: a WebSocket JSON-RPC server that checks the token
//! before the upgrade, publishes each job to every worker at once (a watch channel, one
//! subscription task per worker), takes candidates back under a rate limit, counts the ones
//! its CPU rejects, and keeps the worker table for the status line and metrics. With a rustls
//! server configuration it speaks TLS (`wss://`) on the same port instead of plain TCP.
//!
//! Under hostile load: every open socket counts against [`Limits::max_connections`] (a share
//! only authenticated workers may use); a connection has [`Limits::first_request`] to be
//! upgraded and then [`Limits::hello`] to say hello; refusals (a listed-less `Origin`: 403, a
//! wrong token: 401) close the connection; silent WebSockets are closed by pings; the
//! compute-error count follows the address for [`Limits::compute_error_cool_down`] (a worker
//! cut off there is refused under its name, any other starts at the count); log lines about
//! clients are rate-limited per cause and their text escaped.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonrpsee::core::{BoxError, SubscriptionResult};
use jsonrpsee::server::{
    serve_with_graceful_shutdown, stop_channel, ws, BatchRequestConfig, HttpBody, HttpResponse, PingConfig, ServerConfig, ServerHandle,
    StopHandle, TowerServiceBuilder,
};
use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::{Extensions, Methods, PendingSubscriptionSink};
use serde_json::value::RawValue;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use super::auth::{RateLimit, Token, AUTHORIZATION};
use super::protocol::{
    codes, sane_rate, saturating_sum, version_mismatch, DeviceRate, FleetApiServer, FleetJob, SubmitReceipt, Welcome, WorkerStatus,
    MAX_BATCH, MAX_SLICES, PROTOCOL_VERSION,
};
use super::{CandidateSink, FleetError, Limits};
use crate::pow::hotloop::HotLoop;
use crate::settings::Key;
use crate::solver::job::JobHistory;
use crate::sync::lock;
use crate::telemetry::client_log::{escape, Throttle};
use crate::telemetry::sockets::{accept_failed, Gate, Slot};

/// Longest worker name and device tag kept, in bytes (escaped); most devices kept per worker.
const MAX_NAME_BYTES: usize = 64;
const MAX_DEVICES: usize = 64;
/// How old `fleet_workers`' snapshot may be before it is built again.
const SNAPSHOT_AGE: Duration = Duration::from_secs(1);
/// Largest answer (`fleet_workers` of 255 workers with 64 devices each is about 4 MB).
const MAX_RESPONSE_BYTES: u32 = 8 << 20;

/// One connected worker, as the status line and metrics show it.
#[derive(Clone, Debug)]
pub struct WorkerInfo {
    pub name: String,
    pub address: SocketAddr,
    pub devices: Vec<String>,
    /// The latest per-device report.
    pub hashrate: Vec<DeviceRate>,
    /// The last call the worker made.
    pub last_seen: Instant,
    /// Candidates the coordinator's CPU rejected.
    pub compute_errors: u64,
    /// Candidates passed on to the daemon.
    pub candidates_forwarded: u64,
    /// The worker's slice of the position ring.
    pub slice_index: u32,
}

impl WorkerInfo {
    /// The worker's total, from its latest report (each rate bounded, the sum saturating).
    pub fn hashes_per_second(&self) -> f64 {
        saturating_sum(self.hashrate.iter().map(|r| r.hashes_per_second))
    }

    /// As `fleet_workers` reports it, `now` being the moment of the report.
    pub fn status(&self, now: Instant) -> WorkerStatus {
        WorkerStatus {
            name: self.name.clone(),
            address: self.address.to_string(),
            devices: self.devices.clone(),
            hashrate: self.hashrate.clone(),
            hashes_per_second: self.hashes_per_second(),
            last_seen_ms: u64::try_from(now.saturating_duration_since(self.last_seen).as_millis()).unwrap_or(u64::MAX),
            compute_errors: self.compute_errors,
            candidates_forwarded: self.candidates_forwarded,
            slice_index: self.slice_index,
        }
    }
}

/// Who is on the other end of a connection; put in the request's extensions before the upgrade.
#[derive(Clone, Debug)]
struct Peer {
    connection: u64,
    address: SocketAddr,
}

struct Session {
    info: WorkerInfo,
    rate: RateLimit,
}

/// An open connection: how to stop it, and its place in the [`Gate`] (freed with it).
struct Connection {
    stop: ServerHandle,
    slot: Slot,
}

/// Compute errors of the workers at one address, kept after they disconnect: a new worker
/// there starts at this count, and the names cut off there are refused until the cool-down ends.
#[derive(Clone, Debug, Default)]
struct Strikes {
    errors: u64,
    at: Option<Instant>,
    cut_off: Vec<String>,
}

/// Most names remembered as cut off per address.
const MAX_CUT_OFF_NAMES: usize = 16;

struct Shared {
    /// The current job; every subscription task holds a receiver.
    jobs: watch::Sender<Option<Arc<FleetJob>>>,
    /// Recently published jobs' hot loops, to re-verify candidates that arrive after a newer
    /// job (a `pow_register` seal stays admissible for a few blocks; the daemon's pool decides
    /// what is stale, not this table).
    recent: Mutex<JobHistory<Arc<HotLoop>>>,
    /// Workers that said hello, by connection.
    sessions: Mutex<HashMap<u64, Session>>,
    /// Every open connection (to disconnect one, or all on shutdown); its slot counts it.
    connections: Mutex<HashMap<u64, Connection>>,
    gate: Gate,
    /// Compute errors by address, for [`Limits::compute_error_cool_down`].
    strikes: Mutex<HashMap<IpAddr, Strikes>>,
    /// `fleet_workers`' answer and when it was built.
    snapshot: Mutex<Option<(Instant, Box<RawValue>)>>,
    sink: Arc<dyn CandidateSink>,
    limits: Limits,
    token: Option<Token>,
    /// `Origin` values whose upgrades are accepted (`--fleet-allow-origin`); any other is refused.
    origins: Vec<String>,
    throttle: Throttle,
    next_connection: AtomicU64,
}

fn rpc_error(code: i32, message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code, message.into(), None::<()>)
}

fn no_hello() -> ErrorObjectOwned {
    rpc_error(codes::NO_HELLO, "call fleet_hello first")
}

/// Printable, bounded text from a worker (names go to logs, metrics and `fleet_workers`).
fn clean(text: &str) -> String {
    escape(text, MAX_NAME_BYTES)
}

impl Shared {
    fn peer(ext: &Extensions) -> Result<Peer, ErrorObjectOwned> {
        ext.get::<Peer>().cloned().ok_or_else(|| rpc_error(jsonrpsee::types::error::INTERNAL_ERROR_CODE, "connection without peer details"))
    }

    /// Closes one connection (and forgets its session).
    fn disconnect(&self, connection: u64) {
        lock(&self.sessions).remove(&connection);
        if let Some(open) = lock(&self.connections).remove(&connection) {
            let _ = open.stop.stop();
        }
    }

    /// What is held against `ip` within the cool-down (nothing once it has passed).
    fn strikes(&self, ip: IpAddr) -> Strikes {
        let cool_down = self.limits.compute_error_cool_down;
        let mut strikes = lock(&self.strikes);
        strikes.retain(|_, s| s.at.is_some_and(|at| at.elapsed() < cool_down));
        strikes.get(&ip).cloned().unwrap_or_default()
    }

    /// Counts `errors` against `ip`; `cut_off` names the worker disconnected for them.
    fn strike(&self, ip: IpAddr, errors: u64, cut_off: Option<&str>) {
        let mut strikes = lock(&self.strikes);
        let entry = strikes.entry(ip).or_default();
        entry.errors = entry.errors.max(errors);
        entry.at = Some(Instant::now());
        if let Some(name) = cut_off.filter(|_| entry.cut_off.len() < MAX_CUT_OFF_NAMES) {
            entry.cut_off.push(name.to_string());
        }
    }

    /// `fleet_workers`' answer: the snapshot, built again when older than [`SNAPSHOT_AGE`].
    fn workers_json(&self) -> Result<Box<RawValue>, ErrorObjectOwned> {
        let mut snapshot = lock(&self.snapshot);
        if let Some((at, json)) = &*snapshot {
            if at.elapsed() < SNAPSHOT_AGE {
                return Ok(json.clone());
            }
        }
        let now = Instant::now();
        let rows: Vec<WorkerStatus> = self.workers().iter().map(|w| w.status(now)).collect();
        let json = serde_json::value::to_raw_value(&rows)
            .map_err(|e| rpc_error(jsonrpsee::types::error::INTERNAL_ERROR_CODE, format!("fleet_workers: {e}")))?;
        *snapshot = Some((now, json.clone()));
        Ok(json)
    }

    /// Logs a line about clients of `cause` unless too many of that cause went out lately.
    fn log(&self, cause: &'static str, line: impl FnOnce(u64)) {
        if let Some(dropped) = self.throttle.allow(cause) {
            line(dropped);
        }
    }

    fn connection_closed(&self, connection: u64) {
        lock(&self.connections).remove(&connection);
        if let Some(session) = lock(&self.sessions).remove(&connection) {
            info!(worker = %session.info.name, address = %session.info.address, "worker disconnected");
        }
    }
}

/// The JSON-RPC methods, on the shared state.
struct FleetRpc(Arc<Shared>);

#[jsonrpsee::core::async_trait]
impl FleetApiServer for FleetRpc {
    fn hello(&self, ext: &Extensions, version: u32, name: String, devices: Vec<String>) -> Result<Welcome, ErrorObjectOwned> {
        let peer = Shared::peer(ext)?;
        let name = clean(&name);
        if version != PROTOCOL_VERSION {
            self.0.log("version", |dropped| warn!(worker = %name, address = %peer.address, worker_version = version, coordinator_version = PROTOCOL_VERSION, dropped, "refused a worker of another protocol version"));
            return Err(version_mismatch(version));
        }
        let limits = self.0.limits;
        let strikes = self.0.strikes(peer.address.ip());
        if strikes.cut_off.contains(&name) {
            let errors = strikes.errors;
            self.0.log("cool_down", |dropped| warn!(worker = %name, address = %peer.address, compute_errors = errors, dropped, "refused a worker cut off for compute errors: cooling down"));
            return Err(rpc_error(
                codes::TOO_MANY_COMPUTE_ERRORS,
                format!(
                    "{errors} candidates from {} failed verification; {name} is refused for {} s after the last",
                    peer.address.ip(),
                    limits.compute_error_cool_down.as_secs()
                ),
            ));
        }
        let devices: Vec<String> = devices.iter().take(MAX_DEVICES).map(|d| clean(d)).collect();
        let mut sessions = lock(&self.0.sessions);
        let slice_index = match sessions.get(&peer.connection) {
            Some(session) => session.info.slice_index,
            None => {
                let taken: Vec<u32> = sessions.values().map(|s| s.info.slice_index).collect();
                (1..MAX_SLICES).find(|i| !taken.contains(i)).ok_or_else(|| {
                    rpc_error(codes::FLEET_FULL, format!("every slice of the nonce space is taken ({} workers)", MAX_SLICES - 1))
                })?
            }
        };
        let info = WorkerInfo {
            name: name.clone(),
            address: peer.address,
            devices: devices.clone(),
            hashrate: Vec::new(),
            last_seen: Instant::now(),
            compute_errors: strikes.errors,
            candidates_forwarded: 0,
            slice_index,
        };
        sessions.insert(peer.connection, Session { info, rate: RateLimit::new(limits.candidates_per_second, limits.candidate_burst) });
        info!(worker = %name, address = %peer.address, slice = slice_index, devices = ?devices, "worker joined");
        Ok(Welcome { session: peer.connection, slice_index })
    }

    async fn subscribe_jobs(&self, pending: PendingSubscriptionSink, ext: &Extensions) -> SubscriptionResult {
        let peer = Shared::peer(ext)?;
        let Some(slice) = lock(&self.0.sessions).get(&peer.connection).map(|s| s.info.slice_index) else {
            pending.reject(no_hello()).await;
            return Ok(());
        };
        let mut jobs = self.0.jobs.subscribe();
        let sink = pending.accept().await?;
        loop {
            let message = jobs.borrow_and_update().as_ref().map(|job| job.for_slice(slice));
            sink.send(serde_json::value::to_raw_value(&message)?).await?;
            tokio::select! {
                changed = jobs.changed() => if changed.is_err() { break },
                _ = sink.closed() => break,
            }
        }
        Ok(())
    }

    fn submit_candidates(&self, ext: &Extensions, job_id: u64, nonces: Vec<u64>) -> Result<SubmitReceipt, ErrorObjectOwned> {
        let peer = Shared::peer(ext)?;
        let limits = self.0.limits;
        let name = {
            let mut sessions = lock(&self.0.sessions);
            let session = sessions.get_mut(&peer.connection).ok_or_else(no_hello)?;
            session.info.last_seen = Instant::now();
            let count = u32::try_from(nonces.len()).unwrap_or(u32::MAX);
            if !session.rate.take(count, Instant::now()) {
                debug!(worker = %session.info.name, address = %peer.address, count, "candidates over the rate limit dropped");
                return Err(rpc_error(
                    codes::RATE_LIMITED,
                    format!(
                        "over the candidate rate limit ({}/s, burst {}): {count} candidates dropped",
                        limits.candidates_per_second, limits.candidate_burst
                    ),
                ));
            }
            session.info.name.clone()
        };
        let hot = lock(&self.0.recent).get(job_id).cloned();
        let mut receipt = SubmitReceipt::default();
        let device = format!("fleet:{name}");
        for nonce in nonces {
            match &hot {
                None => receipt.stale += 1,
                // A pre-check that only drops: what passes still goes through the daemon's own verification.
                Some(hot) if hot.verify(nonce).is_some() => {
                    receipt.forwarded += 1;
                    self.0.sink.submit(job_id, nonce, device.clone());
                }
                Some(_) => receipt.invalid += 1,
            }
        }
        let mut sessions = lock(&self.0.sessions);
        let Some(session) = sessions.get_mut(&peer.connection) else { return Ok(receipt) };
        session.info.candidates_forwarded += u64::from(receipt.forwarded);
        if receipt.invalid > 0 {
            session.info.compute_errors += u64::from(receipt.invalid);
            let total = session.info.compute_errors;
            let cut_off = (total >= limits.max_compute_errors).then_some(name.as_str());
            self.0.strike(peer.address.ip(), total, cut_off);
            self.0.log("compute_errors", |dropped| warn!(worker = %name, address = %peer.address, job = job_id, invalid = receipt.invalid, total, dropped, "compute errors: candidates the coordinator's CPU rejects"));
        }
        // Only a call with errors cuts a worker off: one that starts at its address's count
        // (see `Strikes`) is judged by what it sends itself.
        if receipt.invalid > 0 && session.info.compute_errors >= limits.max_compute_errors {
            let errors = session.info.compute_errors;
            drop(sessions);
            self.0.log("disconnect", |dropped| warn!(worker = %name, address = %peer.address, compute_errors = errors, dropped, "disconnecting a worker past the compute-error threshold"));
            self.0.disconnect(peer.connection);
            return Err(rpc_error(codes::TOO_MANY_COMPUTE_ERRORS, format!("{errors} candidates failed verification; disconnected")));
        }
        Ok(receipt)
    }

    fn report_hashrate(&self, ext: &Extensions, rates: Vec<DeviceRate>) -> Result<(), ErrorObjectOwned> {
        let peer = Shared::peer(ext)?;
        let mut sessions = lock(&self.0.sessions);
        let session = sessions.get_mut(&peer.connection).ok_or_else(no_hello)?;
        session.info.last_seen = Instant::now();
        session.info.hashrate = rates
            .into_iter()
            .take(MAX_DEVICES)
            .map(|r| DeviceRate { device: clean(&r.device), hashes_per_second: sane_rate(r.hashes_per_second) })
            .collect();
        Ok(())
    }

    fn workers(&self) -> Result<Box<RawValue>, ErrorObjectOwned> {
        self.0.workers_json()
    }
}

impl Shared {
    /// The workers that said hello, by slice.
    fn workers(&self) -> Vec<WorkerInfo> {
        let mut workers: Vec<WorkerInfo> = lock(&self.sessions).values().map(|s| s.info.clone()).collect();
        workers.sort_by_key(|w| w.slice_index);
        workers
    }
}

/// A running coordinator. Dropping it stops the server and closes every connection.
pub struct Coordinator {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    stop: ServerHandle,
    accept: Mutex<Option<JoinHandle<()>>>,
}

impl Coordinator {
    /// Listens on `addr` (plain WebSocket, no `Origin` allowed). A token is required unless
    /// `addr` is a loopback address.
    pub async fn serve(
        addr: SocketAddr,
        token: Option<Token>,
        limits: Limits,
        sink: Arc<dyn CandidateSink>,
    ) -> Result<Coordinator, FleetError> {
        Coordinator::serve_tls(addr, token, None, Vec::new(), limits, sink).await
    }

    /// Listens on `addr`, speaking TLS with `tls` when given (see [`super::tls::server_config`]);
    /// upgrades carrying an `Origin` header are refused unless it is one of `origins`.
    pub async fn serve_tls(
        addr: SocketAddr,
        token: Option<Token>,
        tls: Option<Arc<rustls::ServerConfig>>,
        origins: Vec<String>,
        limits: Limits,
        sink: Arc<dyn CandidateSink>,
    ) -> Result<Coordinator, FleetError> {
        if token.is_none() && !addr.ip().is_loopback() {
            return Err(FleetError::TokenRequired { addr });
        }
        limits.check()?;
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| FleetError::Bind { addr, reason: e.to_string() })?;
        let local_addr = listener.local_addr().map_err(|e| FleetError::Bind { addr, reason: e.to_string() })?;
        let shared = Arc::new(Shared {
            jobs: watch::Sender::new(None),
            recent: Mutex::default(),
            sessions: Mutex::new(HashMap::new()),
            connections: Mutex::new(HashMap::new()),
            gate: Gate::new(limits.max_connections, limits.reserved_connections),
            strikes: Mutex::new(HashMap::new()),
            snapshot: Mutex::new(None),
            sink,
            limits,
            token,
            origins,
            throttle: Throttle::default(),
            next_connection: AtomicU64::new(1),
        });
        let (stop_handle, stop) = stop_channel();
        let tls_on = tls.is_some();
        let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
        let accept = tokio::spawn(accept_loop(listener, shared.clone(), acceptor, stop_handle));
        info!(address = %local_addr, token = shared.token.is_some(), tls = tls_on, version = PROTOCOL_VERSION, max_connections = limits.max_connections, reserved_for_workers = limits.reserved_connections, "fleet coordinator listening");
        Ok(Coordinator { shared, local_addr, stop, accept: Mutex::new(Some(accept)) })
    }

    /// The address it listens on (the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Publishes a job to every connected worker, and to every worker that connects later.
    pub fn publish(&self, job: FleetJob) {
        match job.hot_loop() {
            Ok(hot) => {
                lock(&self.shared.recent).push(job.job_id, Arc::new(hot));
            }
            // FleetJob::new always builds a valid job; a hand-made bad one is still sent (workers
            // refuse it) but no candidate for it is ever forwarded.
            Err(err) => warn!("publishing a job workers cannot run: {err}"),
        }
        debug!(job = job.job_id, scheme = job.scheme.name(), difficulty = job.difficulty, "job published to the fleet");
        self.shared.jobs.send_replace(Some(Arc::new(job)));
    }

    /// Tells every worker there is no job (they stop searching).
    pub fn idle(&self) {
        self.shared.jobs.send_replace(None);
    }

    /// The connected workers (those that said hello).
    pub fn workers(&self) -> Vec<WorkerInfo> {
        self.shared.workers()
    }

    /// Open WebSocket/HTTP connections, hello or not.
    pub fn connection_count(&self) -> usize {
        self.shared.gate.open()
    }

    /// Stops accepting, closes every connection, and waits until the port is free.
    pub async fn shutdown(&self) {
        let _ = self.stop.stop();
        let accept = lock(&self.accept).take();
        if let Some(accept) = accept {
            let _ = accept.await;
        }
    }
}

impl Drop for Coordinator {
    fn drop(&mut self) {
        let _ = self.stop.stop();
    }
}

type ResponseFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Result<HttpResponse, BoxError>> + Send>>;

/// Why an HTTP request is answered without reaching jsonrpsee.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    /// An `Origin` header not listed (a web page's script): 403.
    Origin,
    /// The token is missing or wrong: 401.
    Token,
}

impl Refusal {
    /// The answer; `Connection: close` ends the connection once it is sent.
    fn response(self) -> Result<HttpResponse, BoxError> {
        let builder = HttpResponse::builder().header(http::header::CONNECTION, "close");
        let response = match self {
            Refusal::Origin => builder
                .status(http::StatusCode::FORBIDDEN)
                .body(HttpBody::from(format!("cross-origin WebSocket refused: list the origin with {}", Key::AllowOrigins)))?,
            Refusal::Token => builder
                .status(http::StatusCode::UNAUTHORIZED)
                .header(http::header::WWW_AUTHENTICATE, "Bearer")
                .body(HttpBody::from("fleet token missing or wrong"))?,
        };
        Ok(response)
    }
}

impl Shared {
    /// Whether the request may go on to jsonrpsee: its `Origin` (if any) listed, its token right.
    fn admissible<B>(&self, request: &http::Request<B>) -> Result<(), Refusal> {
        if let Some(origin) = request.headers().get(http::header::ORIGIN) {
            let listed = self.origins.iter().any(|o| o.as_bytes().eq_ignore_ascii_case(origin.as_bytes()));
            if !listed {
                return Err(Refusal::Origin);
            }
        }
        match &self.token {
            Some(token) if !token.accepts(request.headers().get(AUTHORIZATION).map(|v| v.as_bytes())) => Err(Refusal::Token),
            _ => Ok(()),
        }
    }

    /// An authenticated upgrade on `connection`: it leaves the unauthenticated share, its end is
    /// watched, and it is closed unless it says hello within [`Limits::hello`].
    fn upgraded(self: &Arc<Self>, connection: u64, address: SocketAddr, closed: impl std::future::Future<Output = ()> + Send + 'static) {
        if let Some(open) = lock(&self.connections).get_mut(&connection) {
            open.slot.authenticated();
        }
        let shared = self.clone();
        tokio::spawn(async move {
            closed.await;
            shared.connection_closed(connection);
        });
        let shared = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(shared.limits.hello).await;
            let silent = !lock(&shared.sessions).contains_key(&connection) && lock(&shared.connections).contains_key(&connection);
            if silent {
                shared.log("no_hello", |dropped| debug!(%address, dropped, "closed a fleet connection that said no hello in time"));
                shared.disconnect(connection);
            }
        });
    }
}

/// jsonrpsee's per-connection service: the fleet's limits, pings for idle and half-open sockets.
fn service_builder(limits: &Limits) -> TowerServiceBuilder<tower::layer::util::Identity, tower::layer::util::Identity> {
    let ping = PingConfig::new().ping_interval(limits.ping_interval).inactive_limit(limits.ping_interval * 2).max_failures(1);
    let config = ServerConfig::builder()
        .max_request_body_size(limits.max_message_bytes)
        .max_response_body_size(MAX_RESPONSE_BYTES)
        .max_connections(limits.max_connections)
        .max_subscriptions_per_connection(4)
        .set_batch_request_config(BatchRequestConfig::Limit(MAX_BATCH))
        .enable_ws_ping(ping)
        .ws_only()
        .build();
    jsonrpsee::server::Server::builder().set_config(config).to_service_builder()
}

/// One HTTP request on `peer`'s connection: refused (and the connection closed) unless
/// admissible, else handed to jsonrpsee (an upgrade then lives on as the worker's WebSocket).
fn handle_request(
    shared: &Arc<Shared>,
    mut service: jsonrpsee::server::TowerService<tower::layer::util::Identity, tower::layer::util::Identity>,
    peer: Peer,
    upgraded: &std::sync::atomic::AtomicBool,
    mut request: http::Request<hyper::body::Incoming>,
) -> ResponseFuture {
    if let Err(refusal) = shared.admissible(&request) {
        let address = peer.address;
        match refusal {
            Refusal::Origin => shared.log("origin", |dropped| warn!(%address, dropped, "refused a fleet connection: cross-origin WebSocket (Origin not listed in {})", Key::AllowOrigins)),
            Refusal::Token => shared.log("unauthorized", |dropped| warn!(%address, dropped, "refused a fleet connection: wrong or missing token")),
        }
        return Box::pin(std::future::ready(refusal.response()));
    }
    if ws::is_upgrade_request(&request) {
        upgraded.store(true, Ordering::Relaxed);
        shared.upgraded(peer.connection, peer.address, service.on_session_closed());
    }
    request.extensions_mut().insert(peer);
    Box::pin(tower::Service::call(&mut service, request))
}

async fn accept_loop(listener: tokio::net::TcpListener, shared: Arc<Shared>, tls: Option<tokio_rustls::TlsAcceptor>, stop: StopHandle) {
    let builder = service_builder(&shared.limits);
    let methods: Methods = FleetRpc(shared.clone()).into_rpc().into();
    loop {
        let (socket, address) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    accept_failed("fleet", &err, &shared.throttle).await;
                    continue;
                }
            },
            _ = stop.clone().shutdown() => break,
        };
        let Some(slot) = shared.gate.admit() else {
            let open = shared.gate.open();
            shared.log(
                "full",
                |dropped| warn!(%address, open, dropped, "closed a new fleet connection: too many open (see docs/fleet.md, LimitNOFILE)"),
            );
            continue;
        };
        let _ = socket.set_nodelay(true);
        let connection = shared.next_connection.fetch_add(1, Ordering::Relaxed);
        let (connection_stop, stop_handle) = stop_channel();
        lock(&shared.connections).insert(connection, Connection { stop: stop_handle, slot });
        let upgraded = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let service = {
            let (shared, builder, methods, connection_stop, upgraded) =
                (shared.clone(), builder.clone(), methods.clone(), connection_stop.clone(), upgraded.clone());
            tower::service_fn(move |request: http::Request<hyper::body::Incoming>| {
                let service = builder.clone().build(methods.clone(), connection_stop.clone());
                handle_request(&shared, service, Peer { connection, address }, &upgraded, request)
            })
        };
        let served = serve_connection(socket, tls.clone(), service, connection_stop, shared.clone(), address);
        let shared = shared.clone();
        tokio::spawn(async move {
            served.await;
            // A WebSocket lives on after the HTTP exchange; anything else is over now.
            if !upgraded.load(Ordering::Relaxed) {
                lock(&shared.connections).remove(&connection);
            }
        });
    }
    drop(listener);
    let open: Vec<Connection> = lock(&shared.connections).drain().map(|(_, open)| open).collect();
    for open in open {
        let _ = open.stop.stop();
    }
    lock(&shared.sessions).clear();
    info!("fleet coordinator stopped");
}

/// The HTTP side of one connection (the TLS handshake first when serving TLS): it must be over
/// (refused, or upgraded to a WebSocket that lives on elsewhere) within
/// [`Limits::first_request`], or is dropped.
async fn serve_connection<S>(
    socket: tokio::net::TcpStream,
    tls: Option<tokio_rustls::TlsAcceptor>,
    service: S,
    stop: StopHandle,
    shared: Arc<Shared>,
    address: SocketAddr,
) where
    S: tower::Service<http::Request<hyper::body::Incoming>, Response = HttpResponse, Error = BoxError, Future = ResponseFuture>
        + Clone
        + Send
        + 'static,
{
    let limit = shared.limits.first_request;
    // Spawned, so its future's Send-ness is checked where it is built; aborted at the limit.
    let mut served: JoinHandle<Result<(), BoxError>> = tokio::spawn(async move {
        match tls {
            None => serve_with_graceful_shutdown(socket, service, stop.shutdown()).await,
            Some(acceptor) => match acceptor.accept(socket).await {
                Ok(stream) => serve_with_graceful_shutdown(stream, service, stop.shutdown()).await,
                Err(err) => {
                    shared.log("tls", |dropped| warn!(%address, dropped, "refused a fleet connection: TLS handshake failed ({err}); is the worker using wss://?"));
                    Ok(())
                }
            },
        }
    });
    match tokio::time::timeout(limit, &mut served).await {
        Ok(Ok(Err(err))) => debug!(%address, "connection ended: {err}"),
        Ok(_) => {}
        Err(_) => {
            served.abort();
            debug!(%address, "closed a fleet connection not upgraded within {} s", limit.as_secs());
        }
    }
}
