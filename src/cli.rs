//! Command-line definitions (clap): the daemon (no subcommand), `status`, `faucet`, `solve`,
//! `bench`, `devices`, and their conversion into the library's plain types (values clap cannot
//! range-check are checked there).

use clap::{Args, Parser, Subcommand};

use crate::pow::{ByteOrder, Scheme, UnknownName};
use crate::selection::{DeviceIds, DeviceSelection, SelectionError, DEFAULT_GPU_NONCES_PER_THREAD};
use crate::solver::cpu::SimdLevel;
use crate::solver::Backend;

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
            None => self.daemon.json,
            Some(Command::Status(args)) => args.json,
            Some(Command::Faucet(args)) => args.json,
            Some(Command::Solve(args)) => args.json,
            Some(Command::Bench(args)) => args.json,
            Some(Command::Devices(args)) => args.json,
            Some(Command::Worker(_)) => false,
        }
    }
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
    /// expected time to a seal on this machine's devices.
    Status(StatusArgs),
    /// Mint test TAO with the `faucet` proof of work (local networks built with pow-faucet only).
    Faucet(FaucetArgs),
    /// One offline search for a seal (no chain involved).
    Solve(SolveArgs),
    /// Measure hashrate per backend and device.
    Bench(BenchArgs),
    /// List the CPU's SIMD paths, CUDA devices and OpenCL platforms/devices.
    Devices(DevicesArgs),
    /// Solve a coordinator's jobs on this rig's devices (no wallet, no chain): see docs/fleet.md.
    Worker(WorkerArgs),
}

/// Which devices search.
#[derive(Args, Debug, Clone)]
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
    /// Nonces per GPU thread in a full batch, at least 1 (a batch is threads x this).
    #[arg(long, default_value_t = DEFAULT_GPU_NONCES_PER_THREAD)]
    pub gpu_nonces_per_thread: u32,
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
        let selection = DeviceSelection {
            backends,
            threads: self.threads,
            simd,
            gpu: self.gpu.as_deref().map(DeviceIds::cuda).transpose()?,
            opencl: self.opencl.as_deref().map(DeviceIds::opencl).transpose()?,
            gpu_threads: self.gpu_threads,
            gpu_nonces_per_thread: self.gpu_nonces_per_thread,
        };
        selection.validate()?;
        Ok(selection)
    }

    /// The devices a chain command (the daemon, `status`, `faucet`) searches with: `backend` if
    /// given; otherwise the GPUs `--gpu`/`--opencl` name (plus the CPU if `--threads` is given),
    /// or the CPU alone.
    pub fn chain_selection(&self, backend: &[Backend]) -> Result<DeviceSelection, SelectionError> {
        let gpus = self.gpu.is_some() || self.opencl.is_some();
        let backends = match (backend.is_empty(), gpus, self.threads.is_some()) {
            (false, _, _) => backend.to_vec(),
            (true, true, false) => Vec::new(),
            _ => vec![Backend::Cpu],
        };
        self.selection(backends)
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
/// RPC endpoint.
#[derive(Args, Debug, Clone)]
pub struct ChainArgs {
    /// finney (default), test, local (ws://127.0.0.1:9944), or a ws:// / wss:// URL.
    #[arg(long, alias = "subtensor.network", default_value = "finney")]
    pub network: String,
    /// An RPC node instead of the bundled light client (ws:// or wss://).
    #[arg(long = "chain-endpoint", alias = "subtensor.chain_endpoint")]
    pub chain_endpoint: Option<String>,
    /// Seconds to wait for the chain (light-client peers, RPC handshake) before giving up.
    #[arg(long = "connect-timeout", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub connect_timeout: u64,
}

/// A bittensor wallet, spelled as the bittensor tools spell it.
#[derive(Args, Debug, Clone)]
pub struct WalletArgs {
    #[arg(long = "wallet.name", env = "BT_WALLET_NAME", default_value = "default")]
    pub wallet_name: String,
    #[arg(long = "wallet.hotkey", env = "BT_WALLET_HOTKEY", default_value = "default")]
    pub wallet_hotkey: String,
    /// Several hotkeys, registered in turn (`h1,h2,h3`), or `all`: every hotkey of the wallet.
    #[arg(long = "wallet.hotkeys", value_delimiter = ',')]
    pub wallet_hotkeys: Option<Vec<String>>,
    /// The folder of wallets (default ~/.bittensor/wallets).
    #[arg(long = "wallet.path", env = "BT_WALLET_PATH")]
    pub wallet_path: Option<std::path::PathBuf>,
    /// A file holding the coldkey password (e.g. a systemd credential); otherwise BT_PW_... as the
    /// wallet tools set it, or a prompt on a terminal.
    #[arg(long = "coldkey-password-file")]
    pub coldkey_password_file: Option<std::path::PathBuf>,
}

/// The daemon: follow the chain, solve on every selected device, submit, report the UID.
#[derive(Args, Debug, Clone)]
pub struct DaemonArgs {
    /// The subnet to register on (required).
    #[arg(long, alias = "netuid")]
    pub subnet: Option<u16>,
    #[command(flatten)]
    pub chain: ChainArgs,
    #[command(flatten)]
    pub wallet: WalletArgs,
    /// Backends to search with: cpu, cuda, opencl (default: cpu, or only the GPUs --gpu and
    /// --opencl name; add cpu to run it alongside).
    #[arg(long, value_delimiter = ',')]
    pub backend: Vec<Backend>,
    #[command(flatten)]
    pub devices: DeviceArgs,
    /// Legacy runtimes only: how seals are read, le or be (required on specs 278-282).
    #[arg(long = "seal-byte-order")]
    pub seal_byte_order: Option<ByteOrder>,
    /// Do everything except submit: print the signed extrinsic that would be sent, decoded.
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    /// One JSON event per line on stdout (connected, job, solution, submitting, outcome, registered).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// The subnet to report on.
    #[arg(long, alias = "netuid")]
    pub subnet: u16,
    #[command(flatten)]
    pub chain: ChainArgs,
    #[command(flatten)]
    pub wallet: WalletArgs,
    #[arg(long, value_delimiter = ',')]
    pub backend: Vec<Backend>,
    #[command(flatten)]
    pub devices: DeviceArgs,
    /// Seconds the devices are measured for the expected time to a seal.
    #[arg(long = "measure-seconds", default_value_t = 2.0)]
    pub measure_seconds: f64,
    #[arg(long = "seal-byte-order")]
    pub seal_byte_order: Option<ByteOrder>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub fleet: FleetStatusArgs,
}

#[derive(Args, Debug)]
pub struct FaucetArgs {
    #[command(flatten)]
    pub chain: ChainArgs,
    #[command(flatten)]
    pub wallet: WalletArgs,
    #[arg(long, value_delimiter = ',')]
    pub backend: Vec<Backend>,
    #[command(flatten)]
    pub devices: DeviceArgs,
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    #[arg(long)]
    pub json: bool,
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
}

/// `regsolver status --fleet URL`: the coordinator's connected workers too.
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
