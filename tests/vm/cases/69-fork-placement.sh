#!/bin/bash
# Where a new process starts while a game runs (policy.h: where forks start). sched_ext never
# moves a task at exec, so a short program starts its life where its fork put it; framepace
# keeps it off the core of an idle CPU a game thread started on lately when there is another
# (a new thread is placed as any wakeup).
#   fork_off_game_cpu: a Steam game pinned to the last CPU; a parent pinned to CPU 0 while it
#       sleeps and let go right before each spawn (so that it forks on CPU 0 with every CPU
#       allowed to the child) starts awk 40 times. perf records where the kernel put each new
#       process (sched_wakeup_new): at most 2 of the 40 on the game's core (its CPU and, with
#       SMT, that CPU's siblings, which share its execution units). The control, the
#       same spawns once the game has exited: at least 20 of 40 put on a CPU other than the
#       parent's, the idle one, as every fork that found it idle was before, game or not.
#       Where each awk ran as it read /proc/self/stat is reported beside: a few move after
#       their start (traced on 6.12: a game CPU whose thread stopped took awk from CPU 0's
#       queue, where a wakeup had preempted it). So are the kernel threads in a game role
#       after the spawns: before note_waker left kernel threads out, RCU's grace-period thread
#       (mostly; the case's shell now and then), woken by the game's threads, ran as a game
#       thread on the parent's CPU, and 0 to 6 of 40 spawns went to the game's CPU (7.3.4; the
#       bound failed in one of five CI runs; docs/benchmarks.md, "A kernel thread as the
#       game's helper").
# checks: fork_off_game_cpu
. /usr/lib/framepace-vm/lib.sh
TOOLS=/usr/lib/framepace-vm
last_cpu=$(($(nproc) - 1))
# The game's core as a jq array: its CPU and that CPU's SMT siblings.
game_core=$(python3 -c '
import sys
cpus = []
for item in open(sys.argv[1]).read().strip().split(","):
    first, _, last = item.partition("-")
    cpus += range(int(first), int(last or first) + 1)
print(cpus)' "/sys/devices/system/cpu/cpu$last_cpu/topology/thread_siblings_list" 2>/dev/null ||
    echo "[$last_cpu]")

# spawns N: JSON {pid: CPU} for N awk processes, the CPU each read from /proc/self/stat.
spawns() {
    python3 - "$1" <<'EOF'
import json, os, subprocess, sys, time

allowed = os.sched_getaffinity(0)
ran_on = {}
for _ in range(int(sys.argv[1])):
    os.sched_setaffinity(0, {0})
    time.sleep(0.02)
    os.sched_setaffinity(0, allowed)
    awk = subprocess.Popen(["awk", "{print $39}", "/proc/self/stat"], stdout=subprocess.PIPE,
                           text=True)
    ran_on[str(awk.pid)] = int(awk.communicate()[0])
    if awk.returncode != 0:
        sys.exit(f"awk exited with {awk.returncode}")
print(json.dumps(ran_on))
EOF
}
# traced_spawns N: spawns N, with where the kernel put each of those new processes (the
# target CPU of its sched_wakeup_new): {"ran_on": {pid: CPU}, "started_on": {pid: CPU}}.
traced_spawns() {
    local ran_on
    ran_on=$(perf record -q -o /tmp/fork-placement.data -e sched:sched_wakeup_new -a -- \
                 bash -c "$(declare -f spawns); spawns $1") || return 1
    perf script -i /tmp/fork-placement.data 2>/dev/null |
        sed -n 's/.*sched_wakeup_new: .* pid=\([0-9]*\) .*target_cpu=0*\([0-9][0-9]*\).*/\1 \2/p' |
        jq -R -s -c --argjson ran_on "$ran_on" '
            [split("\n")[] | select(length > 0) | split(" ") | {(.[0]): (.[1] | tonumber)}]
            | add // {} | {ran_on: $ran_on, started_on: with_entries(select($ran_on[.key] != null))}'
}
# count JSON FIELD FILTER: how many of the CPUs in JSON's FIELD pass the jq FILTER.
count() { jq "[.$2[] | select($3)] | length" <<<"$1"; }

systemctl start framepaced.socket framepaced.service
if [ "$last_cpu" -lt 1 ] || ! wait_for 20 state_is enabled; then
    result fork_off_game_cpu fail "needs framepace on 2 CPUs or more: $(nproc) CPUs, state $(sched_state)"
    exit 0
fi
seq0=$(enable_seq)
# Longer than the spawns take on the slowest host: it is stopped after them, and must be alive
# then (a game that had ended would leave its CPU free).
env SteamAppId=480 taskset -c "$last_cpu" "$TOOLS/framepace-bench-game" 300 >/dev/null &
game=$!
sleep 2
game_roles=$(vtasks | jq -c "[.tasks[] | select(.pid == $game) | .role] | unique")
with_game=$(traced_spawns 40)
# Kernel threads are never credited as the game's helpers (note_waker); one that was stamped
# its CPU as a game's, and spawns went to the game's CPU. Reported, for a failure's reader.
kthreads_as_game=$(vtasks | jq -r '.tasks[] | select(.role == "game" or .role == "game_critical")
                                  | "\(.tid) \(.comm)"' | while read -r tid comm; do
                       # A thread that exited since has no /proc entry either: not one.
                       [ -d "/proc/$tid" ] && ! [ -e "/proc/$tid/exe" ] && echo -n "$comm ($tid) "
                   done)
game_alive=yes
kill -0 "$game" 2>/dev/null || game_alive=no
kill "$game" 2>/dev/null
wait "$game" 2>/dev/null
sleep 0.5
without_game=$(traced_spawns 40)
seq1=$(enable_seq)

started_on_game=$(count "$with_game" started_on ". as \$c | $game_core | index(\$c) != null")
traced=$(count "$with_game" started_on true)
started_off_parent=$(count "$without_game" started_on ". != 0")
traced_control=$(count "$without_game" started_on true)
detail="game threads' roles $game_roles; with the game on CPU $last_cpu (core $game_core): $started_on_game of $traced traced forks put on that core, $(count "$with_game" ran_on ". == $last_cpu") of 40 awk ran on the game's CPU ($with_game); without it: $started_off_parent of $traced_control put off the parent's CPU 0 ($without_game); kernel threads in a game role after the spawns: ${kthreads_as_game:-none}"
if [ "$seq1" != "$seq0" ] || ! state_is enabled; then
    result fork_off_game_cpu fail "framepace did not stay attached (enable_seq $seq0 -> $seq1): $detail"
elif [ -z "$with_game" ] || [ -z "$without_game" ] || [ "$traced" != 40 ] || [ "$traced_control" != 40 ]; then
    result fork_off_game_cpu fail "the spawns did not finish, or perf missed some: $detail"
elif [ "$game_alive" != yes ]; then
    result fork_off_game_cpu fail "the game ended before the spawns did: $detail"
elif [ "$started_on_game" -le 2 ] && [ "$started_off_parent" -ge 20 ] &&
     jq -e 'any(. == "game" or . == "game_critical")' <<<"$game_roles" >/dev/null; then
    result fork_off_game_cpu pass "$detail"
else
    result fork_off_game_cpu fail "$detail"
fi
