//! CUDA backend (cudarc; libcuda and NVRTC are loaded at run time): probe, device list, launches.
//! Kernel builds live in [`nvrtc`], kept between runs by [`cache`].
// Hot path: a truncating cast here once wrapped a run of 2^32 nonces to none (issue 10).
#![warn(clippy::cast_possible_truncation)]

pub(crate) mod cache;
pub(crate) mod find;
pub mod nvrtc;

use std::sync::Arc;

use cudarc::driver::sys::CUdevice_attribute;
use cudarc::driver::{result as driver, CudaContext, CudaFunction, CudaSlice, CudaStream, DeviceRepr, LaunchConfig, PushKernelArg};
use tracing::info;

use super::kernels::{collect_candidates, kernel_for, DroppedCandidates, KernelUnit, KERNEL_NAMES, OUT_CAPACITY};
use super::{launch_shape, Backend, Device, DeviceError, DeviceKind, GpuInfo, GpuTuning, WorkerSpec};
use crate::pow::hotloop::{HotLoop, Unit};
use nvrtc::Target;

// SAFETY: `KernelUnit` is `repr(C)` plain u32 data, laid out as the kernels' `unit_t`.
unsafe impl DeviceRepr for KernelUnit {}

/// Threads per block of every launch.
pub const THREADS_PER_BLOCK: u32 = 256;
/// The oldest driver the kernels' machine code loads on: CUDA 12.0 (R525).
const MIN_DRIVER_VERSION: i32 = 12_000;

/// Whether the CUDA driver library (libcuda) can be loaded. cudarc panics on first use
/// without it, so every entry point checks this first.
pub fn driver_present() -> bool {
    // SAFETY: only tries to dlopen the library.
    unsafe { cudarc::driver::sys::is_culib_present() }
}

fn call<T>(what: &str, result: Result<T, cudarc::driver::DriverError>) -> Result<T, DeviceError> {
    result.map_err(|e| DeviceError::Call(format!("{what}: {e}")))
}

fn dotted(version: i32) -> String {
    format!("{}.{}", version / 1000, version % 1000 / 10)
}

/// The CUDA version the driver supports (`12040` for 12.4); refuses a driver too old to load
/// the kernels, so that rigs on it fall back instead of failing at the first launch.
fn driver_version() -> Result<i32, DeviceError> {
    if !driver_present() {
        return Err(DeviceError::Unavailable("no CUDA driver: libcuda.so was not found (install the NVIDIA driver)".into()));
    }
    // No GPU, a driver/kernel-module mismatch or a container without device nodes all fail here.
    driver::init().map_err(|e| DeviceError::Unavailable(format!("the CUDA driver did not start (cuInit: {e})")))?;
    let mut version = 0;
    // SAFETY: one out-parameter.
    call("cuDriverGetVersion", unsafe { cudarc::driver::sys::cuDriverGetVersion(&mut version) }.result())?;
    if version < MIN_DRIVER_VERSION {
        return Err(DeviceError::Unavailable(format!(
            "the NVIDIA driver supports CUDA {} only; regsolver's CUDA backend needs CUDA {} (driver R525 or newer)",
            dotted(version),
            dotted(MIN_DRIVER_VERSION)
        )));
    }
    Ok(version)
}

/// Compute capability as one number (`90` for 9.0).
fn compute_capability(device: cudarc::driver::sys::CUdevice) -> Result<u32, DeviceError> {
    // SAFETY: `device` comes from cuDeviceGet.
    let attribute = |a| call("cuDeviceGetAttribute", unsafe { driver::device::get_attribute(device, a) });
    let major = attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)?;
    let minor = attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)?;
    Ok((major * 10 + minor) as u32)
}

/// Why kernels cannot be built, without the error kind's prefix where the reason says it all.
fn reason(err: DeviceError) -> String {
    match err {
        DeviceError::Unavailable(why) | DeviceError::Incompatible(why) => why,
        err => err.to_string(),
    }
}

/// What NVRTC (its version and supported architectures, or why it cannot be used) will build
/// for `arch`, or why it cannot.
fn build_plan(arch: u32, nvrtc: &Result<((i32, i32), Vec<u32>), String>) -> String {
    let plan = match nvrtc {
        Ok(((major, minor), supported)) => {
            Target::for_device(arch, supported).map(|target| format!("kernels: {target} by NVRTC {major}.{minor}")).map_err(reason)
        }
        Err(why) => Err(why.clone()),
    };
    plan.unwrap_or_else(|why| format!("kernels cannot be built: {why}"))
}

/// Lists CUDA devices (without creating contexts on them), or says why there are none.
pub fn list() -> Result<Vec<GpuInfo>, DeviceError> {
    let version = driver_version()?;
    let count = call("cuDeviceGetCount", driver::device::get_count())?;
    let nvrtc = nvrtc::version().and_then(|version| Ok((version, nvrtc::supported_archs()?))).map_err(reason);
    (0..count)
        .map(|ordinal| {
            let device = call("cuDeviceGet", driver::device::get(ordinal))?;
            let arch = compute_capability(device)?;
            // SAFETY: `device` comes from cuDeviceGet.
            let sms = call("SM count", unsafe {
                driver::device::get_attribute(device, CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)
            })?;
            Ok(GpuInfo {
                id: ordinal.to_string(),
                name: call("device name", driver::device::get_name(device))?,
                compute_units: sms as u32,
                kind: DeviceKind::Gpu,
                nvidia: true,
                detail: format!("sm_{arch}, driver CUDA {}; {}", dotted(version), build_plan(arch, &nvrtc)),
            })
        })
        .collect()
}

/// A worker for one CUDA device; the context is created on the worker's thread.
pub fn worker_spec(info: &GpuInfo, tuning: GpuTuning) -> Result<WorkerSpec, DeviceError> {
    let ordinal: usize = info.id.parse().map_err(|_| DeviceError::Unavailable(format!("bad CUDA device id {}", info.id)))?;
    // Refused here, not on the worker thread, so that callers can fall back to the CPU: no
    // NVRTC, or a GPU older than every architecture it builds for.
    let driver_ordinal = i32::try_from(ordinal).map_err(|_| DeviceError::Unavailable(format!("bad CUDA device id {}", info.id)))?;
    let device = call("cuDeviceGet", driver::device::get(driver_ordinal))?;
    let target = Target::for_device(compute_capability(device)?, &nvrtc::supported_archs()?)?;
    let sms = info.compute_units;
    Ok(WorkerSpec {
        backend: Backend::Cuda,
        name: info.name.clone(),
        build: Box::new(move || {
            let device = CudaDevice::new(ordinal, target, sms, tuning)?;
            Ok(Box::new(device) as Box<dyn Device>)
        }),
    })
}

struct CudaDevice {
    ordinal: usize,
    stream: Arc<CudaStream>,
    /// Indexed like [`KERNEL_NAMES`].
    functions: Vec<CudaFunction>,
    /// `[count, index...]`, written by the kernels.
    out: CudaSlice<u32>,
    threads: u32,
    nonces_per_thread: u32,
    dropped: DroppedCandidates,
}

impl CudaDevice {
    fn new(ordinal: usize, target: Target, sms: u32, tuning: GpuTuning) -> Result<Self, DeviceError> {
        let ctx = call("cuDevicePrimaryCtxRetain", CudaContext::new(ordinal))?;
        // SAFETY: this device uses one stream and synchronizes it after every launch, so no
        // buffer is ever used by two streams.
        unsafe { ctx.disable_event_tracking() };
        let module = call("cuModuleLoadData", ctx.load_module(nvrtc::build(target)?.module()))?;
        let functions: Vec<CudaFunction> =
            KERNEL_NAMES.iter().map(|name| call(name, module.load_function(name))).collect::<Result<_, _>>()?;
        // Resident threads: what the register use lets every SM hold at once.
        let mut blocks_per_sm = u32::MAX;
        for function in &functions {
            let blocks = call(
                "cuOccupancyMaxActiveBlocksPerMultiprocessor",
                function.occupancy_max_active_blocks_per_multiprocessor(THREADS_PER_BLOCK, 0, None),
            )?;
            blocks_per_sm = blocks_per_sm.min(blocks.max(1));
        }
        let threads = tuning.threads.unwrap_or(sms.max(1) * blocks_per_sm * THREADS_PER_BLOCK);
        let nonces_per_thread = tuning.nonces_per_thread;
        info!(device = %format!("cuda:{ordinal}"), build = %target, blocks_per_sm, threads, nonces_per_thread, "launch shape");
        let stream = ctx.default_stream();
        let out = call("cuMemAlloc", stream.alloc_zeros::<u32>(1 + OUT_CAPACITY as usize))?;
        Ok(CudaDevice {
            ordinal,
            stream,
            functions,
            out,
            threads,
            nonces_per_thread: nonces_per_thread.max(1),
            dropped: DroppedCandidates::default(),
        })
    }
}

impl Device for CudaDevice {
    fn tag(&self) -> String {
        format!("cuda:{}", self.ordinal)
    }
    fn batch_positions(&self) -> u64 {
        u64::from(self.threads) * u64::from(self.nonces_per_thread)
    }
    fn search_run(&mut self, hot: &HotLoop, unit: &Unit, first: u32, count: u32, out: &mut Vec<u32>) -> Result<(), DeviceError> {
        let function = &self.functions[kernel_for(hot)];
        let args = KernelUnit::new(unit, hot.target.top(), first, count);
        let (per_thread, threads) = launch_shape(self.threads, count);
        let config = LaunchConfig {
            grid_dim: (threads.div_ceil(THREADS_PER_BLOCK), 1, 1),
            block_dim: (THREADS_PER_BLOCK, 1, 1),
            shared_mem_bytes: 0,
        };
        call("cuMemsetD8", self.stream.memset_zeros(&mut self.out))?;
        let mut launch = self.stream.launch_builder(function);
        launch.arg(&args).arg(&per_thread).arg(&mut self.out).arg(&OUT_CAPACITY);
        // SAFETY: the argument list matches the kernels' signature (unit_t, u32, u32*, u32).
        call("cuLaunchKernel", unsafe { launch.launch(config) })?;
        let result = call("cuMemcpyDtoH", self.stream.clone_dtoh(&self.out))?;
        call("cuStreamSynchronize", self.stream.synchronize())?;
        let dropped = collect_candidates(&result, out);
        let tag = self.tag();
        self.dropped.record(&tag, dropped);
        Ok(())
    }
}
