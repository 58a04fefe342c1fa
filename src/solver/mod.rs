//! The device side: choosing devices, driving them on OS threads, and re-verifying on the CPU
//! what they find. Nothing here knows about the chain: a job is a [`HotLoop`], results are
//! verified nonces.
//!
//! Every backend has one shape: `list` says what it has (the CPU its cores and SIMD paths, a
//! GPU backend its devices as [`GpuInfo`]), and `worker_spec` turns one device (a CPU thread on
//! a SIMD path; a listed GPU with its [`GpuTuning`]) into a [`WorkerSpec`] on the caller's
//! thread, whose `build` makes the backend's [`Device`] on the worker's thread. `disabled.rs`
//! stands in for a GPU backend whose cargo feature is off, with the same two functions.
//!
//! - [`selection`]: a plain device selection, checked and turned into worker specs (the CPU
//!   fallback rule); [`listing`]: what `regsolver devices` shows; [`engine`]: one search to a
//!   solution, one benchmark, on a selection (what commands call).
//! - [`pool`]: worker threads, device states and events, shutdown; [`job`]: the job slot;
//!   [`verdict`]: candidates and their CPU verdicts; [`hashrate`]: rate windows.
//! - [`search_loop`]: one search to the first solution; [`bench`](mod@bench): the benchmark harness.
//! - [`cpu`], [`cuda`], [`opencl`]: the backends; [`kernels`]: the GPU kernel source, embedded,
//!   with its CUDA and OpenCL dialect headers; [`selftest`]: the check before a first job.

pub mod bench;
pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;
#[cfg(not(feature = "cuda"))]
#[path = "disabled.rs"]
#[allow(clippy::duplicate_mod)] // one stub stands in for either backend
pub mod cuda;
pub mod engine;
pub mod hashrate;
pub(crate) mod job;
pub mod kernels;
pub mod listing;
#[cfg(feature = "opencl")]
pub mod opencl;
#[cfg(not(feature = "opencl"))]
#[path = "disabled.rs"]
#[allow(clippy::duplicate_mod)] // one stub stands in for either backend
pub mod opencl;
pub mod pool;
pub mod search_loop;
pub mod selection;
pub mod selftest;
pub mod verdict;

use crate::pow::hotloop::{HotLoop, Unit};

/// Errors a device reports; the pool disables that device alone.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The user asked for something this machine cannot do (a SIMD path this CPU lacks): bad
    /// input, answered with a usage error.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A device the backend cannot drive (a GPU older than every architecture NVRTC builds
    /// for): a device error, left out like a missing driver, never blamed on the user.
    #[error("incompatible: {0}")]
    Incompatible(String),
    /// A device selection names a device the backend does not have (a bad flag, not a
    /// missing driver: never answered by falling back to the CPU).
    #[error("{0}")]
    Selection(String),
    #[error("kernel build failed: {0}")]
    Build(String),
    #[error("device call failed: {0}")]
    Call(String),
    #[error("self-test failed: {0}")]
    SelfTest(String),
}

/// One compute device (a CPU thread, a CUDA GPU, an OpenCL device), driven by one worker thread.
pub trait Device: Send {
    /// Short tag for logs: `cpu:0`, `cuda:0`, `cl:0:1`.
    fn tag(&self) -> String;
    /// Positions per batch: long enough to keep the device busy, short enough to switch jobs.
    fn batch_positions(&self) -> u64;
    /// Searches indices `first..first + count` of one unit (never past its end), appending the
    /// index of every candidate whose seal's top 64 bits are `<= hot.target.top()`.
    fn search_run(&mut self, hot: &HotLoop, unit: &Unit, first: u32, count: u32, out: &mut Vec<u32>) -> Result<(), DeviceError>;
}

/// Builds a device on its worker thread (device contexts are thread-affine on some drivers);
/// called again by [`pool::Pool::restart_failed`].
pub type BuildDevice = dyn Fn() -> Result<Box<dyn Device>, DeviceError> + Send + Sync;

/// One device to drive, as its backend's `worker_spec` makes it on the caller's thread (where
/// refusing it still lets the caller fall back); the pool's worker thread builds the [`Device`].
pub struct WorkerSpec {
    pub backend: Backend,
    /// Human name of the device, for reports (`cpu (avx512)`, `NVIDIA H100`).
    pub name: String,
    pub build: Box<BuildDevice>,
}

/// The backends, for selection and reporting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Cpu,
    Cuda,
    Opencl,
}

impl Backend {
    pub const ALL: [Backend; 3] = [Backend::Cpu, Backend::Cuda, Backend::Opencl];

    /// The name used on the command line, in logs and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Cpu => "cpu",
            Backend::Cuda => "cuda",
            Backend::Opencl => "opencl",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Backend {
    type Err = crate::pow::UnknownName;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        crate::pow::parse_name("backend", text, &Backend::ALL.map(|b| (b.name(), b)))
    }
}

/// What a GPU backend's device is (OpenCL lists CPUs too).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    Gpu,
    Accelerator,
    Cpu,
}

/// A GPU as listed by its backend.
#[derive(Clone, Debug, serde::Serialize)]
pub struct GpuInfo {
    /// What `--gpu` / `--opencl` selects it by: `0` (CUDA) or `0:1` (OpenCL platform:device).
    pub id: String,
    pub name: String,
    /// Streaming multiprocessors (CUDA) or compute units (OpenCL).
    pub compute_units: u32,
    pub kind: DeviceKind,
    /// Made by NVIDIA, so the CUDA backend can drive it too.
    pub nvidia: bool,
    /// Compute capability (CUDA) or platform and version (OpenCL).
    pub detail: String,
}

/// Stack for a thread that searches: the SIMD lanes keep whole batches of state on the stack,
/// which an unoptimised (debug) build lays out several times over; std's 2 MiB (and the main
/// thread's 8 MiB) is not enough there.
pub const SEARCH_STACK_BYTES: usize = 32 << 20;

/// Launch shape for GPU workers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GpuTuning {
    /// Threads per launch; `None` tunes from the device's compute units.
    pub threads: Option<u32>,
    /// Consecutive nonces each thread checks per launch.
    pub nonces_per_thread: u32,
}

impl GpuTuning {
    /// Threads per launch where the backend cannot ask the driver for its occupancy: 2048 per
    /// compute unit, unless overridden.
    pub fn threads_for(&self, compute_units: u32) -> u32 {
        self.threads.unwrap_or(compute_units.max(1) * 2048)
    }
}

/// Splits a launch of `count` nonces evenly over at most `threads` threads: returns (nonces per
/// thread, threads to launch). With `threads` the device's resident capacity, a full batch is
/// exactly one wave, with no partly empty last wave.
pub fn launch_shape(threads: u32, count: u32) -> (u32, u32) {
    let per_thread = count.div_ceil(threads.max(1)).max(1);
    (per_thread, count.div_ceil(per_thread))
}

/// Searches `count` positions from `first` on `device`, returning candidate nonces in position
/// order (unverified: callers re-verify with [`HotLoop::verify`]).
pub fn search(device: &mut dyn Device, hot: &HotLoop, first: u64, count: u64) -> Result<Vec<u64>, DeviceError> {
    let mut nonces = Vec::new();
    let mut indices = Vec::new();
    for (unit, first_index, run) in hot.runs(first, count) {
        indices.clear();
        device.search_run(hot, &unit, first_index, run, &mut indices)?;
        indices.sort_unstable();
        nonces.extend(indices.iter().map(|&i| unit.nonce(i)));
    }
    Ok(nonces)
}

#[cfg(test)]
mod tests {
    use super::launch_shape;

    #[test]
    fn launch_shape_covers_every_nonce_in_one_wave() {
        for (threads, count) in [(100u32, 1000u32), (100, 1001), (101_376, 1 << 24), (1000, 1), (0, 5), (7, 0)] {
            let (per_thread, launched) = launch_shape(threads, count);
            assert!(per_thread >= 1);
            assert!(launched <= threads.max(1), "{threads} {count}");
            assert!(u64::from(per_thread) * u64::from(launched) >= u64::from(count), "{threads} {count}");
            assert!(u64::from(per_thread) * u64::from(launched.saturating_sub(1)) < u64::from(count.max(1)), "{threads} {count}");
        }
        assert_eq!(launch_shape(100, 1000), (10, 100));
    }
}
