//! The GPU kernel source, embedded: one source for every scheme (`kernels/`), compiled as CUDA
//! (NVRTC) or OpenCL C (clBuildProgram) through a small dialect header.

/// Kernel entry points, by (pow-register?, big-endian?).
pub fn kernel_name(pow: bool, big: bool) -> &'static str {
    match (pow, big) {
        (true, false) => "search_pow_le",
        (true, true) => "search_pow_be",
        (false, false) => "search_legacy_le",
        (false, true) => "search_legacy_be",
    }
}

/// Every kernel entry point.
pub const KERNEL_NAMES: [&str; 4] = ["search_pow_le", "search_pow_be", "search_legacy_le", "search_legacy_be"];

const BODY: [&str; 3] = [include_str!("../kernels/sha256.h"), include_str!("../kernels/keccak.h"), include_str!("../kernels/search.h")];

/// The full CUDA source.
pub fn cuda_source() -> String {
    [include_str!("../kernels/dialect_cuda.h")].iter().chain(BODY.iter()).copied().collect::<Vec<_>>().join("\n")
}

/// The full OpenCL C source.
pub fn opencl_source() -> String {
    [include_str!("../kernels/dialect_opencl.h")].iter().chain(BODY.iter()).copied().collect::<Vec<_>>().join("\n")
}

/// Candidate slots per launch; more than this in one launch are counted but dropped (a
/// launch at a realistic difficulty finds none; the self-test's easy targets find a few dozen).
pub const OUT_CAPACITY: u32 = 4096;

/// The per-unit constants as the kernels take them (`unit_t` in `kernels/sha256.h`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct KernelUnit {
    pub state: [u32; 8],
    pub round0_a: u32,
    pub round0_e: u32,
    pub words: [u32; 16],
    pub target_lo: u32,
    pub target_hi: u32,
    pub first: u32,
    pub count: u32,
}

impl KernelUnit {
    pub fn new(unit: &crate::pow::hotloop::Unit, target_top: u64, first: u32, count: u32) -> Self {
        KernelUnit {
            state: unit.state,
            round0_a: unit.round0_a,
            round0_e: unit.round0_e,
            words: unit.words,
            target_lo: target_top as u32,
            target_hi: (target_top >> 32) as u32,
            first,
            count,
        }
    }
}
