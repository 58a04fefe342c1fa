//! The CUDA backend's own host code, end to end, on a simulated driver: `libcuda.so` built
//! from tests/cuda_on_host/driver.cpp implements the driver calls the backend makes on the CPU
//! and runs launches on the host-compiled CUDA source. The backend itself is unchanged: its
//! probe, listing, NVRTC build (the real one: the simulated driver accepts only a cubin or PTX
//! holding every kernel), context, module, occupancy-sized launches with their parameter
//! block, read-back, self-test, worker pool and CPU re-verification. Also: a GPU whose launches
//! fail mid-run is dropped while the other goes on; a GPU newer than NVRTC knows gets PTX, an
//! older one is left out; a pre-CUDA-12 driver is refused with a CPU fallback; NVRTC is found
//! in a virtualenv or by an explicit path, off the loader's path. None of this
//! stands for a GPU run (tests/it/cuda.rs does that where a GPU exists). Needs NVRTC and a C++
//! compiler; REGSOLVER_REQUIRE_NVRTC=1 makes their absence a failure.

use crate::support::{self, process};

use std::path::Path;
use std::process::Output;

use regsolver::pow::{ss58::parse_hex, ByteOrder, Challenge, Target};
use serde_json::Value;

/// Runs regsolver against the simulated driver with `env` set (REGSOLVER_SIM_*).
fn regsolver(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let library_path = support::library_path_with(dir);
    let cache = dir.join("kernel-cache");
    let cache = cache.to_str().expect("a UTF-8 temporary folder");
    process::output(args, &[&[("LD_LIBRARY_PATH", library_path.as_str()), ("REGSOLVER_CACHE_DIR", cache)][..], env].concat())
}

fn json(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "exit {:?}: {}", out.status.code(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// `solve --json` for pow-register on the simulated GPUs; returns the report after checking its
/// seal against the reference, and stderr.
fn solve_pow_register(dir: &Path, env: &[(&str, &str)], extra: &[&str]) -> (Value, String) {
    let (block, hotkey, coldkey) = ("5a".repeat(32), "6b".repeat(32), "7c".repeat(32));
    let mut args = vec!["solve", "--json", "--backend", "cuda", "--scheme", "pow-register", "--netuid", "3", "--difficulty", "20000"];
    args.extend(["--block-hash", &block, "--hotkey", &hotkey, "--coldkey", &coldkey]);
    args.extend(extra);
    let out = regsolver(dir, env, &args);
    let report = json(&out);
    let challenge =
        Challenge::pow_register(3, &parse_hex(&block).unwrap(), &parse_hex(&hotkey).unwrap(), &parse_hex(&coldkey).unwrap()).unwrap();
    let seal = challenge.seal(report["nonce"].as_u64().unwrap());
    assert!(Target::from_difficulty(20000).unwrap().is_met_by(&seal, ByteOrder::Little), "{report}");
    assert_eq!(report["seal"].as_str().unwrap(), hex::encode(seal), "{report}");
    (report, String::from_utf8_lossy(&out.stderr).to_string())
}

#[test]
fn simulated_gpus_are_listed_with_the_build_they_get() {
    let Some(dir) = support::simulated_driver() else { return };
    let listing = json(&regsolver(dir, &[("REGSOLVER_SIM_CC", "1:200")], &["devices", "--json"]));
    let gpus = listing["cuda"]["devices"].as_array().unwrap_or_else(|| panic!("{listing}"));
    assert_eq!(gpus.len(), 2, "{listing}");
    assert_eq!(gpus[0]["name"], "regsolver simulated GPU 0");
    assert_eq!(gpus[0]["compute_units"], 2);
    let detail = |i: usize| gpus[i]["detail"].as_str().unwrap().to_string();
    assert!(detail(0).starts_with("sm_90, driver CUDA 12.4; kernels: sm_90 machine code by NVRTC"), "{}", detail(0));
    assert!(detail(1).contains("sm_200") && detail(1).contains("PTX, compiled by the driver"), "{}", detail(1));
}

#[test]
fn solve_and_bench_run_the_backend_on_every_simulated_gpu() {
    let Some(dir) = support::simulated_driver() else { return };
    let (report, stderr) = solve_pow_register(dir, &[], &[]);
    assert!(report["device"].as_str().unwrap().starts_with("cuda:"), "{report}");
    for tag in ["cuda:0", "cuda:1"] {
        assert!(self_test_passed(&stderr, tag), "{stderr}");
    }
    assert!(stderr.contains("launch shape device=cuda:0 build=sm_90 machine code blocks_per_sm=3 threads=1536"), "{stderr}");
    let (report, _) = solve_pow_register(dir, &[], &["--gpu", "1"]);
    assert_eq!(report["device"], "cuda:1");
    // Small batches (1536 nonces), so that the host-run launches finish many times within the
    // measured window however loaded the machine is.
    let args = ["bench", "--backend", "cuda", "--seconds", "0.5", "--json", "--scheme", "legacy", "--gpu-nonces-per-thread", "1"];
    let bench = json(&regsolver(dir, &[], &args));
    let results = bench["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{bench}");
    assert!(results.iter().all(|r| r["backend"] == "cuda" && r["seals_per_second"].as_f64().unwrap() > 0.0), "{bench}");
    let missing = regsolver(dir, &[], &["bench", "--backend", "cuda", "--gpu", "0,2", "--seconds", "0.1"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--gpu 2: no such device (available: 0, 1)"));
}

/// The line that says `tag` was dropped, checked to carry the simulated driver's error.
fn dropped_line<'a>(stderr: &'a str, tag: &str) -> &'a str {
    let line = stderr.lines().find(|l| l.contains("device disabled")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(line.contains(tag) && line.contains("CUDA_ERROR_LAUNCH_FAILED"), "{line}");
    line
}

#[test]
fn a_failing_gpu_is_dropped_alone_and_the_other_goes_on() {
    let Some(dir) = support::simulated_driver() else { return };
    // Mid-run: device 1 passes its self-test (9 launches), then its first batch fails.
    let out = regsolver(dir, &[("REGSOLVER_SIM_FAIL", "1:9")], &["bench", "--backend", "cuda", "--seconds", "0.5", "--json"]);
    let bench = json(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(self_test_passed(&stderr, "cuda:1"), "{stderr}");
    dropped_line(&stderr, "cuda:1");
    let results = bench["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{bench}");
    assert_eq!(results[0]["device"], "regsolver simulated GPU 0", "{bench}");
    // At the start: device 1 fails its self-test's first launch; the seal comes from device 0.
    let (report, stderr) = solve_pow_register(dir, &[("REGSOLVER_SIM_FAIL", "1:0")], &[]);
    assert_eq!(report["device"], "cuda:0", "{stderr}");
    dropped_line(&stderr, "cuda:1");
}

#[test]
fn a_gpu_newer_than_nvrtc_runs_on_ptx_and_one_older_is_left_out() {
    let Some(dir) = support::simulated_driver() else { return };
    let (report, stderr) = solve_pow_register(dir, &[("REGSOLVER_SIM_CC", "0:200,1:30")], &[]);
    assert_eq!(report["device"], "cuda:0", "{stderr}");
    assert!(stderr.contains("PTX, compiled by the driver"), "{stderr}");
    let left_out = stderr.lines().find(|l| l.contains("left out")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(left_out.contains("cuda:1") && left_out.contains("sm_30"), "{left_out}");
}

#[test]
fn a_driver_older_than_cuda_12_is_refused_and_solve_falls_back_to_the_cpu() {
    let Some(dir) = support::simulated_driver() else { return };
    let env = [("REGSOLVER_SIM_DRIVER", "11080")];
    let listing = json(&regsolver(dir, &env, &["devices", "--json"]));
    let why = listing["cuda"]["unavailable"].as_str().unwrap_or_else(|| panic!("{listing}"));
    assert!(why.contains("supports CUDA 11.8 only") && why.contains("needs CUDA 12.0"), "{why}");
    // Named by id, the GPU is an error (exit 4); `all` falls back to the CPU, loudly.
    let named = regsolver(
        dir,
        &env,
        &[
            "solve",
            "--scheme",
            "legacy",
            "--block-hash",
            &"11".repeat(32),
            "--hotkey",
            &"22".repeat(32),
            "--difficulty",
            "1000",
            "--gpu",
            "0",
            "--threads",
            "1",
        ],
    );
    assert_eq!(named.status.code(), Some(4), "{}", String::from_utf8_lossy(&named.stderr));
    let (report, stderr) = solve_pow_register(dir, &env, &["--gpu", "all", "--threads", "1"]);
    assert!(report["device"].as_str().unwrap().starts_with("cpu:"), "{report}");
    assert!(stderr.contains("falling back to the CPU"), "{stderr}");
}

/// Whether the log says `tag` passed its self-test.
fn self_test_passed(stderr: &str, tag: &str) -> bool {
    stderr.lines().any(|line| line.contains("self-test passed") && line.contains(&format!("device={tag}")))
}

#[test]
fn one_simulated_gpu_searches_every_nonce_in_order() {
    let Some(dir) = support::simulated_driver() else { return };
    // Legacy nonces are positions, so one GPU must return the first valid nonce at or after
    // the start: an index a launch skipped would show as a later nonce.
    let (block, hotkey) = ("3c".repeat(32), "4d".repeat(32));
    let target = Target::from_difficulty(50_000).unwrap();
    let challenge = Challenge::legacy(&parse_hex(&block).unwrap(), &parse_hex(&hotkey).unwrap());
    let expected = challenge.first_valid(&target, ByteOrder::Little, 1000, 10_000_000).unwrap();
    assert!(expected - 1000 > 1536, "the vector must span more than one index per launched thread");
    let args =
        ["solve", "--json", "--backend", "cuda", "--gpu", "0", "--scheme", "legacy", "--difficulty", "50000", "--start-nonce", "1000"];
    let report = json(&regsolver(dir, &[], &[&args[..], &["--block-hash", &block, "--hotkey", &hotkey]].concat()));
    assert_eq!(report["nonce"].as_u64().unwrap(), expected, "{report}");
}

#[test]
fn nvrtc_is_found_in_a_python_environment_or_by_an_explicit_path() {
    let Some(dir) = support::simulated_driver() else { return };
    let library_path = std::env::var("LD_LIBRARY_PATH").unwrap_or_default();
    let Some(real) = std::env::split_paths(&library_path).map(|d| d.join("libnvrtc.so.12")).find(|p| p.is_file()) else {
        return support::skip_or_fail("REGSOLVER_REQUIRE_NVRTC", "libnvrtc.so.12 is not in an LD_LIBRARY_PATH folder");
    };
    // A virtualenv laid out as pip lays out the wheel PyTorch depends on.
    let venv = dir.join("venv");
    let lib = venv.join("lib/python3.11/site-packages/nvidia/cuda_nvrtc/lib");
    std::fs::create_dir_all(&lib).unwrap();
    let _ = std::os::unix::fs::symlink(&real, lib.join("libnvrtc.so.12"));
    let home = dir.join("empty-home");
    std::fs::create_dir_all(&home).unwrap();
    let devices = |env: &[(&str, &Path)]| {
        let mut command = process::regsolver(&["devices", "--json"]);
        command
            .env("LD_LIBRARY_PATH", dir)
            .env("HOME", &home)
            .env_remove("VIRTUAL_ENV")
            .env_remove("CONDA_PREFIX")
            .envs(env.iter().copied());
        let out = process::output_within(command.into_std(), process::LIMIT);
        json(&out)["cuda"]["devices"][0]["detail"].as_str().unwrap().to_string()
    };
    for env in [[("VIRTUAL_ENV", venv.as_path())], [("REGSOLVER_NVRTC", real.as_path())]] {
        let detail = devices(&env);
        assert!(detail.contains("sm_90 machine code by NVRTC 12."), "{env:?}: {detail}");
    }
}
