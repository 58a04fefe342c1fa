//! Finding NVRTC where the dynamic loader does not look. Bittensor miners usually have it
//! already: PyTorch's wheels depend on `nvidia-cuda-nvrtc-cu12`, which puts `libnvrtc.so.12` in
//! a Python environment's `site-packages/nvidia/cuda_nvrtc/lib/`. Loading it once by its full
//! path makes the later `dlopen("libnvrtc.so.12")` by cudarc find it by its soname.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tracing::debug;

const LIBRARY: &str = "libnvrtc.so.12";

/// Loads NVRTC from the first place that has it, once per process, unless the loader already
/// finds it: `REGSOLVER_NVRTC` (the library or its folder), the active virtualenv or conda
/// environment, `CUDA_HOME`/`CUDA_PATH`, `/usr/local/cuda`, then the system's and the user's
/// Python site-packages.
pub fn preload() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        // SAFETY: loading a shared library runs its initialisers; these are NVIDIA's NVRTC
        // builds from places the user installed them to.
        if unsafe { libloading::Library::new(LIBRARY) }.is_ok() {
            return;
        }
        for path in candidates() {
            // SAFETY: as above. A library that loads is kept loaded for the process.
            let loaded = unsafe { libloading::Library::new(&path) }.map(std::mem::forget).is_ok();
            debug!(path = %path.display(), loaded, "looking for NVRTC");
            if loaded {
                return;
            }
        }
    });
}

/// Where NVRTC may be, most specific first.
fn candidates() -> Vec<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let mut folders = Vec::new();
    if let Some(path) = var("REGSOLVER_NVRTC") {
        if path.is_file() {
            return vec![path];
        }
        folders.push(path);
    }
    for env in ["VIRTUAL_ENV", "CONDA_PREFIX"].into_iter().filter_map(var) {
        folders.extend(site_packages(&env.join("lib")));
        folders.push(env.join("lib"));
    }
    for cuda in ["CUDA_HOME", "CUDA_PATH"].into_iter().filter_map(var).chain([PathBuf::from("/usr/local/cuda")]) {
        folders.push(cuda.join("lib64"));
        folders.push(cuda.join("lib"));
    }
    folders.extend(site_packages(Path::new("/usr/local/lib")));
    folders.push(PathBuf::from("/usr/lib/python3/dist-packages/nvidia/cuda_nvrtc/lib"));
    if let Some(home) = var("HOME") {
        folders.extend(site_packages(&home.join(".local/lib")));
    }
    folders.into_iter().map(|folder| folder.join(LIBRARY)).filter(|path| path.is_file()).collect()
}

/// `lib/python3.*/{site,dist}-packages/nvidia/cuda_nvrtc/lib` under `lib`.
fn site_packages(lib: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(lib) else { return Vec::new() };
    let mut pythons: Vec<PathBuf> =
        entries.flatten().map(|e| e.path()).filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("python3"))).collect();
    pythons.sort();
    pythons
        .into_iter()
        .rev()
        .flat_map(|python| ["site-packages", "dist-packages"].map(|packages| python.join(packages).join("nvidia/cuda_nvrtc/lib")))
        .collect()
}
