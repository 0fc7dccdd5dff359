#!/usr/bin/env bash
# The run command: sets up, builds, and runs framepaced under load, printing its live
# counters. On a kernel with sched_ext it runs here; otherwise (this project's build machines)
# it boots the test VM on a sched_ext kernel and runs it there.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${FRAMEPACE_BUILD_DIR:-$top/build}

"$top/tools/setup-toolchain.sh"
cmake -S "$top" -B "$build" >/dev/null
# Everything: the VM route installs framepace from the sysext image and uses test helpers.
cmake --build "$build" -j"$(nproc)"

if [ -e /sys/kernel/sched_ext/state ]; then
    echo "run: this kernel has sched_ext; running framepaced here (Ctrl-C detaches it)"
    exec "$build/framepaced/framepaced" --log-target=stderr --stats-interval=2000 "$@"
fi
echo "run: this kernel has no sched_ext; booting the test VM (kernel ${FRAMEPACE_KERNEL:-7.3.4+deb13-amd64})"
exec "$top/tests/vm/run-vm.sh" --job demo --build-dir "$build" \
    --kernel "${FRAMEPACE_KERNEL:-7.3.4+deb13-amd64}"
