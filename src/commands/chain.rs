//! The chain commands, thin: the daemon (no subcommand), `status`, `faucet` and `config check`.
//! Flags, environment and configuration file become one [`Config`] (flags win), then the
//! daemon's options and device selection; devices start in a pool, the loop runs on tokio until
//! it is done or interrupted (SIGINT/SIGTERM: devices stop, exit 0 promptly; SIGHUP: the
//! configuration file is checked again and changes are reported, applied at the next start).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use regsolver::daemon::CancellationToken;
use tracing::{info, warn};

use super::lifecycle::{runtime, stop_devices, RUNTIME_STACK_BYTES};
use super::{signals, usage, CommandError};
use crate::cli::{DaemonArgs, DeviceArgs, FaucetArgs, SimdArg, StatusArgs, TargetArgs};
use regsolver::config::{self, Config, ConfigError, FlagOverrides, Hotkeys, Key, LoadedConfig, DEFAULT_WALLET_PATH};
use regsolver::daemon::observe::Observer;
use regsolver::daemon::report::Reporter;
use regsolver::daemon::status::{self, Status};
use regsolver::daemon::{DaemonError, DaemonOptions, HotkeyResult};
use regsolver::fleet::protocol::WorkerStatus;
use regsolver::fleet::ServeConfig;
use regsolver::pow::AccountId;
use regsolver::solver::bench::measure;
use regsolver::solver::pool::Pool;
use regsolver::solver::selection::{self, DeviceIds, DeviceSelection};
use regsolver::solver::GpuTuning;
use regsolver::telemetry::metrics::Telemetry;
use regsolver::telemetry::notify::Notifier;
use regsolver::telemetry::{self, LoggingError};
use regsolver::wallet::{PasswordSource, Wallet, WalletError};

/// Runs `work` (a `block_on`) on a thread with the runtime's stack size: the future is polled
/// on the calling thread, and the main thread's 8 MiB is too little for subxt's futures in an
/// unoptimised build.
pub(super) fn on_big_stack<T: Send>(work: impl FnOnce() -> T + Send) -> Result<T, CommandError> {
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new().name("chain".into()).stack_size(RUNTIME_STACK_BYTES).spawn_scoped(scope, work);
        let thread = thread.map_err(|e| CommandError::Failed(format!("cannot start a thread: {e}")))?;
        thread.join().map_err(|_| CommandError::Failed("the chain thread panicked".into()))
    })
}

impl From<DaemonError> for CommandError {
    fn from(err: DaemonError) -> Self {
        CommandError::Chain { code: super::exit::for_stop(err.reason()), message: err.to_string() }
    }
}

impl From<ConfigError> for CommandError {
    fn from(err: ConfigError) -> Self {
        CommandError::Usage(err.to_string())
    }
}

impl From<LoggingError> for CommandError {
    fn from(err: LoggingError) -> Self {
        CommandError::Usage(err.to_string())
    }
}

/// `regsolver --subnet N ...`
pub fn daemon(args: DaemonArgs, verbose: bool) -> Result<(), CommandError> {
    let flags = daemon_flags(&args);
    let loaded = load(&args.target, &flags)?;
    let config = &loaded.config;
    telemetry::init_logging(config.log_format, verbose)?;
    super::root::check(config.allow_root)?;
    let netuid = config.subnet.ok_or_else(|| {
        usage("--subnet N is required: the subnet to register on (or `subnet = N` in the configuration file; see --help)")
    })?;
    if netuid == 0 {
        // Said before connecting: no chain state can change it.
        return Err(DaemonError::NoPowRegistration(
            "subnet 0 is the root network, which has no proof-of-work registration: choose another with --subnet N".into(),
        )
        .into());
    }
    let (wallet, password) = open_wallet(config)?;
    let hotkeys = hotkey_names(&wallet, config)?;
    let selection = device_selection(config)?;
    let options = options(&loaded, wallet, password, netuid, hotkeys, false)?;
    let reload = Reload { files: loaded.files.clone(), flags, current: config.clone() };
    run(options, &selection, config, args.target.json, Some(reload), config.serve.fleet().as_ref())
}

/// `regsolver faucet ...`
pub fn faucet(args: FaucetArgs, verbose: bool) -> Result<(), CommandError> {
    let mut flags = target_flags(&args.target);
    flags.dry_run = args.dry_run.then_some(true);
    flags.allow_root = args.allow_root.then_some(true);
    let loaded = load(&args.target, &flags)?;
    let config = &loaded.config;
    telemetry::init_logging(config.log_format, verbose)?;
    super::root::check(config.allow_root)?;
    let (wallet, password) = open_wallet(config)?;
    let selection = device_selection(config)?;
    let mut options = options(&loaded, wallet, password, 0, Vec::new(), true)?;
    options.keep_going = false;
    options.wait = false;
    options.burn = None;
    run(options, &selection, config, args.target.json, None, None)
}

/// `regsolver status ...`
pub fn status(args: StatusArgs, verbose: bool) -> Result<(), CommandError> {
    if !(args.measure_seconds.is_finite() && args.measure_seconds > 0.0 && args.measure_seconds <= 60.0) {
        return Err(usage("--measure-seconds must be more than 0 and at most 60"));
    }
    let mut flags = target_flags(&args.target);
    flags.subnet = args.subnet;
    let loaded = load(&args.target, &flags)?;
    let config = &loaded.config;
    telemetry::init_logging(config.log_format, verbose)?;
    let Some(netuid) = config.subnet else {
        // `status --fleet URL` alone: the coordinator's workers; no wallet, chain or device.
        let Some((url, workers)) = super::fleet::fleet_status(&args.fleet)? else {
            return Err(usage("--subnet N is required: the subnet to report on (or --fleet URL alone: a coordinator's workers)"));
        };
        print_status(None, Some((&url, &workers)), args.target.json);
        return Ok(());
    };
    let (wallet, _) = open_wallet(config)?;
    let names = hotkey_names(&wallet, config)?;
    let hotkeys: Vec<(String, AccountId)> = names
        .iter()
        .map(|name| Ok((name.clone(), wallet.hotkey_public(name)?)))
        .collect::<Result<_, regsolver::wallet::WalletError>>()
        .map_err(DaemonError::from)?;
    let specs = selection::specs(&device_selection(config)?)?;
    let (endpoint, genesis) = endpoint(&loaded)?;
    let seconds = Duration::from_secs_f64(args.measure_seconds);
    let measured = move |scheme| measure(specs, scheme, seconds).map(|r| r.iter().map(|x| x.seals_per_second).sum()).unwrap_or(0.0);
    let deadline = Duration::from_secs(config.retry.connect_deadline_s);
    let runtime = runtime()?;
    let report: Status = on_big_stack(|| {
        runtime.block_on(status::status(&endpoint, genesis, deadline, netuid, &hotkeys, config.seal_byte_order, measured))
    })??;
    let fleet = super::fleet::fleet_status(&args.fleet)?;
    print_status(Some(&report), fleet.as_ref().map(|(url, workers)| (url.as_str(), workers.as_slice())), args.target.json);
    Ok(())
}

/// `status`'s report: the chain's and the hotkeys' (with `--subnet`), a coordinator's workers
/// (with `--fleet`), as text or one JSON object.
fn print_status(report: Option<&Status>, fleet: Option<(&str, &[WorkerStatus])>, json: bool) {
    if json {
        let mut value = report.map_or_else(|| serde_json::json!({}), |r| serde_json::to_value(r).unwrap_or_default());
        if let (Some((_, workers)), Some(object)) = (fleet, value.as_object_mut()) {
            object.insert("fleet".into(), serde_json::to_value(workers).unwrap_or_default());
        }
        println!("{value}");
        return;
    }
    if let Some(report) = report {
        print!("{}", status::text(report));
    }
    if let Some((url, workers)) = fleet {
        print!("{}", regsolver::fleet::status::workers_text(url, workers));
    }
}

/// `regsolver config check ...`: the effective configuration, each value with its source.
pub fn config_check(args: DaemonArgs) -> Result<(), CommandError> {
    let loaded = load(&args.target, &daemon_flags(&args))?;
    if args.target.json {
        println!("{}", config::explain_json(&loaded));
    } else {
        print!("{}", config::explain(&loaded));
    }
    Ok(())
}

pub(super) fn load(target: &TargetArgs, flags: &FlagOverrides) -> Result<LoadedConfig, CommandError> {
    Ok(config::load(target.config.as_deref(), flags)?)
}

/// The flags every chain command shares, as configuration overrides (only those given).
pub(super) fn target_flags(target: &TargetArgs) -> FlagOverrides {
    let devices: &DeviceArgs = &target.devices;
    FlagOverrides {
        network: target.chain.network.clone(),
        chain_endpoint: target.chain.chain_endpoint.clone(),
        wallet_name: target.wallet.wallet_name.clone(),
        wallet_hotkey: target.wallet.wallet_hotkey.clone(),
        wallet_hotkeys: target.wallet.wallet_hotkeys.clone(),
        wallet_path: target.wallet.wallet_path.clone(),
        coldkey_password_file: target.wallet.coldkey_password_file.clone(),
        seal_byte_order: target.seal_byte_order.clone(),
        backends: target.backend.clone(),
        threads: devices.threads,
        simd: devices.simd.map(|simd| match simd {
            SimdArg::Level(level) => level.name().to_string(),
            SimdArg::All => "all".to_string(),
        }),
        gpu: devices.gpu.clone(),
        opencl: devices.opencl.clone(),
        gpu_threads: devices.gpu_threads,
        gpu_nonces_per_thread: devices.gpu_nonces_per_thread,
        log_format: target.log_format.clone(),
        connect_deadline_s: target.chain.connect_deadline,
        spelled: crate::cli::typed_aliases(std::env::args()),
        ..FlagOverrides::default()
    }
}

fn daemon_flags(args: &DaemonArgs) -> FlagOverrides {
    FlagOverrides {
        subnet: args.subnet,
        metrics: args.metrics.clone(),
        max_backoff_s: args.max_backoff,
        wait: args.wait.then_some(true),
        max_difficulty: args.max_difficulty,
        keep_going: args.keep_going.then_some(true),
        dry_run: args.dry_run.then_some(true),
        allow_root: args.allow_root.then_some(true),
        serve: args.serve.serve,
        token_file: args.serve.token_file.clone(),
        tls_cert: args.serve.tls_cert.clone(),
        tls_key: args.serve.tls_key.clone(),
        local_devices: args.serve.no_local_devices.then_some(false),
        burn_max: args.burn.burn_max.clone(),
        burn_after: args.burn.burn_after.clone(),
        burn_budget: args.burn.burn_budget.clone(),
        allow_origins: (!args.serve.allow_origins.is_empty()).then(|| args.serve.allow_origins.clone()),
        ..target_flags(&args.target)
    }
}

/// The devices a chain command searches with: `devices.backends` if given; otherwise the GPUs
/// the configuration selects (plus the CPU if its threads are set), or the CPU alone.
pub(super) fn device_selection(config: &Config) -> Result<DeviceSelection, CommandError> {
    let devices = &config.devices;
    let gpus = devices.cuda.select.is_some() || devices.opencl.select.is_some();
    let selection = DeviceSelection {
        backends: selection::chain_backends(&devices.backends, gpus, devices.cpu.threads.is_some()),
        threads: devices.cpu.threads,
        simd: devices.cpu.simd,
        gpu: devices.cuda.select.as_deref().map(DeviceIds::cuda).transpose()?,
        opencl: devices.opencl.select.as_deref().map(DeviceIds::opencl).transpose()?,
        cuda_tuning: GpuTuning { threads: devices.cuda.gpu_threads, nonces_per_thread: devices.cuda.gpu_nonces_per_thread },
        opencl_tuning: GpuTuning { threads: devices.opencl.gpu_threads, nonces_per_thread: devices.opencl.gpu_nonces_per_thread },
    };
    selection.validate()?;
    Ok(selection)
}

pub(super) fn open_wallet(config: &Config) -> Result<(Wallet, PasswordSource), CommandError> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let root = config.wallet.path_expanded(home.as_deref());
    let wallet = Wallet::open(&root, &config.wallet.name).map_err(|e| wallet_error(e, config))?;
    let mut password = PasswordSource::default();
    let credentials = std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from);
    if let Some(file) = config.coldkey_password_path(credentials.as_deref()) {
        // A configured password file that cannot be opened is bad input, said at once: not
        // after minutes of connecting, when the coldkey is first needed.
        readable(&file).map_err(|reason| DaemonError::from(regsolver::wallet::WalletError::PasswordFile { path: file.clone(), reason }))?;
        password = password.with_file(file);
    }
    Ok((wallet, password))
}

/// Whether `path` is a file this process can open for reading (without reading it).
fn readable(path: &std::path::Path) -> Result<(), String> {
    if path.is_dir() {
        return Err("it is a folder".into());
    }
    std::fs::File::open(path).map(drop).map_err(|e| e.to_string())
}

/// The configured hotkeys (`all`: every hotkey of the wallet), each checked to exist.
fn hotkey_names(wallet: &Wallet, config: &Config) -> Result<Vec<String>, CommandError> {
    let names = match config.wallet.selection() {
        Hotkeys::All => wallet.hotkey_names().map_err(DaemonError::from)?,
        Hotkeys::Named(names) => names,
    };
    if names.is_empty() {
        return Err(usage(format!("wallet {} has no hotkeys to register", wallet.name())));
    }
    for name in &names {
        wallet.hotkey_public(name).map_err(|e| wallet_error(e, config))?;
    }
    Ok(names)
}

/// A wallet error as a command's (exit 2); a missing wallet or hotkey also says how to make one
/// with the official tool, under the names looked for.
fn wallet_error(err: WalletError, config: &Config) -> CommandError {
    let wallet = &config.wallet;
    let at = match wallet.path.to_str() {
        Some(DEFAULT_WALLET_PATH) => String::new(),
        _ => format!(" --wallet.path {}", wallet.path.display()),
    };
    let hint = match &err {
        WalletError::MissingWallet { .. } => {
            let hotkey = match wallet.selection() {
                Hotkeys::Named(names) => names.first().cloned().unwrap_or_else(|| wallet.hotkey.clone()),
                Hotkeys::All => wallet.hotkey.clone(),
            };
            format!(
                "create it with `btcli wallet create --wallet.name {}{at} --wallet.hotkey {hotkey}` (README: First registration)",
                wallet.name
            )
        }
        WalletError::UnknownHotkey { name, .. } => {
            format!("or create it with `btcli wallet new_hotkey --wallet.name {}{at} --wallet.hotkey {name}`", wallet.name)
        }
        _ => return DaemonError::from(err).into(),
    };
    usage(format!("{err}; {hint}"))
}

/// Where to connect, and the genesis the chain there must have: a named network's (finney, test)
/// when the network was set; none for an endpoint given alone, which means that endpoint's own
/// chain (named by its genesis once connected).
pub(super) fn endpoint(loaded: &LoadedConfig) -> Result<(regsolver::chain::Endpoint, Option<[u8; 32]>), CommandError> {
    let config = &loaded.config;
    let network = &config.network;
    let endpoint = network.endpoint(config.chain_endpoint.as_deref()).map_err(|e| usage(format!("--chain-endpoint: {e}")))?;
    let own_chain = config.chain_endpoint.is_some() && !loaded.is_set(Key::Network);
    Ok((endpoint, if own_chain { None } else { network.expected_genesis() }))
}

fn options(
    loaded: &LoadedConfig,
    wallet: Wallet,
    password: PasswordSource,
    netuid: u16,
    hotkeys: Vec<String>,
    faucet: bool,
) -> Result<DaemonOptions, CommandError> {
    let config = &loaded.config;
    let (endpoint, expected_genesis) = endpoint(loaded)?;
    Ok(DaemonOptions {
        endpoint,
        expected_genesis,
        connect_deadline: Duration::from_secs(config.retry.connect_deadline_s),
        netuid,
        faucet,
        wallet,
        hotkeys,
        password,
        byte_order: config.seal_byte_order,
        dry_run: config.dry_run,
        wait: config.wait,
        max_difficulty: config.max_difficulty,
        keep_going: config.keep_going,
        max_backoff: Duration::from_secs(config.retry.max_backoff_s),
        burn: burn_options(config)?,
    })
}

/// `burn_max`, `burn_after`, `burn_budget` validated, with the ledger's place from the
/// environment (`$STATE_DIRECTORY` under systemd); `None` without `burn_max`.
fn burn_options(config: &Config) -> Result<Option<regsolver::burn::BurnOptions>, CommandError> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let ledger =
        regsolver::burn::ledger::default_path(var("STATE_DIRECTORY").as_deref(), var("XDG_STATE_HOME").as_deref(), var("HOME").as_deref());
    regsolver::burn::BurnOptions::parse(config.burn_max.as_deref(), config.burn_after.as_deref(), config.burn_budget.as_deref(), ledger)
        .map_err(|e| usage(e.to_string()))
}

/// What SIGHUP re-reads: the same files with the same flags, compared with what runs.
struct Reload {
    files: Vec<PathBuf>,
    flags: FlagOverrides,
    current: Config,
}

impl Reload {
    /// Loads the configuration again and says what changed (applied at the next start: a running
    /// registration is not restarted under the operator's feet) or what is wrong with it.
    fn check(&self) {
        match config::load_from(&self.files, config::EnvOverrides::from_process(), &self.flags) {
            Err(err) => warn!("SIGHUP: the configuration no longer loads; the daemon runs on with the old one:\n{err}"),
            Ok(loaded) => {
                let old = config::values(&self.current);
                let new = config::values(&loaded.config);
                let changed: Vec<&str> = old.iter().zip(&new).filter(|(a, b)| a.1 != b.1).map(|(a, _)| a.0).collect();
                if changed.is_empty() {
                    info!("SIGHUP: the configuration is unchanged");
                } else {
                    warn!("SIGHUP: the configuration changed ({}); restart regsolver to apply it (systemctl restart)", changed.join(", "));
                }
            }
        }
    }
}

/// Starts the devices (and the metrics endpoint), runs the loop until it is done or
/// interrupted, stops the devices.
fn run(
    options: DaemonOptions,
    selection: &DeviceSelection,
    config: &Config,
    json: bool,
    reload: Option<Reload>,
    serve: Option<&ServeConfig>,
) -> Result<(), CommandError> {
    // First: device probing below may already start a driver's threads.
    let mut signals = signals::take()?;
    let specs = super::fleet::local_specs(serve.is_some() && !config.serve.local_devices, selection)?;
    let netuid = options.netuid;
    // The status line's title: the named network, else the endpoint whose own chain it is.
    let network =
        options.expected_genesis.map_or_else(|| options.endpoint.to_string(), |g| regsolver::chain::network::chain_name(&g).to_string());
    let metrics = config.metrics.address;
    let limits = config.health_limits();
    runtime()?.block_on(async move {
        let telemetry = match metrics {
            Some(addr) => Some(Telemetry::install(addr, limits).await.map_err(|e| usage(e.to_string()))?),
            None => None,
        };
        let observer = Arc::new(Observer::new(telemetry, Notifier::from_env()));
        let pool = Arc::new(Pool::start(specs));
        let fleet = super::fleet::serve(serve, &pool).await?;
        let coordinator = fleet.as_ref().map(|f| f.coordinator().clone());
        let reporter = Reporter::new(json, &format!("{network} subnet {netuid}"));
        // The loop and the sampler stop on `stop` and are awaited (the process's 10 s backstop in
        // `signals` is the last resort, for a loop blocked outside an await).
        let stop = CancellationToken::new();
        let sampler = observer.spawn_sampler(pool.clone(), coordinator, reporter.clone(), stop.clone());
        let mut daemon = tokio::spawn(regsolver::daemon::run(options, pool.clone(), reporter, observer.clone(), stop.clone()));
        let failed = |join: tokio::task::JoinError| Some(Err(DaemonError::Other(format!("the daemon's loop failed: {join}"))));
        let outcome = tokio::select! {
            result = &mut daemon => result.unwrap_or_else(failed),
            signal = signals::stopped(&mut signals, || match &reload {
                Some(reload) => reload.check(),
                None => info!("SIGHUP: nothing to reload"),
            }) => {
                info!("{signal}: stopping the loop and the devices");
                None
            }
        };
        stop.cancel();
        if outcome.is_none() {
            // Stopped by a signal: the loop is awaited, and ends at its next await.
            let _ = daemon.await;
        }
        // The sampler first: nothing follows STOPPING=1.
        let _ = sampler.await;
        if let Some(fleet) = fleet {
            fleet.shutdown().await;
        }
        observer.stopping();
        match stop_devices(&pool, outcome)? {
            None => Ok(()),
            Some(Ok(results)) => finish(&results, json),
            Some(Err(err)) => Err(err.into()),
        }
    })
}

/// Every hotkey's result; with `--json` the events already said it.
fn finish(results: &[HotkeyResult], json: bool) -> Result<(), CommandError> {
    if !json {
        let done: Vec<String> =
            results.iter().map(|r| format!("{} UID {}", r.hotkey, r.uid.map_or("?".into(), |u| u.to_string()))).collect();
        info!("done: {}", done.join(", "));
    }
    Ok(())
}
