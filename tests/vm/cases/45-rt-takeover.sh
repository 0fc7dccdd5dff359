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
# A take-over counts unless the task ran on another CPU as the RT thread woke. On a VM with
# more idle CPUs it may have been moved in the last milliseconds before (a wakeup on cpu1, an
# idle CPU stealing it; a CI run on four CPUs saw such a move in the last millisecond, which
# the tool's cpu_at_t0 shows): such an attempt measures nothing and is repeated, up to ten
# attempts. A task seen on no CPU at T0 (cpu_at_t0 -1) was waiting in a queue as the RT
# thread took cpu1, and counts. (Once, on 7.2.13, such a task stayed off every CPU for 956 ms,
# until the kernel lent cpu1 back: its unpinning had not returned when the RT thread woke, so
# it was still bound to cpu1; an earlier rule set such attempts aside, and the tool now puts
# T0 off until the unpinning is done.)
worst_ms=0 worst="" worst_rescue_ms=0 takes=0 attempts=0 returns=0 stranded_ms=0 each="" missed=""
while [ "$takes" -lt 5 ] && [ "$attempts" -lt 10 ]; do
    attempts=$((attempts + 1))
    out=$(/usr/lib/framepace-vm/framepace-vm-rt-takeover 2000 1)
    at_t0=$(echo "$out" | jq '.cpu_at_t0 // -1')
    if [ "$at_t0" != 1 ] && [ "$at_t0" != -1 ]; then
        missed="$missed $(echo "$out" | jq -c '{cpu_before, cpu_at_t0, moves: .moves[:3]}')"
        continue
    fi
    takes=$((takes + 1))
    gap_ms=$(( $(echo "$out" | jq '.max_gap_us // 999999999') / 1000 ))
    # The rescue: when the task first ran on another CPU after the RT thread started spinning
    # (moves: [µs after T0, cpu]; a TCG timer may wake the RT thread late), or never.
    rescue_ms=$(( $(echo "$out" | jq '.rt_started_us_after_t0 as $rt |
        [.moves[] | select(.[1] != 1)][0][0] as $m |
        if $m == null then 999999999 else ([$m - $rt, 0] | max) end') / 1000 ))
    [ "$rescue_ms" -gt "$worst_rescue_ms" ] && worst_rescue_ms=$rescue_ms
    # Moves onto cpu1 after the RT thread started spinning there and before it stopped.
    back=$(echo "$out" | jq '.rt_started_us_after_t0 as $rt | (.hog_ms * 1000) as $stop |
        [.moves[] | select(.[0] > $rt and .[0] < $stop and .[1] == 1)] | length')
    returns=$((returns + back))
    # What a return cost: the longest gap of a take-over with one.
    if [ "$back" -gt 0 ] && [ "$gap_ms" -gt "$stranded_ms" ]; then stranded_ms=$gap_ms; fi
    each="$each ${rescue_ms}/${gap_ms}/${back}"
    if [ "$gap_ms" -ge "$worst_ms" ]; then
        worst_ms=$gap_ms worst=$out
    fi
done
released=$(( $(counter cpu_released) - released0 )) requeued=$(( $(counter reenqueued) - requeued0 ))
rescued=$(( $(counter rescued) - rescued0 )) lends=$(( $(counter rt_lends) - lends0 ))
why="$takes take-overs of cpu1 by an RT task for 2000 ms each ($attempts attempts): the preempted task ran on another CPU at most $worst_rescue_ms ms after the RT thread started, was kept off every CPU for at most $worst_ms ms and went back onto the held cpu1 $returns times (longest gap of a take-over with a return: $stranded_ms ms) (cpu_released +$released, reenqueued +$requeued, rescued +$rescued, rt_lends +$lends; enable_seq $seq0 -> $(enable_seq)); each take-over's rescue ms/longest gap ms/returns:$each; the longest gap: $worst; attempts not counted (the task ran on another CPU at T0):${missed:- none}"
# Without the requeue the task waits out the RT task: ~950 ms at least (the kernel gives the
# other classes 50 ms a second), 2000 ms at most. With it the task runs on cpu0 within a few
# ms; 50 ms leaves room for the second path (cpu0 takes the task at its next dispatch). Once
# there it shares cpu0: a CPU hog (batch) waits behind whatever wakes, and the boot's tail
# under TCG (services still starting as the first cases run) kept it off for 76 ms (traced: a
# getty starting) and 163 ms in single take-overs, which a bound of 100 ms on the longest gap
# failed on; so that gap is bounded at 500 ms, half of waiting out the RT task. Before
# framepace kept lent CPUs to their bound tasks (rt_lends), a task went back onto cpu1 in such
# a moment and was stranded 126 and 149 ms (7.2.13, 7.3.4; three CI runs in five). Returns
# still happen now and then (2026-12-02: one in each of two boots of six, e.g. onto cpu1 19 ms
# before the hold's end, off every CPU 18 ms until it ended; the path is not found yet): they
# are counted and reported, and fail the check when the take-over with one kept the task off
# every CPU for 100 ms or more, as the stranding did.
if [ "$takes" = 5 ] && [ "$worst_rescue_ms" -lt 50 ] && [ "$worst_ms" -lt 500 ] &&
    [ "$stranded_ms" -lt 100 ] && [ $((requeued + rescued)) -ge 1 ] && [ "$(enable_seq)" = "$seq0" ] &&
    state_is enabled; then
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
# The kernel lends each CPU at the end of each 1 s period: about 950 ms apart, so a spinner
# that misses one CPU's moment of a period shows a gap near 2000 ms. That happened when a
# lent CPU declined its moment (no task "starved" yet) and the kernel stopped lending it for
# the rest of the hold (one CI run in two; traced: a CPU with one moment in 3 s, 3 holds in 6).
# Before 6.19 it lends none (no deadline server for sched_ext): RT tasks on every CPU starve
# every sched_ext task, whatever the scheduler, the kernel's own watchdog worker included. Its
# check-in runs every timeout_ms / 2 (2.5 s), so a hold of 3 s (3.7 s without a sched_ext
# task running, counting the tools' start) may outlast the 5 s since the last one, and the
# kernel then ejects framepace for a stall (one CI run, 6.12.117; whether it does depends on
# where the hold falls in that 2.5 s period). There the gaps are reported, not bounded, and
# framepace must either stay attached or, ejected for that stall, be loaded again by the
# daemon after its back-off.
kv=$(uname -r) major=${kv%%.*} rest=${kv#*.}
minor=${rest%%.*}
if [ "$major" -lt 6 ] || { [ "$major" = 6 ] && [ "$minor" -lt 19 ]; }; then
    why="$why (kernel $kv lends no CPU: gaps reported, not bounded)"
    if [ "$(enable_seq)" = "$seq1" ] && state_is enabled; then
        result rt_everywhere pass "$why; stayed attached"
    elif wait_for 20 bash -c "[ \$(cat /sys/kernel/sched_ext/enable_seq) -gt $seq1 ] && [ \$(cat $STATE) = enabled ]" &&
        [ "$(vcall GetStatus | jq .last_exit.kind)" = 1026 ]; then
        result rt_everywhere pass "$why; ejected for a stall and loaded again: $(vcall GetStatus | jq -c .last_exit)"
    else
        result rt_everywhere fail "$why; state $(sched_state), enable_seq $(enable_seq), GetStatus $(vcall GetStatus | jq -c .last_exit)"
    fi
    exit 0
fi
if [ "$worst_all" -lt 1500 ] && [ "$(enable_seq)" = "$seq1" ] && state_is enabled; then
    result rt_everywhere pass "$why"
else
    result rt_everywhere fail "$why"
fi
exit 0
