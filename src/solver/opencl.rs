//! OpenCL backend (opencl3 with cl3's run-time loading of libOpenCL): platforms, devices,
//! clBuildProgram of the shared kernel source, launches.
// Hot path: a truncating cast here once wrapped a run of 2^32 nonces to none (issue 10).
#![warn(clippy::cast_possible_truncation)]

use std::ptr;
use std::sync::Mutex;

use opencl3::command_queue::CommandQueue;
use opencl3::context::Context;
use opencl3::device::{Device as ClDevice, CL_DEVICE_TYPE_ALL, CL_DEVICE_TYPE_CPU, CL_DEVICE_TYPE_GPU};
use opencl3::kernel::{ExecuteKernel, Kernel};
use opencl3::memory::{Buffer, CL_MEM_READ_WRITE};
use opencl3::platform::get_platforms;
use opencl3::program::Program;
use opencl3::types::{cl_device_id, CL_BLOCKING};

use super::kernels::{collect_candidates, kernel_for, opencl_source, DroppedCandidates, KernelUnit, KERNEL_NAMES, OUT_CAPACITY};
use super::{launch_shape, Backend, Device, DeviceError, DeviceKind, GpuInfo, GpuTuning, WorkerSpec};
use crate::pow::hotloop::{HotLoop, Unit};

/// NVIDIA's PCI vendor id, as OpenCL reports it.
const NVIDIA_PCI_VENDOR: u32 = 0x10de;

/// Work-items per work-group for every launch.
const WORK_GROUP_SIZE: usize = 64;

/// Serialises platform queries, context creation and program builds: PoCL crashes when
/// several threads build programs at once, and no driver gains from doing so.
static SETUP: Mutex<()> = Mutex::new(());

fn call<T, E: std::fmt::Display>(what: &str, result: Result<T, E>) -> Result<T, DeviceError> {
    result.map_err(|e| DeviceError::Call(format!("{what}: {e}")))
}

fn loader_present() -> Result<(), DeviceError> {
    if cl3::is_opencl_runtime_available() {
        Ok(())
    } else {
        Err(DeviceError::Unavailable(
            "no OpenCL loader: libOpenCL.so was not found (install an ICD loader and a driver, e.g. ocl-icd-libopencl1 + pocl-opencl-icd)"
                .into(),
        ))
    }
}

fn device_ids() -> Result<Vec<(String, String, cl_device_id)>, DeviceError> {
    loader_present()?;
    let _setup = crate::sync::lock(&SETUP);
    let platforms = call("clGetPlatformIDs", get_platforms())?;
    let mut out = Vec::new();
    for (p, platform) in platforms.iter().enumerate() {
        let platform_name = platform.name().unwrap_or_default();
        // A platform with no devices answers with an error; it simply has none to offer.
        for (d, id) in platform.get_devices(CL_DEVICE_TYPE_ALL).unwrap_or_default().into_iter().enumerate() {
            out.push((format!("{p}:{d}"), platform_name.clone(), id));
        }
    }
    Ok(out)
}

/// Lists OpenCL devices as `platform:device`, or says why there are none.
pub fn list() -> Result<Vec<GpuInfo>, DeviceError> {
    device_ids()?
        .into_iter()
        .map(|(id, platform, device_id)| {
            let device = ClDevice::new(device_id);
            let device_type = call("clGetDeviceInfo", device.dev_type())?;
            let kind = if device_type & CL_DEVICE_TYPE_GPU != 0 {
                DeviceKind::Gpu
            } else if device_type & CL_DEVICE_TYPE_CPU != 0 {
                DeviceKind::Cpu
            } else {
                DeviceKind::Accelerator
            };
            Ok(GpuInfo {
                id,
                name: call("clGetDeviceInfo", device.name())?,
                compute_units: call("clGetDeviceInfo", device.max_compute_units())?,
                kind,
                nvidia: device.vendor_id().is_ok_and(|vendor| vendor == NVIDIA_PCI_VENDOR),
                detail: format!("{platform}, {}", device.version().unwrap_or_default()),
            })
        })
        .collect()
}

/// A worker for one OpenCL device; the context and program are built on the worker's thread.
pub fn worker_spec(info: &GpuInfo, tuning: GpuTuning) -> Result<WorkerSpec, DeviceError> {
    let (id, threads) = (info.id.clone(), tuning.threads_for(info.compute_units));
    Ok(WorkerSpec {
        backend: Backend::Opencl,
        name: info.name.clone(),
        build: Box::new(move || {
            let device = OpenClDevice::new(&id, threads, tuning.nonces_per_thread)?;
            Ok(Box::new(device) as Box<dyn Device>)
        }),
    })
}

/// Builds the OpenCL program for one device: the code path the backend uses, exposed for tests.
pub fn build(context: &Context) -> Result<Program, DeviceError> {
    Program::create_and_build_from_source(context, &opencl_source(), "-cl-std=CL1.2").map_err(DeviceError::Build)
}

struct OpenClDevice {
    id: String,
    queue: CommandQueue,
    /// Indexed like [`KERNEL_NAMES`]; they keep the program and context alive.
    kernels: Vec<Kernel>,
    out: Buffer<u32>,
    threads: u32,
    nonces_per_thread: u32,
    dropped: DroppedCandidates,
    _context: Context,
}

// SAFETY: OpenCL objects are thread-safe handles (OpenCL 1.2 §A.2); the device is moved to its
// worker thread once and used only there.
unsafe impl Send for OpenClDevice {}

impl OpenClDevice {
    fn new(id: &str, threads: u32, nonces_per_thread: u32) -> Result<Self, DeviceError> {
        let (_, _, device_id) = device_ids()?
            .into_iter()
            .find(|(candidate, _, _)| candidate == id)
            .ok_or_else(|| DeviceError::Unavailable(format!("no OpenCL device {id}")))?;
        let device = ClDevice::new(device_id);
        let _setup = crate::sync::lock(&SETUP);
        let context = call("clCreateContext", Context::from_device(&device))?;
        #[allow(deprecated)]
        let queue = call("clCreateCommandQueue", CommandQueue::create_default(&context, 0))?;
        let program = build(&context)?;
        let kernels = KERNEL_NAMES.iter().map(|name| call(name, Kernel::create(&program, name))).collect::<Result<_, _>>()?;
        // SAFETY: a plain device allocation, no host pointer.
        let out = call("clCreateBuffer", unsafe {
            Buffer::<u32>::create(&context, CL_MEM_READ_WRITE, 1 + OUT_CAPACITY as usize, ptr::null_mut())
        })?;
        Ok(OpenClDevice {
            id: id.to_string(),
            queue,
            kernels,
            out,
            threads,
            nonces_per_thread: nonces_per_thread.max(1),
            dropped: DroppedCandidates::default(),
            _context: context,
        })
    }
}

impl Device for OpenClDevice {
    fn tag(&self) -> String {
        format!("cl:{}", self.id)
    }
    fn batch_positions(&self) -> u64 {
        u64::from(self.threads) * u64::from(self.nonces_per_thread)
    }
    fn search_run(&mut self, hot: &HotLoop, unit: &Unit, first: u32, count: u32, out: &mut Vec<u32>) -> Result<(), DeviceError> {
        let kernel = &self.kernels[kernel_for(hot)];
        let args = KernelUnit::new(unit, hot.target.top(), first, count);
        // A fixed work-group size (the kernel bounds-checks the padding threads): drivers such
        // as PoCL otherwise derive one from each launch's size and compile a variant for each.
        let (per_thread, threads) = launch_shape(self.threads, count);
        let threads = (threads as usize).next_multiple_of(WORK_GROUP_SIZE);
        let mut result = vec![0u32; 1 + OUT_CAPACITY as usize];
        // SAFETY: blocking transfers of host slices that outlive the calls; the argument list
        // matches the kernels' signature (unit_t, uint, __global uint*, uint).
        unsafe {
            call("clEnqueueWriteBuffer", self.queue.enqueue_write_buffer(&mut self.out, CL_BLOCKING, 0, &[0u32], &[]))?;
            call(
                "clEnqueueNDRangeKernel",
                ExecuteKernel::new(kernel)
                    .set_arg(&args)
                    .set_arg(&per_thread)
                    .set_arg(&self.out)
                    .set_arg(&OUT_CAPACITY)
                    .set_global_work_size(threads)
                    .set_local_work_size(WORK_GROUP_SIZE)
                    .enqueue_nd_range(&self.queue),
            )?;
            call("clEnqueueReadBuffer", self.queue.enqueue_read_buffer(&self.out, CL_BLOCKING, 0, &mut result, &[]))?;
        }
        let dropped = collect_candidates(&result, out);
        let tag = self.tag();
        self.dropped.record(&tag, dropped);
        Ok(())
    }
}
