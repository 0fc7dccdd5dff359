#!/usr/bin/env python3
"""Where a periodic thread's late periods lost their time, from an ftrace text dump.

    trace_lateness.py TRACE --thread NAME [--late-us N] [--worst N]

TRACE is /sys/kernel/tracing/trace as text, recorded with trace_clock "mono" and the events
sched_waking, sched_wakeup, sched_switch, hrtimer_start and hrtimer_expire_entry (the commands
are in docs/testing.md, "Tracing a late thread"). NAME is the thread's comm: the synthetic
game's "render", "logic" or "audio" (bench/game_sim.cpp), or any thread that sleeps on an
absolute timer (clock_nanosleep): the time its period fell due is the softexpires of the
timer it armed.

Each period splits into
  fire        due time to the timer's interrupt (hrtimer_expire_entry): the kernel or, in a VM,
              the host was late; no scheduler changes it
  wake_to_run the wakeup (sched_waking) to the thread's switch-in: the scheduler's part
and for each period late by --late-us or more (default 1000): the CPU it woke on, the CPU the
wakeup chose and the one it ran on, what ran on that CPU from its wakeup to its start (first
what ran there as it woke), and which CPUs were idle as it woke. Who preempted the thread while it ran is counted too.
Prints one JSON object. Used to find why framepace's idle audio was late (docs/benchmarks.md).
"""
import argparse
import collections
import json
import re
import sys

LINE = re.compile(r"^\s*(?P<task>.+?)-(?P<pid>\d+)\s+\[(?P<cpu>\d+)\]\s+\S+\s+"
                  r"(?P<ts>\d+\.\d+): (?P<event>\w+): (?P<rest>.*)$")
FIELD = re.compile(r"(\w+)=(\S+)")
IDLE = "swapper/"


def parse(lines):
    """(ns, cpu, task comm, event, fields) of each event line; other lines are skipped."""
    for line in lines:
        m = LINE.match(line)
        if not m:
            continue
        ns = round(float(m["ts"]) * 1e9)
        rest = m["rest"]
        if m["event"] == "sched_switch" and " ==> " in rest:
            prev, nxt = rest.split(" ==> ", 1)
            fields = {"prev": dict(FIELD.findall(prev)), "next": dict(FIELD.findall(nxt))}
        else:
            fields = dict(FIELD.findall(rest))
        yield ns, int(m["cpu"]), m["task"], m["event"], fields


def percentile(values, q):
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))])


class Thread:
    """One thread's periods as the trace shows them."""

    def __init__(self, name):
        self.name = name
        self.pid = None
        self.timer = None      # the hrtimer its last sleep armed
        self.pending = None    # the period under way: due, fired, waking...
        self.periods = []
        self.preempted_by = collections.Counter()

    def armed(self, fields):
        self.timer = fields.get("hrtimer")
        due = fields.get("softexpires", fields.get("expires"))
        self.pending = {"due": int(due)} if due is not None else None

    def fired(self, ns, fields):
        if self.pending is not None and fields.get("hrtimer") == self.timer:
            self.pending["fired"] = int(fields.get("now", ns))

    def waking(self, ns, cpu, running):
        if self.pending is not None:
            self.pending.update(waking=ns, waking_cpu=cpu,
                                idle_at_wake=sorted(c for c, comm in running.items()
                                                    if comm.startswith(IDLE)))

    def woken(self, fields):
        if self.pending is not None:
            self.pending["target_cpu"] = int(fields.get("target_cpu", -1))

    def switched_in(self, ns, cpu, ran_before):
        p = self.pending
        self.pending = None
        if p is None or "waking" not in p or "fired" not in p:
            return
        earlier = [comm for at, comm in ran_before if at < p["waking"]]
        p.update(ran=ns, ran_cpu=cpu,
                 ran_before=earlier[-1:] + [comm for at, comm in ran_before if at >= p["waking"]])
        self.periods.append(p)

    def summary(self, late_us, worst):
        fire = [(p["fired"] - p["due"]) / 1000 for p in self.periods]
        wake = [(p["ran"] - p["waking"]) / 1000 for p in self.periods]
        total = [(p["ran"] - p["due"]) / 1000 for p in self.periods]
        late = []
        for p, f, w, t in zip(self.periods, fire, wake, total):
            if t < late_us:
                continue
            late.append({"total_us": round(t), "fire_us": round(f), "wake_to_run_us": round(w),
                         "waking_cpu": p["waking_cpu"], "target_cpu": p.get("target_cpu", -1),
                         "ran_cpu": p["ran_cpu"], "ran_before": p["ran_before"],
                         "idle_at_wake": p["idle_at_wake"]})
        after = collections.Counter(l["ran_before"][-1] if l["ran_before"] else "(unknown)"
                                    for l in late)
        return {"thread": self.name, "periods": len(self.periods),
                "fire_p50_us": percentile(fire, 0.5), "fire_p99_us": percentile(fire, 0.99),
                "wake_to_run_p50_us": percentile(wake, 0.5),
                "wake_to_run_p99_us": percentile(wake, 0.99),
                "late_p50_us": percentile(total, 0.5), "late_p99_us": percentile(total, 0.99),
                "late": len(late),
                "late_mostly_fire": sum(1 for l in late if l["fire_us"] > l["wake_to_run_us"]),
                "late_moved": sum(1 for l in late if l["ran_cpu"] != l["waking_cpu"]),
                "late_ran_after": dict(after.most_common()),
                "preempted_by": dict(self.preempted_by.most_common()),
                "worst": sorted(late, key=lambda l: -l["total_us"])[:worst]}


def analyse(lines, name, late_us=1000, worst=8):
    thread = Thread(name)
    running = {}  # cpu -> comm of what it switched to last
    history = collections.defaultdict(lambda: collections.deque(maxlen=64))
    for ns, cpu, task, event, f in parse(lines):
        if event == "sched_switch":
            prev, nxt = f["prev"], f["next"]
            comm = nxt.get("next_comm", "")
            running[cpu] = comm
            if (prev.get("prev_comm") == name and prev.get("prev_state", "").startswith("R")
                    and (thread.pid is None or int(prev.get("prev_pid", -1)) == thread.pid)):
                thread.preempted_by[comm] += 1
            if comm == name and (thread.pid is None or int(nxt.get("next_pid", -1)) == thread.pid):
                thread.pid = int(nxt["next_pid"])
                thread.switched_in(ns, cpu, list(history[cpu]))
            history[cpu].append((ns, comm))
        elif event == "hrtimer_start" and task == name and f.get("function") == "hrtimer_wakeup":
            thread.armed(f)
        elif event == "hrtimer_expire_entry":
            thread.fired(ns, f)
        elif event == "sched_waking" and f.get("comm") == name:
            thread.waking(ns, cpu, running)
        elif event == "sched_wakeup" and f.get("comm") == name:
            thread.woken(f)
    return thread.summary(late_us, worst)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("trace")
    ap.add_argument("--thread", required=True, help="the thread's comm")
    ap.add_argument("--late-us", type=float, default=1000, help="a late period starts this late")
    ap.add_argument("--worst", type=int, default=8, help="how many of the latest to list")
    args = ap.parse_args()
    try:
        with open(args.trace, errors="replace") as trace:
            out = analyse(trace, args.thread, args.late_us, args.worst)
    except OSError as e:
        sys.exit(f"trace_lateness: {e}")
    if not out["periods"]:
        sys.exit(f"trace_lateness: no period of a thread named {args.thread!r} in {args.trace} "
                 "(were hrtimer_start, hrtimer_expire_entry, sched_waking and sched_switch on?)")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
