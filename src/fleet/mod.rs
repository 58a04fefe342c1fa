//! Scaling across rigs: one coordinator (holds the wallet and the chain) publishes jobs to GPU
//! workers on other machines and takes their candidates back; no secret ever leaves it.
//!
//! - [`protocol`]: the JSON-RPC 2.0 interface both sides share, the job as it travels.
//! - [`auth`]: the shared token and the per-worker candidate rate limit.
//! - [`coordinator`]: the WebSocket server: job fan-out, candidate intake, worker table.
//! - [`worker`]: the client loop: follow jobs on a local pool, send candidates and hashrate,
//!   reconnect with backoff.
//! - [`tls`]: rustls configurations from PEM files (coordinator certificate, worker CA).
//! - [`serve`]: the coordinator inside the daemon: the pool's jobs forwarded to the workers.
//! - [`status`]: what the operator sees: the status-line text, `fleet_workers` as a table.
//! - [`local`]: the solver's [`crate::solver::pool::Pool`] as the worker's [`LocalPool`] and
//!   [`FoundSource`], and its candidate sender as the coordinator's [`CandidateSink`].
//!
//! A remote candidate is one more source for the daemon's verify step, never a shortcut
//! around it: the coordinator hands every candidate to a [`CandidateSink`] (the daemon's pool's
//! [`crate::solver::pool::CandidateSender`], which judges it against the pool's job of that id).

pub(crate) mod auth;
pub(crate) mod coordinator;
pub(crate) mod local;
pub mod protocol;
pub(crate) mod serve;
pub mod status;
pub mod tls;
pub mod worker;

use std::net::SocketAddr;
use std::time::Duration;

use crate::settings::Key;

pub use auth::Token;
pub use coordinator::{Coordinator, WorkerInfo};
pub use protocol::{DeviceRate, FleetJob, WorkerStatus, PROTOCOL_VERSION};
pub use serve::{FleetServer, ServeConfig, DEFAULT_PORT};
pub use worker::{run_worker, Found, FoundSource, LocalPool, WorkerConfig};

/// Errors at the fleet's boundary (configuration, sockets, the other side).
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("the fleet token is empty")]
    EmptyToken,
    #[error("the fleet token must be printable ASCII without spaces")]
    TokenCharacters,
    #[error("cannot read the fleet token file {path}: {reason}")]
    TokenFile { path: String, reason: String },
    #[error("refusing to serve the fleet on {addr} without a token: a token ({}) is required on any address but loopback", Key::TokenFile)]
    TokenRequired { addr: SocketAddr },
    #[error("cannot listen on {addr}: {reason}")]
    Bind { addr: SocketAddr, reason: String },
    #[error("invalid fleet limits: {0}")]
    Limits(String),
    #[error("cannot connect to coordinator {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("coordinator {url} refused the token (HTTP 401): check {} on both sides", Key::TokenFile)]
    Unauthorized { url: String },
    #[error("coordinator {url} refused this worker: {reason}")]
    Refused { url: String, reason: String },
    #[error("TLS: {path}: {reason}")]
    Tls { path: String, reason: String },
    #[error("invalid coordinator URL '{url}': {reason}")]
    BadUrl { url: String, reason: String },
}

/// Limits the coordinator enforces on every connection.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest WebSocket message accepted, in bytes (bigger ones close the connection).
    pub max_message_bytes: u32,
    /// Open connections, authenticated or not (more are closed at once; the default follows
    /// the descriptor limit, see [`crate::telemetry::sockets::SocketCaps`]).
    pub max_connections: u32,
    /// Of those, how many only authenticated (upgraded) connections may use.
    pub reserved_connections: u32,
    /// From accept to the WebSocket upgrade (TLS handshake and HTTP request included).
    pub first_request: Duration,
    /// From the upgrade to `fleet_hello` (`fleet_workers` alone must be done by then too).
    pub hello: Duration,
    /// A WebSocket silent this long is pinged; one that has not answered by twice as long is closed.
    pub ping_interval: Duration,
    /// Sustained candidates per second per worker.
    pub candidates_per_second: f64,
    /// Candidates a worker may send at once.
    pub candidate_burst: u32,
    /// Candidates failing verification before the worker is disconnected.
    pub max_compute_errors: u64,
    /// How long an address keeps its compute-error count after the last error (a worker cut
    /// off there is refused under its name meanwhile; any other starts at the count).
    pub compute_error_cool_down: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        let caps = crate::telemetry::sockets::SocketCaps::current();
        Limits {
            max_message_bytes: 64 * 1024,
            max_connections: caps.fleet,
            reserved_connections: caps.fleet_reserved,
            first_request: Duration::from_secs(10),
            hello: Duration::from_secs(10),
            ping_interval: Duration::from_secs(30),
            candidates_per_second: 32.0,
            candidate_burst: 256,
            max_compute_errors: 16,
            compute_error_cool_down: Duration::from_secs(300),
        }
    }
}

impl Limits {
    /// Refuses limits the coordinator cannot work with.
    pub fn check(&self) -> Result<(), FleetError> {
        let zero = Duration::ZERO;
        if self.max_message_bytes < 1024
            || self.max_connections == 0
            || self.reserved_connections >= self.max_connections
            || [self.first_request, self.hello, self.ping_interval].contains(&zero)
            || !self.candidates_per_second.is_finite()
            || self.candidates_per_second <= 0.0
            || self.candidate_burst == 0
        {
            return Err(FleetError::Limits(format!("{self:?}")));
        }
        Ok(())
    }
}

/// Where the coordinator hands candidates: the daemon's pool (its `CandidateSender`, in
/// [`local`]), which re-verifies each on the CPU against the job it names before anything else.
pub trait CandidateSink: Send + Sync + 'static {
    /// One candidate from worker `device` (`fleet:NAME`) for the coordinator's `job_id`.
    fn submit(&self, job_id: u64, nonce: u64, device: String);
}

/// A candidate as the coordinator received it (for sinks that are channels).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteCandidate {
    pub job_id: u64,
    pub nonce: u64,
    pub device: String,
}

impl CandidateSink for tokio::sync::mpsc::UnboundedSender<RemoteCandidate> {
    fn submit(&self, job_id: u64, nonce: u64, device: String) {
        let _ = self.send(RemoteCandidate { job_id, nonce, device });
    }
}
