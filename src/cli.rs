//! Command-line definitions (clap): `solve`, `bench`, `devices`.

use clap::{Args, Parser, Subcommand};

use crate::pow::{ByteOrder, Scheme};
use crate::solver::cpu::SimdLevel;

#[derive(Parser, Debug)]
#[command(name = "regsolver", version, about = "Proof-of-work registration solver for Bittensor's subtensor chain")]
pub struct Cli {
    /// Debug logging (or set REGSOLVER_LOG, e.g. REGSOLVER_LOG=debug).
    #[arg(long, short, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
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
    /// CPU worker threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Force a CPU SIMD path instead of the best one this CPU runs.
    #[arg(long, value_enum)]
    pub simd: Option<SimdLevel>,
    /// CUDA devices: `0`, `0,2` or `all`.
    #[arg(long)]
    pub gpu: Option<String>,
    /// OpenCL devices as platform:device: `0:1`, `0:0,1:0` or `all` (GPUs and accelerators, less
    /// NVIDIA GPUs the CUDA backend drives alongside; else CPU devices, unless the CPU backend runs).
    #[arg(long)]
    pub opencl: Option<String>,
    /// GPU threads per launch (default: all the device holds at once: CUDA's occupancy for
    /// the kernels' register use, or 2048 per OpenCL compute unit).
    #[arg(long)]
    pub gpu_threads: Option<u32>,
    /// Nonces per GPU thread in a full batch (a batch is threads x this).
    #[arg(long, default_value_t = 64)]
    pub gpu_nonces_per_thread: u32,
}

#[derive(Args, Debug)]
pub struct SolveArgs {
    #[arg(long, value_enum)]
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
    /// How the seal is read as a number: pow-register is always `le`; legacy and faucet depend
    /// on the runtime era (`be` up to spec 277, `le` from 283).
    #[arg(long, value_enum)]
    pub byte_order: Option<ByteOrder>,
    /// First nonce to try (default: random).
    #[arg(long)]
    pub start_nonce: Option<u64>,
    /// Backends to search with (default: cpu).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "cpu")]
    pub backend: Vec<crate::solver::Backend>,
    #[command(flatten)]
    pub devices: DeviceArgs,
    /// Give up after this many seconds (exit code 3).
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
    #[arg(long, value_enum, default_value = "pow-register")]
    pub scheme: Scheme,
    /// Seconds to measure each backend (after warm-up and self-tests).
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
