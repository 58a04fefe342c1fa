//! The fleet commands, thin: `regsolver worker` (follow a coordinator's jobs on this rig's
//! devices, no wallet, no chain), the daemon's `--serve` (a coordinator beside the daemon's
//! pool), and `status --fleet` (a coordinator's connected workers).

use std::sync::Arc;
use std::time::Duration;

use tracing::{info, warn};

use super::lifecycle::{runtime, stop_devices};
use super::{usage, CommandError};
use crate::cli::{FleetStatusArgs, WorkerArgs};
use regsolver::fleet::worker::check_url;
use regsolver::fleet::{run_worker, status, tls, FleetError, FleetServer, ServeConfig, Token, WorkerConfig, WorkerStatus};
use regsolver::solver::pool::Pool;
use regsolver::solver::selection::{self, DeviceSelection};
use regsolver::solver::WorkerSpec;

/// How long `status --fleet` waits for the coordinator.
const STATUS_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a starting worker looks whether its devices passed their self-tests.
const SETTLE_POLL: Duration = Duration::from_millis(50);

/// A fleet error as a command's: what the operator typed or gave is a usage error.
fn fleet_error(err: FleetError) -> CommandError {
    match err {
        err @ (FleetError::Bind { .. } | FleetError::Connect { .. } | FleetError::Unauthorized { .. } | FleetError::Refused { .. }) => {
            CommandError::Failed(err.to_string())
        }
        err => usage(err.to_string()),
    }
}

/// The daemon's own devices: none when `fleet_only` (`--serve --no-local-devices`), else the
/// selection's. (The coordinator's settings were checked with the rest of the configuration.)
pub(super) fn local_specs(fleet_only: bool, selection: &DeviceSelection) -> Result<Vec<WorkerSpec>, CommandError> {
    if fleet_only {
        info!("--no-local-devices: only the fleet's workers search");
        return Ok(Vec::new());
    }
    Ok(selection::specs(selection)?)
}

/// Starts the coordinator beside `pool` when the configuration asks for one (`--serve`).
pub(super) async fn serve(config: Option<&ServeConfig>, pool: &Pool) -> Result<Option<FleetServer>, CommandError> {
    let Some(config) = config else { return Ok(None) };
    let server = FleetServer::start(config, pool).await.map_err(fleet_error)?;
    let scheme = if config.tls.is_some() { "wss" } else { "ws" };
    info!(address = %server.local_addr(), "serving jobs to fleet workers: regsolver worker --connect {scheme}://{}", server.local_addr());
    Ok(Some(server))
}

/// `status --fleet URL`: the coordinator's workers, or `None` without `--fleet`.
pub(super) fn fleet_status(args: &FleetStatusArgs) -> Result<Option<(String, Vec<WorkerStatus>)>, CommandError> {
    let Some(url) = &args.fleet else { return Ok(None) };
    check_url(url).map_err(fleet_error)?;
    let token = args.fleet_token_file.as_deref().map(Token::from_file).transpose().map_err(fleet_error)?;
    let tls = args.fleet_ca.as_deref().map(tls::client_config).transpose().map_err(fleet_error)?;
    let workers = runtime()?.block_on(status::query_workers(url, token.as_ref(), tls, STATUS_TIMEOUT)).map_err(fleet_error)?;
    Ok(Some((url.clone(), workers)))
}

/// This machine's host name, for `--name`'s default.
fn host_name() -> String {
    let name =
        std::fs::read_to_string("/proc/sys/kernel/hostname").or_else(|_| std::fs::read_to_string("/etc/hostname")).unwrap_or_default();
    match name.trim() {
        "" => "worker".into(),
        name => name.into(),
    }
}

/// `regsolver worker --connect URL ...`
pub fn worker(args: WorkerArgs) -> Result<(), CommandError> {
    // First: device probing below may already start a driver's threads.
    let mut signals = super::signals::take()?;
    super::root::check(args.allow_root)?;
    check_url(&args.connect).map_err(fleet_error)?;
    let token = args.token_file.as_deref().map(Token::from_file).transpose().map_err(fleet_error)?;
    let tls = args.ca.as_deref().map(tls::client_config).transpose().map_err(fleet_error)?;
    if tls.is_some() && !args.connect.starts_with("wss://") {
        return Err(usage("--ca is for a coordinator serving TLS: connect with wss://"));
    }
    let name = args.name.clone().unwrap_or_else(host_name);
    if name.trim().is_empty() {
        return Err(usage("--name must not be empty"));
    }
    let selection = args.devices.chain_selection(&args.backend)?;
    let specs = selection::specs(&selection)?;
    let mut config = WorkerConfig::new(args.connect.clone(), token, name.clone());
    config.tls = tls;
    runtime()?.block_on(async move {
        let pool = Arc::new(Pool::start(specs));
        info!(coordinator = %config.url, name = %name, "fleet worker: following the coordinator's jobs (no wallet, no chain)");
        let follow = async {
            while !pool.all_settled() {
                tokio::time::sleep(SETTLE_POLL).await;
            }
            if !pool.any_alive() {
                return Err(CommandError::DeviceUnavailable("no device passed its self-test (see above)".into()));
            }
            run_worker(config, pool.clone(), pool.verdicts()).await.map_err(fleet_error)
        };
        let outcome = tokio::select! {
            result = follow => Some(result),
            signal = super::signals::stopped(&mut signals, || info!("SIGHUP: a worker has no configuration to reload")) => {
                info!("{signal}: stopping the devices");
                None
            }
        };
        match stop_devices(&pool, outcome)? {
            None => Ok(()),
            Some(Ok(())) => {
                warn!("the local devices stopped; the worker ends");
                Ok(())
            }
            Some(Err(err)) => Err(err),
        }
    })
}
