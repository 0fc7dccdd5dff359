#!/usr/bin/env python3
"""Where a periodic thread's late periods lost their time, from an ftrace text dump.

    trace_lateness.py TRACE --thread NAME [--pid PID] [--late-us N] [--worst N]

TRACE is /sys/kernel/tracing/trace as text, recorded with trace_clock "mono" and the events
sched_waking, sched_wakeup, sched_switch, hrtimer_start and hrtimer_expire_entry (the recipe is
in docs/testing.md, "Tracing a late thread"). NAME is the thread's comm: the synthetic game's
"render", "logic" or "audio" (bench/game_sim.cpp), or any thread that sleeps on an absolute
timer (clock_nanosleep): the time its period fell due is the soft expiry of the timer it armed.
One thread is followed: PID, or else the first of that name the trace switches to; how many
others had the name is reported ("other_threads").

Each period splits into
  fire        due time to the timer's interrupt (hrtimer_expire_entry): the kernel or, in a VM,
              the host was late; no scheduler changes it
  wake_to_run the wakeup (sched_waking) to the thread's switch-in: the scheduler's part
and for each period late by --late-us or more (default 1000):
  waking_cpu  where the wakeup ran (the timer interrupt's CPU), target_cpu the CPU it chose,
              ran_cpu where the thread started ("late_moved" counts ran_cpu != waking_cpu)
  ran_before  what ran on ran_cpu from the wakeup to the start, first what ran there as it
              woke (the last 64 switches on that CPU at most)
  idle_at_wake the CPUs that ran their idle task as it woke
Only periods the thread started are in the trace: game_sim.cpp's own lateness also counts the
periods it skipped after an overrun, so its p99 reads higher. Who preempted the thread while
it ran is counted too ("preempted_by"), and events the trace
lost ("lost_events": its figures are then incomplete). Prints one JSON object. Used to find
why framepace's idle audio was late (docs/benchmarks.md, "Audio behind game threads").
"""
import argparse
import collections
import json
import re
import sys

# The line prefix: task comm (may hold spaces and dashes), pid, CPU, flags (absent without
# options/irq-info), timestamp, event.
LINE = re.compile(r"^\s*(?P<task>.+?)-(?P<pid>\d+)\s+\[(?P<cpu>\d+)\]\s+(?:\S+\s+)?"
                  r"(?P<ts>\d+\.\d+): (?P<event>\w+): (?P<rest>.*)$")
SWITCH = re.compile(r"prev_comm=(?P<prev_comm>.*?) prev_pid=(?P<prev_pid>\d+) prev_prio=\S+ "
                    r"prev_state=(?P<prev_state>\S+) ==> next_comm=(?P<next_comm>.*?) "
                    r"next_pid=(?P<next_pid>\d+) next_prio=\S+")
WAKE = re.compile(r"comm=(?P<comm>.*?) pid=(?P<pid>\d+) prio=\S+(?: target_cpu=(?P<target_cpu>\d+))?")
FIELD = re.compile(r"(\w+)=(\S+)")
LOST = re.compile(r"LOST (\d+) EVENTS")
IDLE = "swapper/"
# A timer's "now" is read as its interrupt starts, so on the mono clock its line is stamped
# after it: under TCG up to 1.9 ms after, seen. A "now" ahead of its line by more than
# CLOCK_AHEAD_NS, or behind it by more than CLOCK_BEHIND_NS, is another clock's.
CLOCK_AHEAD_NS = 1_000_000
CLOCK_BEHIND_NS = 1_000_000_000


class TraceError(Exception):
    pass


def parse(lines, lost):
    """(ns, cpu, task comm, pid, event, fields) of each event line; lost[0] counts lost events."""
    for line in lines:
        m = LINE.match(line)
        if not m:
            dropped = LOST.search(line)
            if dropped:
                lost[0] += int(dropped.group(1))
            continue
        event, rest = m["event"], m["rest"]
        if event == "sched_switch":
            f = SWITCH.match(rest)
        elif event in ("sched_waking", "sched_wakeup"):
            f = WAKE.match(rest)
        else:
            f = None
        fields = f.groupdict() if f else dict(FIELD.findall(rest))
        yield (round(float(m["ts"]) * 1e9), int(m["cpu"]), m["task"], int(m["pid"]), event,
               fields)


def percentile(values, q):
    """Nearest rank, as bench/percentile.h (the game's own figures) takes it."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))])


class Thread:
    """One thread's periods as the trace shows them."""

    def __init__(self, name, pid):
        self.name = name
        self.pid = pid
        self.others = set()
        self.timer = None      # the hrtimer its last sleep armed
        self.pending = None    # the period under way: due, fired, waking...
        self.periods = []
        self.preempted_by = collections.Counter()

    def is_it(self, comm, pid):
        """Whether (comm, pid) is the thread followed; the first of its name is, without --pid."""
        if self.pid is not None:
            return pid == self.pid
        if comm != self.name:
            return False
        self.pid = pid
        return True

    def note_namesake(self, comm, pid):
        if comm == self.name and self.pid is not None and pid != self.pid:
            self.others.add(pid)

    def armed(self, fields):
        self.timer = fields.get("hrtimer")
        due = fields.get("softexpires", fields.get("expires"))
        self.pending = {"due": int(due)} if due is not None else None

    def fired(self, ns, fields):
        if self.pending is None or fields.get("hrtimer") != self.timer:
            return
        now = int(fields.get("now", ns))
        if now - ns > CLOCK_AHEAD_NS or ns - now > CLOCK_BEHIND_NS:
            raise TraceError(f"a timer's clock reads {(now - ns) / 1e6:+.1f} ms from the "
                             "trace's: record with trace_clock mono")
        self.pending["fired"] = now

    def waking(self, ns, cpu, running):
        if self.pending is not None:
            self.pending.update(waking=ns, waking_cpu=cpu,
                                idle_at_wake=sorted(c for c, comm in running.items()
                                                    if comm.startswith(IDLE)))

    def woken(self, fields):
        if self.pending is not None and fields.get("target_cpu") is not None:
            self.pending["target_cpu"] = int(fields["target_cpu"])

    def switched_in(self, ns, cpu, history):
        p = self.pending
        self.pending = None
        if p is None or "waking" not in p or "fired" not in p:
            return
        earlier = [comm for at, comm in history if at < p["waking"]]
        p.update(ran=ns, ran_cpu=cpu,
                 ran_before=earlier[-1:] + [comm for at, comm in history if at >= p["waking"]])
        self.periods.append(p)

    def summary(self, late_us, worst, lost):
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
        return {"thread": self.name, "pid": self.pid, "other_threads": len(self.others),
                "lost_events": lost, "periods": len(self.periods),
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


def analyse(lines, name, pid=None, late_us=1000, worst=8):
    """The summary of thread name (or pid) in the trace's lines; TraceError on a wrong clock."""
    thread = Thread(name, pid)
    lost = [0]
    running = {}  # cpu -> comm of what it switched to last
    history = collections.defaultdict(lambda: collections.deque(maxlen=64))
    for ns, cpu, task, task_pid, event, f in parse(lines, lost):
        if event == "sched_switch" and "next_pid" in f:
            comm, next_pid = f["next_comm"], int(f["next_pid"])
            running[cpu] = comm
            if f["prev_state"].startswith("R") and thread.pid == int(f["prev_pid"]):
                thread.preempted_by[comm] += 1
            if thread.is_it(comm, next_pid):
                thread.switched_in(ns, cpu, list(history[cpu]))
            else:
                thread.note_namesake(comm, next_pid)
            history[cpu].append((ns, comm))
        elif event == "hrtimer_start" and f.get("function") == "hrtimer_wakeup":
            # The task prefix may read "<...>" where tracefs forgot the name: its pid decides.
            if thread.is_it(task, task_pid):
                thread.armed(f)
        elif event == "hrtimer_expire_entry":
            thread.fired(ns, f)
        elif event in ("sched_waking", "sched_wakeup") and "pid" in f:
            if not thread.is_it(f["comm"], int(f["pid"])):
                continue
            if event == "sched_waking":
                thread.waking(ns, cpu, running)
            else:
                thread.woken(f)
    return thread.summary(late_us, worst, lost[0])


def non_negative(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("trace")
    ap.add_argument("--thread", required=True, help="the thread's comm")
    ap.add_argument("--pid", type=int, help="the thread's pid, where several share the name")
    ap.add_argument("--late-us", type=float, default=1000, help="a late period starts this late")
    ap.add_argument("--worst", type=non_negative, default=8,
                    help="how many of the most late periods to list")
    args = ap.parse_args()
    try:
        with open(args.trace, errors="replace") as trace:
            out = analyse(trace, args.thread, args.pid, args.late_us, args.worst)
    except (OSError, TraceError) as e:
        sys.exit(f"trace_lateness: {e}")
    if not out["periods"]:
        sys.exit(f"trace_lateness: no period of a thread named {args.thread!r} in {args.trace} "
                 "(were hrtimer_start, hrtimer_expire_entry, sched_waking and sched_switch on?)")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
