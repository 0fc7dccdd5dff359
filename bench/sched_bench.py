#!/usr/bin/env python3
"""The scheduler benchmark, run inside the test VM on the real kernel: every scenario under
the kernel's default scheduler (EEVDF), scx_simple, the peers gamers run (scx_bpfland,
scx_lavd, scx_cake: bench/peers/) and framepace, interleaved (each repetition rotates the
order), all in one boot. Writes every raw figure as one JSON document.

    sched_bench.py --out FILE --scx-simple PATH --tools DIR [--peers DIR] [--smoke] [--reps N]
                   [--schedulers NAME,NAME...] [--idle-pairs N] [--watch-pauses]

--peers DIR holds bench/peers/'s loaders; every loader found there is run, and one that fails
to attach fails the benchmark. Without it the peers are left out and the document says so.
--schedulers runs only the named ones (eevdf, scx_simple, scx_bpfland, scx_lavd, scx_cake,
framepace), for a quick comparison while working on one of them; the document lists them.

Scenarios, per scheduler and repetition:
  idle_wakeup     cyclictest (SCHED_OTHER, 1 ms interval) on an idle system
  idle_game       the synthetic game alone on the idle system; under EEVDF this is "the
                  limit": the game's own unloaded behaviour
  exec_burst_game the same game on the idle system while a short program (python3 -c pass)
                  is started every 0.5 s: a desktop's background (a notification, a shell
                  prompt, a tray applet's poll); "bursts" says how many were started (over
                  every attempt: see the machine's pauses below)
  game            the synthetic game (framepace-bench-game, launched as a Steam game) under
                  2 CPU hogs per vCPU plus a fork/exec loop
  undetected_game the same game under the same load, launched without Steam's environment (as
                  a native game or another launcher would start it): no rule names it
  input           uinput key presses under the same load: write() to the reader running
  yield_limiter   a game's frame limiter (Steam's environment; 60 frames a second, 2 ms of
                  work each) that sleeps until 2 ms before each frame and spins on
                  sched_yield() for the rest, under the same load: how late frames start
  yield_handover  on the idle system, a worker doing 300 ms of CPU work while 2 threads per
                  vCPU spin on sched_yield() until it is done (a job system's spin-wait): its
                  wall time over its CPU time
  loaded_wakeup   cyclictest under the same load
  messaging       `perf bench sched messaging` run time
  hackbench       rt-tests' hackbench run time
  callbacks       mean ns per struct_ops callback (kernel.bpf_stats_enabled) during the two
                  throughput runs (sched_ext schedulers only); "programs" holds every one of the
                  scheduler's programs that ran then, the tracing ones (exec/exit tracepoints,
                  input_event fentry/fexit) included. bpf_stats is on only for these two runs:
                  it taxes the sched_ext schedulers, not EEVDF.
  background      what the load got done while the game, input and loaded-wakeup scenarios
                  ran: the hogs' CPU time per second and the fork loop's execs per second, so
                  a policy that starves background work shows its cost.

Idle pairs, after the repetitions (when both EEVDF and framepace run): the two idle scenarios
(idle_wakeup, idle_game) under EEVDF and framepace in turn, a fresh start of each, for
--idle-pairs pairs, the first of each pair alternating ("idle_pairs" in the document). In
this VM the idle figures of one scheduler differ between repetitions by more than the 5 %
the idle targets allow; what drifts in the host moves both of a pair alike, so the report
compares them pair by pair.

framepace's own counters (GetStats) are read around each phase of its runs (idle,
exec_bursts, loaded, throughput; "framepace_counters": what moved in each), and the roles it
gave the undetected game's threads are read while that game runs ("undetected_roles"): the
reasons behind its figures.

Each sched_ext scheduler's run is checked to have stayed attached throughout: the kernel's
enable_seq must not move between its start and its stop (an ejection and reload would). A
peer's own counters (its .bss, printed by its loader) are read after the settle time and after
the run: "peer_counters" lists which of them moved, the proof that it really scheduled.
The machine's own pauses (--watch-pauses, off by default): the host of this project's VM now
and then stops for ~100 ms, under every scheduler, and one such stop makes a dozen frames late
and raises a game run's p99. With the option every game run has
framepace-bench-pauses beside it (a SCHED_FIFO 99 thread per vCPU, which no scheduler under
test holds off by scheduling; such a wakeup is, as a rule, a vCPU or the whole machine
stopped); a run during which one of them woke 30 ms or more late is run again, up to 3
attempts. "paused_runs" keeps what was given up, "pauses" the kept run's own (empty
unless all three paused). Off by default because the watchers are not neutral: their 50
real-time wakeups a second per vCPU take the CPU from every scheduler's tasks, and in the
first full run with them the kernel ejected scx_lavd in all three repetitions (a CPU hog the
load had just started not run for 31-43 s), where without them it was ejected in one
repetition of some full runs and in none of others. Nor were the pauses spread evenly over
the runs under load (1 of 7 attempts paused under framepace, 11 of 14 in scx_lavd's runs, 7 of
those after its ejection): they cluster in time, or follow what the guest does; if the latter,
a retry hides a cost a scheduler causes.
Order: each repetition takes the next row of a Williams design, so over 2n repetitions every
scheduler follows every other equally often (over fewer, as evenly as the rows allow).
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

# The peers: benchmark name -> (loader in --peers DIR, ops name). Their struct_ops programs
# are named after the ops name (bpfland_enqueue, lavd_running, cake_stopping...).
PEERS = {"scx_bpfland": ("bpfland_loader", "bpfland"),
         "scx_lavd": ("lavd_loader", "lavd"),
         "scx_cake": ("cake_loader", "cake")}
CALLBACKS = ["select_cpu", "enqueue", "dispatch", "running", "stopping"]
# Programs of each scheduler, by name prefix: struct_ops callbacks and tracing programs.
PROG_PREFIXES = {"framepace": ["framepace_", "on_exec", "on_exit", "on_input_event"],
                 "scx_simple": ["simple_"],
                 **{name: [ops + "_"] for name, (_, ops) in PEERS.items()}}
OPS_NAMES = {"framepace": "framepace", "scx_simple": "simple",
             **{name: ops for name, (_, ops) in PEERS.items()}}
STATE = "/sys/kernel/sched_ext/state"
# After a scheduler starts (framepaced scans /proc and logs; the previous run's load has just
# ended), every scheduler gets the same quiet time before anything is measured.
SETTLE_S = 3
OPS = "/sys/kernel/sched_ext/root/ops"
ENABLE_SEQ = "/sys/kernel/sched_ext/enable_seq"
FRAMEPACE_ADDR = "/run/framepace/io.framepace.Scheduler"


def williams_orders(names):
    """Rows of a Williams design: every name follows every other equally often over all rows
    (n rows for even n, 2n for odd n)."""
    n = len(names)
    first, lo, hi = [0], 1, n - 1
    while len(first) < n:
        first.append(lo)
        lo += 1
        if len(first) < n:
            first.append(hi)
            hi -= 1
    rows = [[(i + k) % n for i in first] for k in range(n)]
    if n % 2:
        rows += [list(reversed(r)) for r in rows]
    # Taken in the order that keeps any prefix as even as it can be (a run of fewer repetitions
    # than rows): next is the row whose pairs have followed each other least so far.
    ordered, seen = [], {}
    while rows:
        def worst(row):
            return max(seen.get(pair, 0) for pair in zip(row, row[1:]))
        row = min(rows, key=worst)
        rows.remove(row)
        ordered.append(row)
        for pair in zip(row, row[1:]):
            seen[pair] = seen.get(pair, 0) + 1
    return [[names[i] for i in r] for r in ordered]

# 500 key presses are 1,000 events: the p99 is the tenth slowest (with 100 presses it was the
# second, and one stray stall set a scheduler's figure).
FULL = dict(reps=3, game_s=20, keys=500, cyclic_s=10, messaging=["-g", "4", "-l", "200"],
            hackbench=["-g", "4", "-l", "200"], limiter_frames=300, idle_pairs=6)
SMOKE = dict(reps=1, game_s=2, keys=10, cyclic_s=1, messaging=["-g", "2", "-l", "20"],
             hackbench=["-g", "2", "-l", "20"], limiter_frames=30, idle_pairs=1)
# The schedulers of the idle pairs: the idle targets are framepace's against EEVDF's.
IDLE_PAIR = ["eevdf", "framepace"]


def progress(text):
    line = f"bench: {text}"
    print(line, file=sys.stderr, flush=True)
    try:
        with open("/dev/console", "w") as console:
            console.write(line + "\n")
    except OSError:
        pass


CLOCKSOURCE = "/sys/devices/system/clocksource/clocksource0/current_clocksource"


def read(path, default=""):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def wait_until(predicate, timeout_s):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


class Scheduler:
    """Starts and stops one scheduler: EEVDF (no sched_ext), framepace (its units), scx_simple
    or a peer (their loaders, run as child processes)."""

    def __init__(self, name, command=None):
        self.name = name
        self.command = command
        self.proc = None
        self.lines = []  # a peer loader's stdout: "attached", then one JSON line per dump
        self.stderr_path = f"/run/fp-bench-{name}.err"

    def start(self):
        seq_before = read(ENABLE_SEQ)
        if self.name == "framepace":
            subprocess.run(["systemctl", "start", "framepaced.socket", "framepaced.service"], check=True)
        elif self.name != "eevdf":
            self.lines = []
            with open(self.stderr_path, "w") as err:
                self.proc = subprocess.Popen([self.command], stdout=subprocess.PIPE, stderr=err,
                                             text=True)
            threading.Thread(target=self._read_stdout, args=(self.proc,), daemon=True).start()
        # A peer sets up its topology and arena before it attaches: slower under TCG. The kernel
        # shows a scheduler enabled before it counts the enable: seen through sysfs alone
        # (scx_simple), enable_seq could still read the count before it (a smoke run saw
        # 25 at its start and 26 at its end, with one enable in the journal), and the run
        # then failed as re-attached.
        counted = lambda: self.name == "eevdf" or read(ENABLE_SEQ) != seq_before
        if not wait_until(lambda: self.attached() and counted(), 60):
            why = ""
            if self.proc and self.proc.poll() is not None:
                why = f"; its loader exited {self.proc.returncode}: {read(self.stderr_path)[-600:]}"
            self.stop()
            raise RuntimeError(f"{self.name} did not start (state {read(STATE)}, ops {read(OPS)}, "
                               f"enable_seq {seq_before} -> {read(ENABLE_SEQ)}){why}")

    def _read_stdout(self, proc):
        for line in proc.stdout:
            self.lines.append(line.strip())

    def attached(self):
        if self.name == "eevdf":
            return read(STATE, "disabled") == "disabled"
        if self.name in PEERS and "attached" not in self.lines:
            return False
        return read(STATE) == "enabled" and read(OPS) == OPS_NAMES[self.name]

    def counters(self):
        """A peer's own counters, as its loader prints them on SIGUSR1 (None for the others or
        when the loader has gone)."""
        if self.name not in PEERS or self.proc.poll() is not None:
            return None
        seen = len(self.lines)
        self.proc.send_signal(signal.SIGUSR1)
        # The loader takes signals once a second (sigtimedwait).
        if not wait_until(lambda: any(line.startswith("{") for line in self.lines[seen:]), 10):
            return None
        return json.loads(next(line for line in self.lines[seen:] if line.startswith("{")))["counters"]

    def stop(self):
        """Stops it; returns why a peer's loader ended on its own, if it did."""
        if self.name == "framepace":
            subprocess.run(["systemctl", "stop", "framepaced.service", "framepaced.socket"], check=False)
        exited_early = None
        if self.proc:
            if self.proc.poll() is not None:
                exited_early = f"exit status {self.proc.returncode}: {read(self.stderr_path)[-400:]}"
            self.proc.send_signal(signal.SIGINT if self.name == "scx_simple" else signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        wait_until(lambda: read(STATE, "disabled") == "disabled", 20)
        return exited_early


def flatten(value, path=""):
    """{"a": {"b": [1, 2]}} -> {"a.b.0": 1, "a.b.1": 2}: counters compared leaf by leaf."""
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in flatten(item, f"{path}{key}.").items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in flatten(item, f"{path}{i}.").items()}
    return {path.rstrip("."): value}


def counters_moved(before, after):
    """The counters (leaf paths) whose values differ between two dumps."""
    if before is None or after is None:
        return []
    a, b = flatten(before), flatten(after)
    return sorted(k for k in b if a.get(k) != b[k])


class Load:
    """Two CPU hogs per vCPU and a fork/exec loop: the background of a game on a busy desktop.
    progress() says what it got done: the hogs' CPU time per second (from schedstat) and the
    fork loop's execs per second (it counts them and writes the count on SIGTERM)."""

    def __init__(self):
        self.hogs = []
        self.forker = None
        self.count_file = f"/run/fp-bench-forks.{os.getpid()}"

    def __enter__(self):
        for _ in range(2 * os.cpu_count()):
            self.hogs.append(subprocess.Popen(["bash", "-c", "while :; do :; done"]))
        self.forker = subprocess.Popen(
            ["bash", "-c", f'n=0; trap \'echo $n >{self.count_file}; exit 0\' TERM; '
                           'while :; do /bin/true; n=$((n + 1)); done'])
        time.sleep(1)
        self.mark()
        return self

    def hog_cpu_ns(self):
        total = 0
        for p in self.hogs:
            total += int(read(f"/proc/{p.pid}/schedstat", "0").split()[0])
        return total

    def mark(self):
        self.t0, self.cpu0 = time.monotonic(), self.hog_cpu_ns()

    def progress(self):
        seconds = time.monotonic() - self.t0
        cpu_s = (self.hog_cpu_ns() - self.cpu0) / 1e9
        self.forker.send_signal(signal.SIGTERM)
        self.forker.wait()
        execs = int(read(self.count_file, "0") or 0)
        os.unlink(self.count_file)
        return {"seconds": round(seconds, 2), "hog_cpu_per_s": round(cpu_s / seconds, 3),
                "execs_per_s": round(execs / seconds, 1)}

    def __exit__(self, *exc):
        if self.forker.poll() is None:
            self.forker.kill()
            self.forker.wait()
        for p in self.hogs:
            p.kill()
        for p in self.hogs:
            p.wait()


def cyclictest(seconds):
    """Wakeup latency of a SCHED_OTHER thread on a 1 ms timer, from cyclictest's histogram."""
    out = subprocess.run(["cyclictest", "-q", "-m", "--policy=other", "-t", "1", "-i", "1000",
                          "-D", str(seconds), "-h", "50000"],
                         capture_output=True, text=True, check=True).stdout
    buckets = []
    for line in out.splitlines():
        m = re.match(r"^(\d+)\s+(\d+)\s*$", line)
        if m:
            buckets.append((int(m.group(1)), int(m.group(2))))
    total = sum(n for _, n in buckets)
    overflow = int(re.search(r"# Histogram Overflows:\s*(\d+)", out).group(1)) if "Overflows" in out else 0
    max_us = int(re.search(r"# Max Latencies:\s*(\d+)", out).group(1))

    def pct(p):
        want, seen = p * (total + overflow), 0
        for us, n in buckets:
            seen += n
            if seen >= want:
                return us
        return max_us
    return {"samples": total + overflow, "p50_us": pct(0.5), "p99_us": pct(0.99), "max_us": max_us}


def timed_seconds(cmd, pattern):
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    m = re.search(pattern, out.stdout + out.stderr)
    if not m:
        raise RuntimeError(f"{cmd[0]}: no run time in its output: {out.stdout[-300:]}")
    return float(m.group(1))


def prog_stats(tools, prefixes):
    stats = {}
    for prefix in prefixes:
        out = subprocess.run([f"{tools}/framepace-vm-probe", "prog-stats", prefix],
                             capture_output=True, text=True, check=True).stdout
        stats.update(json.loads(out))
    return stats


def program_costs(before, after):
    """Calls and mean ns per call of every program that ran between two prog-stats readings."""
    costs = {}
    for name, now in after.items():
        then = before.get(name, {"run_cnt": 0, "run_time_ns": 0})
        calls = now["run_cnt"] - then["run_cnt"]
        if calls > 0:
            costs[name] = {"calls": calls,
                           "mean_ns": (now["run_time_ns"] - then["run_time_ns"]) / calls}
    return costs


def callback_costs(programs, prefix):
    """The struct_ops callbacks among programs (names are cut to 15 characters by the kernel)."""
    costs = {}
    for name, cost in programs.items():
        rest = name[len(prefix):] if name.startswith(prefix) else ""
        callback = next((c for c in CALLBACKS if rest and c.startswith(rest)), None)
        if callback:
            costs[callback] = cost
    return costs


def launch_env(steam):
    """The environment of a load launched as a Steam game (SteamAppId set) or as a program no
    rule names (no Steam variable at all, whatever the benchmark itself was started with)."""
    env = {k: v for k, v in os.environ.items() if k not in ("SteamAppId", "SteamGameId")}
    if steam:
        env["SteamAppId"] = "480"
    return env


class MachinePauses:
    """framepace-bench-pauses for the length of the block: a SCHED_FIFO 99 thread per vCPU on a
    20 ms grid. pauses lists each wakeup that came PAUSE_MS or more late, {"cpu", "at_ns",
    "late_ns"}: the vCPU was given no time at all then, which no scheduler under test does by
    scheduling (they never run ahead of a real-time task); the emulator or its host stopped
    (whether a guest's work makes that more frequent is open: see the top)."""

    PAUSE_MS = 30

    def __init__(self, tools):
        self.command = [f"{tools}/framepace-bench-pauses", str(self.PAUSE_MS)]
        self.pauses = []

    def __enter__(self):
        self.proc = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ready = self.proc.stdout.readline()
        if "ready" not in ready:
            self.proc.kill()
            _, err = self.proc.communicate()
            raise RuntimeError(f"framepace-bench-pauses did not start: {err[-300:]}")
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        return self

    def _read(self):
        for line in self.proc.stdout:
            self.pauses.append(json.loads(line))

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait()
        self.reader.join()
        self.proc.stdout.close()
        self.proc.stderr.close()


GAME_ATTEMPTS = 3
WATCH_PAUSES = False  # --watch-pauses


def game(tools, seconds, steam, midway=None):
    """One run of the synthetic game: as a Steam launch (SteamAppId set) or as a game no rule
    names (no Steam variable at all, whatever the benchmark itself was started with).
    midway(pid), if given, is called halfway through; its result comes back second.
    With WATCH_PAUSES (--watch-pauses; see the top), a run during which the machine paused
    (MachinePauses) is run again, up to GAME_ATTEMPTS in all, under every scheduler: a 100 ms
    stop makes a dozen frames late and raises a 20 s run's p99. The runs given up stay in
    raw.json ("paused_runs": their pauses and render figures); "pauses" holds the kept run's
    own, empty unless every attempt paused."""
    if not WATCH_PAUSES:
        return game_once(tools, seconds, steam, midway)
    given_up = []
    while True:
        with MachinePauses(tools) as watch:
            figures, seen = game_once(tools, seconds, steam, midway)
        figures["pauses"] = watch.pauses
        if not watch.pauses or len(given_up) + 1 == GAME_ATTEMPTS:
            figures["paused_runs"] = given_up
            return figures, seen
        progress(f"the machine paused {len(watch.pauses)} times during the game "
                 f"(longest {max(p['late_ns'] for p in watch.pauses) / 1e6:.0f} ms): running it again")
        render = figures["render"]
        given_up.append({"pauses": watch.pauses, "render_late_p99_us": render["late_p99_us"],
                         "render_missed": render["missed"], "audio_late_p99_us": figures["audio"]["late_p99_us"]})


def game_once(tools, seconds, steam, midway):
    proc = subprocess.Popen([f"{tools}/framepace-bench-game", str(seconds), "1000"],
                            env=launch_env(steam), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = None
    if midway:
        time.sleep(seconds / 2)
        seen = midway(proc.pid)
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"framepace-bench-game exited {proc.returncode}: {err[-300:]}")
    return json.loads(out), seen


class ExecBursts:
    """A short-lived program started every half second, one at a time, until the block ends;
    count says how many ran. A start that failed ends the bursts and is raised as the block
    ends: a game that ran without them must not count as one that ran with them."""

    def __init__(self):
        self.count = 0
        self.error = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        try:
            while not self.stop.is_set():
                subprocess.run(["python3", "-c", "pass"], check=True)
                self.count += 1
                self.stop.wait(0.5)
        except (OSError, subprocess.SubprocessError) as e:
            self.error = e

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, exc_type, *exc):
        self.stop.set()
        self.thread.join()
        if self.error is not None and exc_type is None:
            raise RuntimeError(f"exec bursts stopped after {self.count}: {self.error}") from self.error


def yield_spin(tools, args, steam=False):
    """One run of framepace-vm-yield-spin (spin-waits on sched_yield()): its JSON."""
    out = subprocess.run([f"{tools}/framepace-vm-yield-spin"] + [str(a) for a in args], env=launch_env(steam),
                         capture_output=True, text=True, check=True, timeout=120).stdout
    return json.loads(out)


def framepace_call(method, more=False):
    """A Varlink call to framepaced: its reply, or with more its replies as a list; None if it
    failed (the figures do not depend on it)."""
    out = subprocess.run(["varlinkctl", "call", "--json=short"] + (["--more"] if more else []) +
                         [FRAMEPACE_ADDR, f"io.framepace.Scheduler.{method}", "{}"],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        progress(f"framepace: {method} failed: {out.stderr.strip()[-200:]}")
        return None
    # --more prints each reply as a JSON text sequence record (RS-prefixed).
    replies = [json.loads(r) for r in out.stdout.replace("\x1e", "\n").splitlines() if r.strip()]
    if more:
        return replies
    return replies[0] if replies else None


def framepace_roles(pid):
    """What framepace made of a process's threads (role and behaviour, by thread name), and how
    many of all its tasks have each role."""
    replies = framepace_call("ListTasks", more=True)
    if not replies:
        return None
    tasks = [t for r in replies for t in r["tasks"]]
    roles = {}
    for t in tasks:
        roles[t["role"]] = roles.get(t["role"], 0) + 1
    return {"threads": {t["comm"]: {k: t.get(k) for k in ("role", "avg_run_ns", "avg_wake_ns", "wake_dev_ns", "runs")}
                        for t in tasks if t["pid"] == pid and t["tid"] != pid},
            "tasks_by_role": roles}


def counter_phases(phases):
    """What moved in each phase, from the readings at its end: {phase: {counter: delta}}."""
    moved = {}
    for (_, before), (name, after) in zip(phases, phases[1:]):
        if before and after:
            moved[name] = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
    return moved


def framepace_counters():
    stats = framepace_call("GetStats")
    return stats["counters"] if stats else None


def idle_figures(name, cfg, tools):
    """The two idle scenarios: cyclictest, then the synthetic game alone."""
    progress(f"{name}: idle wakeup latency ({cfg['cyclic_s']} s)")
    figures = {"idle_wakeup": cyclictest(cfg["cyclic_s"])}
    progress(f"{name}: synthetic game on the idle system ({cfg['game_s']} s)")
    figures["idle_game"], _ = game(tools, cfg["game_s"], steam=True)
    return figures


def run_one(sched, cfg, tools):
    own = sched.name == "framepace"
    phases = [("start", framepace_counters())] if own else []
    figures = idle_figures(sched.name, cfg, tools)
    progress(f"{sched.name}: spin-waits on sched_yield() on the idle system")
    figures["yield_handover"] = yield_spin(tools, ["spin", 300, 2 * os.cpu_count(), -1])
    if own:
        phases.append(("idle", framepace_counters()))
    progress(f"{sched.name}: synthetic game on the idle system, a program started every 0.5 s "
             f"({cfg['game_s']} s)")
    with ExecBursts() as bursts:
        figures["exec_burst_game"], _ = game(tools, cfg["game_s"], steam=True)
    figures["exec_burst_game"]["bursts"] = bursts.count
    if own:
        phases.append(("exec_bursts", framepace_counters()))
    with Load() as load:
        progress(f"{sched.name}: synthetic game under load ({cfg['game_s']} s)")
        figures["game"], _ = game(tools, cfg["game_s"], steam=True)
        progress(f"{sched.name}: the same game, not launched by Steam, under load ({cfg['game_s']} s)")
        figures["undetected_game"], roles = game(tools, cfg["game_s"], steam=False,
                                                 midway=framepace_roles if own else None)
        if own:
            figures["undetected_roles"] = roles
        progress(f"{sched.name}: input to response under load ({cfg['keys']} keys)")
        out = subprocess.run([f"{tools}/framepace-vm-uinput", str(cfg["keys"]), "20"],
                             capture_output=True, text=True, check=True).stdout
        figures["input"] = json.loads(out)
        progress(f"{sched.name}: wakeup latency under load ({cfg['cyclic_s']} s)")
        figures["loaded_wakeup"] = cyclictest(cfg["cyclic_s"])
        progress(f"{sched.name}: a game's frame limiter on sched_yield() under load "
                 f"({cfg['limiter_frames']} frames)")
        figures["yield_limiter"] = yield_spin(
            tools, ["limiter", cfg["limiter_frames"], 16667, 2000, -1, 2000], steam=True)
        figures["background"] = load.progress()
    if own:
        phases.append(("loaded", framepace_counters()))
    prefixes = PROG_PREFIXES.get(sched.name)
    if prefixes:
        subprocess.run(["sysctl", "-q", "kernel.bpf_stats_enabled=1"], check=True)
        before = prog_stats(tools, prefixes)
    try:
        progress(f"{sched.name}: perf bench sched messaging, hackbench")
        figures["messaging_s"] = timed_seconds(["perf", "bench", "sched", "messaging"] + cfg["messaging"],
                                               r"Total time:\s*([0-9.]+)")
        figures["hackbench_s"] = timed_seconds(["hackbench"] + cfg["hackbench"], r"Time:\s*([0-9.]+)")
        if prefixes:
            figures["programs"] = program_costs(before, prog_stats(tools, prefixes))
            figures["callbacks"] = callback_costs(figures["programs"], prefixes[0])
    finally:
        subprocess.run(["sysctl", "-q", "kernel.bpf_stats_enabled=0"], check=False)
    if own:
        phases.append(("throughput", framepace_counters()))
        figures["framepace_counters"] = counter_phases(phases)
    figures["stayed_attached"] = sched.attached()
    return figures


def measured(sched, measure):
    """Starts sched, gives it the settle time, takes measure()'s figures and stops it. A
    scheduler ejected and reloaded meanwhile moved enable_seq: its figures are not its own,
    and the run fails rather than report them. Returns the figures and, for a peer whose
    loader ended on its own, why."""
    sched.start()
    seq0 = read(ENABLE_SEQ)
    time.sleep(SETTLE_S)
    try:
        figures = measure()
        seq1 = read(ENABLE_SEQ)
    finally:
        exited_early = sched.stop()
    if sched.name != "eevdf" and seq1 != seq0:
        raise RuntimeError(f"{sched.name} was re-attached during its run (enable_seq {seq0} -> {seq1})")
    figures["enable_seq"] = [seq0, seq1]
    return figures, exited_early


def idle_pairs(cfg, tools):
    """The idle pairs (see the top): [{"pair", "order", "eevdf": figures, "framepace": ...}]."""
    pairs = []
    for i in range(cfg["idle_pairs"]):
        order = IDLE_PAIR if i % 2 == 0 else list(reversed(IDLE_PAIR))
        pair = {"pair": i, "order": order}
        for name in order:
            progress(f"idle pair {i + 1}/{cfg['idle_pairs']}, {name}")
            sched = Scheduler(name)

            def measure():
                figures = idle_figures(name, cfg, tools)
                figures["stayed_attached"] = sched.attached()
                return figures
            pair[name], _ = measured(sched, measure)
        pairs.append(pair)
    return pairs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--scx-simple", required=True)
    ap.add_argument("--tools", required=True)
    ap.add_argument("--peers", help="folder of bench/peers' loaders")
    ap.add_argument("--peers-missing", help="why there are no peers (recorded in the document)")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--reps", type=int)
    ap.add_argument("--idle-pairs", type=int, help="idle pairs after the repetitions (0: none)")
    ap.add_argument("--schedulers", help="comma-separated: run only these")
    ap.add_argument("--watch-pauses", action="store_true",
                    help="run a game again after a pause of the machine (real-time watchers: see the top)")
    args = ap.parse_args()
    cfg = dict(SMOKE if args.smoke else FULL)
    if args.reps:
        cfg["reps"] = args.reps
    if args.idle_pairs is not None:
        cfg["idle_pairs"] = args.idle_pairs
    global WATCH_PAUSES
    WATCH_PAUSES = args.watch_pauses

    commands = {"scx_simple": args.scx_simple}
    peers_meta = {"folder": args.peers, "run": [], "missing": args.peers_missing}
    if args.peers:
        for name, (loader, _) in PEERS.items():
            path = os.path.join(args.peers, loader)
            if os.access(path, os.X_OK):
                commands[name] = path
                peers_meta["run"].append(name)
        if not peers_meta["run"]:
            sys.exit(f"sched_bench: no peer loader in {args.peers}")
        peers_meta["build"] = read(os.path.join(args.peers, "BUILD"))
    schedulers = ["eevdf", "scx_simple"] + peers_meta["run"] + ["framepace"]
    if args.schedulers:
        wanted = args.schedulers.split(",")
        unknown = [n for n in wanted if n not in schedulers]
        if unknown:
            sys.exit(f"sched_bench: --schedulers: {','.join(unknown)} not among {','.join(schedulers)}")
        schedulers = [n for n in schedulers if n in wanted]
        peers_meta["run"] = [n for n in peers_meta["run"] if n in wanted]

    subprocess.run(["sysctl", "-q", "kernel.bpf_stats_enabled=0"], check=True)
    runs = []
    started = time.monotonic()
    clocksource = [read(CLOCKSOURCE)]
    orders = williams_orders(schedulers)
    for rep in range(cfg["reps"]):
        for name in orders[rep % len(orders)]:
            progress(f"repetition {rep + 1}/{cfg['reps']}, {name} "
                     f"({time.monotonic() - started:.0f} s so far)")
            sched = Scheduler(name, commands.get(name))
            counters = []

            def measure():
                counters.append(sched.counters())
                figures = run_one(sched, cfg, args.tools)
                counters.append(sched.counters())
                return figures
            figures, exited_early = measured(sched, measure)
            if name in PEERS:
                moved = counters_moved(*counters)
                figures["peer_counters"] = {"moved": moved, "before": counters[0], "after": counters[1]}
                if exited_early:
                    figures["loader_exit"] = exited_early
                progress(f"{name}: {len(moved)} of its counters moved during the run")
            runs.append({"rep": rep, "scheduler": name, **figures})
    pairs = idle_pairs(cfg, args.tools) if all(n in schedulers for n in IDLE_PAIR) else []
    # The clocksource at the start and the end: a switch (the kernel's watchdog gives up on
    # the TSC) changes what every clock read costs from then on.
    clocksource.append(read(CLOCKSOURCE))
    doc = {"meta": {"kernel": os.uname().release, "vcpus": os.cpu_count(),
                    "clocksource": clocksource,
                    "date": time.strftime("%Y-%m-%d"), "smoke": args.smoke, "reps": cfg["reps"],
                    "schedulers": schedulers, "peers": peers_meta,
                    "scx_simple": read(os.path.join(os.path.dirname(args.scx_simple), "VERSION")),
                    "game_s": cfg["game_s"], "settle_s": SETTLE_S, "idle_pairs": cfg["idle_pairs"],
                    "watch_pauses": WATCH_PAUSES, "seconds": round(time.monotonic() - started)},
           "runs": runs, "idle_pairs": pairs}
    with open(args.out, "w") as f:
        json.dump(doc, f)
    progress(f"done in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
