//! The coordinator inside the daemon (`--serve`): a [`Coordinator`] whose candidates go to the
//! daemon's pool, and one task that forwards the pool's job announcements ([`Pool::jobs`]) to
//! it under the pool's own job ids, so a remote candidate is judged by the pool against the job
//! the daemon set; a cleared job idles every worker. The daemon's loop never learns of it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use super::{Coordinator, FleetError, FleetJob, Limits, Token, WorkerInfo};
use crate::pow::{Challenge, Scheme};
use crate::solver::pool::{AnnouncedJob, Pool};
use crate::telemetry::sockets::{descriptor_limit, RECOMMENDED_LIMIT};

/// The port `--serve` listens on when given without an address (on 127.0.0.1).
pub const DEFAULT_PORT: u16 = 7733;
/// How often the fleet's line is logged while workers are connected (the terminal status line
/// shows it every second; this is for logs and the journal).
const LOG_INTERVAL: Duration = Duration::from_secs(60);

/// What `--serve`, `--token-file`, `--tls-cert` and `--tls-key` ask for.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    pub addr: SocketAddr,
    pub token_file: Option<PathBuf>,
    /// Certificate chain and private key (PEM) for TLS; both or neither.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// `Origin` values whose WebSocket upgrades are accepted (`--fleet-allow-origin`).
    pub allowed_origins: Vec<String>,
    pub limits: Limits,
}

/// A running coordinator fed by a pool. Dropping it stops both.
pub struct FleetServer {
    coordinator: Arc<Coordinator>,
    forward: JoinHandle<()>,
    log: JoinHandle<()>,
}

impl FleetServer {
    /// Reads the token and TLS files, listens, and starts forwarding `pool`'s jobs.
    pub async fn start(config: &ServeConfig, pool: &Pool) -> Result<FleetServer, FleetError> {
        let token = config.token_file.as_deref().map(Token::from_file).transpose()?;
        let tls = match &config.tls {
            Some((cert, key)) => Some(super::tls::server_config(cert, key)?),
            None => None,
        };
        let sink = Arc::new(pool.candidate_sender());
        let limit = descriptor_limit();
        if limit < RECOMMENDED_LIMIT {
            warn!(
                limit,
                recommended = RECOMMENDED_LIMIT,
                max_connections = config.limits.max_connections,
                "the descriptor limit (ulimit -n) caps the fleet's connections; raise LimitNOFILE for a large fleet"
            );
        }
        let origins = config.allowed_origins.clone();
        let coordinator = Arc::new(Coordinator::serve_tls(config.addr, token, tls, origins, config.limits, sink).await?);
        let forward = tokio::spawn(forward_jobs(coordinator.clone(), pool.jobs()));
        let log = tokio::spawn(log_fleet(coordinator.clone()));
        Ok(FleetServer { coordinator, forward, log })
    }

    /// The address it listens on (the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.coordinator.local_addr()
    }

    /// The connected workers (for the status line and metrics).
    pub fn workers(&self) -> Vec<WorkerInfo> {
        self.coordinator.workers()
    }

    /// The coordinator itself.
    pub fn coordinator(&self) -> &Arc<Coordinator> {
        &self.coordinator
    }

    /// Stops forwarding, closes every connection and frees the port; returns once all of it ended.
    pub async fn shutdown(mut self) {
        for task in [&mut self.forward, &mut self.log] {
            task.abort();
            // Its only outcome now is "cancelled".
            let _ = task.await;
        }
        self.coordinator.shutdown().await;
    }
}

impl Drop for FleetServer {
    fn drop(&mut self) {
        self.forward.abort();
        self.log.abort();
    }
}

/// Logs the fleet's line ([`super::status::status_line`]) every [`LOG_INTERVAL`] while workers
/// are connected.
async fn log_fleet(coordinator: Arc<Coordinator>) {
    let mut tick = tokio::time::interval(LOG_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let workers = coordinator.workers();
        if !workers.is_empty() {
            info!("{}", super::status::status_line(&workers));
        }
    }
}

/// The job as workers receive it: the scheme follows from the challenge (a `faucet` job hashes
/// exactly like `legacy`, so it travels as `legacy`).
pub fn fleet_job(job: &AnnouncedJob) -> FleetJob {
    let scheme = match job.hot.challenge {
        Challenge::PowRegister { .. } => Scheme::PowRegister,
        Challenge::Legacy { .. } => Scheme::Legacy,
    };
    FleetJob::new(job.id.0, scheme, &job.hot, job.start_position)
}

/// Publishes every job `jobs` announces (the current one first), idles the fleet on `None`;
/// ends when the pool is gone.
pub async fn forward_jobs(coordinator: Arc<Coordinator>, mut jobs: watch::Receiver<Option<AnnouncedJob>>) {
    loop {
        let job = jobs.borrow_and_update().clone();
        match job {
            Some(job) => coordinator.publish(fleet_job(&job)),
            None => coordinator.idle(),
        }
        if jobs.changed().await.is_err() {
            debug!("the pool is gone: no more jobs for the fleet");
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pow::hotloop::HotLoop;
    use crate::pow::{ByteOrder, Target};

    #[test]
    fn the_scheme_follows_the_challenge() {
        let target = Target::from_difficulty(1000).unwrap();
        let pow = HotLoop::new(Challenge::pow_register(1, &[1; 32], &[2; 32], &[3; 32]).unwrap(), target, ByteOrder::Little);
        let legacy = HotLoop::new(Challenge::legacy(&[1; 32], &[2; 32]), target, ByteOrder::Big);
        for (hot, scheme) in [(pow, Scheme::PowRegister), (legacy, Scheme::Legacy)] {
            let announced = AnnouncedJob { id: crate::solver::pool::JobId(7), hot: Arc::new(hot), start_position: 9 };
            let job = fleet_job(&announced);
            assert_eq!((job.job_id, job.scheme, job.start_position, job.byte_order), (7, scheme, 9, announced.hot.order));
            assert_eq!(job.hot_loop().unwrap().challenge, announced.hot.challenge);
        }
    }
}
