//! Device selection (command-line flags -> worker specs) and the `devices` listing.

use serde_json::{json, Value};
use tracing::{info, warn};

use crate::cli::DeviceArgs;
use crate::solver::cpu::{CpuDevice, SimdLevel};
use crate::solver::pool::WorkerSpec;
use crate::solver::{cuda, opencl, Backend, DeviceError, DeviceKind, GpuInfo, GpuTuning};

/// CPU cores available to this process.
pub fn cpu_cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// Picks devices from a backend's list by a selection: `all`, or comma-separated ids.
pub fn select(list: &[GpuInfo], selection: &str, flag: &str) -> Result<Vec<GpuInfo>, DeviceError> {
    if list.is_empty() {
        return Err(DeviceError::Unavailable("the driver reports no devices".into()));
    }
    if selection.trim() == "all" {
        return Ok(list.to_vec());
    }
    selection
        .split(',')
        .map(|id| {
            let id = id.trim();
            list.iter().find(|info| info.id == id).cloned().ok_or_else(|| {
                let ids: Vec<&str> = list.iter().map(|i| i.id.as_str()).collect();
                DeviceError::Selection(format!("{flag} {id}: no such device (available: {})", ids.join(", ")))
            })
        })
        .collect()
}

/// Worker specs for one backend, or why it has none. `alongside` are the backends that already
/// have workers in the same search (they decide what `--opencl all` leaves out).
pub fn backend_specs(backend: Backend, args: &DeviceArgs, alongside: &[Backend]) -> Result<Vec<WorkerSpec>, DeviceError> {
    let tuning = GpuTuning { threads: args.gpu_threads, nonces_per_thread: args.gpu_nonces_per_thread };
    match backend {
        Backend::Cpu => {
            let level = SimdLevel::choose(args.simd)?;
            let threads = args.threads.unwrap_or_else(cpu_cores).max(1);
            info!(device = "cpu", simd = level.name(), threads, "CPU backend");
            Ok((0..threads)
                .map(|thread| WorkerSpec {
                    backend: Backend::Cpu,
                    name: format!("cpu ({})", level.name()),
                    build: Box::new(move || Ok(Box::new(CpuDevice::new(level, thread)) as _)),
                })
                .collect())
        }
        Backend::Cuda => {
            let chosen = select(&cuda::list()?, args.gpu.as_deref().unwrap_or("all"), "--gpu")?;
            workers_for(&chosen, "cuda", |info| cuda::worker_spec(info, tuning))
        }
        Backend::Opencl => {
            let list = opencl::list()?;
            let chosen = match args.opencl.as_deref().map(str::trim) {
                None | Some("all") => opencl_all(&list, alongside.contains(&Backend::Cuda), alongside.contains(&Backend::Cpu))?,
                Some(ids) => select(&list, ids, "--opencl")?,
            };
            workers_for(&chosen, "cl", |info| opencl::worker_spec(info, tuning))
        }
    }
}

/// A worker per chosen GPU; one that cannot get a worker (a GPU older than NVRTC supports, say)
/// is left out, loudly, and the others go on. Only if none can is it an error.
fn workers_for(
    chosen: &[GpuInfo],
    tag: &str,
    spec: impl Fn(&GpuInfo) -> Result<WorkerSpec, DeviceError>,
) -> Result<Vec<WorkerSpec>, DeviceError> {
    let mut specs = Vec::new();
    let mut first_error = None;
    for info in chosen {
        match spec(info) {
            Ok(worker) => specs.push(worker),
            Err(err) => {
                warn!(device = %format!("{tag}:{}", info.id), name = %info.name, "{err}; left out");
                first_error.get_or_insert(err);
            }
        }
    }
    match first_error {
        Some(err) if specs.is_empty() => Err(err),
        _ => Ok(specs),
    }
}

/// What `--opencl all` means: every OpenCL GPU and accelerator, less NVIDIA GPUs when the CUDA
/// backend drives them in the same search (one GPU driven twice is only split); where that
/// leaves none, the OpenCL CPU devices, unless the CPU backend runs alongside (it is several
/// times faster on the same cores). Whatever is left out is taken when named.
pub fn opencl_all(list: &[GpuInfo], cuda_alongside: bool, cpu_alongside: bool) -> Result<Vec<GpuInfo>, DeviceError> {
    let gpus: Vec<&GpuInfo> = list.iter().filter(|info| info.kind != DeviceKind::Cpu && !(info.nvidia && cuda_alongside)).collect();
    let chosen: Vec<&GpuInfo> =
        if gpus.is_empty() && !cpu_alongside { list.iter().filter(|info| info.kind == DeviceKind::Cpu).collect() } else { gpus };
    let skipped: Vec<&GpuInfo> = list.iter().filter(|info| !chosen.iter().any(|c| c.id == info.id)).collect();
    for info in &skipped {
        let why = match info.kind {
            DeviceKind::Cpu if cpu_alongside => "a CPU device, and the CPU backend runs alongside",
            DeviceKind::Cpu => "a CPU device, and OpenCL has GPUs here",
            _ => "an NVIDIA GPU, which the CUDA backend drives in this search",
        };
        info!(device = %format!("cl:{}", info.id), name = %info.name, "not in --opencl all: {why}; name it (--opencl {}) to use it", info.id);
    }
    if chosen.is_empty() {
        let named: Vec<&str> = skipped.iter().map(|info| info.id.as_str()).collect();
        return Err(DeviceError::Unavailable(if named.is_empty() {
            "the OpenCL runtime reports no devices".to_string()
        } else {
            format!("`--opencl all` leaves out every OpenCL device here (see above); name one with --opencl {}", named.join(","))
        }));
    }
    Ok(chosen.into_iter().cloned().collect())
}

/// The backends a command uses: those asked for, plus CUDA if `--gpu` and OpenCL if `--opencl`.
pub fn requested_backends(mut backends: Vec<Backend>, args: &DeviceArgs) -> Vec<Backend> {
    if args.gpu.is_some() {
        backends.push(Backend::Cuda);
    }
    if args.opencl.is_some() {
        backends.push(Backend::Opencl);
    }
    backends.sort_by_key(|b| *b as u8);
    backends.dedup();
    backends
}

/// Worker specs for every requested backend that is available. An unavailable GPU backend is
/// logged and skipped; if nothing is left, the CPU takes over (the clean fallback). Backends
/// come in [`requested_backends`]' order, so the CPU and CUDA have their workers before OpenCL
/// decides what `--opencl all` leaves to them.
pub fn specs_with_fallback(backends: &[Backend], args: &DeviceArgs) -> Result<Vec<WorkerSpec>, DeviceError> {
    let mut specs = Vec::new();
    let mut running = Vec::new();
    for &backend in backends {
        match backend_specs(backend, args, &running) {
            Ok(found) => {
                if !found.is_empty() {
                    running.push(backend);
                }
                specs.extend(found)
            }
            Err(err @ DeviceError::Selection(_)) => return Err(err),
            Err(err) if backend != Backend::Cpu => warn!(backend = %backend, "{err}"),
            Err(err) => return Err(err),
        }
    }
    if specs.is_empty() {
        warn!("no GPU backend is available; falling back to the CPU");
        specs = backend_specs(Backend::Cpu, args, &[])?;
    }
    Ok(specs)
}

fn gpu_listing(list: Result<Vec<GpuInfo>, DeviceError>) -> Value {
    match list {
        Ok(devices) => json!({ "devices": devices }),
        Err(err) => json!({ "unavailable": err.to_string() }),
    }
}

/// What `regsolver devices` reports.
pub fn listing() -> Value {
    json!({
        "cpu": {
            "arch": std::env::consts::ARCH,
            "cores": cpu_cores(),
            "simd_available": SimdLevel::available(),
            "simd_selected": SimdLevel::best(),
        },
        "cuda": gpu_listing(cuda::list()),
        "opencl": gpu_listing(opencl::list()),
    })
}

/// Human-readable form of [`listing`].
pub fn listing_text(listing: &Value) -> String {
    let cpu = &listing["cpu"];
    let names = |v: &Value| v.as_array().map(|a| a.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(", ")).unwrap_or_default();
    let mut text = format!(
        "CPU: {} cores, {}; SIMD paths: {}; selected: {}\n",
        cpu["cores"],
        cpu["arch"].as_str().unwrap_or(""),
        names(&cpu["simd_available"]),
        cpu["simd_selected"].as_str().unwrap_or("")
    );
    for (title, key, flag) in [("CUDA", "cuda", "--gpu"), ("OpenCL", "opencl", "--opencl")] {
        let section = &listing[key];
        match section["devices"].as_array() {
            Some(devices) => {
                text += &format!("{title}: {} device(s)\n", devices.len());
                for d in devices {
                    text += &format!(
                        "  {flag} {}  {}  ({}, {} compute units, {})\n",
                        d["id"].as_str().unwrap_or(""),
                        d["name"].as_str().unwrap_or(""),
                        d["kind"].as_str().unwrap_or(""),
                        d["compute_units"],
                        d["detail"].as_str().unwrap_or("")
                    );
                }
            }
            None => text += &format!("{title}: {}\n", section["unavailable"].as_str().unwrap_or("")),
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(id: &str, kind: DeviceKind, nvidia: bool) -> GpuInfo {
        GpuInfo { id: id.into(), name: format!("device {id}"), compute_units: 1, kind, nvidia, detail: String::new() }
    }

    fn ids(list: &[GpuInfo]) -> Vec<&str> {
        list.iter().map(|info| info.id.as_str()).collect()
    }

    #[test]
    fn a_gpu_without_a_worker_is_left_out_and_the_others_go_on() {
        let list = [device("0", DeviceKind::Gpu, true), device("1", DeviceKind::Gpu, true)];
        let spec = |info: &GpuInfo| {
            if info.id == "0" {
                return Err(DeviceError::Unsupported("sm_35 is too old".into()));
            }
            Ok(WorkerSpec { backend: Backend::Cuda, name: info.name.clone(), build: Box::new(|| Err(DeviceError::Call("unused".into()))) })
        };
        let specs = workers_for(&list, "cuda", spec).unwrap();
        assert_eq!(specs.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["device 1"]);
        let err = workers_for(&list[..1], "cuda", spec).err().unwrap().to_string();
        assert!(err.contains("sm_35"), "{err}");
    }

    #[test]
    fn opencl_all_takes_gpus_and_leaves_out_what_another_backend_drives() {
        let list = [
            device("0:0", DeviceKind::Cpu, false),
            device("1:0", DeviceKind::Gpu, true),
            device("2:0", DeviceKind::Gpu, false),
            device("2:1", DeviceKind::Accelerator, false),
        ];
        assert_eq!(ids(&opencl_all(&list, false, false).unwrap()), ["1:0", "2:0", "2:1"]);
        assert_eq!(ids(&opencl_all(&list, true, true).unwrap()), ["2:0", "2:1"]);
        // Only the NVIDIA GPU and a CPU device: CUDA drives the one, the CPU device is taken
        // unless the CPU backend runs too.
        assert_eq!(ids(&opencl_all(&list[..2], true, false).unwrap()), ["0:0"]);
        assert_eq!(ids(&opencl_all(&list[..2], false, true).unwrap()), ["1:0"]);
        let err = opencl_all(&list[..2], true, true).unwrap_err().to_string();
        assert!(err.contains("--opencl 0:0,1:0"), "{err}");
        // PoCL alone: used, unless the CPU backend runs alongside.
        assert_eq!(ids(&opencl_all(&list[..1], false, false).unwrap()), ["0:0"]);
        assert!(opencl_all(&list[..1], false, true).is_err());
        assert!(opencl_all(&[], false, false).unwrap_err().to_string().contains("no devices"));
        // Named devices are always taken.
        assert_eq!(ids(&select(&list, "0:0,1:0", "--opencl").unwrap()), ["0:0", "1:0"]);
    }
}
