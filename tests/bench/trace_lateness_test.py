#!/usr/bin/python3
"""Host tests of bench/trace_lateness.py on hand-written ftrace lines: how a period's lateness
splits into the timer's part and the scheduler's, and what it names as the cause."""
import importlib.util
import os
import subprocess
import sys
import tempfile
import unittest

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench",
                      "trace_lateness.py")
spec = importlib.util.spec_from_file_location("trace_lateness", SCRIPT)
trace_lateness = importlib.util.module_from_spec(spec)
spec.loader.exec_module(trace_lateness)


def line(task, pid, cpu, us, event, rest):
    """One line as tracefs prints it (trace_clock mono: seconds with 6 decimals)."""
    return f"{task:>16}-{pid:<7} [{cpu:03d}] d..2. {us / 1e6:.6f}: {event}: {rest}\n"


def switch(cpu, us, prev, prev_pid, state, nxt, next_pid):
    return line(prev, prev_pid, cpu, us, "sched_switch",
                f"prev_comm={prev} prev_pid={prev_pid} prev_prio=120 prev_state={state} ==> "
                f"next_comm={nxt} next_pid={next_pid} next_prio=120")


def period(due_us, fire_us, run_us, cpu=0, running="render", running_pid=20, wake_cpu=None):
    """audio (pid 30) sleeping until due_us, its timer firing at fire_us on wake_cpu while
    `running` runs on cpu, audio switched in on cpu at run_us."""
    wake_cpu = cpu if wake_cpu is None else wake_cpu
    due_ns = due_us * 1000
    return [
        line("audio", 30, cpu, due_us - 2000, "hrtimer_start",
             f"hrtimer=00000000abcd0001 function=hrtimer_wakeup expires={due_ns + 50000} "
             f"softexpires={due_ns} mode=ABS was_armed=0"),
        switch(cpu, due_us - 1999, "audio", 30, "S", running, running_pid),
        line(running, running_pid, wake_cpu, fire_us, "hrtimer_expire_entry",
             f"hrtimer=00000000abcd0001 function=hrtimer_wakeup now={fire_us * 1000}"),
        line(running, running_pid, wake_cpu, fire_us + 1, "sched_waking",
             f"comm=audio pid=30 prio=120 target_cpu={cpu:03d}"),
        line(running, running_pid, wake_cpu, fire_us + 2, "sched_wakeup",
             f"comm=audio pid=30 prio=120 target_cpu={cpu:03d}"),
        switch(cpu, run_us, running, running_pid, "R", "audio", 30),
    ]


class Lateness(unittest.TestCase):
    def analyse(self, lines, **kw):
        return trace_lateness.analyse(lines, "audio", **kw)

    def test_a_period_splits_into_the_timers_part_and_the_schedulers(self):
        out = self.analyse(period(10_000, 10_300, 12_300))
        self.assertEqual(out["periods"], 1)
        self.assertEqual(out["fire_p50_us"], 300)
        self.assertEqual(out["wake_to_run_p50_us"], 1999)
        self.assertEqual(out["late_p50_us"], 2300)
        self.assertEqual(out["late"], 1)
        worst = out["worst"][0]
        self.assertEqual(worst["ran_before"], ["render"])
        self.assertEqual(out["late_ran_after"], {"render": 1})
        self.assertEqual(out["late_mostly_fire"], 0)
        # It preempted render: that is render's count, not audio's.
        self.assertEqual(out["preempted_by"], {})

    def test_a_late_timer_is_the_timers_not_the_schedulers(self):
        out = self.analyse(period(10_000, 12_000, 12_050))
        self.assertEqual(out["late_mostly_fire"], 1)
        self.assertEqual(out["worst"][0]["wake_to_run_us"], 49)

    def test_only_periods_late_by_the_bound_are_listed(self):
        lines = period(10_000, 10_050, 10_200) + period(20_000, 20_050, 22_000)
        out = self.analyse(lines, late_us=1000)
        self.assertEqual(out["periods"], 2)
        self.assertEqual(out["late"], 1)
        self.assertEqual(out["worst"][0]["total_us"], 2000)

    def test_what_ran_between_the_wakeup_and_the_start_is_named_in_order(self):
        lines = period(10_000, 10_010, 10_020)[:-1] + [
            switch(0, 10_500, "render", 20, "R", "logic", 21),
            switch(0, 13_000, "logic", 21, "S", "audio", 30),
        ]
        out = self.analyse(lines)
        self.assertEqual(out["worst"][0]["ran_before"], ["render", "logic"])
        self.assertEqual(out["late_ran_after"], {"logic": 1})

    def test_idle_cpus_and_a_move_are_reported(self):
        lines = [switch(1, 1, "bash", 5, "S", "swapper/1", 0)] + period(
            10_000, 10_010, 12_000, cpu=1, running="swapper/1", running_pid=0, wake_cpu=0)
        out = self.analyse(lines)
        self.assertEqual(out["worst"][0]["idle_at_wake"], [1])
        self.assertEqual(out["late_moved"], 1)

    def test_preemptions_of_the_thread_are_counted_by_who_took_its_cpu(self):
        lines = period(10_000, 10_010, 10_020) + [
            switch(0, 10_100, "audio", 30, "R+", "render", 20)]
        self.assertEqual(self.analyse(lines)["preempted_by"], {"render": 1})

    def test_another_threads_timer_neither_fires_nor_wakes_this_one(self):
        lines = period(10_000, 10_010, 10_020)
        lines.insert(2, line("render", 20, 0, 10_005, "hrtimer_expire_entry",
                             "hrtimer=00000000ffff0002 function=hrtimer_wakeup now=10005000"))
        self.assertEqual(self.analyse(lines)["fire_p50_us"], 10)

    def test_no_period_is_an_error_naming_the_events(self):
        with tempfile.NamedTemporaryFile("w", suffix=".txt") as trace:
            trace.write("# tracer: nop\n")
            trace.flush()
            run = subprocess.run([sys.executable, SCRIPT, trace.name, "--thread", "audio"],
                                 capture_output=True, text=True)
        self.assertEqual(run.returncode, 1)
        self.assertIn("no period of a thread named 'audio'", run.stderr)
        self.assertIn("hrtimer_start", run.stderr)

    def test_a_missing_trace_is_an_error_not_a_traceback(self):
        run = subprocess.run([sys.executable, SCRIPT, "/nonexistent/trace", "--thread", "audio"],
                             capture_output=True, text=True)
        self.assertEqual(run.returncode, 1)
        self.assertIn("trace_lateness:", run.stderr)
        self.assertNotIn("Traceback", run.stderr)


if __name__ == "__main__":
    unittest.main()
