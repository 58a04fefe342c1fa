//! The GPU kernel source, embedded: one source for every scheme (`kernels/`), compiled as CUDA
//! (NVRTC) or OpenCL C (clBuildProgram) through a small dialect header.

use crate::pow::hotloop::{HotLoop, Layout, SHA256_K};
use crate::pow::ByteOrder;

/// Every kernel entry point.
pub const KERNEL_NAMES: [&str; 4] = ["search_pow_le", "search_pow_be", "search_legacy_le", "search_legacy_be"];

/// The index in [`KERNEL_NAMES`] of the kernel that runs a job.
pub fn kernel_for(hot: &HotLoop) -> usize {
    match (hot.layout, hot.order) {
        (Layout::PowRegister, ByteOrder::Little) => 0,
        (Layout::PowRegister, ByteOrder::Big) => 1,
        (Layout::Legacy, ByteOrder::Little) => 2,
        (Layout::Legacy, ByteOrder::Big) => 3,
    }
}

/// The source after a dialect header: constants generated from the Rust tables, then the hashes
/// and the kernels.
fn source(dialect: &str) -> String {
    let k: Vec<String> = SHA256_K.iter().map(|k| format!("{k:#010x}")).collect();
    let constants = format!("CONSTANT u32 SHA256_K[64] = {{{}}};\n", k.join(", "));
    [dialect, &constants, include_str!("../kernels/sha256.h"), include_str!("../kernels/keccak.h"), include_str!("../kernels/search.h")]
        .join("\n")
}

/// The full CUDA source.
pub fn cuda_source() -> String {
    source(include_str!("../kernels/dialect_cuda.h"))
}

/// The full OpenCL C source.
pub fn opencl_source() -> String {
    source(include_str!("../kernels/dialect_opencl.h"))
}

/// Appends the indices a launch wrote to its `[count, index...]` buffer (a count beyond the
/// buffer's capacity means the extra candidates were dropped by the kernel).
pub fn collect_candidates(buffer: &[u32], out: &mut Vec<u32>) {
    let found = (buffer[0] as usize).min(buffer.len() - 1);
    out.extend_from_slice(&buffer[1..1 + found]);
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
