#!/usr/bin/env bash
# The scheduler benchmark, one command: sets up (idempotent), builds, boots the test VM once
# on a real sched_ext kernel and runs every scenario under EEVDF, scx_simple, the peers gamers
# run (scx_bpfland, scx_lavd, scx_cake, built by bench/peers/ from an scx export) and
# framepace, interleaved and repeated; then writes raw.json, summary.md and the PNG plots to
# results/bench-<kernel>-<date>/ (or --out). Takes about 50 minutes under TCG (3 repetitions,
# then the idle pairs).
#   bench/run.sh [--kernel KVER] [--reps N] [--smoke] [--peers-src DIR] [--out DIR]
#                [--schedulers eevdf,framepace,...] [--watch-pauses]
# --peers-src: the scx export to build the peers from; by default ../shared/peers/scx-7a58a3a
# next to the clone when it is there. Without one the peers are left out, and the summary
# says so in its first lines. --schedulers runs only those named (a quick comparison while
# working on one; the full table needs them all). --watch-pauses runs a game again after a
# pause of the machine (real-time watchers beside it, not neutral: bench/sched_bench.py).
# FRAMEPACE_VM_CPUS sets the VM's -smp (e.g. "4,sockets=2,cores=2,threads=1" for two
# last-level caches).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
kernel=7.3.4+deb13-amd64 reps= smoke= out= peers_src= schedulers= watch_pauses=
while [ $# -gt 0 ]; do
    case "$1" in
    --kernel) kernel=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --smoke) smoke=--smoke; shift ;;
    --peers-src) peers_src=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --schedulers) schedulers=$2; shift 2 ;;
    --watch-pauses) watch_pauses=" --watch-pauses"; shift ;;
    *) echo "bench: unknown argument $1" >&2; exit 2 ;;
    esac
done
out=${out:-$top/results/bench-$kernel-$(date +%Y%m%d-%H%M)}
if [ -n "$peers_src" ]; then
    [ -d "$peers_src" ] || { echo "bench: --peers-src $peers_src is not a folder" >&2; exit 2; }
    peers_src=$(cd "$peers_src" && pwd)
fi

"$top/tools/setup-toolchain.sh"
cmake -S "$top" -B "$top/build" >/dev/null
cmake --build "$top/build" -j"$(nproc)"
FRAMEPACE_BENCH_ARGS="$smoke${reps:+ --reps $reps}${schedulers:+ --schedulers $schedulers}$watch_pauses" FRAMEPACE_VM_TIMEOUT=${FRAMEPACE_VM_TIMEOUT:-5400} \
    FRAMEPACE_PEERS_SRC=${peers_src:-$top/../shared/peers/scx-7a58a3a} \
    "$top/tests/vm/run-vm.sh" --job bench --kernel "$kernel" --out "$out/vm"
/usr/bin/python3 "$top/bench/report.py" --in "$out/vm/results.jsonl" --out "$out"
echo "bench: report in $out/summary.md"
