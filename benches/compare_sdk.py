#!/usr/bin/env python3
"""Seals/s of the official SDK's native CPU miner (PyPI bittensor-core, `pow_mine_cpu`) and of
`regsolver bench` on one thread, in the same run on the same machine.

    python3 -m pip install bittensor-core==0.1.5
    cargo build --release
    python3 benches/compare_sdk.py [--seconds 5] [--regsolver target/release/regsolver]
"""
import argparse
import json
import subprocess
import time

import bittensor_core

parser = argparse.ArgumentParser()
parser.add_argument("--seconds", type=float, default=5.0)
parser.add_argument("--regsolver", default="target/release/regsolver")
args = parser.parse_args()

# A pow-register prefix for netuid 7 (the SDK refuses the root network) and a difficulty no
# nonce meets, so both sides hash for the whole interval.
prefix = b"subtensor-pow-register-v1" + (7).to_bytes(2, "little") + bytes(range(96))
batch = 1 << 20  # the SDK's largest batch
nonces, started = 0, time.perf_counter()
while time.perf_counter() - started < args.seconds:
    bittensor_core.pow_mine_cpu(prefix, 2**63, nonces, batch)
    nonces += batch
sdk = nonces / (time.perf_counter() - started)

out = subprocess.run(
    [args.regsolver, "bench", "--threads", "1", "--seconds", str(args.seconds), "--json"],
    check=True, capture_output=True, text=True,
).stdout
ours = json.loads(out.strip().splitlines()[-1])["results"][0]

print(f"bittensor-core pow_mine_cpu, 1 thread: {sdk / 1e6:.2f} M seals/s")
print(f"regsolver {ours['device']}, 1 thread: {ours['seals_per_second'] / 1e6:.2f} M seals/s")
print(f"ratio: {ours['seals_per_second'] / sdk:.1f}x")
