//! The real OpenCL kernels on whatever OpenCL device is installed (PoCL's CPU device in CI):
//! parity with the reference for every layout and byte order, many candidates per launch,
//! job switching, and `solve --backend opencl`. With REGSOLVER_REQUIRE_OPENCL=1 a missing
//! OpenCL runtime fails these tests instead of skipping them.

use crate::support::{self, process};

use support::job;

use std::time::{Duration, Instant};

use proptest::prelude::*;
use regsolver::pow::hotloop::HotLoop;
use regsolver::pow::{ByteOrder, Challenge, Target};
use regsolver::solver::kernels::OUT_CAPACITY;
use regsolver::solver::pool::{JobId, Pool, Verdict, VerdictReceiver};
use regsolver::solver::{opencl, search, selftest, Device, DeviceKind, GpuTuning};

const REQUIRE: &str = "REGSOLVER_REQUIRE_OPENCL";
const TUNING: GpuTuning = GpuTuning { threads: Some(256), nonces_per_thread: 4 };

/// The first OpenCL device, or a loud skip (a failure when required).
fn device() -> Option<Box<dyn Device>> {
    match opencl::list() {
        Ok(list) if !list.is_empty() => {
            let spec = opencl::worker_spec(&list[0], TUNING).expect("spec");
            Some((spec.build)().expect("OpenCL device builds the kernels"))
        }
        Ok(_) => {
            support::skip_or_fail(REQUIRE, "the OpenCL runtime lists no device");
            None
        }
        Err(err) => {
            support::skip_or_fail(REQUIRE, &format!("no OpenCL: {err}"));
            None
        }
    }
}

#[test]
fn self_test_passes_on_the_real_kernels() {
    let Some(mut dev) = device() else { return };
    selftest::run(dev.as_mut()).expect("self-test");
}

#[test]
fn many_candidates_in_one_launch_are_all_reported() {
    let Some(mut dev) = device() else { return };
    // Difficulty 2: about half of 3000 indices are candidates, in one launch.
    for (pow, order) in [(true, ByteOrder::Little), (false, ByteOrder::Big)] {
        let hot = job(pow, [5; 32], order, 2);
        let expected = hot.reference_candidates(1000, 3000);
        assert!(expected.len() > 1000);
        assert_eq!(search(dev.as_mut(), &hot, 1000, 3000).unwrap(), expected);
    }
}

#[test]
fn candidates_beyond_the_buffer_are_dropped_not_invented() {
    let Some(mut dev) = device() else { return };
    // Difficulty 1: every index is a candidate, 904 more than one launch has slots for. Which
    // ones find a slot depends on the order work-items run in; the rest are counted and logged
    // (see kernels::DroppedCandidates).
    let hot = job(false, [6; 32], ByteOrder::Little, 1);
    let count = u64::from(OUT_CAPACITY) + 904;
    let found = search(dev.as_mut(), &hot, 0, count).unwrap();
    assert_eq!(found.len(), OUT_CAPACITY as usize);
    assert!(found.windows(2).all(|pair| pair[0] < pair[1]), "duplicates or out of order");
    assert!(found.iter().all(|&nonce| nonce < count), "a nonce outside the launch");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    /// Candidate sets equal the reference's (seal top 64 bits within the target) on random
    /// inputs, for both layouts and byte orders, across a unit boundary.
    #[test]
    fn parity_with_the_reference(pow: bool, big: bool, bytes: [u8; 32], difficulty in 2u64..64, count in 1u64..700) {
        let Some(mut dev) = device() else { return Ok(()) };
        let order = if big { ByteOrder::Big } else { ByteOrder::Little };
        let hot = job(pow, bytes, order, difficulty);
        let first = hot.unit_len() - 350;
        prop_assert_eq!(search(dev.as_mut(), &hot, first, count).unwrap(), hot.reference_candidates(first, count));
    }
}

/// The first solution for `job`. Every verdict on the way must be a solution whose seal is the
/// reference's for the job it names (no compute error, no candidate judged against another job).
fn solution_for(pool: &Pool, verdicts: &VerdictReceiver, job: JobId) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        match verdicts.recv_timeout(Duration::from_millis(100)) {
            Some(Verdict::Solution(s)) => {
                let hot = pool.job(s.job).unwrap_or_else(|| panic!("job {} is remembered", s.job));
                assert_eq!(hot.verify(s.nonce), Some(s.seal), "the seal reported for nonce {} of job {}", s.nonce, s.job);
                if s.job == job {
                    return s.nonce;
                }
            }
            Some(other) => panic!("waiting for job {job}: {other:?}"),
            None => {}
        }
    }
    panic!("no solution for job {job}");
}

#[test]
fn workers_switch_jobs_and_every_solution_verifies() {
    let Ok(list) = opencl::list() else { return support::skip_or_fail(REQUIRE, "no OpenCL runtime") };
    if list.is_empty() {
        return support::skip_or_fail(REQUIRE, "the OpenCL runtime lists no device");
    }
    let pool = Pool::start(vec![opencl::worker_spec(&list[0], TUNING).unwrap()]);
    let verdicts = pool.verdicts();
    let first = pool.set_job(job(true, [1; 32], ByteOrder::Little, 500), 0);
    let a = solution_for(&pool, &verdicts, first);
    assert!(pool.job(first).expect("remembered").verify(a).is_some());
    // After the switch the workers search the second job: a solution comes for it, and every
    // candidate reported on the way (late ones for the first job included) verifies as the job
    // it names.
    let second = pool.set_job(job(false, [2; 32], ByteOrder::Big, 500), 0);
    let b = solution_for(&pool, &verdicts, second);
    assert!(pool.job(second).expect("remembered").verify(b).is_some());
    pool.shutdown();
}

#[test]
fn solve_with_the_opencl_backend_finds_valid_seals_for_every_scheme() {
    if opencl::list().map(|l| l.is_empty()).unwrap_or(true) {
        return support::skip_or_fail(REQUIRE, "no OpenCL device");
    }
    let block = "22".repeat(32);
    let key = "33".repeat(32);
    for (scheme, extra, order) in [
        (
            "pow-register",
            vec!["--netuid", "3", "--hotkey", key.as_str(), "--coldkey", key.as_str(), "--difficulty", "2000"],
            ByteOrder::Little,
        ),
        ("legacy", vec!["--hotkey", key.as_str(), "--difficulty", "2000", "--byte-order", "be"], ByteOrder::Big),
        ("faucet", vec!["--coldkey", key.as_str(), "--difficulty", "2000", "--byte-order", "le"], ByteOrder::Little),
    ] {
        let mut args = vec![
            "solve",
            "--json",
            "--backend",
            "opencl",
            "--opencl",
            "0:0",
            "--gpu-threads",
            "256",
            "--scheme",
            scheme,
            "--block-hash",
            block.as_str(),
        ];
        args.extend(extra);
        let out = process::output(&args, &[]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{scheme}: {}", String::from_utf8_lossy(&out.stderr));
        let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        assert!(report["device"].as_str().unwrap().starts_with("cl:"), "{report}");
        let bytes = [0x22u8; 32];
        let challenge = match scheme {
            "pow-register" => Challenge::pow_register(3, &bytes, &[0x33; 32], &[0x33; 32]).unwrap(),
            _ => Challenge::legacy(&bytes, &[0x33; 32]),
        };
        let hot = HotLoop::new(challenge, Target::from_difficulty(2000).unwrap(), order);
        let seal = hot.verify(report["nonce"].as_u64().unwrap()).expect("reference accepts the seal");
        assert_eq!(report["seal"].as_str().unwrap(), hex::encode(seal));
    }
}

/// `--opencl all` takes PoCL's CPU device when OpenCL runs alone, and leaves it to the CPU
/// backend when both run (saying how to name it).
#[test]
fn opencl_all_takes_a_cpu_device_only_without_the_cpu_backend() {
    let list = match opencl::list() {
        Ok(list) => list,
        Err(err) => return support::skip_or_fail(REQUIRE, &format!("no OpenCL: {err}")),
    };
    if list.iter().any(|info| info.kind != DeviceKind::Cpu) {
        return support::skip_or_fail(
            "REGSOLVER_REQUIRE_CPU_ONLY_OPENCL",
            "this machine has an OpenCL GPU, which `--opencl all` takes instead of CPU devices",
        );
    }
    let key = "44".repeat(32);
    let solve = |backends: &str| {
        let args = ["solve", "--json", "--backend", backends, "--threads", "1", "--gpu-threads", "256", "--scheme", "legacy"];
        let out = process::output(&[&args[..], &["--block-hash", &key, "--hotkey", &key, "--difficulty", "100"]].concat(), &[]);
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "{stderr}");
        let report: serde_json::Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
        (report["device"].as_str().unwrap().to_string(), stderr)
    };
    let (device, stderr) = solve("opencl");
    assert!(device.starts_with("cl:"), "{device}: {stderr}");
    let (device, stderr) = solve("cpu,opencl");
    assert!(device.starts_with("cpu:"), "{device}: {stderr}");
    assert!(stderr.contains("not in --opencl all") && stderr.contains(&format!("--opencl {}", list[0].id)), "{stderr}");
}
