#!/usr/bin/env bash
# Reads the machine code of a regsolver binary for the SHA-NI / AVX transition (issue 10).
# The SHA extensions have only legacy-SSE encodings; on Intel cores each one run while the
# upper YMM halves are dirty pays a penalty. So: every function holding SHA-NI instructions
# must touch no YMM/ZMM register, and every call into one from code that does must follow a
# VZEROUPPER with no YMM/ZMM instruction in between. Prints what it finds; exits 1 on a breach.
# Usage: benches/vzeroupper.sh [binary]   (default: target/release/regsolver; a test binary works too)
set -euo pipefail
bin=${1:-target/release/regsolver}
command -v objdump >/dev/null || { echo "objdump (binutils) is not installed" >&2; exit 2; }
objdump -d --no-show-raw-insn -C "$bin" | python3 -c '
import re, sys
funcs, name = {}, None
for line in sys.stdin:
    head = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
    if head:
        name = head.group(1)
        funcs[name] = []
    elif name and re.match(r"^\s+[0-9a-f]+:\t", line):
        funcs[name].append(line.split("\t", 1)[1].strip())
wide = lambda insn: "ymm" in insn or "zmm" in insn
sha = {n for n, body in funcs.items() if any(i.startswith("sha256rnds2") for i in body)}
if not sha:
    sys.exit("no sha256rnds2 in the binary: nothing to check")
bad = 0
for n in sorted(sha):
    body = funcs[n]
    rounds = sum(i.startswith("sha256rnds2") for i in body)
    ymm = sum(wide(i) for i in body)
    print(f"{n}: {rounds} sha256rnds2, {ymm} YMM/ZMM instructions" + ("  <-- SHA-NI mixed with dirty upper state" if ymm else ""))
    bad += ymm > 0
for n, body in funcs.items():
    if not any(wide(i) for i in body):
        continue
    for k, insn in enumerate(body):
        target = re.search(r"<(.*)>$", insn)
        indirect = re.match(r"call\s+\*%r", insn)  # the AVX2 path calls SHA-NI code through a pointer
        if not insn.startswith("call") or not (indirect or (target and target.group(1) in sha)):
            continue
        target = re.match(r"x", "x") if indirect else target
        # Walking back in address order: the last thing that set the upper state is a
        # VZEROUPPER (clean), a YMM/ZMM instruction (dirty), or a call into a SHA-NI function
        # (checked above to leave it as it found it; its own call site is checked in turn).
        calls_sha = lambda b: b.startswith("call") and re.search(r"<(.*)>$", b) and re.search(r"<(.*)>$", b).group(1) in sha
        before = next((b for b in reversed(body[:k]) if b.startswith("vzeroupper") or wide(b) or calls_sha(b)), None)
        ok = before is not None and not wide(before)
        print(f"  call from {n} into {insn.split(None, 1)[1] if indirect else target.group(1)}: " + (f"clean (last: {before.split()[0]})" if ok else f"UPPER STATE DIRTY (last: {before})"))
        bad += not ok
sys.exit(1 if bad else 0)
'
