#!/bin/bash
# The benchmark's smoke run (one short repetition of every scenario under every scheduler),
# so that the benchmark code cannot rot; the host turns its figures into a report
# (ctest bench_report_smoke). Its figures are not a measurement.
# checks: bench_smoke
. /usr/lib/framepace-vm/lib.sh
systemctl stop framepaced.service framepaced.socket 2>/dev/null
modprobe uinput
if python3 /usr/lib/framepace-vm/bench/sched_bench.py --out /run/bench-smoke.json --smoke \
        --scx-simple /usr/lib/framepace-vm/scx/scx_simple --tools /usr/lib/framepace-vm \
        2>/run/bench-smoke.log &&
   [ "$(jq '[.runs[].scheduler] | unique | length' /run/bench-smoke.json)" = 3 ] &&
   [ "$(jq '[.runs[] | select(.stayed_attached)] | length' /run/bench-smoke.json)" = 3 ] &&
   [ "$(jq '[.runs[] | select(.scheduler != "eevdf") | .callbacks | length] | min' /run/bench-smoke.json)" -ge 4 ]; then
    result bench_smoke pass "$(jq -c .meta /run/bench-smoke.json)" "$(cat /run/bench-smoke.json)"
else
    result bench_smoke fail "$(tail -c 600 /run/bench-smoke.log)"
fi
exit 0
