#!/bin/bash
# A machine with SMT (a Steam Deck: 4 cores of 2 threads; most desktop CPUs): the run-vm.sh
# tests `vm_smt_<kernel>` boot 4 vCPUs as one socket of two cores of two threads. Only those
# runs select this case (the other VMs have one thread per core).
#   smt_topology:  the guest's sysfs shows cores of two threads, and framepaced read the same
#                  (its attach entry's FRAMEPACE_SMT);
#   smt_idle_core: a new task whose previous CPU is busy starts on a wholly idle core, not on
#                  the idle sibling of the busy CPU. A parent held on the first CPU of core 0
#                  forks children allowed everywhere, one at a time; each child reports where
#                  it runs just after it starts, the parent where it was when fork returned
#                  (it may have been moved meanwhile: children are classed against that CPU).
#                  The sibling shares the busy CPU's execution units; on real hardware a task
#                  there runs slower, under TCG only the placement shows. The kernel's own
#                  idle search (scx_bpf_pick_idle_cpu) prefers whole cores too: what this
#                  checks is that framepace's select_cpu keeps that order (no earlier step
#                  sends the task to prev's sibling or to the first idle CPU in order) and that
#                  its core pass is the one taken (counter direct_core, which moves only where
#                  framepaced found SMT). At most 1 in 10 may start on the sibling (another
#                  task may hold the idle core for a moment; at random among the three idle
#                  CPUs a third would). The same load under EEVDF is measured alongside.
# checks: smt_topology smt_idle_core
. /usr/lib/framepace-vm/lib.sh

MSG_ATTACHED=78daa8cb9fdc4d3898c966969458ee42
cores=$(cat /sys/devices/system/cpu/cpu*/topology/thread_siblings_list 2>/dev/null | sort -u | tr '\n' ' ')
held=0

# fork_places CPU N: N children forked one at a time by a parent held on CPU, each allowed on
# every CPU (the parent widens its own mask just for the fork). JSON: how many started on the
# parent's CPU, on its sibling, on the other core; how many reported no CPU.
fork_places() {
    python3 - "$1" "$2" <<'EOF'
import json, os, sys

def cpu_list(text):
    cpus = []
    for part in text.strip().split(","):
        first, _, last = part.partition("-")
        cpus += range(int(first), int(last or first) + 1)
    return cpus

def this_cpu():
    with open("/proc/self/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[36])  # field 39, processor

held, n = int(sys.argv[1]), int(sys.argv[2])
every = os.sched_getaffinity(0)
core_of = {}
for cpu in every:
    with open(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list") as f:
        core_of[cpu] = tuple(cpu_list(f.read()))
os.sched_setaffinity(0, {held})
places = {"same_cpu": 0, "sibling": 0, "idle_core": 0, "parent_moved": 0, "failed": 0}
for _ in range(n):
    os.sched_setaffinity(0, every)
    pid = os.fork()
    if pid == 0:
        try:
            os._exit(this_cpu())
        except BaseException:
            os._exit(255)
    parent = this_cpu()
    os.sched_setaffinity(0, {held})
    _, status = os.waitpid(pid, 0)
    child = os.waitstatus_to_exitcode(status)
    if child not in core_of:
        places["failed"] += 1
        continue
    if parent != held:
        places["parent_moved"] += 1
    if child == parent:
        places["same_cpu"] += 1
    elif core_of[child] == core_of[parent]:
        places["sibling"] += 1
    else:
        places["idle_core"] += 1
print(json.dumps(places))
EOF
}

eevdf=$(fork_places "$held" 200)

systemctl start framepaced.socket framepaced.service
if ! wait_for 20 state_is enabled; then
    result smt_topology fail "framepace did not start (state $(sched_state))"
    result smt_idle_core fail "framepace did not start"
    exit 0
fi
# This daemon's attach entry: journald may not have written it yet when READY=1 arrives.
attach_entry() { journalctl -o json --no-pager MESSAGE_ID=$MSG_ATTACHED _PID="$(main_pid)" | tail -n1; }
attach_logged() { attach_entry | grep -q .; }
wait_for 5 attach_logged
attach=$(attach_entry)
daemon_smt=$(echo "$attach" | jq -r '.FRAMEPACE_SMT // "none"' 2>/dev/null)
attach_message=$(echo "$attach" | jq -r '.MESSAGE // "none"' 2>/dev/null)
why="guest thread sibling lists: $cores; framepaced's attach entry: FRAMEPACE_SMT=$daemon_smt ($attach_message)"
smt_seen=0
if [ "$(echo "$cores" | wc -w)" = 2 ] && [[ $cores == *[,-]* ]] && [ "$daemon_smt" = 1 ]; then
    smt_seen=1
    result smt_topology pass "$why"
else
    result smt_topology fail "$why"
fi

seq0=$(enable_seq) core0=$(counter direct_core)
fp=$(fork_places "$held" 200)
direct_core=$(( $(counter direct_core) - core0 ))
place() { jq -r ".$1 // -1" <<<"$fp" 2>/dev/null || echo -1; }
idle_core=$(place idle_core) sibling=$(place sibling) same_cpu=$(place same_cpu) failed=$(place failed)
figures="{\"framepace\":${fp:-null},\"eevdf\":${eevdf:-null},\"direct_core\":$direct_core}"
if [ "$smt_seen" = 1 ] && [ "$failed" = 0 ] && [ $((idle_core + sibling + same_cpu)) = 200 ] &&
   [ $((sibling * 10)) -le 200 ] && [ "$idle_core" -ge 160 ] &&
   [ $((direct_core * 10)) -ge $((idle_core * 8)) ] && [ "$(enable_seq)" = "$seq0" ] &&
   state_is enabled; then
    result smt_idle_core pass "200 children of a parent on CPU $held: $idle_core started on the idle core, $sibling on the busy CPU's sibling, $same_cpu on its CPU (direct_core +$direct_core); $fp; EEVDF: $eevdf" "$figures"
else
    result smt_idle_core fail "smt seen: $smt_seen; $figures; enable_seq $seq0 -> $(enable_seq)"
fi
