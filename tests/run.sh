#!/usr/bin/env bash
# The whole test suite, installing what it needs on a fresh machine:
#   - PoCL (Debian: pocl-opencl-icd + the ICD loader) so the real OpenCL kernels run on the CPU;
#   - NVRTC, ptxas, cuobjdump and nvdisasm (PyPI wheels, cached in .deps/) so the real CUDA
#     kernels are compiled and inspected without a GPU;
#   - g++ (Debian), which runs the CUDA kernel source on the CPU (tests/it/cuda_on_host.rs) and
#     builds the simulated CUDA driver the backend's host code is tested on (tests/it/cuda_simulated.rs);
#   - Node.js and the pinned chopsticks (tests/chopsticks/setup.sh: npm ci into
#     tests/chopsticks/node_modules), which run the real subtensor runtimes the end-to-end tests use.
# With those present the OpenCL and NVRTC tests are required (a missing piece fails, never
# skips). CUDA run-time tests skip unless a GPU is present (REGSOLVER_REQUIRE_GPU=1 to require).
set -euo pipefail
cd "$(dirname "$0")/.."
DEPS="${REGSOLVER_DEPS:-$PWD/.deps}"

missing=()
for pkg in pocl-opencl-icd ocl-icd-libopencl1 clinfo g++; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
# systemd-analyze verifies the unit files (tests/it/systemd.rs); nothing here runs systemd itself.
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing ${missing[*]} (Debian)"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

CUDA_WHEELS="nvidia-cuda-nvrtc-cu12==12.9.86 nvidia-cuda-nvcc-cu12==12.9.86 nvidia-cuda-cuobjdump==13.5.37 nvidia-cuda-nvdisasm==13.5.37"
stamp="$DEPS/cuda/.installed"
if [ "$(cat "$stamp" 2>/dev/null)" != "$CUDA_WHEELS" ]; then
  echo "==> installing NVRTC, ptxas, cuobjdump, nvdisasm (PyPI) into $DEPS/cuda"
  rm -rf "$DEPS/cuda"
  # shellcheck disable=SC2086
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-deps --target "$DEPS/cuda" $CUDA_WHEELS
  echo "$CUDA_WHEELS" > "$stamp"
fi
export LD_LIBRARY_PATH="$DEPS/cuda/nvidia/cuda_nvrtc/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PATH="$DEPS/cuda/nvidia/cuda_nvcc/bin:$DEPS/cuda/nvidia/cu13/bin:$PATH"
export REGSOLVER_REQUIRE_OPENCL=1 REGSOLVER_REQUIRE_NVRTC=1 REGSOLVER_REQUIRE_SYSTEMD=1
# Build outputs are kept between runs of this script outside the clone (a fresh clone reuses the
# compiled dependencies: ~20 minutes on 2 cores otherwise). Set CARGO_TARGET_DIR to choose another.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/regsolver/target}"

# Node.js + chopsticks; exports REGSOLVER_CHOPSTICKS (and PATH when it installs node).
source tests/chopsticks/setup.sh
# Property tests run fresh in CI: no regression files, and no proptest notice about tests/ having
# no lib.rs (it looks for one to place them).
export PROPTEST_DISABLE_FAILURE_PERSISTENCE=1

echo "==> clinfo: $(clinfo -l 2>/dev/null | tr '\n' ' ')"
# Lints: the crate is clean under clippy's default set, so any warning fails. Hot-path modules opt
# into stricter lints (e.g. `#![warn(clippy::cast_possible_truncation)]`), which this makes binding
# there without imposing them crate-wide.
echo "==> cargo fmt --check"
cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
cargo fmt --check
echo "==> cargo clippy --all-targets --all-features -- -D warnings"
cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
cargo clippy --all-targets --all-features --quiet -- -D warnings
# Unit tests, the integration tests (one binary, tests/it/main.rs: `cargo test --test it`), and
# every criterion bench run once in test mode.
# --nocapture shows the figures the tests print (registers, SASS per nonce) and any skip notice.
# cargo counts a skipped test "ok": each skip prints one `SKIPPED: ` line (tests/it/support/mod.rs,
# skip_or_fail), counted here and taken out of the passed count in the last line.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
cargo test --all-targets --no-fail-fast -- --nocapture 2>&1 | tee "$log" || status=$?
# The crate-level example in src/lib.rs (`--all-targets` leaves doctests out): compiled, not run.
cargo test --doc 2>&1 | tee -a "$log" || status=$?
count() { { grep -oE "$1" "$log" || true; } | awk -v f="$2" '{n += $f} END {print n + 0}'; }
passed=$(count '^test result: [A-Za-z]+\. [0-9]+ passed' 4)
failed=$(count '^test result: [A-Za-z]+\. [0-9]+ passed; [0-9]+ failed' 6)
skipped=$({ grep -o 'SKIPPED: ' "$log" || true; } | wc -l)
echo "$((passed - skipped)) passed, $failed failed, $skipped skipped"
exit "$status"
