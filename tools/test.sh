#!/usr/bin/env bash
# The test command: sets up the toolchain, builds, runs every test tier.
#   host: GoogleTest unit tests, BPF logic on the host kernel (BPF_PROG_TEST_RUN)
#   vm:   the VM suite on each sched_ext kernel (7.3.4, 7.2.13, 6.12.117+scx), a two-LLC VM and
#         an SMT VM
# Options: --host-only (skip the VM tier), --kernel KVER (VM tier on this kernel only).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${FRAMEPACE_BUILD_DIR:-$top/build}
label=
kernels=
while [ $# -gt 0 ]; do
    case "$1" in
    --host-only) label='unit|bpf'; shift ;;
    --kernel) kernels=$2; shift 2 ;;
    *) echo "test: unknown argument $1 (--host-only, --kernel KVER)" >&2; exit 2 ;;
    esac
done

"$top/tools/setup-toolchain.sh"
cmake -S "$top" -B "$build" ${kernels:+-DFRAMEPACE_VM_KERNELS="$kernels"} >/dev/null
cmake --build "$build" -j"$(nproc)"
start=$(date +%s)
log=$build/ctest-last.log
if ! ctest --test-dir "$build" --output-on-failure ${label:+-L "$label"} 2>&1 | tee "$log"; then
    # The failures once more, at the end, where a reader of a shortened log (CI) sees them:
    # failed VM checks, VM verdicts, failed GoogleTest cases, Python errors.
    echo "---- what failed (repeated from above) ----" >&2
    grep -E '^  FAIL  |^run-vm: (FAIL|checks declared|no results)|^\[  FAILED  \]|^[A-Za-z.]*(Error|Exception): |^report: |\*\*\*(Failed|Timeout|Exception)' \
        "$log" | cut -c1-1500 | tail -n 40 >&2 || true
    echo "test: FAILED (log: $log)" >&2
    exit 1
fi
# A skipped test proved nothing. As root (CI) nothing may skip; otherwise say how many did.
skipped=$(grep -c '(Skipped)' "$log" || true)
if [ "$skipped" -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "test: FAILED: $skipped test(s) skipped although running as root" >&2
        exit 1
    fi
    echo "test: passed, but $skipped test(s) SKIPPED (not root), in $(( $(date +%s) - start )) s"
    exit 0
fi
echo "test: all passed, none skipped, in $(( $(date +%s) - start )) s"
