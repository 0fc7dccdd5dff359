#!/usr/bin/python3
"""Host tests of the benchmark's own logic: the run order, the proof that a peer scheduled,
the best-peer choice, which runs the report leaves out, the game runs repeated after a pause
of the machine, and the pause watcher itself (FRAMEPACE_BENCH_PAUSES: the built
framepace-bench-pauses). (The figures come from the VM.)"""
import importlib.util
import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import time
import unittest

BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench")


def load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(BENCH, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sched_bench = load("sched_bench")
report = load("report")


class RunOrder(unittest.TestCase):
    def test_every_scheduler_follows_every_other_equally_often(self):
        names = ["eevdf", "scx_simple", "scx_bpfland", "scx_lavd", "scx_cake", "framepace"]
        rows = sched_bench.williams_orders(names)
        self.assertEqual(len(rows), len(names))
        follows = {}
        for row in rows:
            self.assertEqual(sorted(row), sorted(names))
            for pair in zip(row, row[1:]):
                follows[pair] = follows.get(pair, 0) + 1
        self.assertEqual(set(follows.values()), {1})
        self.assertEqual(len(follows), len(names) * (len(names) - 1))


class PeerProof(unittest.TestCase):
    def test_counters_that_moved_are_named_leaf_by_leaf(self):
        before = {"nr_sched": 5, "sys_stat": {"nr_preempt": 1, "cpus": [1, 2]}, "still": 0}
        after = {"nr_sched": 9, "sys_stat": {"nr_preempt": 1, "cpus": [1, 3]}, "still": 0}
        self.assertEqual(sched_bench.counters_moved(before, after), ["nr_sched", "sys_stat.cpus.1"])

    def test_no_dump_is_no_proof(self):
        self.assertEqual(sched_bench.counters_moved(None, {"a": 1}), [])
        self.assertEqual(sched_bench.counters_moved({"a": 1}, {"a": 1}), [])


def fake_tool(folder, name, body):
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        f.write("#!/bin/bash\n" + body)
    os.chmod(path, stat.S_IRWXU)


class GameAfterPauses(unittest.TestCase):
    """game() against stand-ins for the two tools: attempt N's watcher reports a pause while N
    is below `paused`; the game reports the watchers started so far as its render p99."""

    def play(self, paused, watch=True):
        with tempfile.TemporaryDirectory() as tools:
            count = os.path.join(tools, "attempt")
            fake_tool(tools, "framepace-bench-pauses",
                      f'n=$(cat {count} 2>/dev/null || echo 0); echo $((n + 1)) >{count}\n'
                      'echo \'{"ready": 2}\'\n'
                      f'[ "$n" -lt {paused} ] && echo \'{{"cpu": 1, "at_ns": 5, "late_ns": 101000000}}\'\n'
                      'exec sleep 60\n')
            fake_tool(tools, "framepace-bench-game",
                      f'n=$(cat {count} 2>/dev/null || echo 0)\n'
                      'echo "{\\"render\\": {\\"late_p99_us\\": $n, \\"missed\\": 0}, '
                      '\\"audio\\": {\\"late_p99_us\\": 7}}"\n')
            said = []
            real_progress, sched_bench.progress = sched_bench.progress, said.append
            sched_bench.WATCH_PAUSES = watch
            try:
                figures, _ = sched_bench.game(tools, 1, steam=True)
            finally:
                sched_bench.progress = real_progress
                sched_bench.WATCH_PAUSES = False
        return figures, said

    def test_a_run_the_machine_paused_in_is_run_again_and_kept_aside(self):
        figures, said = self.play(paused=1)
        self.assertEqual(figures["render"]["late_p99_us"], 2)
        self.assertEqual(figures["pauses"], [])
        self.assertEqual(len(figures["paused_runs"]), 1)
        self.assertEqual(figures["paused_runs"][0]["render_late_p99_us"], 1)
        self.assertEqual(figures["paused_runs"][0]["pauses"][0]["late_ns"], 101000000)
        self.assertEqual(len(said), 1)

    def test_after_three_paused_attempts_the_last_is_kept_with_its_pauses(self):
        figures, _ = self.play(paused=5)
        self.assertEqual(figures["render"]["late_p99_us"], 3)
        self.assertEqual(len(figures["paused_runs"]), 2)
        self.assertEqual(len(figures["pauses"]), 1)

    def test_without_watch_pauses_no_watcher_runs_and_a_paused_run_is_kept(self):
        figures, said = self.play(paused=5, watch=False)
        self.assertEqual((figures["render"]["late_p99_us"], said), (0, []))
        self.assertNotIn("paused_runs", figures)

    def test_an_unpaused_run_is_kept_at_once(self):
        figures, said = self.play(paused=0)
        self.assertEqual((figures["render"]["late_p99_us"], figures["paused_runs"], said), (1, [], []))


class PauseWatcher(unittest.TestCase):
    """The real framepace-bench-pauses: a process stopped for 300 ms is, to its watchers, a
    machine that gave them no time; each reports it once, as it ends. (Its absence at rest is
    not asserted: the host running these tests may pause, as the VM's does.)"""

    def test_a_stop_of_300_ms_is_reported_once_per_cpu(self):
        tool = os.environ["FRAMEPACE_BENCH_PAUSES"]
        proc = subprocess.Popen([tool, "30"], stdout=subprocess.PIPE, text=True)
        try:
            ready = json.loads(proc.stdout.readline())
            time.sleep(0.1)
            proc.send_signal(signal.SIGSTOP)
            time.sleep(0.3)
            proc.send_signal(signal.SIGCONT)
            time.sleep(0.2)
        finally:
            proc.terminate()
        out, _ = proc.communicate(timeout=10)
        self.assertEqual(proc.returncode, 0)
        pauses = [json.loads(line) for line in out.splitlines()]
        stopped = [p for p in pauses if p["late_ns"] >= 250_000_000]
        self.assertEqual(sorted(p["cpu"] for p in stopped), list(range(ready["ready"])), pauses)
        self.assertTrue(all(p["late_ns"] < 1_000_000_000 for p in stopped), stopped)

    def test_a_bad_threshold_is_refused(self):
        proc = subprocess.run([os.environ["FRAMEPACE_BENCH_PAUSES"], "0"], capture_output=True, text=True)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("usage", proc.stderr)


def run(sched, rep, render_p99, attached=True, moved=("nr",), hogs=1.0):
    r = {"rep": rep, "scheduler": sched, "stayed_attached": attached,
         "game": {"render": {"late_p99_us": render_p99, "late_us": [render_p99]}},
         "background": {"hog_cpu_per_s": hogs, "execs_per_s": 1.0}}
    if sched in report.PEERS:
        r["peer_counters"] = {"moved": list(moved)}
    return r


class Report(unittest.TestCase):
    def setUp(self):
        report.SCHEDULERS = list(report.ALL_SCHEDULERS)

    def test_best_peer_is_the_lowest_or_the_highest_where_higher_is_better(self):
        runs = [run("scx_bpfland", 0, 300, hogs=1.5), run("scx_lavd", 0, 200, hogs=1.2),
                run("framepace", 0, 100)]
        table = report.summarise({"runs": runs})
        self.assertEqual(report.best_peer(table, "render_p99"), ("scx_lavd", 200))
        self.assertEqual(report.best_peer(table, "background_cpu"), ("scx_bpfland", 1.5))
        self.assertIsNone(report.best_peer(table, "cb_running"))

    def test_callback_time_per_run_weighs_each_callback_by_its_calls(self):
        callbacks = {cb: {"calls": 10, "mean_ns": 100.0} for cb in report.CALLBACKS}
        callbacks["select_cpu"] = {"calls": 5, "mean_ns": 1000.0}
        # Four callbacks of 10 calls at 100 ns and 5 at 1000 ns, over 10 runs.
        self.assertEqual(report.callback_ns_per_run(callbacks), 900.0)
        runs = [dict(run("framepace", 0, 100), callbacks=callbacks), run("scx_lavd", 0, 100)]
        table = report.summarise({"runs": runs})
        self.assertEqual(table[report.PER_RUN_KEY], {"framepace": (900.0, 900.0, 900.0)})
        del callbacks["dispatch"]
        self.assertIsNone(report.callback_ns_per_run(callbacks))

    def test_ejected_runs_and_peers_without_proof_are_left_out_and_listed(self):
        doc = {"meta": {"kernel": "k", "vcpus": 2, "date": "d", "smoke": True, "reps": 1, "seconds": 1,
                        "schedulers": report.ALL_SCHEDULERS, "peers": {"run": report.PEERS}},
               "runs": [run("eevdf", 0, 900), run("scx_simple", 0, 5000, attached=False),
                        run("scx_bpfland", 0, 300), run("scx_lavd", 0, 1, moved=()),
                        run("scx_cake", 0, 400), run("framepace", 0, 100)]}
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, "run.json")
            with open(src, "w") as f:
                json.dump(doc, f)
            sys.argv = ["report.py", "--in", src, "--out", d]
            report.main()
            with open(os.path.join(d, "summary.md")) as f:
                summary = f.read()
        self.assertIn("scx_lavd (repetition 1): none of its own counters moved", summary)
        self.assertIn("scx_simple (repetition 1): the kernel ejected it", summary)
        # lavd's 1 µs, without proof, is not the best peer: bpfland's 300 is.
        row = next(line for line in summary.splitlines() if "under load: render frame-start lateness p99 " in line)
        self.assertTrue(row.endswith("| 0.33× (bpfland) |"), row)


class PauseSection(unittest.TestCase):
    def setUp(self):
        report.SCHEDULERS = ["eevdf", "framepace"]

    def test_runs_given_up_and_still_paused_are_counted_per_scenario(self):
        pause = {"cpu": 0, "at_ns": 1, "late_ns": 104_000_000}
        calm = {"pauses": [], "paused_runs": []}
        doc = {"runs": [{"scheduler": "eevdf", "game": {"pauses": [], "paused_runs": [{"pauses": [pause]}]},
                         "idle_game": calm},
                        {"scheduler": "framepace", "game": {"pauses": [pause], "paused_runs": [{"pauses": []}] * 2},
                         "idle_game": calm}],
               "idle_pairs": [{"order": ["framepace", "eevdf"], "eevdf": {"idle_game": calm},
                               "framepace": {"idle_game": calm}}]}
        lines = report.pause_lines(doc)
        self.assertIn("| EEVDF | 0 / 2 | — | 1 / 1 (104 ms) | — |", lines)
        self.assertIn("| framepace | 0 / 2 | — | 2 / 1 (1 still paused; 104 ms) | — |", lines)

    def test_a_run_from_before_the_watcher_gets_no_section(self):
        self.assertEqual(report.pause_lines({"runs": [{"scheduler": "eevdf", "game": {"render": {}}}]}), [])


def idle(wakeup_p99, render_p99, missed, audio_p99=1000, attached=True):
    return {"idle_wakeup": {"p99_us": wakeup_p99}, "stayed_attached": attached,
            "idle_game": {"render": {"late_p99_us": render_p99, "missed": missed},
                          "audio": {"late_p99_us": audio_p99}}}


class IdlePairs(unittest.TestCase):
    def test_each_pair_is_weighed_by_its_own_ratio(self):
        # The host drifts: pair 2 is slow for both. A median over each scheduler's own runs
        # would compare 600 with 300 (2×); the paired ratios are 1.1, 1.0 and 0.5.
        pairs = [{"pair": 0, "order": ["eevdf", "framepace"], "eevdf": idle(100, 1000, 1), "framepace": idle(110, 900, 0)},
                 {"pair": 1, "order": ["framepace", "eevdf"], "eevdf": idle(600, 1000, 0), "framepace": idle(600, 1000, 2)},
                 {"pair": 2, "order": ["eevdf", "framepace"], "eevdf": idle(2000, 1000, 0), "framepace": idle(1000, 1100, 0)}]
        got = {what.split(", 3 idle pairs")[0]: (figure, met)
               for what, figure, _, met in report.idle_pair_targets(pairs)}
        title = lambda key: report.METRIC[key][1]  # noqa: E731
        self.assertEqual(got[title("idle_wakeup_p99")], ("1.00× (0.50–1.10; lower in 1 of 3)", True))
        self.assertEqual(got[title("idle_render_p99")], ("1.00× (0.90–1.10; lower in 1 of 3)", True))
        # Missed frames over all pairs: 2 against 1.
        self.assertEqual(got[title("idle_render_missed")], ("2 vs 1", False))

    def test_a_pair_whose_framepace_was_ejected_is_left_out(self):
        doc = {"idle_pairs": [{"pair": 0, "order": ["eevdf", "framepace"], "eevdf": idle(1, 1, 0),
                               "framepace": idle(1, 1, 0, attached=False)},
                              {"pair": 1, "order": ["framepace", "eevdf"], "eevdf": idle(1, 1, 0),
                               "framepace": idle(1, 1, 0)}]}
        self.assertEqual([p["pair"] for p in report.usable_pairs(doc)], [1])
        self.assertIn("1 pair(s) left out", "\n".join(report.idle_pair_lines(doc, report.usable_pairs(doc))))


if __name__ == "__main__":
    unittest.main()
