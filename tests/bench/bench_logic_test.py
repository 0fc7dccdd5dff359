#!/usr/bin/python3
"""Host tests of the benchmark's own logic: the run order, the proof that a peer scheduled,
the best-peer choice and which runs the report leaves out. (The figures come from the VM.)"""
import importlib.util
import json
import os
import sys
import tempfile
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
