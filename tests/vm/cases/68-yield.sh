#!/bin/bash
# sched_yield() hands the CPU over (ops.yield). Games spin on sched_yield() while they wait
# for another thread (job systems; Proton maps SwitchToThread and Sleep(0) onto it): the
# thread they wait for must get the CPU. EEVDF's figures for the same loads in the same boot
# are measured first.
#   yield_hands_over: a worker does 300 ms of CPU work while spinners call sched_yield() in a
#       loop until it is done, once with every thread pinned to CPU 0 (3 spinners: its own
#       queue) and once unpinned (2 spinners per CPU). The worker's stretch (wall time over
#       CPU time) must stay at most 2 in both: a fair share among the spinners makes it 4 and
#       2.5, as framepace did before ops.yield (7.3.4; EEVDF 1.0-1.2, framepace with it 1.0).
#   yield_pingpong: a requester at nice -10 (weighted up, as a game's threads are) hands a job
#       of 50 us to a helper on the same CPU and both spin on sched_yield() for the other's
#       answer: round trips per second at least half of EEVDF's (before ops.yield 0.09x, the
#       requester kept the CPU until its charged deadline passed the helper's: 0.64 ms median,
#       100 ms max; with it 1.0x).
# checks: yield_hands_over yield_pingpong
. /usr/lib/framepace-vm/lib.sh

tool=/usr/lib/framepace-vm/framepace-vm-yield-spin
cpus=$(nproc)
# run ARGS...: the tool's JSON, or nothing when it failed (its error goes to the log).
run() { timeout 120 "$tool" "$@"; }
# stretch JSON: the worker's wall time over its CPU time, as a decimal.
stretch() { jq -r '(.worker_wall_ms / .worker_cpu_ms * 100 | floor) / 100' <<<"$1"; }
loads() {
    pinned=$(run spin 300 3 0)
    unpinned=$(run spin 300 $((2 * cpus)) -1)
    pingpong=$(run pingpong 10000 50 0 -10)
}

systemctl stop framepaced.service framepaced.socket 2>/dev/null
if ! wait_for 10 state_is disabled; then
    result yield_hands_over fail "EEVDF not measured: sched_ext still $(sched_state)"
    result yield_pingpong fail "EEVDF not measured: sched_ext still $(sched_state)"
    exit 0
fi
loads
eevdf_spin="pinned $(stretch "$pinned"), unpinned $(stretch "$unpinned")"
eevdf_pingpong=$pingpong
systemctl start framepaced.socket framepaced.service
if ! wait_for 20 state_is enabled; then
    result yield_hands_over fail "framepace did not start (state $(sched_state))"
    result yield_pingpong fail "framepace did not start (state $(sched_state))"
    exit 0
fi
seq0=$(enable_seq)
loads
seq1=$(enable_seq)
attached=yes
[ "$seq1" = "$seq0" ] && state_is enabled || attached=""
# judge CHECK BOUND CONDITION FIGURES METRICS: pass when framepace stayed attached and the jq
# CONDITION holds.
judge() {
    if [ -z "$attached" ]; then
        result "$1" fail "the load did not run under framepace throughout (enable_seq $seq0 -> $seq1, state $(sched_state)): $4"
    elif jq -e -n "$3" >/dev/null; then
        result "$1" pass "$2: $4" "$5"
    else
        result "$1" fail "$2: $4" "$5"
    fi
}

if [ -z "$pinned" ] || [ -z "$unpinned" ]; then
    result yield_hands_over fail "the load did not finish (pinned: '$pinned', unpinned: '$unpinned')"
else
    p=$(stretch "$pinned") u=$(stretch "$unpinned")
    judge yield_hands_over "at most 2" "$p <= 2 and $u <= 2" \
        "worker's stretch pinned $p ($pinned), unpinned $u ($unpinned); EEVDF $eevdf_spin" \
        "{\"pinned\": $pinned, \"unpinned\": $unpinned}"
fi

if [ -z "$pingpong" ] || [ -z "$eevdf_pingpong" ]; then
    result yield_pingpong fail "the load did not finish (framepace: '$pingpong', EEVDF: '$eevdf_pingpong')"
else
    ratio=$(jq -n -r "($pingpong.rounds_per_s / $eevdf_pingpong.rounds_per_s * 100 | floor) / 100")
    judge yield_pingpong "at least 0.5x" "$ratio >= 0.5" \
        "round trips per second ${ratio}x EEVDF's: $pingpong; EEVDF $eevdf_pingpong" \
        "{\"framepace\": $pingpong, \"eevdf\": $eevdf_pingpong}"
fi
