//! Helpers shared by the integration tests: the seal vectors, the one way a test skips
//! ([`skip_or_fail`]), and in submodules the chopsticks chain, the `regsolver` process, the test
//! wallet, the daemon command line, the WebSocket proxy, the mainnet-path metadata and the fleet
//! attacker's tools.

pub mod chopsticks;
pub mod daemon_run;
pub mod hostile;
pub mod mainnet_metadata;
pub mod process;
pub mod proxy;
pub mod test_wallet;

use regsolver::pow::hotloop::HotLoop;
use regsolver::pow::{ByteOrder, Challenge, Target};
use serde_json::Value;

/// The reference vectors (a copy of shared/vectors/seal-vectors.json).
pub fn vectors() -> Value {
    serde_json::from_str(include_str!("../../data/seal-vectors.json")).expect("vectors parse")
}

pub fn hex32(v: &Value) -> [u8; 32] {
    regsolver::pow::ss58::parse_hex::<32>(v.as_str().expect("hex string")).expect("32-byte hex")
}

pub fn u64_of(v: &Value) -> u64 {
    v.as_u64().expect("u64")
}

/// Whether a device backend must be present (set by the test script in CI), so that a missing
/// driver fails the run instead of skipping.
pub fn required(var: &str) -> bool {
    std::env::var(var).map(|v| v == "1").unwrap_or(false)
}

/// The one way a test skips: fails when `var` (a `REGSOLVER_REQUIRE_...` variable) is `1`, else
/// prints one `SKIPPED: ` line, which tests/run.sh counts (cargo itself counts the test "ok").
pub fn skip_or_fail(var: &str, why: &str) {
    if required(var) {
        panic!("{var}=1 but {why}");
    }
    skip(&format!("{why} (set {var}=1 to make this a failure)"));
}

/// Skips a test that cannot run on this machine for a reason no variable can require away (a
/// driver is present, so the no-driver path cannot be shown), with the same counted line.
pub fn skip(why: &str) {
    eprintln!("SKIPPED: {why}");
}

/// A job from random-looking bytes: pow-register (netuid, keys derived from the bytes) or legacy.
pub fn job(pow: bool, bytes: [u8; 32], order: ByteOrder, difficulty: u64) -> HotLoop {
    let challenge = if pow {
        Challenge::pow_register(u16::from(bytes[0]) + 1, &bytes, &[bytes[1]; 32], &[bytes[2]; 32]).unwrap()
    } else {
        Challenge::legacy(&bytes, &[bytes[3]; 32])
    };
    HotLoop::new(challenge, Target::from_difficulty(difficulty).unwrap(), order)
}

/// Compiles `main` (a file in tests/cuda_on_host/) with the CUDA kernel source exactly as NVRTC
/// receives it (`kernel.cu`) into `output`, in a folder of this test process; `extra` are more
/// compiler flags. A missing C++ compiler skips loudly (fails under REGSOLVER_REQUIRE_NVRTC).
pub fn compile_cuda_on_host(main: &str, output: &str, extra: &[&str]) -> Option<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("regsolver-cuda-on-host-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("kernel.cu"), regsolver::kernels::cuda_source()).unwrap();
    let support = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/cuda_on_host");
    let binary = dir.join(output);
    let compiled = std::process::Command::new("c++")
        .args(["-std=c++17", "-O2", "-w", "-I"])
        .arg(&dir)
        .args(extra)
        .arg(support.join(main))
        .arg("-o")
        .arg(&binary)
        .output();
    match compiled {
        Ok(out) if out.status.success() => Some(binary),
        Ok(out) => panic!("{main} with the CUDA source does not compile as host C++: {}", String::from_utf8_lossy(&out.stderr)),
        Err(err) => {
            skip_or_fail("REGSOLVER_REQUIRE_NVRTC", &format!("no C++ compiler (c++): {err}"));
            None
        }
    }
}
