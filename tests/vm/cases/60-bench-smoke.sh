#!/bin/bash
# The benchmark's smoke run (one short repetition of every scenario under every scheduler),
# so that the benchmark code cannot rot; the host turns its figures into a report
# (ctest bench_report_smoke). Its figures are not a measurement.
# checks: bench_smoke
. /usr/lib/framepace-vm/lib.sh
systemctl stop framepaced.service framepaced.socket 2>/dev/null
modprobe uinput
# The figures of a baseline the kernel ejects mid-run (scx_simple's one global FIFO can stall
# RCU under TCG: "runtime error: RCU CPU stall") are not a measurement, but not rot either:
# such a run is reported in the detail. framepace must stay attached, and every sched_ext
# scheduler that stayed attached must show its callbacks' costs.
if ! python3 /usr/lib/framepace-vm/bench/sched_bench.py --out /run/bench-smoke.json --smoke \
        --scx-simple /usr/lib/framepace-vm/scx/scx_simple --tools /usr/lib/framepace-vm \
        2>/run/bench-smoke.log; then
    result bench_smoke fail "sched_bench.py failed: $(tail -c 600 /run/bench-smoke.log)"
    exit 0
fi
schedulers=$(jq '[.runs[].scheduler] | unique | length' /run/bench-smoke.json)
framepace_attached=$(jq '[.runs[] | select(.scheduler == "framepace" and .stayed_attached)] | length' /run/bench-smoke.json)
fewest_callbacks=$(jq '[.runs[] | select(.scheduler != "eevdf" and .stayed_attached) | .callbacks | length] | min' /run/bench-smoke.json)
ejected=$(jq -r '[.runs[] | select(.stayed_attached | not) | .scheduler] | join(" ")' /run/bench-smoke.json)
why="schedulers run: $schedulers of 3; framepace stayed attached: $framepace_attached of 1; fewest callbacks measured: $fewest_callbacks; ejected mid-run: ${ejected:-none}"
[ -n "$ejected" ] && why="$why ($(dmesg | grep -o 'sched_ext: BPF scheduler .* disabled (.*' | grep -v 'unregistered' | tail -1))"
if [ "$schedulers" = 3 ] && [ "$framepace_attached" = 1 ] && [ "$fewest_callbacks" -ge 4 ]; then
    result bench_smoke pass "$why; $(jq -c .meta /run/bench-smoke.json)" "$(cat /run/bench-smoke.json)"
else
    result bench_smoke fail "$why"
fi
exit 0
