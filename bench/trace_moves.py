#!/usr/bin/env python3
"""Where a game's threads ran when their own CPU woke them while it ran other work, from an
ftrace text dump.

    trace_moves.py TRACE [--threads NAME,NAME...]

TRACE is /sys/kernel/tracing/trace as text with the events sched_waking and sched_switch, as
bench/trace_lateness.py reads it (docs/testing.md, "Tracing a late thread"). The threads
followed are those named NAME (default: the synthetic game's render, logic and audio,
bench/game_sim.cpp). Each of their wakeups is sorted by the CPU it came from and what that CPU
ran then:
  other_cpu   woken from another CPU than the thread's own (target_cpu of sched_waking)
  own_idle    by its own CPU, idle (a timer there)
  own_game    by its own CPU while a followed thread ran there
  own_busy    by its own CPU while something else ran there: the thread may run there at once
              (the work there preempted) or wait for another CPU to take it
with, for each kind, the time from the wakeup to the thread's start (p50 and p99 in µs). For
own_busy also: how many started on another CPU ("moved"), the same times of those that moved
and of those that stayed, and what ran on the CPU as they woke ("own_busy_with", the eight
most frequent). The thread's own CPU is the one it last ran on (target_cpu of sched_waking).
A wakeup whose CPU's task the trace has not shown is left out, and so is every pending one
after events were lost ("lost_events"). Counted apart, without a wait: wakeups of a thread
that had not yet left its CPU ("woken_running": its timer fired before it slept) and those
woken again before they started ("woken_again"). Prints one JSON object; fails if no wakeup
of the threads was found. Used to find why the game beside a short program started every
0.5 s is later under framepace than under EEVDF (docs/benchmarks.md, "Game threads kept on
their own busy CPU").
"""
import argparse
import collections
import importlib.util
import json
import os
import sys

_spec = importlib.util.spec_from_file_location(
    "trace_lateness", os.path.join(os.path.dirname(os.path.abspath(__file__)), "trace_lateness.py"))
trace_lateness = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(trace_lateness)

KINDS = ("other_cpu", "own_idle", "own_game", "own_busy")


def analyse(lines, names=("render", "logic", "audio")):
    names = set(names)
    running = {}   # CPU -> comm of what runs there, as the last switch on it said
    waking = {}    # pid -> (kind, cpu, ns) of a wakeup not yet run
    counts = dict.fromkeys(KINDS + ("woken_running", "woken_again"), 0)
    busy_with = collections.Counter()
    waits = {key: [] for key in KINDS + ("moved", "stayed")}
    lost = [0]
    lost_seen = 0
    for ns, cpu, _task, _pid, event, f in trace_lateness.parse(lines, lost):
        if lost[0] != lost_seen:
            # Switches may be missing: what ran where, and who started, is unknown until seen.
            lost_seen = lost[0]
            running.clear()
            waking.clear()
        if event == "sched_switch" and "next_comm" in f:
            running[cpu] = f["next_comm"]
            # Woken before it slept (its timer beat its schedule()): it never waited.
            if waking.pop(int(f["prev_pid"]), None) is not None:
                counts["woken_running"] += 1
            woke = waking.pop(int(f["next_pid"]), None)
            if woke is not None:
                kind, woke_on, woke_at = woke
                wait_us = (ns - woke_at) / 1000
                waits[kind].append(wait_us)
                if kind == "own_busy":
                    waits["moved" if cpu != woke_on else "stayed"].append(wait_us)
        elif event == "sched_waking" and f.get("comm") in names and f.get("target_cpu"):
            pid, target = int(f["pid"]), int(f["target_cpu"])
            there = running.get(cpu)
            if there is None:
                continue
            if target != cpu:
                kind = "other_cpu"
            elif there.startswith(trace_lateness.IDLE):
                kind = "own_idle"
            elif there in names:
                kind = "own_game"
            else:
                kind = "own_busy"
            counts[kind] += 1
            if pid in waking:
                counts["woken_again"] += 1
            waking[pid] = (kind, cpu, ns)
            if kind == "own_busy":
                busy_with[there] += 1
    result = dict(counts, moved=len(waits["moved"]), lost_events=lost[0],
                  own_busy_with=dict(busy_with.most_common(8)))
    for key, values in waits.items():
        result[f"{key}_wait_p50_us"] = trace_lateness.percentile(values, 0.5)
        result[f"{key}_wait_p99_us"] = trace_lateness.percentile(values, 0.99)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("trace")
    ap.add_argument("--threads", default="render,logic,audio", help="comms of the threads followed")
    args = ap.parse_args()
    try:
        with open(args.trace, errors="replace") as lines:
            result = analyse(lines, args.threads.split(","))
    except OSError as e:
        sys.exit(f"trace_moves: {e}")
    if not any(result[kind] for kind in KINDS):
        sys.exit(f"trace_moves: no wakeup of {args.threads} in {args.trace} (sched_waking with "
                 "target_cpu, after a sched_switch on its CPU)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
