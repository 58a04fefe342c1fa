//! NVRTC builds of the kernel source: machine code (CUBIN) for the device's own architecture
//! where this NVRTC knows it, else PTX for the newest architecture it knows below the device's,
//! which the driver finishes at load. One build per target per process, kept on disk between
//! runs ([`super::cache`]).
//!
//! Machine code is preferred because a driver refuses PTX newer than itself: NVRTC 12.9's PTX
//! (ISA 8.8) does not load on an R535 driver (CUDA 12.2). CUDA's minor-version compatibility
//! covers machine code, not PTX, so its CUBIN should load on any CUDA 12 driver.

use std::collections::HashMap;
use std::ffi::{c_char, c_int, CStr, CString};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use cudarc::nvrtc::{result, sys, Ptx};

use tracing::{info, warn};

use super::cache;
use crate::pow::sha256;
use crate::solver::kernels::cuda_source;
use crate::solver::DeviceError;

/// What NVRTC builds for a device, by compute capability (`90` for sm_90).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// Machine code for `sm_XY`.
    Cubin(u32),
    /// PTX for `compute_XY`, for a device newer than every architecture this NVRTC knows.
    Ptx(u32),
}

impl Target {
    /// The build for a device of compute capability `arch`, given the architectures NVRTC supports.
    pub fn for_device(arch: u32, supported: &[u32]) -> Result<Target, DeviceError> {
        if supported.contains(&arch) {
            return Ok(Target::Cubin(arch));
        }
        supported.iter().copied().filter(|&a| a < arch).max().map(Target::Ptx).ok_or_else(|| {
            let known: Vec<String> = supported.iter().map(|a| format!("sm_{a}")).collect();
            DeviceError::Incompatible(format!("sm_{arch} is older than every architecture this NVRTC builds for ({})", known.join(" ")))
        })
    }

    /// NVRTC's options for this target (everything a build depends on besides the source and
    /// NVRTC itself).
    fn options(self) -> [String; 2] {
        let arch = match self {
            Target::Cubin(arch) => format!("--gpu-architecture=sm_{arch}"),
            Target::Ptx(arch) => format!("--gpu-architecture=compute_{arch}"),
        };
        [arch, "-std=c++17".to_string()]
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Cubin(arch) => write!(f, "sm_{arch} machine code"),
            Target::Ptx(arch) => write!(f, "compute_{arch} PTX, compiled by the driver"),
        }
    }
}

/// A built module: machine code or PTX text.
#[derive(Debug)]
pub enum Image {
    Cubin(Vec<u8>),
    Ptx(String),
}

impl Image {
    fn bytes(&self) -> &[u8] {
        match self {
            Image::Cubin(bytes) => bytes,
            Image::Ptx(text) => text.as_bytes(),
        }
    }

    fn from_bytes(target: Target, bytes: Vec<u8>) -> Option<Image> {
        match target {
            Target::Cubin(_) => Some(Image::Cubin(bytes)),
            Target::Ptx(_) => String::from_utf8(bytes).ok().map(Image::Ptx),
        }
    }

    /// The module as the driver loads it.
    pub fn module(&self) -> Ptx {
        match self {
            Image::Cubin(bytes) => Ptx::from_binary(bytes.clone()),
            Image::Ptx(text) => Ptx::from_src(text.clone()),
        }
    }
}

/// Whether NVRTC (libnvrtc) can be loaded, from the loader's path or a place
/// [`super::find`] knows.
pub fn present() -> bool {
    super::find::preload();
    // SAFETY: only tries to dlopen the library.
    unsafe { sys::is_culib_present() }
}

fn require() -> Result<(), DeviceError> {
    if present() {
        return Ok(());
    }
    Err(DeviceError::Unavailable(
        "NVRTC (libnvrtc.so.12) was not found on the library path, in a Python environment or a CUDA toolkit: `pip install nvidia-cuda-nvrtc-cu12`, or set REGSOLVER_NVRTC to the library".into(),
    ))
}

fn check(what: &str, code: sys::nvrtcResult) -> Result<(), DeviceError> {
    code.result().map_err(|e| DeviceError::Build(format!("{what}: {e:?}")))
}

/// NVRTC's version, `(major, minor)`.
pub fn version() -> Result<(i32, i32), DeviceError> {
    require()?;
    let (mut major, mut minor) = (0, 0);
    // SAFETY: two out-parameters.
    check("nvrtcVersion", unsafe { sys::nvrtcVersion(&mut major, &mut minor) })?;
    Ok((major, minor))
}

/// The architectures this NVRTC builds machine code for, ascending (`[50, 52, ..., 90, ...]`).
pub fn supported_archs() -> Result<Vec<u32>, DeviceError> {
    require()?;
    let mut count: c_int = 0;
    // SAFETY: one out-parameter, then a buffer of the size NVRTC reported.
    check("nvrtcGetNumSupportedArchs", unsafe { sys::nvrtcGetNumSupportedArchs(&mut count) })?;
    let mut archs = vec![0 as c_int; count.max(0) as usize];
    check("nvrtcGetSupportedArchs", unsafe { sys::nvrtcGetSupportedArchs(archs.as_mut_ptr()) })?;
    Ok(archs.into_iter().filter_map(|a| u32::try_from(a).ok()).collect())
}

/// The kernels for `target`, built once per process (concurrent callers for the same target
/// wait for the first build instead of repeating it) and kept in the disk cache.
pub fn build(target: Target) -> Result<Arc<Image>, DeviceError> {
    static BUILT: OnceLock<Mutex<HashMap<Target, Arc<Image>>>> = OnceLock::new();
    let mut built = crate::sync::lock(BUILT.get_or_init(Default::default));
    if let Some(image) = built.get(&target) {
        return Ok(image.clone());
    }
    let image = Arc::new(load_or_compile(target, cache::dir().as_deref())?.0);
    built.insert(target, image.clone());
    Ok(image)
}

/// Where a build came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Disk,
    Nvrtc,
}

/// The kernels for `target` from the disk cache in `dir`, else from NVRTC (then stored there).
/// Entries are named by a hash of the source, the build options and NVRTC's version.
pub fn load_or_compile(target: Target, dir: Option<&Path>) -> Result<(Image, Origin), DeviceError> {
    let (major, minor) = version()?;
    let key = sha256(format!("{}\0{}\0{major}.{minor}", cuda_source(), target.options().join(" ")).as_bytes());
    let name = format!("kernels-{}.{}", hex::encode(&key[..16]), if matches!(target, Target::Cubin(_)) { "cubin" } else { "ptx" });
    if let Some(image) = dir.and_then(|dir| cache::load(dir, &name)).and_then(|bytes| Image::from_bytes(target, bytes)) {
        info!(build = %target, "kernels loaded from the cache");
        return Ok((image, Origin::Disk));
    }
    let started = Instant::now();
    let image = compile(target)?;
    info!(build = %target, "kernels built by NVRTC {major}.{minor} in {:.1} s", started.elapsed().as_secs_f64());
    if let Some(dir) = dir {
        if let Err(err) = cache::store(dir, &name, image.bytes()) {
            warn!("kernel cache {}: {err} (the next start builds again)", dir.display());
        }
    }
    Ok((image, Origin::Nvrtc))
}

/// One NVRTC program, destroyed on drop.
struct Program(sys::nvrtcProgram);

impl Drop for Program {
    fn drop(&mut self) {
        // SAFETY: created by `create_program` and destroyed only here. A failure leaks one program.
        let _ = unsafe { result::destroy_program(self.0) };
    }
}

/// Builds the kernels for `target` with NVRTC, bypassing every cache.
pub fn compile(target: Target) -> Result<Image, DeviceError> {
    require()?;
    let source = CString::new(cuda_source()).map_err(|_| DeviceError::Build("kernel source holds a NUL byte".into()))?;
    let program = Program(
        result::create_program(&source, Some(c"regsolver.cu")).map_err(|e| DeviceError::Build(format!("nvrtcCreateProgram: {e:?}")))?,
    );
    let options = target.options();
    // SAFETY: `program` is live; the options are plain strings.
    if let Err(e) = unsafe { result::compile_program(program.0, &options) } {
        // SAFETY: as above; the log is NUL-terminated by NVRTC.
        let log = unsafe { result::get_program_log(program.0) }.map(|log| text(&log)).unwrap_or_default();
        return Err(DeviceError::Build(format!("NVRTC for {target}: {e:?}: {log}")));
    }
    match target {
        Target::Cubin(_) => {
            let mut size = 0usize;
            // SAFETY: size query, then a buffer of that size.
            check("nvrtcGetCUBINSize", unsafe { sys::nvrtcGetCUBINSize(program.0, &mut size) })?;
            let mut cubin = vec![0u8; size];
            check("nvrtcGetCUBIN", unsafe { sys::nvrtcGetCUBIN(program.0, cubin.as_mut_ptr().cast::<c_char>()) })?;
            Ok(Image::Cubin(cubin))
        }
        Target::Ptx(_) => {
            // SAFETY: `program` is live and compiled.
            let ptx = unsafe { result::get_ptx(program.0) }.map_err(|e| DeviceError::Build(format!("nvrtcGetPTX: {e:?}")))?;
            Ok(Image::Ptx(text(&ptx)))
        }
    }
}

/// A NUL-terminated buffer from NVRTC as text.
fn text(buffer: &[c_char]) -> String {
    // SAFETY: c_char and u8 have the same layout.
    let bytes = unsafe { std::slice::from_raw_parts(buffer.as_ptr().cast::<u8>(), buffer.len()) };
    CStr::from_bytes_until_nul(bytes)
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|_| String::from_utf8_lossy(bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::Target;

    #[test]
    fn machine_code_for_known_architectures_ptx_for_newer_ones() {
        let supported = [75, 80, 86, 89, 90, 100, 120];
        assert_eq!(Target::for_device(90, &supported).unwrap(), Target::Cubin(90));
        assert_eq!(Target::for_device(87, &supported).unwrap(), Target::Ptx(86));
        assert_eq!(Target::for_device(130, &supported).unwrap(), Target::Ptx(120));
        // A GPU too old is the device's fault, not the user's input.
        let err = Target::for_device(61, &supported).unwrap_err();
        assert!(matches!(err, crate::solver::DeviceError::Incompatible(_)), "{err:?}");
        let err = err.to_string();
        assert!(err.contains("sm_61") && err.contains("sm_75"), "{err}");
    }
}
