#!/usr/bin/env bash
# Hashrate of a GPU backend over launch shapes: nonces per thread (and optionally threads per
# launch), one `regsolver bench` per shape, all in one run so the figures compare.
#   benches/launch_sweep.sh [cuda|opencl] [seconds] [nonces-per-thread...]
# e.g. benches/launch_sweep.sh cuda 5 16 32 64 128 256
# Extra flags for every run (device selection, --gpu-threads) go in REGSOLVER_SWEEP_FLAGS.
set -euo pipefail
cd "$(dirname "$0")/.."
backend="${1:-cuda}"
seconds="${2:-5}"
shift $(( $# > 2 ? 2 : $# ))
shapes=("$@")
[ ${#shapes[@]} -gt 0 ] || shapes=(16 32 64 128 256)
cargo build --release --quiet
printf '%-18s %-40s %16s\n' "nonces/thread" "device" "seals/s"
for n in "${shapes[@]}"; do
  # shellcheck disable=SC2086
  ./target/release/regsolver bench --backend "$backend" --gpu-nonces-per-thread "$n" --seconds "$seconds" --json \
    ${REGSOLVER_SWEEP_FLAGS:-} 2>/dev/null | tail -n 1 |
    python3 -c 'import json, sys
n = sys.argv[1]
for r in json.load(sys.stdin)["results"]:
    print("%-18s %-40s %16s" % (n, r["device"][:40], format(round(r["seals_per_second"]), ",")))' "$n"
done
