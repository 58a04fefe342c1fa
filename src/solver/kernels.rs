//! The GPU kernel source, embedded: one source for every scheme (`kernels/`), compiled as CUDA
//! (NVRTC) or OpenCL C (clBuildProgram) through a small dialect header.
// Hot path: a truncating cast here once wrapped a run of 2^32 nonces to none (issue 10).
#![warn(clippy::cast_possible_truncation)]

use std::time::{Duration, Instant};

use tracing::warn;

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
    [
        dialect,
        &constants,
        include_str!("../../kernels/sha256.h"),
        include_str!("../../kernels/keccak.h"),
        include_str!("../../kernels/search.h"),
    ]
    .join("\n")
}

/// The full CUDA source.
pub fn cuda_source() -> String {
    source(include_str!("../../kernels/dialect_cuda.h"))
}

/// The full OpenCL C source.
pub fn opencl_source() -> String {
    source(include_str!("../../kernels/dialect_opencl.h"))
}

/// Appends the indices a launch wrote to its `[count, index...]` buffer; returns how many
/// candidates the launch found beyond the buffer's capacity (counted by the kernel, dropped).
pub fn collect_candidates(buffer: &[u32], out: &mut Vec<u32>) -> u64 {
    let Some((&count, slots)) = buffer.split_first() else { return 0 };
    let kept = slots.len().min(usize::try_from(count).unwrap_or(usize::MAX));
    out.extend_from_slice(&slots[..kept]);
    // `kept <= count`, a u32, so the difference is exact.
    u64::from(count) - kept as u64
}

/// How often, at most, a device repeats the warning about dropped candidates.
pub const DROPPED_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Candidates a GPU's launches found beyond its buffer's capacity: counted, and logged at once,
/// then at most every [`DROPPED_LOG_INTERVAL`] with the running total, never silently.
#[derive(Debug, Default)]
pub struct DroppedCandidates {
    total: u64,
    logged_total: u64,
    last_log: Option<Instant>,
}

impl DroppedCandidates {
    /// Counts `dropped` more candidates of the device tagged `device`, logging as above.
    pub fn record(&mut self, device: &str, dropped: u64) {
        if dropped == 0 {
            return;
        }
        self.total += dropped;
        if self.last_log.is_some_and(|at| at.elapsed() < DROPPED_LOG_INTERVAL) {
            return;
        }
        warn!(
            device = %device,
            dropped = self.total - self.logged_total,
            dropped_total = self.total,
            slots_per_launch = OUT_CAPACITY,
            "candidates beyond the device's result buffer were dropped: the target is too easy for launches this large"
        );
        self.logged_total = self.total;
        self.last_log = Some(Instant::now());
    }

    /// Every candidate dropped so far.
    pub fn total(&self) -> u64 {
        self.total
    }
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
            target_lo: (target_top & 0xFFFF_FFFF) as u32,
            target_hi: (target_top >> 32) as u32,
            first,
            count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Log lines written while `f` runs.
    fn logs(f: impl FnOnce()) -> String {
        #[derive(Clone, Default)]
        struct Captured(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Captured {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                crate::sync::lock(&self.0).extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
        tracing::subscriber::with_default(subscriber, f);
        let bytes = crate::sync::lock(&captured.0).clone();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[test]
    fn a_full_buffer_keeps_what_fits_and_counts_the_rest() {
        let mut out = Vec::new();
        assert_eq!(collect_candidates(&[7, 10, 11, 12], &mut out), 4);
        assert_eq!(out, [10, 11, 12]);
        out.clear();
        assert_eq!(collect_candidates(&[2, 10, 11, 0], &mut out), 0);
        assert_eq!(out, [10, 11]);
        assert_eq!(collect_candidates(&[], &mut out), 0);
    }

    #[test]
    fn dropped_candidates_are_counted_and_logged_without_flooding() {
        let mut dropped = DroppedCandidates::default();
        let text = logs(|| {
            dropped.record("cl:0:0", 0);
            dropped.record("cl:0:0", 904);
            dropped.record("cl:0:0", 5);
        });
        assert_eq!(dropped.total(), 909);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{text}");
        assert!(lines[0].contains("WARN") && lines[0].contains("device=cl:0:0") && lines[0].contains("dropped=904"), "{text}");
    }
}
