//! Device selection: a plain [`DeviceSelection`] (from flags or a config file) checked and
//! turned into worker specs, with the fallback rule:
//!
//! - devices named by id (`--gpu 0,1`, `--opencl 0:1`) must exist: an id the backend does not
//!   list is bad input (exit 2), and ids this machine cannot drive (no driver, no device, a GPU
//!   too old for the kernels) are [`SelectionError::NamedUnavailable`] (its own exit code),
//!   never quietly replaced by the CPU;
//! - `all` (or a backend asked for without ids) takes what the backend has; an unavailable
//!   backend is skipped with a warning, and if no backend is left the CPU takes over, loudly.

use tracing::{info, warn};

use crate::settings::Key;

use super::cpu::{self, SimdLevel};
use super::{cuda, opencl, Backend, DeviceError, DeviceKind, GpuInfo, GpuTuning, WorkerSpec};

/// CPU threads allowed per core: more only adds switching.
pub const MAX_THREADS_PER_CORE: usize = 4;
/// GPU threads per launch, at most (a launch shape beyond any GPU made).
pub const MAX_GPU_THREADS: u32 = 1 << 24;
/// Nonces per GPU thread in a batch, at most.
pub const MAX_GPU_NONCES_PER_THREAD: u32 = 1 << 16;
/// Positions per GPU batch (threads x nonces per thread), at most: one work unit.
pub const MAX_GPU_BATCH: u64 = 1 << 32;
/// Nonces per GPU thread unless told otherwise.
pub const DEFAULT_GPU_NONCES_PER_THREAD: u32 = 64;

/// CPU threads allowed on this machine.
pub fn max_threads() -> usize {
    MAX_THREADS_PER_CORE * cpu::cores()
}

/// Which GPUs of a backend: every one, or some by id (`0`, `2` for CUDA; `0:1` for OpenCL).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceIds {
    All,
    Ids(Vec<String>),
}

impl DeviceIds {
    /// `all` or comma-separated CUDA ordinals (`0,2`).
    pub fn cuda(text: &str) -> Result<DeviceIds, SelectionError> {
        Self::parse(text, Key::CudaSelect, "a device number such as 0", |id| id.parse::<u16>().is_ok())
    }

    /// `all` or comma-separated OpenCL platform:device pairs (`0:1,1:0`).
    pub fn opencl(text: &str) -> Result<DeviceIds, SelectionError> {
        Self::parse(text, Key::OpenclSelect, "platform:device, such as 0:1", |id| {
            id.split_once(':').is_some_and(|(p, d)| p.parse::<u16>().is_ok() && d.parse::<u16>().is_ok())
        })
    }

    fn parse(text: &str, key: Key, form: &str, valid: impl Fn(&str) -> bool) -> Result<DeviceIds, SelectionError> {
        let text = text.trim();
        if text == "all" {
            return Ok(DeviceIds::All);
        }
        let ids: Vec<String> = text.split(',').map(|id| id.trim().to_string()).collect();
        match ids.iter().find(|id| !valid(id)) {
            Some(bad) => Err(SelectionError::Invalid(format!("{key} '{bad}': expected `all` or {form} (comma-separated)"))),
            None => Ok(DeviceIds::Ids(ids)),
        }
    }
}

impl std::fmt::Display for DeviceIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceIds::All => f.write_str("all"),
            DeviceIds::Ids(ids) => f.write_str(&ids.join(",")),
        }
    }
}

/// Which devices search, as plain data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceSelection {
    /// Backends asked for; CUDA joins when `gpu` is set, OpenCL when `opencl` is.
    pub backends: Vec<Backend>,
    /// CPU worker threads (default: one per core), 1 to [`max_threads`].
    pub threads: Option<usize>,
    /// A forced CPU SIMD path (default: the best this CPU runs).
    pub simd: Option<SimdLevel>,
    pub gpu: Option<DeviceIds>,
    pub opencl: Option<DeviceIds>,
    /// CUDA launch shape: threads per launch (default: what the device holds at once), 1 to
    /// [`MAX_GPU_THREADS`]; nonces per thread in a batch, 1 to [`MAX_GPU_NONCES_PER_THREAD`].
    pub cuda_tuning: GpuTuning,
    /// OpenCL launch shape, the same ranges.
    pub opencl_tuning: GpuTuning,
}

impl Default for DeviceSelection {
    fn default() -> Self {
        DeviceSelection {
            backends: vec![Backend::Cpu],
            threads: None,
            simd: None,
            gpu: None,
            opencl: None,
            cuda_tuning: DEFAULT_TUNING,
            opencl_tuning: DEFAULT_TUNING,
        }
    }
}

/// Why a selection gives no workers.
#[derive(Debug, thiserror::Error)]
pub enum SelectionError {
    /// Out of range or malformed: the user's input.
    #[error("{0}")]
    Invalid(String),
    /// Devices (or a backend) named on the command line that this machine cannot drive: no
    /// driver, no device, a GPU too old for the kernels.
    #[error("{key} {ids}: unavailable on this machine ({why}); leave out {key} to search on the CPU")]
    NamedUnavailable { key: Key, ids: String, why: String },
    #[error(transparent)]
    Device(#[from] DeviceError),
}

impl SelectionError {
    /// Whether the input is at fault (a bad value, a device id the backend does not have, a
    /// SIMD path this CPU lacks), as opposed to the machine.
    pub fn is_user_error(&self) -> bool {
        matches!(self, SelectionError::Invalid(_) | SelectionError::Device(DeviceError::Selection(_) | DeviceError::Unsupported(_)))
    }
}

/// The text of a device error without its kind's prefix.
pub fn reason(err: &DeviceError) -> String {
    match err {
        DeviceError::Unavailable(why) => why.clone(),
        other => other.to_string(),
    }
}

/// The backends a chain command (the daemon, `status`, `faucet`, `worker`) runs: those named if
/// any; otherwise the GPUs selected (plus the CPU when its threads are set), or the CPU alone.
pub fn chain_backends(named: &[Backend], gpus_selected: bool, cpu_threads_set: bool) -> Vec<Backend> {
    match (named.is_empty(), gpus_selected, cpu_threads_set) {
        (false, _, _) => named.to_vec(),
        (true, true, false) => Vec::new(),
        _ => vec![Backend::Cpu],
    }
}

/// The launch shape when nothing overrides it.
pub const DEFAULT_TUNING: GpuTuning = GpuTuning { threads: None, nonces_per_thread: DEFAULT_GPU_NONCES_PER_THREAD };

/// Checks one backend's launch shape against its ranges; `keys` name its threads and nonces
/// per thread.
fn validate_tuning(tuning: GpuTuning, (threads_key, nonces_key): (Key, Key)) -> Result<(), SelectionError> {
    let invalid = |text: String| Err(SelectionError::Invalid(text));
    if let Some(threads) = tuning.threads {
        if !(1..=MAX_GPU_THREADS).contains(&threads) {
            return invalid(format!("{threads_key} must be between 1 and {MAX_GPU_THREADS} (got {threads})"));
        }
    }
    let nonces = tuning.nonces_per_thread;
    if !(1..=MAX_GPU_NONCES_PER_THREAD).contains(&nonces) {
        return invalid(format!("{nonces_key} must be between 1 and {MAX_GPU_NONCES_PER_THREAD} (got {nonces})"));
    }
    if let Some(threads) = tuning.threads {
        if u64::from(threads) * u64::from(nonces) > MAX_GPU_BATCH {
            return invalid(format!("{threads_key} {threads} x {nonces_key} {nonces} is more than one batch may hold (2^32 nonces)"));
        }
    }
    Ok(())
}

impl DeviceSelection {
    /// Checks every number against its range.
    pub fn validate(&self) -> Result<(), SelectionError> {
        let invalid = |text: String| Err(SelectionError::Invalid(text));
        if let Some(threads) = self.threads {
            if threads == 0 {
                return invalid(format!("{} must be at least 1", Key::CpuThreads));
            }
            if threads > max_threads() {
                return invalid(format!(
                    "{} {threads} is more than {} ({MAX_THREADS_PER_CORE} per core on this machine's {} cores)",
                    Key::CpuThreads,
                    max_threads(),
                    cpu::cores()
                ));
            }
        }
        validate_tuning(self.cuda_tuning, (Key::CudaGpuThreads, Key::CudaGpuNoncesPerThread))?;
        validate_tuning(self.opencl_tuning, (Key::OpenclGpuThreads, Key::OpenclGpuNoncesPerThread))
    }

    /// The backends this selection uses: those asked for, plus CUDA with `gpu` and OpenCL with
    /// `opencl`, in the order they get workers (CPU, CUDA, OpenCL).
    pub fn requested_backends(&self) -> Vec<Backend> {
        let mut backends = self.backends.clone();
        if self.gpu.is_some() {
            backends.push(Backend::Cuda);
        }
        if self.opencl.is_some() {
            backends.push(Backend::Opencl);
        }
        backends.sort_by_key(|b| *b as u8);
        backends.dedup();
        backends
    }

    /// The ids named for `backend`, with their setting, if any were.
    fn named(&self, backend: Backend) -> Option<(Key, &Vec<String>)> {
        match (backend, &self.gpu, &self.opencl) {
            (Backend::Cuda, Some(DeviceIds::Ids(ids)), _) => Some((Key::CudaSelect, ids)),
            (Backend::Opencl, _, Some(DeviceIds::Ids(ids))) => Some((Key::OpenclSelect, ids)),
            _ => None,
        }
    }
}

/// Picks devices from a backend's list: all, or by id (an id not listed is bad input to `key`).
pub fn select(list: &[GpuInfo], ids: &DeviceIds, key: Key) -> Result<Vec<GpuInfo>, DeviceError> {
    let DeviceIds::Ids(ids) = ids else { return Ok(list.to_vec()) };
    ids.iter()
        .map(|id| {
            list.iter().find(|info| info.id == *id).cloned().ok_or_else(|| {
                let known: Vec<&str> = list.iter().map(|i| i.id.as_str()).collect();
                DeviceError::Selection(format!("{key} {id}: no such device (available: {})", known.join(", ")))
            })
        })
        .collect()
}

/// A backend's device list, or why it has none (an empty list counts as unavailable).
fn available(list: Result<Vec<GpuInfo>, DeviceError>) -> Result<Vec<GpuInfo>, DeviceError> {
    match list {
        Ok(list) if list.is_empty() => Err(DeviceError::Unavailable("the driver reports no devices".into())),
        other => other,
    }
}

/// Worker specs for one backend, or why it has none. `alongside` are the backends that already
/// have workers in the same search (they decide what `--opencl all` leaves out).
pub fn backend_specs(backend: Backend, selection: &DeviceSelection, alongside: &[Backend]) -> Result<Vec<WorkerSpec>, SelectionError> {
    selection.validate()?;
    let list = match backend {
        Backend::Cpu => return Ok(cpu_specs(selection)?),
        Backend::Cuda => available(cuda::list()),
        Backend::Opencl => available(opencl::list()),
    };
    // Devices named by id that this machine cannot drive are an error of their own; a
    // backend asked for as a whole reports the device error (and may be skipped).
    let named = selection.named(backend);
    let unusable = |err: DeviceError| match (named, err) {
        (_, err @ DeviceError::Selection(_)) | (None, err) => SelectionError::Device(err),
        (Some((key, ids)), err) => SelectionError::NamedUnavailable { key, ids: ids.join(","), why: reason(&err) },
    };
    let list = list.map_err(unusable)?;
    let specs = match backend {
        Backend::Cuda => select(&list, selection.gpu.as_ref().unwrap_or(&DeviceIds::All), Key::CudaSelect)
            .and_then(|chosen| workers_for(&chosen, "cuda", |info| cuda::worker_spec(info, selection.cuda_tuning))),
        _ => match &selection.opencl {
            Some(ids @ DeviceIds::Ids(_)) => select(&list, ids, Key::OpenclSelect),
            _ => opencl_all(&list, alongside.contains(&Backend::Cuda), alongside.contains(&Backend::Cpu)),
        }
        .and_then(|chosen| workers_for(&chosen, "cl", |info| opencl::worker_spec(info, selection.opencl_tuning))),
    };
    specs.map_err(unusable)
}

fn cpu_specs(selection: &DeviceSelection) -> Result<Vec<WorkerSpec>, DeviceError> {
    let level = SimdLevel::choose(selection.simd)?;
    let threads = selection.threads.unwrap_or_else(cpu::cores);
    info!(device = "cpu", simd = level.name(), threads, "CPU backend");
    Ok((0..threads).map(|thread| cpu::worker_spec(level, thread)).collect())
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
        info!(device = %format!("cl:{}", info.id), name = %info.name, "not in {key} all: {why}; name it ({key} {}) to use it", info.id, key = Key::OpenclSelect);
    }
    if chosen.is_empty() {
        let named: Vec<&str> = skipped.iter().map(|info| info.id.as_str()).collect();
        return Err(DeviceError::Unavailable(if named.is_empty() {
            "the OpenCL runtime reports no devices".to_string()
        } else {
            format!(
                "`{key} all` leaves out every OpenCL device here (see above); name one with {key} {}",
                named.join(","),
                key = Key::OpenclSelect
            )
        }));
    }
    Ok(chosen.into_iter().cloned().collect())
}

/// Worker specs for every requested backend (see the module's rule). Backends come in
/// [`DeviceSelection::requested_backends`]' order, so the CPU and CUDA have their workers
/// before OpenCL decides what `--opencl all` leaves to them.
pub fn specs(selection: &DeviceSelection) -> Result<Vec<WorkerSpec>, SelectionError> {
    selection.validate()?;
    let mut specs = Vec::new();
    let mut running = Vec::new();
    for backend in selection.requested_backends() {
        match backend_specs(backend, selection, &running) {
            Ok(found) => {
                if !found.is_empty() {
                    running.push(backend);
                }
                specs.extend(found)
            }
            Err(SelectionError::Device(err)) if backend != Backend::Cpu && !matches!(err, DeviceError::Selection(_)) => {
                warn!(backend = %backend, "the {backend} backend is unavailable: {}; searching without it", reason(&err))
            }
            Err(err) => return Err(err),
        }
    }
    if specs.is_empty() {
        let threads = selection.threads.unwrap_or_else(cpu::cores);
        warn!("NO GPU BACKEND IS AVAILABLE (see above): falling back to the CPU ({threads} threads)");
        specs = cpu_specs(selection)?;
    }
    Ok(specs)
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
                return Err(DeviceError::Incompatible("sm_35 is too old".into()));
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
        assert!(err.contains(&format!("{} 0:0,1:0", Key::OpenclSelect)), "{err}");
        // PoCL alone: used, unless the CPU backend runs alongside.
        assert_eq!(ids(&opencl_all(&list[..1], false, false).unwrap()), ["0:0"]);
        assert!(opencl_all(&list[..1], false, true).is_err());
        assert!(opencl_all(&[], false, false).unwrap_err().to_string().contains("no devices"));
        // Named devices are always taken; an unknown one is a bad flag.
        let named = DeviceIds::opencl("0:0, 1:0").unwrap();
        assert_eq!(ids(&select(&list, &named, Key::OpenclSelect).unwrap()), ["0:0", "1:0"]);
        let err = select(&list, &DeviceIds::opencl("9:9").unwrap(), Key::OpenclSelect).unwrap_err();
        assert!(matches!(&err, DeviceError::Selection(m) if m.contains(&format!("{} 9:9: no such device", Key::OpenclSelect))), "{err}");
    }

    #[test]
    fn device_ids_are_checked_for_form_before_any_driver_is_asked() {
        assert_eq!(DeviceIds::cuda("all").unwrap(), DeviceIds::All);
        assert_eq!(DeviceIds::cuda("0, 2").unwrap(), DeviceIds::Ids(vec!["0".into(), "2".into()]));
        for bad in ["", "-1", "a", "0,,1", "0:1", "99999999999"] {
            assert!(matches!(DeviceIds::cuda(bad), Err(SelectionError::Invalid(_))), "{bad:?}");
        }
        for bad in ["", "0", "a:b", "-1:0", "0:0:0", "0:"] {
            assert!(matches!(DeviceIds::opencl(bad), Err(SelectionError::Invalid(_))), "{bad:?}");
        }
    }

    #[test]
    fn numbers_out_of_range_are_refused() {
        let with = |f: &dyn Fn(&mut DeviceSelection)| {
            let mut s = DeviceSelection::default();
            f(&mut s);
            s.validate()
        };
        assert!(with(&|_| {}).is_ok());
        assert!(with(&|s| s.threads = Some(max_threads())).is_ok());
        for bad in [
            with(&|s| s.threads = Some(0)),
            with(&|s| s.threads = Some(max_threads() + 1)),
            with(&|s| s.threads = Some(usize::MAX)),
            with(&|s| s.cuda_tuning.threads = Some(0)),
            with(&|s| s.opencl_tuning.threads = Some(u32::MAX)),
            with(&|s| s.cuda_tuning.nonces_per_thread = 0),
            with(&|s| s.opencl_tuning.nonces_per_thread = u32::MAX),
            with(&|s| s.cuda_tuning = GpuTuning { threads: Some(MAX_GPU_THREADS), nonces_per_thread: MAX_GPU_NONCES_PER_THREAD }),
        ] {
            let err = bad.unwrap_err();
            assert!(err.is_user_error(), "{err}");
        }
    }
}
