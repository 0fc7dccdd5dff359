#!/usr/bin/env bash
# Boots the test VM on a real sched_ext kernel under QEMU (TCG) and runs one job in it.
#   run-vm.sh [--kernel KVER] [--job test|demo|bench] [--build-dir DIR] [--out DIR]
# The guest is the cached trixie image (tests/vm/image.sh) as initramfs, plus a small
# archive with this build's framepaced, units, test cases and the kernel's modules.
# Results: OUT/results.jsonl (one JSON object per check), OUT/console.log, OUT/journal.txt.
# Exit status 0 only if the job reported PASS and no check failed.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
kernel=7.3.4+deb13-amd64 job=test build=$top/build out=
while [ $# -gt 0 ]; do
    case "$1" in
    --kernel) kernel=$2; shift 2 ;;
    --job) job=$2; shift 2 ;;
    --build-dir) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "run-vm: unknown argument $1" >&2; exit 2 ;;
    esac
done
out=${out:-$top/results/vm-$job-$kernel}
case "$job" in test|demo|bench) ;; *) echo "run-vm: --job is test, demo or bench" >&2; exit 2 ;; esac
sysext=$build/sysext/framepace.raw
[ -f "$sysext" ] || { echo "run-vm: $sysext is missing; build first (cmake --build)" >&2; exit 2; }
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
next_version=$version.1

image=$("$top/tests/vm/image.sh")
kdir=$("$top/tests/vm/kernel.sh" "$kernel")
kver=$(tar -tf "$kdir/modules-subset.tar" | awk -F/ '$1 == "modules" && $2 != "" && !k { k = $2 } END { print k }')
[ -n "$kver" ] || { echo "run-vm: no modules/KVER/ in $kdir/modules-subset.tar" >&2; exit 2; }

work=$(mktemp -d /tmp/framepace-vm.XXXXXX)
trap 'rm -rf "$work"' EXIT
stage=$work/stage
guest=$stage/usr/lib/framepace-vm
mkdir -p "$guest/cases" "$stage/usr/bin" "$stage/usr/lib/systemd/system" \
    "$stage/etc/systemd/system/multi-user.target.wants" "$stage/usr/lib"

install -m755 "$build/tests/"framepace-vm-* "$build/bench/framepace-bench-game" "$build/bench/framepace-bench-pauses" "$guest/"
# framepace itself goes in the way users install it: the sysext image this build produced,
# plus a second one with a newer version for the refresh test.
mkdir -p "$stage/var/lib/extensions"
install -m644 "$sysext" "$stage/var/lib/extensions/framepace.raw"
"$top/sysext/build-sysext.sh" "$build" "$work/sysext-next" "$next_version" >/dev/null
install -m644 "$work/sysext-next/framepace_$next_version.raw" "$guest/framepace-next.raw"
echo "FRAMEPACE_NEXT_VERSION=$next_version" >>"$guest/job.env"
install -m644 "$top/tests/vm/guest/lib.sh" "$guest/"
install -m755 "$top/tests/vm/guest/poll_stats.py" "$top/tests/vm/guest/prepare_for_sleep.py" \
    "$top/tests/vm/guest/local_user_varlink.py" "$guest/"
install -m755 "$top/tests/vm/guest/job-$job" "$guest/job"
install -m755 "$top/tests/vm/cases/"*.sh "$guest/cases/"
# The cases this run selects, decided here once: the guest runs them in order and the checks
# they declare (their "# checks:" line) are what this script expects back.
# FRAMEPACE_VM_CASES="05 50": only the cases whose names start so (while developing one).
# FRAMEPACE_VM_SKIP_CASES="60": leave those out.
selected_cases=()
for case in "$top/tests/vm/cases/"*.sh; do
    name=$(basename "$case")
    keep=1
    for prefix in ${FRAMEPACE_VM_SKIP_CASES:-}; do [[ $name == "$prefix"* ]] && keep=0; done
    if [ -n "${FRAMEPACE_VM_CASES:-}" ]; then
        match=0
        for prefix in $FRAMEPACE_VM_CASES; do [[ $name == "$prefix"* ]] && match=1; done
        keep=$((keep && match))
    fi
    [ "$keep" = 1 ] && selected_cases+=("$name")
done
echo "FRAMEPACE_VM_SELECTED=\"${selected_cases[*]}\"" >>"$guest/job.env"
expected_checks=$(for name in "${selected_cases[@]}"; do
    sed -n 's/^# checks: //p' "$top/tests/vm/cases/$name" | tr ' ' '\n'
done | grep . | sort -u || true)
mkdir -p "$guest/bench" "$guest/scx"
install -m755 "$top/bench/"*.py "$build/bench/framepace_bench_events" "$guest/bench/"
# The comparison scheduler of the benchmarks, from the kernel's own tools/sched_ext (the test
# job needs it for the benchmark's smoke case unless that case is skipped).
if [ "$job" = bench ] || { [ "$job" = test ] && [[ " ${selected_cases[*]} " == *" 60-"* ]]; }; then
    scx=$("$top/bench/build-scx-simple.sh" "$kver")
    install -m755 "$scx/scx_simple" "$guest/scx/"
    install -m644 "$scx/VERSION" "$guest/scx/"
    # The peers gamers run (bench/peers/), built from an scx export: $FRAMEPACE_PEERS_SRC, by
    # default the one in shared/ next to the clone. Without one they are left out, and the
    # guest is told why (the benchmark's document and the smoke's detail say it).
    peers_src=${FRAMEPACE_PEERS_SRC:-$top/../shared/peers/scx-7a58a3a}
    if [ -d "$peers_src" ]; then
        peers=$("$top/bench/peers/build-peers.sh" --peers-src "$peers_src" "$kver")
        mkdir -p "$guest/peers"
        install -m755 "$peers/"*_loader "$guest/peers/"
        install -m644 "$peers/BUILD" "$guest/peers/"
    else
        echo "FRAMEPACE_PEERS_MISSING=\"no scx sources at $peers_src (set FRAMEPACE_PEERS_SRC)\"" >>"$guest/job.env"
        echo "run-vm: no peer sources at $peers_src: the benchmark runs without scx_bpfland, scx_lavd, scx_cake" >&2
    fi
fi
echo "FRAMEPACE_BENCH_ARGS=\"${FRAMEPACE_BENCH_ARGS:-}\"" >>"$guest/job.env"
echo "FRAMEPACE_DEMO_SECONDS=${FRAMEPACE_DEMO_SECONDS:-20}" >>"$guest/job.env"
# The journal's MESSAGE_IDs, from the daemon's own header: one source of truth.
sed -n 's/.*k\([A-Za-z]*\) = "\([0-9a-f]\{32\}\)".*/\1 \2/p' "$top/common/message_ids.h" |
    while read -r name id; do
        echo "MSG_$(echo "$name" | sed 's/\([a-z]\)\([A-Z]\)/\1_\2/g' | tr a-z A-Z)=$id"
    done >"$guest/message-ids.env"
install -m644 "$top/tests/vm/guest/framepace-vm-job.service" "$stage/usr/lib/systemd/system/"
ln -s /usr/lib/systemd/system/framepace-vm-job.service \
    "$stage/etc/systemd/system/multi-user.target.wants/framepace-vm-job.service"
# depmod -b looks under BASE/lib/modules; the guest keeps them in /usr/lib/modules.
mkdir -p "$work/mods/lib"
tar -C "$work/mods/lib" -xf "$kdir/modules-subset.tar"
depmod -b "$work/mods" "$kver"
mv "$work/mods/lib/modules" "$stage/usr/lib/modules"
# /boot/config-KVER, as an installed kernel has it: libbpf resolves __kconfig externs from it.
mkdir -p "$stage/boot"
install -m644 "$kdir/config" "$stage/boot/config-$kver"

(cd "$stage" && find . -print0 | cpio --null -o -H newc -R 0:0 --quiet) >"$work/run.cpio"
cat "$image" "$work/run.cpio" >"$work/initrd.cpio"

mkdir -p "$out"
# tsc=reliable: the clocksource of the hardware users have, in every boot. Under TCG the
# kernel's checks distrust the emulated TSC at random: of 16 boots, 3 ran on the HPET from
# the start ("TSCs unsynchronized") and 7 switched to it 14-60 s in (a 0.3 % rate skew
# against the HPET), and every clock read (clock_gettime, bpf_ktime_get_ns, hrtimers) then
# became an emulated device access, part-way through a benchmark. The vCPUs' TSCs are the
# host's counter, so they agree with each other.
# systemd.mask=getty@tty1.service: no one logs in on the guest's (absent) screen, and under
# TCG that getty's start (a Type=idle unit, run 5 s after the boot's last job) took cpu0 for
# 60-80 ms with its credential helpers while the first case already measured: the RT
# take-over check saw it as a 76 ms gap (traced), where a quiet guest gives 4-11 ms.
boot() {
    rm -f "$out/console.log" "$out/results.jsonl" "$out/journal.txt"
    touch "$out/console.log"
    local accel=${FRAMEPACE_QEMU_ACCEL:-tcg}
    timeout "${FRAMEPACE_VM_TIMEOUT:-1500}" qemu-system-x86_64 \
        -machine q35 -accel "$accel" -cpu max -smp "${FRAMEPACE_VM_CPUS:-2}" -m 2048 \
        -nodefaults -display none -no-reboot \
        -kernel "$kdir/vmlinuz" -initrd "$work/initrd.cpio" \
        -append "console=ttyS0 rdinit=/usr/lib/systemd/systemd quiet loglevel=3 audit=0 panic=-1 systemd.show_status=error net.ifnames=0 tsc=reliable systemd.mask=getty@tty1.service" \
        -serial "file:$out/console.log" \
        -device virtio-serial-pci \
        -chardev "file,id=results,path=$out/results.jsonl" \
        -device virtserialport,chardev=results,name=framepace.results \
        -chardev "file,id=journal,path=$out/journal.txt" \
        -device virtserialport,chardev=journal,name=framepace.journal &
    local qemu=$!
    if [ "$job" = demo ]; then
        tail -n +1 -f "$out/console.log" --pid="$qemu" | grep --line-buffered -vE '^\s*$|login:|^Debian GNU' || true
    fi
    wait "$qemu"
}

start=$(date +%s)
echo "run-vm: $job job on $kver ($(du -m "$work/initrd.cpio" | cut -f1) MiB initramfs)" >&2
# The emulator's own crash, told apart from the kernel's and the product's: an "Oops: int3"
# whose code dump shows no int3 (0xcc) before the trapping address. The kernel patches a
# static key by writing int3, syncing every CPU with an IPI, writing the new bytes, removing
# the int3 and syncing again, so on hardware no CPU can trap there afterwards. Multi-threaded
# TCG now and then runs a translation made while the int3 was in place (seen once in CI, with
# QEMU 10.0.2 on 7.2.13 in __schedule, after the job had switched sched_ext on and off often),
# and the dump, read from memory, shows the finished instruction. A real int3 bug shows cc.
stale_int3_oops() {
    awk '/Oops: int3/ { seen = 1; next }
         seen && /Code:/ {
             n = split($0, f, " ")
             for (i = 2; i <= n; i++)
                 if (f[i] ~ /^<..>$/ && f[i - 1] !~ /^cc$/) found = 1
             seen = 0
         }
         END { exit !found }' "$out/console.log"
}

qemu_rc=0
boot || qemu_rc=$?
# A guest that oopsed before the job started is the known TCG flake: boot once more. So is the
# emulator killed by a signal of its own before the job started (seen once in CI: QEMU 10.0.2
# aborted on "iotlb_to_section: Assertion `section_index < d->map.sections_nb' failed" 3 s
# into an SMT boot of 6.12; timeout's own kill is status 124, not retried). After the job
# started only the emulator's stale-int3 crash is retried, the whole job from a fresh boot;
# any other failure is real and is never retried.
if ! grep -q FRAMEPACE-JOB-START "$out/console.log" &&
    { [ "$qemu_rc" -gt 128 ] || grep -qE 'Oops|Kernel panic|BUG:' "$out/console.log"; }; then
    echo "run-vm: the guest or the emulator crashed before the job started (QEMU exit status $qemu_rc); retrying once" >&2
    cp "$out/console.log" "$out/console.first-boot.log"
    boot || true
elif stale_int3_oops; then
    echo "run-vm: the emulator ran stale code (an int3 trap where memory holds no int3):" >&2
    grep -m1 -A1 'Oops: int3' "$out/console.log" >&2 || true
    echo "run-vm: rerunning the whole job once from a fresh boot" >&2
    cp "$out/console.log" "$out/console.first-boot.log"
    cp "$out/results.jsonl" "$out/results.first-boot.jsonl" 2>/dev/null || true
    cp "$out/journal.txt" "$out/journal.first-boot.txt" 2>/dev/null || true
    # A check that failed before the crash is shown, not lost with the first boot.
    jq -r 'select(.result == "fail") | "  FAIL (first boot)  \(.test): \(.detail)"' \
        "$out/results.first-boot.jsonl" >&2 2>/dev/null || true
    boot || true
fi
elapsed=$(( $(date +%s) - start ))

verdict=FAIL
grep -q 'FRAMEPACE-VM-RESULT: PASS' "$out/console.log" && verdict=PASS
if [ -s "$out/results.jsonl" ]; then
    if ! jq -r '"  \(.result | ascii_upcase)  \(.test): \(.detail)"' "$out/results.jsonl" >&2; then
        verdict=FAIL
        echo "run-vm: results.jsonl is not valid JSON lines" >&2
    fi
    grep -q '"result":"fail"' "$out/results.jsonl" && verdict=FAIL
else
    verdict=FAIL
    echo "run-vm: no results came back from the guest" >&2
fi
# A check that produced no record is a failure: it cannot vanish silently.
if [ "$job" = test ]; then
    reported=$(jq -r .test "$out/results.jsonl" 2>/dev/null | sort -u)
    missing=$(comm -23 <(echo "$expected_checks") <(echo "$reported") | paste -sd' ')
    if [ -n "$missing" ]; then
        verdict=FAIL
        echo "run-vm: checks declared by the cases but never reported: $missing" >&2
    fi
fi
booted=$(sed -n 's/.*FRAMEPACE-JOB-START.*uptime=\([0-9.]*\).*/\1/p' "$out/console.log" | tail -n1)
echo "run-vm: $verdict ($job on $kver: ${elapsed}s in all, job started ${booted:-?}s after the kernel booted; logs in $out)" >&2
if [ "$verdict" != PASS ]; then
    echo "---- last console lines ----" >&2
    tail -n 30 "$out/console.log" >&2
    exit 1
fi
