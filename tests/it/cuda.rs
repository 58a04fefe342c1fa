//! The CUDA kernels built for real through the backend's own NVRTC path for sm_80 and sm_90:
//! as machine code (what the backend loads where NVRTC knows the device), read back with
//! `cuobjdump` (no local memory, no stack; the sm_90 hot loop's SASS is counted), and as PTX (the
//! fallback for newer devices), assembled with `ptxas -v` (no spills). Where a CUDA GPU exists
//! the backend runs its self-test and `solve`; where none does these tests skip loudly, or fail
//! with REGSOLVER_REQUIRE_GPU=1. REGSOLVER_REQUIRE_NVRTC=1 makes a missing NVRTC, ptxas or
//! cuobjdump a failure.

use crate::support::{self, process};

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use regsolver::solver::cuda::nvrtc::{self, Image, Origin, Target};
use regsolver::solver::kernels::KERNEL_NAMES;
use regsolver::solver::{cuda, selftest, GpuTuning};

const REQUIRE_NVRTC: &str = "REGSOLVER_REQUIRE_NVRTC";
const REQUIRE_GPU: &str = "REGSOLVER_REQUIRE_GPU";
/// The SASS budget per nonce on sm_90 (a fully unrolled midstate kernel compiles to ~5,800).
const SASS_PER_NONCE_BUDGET: usize = 6_000;
/// How long one run of a CUDA binary tool may take.
const TOOL_LIMIT: Duration = Duration::from_secs(120);

fn tool(name: &str) -> Option<PathBuf> {
    support::which(name)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("regsolver-cuda-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Builds `target` with NVRTC as the backend does (never from a cache), or skips (fails under
/// REQUIRE_NVRTC).
fn build(target: Target) -> Option<Image> {
    nvrtc_present().then(|| nvrtc::compile(target).unwrap_or_else(|e| panic!("NVRTC builds {target}: {e}")))
}

/// Whether NVRTC can be loaded; a loud skip (a failure under REQUIRE_NVRTC) where it cannot.
fn nvrtc_present() -> bool {
    if !nvrtc::present() {
        support::skip_or_fail(REQUIRE_NVRTC, "NVRTC (libnvrtc.so.12) is not on the library path");
    }
    nvrtc::present()
}

/// Runs a CUDA binary tool, or skips (fails under REQUIRE_NVRTC) where it is not installed.
fn run_tool(name: &str, args: &[&str], file: &PathBuf) -> Option<(String, String)> {
    let Some(path) = tool(name) else {
        support::skip_or_fail(REQUIRE_NVRTC, &format!("{name} is not on PATH"));
        return None;
    };
    let mut command = Command::new(path);
    command.args(args).arg(file);
    let out = process::output_within(command, TOOL_LIMIT);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string());
    assert!(out.status.success(), "{name} failed: {stderr}");
    Some((stdout, stderr))
}

/// The machine code the backend loads for `sm_<arch>`, written to a file, after checking with
/// `cuobjdump -res-usage` that every kernel runs without local memory or a stack.
fn cubin(arch: u32) -> Option<PathBuf> {
    let Image::Cubin(bytes) = build(Target::Cubin(arch))? else { panic!("sm_{arch}: not machine code") };
    let path = scratch(&format!("sm_{arch}.cubin"));
    std::fs::write(&path, bytes).unwrap();
    let (usage, _) = run_tool("cuobjdump", &["-res-usage"], &path)?;
    for name in KERNEL_NAMES {
        let line =
            usage.split(&format!("Function {name}:")).nth(1).and_then(|rest| rest.lines().nth(1)).expect("kernel in the resource report");
        eprintln!("sm_{arch} {name}: {}", line.trim());
        assert!(line.contains(" STACK:0 ") && line.contains(" LOCAL:0 "), "sm_{arch} {name}: {line}");
    }
    Some(path)
}

/// The PTX fallback for `compute_<arch>`, assembled by `ptxas -v`: no spills, no stack frame.
/// False when it skipped (said once, by the helper that could not run).
fn assemble_ptx(arch: u32) -> bool {
    let Some(image) = build(Target::Ptx(arch)) else { return false };
    let Image::Ptx(ptx) = image else { panic!("compute_{arch}: not PTX") };
    for name in KERNEL_NAMES {
        assert!(ptx.contains(&format!(".entry {name}")), "compute_{arch}: {name} missing from PTX");
    }
    let path = scratch(&format!("compute_{arch}.ptx"));
    std::fs::write(&path, ptx).unwrap();
    let output = scratch(&format!("compute_{arch}.cubin"));
    let (arch_flag, output_flag) = (format!("-arch=sm_{arch}"), output.to_string_lossy().to_string());
    let Some((_, report)) = run_tool("ptxas", &["-v", &arch_flag, "-o", &output_flag], &path) else { return false };
    let properties: Vec<&str> = report.lines().filter(|l| l.contains("bytes stack frame")).collect();
    assert_eq!(properties.len(), KERNEL_NAMES.len(), "{report}");
    for line in properties {
        assert!(line.contains("0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads"), "compute_{arch}: {line}");
    }
    for line in report.lines().filter(|l| l.contains("Used") && l.contains("registers")) {
        eprintln!("ptxas sm_{arch}: {}", line.trim_start_matches("ptxas info    : "));
    }
    true
}

#[test]
fn nvrtc_reports_its_version_and_knows_the_tested_architectures() {
    if !nvrtc_present() {
        return;
    }
    let (major, minor) = nvrtc::version().unwrap();
    let supported = nvrtc::supported_archs().unwrap();
    eprintln!("NVRTC {major}.{minor}: {supported:?}");
    assert!(supported.contains(&80) && supported.contains(&90), "{supported:?}");
    assert_eq!(Target::for_device(90, &supported).unwrap(), Target::Cubin(90));
    let newest = *supported.iter().max().unwrap();
    assert_eq!(Target::for_device(newest + 10, &supported).unwrap(), Target::Ptx(newest));
}

#[test]
fn builds_are_kept_on_disk_and_a_damaged_entry_is_rebuilt() {
    if !nvrtc_present() {
        return;
    }
    let dir = scratch("kernel-cache");
    let (first, origin) = nvrtc::load_or_compile(Target::Ptx(80), Some(&dir)).unwrap();
    assert_eq!(origin, Origin::Nvrtc);
    let (second, origin) = nvrtc::load_or_compile(Target::Ptx(80), Some(&dir)).unwrap();
    assert_eq!(origin, Origin::Disk);
    let (Image::Ptx(first), Image::Ptx(second)) = (first, second) else { panic!("not PTX") };
    assert_eq!(first, second);
    let entries: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let mut bytes = std::fs::read(&entries[0]).unwrap();
    bytes[100] ^= 0x20;
    std::fs::write(&entries[0], bytes).unwrap();
    assert_eq!(nvrtc::load_or_compile(Target::Ptx(80), Some(&dir)).unwrap().1, Origin::Nvrtc);
    // Another target is another entry.
    assert_eq!(nvrtc::load_or_compile(Target::Ptx(90), Some(&dir)).unwrap().1, Origin::Nvrtc);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
}

#[test]
fn ptx_fallback_assembles_without_spills() {
    // One skip line at most: the second target is not tried after the first skipped.
    if assemble_ptx(80) {
        assemble_ptx(90);
    }
}

#[test]
fn machine_code_for_sm80_uses_no_local_memory() {
    cubin(80);
}

/// Instructions in the hot path of one kernel's per-nonce loop: the body of the loop's
/// backward branch, less the candidate-append block it jumps over.
fn hot_loop_instructions(sass: &str) -> usize {
    let mut code: Vec<(u64, String)> = Vec::new();
    for line in sass.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("/*") else { continue };
        let Some((addr, text)) = rest.split_once("*/") else { continue };
        let (Ok(addr), text) = (u64::from_str_radix(addr, 16), text.trim()) else { continue };
        if !text.is_empty() && !text.starts_with("/*") {
            code.push((addr, text.to_string()));
        }
    }
    let target = |text: &str| {
        let operand = text.split("BRA ").nth(1)?.split_whitespace().next()?;
        u64::from_str_radix(operand.trim_start_matches("0x").trim_end_matches(';'), 16).ok()
    };
    let (end, start) = code.iter().find_map(|(a, t)| target(t).filter(|&to| to < *a).map(|to| (*a, to))).expect("a loop");
    let skips: Vec<(u64, u64)> = code
        .iter()
        .filter(|(a, _)| (start..=end).contains(a))
        .filter_map(|(a, t)| target(t).filter(|&to| to > *a).map(|to| (*a, to)))
        .collect();
    code.iter().filter(|(a, _)| (start..=end).contains(a) && !skips.iter().any(|(from, to)| from < a && a < to)).count()
}

#[test]
fn machine_code_for_sm90_uses_no_local_memory_within_the_sass_budget() {
    let Some(path) = cubin(90) else { return };
    if tool("nvdisasm").is_none() {
        return support::skip_or_fail(REQUIRE_NVRTC, "nvdisasm is not on PATH");
    }
    let Some((sass, _)) = run_tool("cuobjdump", &["-sass"], &path) else { return };
    for name in KERNEL_NAMES {
        let body = sass.split(&format!("Function : {name}\n")).nth(1).expect("kernel in SASS").split("Function : ").next().unwrap();
        let count = hot_loop_instructions(body);
        eprintln!("sm_90 {name}: {count} SASS instructions per nonce");
        assert!((4_000..=SASS_PER_NONCE_BUDGET).contains(&count), "{name}: {count} instructions per nonce");
    }
}

#[test]
fn gpu_runs_self_test_and_solve_where_present() {
    let list = match cuda::list() {
        Ok(list) if !list.is_empty() => list,
        Ok(_) => return support::skip_or_fail(REQUIRE_GPU, "the CUDA driver reports no GPU"),
        Err(err) => return support::skip_or_fail(REQUIRE_GPU, &format!("no CUDA GPU: {err}")),
    };
    for info in &list {
        let spec = cuda::worker_spec(info, GpuTuning { threads: None, nonces_per_thread: 64 }).unwrap();
        let mut device = (spec.build)().expect("CUDA device builds");
        selftest::run(device.as_mut()).expect("self-test on the GPU");
    }
    let (block, hotkey, coldkey) = ("11".repeat(32), "22".repeat(32), "33".repeat(32));
    let out = process::output(
        &["solve", "--json", "--backend", "cuda", "--gpu", "0", "--scheme", "pow-register", "--netuid", "1", "--block-hash", &block]
            .into_iter()
            .chain(["--hotkey", &hotkey, "--coldkey", &coldkey, "--difficulty", "10000000"])
            .collect::<Vec<_>>(),
        &[],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert!(report["device"].as_str().unwrap().starts_with("cuda:"), "{report}");
    // The hashrate, printed for the record (never asserted beyond being measured).
    let bench = process::output(&["bench", "--backend", "cuda", "--seconds", "3", "--json"], &[]);
    assert!(bench.status.success(), "{}", String::from_utf8_lossy(&bench.stderr));
    let report: serde_json::Value = serde_json::from_str(String::from_utf8_lossy(&bench.stdout).lines().last().unwrap()).unwrap();
    for result in report["results"].as_array().unwrap() {
        eprintln!("{}: {:.3} G pow-register seals/s", result["device"], result["seals_per_second"].as_f64().unwrap() / 1e9);
        assert!(result["seals_per_second"].as_f64().unwrap() > 0.0, "{report}");
    }
}

#[test]
fn without_a_driver_a_named_gpu_is_refused_and_gpu_all_falls_back_to_the_cpu() {
    if cuda::driver_present() {
        return support::skip_or_fail(
            "REGSOLVER_REQUIRE_NO_CUDA_DRIVER",
            "a CUDA driver is present; the no-driver path cannot be exercised here",
        );
    }
    let err = cuda::list().unwrap_err().to_string();
    assert!(err.contains("no CUDA driver"), "{err}");
    let (block, hotkey) = ("11".repeat(32), "22".repeat(32));
    let solve = |gpu: &str| {
        let args = ["solve", "--json", "--gpu", gpu, "--backend", "cuda", "--threads", "1", "--scheme", "legacy"];
        process::output(&[&args[..], &["--block-hash", &block, "--hotkey", &hotkey, "--difficulty", "1000"]].concat(), &[])
    };
    // A GPU named by id that cannot be driven is an error (exit 4), never silently the CPU.
    let named = solve("0");
    let stderr = String::from_utf8_lossy(&named.stderr);
    assert_eq!(named.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("no CUDA driver") && stderr.contains("--gpu 0"), "{stderr}");
    // `all` with no usable backend falls back to the CPU, loudly.
    let all = solve("all");
    let stderr = String::from_utf8_lossy(&all.stderr);
    assert!(all.status.success(), "{stderr}");
    assert!(stderr.contains("no CUDA driver") && stderr.contains("falling back to the CPU"), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(String::from_utf8_lossy(&all.stdout).trim()).unwrap();
    assert!(report["device"].as_str().unwrap().starts_with("cpu:"), "{report}");
    let bench = process::output(&["bench", "--backend", "cuda", "--seconds", "0.1"], &[]);
    assert!(!bench.status.success());
    assert!(String::from_utf8_lossy(&bench.stderr).contains("no CUDA driver"));
}
