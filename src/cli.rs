//! Command-line definitions (clap): `solve`, `bench`, `devices`, and their conversion into the
//! library's plain types (values clap cannot range-check are checked there).

use clap::{Args, Parser, Subcommand};

use crate::pow::{ByteOrder, Scheme, UnknownName};
use crate::selection::{DeviceIds, DeviceSelection, SelectionError, DEFAULT_GPU_NONCES_PER_THREAD};
use crate::solver::cpu::SimdLevel;
use crate::solver::Backend;

#[derive(Parser, Debug)]
#[command(name = "regsolver", version, about = "Proof-of-work registration solver for Bittensor's subtensor chain")]
pub struct Cli {
    /// Debug logging (or set REGSOLVER_LOG, e.g. REGSOLVER_LOG=debug).
    #[arg(long, short, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Whether the command was asked for JSON output (errors then print JSON too).
    pub fn json(&self) -> bool {
        match &self.command {
            Command::Solve(args) => args.json,
            Command::Bench(args) => args.json,
            Command::Devices(args) => args.json,
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
    /// One offline search for a seal (no chain involved).
    Solve(SolveArgs),
    /// Measure hashrate per backend and device.
    Bench(BenchArgs),
    /// List the CPU's SIMD paths, CUDA devices and OpenCL platforms/devices.
    Devices(DevicesArgs),
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
