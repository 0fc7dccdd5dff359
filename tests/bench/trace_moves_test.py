#!/usr/bin/python3
"""Host tests of bench/trace_moves.py on hand-written ftrace lines: how a game thread's wakeup
is sorted by what its own CPU ran, and whether it moved."""
import json
import subprocess
import sys
import tempfile
import unittest

import ftrace_lines
from ftrace_lines import bench_tool

SCRIPT, trace_moves = bench_tool("trace_moves")


def line(task, pid, cpu, us, event, rest):
    """One line as tracefs prints it, from an interrupt (a timer's wakeup)."""
    return ftrace_lines.line(task, pid, cpu, us, event, rest, flags="d.h2.")


def switch(cpu, us, prev, prev_pid, nxt, next_pid, state="R"):
    return line(prev, prev_pid, cpu, us, "sched_switch",
                f"prev_comm={prev} prev_pid={prev_pid} prev_prio=120 prev_state={state} ==> "
                f"next_comm={nxt} next_pid={next_pid} next_prio=120")


def waking(cpu, us, running, running_pid, comm, pid, target):
    return line(running, running_pid, cpu, us, "sched_waking",
                f"comm={comm} pid={pid} prio=120 target_cpu={target:03d}")


# CPU 0 runs python3 (pid 100), CPU 1 is idle, from the start.
START = [switch(0, 10, "swapper/0", 0, "python3", 100), switch(1, 20, "swapper/1", 0, "swapper/1", 0)]


class Moves(unittest.TestCase):
    def test_a_wakeup_on_a_busy_own_cpu_that_stays(self):
        out = trace_moves.analyse(START + [waking(0, 1000, "python3", 100, "render", 50, 0),
                                           switch(0, 1150, "python3", 100, "render", 50)])
        self.assertEqual((out["own_busy"], out["moved"]), (1, 0))
        self.assertEqual(out["stayed_wait_p50_us"], 150)
        self.assertIsNone(out["moved_wait_p50_us"])

    def test_a_wakeup_on_a_busy_own_cpu_that_moves_to_the_idle_one(self):
        out = trace_moves.analyse(START + [waking(0, 1000, "python3", 100, "audio", 51, 0),
                                           switch(1, 4000, "swapper/1", 0, "audio", 51)])
        self.assertEqual((out["own_busy"], out["moved"]), (1, 1))
        self.assertEqual(out["moved_wait_p99_us"], 3000)

    def test_wakeups_sorted_by_what_their_cpu_ran(self):
        out = trace_moves.analyse(START + [
            waking(1, 1000, "swapper/1", 0, "audio", 51, 1),           # own CPU idle
            switch(1, 1010, "swapper/1", 0, "audio", 51),
            waking(1, 1050, "audio", 51, "logic", 52, 1),              # own CPU runs a game thread
            waking(1, 1060, "audio", 51, "render", 50, 0),             # from another CPU
            waking(0, 1070, "python3", 100, "sh", 200, 0),             # not a thread followed
        ])
        self.assertEqual([out[k] for k in trace_moves.KINDS], [1, 1, 1, 0])
        self.assertEqual(out["moved"], 0)
        self.assertEqual(out["own_idle_wait_p50_us"], 10)
        self.assertIsNone(out["own_game_wait_p50_us"])  # logic and render never started

    def test_what_ran_on_the_busy_cpu_is_named(self):
        out = trace_moves.analyse(START + [waking(0, 1000, "python3", 100, "render", 50, 0),
                                           waking(0, 1010, "python3", 100, "audio", 51, 0)])
        self.assertEqual(out["own_busy_with"], {"python3": 2})

    def test_a_thread_woken_before_it_slept_did_not_wait(self):
        # render runs on CPU 1, its timer wakes it before it sleeps, python3 preempts it, and
        # it starts again 5 ms later: no wakeup of it was waiting then.
        out = trace_moves.analyse(START + [
            switch(1, 100, "swapper/1", 0, "render", 50),
            waking(1, 1000, "render", 50, "render", 50, 1),
            switch(1, 1200, "render", 50, "python3", 100),
            switch(1, 6200, "python3", 100, "render", 50),
        ])
        self.assertEqual((out["own_game"], out["woken_running"]), (1, 1))
        self.assertIsNone(out["own_game_wait_p50_us"])

    def test_a_second_wakeup_before_the_start_is_counted_apart(self):
        out = trace_moves.analyse(START + [waking(0, 1000, "python3", 100, "render", 50, 0),
                                           waking(0, 1500, "python3", 100, "render", 50, 0),
                                           switch(0, 1600, "python3", 100, "render", 50)])
        self.assertEqual((out["own_busy"], out["woken_again"]), (2, 1))
        self.assertEqual(out["own_busy_wait_p99_us"], 100)

    def test_lost_events_forget_what_ran_where(self):
        out = trace_moves.analyse(START + ["CPU:0 [LOST 12 EVENTS]\n",
                                           waking(0, 1000, "python3", 100, "render", 50, 0)])
        self.assertEqual(out["lost_events"], 12)
        self.assertEqual(sum(out[k] for k in trace_moves.KINDS), 0)

    def test_names_with_spaces(self):
        out = trace_moves.analyse(
            [switch(0, 10, "swapper/0", 0, "Web Content", 100),
             waking(0, 1000, "Web Content", 100, "Main Thread", 50, 0),
             switch(0, 1100, "Web Content", 100, "Main Thread", 50)], names=("Main Thread",))
        self.assertEqual((out["own_busy"], out["own_busy_with"]), (1, {"Web Content": 1}))

    def test_a_cpu_not_yet_seen_is_left_out(self):
        out = trace_moves.analyse([waking(3, 1000, "python3", 100, "render", 50, 3)])
        self.assertEqual(sum(out[k] for k in trace_moves.KINDS), 0)

    def test_the_command_prints_json_and_fails_on_a_missing_file(self):
        with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
            f.writelines(START + [waking(0, 1000, "python3", 100, "render", 50, 0)])
            f.flush()
            out = subprocess.run([sys.executable, SCRIPT, f.name], capture_output=True, text=True,
                                 check=True).stdout
        self.assertEqual(json.loads(out)["own_busy"], 1)
        missing = subprocess.run([sys.executable, SCRIPT, "/nonexistent/trace"], capture_output=True,
                                 text=True)
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("trace_moves", missing.stderr)

    def test_the_command_fails_on_a_trace_without_the_threads(self):
        with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
            f.writelines(START + [waking(0, 1000, "python3", 100, "render", 50, 0)])
            f.flush()
            out = subprocess.run([sys.executable, SCRIPT, f.name, "--threads", "audio"],
                                 capture_output=True, text=True)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("no wakeup of audio", out.stderr)


if __name__ == "__main__":
    unittest.main()
