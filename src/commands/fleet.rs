//! The fleet commands, thin: `regsolver worker` (follow a coordinator's jobs on this rig's
//! devices, no wallet, no chain), the daemon's `--serve` (a coordinator beside the daemon's
//! pool), and `status --fleet` (a coordinator's connected workers).

use std::sync::Arc;
use std::time::Duration;

use tracing::{info, warn};

use super::chain::{runtime, STOP_LIMIT};
use super::{usage, CommandError};
use crate::cli::{FleetStatusArgs, ServeArgs, WorkerArgs};
use crate::fleet::worker::check_url;
use crate::fleet::{run_worker, status, tls, FleetError, FleetServer, Limits, ServeConfig, Token, WorkerConfig, WorkerStatus};
use crate::selection::{self, DeviceSelection};
use crate::solver::pool::{Pool, WorkerSpec};

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

/// The coordinator's flags make sense together: each needs `--serve`, TLS needs both files.
fn check(args: &ServeArgs) -> Result<(), CommandError> {
    let without_serve = [
        (args.token_file.is_some(), "--token-file"),
        (args.tls_cert.is_some(), "--tls-cert"),
        (args.tls_key.is_some(), "--tls-key"),
        (args.no_local_devices, "--no-local-devices"),
    ];
    if args.serve.is_none() {
        if let Some((_, flag)) = without_serve.iter().find(|(given, _)| *given) {
            return Err(usage(format!("{flag} is for a fleet coordinator: add --serve [ADDR]")));
        }
    }
    if args.tls_cert.is_some() != args.tls_key.is_some() {
        return Err(usage("--tls-cert and --tls-key go together: give both (PEM files)"));
    }
    Ok(())
}

/// The daemon's own devices: none with `--serve --no-local-devices`, else the selection's.
pub(super) fn local_specs(serve: Option<&ServeArgs>, selection: &DeviceSelection) -> Result<Vec<WorkerSpec>, CommandError> {
    if let Some(args) = serve {
        check(args)?;
    }
    match serve {
        Some(args) if args.serve.is_some() && args.no_local_devices => {
            info!("--no-local-devices: only the fleet's workers search");
            Ok(Vec::new())
        }
        _ => Ok(selection::specs(selection)?),
    }
}

/// Starts the coordinator beside `pool` when `--serve` was given.
pub(super) async fn serve(serve: Option<&ServeArgs>, pool: &Pool) -> Result<Option<FleetServer>, CommandError> {
    let Some(args) = serve else { return Ok(None) };
    let Some(addr) = args.serve else { return Ok(None) };
    let config = ServeConfig {
        addr,
        token_file: args.token_file.clone(),
        tls: args.tls_cert.clone().zip(args.tls_key.clone()),
        limits: Limits::default(),
    };
    let server = FleetServer::start(&config, pool).await.map_err(fleet_error)?;
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
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").or_else(|_| std::fs::read_to_string("/etc/hostname")).unwrap_or_default();
    match name.trim() {
        "" => "worker".into(),
        name => name.into(),
    }
}

/// SIGINT and SIGTERM, blocked in every thread started from now on and taken by one thread with
/// `sigwait`: no signal handler runs at all, so a device library that installs its own (PoCL's
/// LLVM does when it compiles a kernel, and its handler ended the process) never sees them.
/// Call before any other thread starts. Resolves with the signal's name.
fn stop_signals() -> Result<tokio::sync::oneshot::Receiver<&'static str>, CommandError> {
    let failed = |what: &str| CommandError::Failed(format!("cannot take SIGINT/SIGTERM: {what}"));
    // SAFETY: sigemptyset/sigaddset/pthread_sigmask on a local, initialised set.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return Err(failed("pthread_sigmask"));
        }
        set
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut signal = 0;
            // SAFETY: `set` is initialised and blocked in this thread (inherited from its creator).
            while unsafe { libc::sigwait(&set, &mut signal) } != 0 {}
            let _ = tx.send(if signal == libc::SIGINT { "SIGINT" } else { "SIGTERM" });
        })
        .map_err(|e| failed(&e.to_string()))?;
    Ok(rx)
}

/// `regsolver worker --connect URL ...`
pub fn worker(args: WorkerArgs) -> Result<(), CommandError> {
    // First: device probing below may already start a driver's threads.
    let stop = stop_signals()?;
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
            signal = stop => {
                info!("{}: stopping the devices", signal.unwrap_or("a stop signal"));
                None
            }
        };
        pool.shutdown();
        let stopped = pool.join(STOP_LIMIT);
        match outcome {
            None if stopped => Ok(()),
            None => Err(CommandError::Failed("the devices did not stop within 2 s".into())),
            Some(Ok(())) => {
                warn!("the local devices stopped; the worker ends");
                Ok(())
            }
            Some(Err(err)) => Err(err),
        }
    })
}
