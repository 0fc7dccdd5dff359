#!/usr/bin/env bash
# The test command: sets up the toolchain, builds, runs every test tier.
#   host: GoogleTest unit tests, BPF logic on the host kernel (BPF_PROG_TEST_RUN)
#   vm:   the VM suite on each sched_ext kernel (7.3.4 and 7.2.13)
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
ctest --test-dir "$build" --output-on-failure ${label:+-L "$label"}
echo "test: all passed in $(( $(date +%s) - start )) s"
