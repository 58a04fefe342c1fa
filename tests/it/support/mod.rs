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
    eprintln!("SKIPPED: {why} (set {var}=1 to make this a failure)");
}

/// Runs the ignored test `path` (`module::name`, as this binary lists it) alone in a child
/// process of this test binary, with the environment `configure` sets: for code that reads its
/// settings from the process environment, which no test may change in this process (every test
/// runs in it, on several threads). Returns the child's stdout after checking that exactly that
/// test ran and passed.
pub fn run_child_test(path: &str, configure: impl FnOnce(&mut std::process::Command)) -> String {
    let mut child = std::process::Command::new(std::env::current_exe().expect("the test binary"));
    child.args(["--exact", path, "--ignored", "--nocapture", "--test-threads=1"]).stdin(std::process::Stdio::null());
    configure(&mut child);
    let out = process::output_within(child, CHILD_TEST_LIMIT);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "child test {path} failed: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("test result: ok. 1 passed"), "{path} did not run in the child:\n{stdout}");
    stdout
}

/// How long a child test process may take.
const CHILD_TEST_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

/// A job from random-looking bytes: pow-register (netuid, keys derived from the bytes) or legacy.
#[cfg(any(feature = "cuda", feature = "opencl"))]
pub fn job(pow: bool, bytes: [u8; 32], order: regsolver::pow::ByteOrder, difficulty: u64) -> regsolver::pow::hotloop::HotLoop {
    use regsolver::pow::hotloop::HotLoop;
    use regsolver::pow::{Challenge, Target};
    let challenge = if pow {
        Challenge::pow_register(u16::from(bytes[0]) + 1, &bytes, &[bytes[1]; 32], &[bytes[2]; 32]).unwrap()
    } else {
        Challenge::legacy(&bytes, &[bytes[3]; 32])
    };
    HotLoop::new(challenge, Target::from_difficulty(difficulty).unwrap(), order)
}

/// Compiles `main` (a file in tests/cuda_on_host/) with the CUDA kernel source exactly as NVRTC
/// receives it (`kernel.cu`) into `output`, in a folder of this test process; `extra` are more
/// compiler flags. `Err` says why it cannot be built here (no C++ compiler): the caller skips
/// with it (a failure under REGSOLVER_REQUIRE_NVRTC). Call it once per output (a `OnceLock`).
#[cfg(feature = "cuda")]
pub fn compile_cuda_on_host(main: &str, output: &str, extra: &[&str]) -> Result<std::path::PathBuf, String> {
    // A folder per output: the runner and the simulated driver are built at once in one process.
    let dir = std::env::temp_dir().join(format!("regsolver-cuda-on-host-{}-{output}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("kernel.cu"), regsolver::solver::kernels::cuda_source()).unwrap();
    let support = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/cuda_on_host");
    let binary = dir.join(output);
    if which("c++").is_none() {
        return Err("no C++ compiler (c++ is not on PATH)".into());
    }
    let mut command = std::process::Command::new("c++");
    command.args(["-std=c++17", "-O2", "-w", "-I"]).arg(&dir).args(extra).arg(support.join(main)).arg("-o").arg(&binary);
    let out = process::output_within(command, COMPILE_LIMIT);
    assert!(out.status.success(), "{main} with the CUDA source does not compile as host C++: {}", String::from_utf8_lossy(&out.stderr));
    Ok(binary)
}

/// The folder holding the simulated CUDA driver (`libcuda.so` built from
/// tests/cuda_on_host/driver.cpp), built once per test run; `None` after a loud skip (a failure
/// under REGSOLVER_REQUIRE_NVRTC=1) where NVRTC or a C++ compiler is missing.
#[cfg(feature = "cuda")]
pub fn simulated_driver() -> Option<&'static std::path::Path> {
    static DIR: std::sync::OnceLock<Result<std::path::PathBuf, String>> = std::sync::OnceLock::new();
    let built = DIR.get_or_init(|| {
        if !regsolver::solver::cuda::nvrtc::present() {
            return Err("NVRTC (libnvrtc.so.12) is not on the library path".into());
        }
        let library = compile_cuda_on_host("driver.cpp", "libcuda.so", &["-shared", "-fPIC"])
            .map_err(|why| format!("the simulated driver cannot be built: {why}"))?;
        library.parent().map(std::path::Path::to_path_buf).ok_or_else(|| format!("{} has no folder", library.display()))
    });
    match built {
        Ok(dir) => Some(dir),
        Err(why) => {
            skip_or_fail("REGSOLVER_REQUIRE_NVRTC", why);
            None
        }
    }
}

/// `LD_LIBRARY_PATH` with `dir` first (the simulated driver's folder), then what this process has.
#[cfg(feature = "cuda")]
pub fn library_path_with(dir: &std::path::Path) -> String {
    match std::env::var("LD_LIBRARY_PATH") {
        Ok(rest) if !rest.is_empty() => format!("{}:{rest}", dir.display()),
        _ => dir.display().to_string(),
    }
}

/// How long one C++ compile of the CUDA source may take.
#[cfg(feature = "cuda")]
const COMPILE_LIMIT: std::time::Duration = std::time::Duration::from_secs(300);

/// The program `name` on `PATH`, if there.
pub fn which(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file())
}
