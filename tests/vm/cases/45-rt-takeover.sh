#!/bin/bash
# An RT task (SCHED_FIFO, as pipewire under rtkit) takes a CPU from a running framepace task
# and holds it for 2 s: the preempted task, left in that CPU's local queue by the kernel (or
# in its own queue, when its slice ended as the RT task woke), must be sent on to the other
# CPU (ops.cpu_release, the others' rescue of a held CPU's queue) instead of waiting out the
# RT task. Five take-overs: which of the two paths a take-over takes depends on timing, and
# one run in four took the second one (seen: 25 runs, 2026-12-01). Nor may the task return to
# the held CPU while the RT task still wants it: 6.19+ lends that CPU to sched_ext for moments
# (its deadline server), and a task put there then was stranded when the RT task resumed.
# checks: rt_takeover rt_everywhere
. /usr/lib/framepace-vm/lib.sh
systemctl start framepaced.socket framepaced.service
if ! wait_for 20 state_is enabled; then
    result rt_takeover fail "framepace did not start (state $(sched_state))"
    exit 0
fi
seq0=$(enable_seq) released0=$(counter cpu_released) requeued0=$(counter reenqueued)
rescued0=$(counter rescued) lends0=$(counter rt_lends)
# A take-over counts when the task ran on cpu1 as the RT thread woke. On a VM with more idle
# CPUs it may have been moved in the last milliseconds before (a wakeup on cpu1, an idle CPU
# stealing it): such an attempt measures nothing and is repeated, up to ten attempts.
worst_ms=0 worst="" takes=0 attempts=0 returns=0
while [ "$takes" -lt 5 ] && [ "$attempts" -lt 10 ]; do
    attempts=$((attempts + 1))
    out=$(/usr/lib/framepace-vm/framepace-vm-rt-takeover 2000 1)
    [ "$(echo "$out" | jq '.cpu_before // -1')" = 1 ] || continue
    takes=$((takes + 1))
    gap_ms=$(( $(echo "$out" | jq '.max_gap_us // 999999999') / 1000 ))
    # Moves onto cpu1 after the RT thread started spinning there and before it stopped
    # (moves: [µs after T0, cpu]).
    returns=$((returns + $(echo "$out" | jq '.rt_started_us_after_t0 as $rt | (.hog_ms * 1000) as $stop |
        [.moves[] | select(.[0] > $rt and .[0] < $stop and .[1] == 1)] | length')))
    if [ "$gap_ms" -ge "$worst_ms" ]; then
        worst_ms=$gap_ms worst=$out
    fi
done
released=$(( $(counter cpu_released) - released0 )) requeued=$(( $(counter reenqueued) - requeued0 ))
rescued=$(( $(counter rescued) - rescued0 )) lends=$(( $(counter rt_lends) - lends0 ))
why="$takes take-overs of cpu1 by an RT task for 2000 ms each ($attempts attempts): the preempted task was kept off every CPU for at most $worst_ms ms and went back onto the held cpu1 $returns times (cpu_released +$released, reenqueued +$requeued, rescued +$rescued, rt_lends +$lends; enable_seq $seq0 -> $(enable_seq)); the worst: $worst"
# Without the requeue the task waits out the RT task: ~950 ms at least (the kernel gives the
# other classes 50 ms a second), 2000 ms at most. With it, a few ms; 100 ms leaves room for
# the other tasks that now share cpu0. Before framepace kept lent CPUs to their bound tasks
# (rt_lends), a task went back onto cpu1 in such a moment and was stranded 126 and 149 ms
# (7.2.13, 7.3.4; three CI runs in five).
if [ "$takes" = 5 ] && [ "$worst_ms" -lt 100 ] && [ "$returns" = 0 ] &&
    [ $((requeued + rescued)) -ge 1 ] && [ "$(enable_seq)" = "$seq0" ] && state_is enabled; then
    result rt_takeover pass "$why"
else
    result rt_takeover fail "$why"
fi

# --- An RT task on every CPU for 3 s: what framepace has left runs only in the moments the
# kernel lends a CPU back (6.19+: 50 ms a second each), and must get them, though no task of
# it is bound there. Held CPUs that ran only their bound tasks starved such a task for the
# whole hold (the watchdog ejects after 5 s). Two instances of the tool, one per CPU, each
# with its own SCHED_OTHER spinner; on a VM with more CPUs the spinners simply move.
seq1=$(enable_seq) lends1=$(counter rt_lends)
for c in 0 1; do
    /usr/lib/framepace-vm/framepace-vm-rt-takeover 3000 "$c" >"/tmp/rt-everywhere-$c.json" &
done
wait
gaps=$(jq -s '[.[].max_gap_us // 999999999 | . / 1000 | floor]' /tmp/rt-everywhere-*.json | jq -c .)
worst_all=$(echo "$gaps" | jq 'max')
why="RT tasks on cpu0 and cpu1 for 3000 ms: the SCHED_OTHER spinners' longest times off every CPU $gaps ms (rt_lends +$(( $(counter rt_lends) - lends1 )); enable_seq $seq1 -> $(enable_seq)); $(tr '\n' ' ' </tmp/rt-everywhere-0.json)"
# The kernel lends each CPU at the end of each 1 s period: about 950 ms apart. Before 6.19
# it lends none (no deadline server for sched_ext): RT tasks on every CPU starve every
# sched_ext task, whatever the scheduler, so there only staying attached is checked.
kv=$(uname -r) major=${kv%%.*} rest=${kv#*.}
minor=${rest%%.*}
bound=2000
if [ "$major" -lt 6 ] || { [ "$major" = 6 ] && [ "$minor" -lt 19 ]; }; then
    bound=999999 why="$why (kernel $kv lends no CPU: gaps reported, not bounded)"
fi
if [ "$worst_all" -lt "$bound" ] && [ "$(enable_seq)" = "$seq1" ] && state_is enabled; then
    result rt_everywhere pass "$why"
else
    result rt_everywhere fail "$why"
fi
exit 0
