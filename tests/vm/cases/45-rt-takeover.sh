#!/bin/bash
# An RT task (SCHED_FIFO, as pipewire under rtkit) takes a CPU from a running framepace task
# and holds it for 2 s: the preempted task, left in that CPU's local queue by the kernel, must
# be sent on to the other CPU (ops.cpu_release) instead of waiting out the RT task.
# checks: rt_takeover
. /usr/lib/framepace-vm/lib.sh
systemctl start framepaced.socket framepaced.service
if ! wait_for 20 state_is enabled; then
    result rt_takeover fail "framepace did not start (state $(sched_state))"
    exit 0
fi
seq0=$(enable_seq) released0=$(counter cpu_released) requeued0=$(counter reenqueued)
out=$(/usr/lib/framepace-vm/framepace-vm-rt-takeover 2000 1)
released=$(( $(counter cpu_released) - released0 )) requeued=$(( $(counter reenqueued) - requeued0 ))
gap_ms=$(( $(echo "$out" | jq '.max_gap_us // 999999999') / 1000 ))
before=$(echo "$out" | jq '.cpu_before // -1')
why="kept off every CPU for at most $gap_ms ms while an RT task held cpu1 for 2000 ms (it ran on cpu$before when taken; cpu_released +$released, reenqueued +$requeued; enable_seq $seq0 -> $(enable_seq)): $out"
# Without a requeue the task waits out the RT task: ~950 ms at least (RT throttling lets
# other classes run 50 ms a second), 2000 ms at most.
if [ "$before" = 1 ] && [ "$gap_ms" -lt 200 ] && [ "$requeued" -ge 1 ] && [ "$(enable_seq)" = "$seq0" ] &&
    state_is enabled; then
    result rt_takeover pass "$why"
else
    result rt_takeover fail "$why"
fi
exit 0
