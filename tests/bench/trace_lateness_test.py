#!/usr/bin/python3
"""Host tests of bench/trace_lateness.py on hand-written ftrace lines: how a period's lateness
splits into the timer's part and the scheduler's, and what it names as the cause."""
import json
import subprocess
import sys
import tempfile
import unittest

from ftrace_lines import bench_tool, line

SCRIPT, trace_lateness = bench_tool("trace_lateness")


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
        # CPU 0 runs a game thread, CPU 1 its idle task, as audio's timer fires on CPU 0.
        lines = [switch(0, 1, "bash", 5, "S", "logic", 21)] + period(
            10_000, 10_010, 12_000, cpu=1, running="swapper/1", running_pid=0, wake_cpu=0)
        out = self.analyse(lines)
        self.assertEqual(out["worst"][0]["idle_at_wake"], [1])
        self.assertEqual(out["worst"][0]["waking_cpu"], 0)
        self.assertEqual(out["worst"][0]["target_cpu"], 1)
        self.assertEqual(out["late_moved"], 1)

    def test_preemptions_of_the_thread_are_counted_by_who_took_its_cpu(self):
        lines = period(10_000, 10_010, 10_020) + [
            switch(0, 10_100, "audio", 30, "R+", "render", 20)]
        self.assertEqual(self.analyse(lines)["preempted_by"], {"render": 1})

    def test_another_threads_timer_does_not_fire_this_ones_period(self):
        lines = period(10_000, 10_010, 10_020)
        # Between audio's own expiry and its wakeup, another timer expires later.
        lines.insert(3, line("render", 20, 0, 10_011, "hrtimer_expire_entry",
                             "hrtimer=00000000ffff0002 function=hrtimer_wakeup now=10011000"))
        self.assertEqual(self.analyse(lines)["fire_p50_us"], 10)

    def test_another_threads_wakeup_does_not_wake_this_one(self):
        lines = period(10_000, 10_010, 12_000)
        # render woken between audio's timer and audio's own wakeup: not audio's.
        lines.insert(3, line("logic", 21, 0, 10_005, "sched_waking",
                             "comm=render pid=20 prio=120 target_cpu=000"))
        self.assertEqual(self.analyse(lines)["wake_to_run_p50_us"], 1989)

    def test_a_namesake_is_counted_not_followed(self):
        lines = period(10_000, 10_010, 10_020)
        # A second "audio" (another game) arms, fires and runs: none of it is this thread's.
        lines += [
            line("audio", 40, 1, 10_100, "hrtimer_start",
                 "hrtimer=00000000abcd0009 function=hrtimer_wakeup expires=30050000 "
                 "softexpires=30000000 mode=ABS was_armed=0"),
            switch(1, 10_101, "audio", 40, "S", "swapper/1", 0),
            line("swapper/1", 0, 1, 35_000, "hrtimer_expire_entry",
                 "hrtimer=00000000abcd0009 function=hrtimer_wakeup now=35000000"),
            line("swapper/1", 0, 1, 35_001, "sched_waking",
                 "comm=audio pid=40 prio=120 target_cpu=001"),
            switch(1, 35_002, "swapper/1", 0, "R", "audio", 40),
        ]
        out = self.analyse(lines)
        self.assertEqual(out["pid"], 30)
        self.assertEqual(out["periods"], 1)
        self.assertEqual(out["other_threads"], 1)
        # Asked for by pid, the other one is followed.
        other = trace_lateness.analyse(lines, "audio", pid=40)
        self.assertEqual(other["periods"], 1)
        self.assertEqual(other["late_p50_us"], 5002)

    def test_names_with_spaces_and_a_forgotten_name_still_match(self):
        lines = [l.replace("comm=audio ", "comm=Audio Thread ")
                  .replace("next_comm=audio ", "next_comm=Audio Thread ")
                  .replace("prev_comm=audio ", "prev_comm=Audio Thread ")
                 for l in period(10_000, 10_300, 12_300)]
        # tracefs printed "<...>" for the task that armed the timer: its pid, known from the
        # thread's earlier start, still says who.
        lines[0] = lines[0].replace("audio-30", "<...>-30")
        lines[1] = lines[1].replace("audio-30", "Audio Thread-30")
        lines.insert(0, switch(0, 5_000, "swapper/0", 0, "R", "Audio Thread", 30))
        out = trace_lateness.analyse(lines, "Audio Thread")
        self.assertEqual(out["periods"], 1)
        self.assertEqual(out["late_p50_us"], 2300)

    def test_a_trace_on_another_clock_is_refused(self):
        for now in ("now=99010000", "now=12010000", "now=5010000000"):
            lines = period(10_000, 10_010, 10_020)
            lines[2] = lines[2].replace("now=10010000", now)
            with self.assertRaises(trace_lateness.TraceError, msg=now):
                self.analyse(lines)

    def test_a_timer_logged_late_on_its_own_clock_is_accepted(self):
        # The interrupt read "now" 1.9 ms before its line was stamped (seen under TCG).
        lines = period(10_000, 12_000, 12_500)
        lines[2] = lines[2].replace("now=12000000", "now=10100000")
        self.assertEqual(self.analyse(lines)["fire_p50_us"], 100)

    def test_lost_events_are_reported(self):
        lines = ["CPU:0 [LOST 17 EVENTS]\n"] + period(10_000, 10_010, 10_020)
        self.assertEqual(self.analyse(lines)["lost_events"], 17)

    def test_percentiles_are_nearest_rank_as_the_games_own(self):
        lines = []
        for i, late in enumerate([100, 200, 300, 400]):
            due = 10_000 * (i + 1)
            lines += period(due, due + 10, due + late)
        out = self.analyse(lines)
        # bench/percentile.h: index round(q * (n - 1)); p50 of 4 is the third, p99 the last.
        self.assertEqual(out["late_p50_us"], 300)
        self.assertEqual(out["late_p99_us"], 400)

    def test_the_worst_come_first_and_only_as_many_as_asked(self):
        lines = []
        for i, late in enumerate([1500, 3000, 2000]):
            due = 10_000 * (i + 1)
            lines += period(due, due + 10, due + late)
        out = self.analyse(lines, worst=2)
        self.assertEqual([w["total_us"] for w in out["worst"]], [3000, 2000])

    def test_the_command_prints_the_summary_as_json(self):
        with tempfile.NamedTemporaryFile("w", suffix=".txt") as trace:
            trace.writelines(period(10_000, 10_300, 12_300))
            trace.flush()
            run = subprocess.run([sys.executable, SCRIPT, trace.name, "--thread", "audio"],
                                 capture_output=True, text=True)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(json.loads(run.stdout)["late_p50_us"], 2300)

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
