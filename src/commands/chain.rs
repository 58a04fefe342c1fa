//! The chain commands, thin: the daemon (no subcommand), `status` and `faucet`. Flags become the
//! daemon's options, devices start in a pool, the loop runs on tokio until it is done or
//! interrupted (SIGINT/SIGTERM: devices stop, exit 0 promptly).

use std::sync::Arc;
use std::time::Duration;

use tracing::info;

use super::{usage, CommandError};
use crate::chain::Network;
use crate::cli::{ChainArgs, DaemonArgs, FaucetArgs, StatusArgs, WalletArgs};
use crate::daemon::report::Reporter;
use crate::daemon::status::{self, Status};
use crate::daemon::{DaemonError, DaemonOptions, HotkeyResult};
use crate::pow::AccountId;
use crate::selection::{self, DeviceSelection};
use crate::solver::bench::measure;
use crate::solver::pool::Pool;
use crate::wallet::{default_root, expand_home, PasswordSource, Wallet};

/// How long the devices get to stop after an interruption.
pub(super) const STOP_LIMIT: Duration = Duration::from_secs(2);

impl From<DaemonError> for CommandError {
    fn from(err: DaemonError) -> Self {
        CommandError::Chain { code: err.exit_code(), message: err.to_string() }
    }
}

/// `regsolver --subnet N ...`
pub fn daemon(args: DaemonArgs) -> Result<(), CommandError> {
    let netuid = args.subnet.ok_or_else(|| usage("--subnet N is required: the subnet to register on (see --help)"))?;
    let (wallet, password) = open_wallet(&args.wallet)?;
    let hotkeys = hotkey_names(&wallet, &args.wallet)?;
    let selection = args.devices.chain_selection(&args.backend)?;
    let options = options(&args.chain, wallet, password, netuid, hotkeys, false, args.seal_byte_order, args.dry_run)?;
    run(options, &selection, &args.chain.network, args.json, Some(&args.serve))
}

/// `regsolver faucet ...`
pub fn faucet(args: FaucetArgs) -> Result<(), CommandError> {
    let (wallet, password) = open_wallet(&args.wallet)?;
    let selection = args.devices.chain_selection(&args.backend)?;
    let options = options(&args.chain, wallet, password, 0, Vec::new(), true, None, args.dry_run)?;
    run(options, &selection, &args.chain.network, args.json, None)
}

/// `regsolver status ...`
pub fn status(args: StatusArgs) -> Result<(), CommandError> {
    if !(args.measure_seconds.is_finite() && args.measure_seconds > 0.0 && args.measure_seconds <= 60.0) {
        return Err(usage("--measure-seconds must be more than 0 and at most 60"));
    }
    let (wallet, _) = open_wallet(&args.wallet)?;
    let names = hotkey_names(&wallet, &args.wallet)?;
    let hotkeys: Vec<(String, AccountId)> =
        names.iter().map(|name| Ok((name.clone(), wallet.hotkey_public(name)?))).collect::<Result<_, crate::wallet::WalletError>>().map_err(DaemonError::from)?;
    let selection = args.devices.chain_selection(&args.backend)?;
    let specs = selection::specs(&selection)?;
    let (endpoint, genesis) = endpoint(&args.chain)?;
    let seconds = Duration::from_secs_f64(args.measure_seconds);
    let measured = move |scheme| measure(specs, scheme, seconds).map(|r| r.iter().map(|x| x.seals_per_second).sum()).unwrap_or(0.0);
    let deadline = Duration::from_secs(args.chain.connect_timeout);
    let report: Status = runtime()?.block_on(status::status(&endpoint, genesis, deadline, args.subnet, &hotkeys, args.seal_byte_order, measured))?;
    let fleet = super::fleet::fleet_status(&args.fleet)?;
    if args.json {
        let mut value = serde_json::to_value(&report).unwrap_or_default();
        if let (Some((_, workers)), Some(object)) = (&fleet, value.as_object_mut()) {
            object.insert("fleet".into(), serde_json::to_value(workers).unwrap_or_default());
        }
        println!("{value}");
    } else {
        print!("{}", status::text(&report));
        if let Some((url, workers)) = &fleet {
            print!("{}", crate::fleet::status::workers_text(url, workers));
        }
    }
    Ok(())
}

pub(super) fn runtime() -> Result<tokio::runtime::Runtime, CommandError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CommandError::Failed(format!("cannot start the async runtime: {e}")))
}

fn open_wallet(args: &WalletArgs) -> Result<(Wallet, PasswordSource), CommandError> {
    let root = args.wallet_path.as_deref().map(expand_home).unwrap_or_else(default_root);
    let wallet = Wallet::open(&root, &args.wallet_name).map_err(DaemonError::from)?;
    let mut password = PasswordSource::default();
    if let Some(file) = &args.coldkey_password_file {
        password = password.with_file(file.clone());
    } else if let Some(credentials) = std::env::var_os("CREDENTIALS_DIRECTORY") {
        // systemd's LoadCredential=coldkey-password:...
        let file = std::path::Path::new(&credentials).join("coldkey-password");
        if file.exists() {
            password = password.with_file(file);
        }
    }
    Ok((wallet, password))
}

/// `--wallet.hotkeys h1,h2` or `all`, else `--wallet.hotkey`.
fn hotkey_names(wallet: &Wallet, args: &WalletArgs) -> Result<Vec<String>, CommandError> {
    let names = match args.wallet_hotkeys.as_deref() {
        Some([all]) if all == "all" => wallet.hotkey_names().map_err(DaemonError::from)?,
        Some(names) => names.iter().map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).collect(),
        None => vec![args.wallet_hotkey.clone()],
    };
    if names.is_empty() {
        return Err(usage(format!("wallet {} has no hotkeys to register", wallet.name())));
    }
    for name in &names {
        wallet.hotkey_public(name).map_err(DaemonError::from)?;
    }
    Ok(names)
}

fn endpoint(args: &ChainArgs) -> Result<(crate::chain::Endpoint, Option<[u8; 32]>), CommandError> {
    let network: Network = args.network.parse().map_err(|e: crate::chain::NetworkParseError| usage(format!("--network: {e}")))?;
    let endpoint = network.endpoint(args.chain_endpoint.as_deref()).map_err(|e| usage(format!("--chain-endpoint: {e}")))?;
    Ok((endpoint, network.expected_genesis()))
}

#[allow(clippy::too_many_arguments)] // one call site per command; a struct would only rename them
fn options(
    chain: &ChainArgs,
    wallet: Wallet,
    password: PasswordSource,
    netuid: u16,
    hotkeys: Vec<String>,
    faucet: bool,
    byte_order: Option<crate::pow::ByteOrder>,
    dry_run: bool,
) -> Result<DaemonOptions, CommandError> {
    let (endpoint, expected_genesis) = endpoint(chain)?;
    Ok(DaemonOptions {
        endpoint,
        expected_genesis,
        connect_deadline: Duration::from_secs(chain.connect_timeout),
        netuid,
        faucet,
        wallet,
        hotkeys,
        password,
        byte_order,
        dry_run,
    })
}

/// Starts the devices, runs the loop until it is done or interrupted, stops the devices.
fn run(options: DaemonOptions, selection: &DeviceSelection, network: &str, json: bool, serve: Option<&crate::cli::ServeArgs>) -> Result<(), CommandError> {
    let specs = super::fleet::local_specs(serve, selection)?;
    let netuid = options.netuid;
    runtime()?.block_on(async move {
        let pool = Arc::new(Pool::start(specs));
        let _fleet = super::fleet::serve(serve, &pool).await?;
        let reporter = Reporter::new(json);
        reporter.spawn_status_line(pool.clone(), network.to_string(), netuid);
        let outcome = tokio::select! {
            result = crate::daemon::run(options, pool.clone(), reporter) => Some(result),
            signal = interrupted() => {
                info!("{signal}: stopping the devices");
                None
            }
        };
        pool.shutdown();
        let stopped = pool.join(STOP_LIMIT);
        match outcome {
            None if stopped => Ok(()),
            None => Err(CommandError::Failed("the devices did not stop within 2 s".into())),
            Some(Ok(results)) => finish(&results, json),
            Some(Err(err)) => Err(err.into()),
        }
    })
}

/// Every hotkey's result; with `--json` the events already said it.
fn finish(results: &[HotkeyResult], json: bool) -> Result<(), CommandError> {
    if !json {
        let done: Vec<String> = results.iter().map(|r| format!("{} UID {}", r.hotkey, r.uid.map_or("?".into(), |u| u.to_string()))).collect();
        info!("done: {}", done.join(", "));
    }
    Ok(())
}

/// Resolves on SIGINT or SIGTERM, naming which.
async fn interrupted() -> &'static str {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}

