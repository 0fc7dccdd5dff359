#!/usr/bin/env bash
# The scheduler benchmark, one command: sets up (idempotent), builds, boots the test VM once
# on a real sched_ext kernel and runs every scenario under EEVDF, scx_simple and framepace,
# interleaved and repeated; then writes raw.json, summary.md and the PNG plots to
# results/bench-<kernel>-<date>/ (or --out). Takes about 15 minutes under TCG.
#   bench/run.sh [--kernel KVER] [--reps N] [--smoke] [--out DIR]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
kernel=7.3.4+deb13-amd64 reps= smoke= out=
while [ $# -gt 0 ]; do
    case "$1" in
    --kernel) kernel=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --smoke) smoke=--smoke; shift ;;
    --out) out=$2; shift 2 ;;
    *) echo "bench: unknown argument $1" >&2; exit 2 ;;
    esac
done
out=${out:-$top/results/bench-$kernel-$(date +%Y%m%d-%H%M)}

"$top/tools/setup-toolchain.sh"
cmake -S "$top" -B "$top/build" >/dev/null
cmake --build "$top/build" -j"$(nproc)"
FRAMEPACE_BENCH_ARGS="$smoke${reps:+ --reps $reps}" FRAMEPACE_VM_TIMEOUT=${FRAMEPACE_VM_TIMEOUT:-3600} \
    "$top/tests/vm/run-vm.sh" --job bench --kernel "$kernel" --out "$out/vm"
/usr/bin/python3 "$top/bench/report.py" --in "$out/vm/results.jsonl" --out "$out"
echo "bench: report in $out/summary.md"
