//! The coordinator's side of the fleet: a WebSocket JSON-RPC server that checks the token
//! before the upgrade, publishes each job to every worker at once (a watch channel, one
//! subscription task per worker), takes candidates back under a rate limit, counts the ones
//! its CPU rejects, and keeps the worker table for the status line and metrics. With a rustls
//! server configuration it speaks TLS (`wss://`) on the same port instead of plain TCP.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use jsonrpsee::core::{BoxError, SubscriptionResult};
use jsonrpsee::server::{serve_with_graceful_shutdown, stop_channel, ws, HttpBody, HttpResponse, ServerConfig, ServerHandle};
use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::{Extensions, Methods, PendingSubscriptionSink};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use super::auth::{RateLimit, Token, AUTHORIZATION};
use super::protocol::{
    codes, version_mismatch, DeviceRate, FleetApiServer, FleetJob, SubmitReceipt, Welcome, WorkerStatus, MAX_SLICES,
    PROTOCOL_VERSION,
};
use super::{CandidateSink, FleetError, Limits};
use crate::pow::hotloop::HotLoop;

/// Jobs whose candidates are still accepted after a newer one (a `pow_register` seal stays
/// admissible for a few blocks; the daemon's pool decides what is stale, not this table).
const RECENT_JOBS: usize = 8;
/// Longest worker name and device tag kept, in bytes; most devices kept per worker.
const MAX_NAME_BYTES: usize = 64;
const MAX_DEVICES: usize = 64;
/// How long a client may take over the TLS handshake before its connection is dropped.
const TLS_HANDSHAKE_LIMIT: Duration = Duration::from_secs(10);

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
    /// The worker's total, from its latest report.
    pub fn hashes_per_second(&self) -> f64 {
        self.hashrate.iter().map(|r| r.hashes_per_second).sum()
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

struct Shared {
    /// The current job; every subscription task holds a receiver.
    jobs: watch::Sender<Option<Arc<FleetJob>>>,
    /// Recently published jobs and their hot loops, newest last, for re-verification.
    recent: Mutex<VecDeque<(u64, Arc<HotLoop>)>>,
    /// Workers that said hello, by connection.
    sessions: Mutex<HashMap<u64, Session>>,
    /// Every open connection's stop handle (to disconnect one, or all on shutdown).
    connections: Mutex<HashMap<u64, ServerHandle>>,
    sink: Arc<dyn CandidateSink>,
    limits: Limits,
    token: Option<Token>,
    next_connection: AtomicU64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

fn rpc_error(code: i32, message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code, message.into(), None::<()>)
}

fn no_hello() -> ErrorObjectOwned {
    rpc_error(codes::NO_HELLO, "call fleet_hello first")
}

/// Printable, bounded text from a worker (names go to logs).
fn clean(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(MAX_NAME_BYTES).collect()
}

impl Shared {
    fn peer(ext: &Extensions) -> Result<Peer, ErrorObjectOwned> {
        ext.get::<Peer>().cloned().ok_or_else(|| rpc_error(jsonrpsee::types::error::INTERNAL_ERROR_CODE, "connection without peer details"))
    }

    /// Closes one connection (and forgets its session).
    fn disconnect(&self, connection: u64) {
        lock(&self.sessions).remove(&connection);
        if let Some(handle) = lock(&self.connections).remove(&connection) {
            let _ = handle.stop();
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
            warn!(worker = %name, address = %peer.address, worker_version = version, coordinator_version = PROTOCOL_VERSION, "refused a worker of another protocol version");
            return Err(version_mismatch(version));
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
        let limits = self.0.limits;
        let info = WorkerInfo {
            name: name.clone(),
            address: peer.address,
            devices: devices.clone(),
            hashrate: Vec::new(),
            last_seen: Instant::now(),
            compute_errors: 0,
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
        let hot = lock(&self.0.recent).iter().find(|(id, _)| *id == job_id).map(|(_, hot)| hot.clone());
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
            warn!(worker = %name, address = %peer.address, job = job_id, invalid = receipt.invalid, total = session.info.compute_errors, "compute errors: candidates the coordinator's CPU rejects");
        }
        if session.info.compute_errors >= limits.max_compute_errors {
            let errors = session.info.compute_errors;
            drop(sessions);
            warn!(worker = %name, address = %peer.address, compute_errors = errors, "disconnecting a worker past the compute-error threshold");
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
            .filter(|r| r.hashes_per_second.is_finite() && r.hashes_per_second >= 0.0)
            .map(|r| DeviceRate { device: clean(&r.device), hashes_per_second: r.hashes_per_second })
            .collect();
        Ok(())
    }

    fn workers(&self) -> Result<Vec<WorkerStatus>, ErrorObjectOwned> {
        let now = Instant::now();
        Ok(self.0.workers().iter().map(|w| w.status(now)).collect())
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
    /// Listens on `addr` (plain WebSocket). A token is required unless `addr` is a loopback address.
    pub async fn serve(
        addr: SocketAddr,
        token: Option<Token>,
        limits: Limits,
        sink: Arc<dyn CandidateSink>,
    ) -> Result<Coordinator, FleetError> {
        Coordinator::serve_tls(addr, token, None, limits, sink).await
    }

    /// Listens on `addr`, speaking TLS with `tls` when given (see [`super::tls::server_config`]).
    pub async fn serve_tls(
        addr: SocketAddr,
        token: Option<Token>,
        tls: Option<Arc<rustls::ServerConfig>>,
        limits: Limits,
        sink: Arc<dyn CandidateSink>,
    ) -> Result<Coordinator, FleetError> {
        if token.is_none() && !addr.ip().is_loopback() {
            return Err(FleetError::TokenRequired { addr });
        }
        if limits.max_message_bytes < 1024
            || limits.max_connections == 0
            || !limits.candidates_per_second.is_finite()
            || limits.candidates_per_second <= 0.0
            || limits.candidate_burst == 0
        {
            return Err(FleetError::Limits(format!("{limits:?}")));
        }
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| FleetError::Bind { addr, reason: e.to_string() })?;
        let local_addr = listener.local_addr().map_err(|e| FleetError::Bind { addr, reason: e.to_string() })?;
        let shared = Arc::new(Shared {
            jobs: watch::Sender::new(None),
            recent: Mutex::new(VecDeque::new()),
            sessions: Mutex::new(HashMap::new()),
            connections: Mutex::new(HashMap::new()),
            sink,
            limits,
            token,
            next_connection: AtomicU64::new(1),
        });
        let (stop_handle, stop) = stop_channel();
        let tls_on = tls.is_some();
        let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
        let accept = tokio::spawn(accept_loop(listener, shared.clone(), acceptor, stop_handle));
        info!(address = %local_addr, token = shared.token.is_some(), tls = tls_on, version = PROTOCOL_VERSION, "fleet coordinator listening");
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
                let mut recent = lock(&self.shared.recent);
                recent.push_back((job.job_id, Arc::new(hot)));
                while recent.len() > RECENT_JOBS {
                    recent.pop_front();
                }
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
        lock(&self.shared.connections).len()
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

/// The answer to an upgrade request without the right token.
fn refusal() -> Result<HttpResponse, BoxError> {
    let body = HttpBody::from("fleet token missing or wrong");
    let response =
        HttpResponse::builder().status(http::StatusCode::UNAUTHORIZED).header(http::header::WWW_AUTHENTICATE, "Bearer").body(body)?;
    Ok(response)
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    stop: jsonrpsee::server::StopHandle,
) {
    let limits = shared.limits;
    let config = ServerConfig::builder()
        .max_request_body_size(limits.max_message_bytes)
        .max_response_body_size(1 << 20)
        .max_connections(limits.max_connections)
        .max_subscriptions_per_connection(4)
        .ws_only()
        .build();
    let builder = jsonrpsee::server::Server::builder().set_config(config).to_service_builder();
    let methods: Methods = FleetRpc(shared.clone()).into_rpc().into();
    loop {
        let (socket, address) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    debug!("accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = stop.clone().shutdown() => break,
        };
        let _ = socket.set_nodelay(true);
        let connection = shared.next_connection.fetch_add(1, Ordering::Relaxed);
        let (connection_stop, connection_handle) = stop_channel();
        lock(&shared.connections).insert(connection, connection_handle);
        let upgraded = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let service = {
            let (shared, builder, methods, connection_stop, upgraded) =
                (shared.clone(), builder.clone(), methods.clone(), connection_stop.clone(), upgraded.clone());
            tower::service_fn(move |mut request: http::Request<hyper::body::Incoming>| {
                let authorized = match &shared.token {
                    None => true,
                    Some(token) => token.accepts(request.headers().get(AUTHORIZATION).map(|v| v.as_bytes())),
                };
                let mut service = builder.clone().build(methods.clone(), connection_stop.clone());
                if authorized && ws::is_upgrade_request(&request) {
                    upgraded.store(true, Ordering::Relaxed);
                    let (shared, closed) = (shared.clone(), service.on_session_closed());
                    tokio::spawn(async move {
                        closed.await;
                        shared.connection_closed(connection);
                    });
                }
                request.extensions_mut().insert(Peer { connection, address });
                let response: ResponseFuture = if authorized {
                    Box::pin(tower::Service::call(&mut service, request))
                } else {
                    warn!(%address, "refused a fleet connection: wrong or missing token");
                    Box::pin(std::future::ready(refusal()))
                };
                response
            })
        };
        let shared = shared.clone();
        let served: JoinHandle<Result<(), BoxError>> = match tls.clone() {
            None => tokio::spawn(serve_with_graceful_shutdown(socket, service, connection_stop.shutdown())),
            // The handshake first (bounded), then the same service on the TLS stream; serving is
            // spawned on its own so its future's Send-ness is checked where it is built.
            Some(acceptor) => tokio::spawn(async move {
                let stream = match tokio::time::timeout(TLS_HANDSHAKE_LIMIT, acceptor.accept(socket)).await {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(err)) => {
                        warn!(%address, "refused a fleet connection: TLS handshake failed ({err}); is the worker using wss://?");
                        return Ok(());
                    }
                    Err(_) => return Err(BoxError::from(format!("no TLS handshake within {} s", TLS_HANDSHAKE_LIMIT.as_secs()))),
                };
                match tokio::spawn(serve_with_graceful_shutdown(stream, service, connection_stop.shutdown())).await {
                    Ok(result) => result,
                    Err(join) => Err(BoxError::from(join)),
                }
            }),
        };
        tokio::spawn(async move {
            if let Ok(Err(err)) = served.await {
                debug!(%address, "connection ended: {err}");
            }
            // A WebSocket lives on after the HTTP exchange; anything else is over now.
            if !upgraded.load(Ordering::Relaxed) {
                lock(&shared.connections).remove(&connection);
            }
        });
    }
    drop(listener);
    let open: Vec<ServerHandle> = lock(&shared.connections).drain().map(|(_, handle)| handle).collect();
    for handle in open {
        let _ = handle.stop();
    }
    lock(&shared.sessions).clear();
    info!("fleet coordinator stopped");
}
