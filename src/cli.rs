//! Command-line definitions (clap): the daemon (no subcommand), `status`, `faucet`,
//! `config check`, `solve`, `bench`, `devices`, and their conversion into the library's plain types (values clap cannot
//! range-check are checked there).

use clap::{Args, Parser, Subcommand};

use regsolver::config::Key;
use regsolver::pow::{ByteOrder, Scheme, UnknownName};
use regsolver::solver::cpu::SimdLevel;
use regsolver::solver::selection::{DeviceIds, DeviceSelection, SelectionError, DEFAULT_GPU_NONCES_PER_THREAD};
use regsolver::solver::{Backend, GpuTuning};

#[derive(Parser, Debug)]
#[command(
    name = "regsolver",
    version,
    about = "Proof-of-work registration for Bittensor's subtensor chain: `regsolver --subnet 1 --gpu 0` registers the default wallet's hotkey",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// Debug logging (or set REGSOLVER_LOG, e.g. REGSOLVER_LOG=debug).
    #[arg(long, short, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Without a subcommand: the registration daemon.
    #[command(flatten)]
    pub daemon: DaemonArgs,
}

impl Cli {
    /// Whether the command was asked for JSON output (errors then print JSON too).
    pub fn json(&self) -> bool {
        match &self.command {
            None => self.daemon.target.json,
            Some(Command::Status(args)) => args.target.json,
            Some(Command::Subnets(args)) => args.target.json,
            Some(Command::Faucet(args)) => args.target.json,
            Some(Command::Config(ConfigArgs { command: ConfigCommand::Check(args) })) => args.target.json,
            Some(Command::Solve(args)) => args.json,
            Some(Command::Bench(args)) => args.json,
            Some(Command::Devices(args)) => args.json,
            Some(Command::Worker(_)) => false,
        }
    }
}

/// The flag that sets each configuration key, if one does: the names every message shows for a
/// setting ([`regsolver::config::name_settings`], installed by `main`).
pub fn flag(key: Key) -> Option<&'static str> {
    Some(match key {
        Key::Network => "--network",
        Key::ChainEndpoint => "--chain-endpoint",
        Key::Subnet => "--subnet",
        Key::WalletName => "--wallet.name",
        Key::WalletHotkey => "--wallet.hotkey",
        Key::WalletHotkeys => "--wallet.hotkeys",
        Key::WalletPath => "--wallet.path",
        Key::ColdkeyPasswordFile => "--coldkey-password-file",
        Key::SealByteOrder => "--seal-byte-order",
        Key::Backends => "--backend",
        Key::CpuThreads => "--threads",
        Key::CpuSimd => "--simd",
        Key::CudaSelect => "--gpu",
        Key::CudaGpuThreads => "--gpu-threads",
        Key::CudaGpuNoncesPerThread => "--gpu-nonces-per-thread",
        Key::OpenclSelect => "--opencl",
        Key::OpenclGpuThreads => "--gpu-threads",
        Key::OpenclGpuNoncesPerThread => "--gpu-nonces-per-thread",
        Key::MetricsAddress => "--metrics",
        Key::LogFormat => "--log-format",
        Key::ConnectDeadline => "--connect-deadline",
        Key::MaxBackoff => "--max-backoff",
        Key::Wait => "--wait",
        Key::MaxDifficulty => "--max-difficulty",
        Key::KeepGoing => "--keep-going",
        Key::BurnMax => "--burn-max",
        Key::BurnAfter => "--burn-after",
        Key::BurnBudget => "--burn-budget",
        Key::DryRun => "--dry-run",
        Key::AllowRoot => "--allow-root",
        Key::ServeAddress => "--serve",
        Key::TokenFile => "--token-file",
        Key::TlsCert => "--tls-cert",
        Key::TlsKey => "--tls-key",
        Key::LocalDevices => "--no-local-devices",
        Key::AllowOrigins => "--fleet-allow-origin",
        Key::HeartbeatStale | Key::BlockStale => return None,
    })
}

/// The other spellings of configuration flags (bittensor's and older names), by configuration key.
const ALIASES: [(Key, &str); 4] = [
    (Key::Network, "--subtensor.network"),
    (Key::ChainEndpoint, "--subtensor.chain_endpoint"),
    (Key::Subnet, "--netuid"),
    (Key::ConnectDeadline, "--connect-timeout"),
];

/// The configuration keys whose flag `args` gave in another spelling, with that spelling (so a
/// message about `--subtensor.network nosuch` names `--subtensor.network`, not `--network`).
pub fn typed_aliases(args: impl IntoIterator<Item = String>) -> Vec<(Key, String)> {
    let args: Vec<String> = args.into_iter().collect();
    ALIASES
        .iter()
        .filter(|(_, alias)| args.iter().any(|a| a == alias || a.strip_prefix(alias).is_some_and(|rest| rest.starts_with('='))))
        .map(|(key, alias)| (*key, alias.to_string()))
        .collect()
}

/// `--simd`: one path, or (bench only) every path this CPU runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimdArg {
    Level(SimdLevel),
    All,
}

impl std::str::FromStr for SimdArg {
    type Err = UnknownName;
    fn from_str(text: &str) -> Result<Self, UnknownName> {
        match text {
            "all" => Ok(SimdArg::All),
            _ => text.parse().map(SimdArg::Level),
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Read-only: what the chain offers on a subnet, each hotkey's state, the burn price, and the
    /// expected time to a seal on this machine's devices; with --fleet, a coordinator's workers
    /// (--fleet alone: only those).
    Status(StatusArgs),
    /// Read-only: every subnet in one table at one block (PoW allowed, difficulty, expected time to
    /// a seal here, burn price, registrations, UIDs, the wallet's hotkeys holding a UID).
    Subnets(SubnetsArgs),
    /// Mint test TAO with the `faucet` proof of work (local networks built with pow-faucet only).
    Faucet(FaucetArgs),
    /// One offline search for a seal (no chain involved).
    Solve(SolveArgs),
    /// Measure hashrate per backend and device.
    Bench(BenchArgs),
    /// List the CPU's SIMD paths, CUDA devices and OpenCL platforms/devices.
    Devices(DevicesArgs),
    /// The configuration file: `config check` prints the effective configuration.
    Config(ConfigArgs),
    /// Solve a coordinator's jobs on this rig's devices (no wallet, no chain): see docs/fleet.md.
    Worker(WorkerArgs),
}

/// Which devices search.
#[derive(Args, Debug, Clone, Default)]
pub struct DeviceArgs {
    /// CPU worker threads (default: one per core; at most 4 per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Force a CPU SIMD path instead of the best one this CPU runs: scalar, sha-ni, avx2,
    /// avx2-sha-ni, avx512 (`bench` also takes `all`: every path this CPU runs, one row each).
    #[arg(long)]
    pub simd: Option<SimdArg>,
    /// CUDA devices: `0`, `0,2` or `all`.
    #[arg(long)]
    pub gpu: Option<String>,
    /// OpenCL devices as platform:device: `0:1`, `0:0,1:0` or `all` (GPUs and accelerators, less
    /// NVIDIA GPUs the CUDA backend drives alongside; else CPU devices, unless the CPU backend runs).
    #[arg(long)]
    pub opencl: Option<String>,
    /// GPU threads per launch, at least 1 (default: all the device holds at once: CUDA's
    /// occupancy for the kernels' register use, or 2048 per OpenCL compute unit).
    #[arg(long)]
    pub gpu_threads: Option<u32>,
    /// Nonces per GPU thread in a full batch, at least 1 (a batch is threads x this; default 64).
    #[arg(long)]
    pub gpu_nonces_per_thread: Option<u32>,
}

impl DeviceArgs {
    /// The selection these flags make, with `backends` asked for, checked for range and form.
    /// `--simd all` is refused here: only `bench` takes it (see [`DeviceArgs::simd_all`]).
    pub fn selection(&self, backends: Vec<Backend>) -> Result<DeviceSelection, SelectionError> {
        let simd = match self.simd {
            None => None,
            Some(SimdArg::Level(level)) => Some(level),
            Some(SimdArg::All) => return Err(SelectionError::Invalid("--simd all is for `bench` only; name one path".into())),
        };
        let tuning =
            GpuTuning { threads: self.gpu_threads, nonces_per_thread: self.gpu_nonces_per_thread.unwrap_or(DEFAULT_GPU_NONCES_PER_THREAD) };
        let selection = DeviceSelection {
            backends,
            threads: self.threads,
            simd,
            gpu: self.gpu.as_deref().map(DeviceIds::cuda).transpose()?,
            opencl: self.opencl.as_deref().map(DeviceIds::opencl).transpose()?,
            cuda_tuning: tuning,
            opencl_tuning: tuning,
        };
        selection.validate()?;
        Ok(selection)
    }

    /// The devices `worker` searches with: `backend` if given; otherwise the GPUs `--gpu` and
    /// `--opencl` name (plus the CPU if `--threads` is given), or the CPU alone.
    pub fn chain_selection(&self, backend: &[Backend]) -> Result<DeviceSelection, SelectionError> {
        let gpus = self.gpu.is_some() || self.opencl.is_some();
        self.selection(regsolver::solver::selection::chain_backends(backend, gpus, self.threads.is_some()))
    }

    /// Whether `--simd all` was given.
    pub fn simd_all(&self) -> bool {
        self.simd == Some(SimdArg::All)
    }
}

#[derive(Args, Debug)]
pub struct SolveArgs {
    /// pow-register, legacy or faucet.
    #[arg(long)]
    pub scheme: Scheme,
    /// Subnet (pow-register only; not 0).
    #[arg(long)]
    pub netuid: Option<u16>,
    /// Hash of the work block: 32 bytes hex (optional 0x).
    #[arg(long)]
    pub block_hash: String,
    /// Hotkey: 32 bytes hex or SS58 (pow-register, legacy).
    #[arg(long)]
    pub hotkey: Option<String>,
    /// Coldkey: 32 bytes hex or SS58 (pow-register, faucet).
    #[arg(long)]
    pub coldkey: Option<String>,
    /// Difficulty (at least 1); faucet defaults to 1,000,000.
    #[arg(long)]
    pub difficulty: Option<u64>,
    /// How the seal is read as a number, `le` or `be`: pow-register is always `le`; legacy and
    /// faucet depend on the runtime era (`be` up to spec 277, `le` from 283).
    #[arg(long)]
    pub byte_order: Option<ByteOrder>,
    /// First nonce to try (default: random).
    #[arg(long)]
    pub start_nonce: Option<u64>,
    /// Backends to search with: cpu, cuda, opencl, comma-separated (default: cpu).
    #[arg(long, value_delimiter = ',', default_value = "cpu")]
    pub backend: Vec<Backend>,
    #[command(flatten)]
    pub devices: DeviceArgs,
    /// Give up after this many seconds (exit code 3); more than 0, at most a year.
    #[arg(long)]
    pub timeout: Option<f64>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `bench --backend`: one backend or all of them.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchBackend {
    Cpu,
    Cuda,
    Opencl,
    All,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[arg(long, value_enum, default_value = "cpu")]
    pub backend: BenchBackend,
    /// pow-register, legacy or faucet.
    #[arg(long, default_value = "pow-register")]
    pub scheme: Scheme,
    /// Seconds to measure each backend (after warm-up and self-tests); more than 0, at most a day.
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
    #[command(flatten)]
    pub devices: DeviceArgs,
    /// Print one JSON object on the last line instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct DevicesArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Where the chain is: a named network (the bundled light client for finney and test) or an
/// RPC endpoint. Unset flags fall back to the environment, the configuration file, the defaults.
#[derive(Args, Debug, Clone, Default)]
pub struct ChainArgs {
    /// finney (default, unless --chain-endpoint is given alone), test, local (ws://127.0.0.1:9944),
    /// or a ws:// / wss:// URL. finney and test are checked by their genesis.
    #[arg(long, alias = "subtensor.network")]
    pub network: Option<String>,
    /// An RPC node instead of the bundled light client (ws:// or wss://). Alone, it means that
    /// endpoint's own chain; with --network finney or test, it must serve that chain (exit 2).
    #[arg(long = "chain-endpoint", alias = "subtensor.chain_endpoint")]
    pub chain_endpoint: Option<String>,
    /// Seconds to keep trying to reach the chain at start (light-client peers, RPC handshake,
    /// retries) before giving up with exit code 5 (default 120); kept within a second.
    #[arg(long = "connect-deadline", alias = "connect-timeout", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub connect_deadline: Option<u64>,
}

/// A bittensor wallet, spelled as the bittensor tools spell it (BT_WALLET_NAME, BT_WALLET_HOTKEY
/// and BT_WALLET_PATH work too).
#[derive(Args, Debug, Clone, Default)]
pub struct WalletArgs {
    /// The wallet's name (default `default`).
    #[arg(long = "wallet.name")]
    pub wallet_name: Option<String>,
    /// The hotkey's name (default `default`).
    #[arg(long = "wallet.hotkey")]
    pub wallet_hotkey: Option<String>,
    /// Several hotkeys, registered in turn (`h1,h2,h3`), or `all`: every hotkey of the wallet.
    #[arg(long = "wallet.hotkeys")]
    pub wallet_hotkeys: Option<String>,
    /// The folder of wallets (default ~/.bittensor/wallets).
    #[arg(long = "wallet.path")]
    pub wallet_path: Option<std::path::PathBuf>,
    /// A file holding the coldkey password (e.g. a systemd credential); otherwise BT_PW_... as the
    /// wallet tools set it, or a prompt on a terminal.
    #[arg(long = "coldkey-password-file")]
    pub coldkey_password_file: Option<std::path::PathBuf>,
}

/// What every chain command (the daemon, `status`, `faucet`, `config check`) works with: the
/// chain, the wallet, the devices, and the configuration file that fills what flags leave unset.
#[derive(Args, Debug, Clone, Default)]
pub struct TargetArgs {
    /// A configuration file (default: /etc/regsolver/regsolver.toml, then
    /// ~/.config/regsolver/regsolver.toml, each if present). Flags override it.
    #[arg(long)]
    pub config: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub chain: ChainArgs,
    #[command(flatten)]
    pub wallet: WalletArgs,
    /// Backends to search with: cpu, cuda, opencl (default: cpu, or only the GPUs --gpu and
    /// --opencl name; add cpu to run it alongside).
    #[arg(long, value_delimiter = ',')]
    pub backend: Option<Vec<String>>,
    #[command(flatten)]
    pub devices: DeviceArgs,
    /// Legacy runtimes only: how seals are read, le or be (required on specs 278-282).
    #[arg(long = "seal-byte-order")]
    pub seal_byte_order: Option<String>,
    /// Text or JSON log lines on stderr (JSON: one object per line, fields such as the device
    /// tag at the top level).
    #[arg(long = "log-format")]
    pub log_format: Option<String>,
    /// Machine-readable output on stdout.
    #[arg(long)]
    pub json: bool,
}

/// The daemon: follow the chain, solve on every selected device, submit, report the UID.
#[derive(Args, Debug, Clone, Default)]
pub struct DaemonArgs {
    /// The subnet to register on (required, here or in the configuration).
    #[arg(long, alias = "netuid")]
    pub subnet: Option<u16>,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Do everything except submit: print the signed extrinsic that would be sent, decoded.
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    /// Keep watching while registration is not possible (PoW disabled, rate limits, difficulty
    /// above --max-difficulty) instead of exiting; solve as soon as it is.
    #[arg(long)]
    pub wait: bool,
    /// Never solve above this difficulty (exit code 14 without --wait).
    #[arg(long = "max-difficulty", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_difficulty: Option<u64>,
    /// Stay up after the last hotkey registered, and register again any that is deregistered.
    #[arg(long = "keep-going")]
    pub keep_going: bool,
    /// Serve Prometheus metrics and /healthz on this address (e.g. 127.0.0.1:9184).
    #[arg(long)]
    pub metrics: Option<String>,
    /// Longest pause between reconnection attempts, in seconds (default 30).
    #[arg(long = "max-backoff", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub max_backoff: Option<u64>,
    /// Run as root on a host (refused otherwise: a miner needs no privileges; root inside a
    /// container is allowed).
    #[arg(long = "allow-root")]
    pub allow_root: bool,
    #[command(flatten)]
    pub serve: ServeArgs,
    #[command(flatten)]
    pub burn: BurnArgs,
}

/// The burn route, opt in: without --burn-max regsolver never spends TAO.
#[derive(Args, Debug, Clone, Default)]
pub struct BurnArgs {
    /// Register by burn (signed by the coldkey, which pays) when the burn price is at or below
    /// this many TAO (exact: at most 9 decimals). Where the runtime has `register_limit` the chain
    /// enforces the cap itself.
    #[arg(long = "burn-max", value_name = "TAO", allow_hyphen_values = true)]
    pub burn_max: Option<String>,
    /// With PoW open too: mine this long for a seal before burning (90s, 30m, 2h, 1d).
    #[arg(long = "burn-after", value_name = "DURATION")]
    pub burn_after: Option<String>,
    /// The most TAO burned in total (prices and fees), over all hotkeys and across restarts.
    #[arg(long = "burn-budget", value_name = "TAO", allow_hyphen_values = true)]
    pub burn_budget: Option<String>,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// The subnet to report on (here or in the configuration); required unless --fleet asks
    /// only for a coordinator's workers.
    #[arg(long, alias = "netuid")]
    pub subnet: Option<u16>,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Seconds the devices are measured for the expected time to a seal.
    #[arg(long = "measure-seconds", default_value_t = 2.0)]
    pub measure_seconds: f64,
    #[command(flatten)]
    pub fleet: FleetStatusArgs,
}

/// `regsolver subnets`: every subnet at once.
#[derive(Args, Debug)]
pub struct SubnetsArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Only the subnets where proof-of-work registration is allowed.
    #[arg(long)]
    pub pow: bool,
    /// Seconds the devices are measured for the expected time to a seal (0: no measurement).
    #[arg(long = "measure-seconds", default_value_t = 2.0)]
    pub measure_seconds: f64,
}

#[derive(Args, Debug)]
pub struct FaucetArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Do everything except submit.
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    /// Run even as root.
    #[arg(long = "allow-root")]
    pub allow_root: bool,
}

/// `regsolver config ...`
#[derive(Args, Debug)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Print the effective configuration (flags > environment > file > defaults) with where each
    /// value came from, secrets redacted; exit 2 naming the key, file and line of any error.
    Check(DaemonArgs),
}

/// The daemon as a fleet coordinator (docs/fleet.md).
#[derive(Args, Debug, Clone, Default)]
pub struct ServeArgs {
    /// Hand jobs to `regsolver worker` rigs over WebSocket on ADDR (127.0.0.1:7733 when given
    /// without a value; off by default). A token (--token-file) is required on any address but
    /// loopback.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:7733")]
    pub serve: Option<std::net::SocketAddr>,
    /// The fleet's shared token (the file's whole content, trimmed); workers send the same.
    #[arg(long = "token-file", value_name = "PATH")]
    pub token_file: Option<std::path::PathBuf>,
    /// TLS certificate chain (PEM) for the coordinator: workers then connect with wss://.
    #[arg(long = "tls-cert", value_name = "PATH")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The TLS certificate's private key (PEM).
    #[arg(long = "tls-key", value_name = "PATH")]
    pub tls_key: Option<std::path::PathBuf>,
    /// With --serve: search on no local device; only the fleet's workers solve.
    #[arg(long = "no-local-devices")]
    pub no_local_devices: bool,
    /// With --serve: accept WebSocket upgrades whose Origin header is ORIGIN (scheme://host[:port],
    /// repeatable); any other Origin is refused, since only web pages send one (workers do not).
    #[arg(long = "fleet-allow-origin", value_name = "ORIGIN")]
    pub allow_origins: Vec<String>,
}

/// `regsolver worker`: follow a coordinator's jobs on this rig's devices.
#[derive(Args, Debug)]
pub struct WorkerArgs {
    /// The coordinator: ws://HOST:7733, or wss://HOST:7733 when it serves TLS.
    #[arg(long, value_name = "URL")]
    pub connect: String,
    /// The fleet's shared token (the coordinator's --token-file).
    #[arg(long = "token-file", value_name = "PATH")]
    pub token_file: Option<std::path::PathBuf>,
    /// For wss://: trust this CA certificate (PEM) instead of the system's roots.
    #[arg(long, value_name = "PATH")]
    pub ca: Option<std::path::PathBuf>,
    /// How the coordinator lists this rig (default: the host name).
    #[arg(long)]
    pub name: Option<String>,
    /// Backends to search with: cpu, cuda, opencl (as the daemon's --backend).
    #[arg(long, value_delimiter = ',')]
    pub backend: Vec<Backend>,
    #[command(flatten)]
    pub devices: DeviceArgs,
    /// Run as root on a host (refused otherwise; root inside a container is allowed), as the
    /// daemon's --allow-root (and, like its `allow_root`, also REGSOLVER_ALLOW_ROOT=true).
    #[arg(long = "allow-root", env = "REGSOLVER_ALLOW_ROOT")]
    pub allow_root: bool,
}

/// `regsolver status --fleet URL`: the coordinator's connected workers (with `--subnet`, after the
/// chain's report; without, alone).
#[derive(Args, Debug, Clone, Default)]
pub struct FleetStatusArgs {
    /// A coordinator to ask for its connected workers (ws:// or wss://).
    #[arg(long, value_name = "URL")]
    pub fleet: Option<String>,
    /// The fleet's token, for --fleet.
    #[arg(long = "fleet-token-file", value_name = "PATH", requires = "fleet")]
    pub fleet_token_file: Option<std::path::PathBuf>,
    /// A CA certificate (PEM) to trust for a wss:// --fleet.
    #[arg(long = "fleet-ca", value_name = "PATH", requires = "fleet")]
    pub fleet_ca: Option<std::path::PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn every_setting_and_alias_names_a_flag_the_daemon_takes() {
        let command = Cli::command();
        let longs: Vec<String> = command
            .get_arguments()
            .flat_map(|arg| arg.get_long().into_iter().chain(arg.get_all_aliases().unwrap_or_default()))
            .map(|long| format!("--{long}"))
            .collect();
        let named = regsolver::config::KEYS.iter().filter_map(|info| flag(info.id));
        for name in named.chain(ALIASES.iter().map(|(_, alias)| *alias)) {
            assert!(longs.iter().any(|long| long == name), "{name} is not a flag of the daemon: {longs:?}");
        }
    }
}
