#!/bin/bash
# sched_yield() hands the CPU over (ops.yield). Games spin on sched_yield() while they wait
# for another thread (job systems; Proton maps SwitchToThread and Sleep(0) onto it): the
# thread they wait for must get the CPU. EEVDF's figures for the same loads in the same boot
# are measured first.
#   yield_hands_over: a worker does 300 ms of CPU work while spinners call sched_yield() in a
#       loop until it is done, once with every thread pinned to CPU 0 (3 spinners: its own
#       queue), once the same in a game (SteamAppId: its threads are game threads, which only
#       short latency-critical wakers preempt) and once unpinned (2 spinners per CPU). The worker's stretch (wall
#       time over CPU time) must stay at most 2 in all three: a fair share among the spinners
#       makes it 4 and 2.5, as framepace did before ops.yield (7.3.4; EEVDF 1.0-1.2, framepace
#       with it 1.0), and in the game while game threads kept the CPU past a yield (4.0).
#   yield_pingpong: a requester at nice -10 (weighted up, as a game's threads are) hands a job
#       of 50 us to a helper on the same CPU and both spin on sched_yield() for the other's
#       answer: round trips per second at least half of EEVDF's (before ops.yield 0.09x, the
#       requester kept the CPU until its charged deadline passed the helper's: 0.64 ms median,
#       100 ms max; with it 1.0x).
#   yield_limiter: frame limiters (60 frames a second, 2 ms of work each) that sleep until
#       2 ms before each frame and spin on sched_yield() for the rest, pinned to CPU 0 with two
#       CPU hogs, 300 frames each, one in a game and one no rule names. Each yield gives the CPU
#       to a hog; it must run only its wakeup protection then (slice_behind_yielder), not its
#       6 ms batch slice. Slices end at a tick (250 Hz): the hog then runs 1-5 ms, not 6-8. How
#       late frames start, at the median, must stay within 4.5 ms (7.3.4: 2.0-2.4, and 6.3-7.1
#       when the hog ran its whole slice; EEVDF 1.2-1.6, 6.12.117's 3.0-3.2, shown alongside).
# The in-game runs must have been classified as games (framepaced's journal entries).
# checks: yield_hands_over yield_pingpong yield_limiter
. /usr/lib/framepace-vm/lib.sh

tool=/usr/lib/framepace-vm/framepace-vm-yield-spin
cpus=$(nproc)
# run ARGS...: the tool's JSON, or nothing when it failed (its error goes to the log).
run() { timeout 120 "$tool" "$@"; }
# stretch JSON: the worker's wall time over its CPU time, as a decimal.
stretch() { jq -r '(.worker_wall_ms / .worker_cpu_ms * 100 | floor) / 100' <<<"$1"; }
# in_game ARGS...: run, in a process with Steam's environment (a game).
in_game() { timeout 120 env SteamAppId=480 "$tool" "$@"; }
# limiters: the frame limiters' JSON (in a game, not) under two CPU hogs on CPU 0.
limiters() {
    local hogs=()
    for _ in 1 2; do
        taskset -c 0 sh -c 'while :; do :; done' &
        hogs+=($!)
    done
    sleep 1
    game_limiter=$(in_game limiter 300 16667 2000 0 2000)
    limiter=$(run limiter 300 16667 2000 0 2000)
    kill "${hogs[@]}"
    wait "${hogs[@]}" 2>/dev/null
}
loads() {
    pinned=$(run spin 300 3 0)
    game_pinned=$(in_game spin 300 3 0)
    unpinned=$(run spin 300 $((2 * cpus)) -1)
    pingpong=$(run pingpong 10000 50 0 -10)
    limiters
}

systemctl stop framepaced.service framepaced.socket 2>/dev/null
if ! wait_for 10 state_is disabled; then
    result yield_hands_over fail "EEVDF not measured: sched_ext still $(sched_state)"
    result yield_pingpong fail "EEVDF not measured: sched_ext still $(sched_state)"
    result yield_limiter fail "EEVDF not measured: sched_ext still $(sched_state)"
    exit 0
fi
loads
eevdf_spin="pinned $(stretch "$pinned"), in a game $(stretch "$game_pinned"), unpinned $(stretch "$unpinned")"
eevdf_pingpong=$pingpong
eevdf_game_limiter=$game_limiter eevdf_limiter=$limiter
systemctl start framepaced.socket framepaced.service
if ! wait_for 20 state_is enabled; then
    result yield_hands_over fail "framepace did not start (state $(sched_state))"
    result yield_pingpong fail "framepace did not start (state $(sched_state))"
    result yield_limiter fail "framepace did not start (state $(sched_state))"
    exit 0
fi
seq0=$(enable_seq)
since=$(date +%s)
loads
seq1=$(enable_seq)
# Games framepaced classified among the tool's runs: the in-game spin and limiter are two.
games=$(journalctl -o json --no-pager --since "@$since" FRAMEPACE_CLASS=game \
            FRAMEPACE_COMM=framepace-vm-yi | jq -r .FRAMEPACE_PID | sort -u | wc -l)
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

if [ -z "$pinned" ] || [ -z "$game_pinned" ] || [ -z "$unpinned" ]; then
    result yield_hands_over fail "the load did not finish (pinned: '$pinned', in a game: '$game_pinned', unpinned: '$unpinned')"
else
    p=$(stretch "$pinned") g=$(stretch "$game_pinned") u=$(stretch "$unpinned")
    judge yield_hands_over "at most 2, the in-game run a game" "$p <= 2 and $g <= 2 and $u <= 2 and $games >= 2" \
        "$games of the tool's runs classified as games; worker's stretch pinned $p ($pinned), in a game $g ($game_pinned), unpinned $u ($unpinned); EEVDF $eevdf_spin" \
        "{\"pinned\": $pinned, \"game_pinned\": $game_pinned, \"unpinned\": $unpinned}"
fi

if [ -z "$pingpong" ] || [ -z "$eevdf_pingpong" ]; then
    result yield_pingpong fail "the load did not finish (framepace: '$pingpong', EEVDF: '$eevdf_pingpong')"
else
    ratio=$(jq -n -r "($pingpong.rounds_per_s / $eevdf_pingpong.rounds_per_s * 100 | floor) / 100")
    judge yield_pingpong "at least 0.5x" "$ratio >= 0.5" \
        "round trips per second ${ratio}x EEVDF's: $pingpong; EEVDF $eevdf_pingpong" \
        "{\"framepace\": $pingpong, \"eevdf\": $eevdf_pingpong}"
fi

if [ -z "$game_limiter" ] || [ -z "$limiter" ] || [ -z "$eevdf_game_limiter" ] || [ -z "$eevdf_limiter" ]; then
    result yield_limiter fail "the load did not finish (in a game: '$game_limiter', not: '$limiter'; EEVDF: '$eevdf_game_limiter', '$eevdf_limiter')"
else
    judge yield_limiter "median within 4.5 ms, the in-game run a game" \
        "$game_limiter.late_p50_us <= 4500 and $limiter.late_p50_us <= 4500 and $games >= 2" \
        "$games of the tool's runs classified as games; in a game $game_limiter, not $limiter; EEVDF in a game $eevdf_game_limiter, not $eevdf_limiter" \
        "{\"game\": $game_limiter, \"plain\": $limiter, \"eevdf_game\": $eevdf_game_limiter, \"eevdf_plain\": $eevdf_limiter}"
fi
