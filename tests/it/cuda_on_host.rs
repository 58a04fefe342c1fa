//! The CUDA kernel source, exactly as NVRTC receives it (CUDA dialect header included), compiled
//! by the host's C++ compiler with the CUDA built-ins and intrinsics it uses written out from
//! NVIDIA's definitions (`tests/cuda_on_host/shim.h`), and driven through the backend's own
//! launch shape, kernel arguments and read-back: the self-test every GPU runs before its first
//! job, parity with the reference, and many candidates per launch. This checks the CUDA-only
//! lines (funnel-shift rotations, byte permutes, thread indexing) where no GPU is available; it
//! says nothing of the driver calls, which only a GPU run covers (tests/it/cuda.rs).
//! REGSOLVER_REQUIRE_NVRTC=1 makes a missing C++ compiler a failure.

use crate::support;

use support::job;

use std::io::{Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use proptest::prelude::*;
use regsolver::pow::hotloop::{HotLoop, Unit};
use regsolver::pow::ByteOrder;
use regsolver::solver::cuda::THREADS_PER_BLOCK;
use regsolver::solver::kernels::{collect_candidates, kernel_for, KernelUnit, OUT_CAPACITY};
use regsolver::solver::{launch_shape, search, selftest, Device, DeviceError};

/// Longest one launch of the host runner may take (a few thousand threads on the CPU).
const RUNNER_LIMIT: Duration = Duration::from_secs(120);

/// The kernel source and the runner, compiled once per test run; where it cannot be, every
/// test that asks says so (a failure under REGSOLVER_REQUIRE_NVRTC=1).
fn runner() -> Option<&'static PathBuf> {
    static RUNNER: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match RUNNER.get_or_init(|| support::compile_cuda_on_host("runner.cpp", "runner", &[])) {
        Ok(runner) => Some(runner),
        Err(why) => {
            support::skip_or_fail("REGSOLVER_REQUIRE_NVRTC", &format!("the CUDA source cannot be run on the host: {why}"));
            None
        }
    }
}

/// A launch of the CUDA kernels on the host, shaped as `CudaDevice` shapes it.
struct HostLaunch {
    runner: &'static PathBuf,
    threads: u32,
    capacity: u32,
    /// Candidates the launches found beyond `capacity`.
    dropped: u64,
}

impl Device for HostLaunch {
    fn tag(&self) -> String {
        "cuda-source-on-host".into()
    }
    fn batch_positions(&self) -> u64 {
        u64::from(self.threads) * 4
    }
    fn search_run(&mut self, hot: &HotLoop, unit: &Unit, first: u32, count: u32, out: &mut Vec<u32>) -> Result<(), DeviceError> {
        let args = KernelUnit::new(unit, hot.target.top(), first, count);
        let (per_thread, threads) = launch_shape(self.threads, count);
        let mut words: Vec<u32> = args.state.to_vec();
        words.extend([args.round0_a, args.round0_e]);
        words.extend(args.words);
        words.extend([args.target_lo, args.target_hi, args.first, args.count]);
        let header = [kernel_for(hot) as u32, per_thread, threads, THREADS_PER_BLOCK, self.capacity];
        let input: Vec<String> = header.iter().chain(&words).map(u32::to_string).collect();
        // The launch goes in through a file, so the run is bounded like every other.
        let mut launch = tempfile::tempfile().unwrap();
        launch.write_all(input.join(" ").as_bytes()).unwrap();
        launch.seek(SeekFrom::Start(0)).unwrap();
        let mut command = Command::new(self.runner);
        command.stdin(launch);
        let output = support::process::output_within(command, RUNNER_LIMIT);
        assert!(output.status.success(), "runner failed");
        let buffer: Vec<u32> = String::from_utf8_lossy(&output.stdout).split_whitespace().map(|w| w.parse().unwrap()).collect();
        self.dropped += collect_candidates(&buffer, out);
        Ok(())
    }
}

fn device(threads: u32, capacity: u32) -> Option<HostLaunch> {
    runner().map(|runner| HostLaunch { runner, threads, capacity, dropped: 0 })
}

#[test]
fn the_gpu_self_test_passes_on_the_cuda_source() {
    let Some(mut dev) = device(300, OUT_CAPACITY) else { return };
    selftest::run(&mut dev).expect("self-test");
}

#[test]
fn many_candidates_in_one_launch_are_all_reported() {
    let Some(mut dev) = device(700, OUT_CAPACITY) else { return };
    for (pow, order) in [(true, ByteOrder::Big), (false, ByteOrder::Little)] {
        let hot = job(pow, [9; 32], order, 2);
        let expected = hot.reference_candidates(5000, 3000);
        assert!(expected.len() > 1000);
        assert_eq!(search(&mut dev, &hot, 5000, 3000).unwrap(), expected);
    }
}

#[test]
fn a_full_buffer_keeps_candidates_that_fit_and_counts_the_rest() {
    let Some(mut dev) = device(64, 8) else { return };
    let hot = job(true, [4; 32], ByteOrder::Little, 1);
    // Difficulty 1: every index is a candidate. Which 8 find a slot depends on the order the
    // threads run in, which a GPU does not fix: any 8 distinct ones, and 92 counted as dropped.
    let found = search(&mut dev, &hot, 0, 100).unwrap();
    let all = hot.reference_candidates(0, 100);
    assert_eq!(found.len(), 8, "{found:?}");
    assert!(found.iter().all(|nonce| all.contains(nonce)), "{found:?}");
    assert_eq!(found.iter().collect::<std::collections::HashSet<_>>().len(), 8, "{found:?}");
    assert_eq!(dev.dropped, 92);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]
    /// Candidate sets equal the reference's on random inputs, both layouts and byte orders,
    /// across a unit boundary, with launches of assorted shapes.
    #[test]
    fn parity_with_the_reference(pow: bool, big: bool, bytes: [u8; 32], difficulty in 2u64..64, count in 1u64..900, threads in 1u32..600) {
        let Some(mut dev) = device(threads, OUT_CAPACITY) else { return Ok(()) };
        let order = if big { ByteOrder::Big } else { ByteOrder::Little };
        let hot = job(pow, bytes, order, difficulty);
        let first = hot.unit_len() - 450;
        prop_assert_eq!(search(&mut dev, &hot, first, count).unwrap(), hot.reference_candidates(first, count));
    }
}
