#!/bin/bash
# A machine with two last-level caches (every Ryzen with two CCDs): the run-vm.sh test
# `vm_two_llc` boots 4 vCPUs as two sockets of two cores, and QEMU gives each socket its own
# L3. Only that run selects this case (the other VMs have one LLC).
#   llc_topology: the guest's sysfs shows two L3s, and framepaced read the same (its attach
#                 entry's FRAMEPACE_NR_LLCS);
#   llc_wakeups:  three ping-pong pairs (6 threads, 4 CPUs), 10 s: framepace kept wakeups in
#                 their LLC (the waker's CPU for a synchronous wakeup, an idle CPU of prev's
#                 LLC otherwise: sync_wakeups, direct_llc), and wakeups that left their LLC
#                 were rarer than those that moved within it, or under 1 % of all wakeups, or
#                 no more than twice as common as under EEVDF on the same load in the same
#                 boot, measured first. In CI the second held (112-155 across, 32-56 within,
#                 in 56000-61000 wakeups; EEVDF 93-166 across): a slower host runs fewer
#                 wakeups in the 10 s, and the third keeps the check about framepace.
#   llc_clock:    the LLCs loaded unevenly (three CPU hogs on the first LLC's CPUs, one on a
#                 CPU of the second), a cyclictest thread on the first LLC (10 ms timer; with
#                 critical_wake_ns 0 nothing counts as periodic, so only its deadline gets it
#                 a CPU) always runs within 1 s of its timer, and nothing ejects. With one
#                 virtual clock for all LLCs, the less busy one drove it ahead and the busy
#                 one's sleepers entered behind its hogs, further each second (the benchmark
#                 on 454ecaa: a kworker starved 5 s, khugepaged 21 s).
#   llc_balance:  nine unpinned CPU hogs on the four CPUs, 12 s: the hog with the least CPU got
#                 at least 0.84 of what the one with the most got, and CPUs took work from the
#                 busier LLC (counter llc_balances). Hogs never wake, so nothing but a balancer
#                 moves them between LLCs: without one they split 5:4 and ran at 0.40 and 0.50
#                 of a CPU for as long as they ran (0.75-0.80; seen 2026-12-04 without the balancer,
#                 0.89-0.93 with it, 6.12 included, about 300 balances a second; EEVDF 0.94).
#                 And a hog kept its CPU past its slice (counter keep_prev) in under a fifth
#                 of the hogs' runs (schedstat's switches in): with nine equal hogs few are
#                 still the earliest deadline when their slice ends. It runs right after
#                 llc_clock, whose uneven load leaves the LLCs' clocks apart: when dispatch
#                 measured the deadline of a task taken from the other LLC against that LLC's
#                 clock, such tasks kept their new CPU slice after slice (seen 2026-12-05 on
#                 c4fa8bf: keep_prev 30-57 % of the runs, least/most 0.61-0.89, once a kworker
#                 bound to CPU 0 waited 5 s and the kernel ejected framepace; with the fix 5-9 %,
#                 0.86-0.97). Those figures are over 8 s; 12 s since, as a min/max ratio
#                 of nine shares is noisy and the 0.84 bound sits close to both the figures
#                 without a balancer and with one.
#   llc_preempt:  two CPU hogs on every CPU (shared queues), a cyclictest thread (1 ms timer,
#                 not periodic: critical_wake_ns 0) allowed on one CPU of each LLC, 5 s: when
#                 the CPU of its own LLC may not be preempted (its hog inside its protection)
#                 it takes the other LLC's by deadline (counter llc_preempts), and nothing
#                 ejects. Its latency is measured alongside with such moves held to one a
#                 second (migration_interval_ns), for the record: on 2 LLCs x 1 vCPU under hogs
#                 the traced wait's p50 went from 624-1579 to 78-91 us (EEVDF 22-49).
# checks: llc_topology llc_wakeups llc_clock llc_balance llc_preempt
. /usr/lib/framepace-vm/lib.sh
l3s=$(cat /sys/devices/system/cpu/cpu*/cache/index3/shared_cpu_list 2>/dev/null | sort -u | tr '\n' ' ')
nr_l3=$(echo "$l3s" | wc -w)

# EEVDF first, before framepace starts: the same load, for the record.
eevdf=$(/usr/lib/framepace-vm/framepace-vm-llc-wakeups 10 3)

systemctl start framepaced.socket framepaced.service
if ! wait_for 20 state_is enabled; then
    result llc_topology fail "framepace did not start (state $(sched_state))"
    result llc_wakeups fail "framepace did not start"
    result llc_clock fail "framepace did not start"
    exit 0
fi
attach=$(journalctl -o json --no-pager -u framepaced.service | jq -c 'select(.FRAMEPACE_NR_LLCS != null)' | tail -n1)
daemon_llcs=$(echo "$attach" | jq -r '.FRAMEPACE_NR_LLCS // "none"')
why="guest L3 sharing lists: $l3s($nr_l3); framepaced's attach entry: $daemon_llcs LLCs, $(echo "$attach" | jq -r '.FRAMEPACE_NR_CPUS // "?"') CPUs"
if [ "$nr_l3" = 2 ] && [ "$daemon_llcs" = 2 ]; then
    result llc_topology pass "$why"
else
    result llc_topology fail "$why"
fi

seq0=$(enable_seq) llc0=$(counter direct_llc) any0=$(counter direct_any) sync0=$(counter sync_wakeups)
fp=$(/usr/lib/framepace-vm/framepace-vm-llc-wakeups 10 3)
direct_llc=$(( $(counter direct_llc) - llc0 )) direct_any=$(( $(counter direct_any) - any0 ))
sync=$(( $(counter sync_wakeups) - sync0 ))
wakeups=$(echo "$fp" | jq .wakeups) within=$(echo "$fp" | jq .within_llc) across=$(echo "$fp" | jq .across_llc)
eevdf_wakeups=$(echo "$eevdf" | jq '.wakeups // 0') eevdf_across=$(echo "$eevdf" | jq '.across_llc // 0')
why="framepace: $fp, sync_wakeups +$sync, direct_llc +$direct_llc, direct_any +$direct_any, enable_seq $seq0 -> $(enable_seq); EEVDF on the same load: $eevdf"
metrics=$(jq -cn --argjson fp "$fp" --argjson eevdf "$eevdf" --argjson direct_llc "$direct_llc" \
    --argjson direct_any "$direct_any" --argjson sync "$sync" \
    '{framepace:$fp, eevdf:$eevdf, sync_wakeups:$sync, direct_llc:$direct_llc, direct_any:$direct_any}')
if [ $((sync + direct_llc)) -gt 0 ] && [ "$wakeups" -gt 0 ] &&
    { [ "$across" -le "$within" ] || [ $((across * 100)) -lt "$wakeups" ] ||
        [ $((across * eevdf_wakeups)) -le $((2 * eevdf_across * wakeups)) ]; } &&
    [ "$(enable_seq)" = "$seq0" ] && state_is enabled; then
    result llc_wakeups pass "$why" "$metrics"
else
    result llc_wakeups fail "$why" "$metrics"
fi

first_llc=$(echo "$l3s" | awk '{print $1}') second_llc=$(echo "$l3s" | awk '{print $2}')
lone_cpu=${second_llc%%[-,]*}
hogs=()
for cpus in "$first_llc" "$first_llc" "$first_llc" "$lone_cpu"; do
    taskset -c "$cpus" bash -c 'while :; do :; done' &
    hogs+=($!)
done
vcall SetTunables '{"critical_wake_ns": 0}' >/dev/null
seq0=$(enable_seq)
ct=$(cyclictest -q -m --policy=other -t 1 -a "$first_llc" -i 10000 -D 10 2>&1 | tail -n 3 | tr '\n' ' ')
vcall ResetTunables >/dev/null
kill "${hogs[@]}"
wait "${hogs[@]}" 2>/dev/null
max_us=$(grep -oE 'Max: *[0-9]+' <<<"$ct" | grep -oE '[0-9]+' || true)
why="hogs on $first_llc x3 and $lone_cpu x1, cyclictest on $first_llc: $ct; enable_seq $seq0 -> $(enable_seq), state $(sched_state)"
if [ -n "$max_us" ] && [ "$max_us" -lt 1000000 ] && [ "$(enable_seq)" = "$seq0" ] && state_is enabled; then
    result llc_clock pass "$why" "{\"max_us\": $max_us}"
else
    result llc_clock fail "$why"
fi

cpu_ns() { awk '{print $1}' "/proc/$1/schedstat"; }
switches() { awk '{print $3}' "/proc/$1/schedstat"; }
bal0=$(counter llc_balances) seq0=$(enable_seq)
hogs=()
for _ in 1 2 3 4 5 6 7 8 9; do
    bash -c 'while :; do :; done' &
    hogs+=($!)
done
sleep 3
declare -A start runs0
for pid in "${hogs[@]}"; do start[$pid]=$(cpu_ns "$pid") runs0[$pid]=$(switches "$pid"); done
kept0=$(counter keep_prev)
sleep 12
kept=$(( $(counter keep_prev) - kept0 ))
shares=$(for pid in "${hogs[@]}"; do echo $(( $(cpu_ns "$pid") - ${start[$pid]} )); done | sort -n | tr '\n' ' ')
runs=0
for pid in "${hogs[@]}"; do runs=$(( runs + $(switches "$pid") - ${runs0[$pid]} )); done
kill "${hogs[@]}"
wait "${hogs[@]}" 2>/dev/null
balances=$(( $(counter llc_balances) - bal0 ))
least=$(echo "$shares" | awk '{print $1}') most=$(echo "$shares" | awk '{print $NF}')
ratio=$(awk -v a="$least" -v b="$most" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
why="9 hogs, CPU ns each over 12 s: $shares(least/most $ratio); llc_balances +$balances; hogs' runs $runs, keep_prev +$kept; enable_seq $seq0 -> $(enable_seq)"
metrics="{\"least_over_most\": $ratio, \"llc_balances\": $balances, \"runs\": $runs, \"keep_prev\": $kept}"
if awk -v r="$ratio" 'BEGIN { exit !(r >= 0.84) }' && [ "$balances" -gt 0 ] &&
    [ "$runs" -gt 0 ] && [ $((kept * 5)) -lt "$runs" ] &&
    [ "$(enable_seq)" = "$seq0" ] && state_is enabled; then
    result llc_balance pass "$why" "$metrics"
else
    result llc_balance fail "$why" "$metrics"
fi

cpu_a=${first_llc%%[-,]*}
hogs=()
for cpu in $(seq 0 $(($(nproc) - 1))); do
    for _ in 1 2; do
        taskset -c "$cpu" bash -c 'while :; do :; done' &
        hogs+=($!)
    done
done
vcall SetTunables '{"critical_wake_ns": 0}' >/dev/null
sleep 1
seq0=$(enable_seq) pre0=$(counter llc_preempts)
across=$(taskset -c "$cpu_a,$lone_cpu" cyclictest -q -m --policy=other -t 1 -i 1000 -D 5 2>&1 | tail -n 1)
preempts=$(( $(counter llc_preempts) - pre0 ))
vcall SetTunables '{"migration_interval_ns": 1000000000}' >/dev/null
held=$(taskset -c "$cpu_a,$lone_cpu" cyclictest -q -m --policy=other -t 1 -i 1000 -D 5 2>&1 | tail -n 1)
vcall ResetTunables >/dev/null
kill "${hogs[@]}"
wait "${hogs[@]}" 2>/dev/null
avg() { grep -oE 'Avg: *[0-9]+' <<<"$1" | grep -oE '[0-9]+' || echo 0; }
why="${#hogs[@]} hogs, cyclictest on CPUs $cpu_a,$lone_cpu: $across; llc_preempts +$preempts; moves held to one a second: $held; enable_seq $seq0 -> $(enable_seq)"
metrics="{\"llc_preempts\": $preempts, \"avg_us\": $(avg "$across"), \"avg_us_held\": $(avg "$held")}"
if [ "$preempts" -gt 0 ] && [ "$(avg "$across")" -gt 0 ] && [ "$(enable_seq)" = "$seq0" ] &&
    state_is enabled; then
    result llc_preempt pass "$why" "$metrics"
else
    result llc_preempt fail "$why" "$metrics"
fi
exit 0
