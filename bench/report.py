#!/usr/bin/python3
"""Turns a scheduler benchmark run (bench/sched_bench.py's JSON) into a results folder:
raw.json (every figure), summary.md (medians with spread, the limit, ratios to EEVDF, to
scx_simple and to the best peer, the proof that each peer scheduled, the targets met or not),
summary_short.md (medians of the main rows: the README's table) and PNG plots (CDFs of
frame-start lateness, bars for the rest).

    report.py --in RUN.json|results.jsonl --out DIR
"""
import argparse
import json
import os
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# Every scheduler a run may hold, in table order; a run's own list (meta.schedulers) decides
# which columns appear. The peers are the schedulers gamers run (bench/peers/).
ALL_SCHEDULERS = ["eevdf", "scx_simple", "scx_bpfland", "scx_lavd", "scx_cake", "framepace"]
PEERS = ["scx_bpfland", "scx_lavd", "scx_cake"]
LABEL = {"eevdf": "EEVDF (no sched_ext)", "scx_simple": "scx_simple", "scx_bpfland": "scx_bpfland",
         "scx_lavd": "scx_lavd", "scx_cake": "scx_cake", "framepace": "framepace"}
COLOR = {"eevdf": "#888888", "scx_simple": "#4c72b0", "scx_bpfland": "#55a868", "scx_lavd": "#8172b2",
         "scx_cake": "#c44e52", "framepace": "#dd8452"}
CALLBACKS = ["select_cpu", "enqueue", "dispatch", "running", "stopping"]
# The five callbacks' time per task run: schedulers put the same work in different callbacks
# (framepace accounts a run as the task is next queued, others as it stops), so the sum is the
# figure that compares them; not a target of its own.
PER_RUN_KEY = "cb_per_run"
SCHEDULERS = ["eevdf", "scx_simple", "framepace"]  # set from the run in main()


def game_rows(section, prefix, label, fields):
    """Rows for one run of the synthetic game (section: the run's key for it)."""
    every = {
        "render_p50": ("render frame-start lateness p50", "µs", lambda g: g["render"]["late_p50_us"]),
        "render_p99": ("render frame-start lateness p99", "µs", lambda g: g["render"]["late_p99_us"]),
        "render_p999": ("render frame-start lateness p99.9", "µs", lambda g: g["render"]["late_p999_us"]),
        "render_missed": ("render frames missed", "frames", lambda g: g["render"]["missed"]),
        "render_frame_p99": ("render frame time p99 (work start to done)", "µs",
                             lambda g: g["render"]["frame_p99_us"]),
        "render_jitter": ("render frame-start jitter (sd)", "µs", lambda g: g["render"]["jitter_us"]),
        "audio_p99": ("audio wakeup lateness p99", "µs", lambda g: g["audio"]["late_p99_us"]),
    }
    return [(prefix + field, f"{label}: {every[field][0]}", every[field][1],
             (lambda get: lambda r: get(r[section]))(every[field][2]), field) for field in fields]


# (key, title, unit, extractor, game field or None). Lower is better, except the background
# rows (marked "higher is better"). An extractor may find nothing in an older run's data: that
# row is left out. A game row's "limit" is the same field of the game alone on the idle system
# under EEVDF.
ALL_FIELDS = ["render_p50", "render_p99", "render_p999", "render_missed", "render_frame_p99",
              "render_jitter", "audio_p99"]
SHORT_FIELDS = ["render_p50", "render_p99", "render_missed", "render_frame_p99", "audio_p99"]
METRICS = (
    game_rows("game", "", "game under load", ALL_FIELDS)
    + game_rows("undetected_game", "undetected_", "undetected game under load", SHORT_FIELDS)
    + game_rows("idle_game", "idle_", "game on the idle system", SHORT_FIELDS)
    + game_rows("exec_burst_game", "bursts_", "game on the idle system, a program started every 0.5 s",
                SHORT_FIELDS)
    + [
        ("input_p50", "input to response p50", "µs", lambda r: r["input"]["p50_us"], None),
        ("input_p99", "input to response p99", "µs", lambda r: r["input"]["p99_us"], None),
        ("idle_wakeup_p99", "idle wakeup latency p99 (cyclictest)", "µs", lambda r: r["idle_wakeup"]["p99_us"], None),
        ("loaded_wakeup_p99", "loaded wakeup latency p99 (cyclictest)", "µs",
         lambda r: r["loaded_wakeup"]["p99_us"], None),
        ("loaded_wakeup_max", "loaded wakeup latency max (cyclictest)", "µs",
         lambda r: r["loaded_wakeup"]["max_us"], None),
        ("yield_limiter_p50", "game's frame limiter spinning on sched_yield(), under load: frame-start lateness p50",
         "µs", lambda r: r["yield_limiter"]["late_p50_us"], None),
        ("yield_limiter_p99", "game's frame limiter spinning on sched_yield(), under load: frame-start lateness p99",
         "µs", lambda r: r["yield_limiter"]["late_p99_us"], None),
        ("yield_handover", "spin-waits on sched_yield(), idle: the worker's wall time over its CPU time", "×",
         lambda r: r["yield_handover"]["worker_wall_ms"] / r["yield_handover"]["worker_cpu_ms"], None),
        ("messaging_s", "perf bench sched messaging", "s", lambda r: r["messaging_s"], None),
        ("hackbench_s", "hackbench", "s", lambda r: r["hackbench_s"], None),
        ("background_cpu", "background hogs' CPU per second during the games, higher is better", "CPU-s/s",
         lambda r: r["background"]["hog_cpu_per_s"], None),
        ("background_execs", "background fork loop during the games, higher is better", "execs/s",
         lambda r: r["background"]["execs_per_s"], None),
    ])
HIGHER_IS_BETTER = {"background_cpu", "background_execs"}


# The idle pairs (sched_bench.py: EEVDF and framepace alternated, idle scenarios only; a pair's
# figures are shaped as a run's, read by METRICS' extractors): (key in METRICS, the target's
# bound on the paired ratio, or None for a count summed over the pairs, ≤ EEVDF's). Audio-like
# threads are never to be worse than EEVDF; the other idle figures within 5 %.
METRIC = {m[0]: m for m in METRICS}
IDLE_PAIR_ROWS = [("idle_wakeup_p99", 1.05), ("idle_render_p99", 1.05), ("idle_audio_p99", 1.0),
                  ("idle_render_missed", None)]


def usable_pairs(doc):
    """The idle pairs whose framepace run stayed attached throughout (an ejected one's figures
    are not framepace's)."""
    return [p for p in doc.get("idle_pairs") or [] if p["framepace"].get("stayed_attached")]


def paired(pairs, get):
    """[(EEVDF's figure, framepace's)] of each pair."""
    return [(get(p["eevdf"]), get(p["framepace"])) for p in pairs]


def idle_pair_targets(pairs):
    """The idle targets on the pairs: the median of the paired ratios within its bound, and
    framepace's missed frames over all pairs no more than EEVDF's."""
    out = []
    n = len(pairs)
    where = f"{n} idle pair{'s' if n != 1 else ''}"
    for key, factor in IDLE_PAIR_ROWS:
        _, title, _, get, _ = METRIC[key]
        figures = paired(pairs, get)
        if factor is None:
            ev, fp = sum(e for e, _ in figures), sum(f for _, f in figures)
            out.append((f"{title}, {where}: summed ≤ EEVDF's", f"{fp} vs {ev}", "EEVDF", fp <= ev))
            continue
        ratios = sorted(ratio(f, e) for e, f in figures)
        mid = statistics.median(ratios)
        lower = sum(1 for e, f in figures if f < e)
        out.append((f"{title}, {where}: median of the paired ratios ≤ {factor:g}× EEVDF",
                    f"{mid:.2f}× ({ratios[0]:.2f}–{ratios[-1]:.2f}; lower in {lower} of {n})",
                    f"{factor:g}× EEVDF", mid <= factor))
    return out


def idle_pair_lines(doc, pairs):
    """summary.md's section of the idle pairs: every pair's figures."""
    left = len(doc.get("idle_pairs") or []) - len(pairs)
    lines = ["", "## Idle, EEVDF and framepace alternated in pairs", "",
             f"{len(pairs)} pair(s) after the repetitions, each scheduler started afresh, the first of "
             "each pair alternating: the idle scenarios alone. What drifts in the host between "
             "repetitions moves both runs of a pair alike; the idle targets below weigh each pair's "
             "ratio." + (f" {left} pair(s) left out: framepace did not stay attached." if left else ""), ""]
    head = ["pair", "first"] + [f"{METRIC[key][1]} [{METRIC[key][2]}]: EEVDF / framepace"
                                for key, _ in IDLE_PAIR_ROWS]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for p in pairs:
        row = [str(p["pair"] + 1), p["order"][0]]
        for key, factor in IDLE_PAIR_ROWS:
            get = METRIC[key][3]
            e, f = get(p["eevdf"]), get(p["framepace"])
            row.append(f"{e} / {f}" + (f" ({ratio(f, e):.2f}×)" if factor else ""))
        lines.append("| " + " | ".join(row) + " |")
    return lines


GAME_SECTIONS = [("idle_game", "idle"), ("exec_burst_game", "program every 0.5 s"), ("game", "under load"),
                 ("undetected_game", "undetected, under load")]


def pause_lines(doc):
    """summary.md's section on the machine's own pauses: per scheduler and game scenario, the
    runs given up and run again, and the kept runs that still paused (every attempt did)."""
    runs = [(r["scheduler"], r) for r in doc["runs"]]
    runs += [(name, p[name]) for p in doc.get("idle_pairs") or [] for name in p.get("order", [])]
    if not any(isinstance(r.get(key), dict) and "pauses" in r[key] for _, r in runs for key, _ in GAME_SECTIONS):
        return []  # a run from before the watcher
    lines = ["", "## The machine's own pauses", "",
             "A real-time thread per vCPU (`framepace-bench-pauses`, SCHED_FIFO 99, a 20 ms grid) ran "
             "through every game run; a wakeup 30 ms or more late means, as a rule, that the vCPU got no "
             "time at all, which no scheduler under test does by scheduling. A game run with such a pause was run again "
             "(at most 3 attempts), under every scheduler; the figures above are the kept runs'. "
             "Cells: runs given up / game runs kept (kept runs that still paused; longest pause).", ""]
    head = ["scheduler"] + [label for _, label in GAME_SECTIONS]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for sched in SCHEDULERS:
        row = [LABEL[sched].split(" (")[0]]
        for key, _ in GAME_SECTIONS:
            figs = [r[key] for name, r in runs if name == sched and isinstance(r.get(key), dict)]
            if not figs:
                row.append("—")
                continue
            given_up = sum(len(g.get("paused_runs", [])) for g in figs)
            still = sum(1 for g in figs if g.get("pauses"))
            late_ns = [p["late_ns"] for g in figs for run in g.get("paused_runs", []) + [g]
                       for p in run.get("pauses", [])]
            notes = ([f"{still} still paused"] if still else []) + \
                ([f"{max(late_ns) / 1e6:.0f} ms"] if late_ns else [])
            row.append(f"{given_up} / {len(figs)}" + (f" ({'; '.join(notes)})" if notes else ""))
        lines.append("| " + " | ".join(row) + " |")
    return lines


def value(get, run):
    """The extractor's figure, or None where this run's data has no such field."""
    try:
        return get(run)
    except (KeyError, TypeError):
        return None


def load(path):
    with open(path) as f:
        text = f.read()
    # Either the run itself, or a VM results file: one JSON record per line, the benchmark's
    # being the one whose metrics hold the run.
    for line in [text] + text.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "runs" in record:
            return record
        metrics = record.get("metrics", {})
        if isinstance(metrics, dict) and "runs" in metrics:
            return metrics
    sys.exit(f"report: no benchmark run in {path}")


def summarise(doc):
    """{metric: {scheduler: (median, min, max)}}, callbacks included; the game rows also get
    "limit": the same field of the idle game under EEVDF."""
    table = {}
    idle_under_eevdf = [r for r in doc["runs"] if r["scheduler"] == "eevdf"]
    for key, _, _, get, field in METRICS:
        table[key] = {}
        for sched in SCHEDULERS:
            values = [v for v in (value(get, r) for r in doc["runs"] if r["scheduler"] == sched)
                      if v is not None]
            if values:
                table[key][sched] = (statistics.median(values), min(values), max(values))
        if field and table[key]:
            limit_get = next(m[3] for m in METRICS if m[0] == "idle_" + field) if any(
                m[0] == "idle_" + field for m in METRICS) else None
            values = [v for v in (value(limit_get, r) for r in idle_under_eevdf) if v is not None] \
                if limit_get else []
            if values:
                table[key]["limit"] = (statistics.median(values), min(values), max(values))
    for cb in CALLBACKS:
        key = f"cb_{cb}"
        table[key] = {}
        for sched in SCHEDULERS:
            values = [r["callbacks"][cb]["mean_ns"] for r in doc["runs"]
                      if r["scheduler"] == sched and cb in r.get("callbacks", {})]
            if values:
                table[key][sched] = (statistics.median(values), min(values), max(values))
    table[PER_RUN_KEY] = {}
    for sched in SCHEDULERS:
        values = [v for v in (callback_ns_per_run(r.get("callbacks", {})) for r in doc["runs"]
                              if r["scheduler"] == sched) if v is not None]
        if values:
            table[PER_RUN_KEY][sched] = (statistics.median(values), min(values), max(values))
    return table


def callback_ns_per_run(callbacks):
    """Sum of calls x mean ns over the five callbacks, per ops.running call (a task run); None
    where a callback did not run (a scheduler without it is not cheaper by the missing part)."""
    if any(cb not in callbacks for cb in CALLBACKS) or not callbacks["running"]["calls"]:
        return None
    total = sum(callbacks[cb]["calls"] * callbacks[cb]["mean_ns"] for cb in CALLBACKS)
    return total / callbacks["running"]["calls"]


def callback_titles():
    """The rows' titles of the callbacks' costs, in the tables."""
    titles = {f"cb_{cb}": (f"{cb} mean cost (bpf_stats)", "ns") for cb in CALLBACKS}
    titles[PER_RUN_KEY] = ("the five callbacks' time per task run (bpf_stats)", "ns")
    return titles


def ratio(a, b):
    if b == 0:
        return 0.0 if a == 0 else float("inf")
    return a / b


def best_peer(table, key):
    """(peer, median) of the best peer for a metric: the lowest median, or the highest where
    higher is better; None without peers."""
    cells = [(p, table.get(key, {})[p][0]) for p in PEERS if p in table.get(key, {})]
    if not cells:
        return None
    pick = max if key in HIGHER_IS_BETTER else min
    return pick(cells, key=lambda c: c[1])


def targets(table, pairs=()):
    """The issues' targets: (what, framepace's figure, the bound, met). pairs: the idle pairs,
    whose paired rows follow the idle rows of the repetitions."""
    out = []

    def med(key, sched):
        return table.get(key, {}).get(sched, (None,))[0]

    def num(v):
        return f"{v:.0f}" if abs(v) >= 100 else f"{v:.3g}"

    def bound(what, key, base_name, base, factor):
        fp = med(key, "framepace")
        if None not in (fp, base):
            out.append((what, f"{ratio(fp, base):.2f}× ({num(fp)} vs {num(base)})", f"{factor:g}× {base_name}",
                        fp <= factor * base))

    def no_more(what, key, base_name, base):
        fp = med(key, "framepace")
        if None not in (fp, base):
            out.append((what, f"{num(fp)} vs {num(base)}", base_name, fp <= base))

    def vs_best_peer(what, key, factor=1.0):
        best = best_peer(table, key)
        if best:
            bound(what, key, best[0], best[1], factor)

    ev = lambda key: med(key, "eevdf")  # noqa: E731
    # Idle system: no worse than EEVDF.
    bound("idle: game frame-start p99 ≤ 1.05× EEVDF", "idle_render_p99", "EEVDF", ev("idle_render_p99"), 1.05)
    no_more("idle: missed frames ≤ EEVDF's", "idle_render_missed", "EEVDF", ev("idle_render_missed"))
    bound("idle: cyclictest p99 ≤ 1.05× EEVDF", "idle_wakeup_p99", "EEVDF", ev("idle_wakeup_p99"), 1.05)
    if pairs:
        out += idle_pair_targets(pairs)
    bound("idle, a program started every 0.5 s: game frame-start p99 ≤ 1.05× EEVDF", "bursts_render_p99",
          "EEVDF", ev("bursts_render_p99"), 1.05)
    no_more("idle, a program started every 0.5 s: missed frames ≤ EEVDF's", "bursts_render_missed", "EEVDF",
            ev("bursts_render_missed"))
    # The detected game under load.
    bound("game under load: frame-start p99 ≤ 0.25× EEVDF", "render_p99", "EEVDF", ev("render_p99"), 0.25)
    vs_best_peer("game under load: frame-start p99 ≤ 0.8× the best peer", "render_p99", 0.8)
    best = best_peer(table, "render_missed")
    if best:
        no_more("game under load: missed frames ≤ the best peer's", "render_missed", best[0], best[1])
    # A game no rule names.
    bound("undetected game: frame-start p99 ≤ 0.5× EEVDF", "undetected_render_p99", "EEVDF",
          ev("undetected_render_p99"), 0.5)
    vs_best_peer("undetected game: frame-start p99 ≤ the best peer", "undetected_render_p99")
    for prefix, where in (("", "game under load"), ("undetected_", "undetected game"), ("idle_", "idle game"),
                          ("bursts_", "idle game, a program started every 0.5 s")):
        bound(f"{where}: audio p99 ≤ EEVDF", prefix + "audio_p99", "EEVDF", ev(prefix + "audio_p99"), 1.0)
    # Against EEVDF's idle wakeup p99, not framepace's own: a worse idle must not make it easier.
    bound("input-to-response p99 ≤ 2× EEVDF idle wakeup p99", "input_p99", "EEVDF idle wakeup",
          ev("idle_wakeup_p99"), 2.0)
    for key, name in (("messaging_s", "messaging"), ("hackbench_s", "hackbench")):
        bound(f"throughput ({name}) within 5 % of EEVDF (run time)", key, "EEVDF", ev(key), 1.05)
    for cb in CALLBACKS:
        key = f"cb_{cb}"
        bound(f"{cb} mean cost ≤ 1.3× scx_simple", key, "scx_simple", med(key, "scx_simple"), 1.3)
        vs_best_peer(f"{cb} mean cost ≤ the cheapest peer", key)
    return out


def fmt(cell):
    median, lo, hi = cell
    if max(abs(median), abs(hi)) >= 100:
        return f"{median:.0f} ({lo:.0f}–{hi:.0f})"
    return f"{median:.3g} ({lo:.3g}–{hi:.3g})"


def clocksource_text(meta):
    """The guest's clocksource; a switch during the run is named, as it changes every cost."""
    cs = meta.get("clocksource") or []
    if not cs:
        return "not recorded"
    if len(set(cs)) > 1:
        return f"**switched from {cs[0]} to {cs[-1]} during the run**"
    return cs[0]


def markdown(doc, table, left_out):
    meta = doc["meta"]
    peers = meta.get("peers") or {}
    peers_run = [p for p in SCHEDULERS if p in PEERS]
    lines = [
        f"# Scheduler benchmark — {meta['date']}",
        "",
        f"Kernel {meta['kernel']}, {meta['vcpus']} vCPUs, QEMU TCG (software emulation), "
        f"clocksource {clocksource_text(meta)}, "
        f"{meta['reps']} repetition(s) per scheduler, interleaved; scx_simple from "
        f"{meta.get('scx_simple') or 'the kernel tree'}; {meta['seconds']} s in all"
        + (" — **smoke run: short durations; not a measurement**." if meta["smoke"] else "."),
        "",
        ("Peers: " + ", ".join(peers_run) + " — built from the scx export and started by the loaders "
         "of `bench/peers/` with their command lines' defaults (its README lists every difference "
         "from the Rust originals)." if peers_run else
         "**Peers: not run** (" + (peers.get("missing") or "the run named no peer loaders") + ")."),
        "",
        "TCG inflates every absolute time (each guest instruction is emulated); the ratios between "
        "schedulers measured in the same boot are the figures that carry over to real hardware.",
        "",
        "Medians, with the range over repetitions in brackets. Lower is better, except where a row "
        "says higher. *limit*: the same figure of the game alone on the idle system under EEVDF. "
        "*best peer*: the best of " + (", ".join(peers_run) or "the peers") + " for that row.",
        "",
    ]
    head = ["metric", "limit"] + [LABEL[s].split(" (")[0] for s in SCHEDULERS] + \
        ["framepace / EEVDF", "framepace / scx_simple"] + (["framepace / best peer"] if peers_run else [])
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    titles = {key: (title, unit) for key, title, unit, _, _ in METRICS}
    titles.update(callback_titles())
    for key, cells in table.items():
        if not any(s in cells for s in SCHEDULERS):
            continue
        title, unit = titles[key]
        row = [f"{title} [{unit}]", fmt(cells["limit"]) if "limit" in cells else ""]
        row += [fmt(cells[s]) if s in cells else "—" for s in SCHEDULERS]
        fp = cells.get("framepace", (None,))[0]
        for base in ("eevdf", "scx_simple"):
            b = cells.get(base, (None,))[0]
            row.append(f"{ratio(fp, b):.2f}×" if fp is not None and b is not None else "—")
        if peers_run:
            best = best_peer(table, key)
            row.append(f"{ratio(fp, best[1]):.2f}× ({best[0][4:]})" if fp is not None and best else "—")
        lines.append("| " + " | ".join(row) + " |")
    if left_out:
        lines += ["", "Runs left out of every figure, so that no scheduler is credited with figures "
                  "that are not its own:"]
        lines += [f"- {r['scheduler']} (repetition {r['rep'] + 1}): {why}" for r, why in left_out]
    if peers_run:
        lines += ["", "## The peers really scheduled", "",
                  "Each peer run: `/sys/kernel/sched_ext/root/ops` named the peer from start to end "
                  "(`stayed_attached`), and its own counters (its `.bss`, dumped by the loader after "
                  "the settle time and after the run) moved.", "",
                  "| peer | repetition | stayed attached | counters moved | some of them |", "|---|---|---|---|---|"]
        for r in doc["all_runs"]:
            if r["scheduler"] in PEERS:
                moved = (r.get("peer_counters") or {}).get("moved", [])
                lines.append(f"| {r['scheduler']} | {r['rep'] + 1} | {'yes' if r.get('stayed_attached') else '**no**'} "
                             f"| {len(moved)} | {', '.join(moved[:4])} |")
    lines += pause_lines(doc)
    pairs = usable_pairs(doc)
    if pairs:
        lines += idle_pair_lines(doc, pairs)
    lines += ["", "## Targets", "", "| target | framepace | bound | met |", "|---|---|---|---|"]
    for what, got, bound, met in targets(table, pairs):
        lines.append(f"| {what} | {got} | {bound} | {'yes' if met else '**no**'} |")
    lines += ["", "![frame-start lateness CDF](frame_lateness_cdf.png)", "",
              "![latency, throughput and cost](summary_bars.png)", ""]
    return "\n".join(lines)


# The rows of the short table (README): the figures a gamer asks about first.
COMPACT_ROWS = ["render_p99", "render_missed", "audio_p99", "undetected_render_p99", "undetected_render_missed",
                "idle_render_p99", "idle_render_missed", "bursts_render_p99", "bursts_render_missed", "input_p99",
                "idle_wakeup_p99", "loaded_wakeup_p99",
                "yield_limiter_p99", "yield_handover", "messaging_s", "hackbench_s", "background_cpu", "cb_running", "cb_stopping",
                PER_RUN_KEY]


def compact(table):
    """Medians only, the rows of COMPACT_ROWS: the README's table."""
    peers_run = [p for p in SCHEDULERS if p in PEERS]
    titles = {key: (title, unit) for key, title, unit, _, _ in METRICS}
    titles.update(callback_titles())
    head = ["metric", "limit"] + [LABEL[s].split(" (")[0] for s in SCHEDULERS] + ["framepace / EEVDF"] + \
        (["framepace / best peer"] if peers_run else [])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key in COMPACT_ROWS:
        cells = table.get(key, {})
        if not any(s in cells for s in SCHEDULERS):
            continue
        title, unit = titles[key]
        row = [f"{title} [{unit}]", fmt(cells["limit"]).split(" (")[0] if "limit" in cells else ""]
        row += [fmt(cells[s]).split(" (")[0] if s in cells else "—" for s in SCHEDULERS]
        fp, ev = cells.get("framepace", (None,))[0], cells.get("eevdf", (None,))[0]
        row.append(f"{ratio(fp, ev):.2f}×" if fp is not None and ev is not None else "—")
        if peers_run:
            best = best_peer(table, key)
            row.append(f"{ratio(fp, best[1]):.2f}× ({best[0][4:]})" if fp is not None and best else "—")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def plot_cdf(doc, path):
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), sharey=True)
    for ax, section, title in ((axes[0], "game", "detected (Steam) game under load"),
                               (axes[1], "undetected_game", "undetected game under load")):
        curves = [(LABEL[s], COLOR[s], "-", s, section) for s in SCHEDULERS]
        curves.append(("limit: alone, idle, EEVDF", "#000000", ":", "eevdf", "idle_game"))
        for label, color, style, sched, key in curves:
            samples = sorted(s for r in doc["runs"] if r["scheduler"] == sched and key in r
                             for s in r[key]["render"].get("late_us", []))
            if not samples:
                continue
            n = len(samples)
            ax.plot([max(s, 1) for s in samples], [(i + 1) / n for i in range(n)],
                    label=label, color=color, linestyle=style)
        ax.set_xscale("log")
        ax.set_xlabel("render frame-start lateness (µs, log scale)")
        ax.set_title(f"120 Hz render thread, {title}", fontsize=10)
        ax.axvline(8333, color="#cc0000", linestyle=":", linewidth=1)
        ax.text(8333, 0.5, " one frame (8.33 ms)", color="#cc0000", fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
    axes[0].set_ylabel("fraction of frames")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_bars(table, path):
    panels = ["render_p99", "render_missed", "undetected_render_p99", "idle_render_p99", "audio_p99",
              "input_p99", "idle_wakeup_p99", "loaded_wakeup_p99", "messaging_s", "hackbench_s"] + \
        [f"cb_{cb}" for cb in CALLBACKS]
    titles = {key: f"{title} [{unit}]" for key, title, unit, _, _ in METRICS}
    titles.update({f"cb_{cb}": f"{cb} [ns/call]" for cb in CALLBACKS})
    panels = [p for p in panels if any(s in table.get(p, {}) for s in SCHEDULERS)]
    cols = 4
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 3.2 * rows), squeeze=False)
    for ax, key in zip(axes.flat, panels):
        cells = table[key]
        names = [s for s in SCHEDULERS if s in cells]
        medians = [cells[s][0] for s in names]
        errors = [[cells[s][0] - cells[s][1] for s in names], [cells[s][2] - cells[s][0] for s in names]]
        ax.bar(range(len(names)), medians, yerr=errors, capsize=3, color=[COLOR[s] for s in names])
        ax.set_xticks(range(len(names)), [LABEL[s].split(" ")[0].replace("scx_", "") for s in names],
                      fontsize=7)
        if "limit" in cells:
            ax.axhline(cells["limit"][0], color="#000000", linestyle=":", linewidth=1, label="limit")
            ax.legend(fontsize=7)
        ax.set_title(titles[key], fontsize=8)
        ax.grid(True, axis="y", alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.suptitle("median, whiskers: range over repetitions (lower is better)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main():
    global SCHEDULERS
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--in", dest="source", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    doc = load(args.source)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "raw.json"), "w") as f:
        json.dump(doc, f)
    listed = doc["meta"].get("schedulers") or ["eevdf", "scx_simple", "framepace"]
    SCHEDULERS = [s for s in ALL_SCHEDULERS if s in listed]
    missing = [s for s in SCHEDULERS if not any(r["scheduler"] == s for r in doc["runs"])]
    left_out = []
    for r in doc["runs"]:
        if r.get("stayed_attached") is False:
            left_out.append((r, "the kernel ejected it during the run (`stayed_attached` false)"
                             + (f"; its loader: {r['loader_exit']}" if r.get("loader_exit") else "")))
        elif r["scheduler"] in PEERS and not (r.get("peer_counters") or {}).get("moved"):
            left_out.append((r, "none of its own counters moved: no proof that it scheduled"))
    dropped = {id(r) for r, _ in left_out}
    doc = dict(doc, all_runs=doc["runs"], runs=[r for r in doc["runs"] if id(r) not in dropped])
    table = summarise(doc)
    with open(os.path.join(args.out, "summary.md"), "w") as f:
        f.write(markdown(doc, table, left_out))
    with open(os.path.join(args.out, "summary_short.md"), "w") as f:
        f.write(compact(table))
    plot_cdf(doc, os.path.join(args.out, "frame_lateness_cdf.png"))
    plot_bars(table, os.path.join(args.out, "summary_bars.png"))
    if missing:
        sys.exit(f"report: no runs for {', '.join(missing)}")
    print(os.path.join(args.out, "summary.md"))


if __name__ == "__main__":
    main()
