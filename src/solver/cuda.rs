//! CUDA backend (cudarc; libcuda and NVRTC are loaded at run time): probe, device list, NVRTC
//! build for the device's own architecture (once per architecture per process), launches.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::driver::sys::CUdevice_attribute;
use cudarc::driver::{CudaContext, CudaFunction, CudaSlice, CudaStream, DeviceRepr, LaunchConfig, PushKernelArg};
use cudarc::nvrtc::{compile_ptx_with_opts, CompileOptions, Ptx};
use tracing::info;

use super::pool::WorkerSpec;
use super::{launch_shape, Backend, Device, DeviceError, GpuInfo, GpuTuning};
use crate::kernels::{collect_candidates, cuda_source, kernel_for, KernelUnit, KERNEL_NAMES, OUT_CAPACITY};
use crate::pow::hotloop::{HotLoop, Unit};

// SAFETY: `KernelUnit` is `repr(C)` plain u32 data, laid out as the kernels' `unit_t`.
unsafe impl DeviceRepr for KernelUnit {}

const THREADS_PER_BLOCK: u32 = 256;

/// Whether the CUDA driver library (libcuda) can be loaded. cudarc panics on first use
/// without it, so every entry point checks this first.
pub fn driver_present() -> bool {
    // SAFETY: only tries to dlopen the library.
    unsafe { cudarc::driver::sys::is_culib_present() }
}

/// Whether NVRTC (libnvrtc) can be loaded.
pub fn nvrtc_present() -> bool {
    // SAFETY: only tries to dlopen the library.
    unsafe { cudarc::nvrtc::sys::is_culib_present() }
}

fn require_nvrtc() -> Result<(), DeviceError> {
    if nvrtc_present() {
        return Ok(());
    }
    Err(DeviceError::Unavailable(
        "NVRTC (libnvrtc.so.12) was not found: install the CUDA toolkit or `pip install nvidia-cuda-nvrtc-cu12` and add its lib/ to LD_LIBRARY_PATH".into(),
    ))
}

fn call<T>(what: &str, result: Result<T, cudarc::driver::DriverError>) -> Result<T, DeviceError> {
    result.map_err(|e| DeviceError::Call(format!("{what}: {e}")))
}

/// Lists CUDA devices, or says why there are none.
pub fn list() -> Result<Vec<GpuInfo>, DeviceError> {
    if !driver_present() {
        return Err(DeviceError::Unavailable("no CUDA driver: libcuda.so was not found (install the NVIDIA driver)".into()));
    }
    let count = call("cuDeviceGetCount", CudaContext::device_count())?;
    let nvrtc = if nvrtc_present() { "" } else { "; NVRTC missing: kernels cannot be built" };
    (0..count as usize)
        .map(|ordinal| {
            let ctx = call("cuCtxCreate", CudaContext::new(ordinal))?;
            let (major, minor) = call("compute capability", ctx.compute_capability())?;
            let sms = call("SM count", ctx.attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT))?;
            Ok(GpuInfo {
                id: ordinal.to_string(),
                name: call("device name", ctx.name())?,
                compute_units: sms as u32,
                detail: format!("sm_{major}{minor}{nvrtc}"),
            })
        })
        .collect()
}

/// Compiles the kernel source to PTX for `arch` (e.g. `sm_90`) with NVRTC: the code path the
/// backend uses, exposed so CI can compile for real without a GPU. Cached per architecture.
pub fn compile_ptx(arch: &str) -> Result<String, DeviceError> {
    static CACHE: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(ptx) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(arch) {
        return Ok(ptx.clone());
    }
    require_nvrtc()?;
    let opts = CompileOptions { options: vec![format!("--gpu-architecture={arch}"), "-std=c++17".into()], ..Default::default() };
    let ptx = compile_ptx_with_opts(cuda_source(), opts).map_err(|e| DeviceError::Build(format!("NVRTC for {arch}: {e}")))?;
    let text = ptx.to_src();
    cache.lock().unwrap_or_else(|p| p.into_inner()).insert(arch.to_string(), text.clone());
    Ok(text)
}

/// A worker for one CUDA device; the context is created on the worker's thread.
pub fn worker_spec(info: &GpuInfo, tuning: GpuTuning) -> Result<WorkerSpec, DeviceError> {
    // Refused here, not on the worker thread, so that callers can fall back to the CPU.
    require_nvrtc()?;
    let ordinal: usize = info.id.parse().map_err(|_| DeviceError::Unavailable(format!("bad CUDA device id {}", info.id)))?;
    let sms = info.compute_units;
    Ok(WorkerSpec {
        backend: Backend::Cuda,
        name: info.name.clone(),
        build: Box::new(move || {
            let device = CudaDevice::new(ordinal, sms, tuning)?;
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
}

impl CudaDevice {
    fn new(ordinal: usize, sms: u32, tuning: GpuTuning) -> Result<Self, DeviceError> {
        let ctx = call("cuCtxCreate", CudaContext::new(ordinal))?;
        let (major, minor) = call("compute capability", ctx.compute_capability())?;
        let arch = format!("sm_{major}{minor}");
        let module = call("cuModuleLoadData", ctx.load_module(Ptx::from_src(compile_ptx(&arch)?)))?;
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
        info!(device = %format!("cuda:{ordinal}"), arch, blocks_per_sm, threads, nonces_per_thread, "launch shape");
        let stream = ctx.default_stream();
        let out = call("cuMemAlloc", stream.alloc_zeros::<u32>(1 + OUT_CAPACITY as usize))?;
        Ok(CudaDevice { ordinal, stream, functions, out, threads, nonces_per_thread: nonces_per_thread.max(1) })
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
        collect_candidates(&result, out);
        Ok(())
    }
}
