#!/usr/bin/python3
"""Turns a scheduler benchmark run (bench/sched_bench.py's JSON) into a results folder:
raw.json (every figure), summary.md (medians with spread, ratios to EEVDF and scx_simple,
the targets met or not) and PNG plots (CDF of frame-start lateness, bars for the rest).

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

SCHEDULERS = ["eevdf", "scx_simple", "framepace"]
LABEL = {"eevdf": "EEVDF (no sched_ext)", "scx_simple": "scx_simple", "framepace": "framepace"}
COLOR = {"eevdf": "#888888", "scx_simple": "#4c72b0", "framepace": "#dd8452"}
CALLBACKS = ["select_cpu", "enqueue", "dispatch", "running", "stopping"]

# (key, title, unit, extractor). Lower is better, except the background rows (marked "higher
# is better"). An extractor may find nothing in an older run's data: that row is left out.
METRICS = [
    ("render_p50", "render frame-start lateness p50", "µs", lambda r: r["game"]["render"]["late_p50_us"]),
    ("render_p99", "render frame-start lateness p99", "µs", lambda r: r["game"]["render"]["late_p99_us"]),
    ("render_p999", "render frame-start lateness p99.9", "µs", lambda r: r["game"]["render"]["late_p999_us"]),
    ("render_missed", "render frames missed", "frames", lambda r: r["game"]["render"]["missed"]),
    ("render_frame_p99", "render frame time p99 (work start to done)", "µs",
     lambda r: r["game"]["render"]["frame_p99_us"]),
    ("render_jitter", "render frame-start jitter (sd)", "µs", lambda r: r["game"]["render"]["jitter_us"]),
    ("audio_p99", "audio wakeup lateness p99", "µs", lambda r: r["game"]["audio"]["late_p99_us"]),
    ("input_p50", "input to response p50", "µs", lambda r: r["input"]["p50_us"]),
    ("input_p99", "input to response p99", "µs", lambda r: r["input"]["p99_us"]),
    ("idle_wakeup_p99", "idle wakeup latency p99 (cyclictest)", "µs", lambda r: r["idle_wakeup"]["p99_us"]),
    ("loaded_wakeup_p99", "loaded wakeup latency p99 (cyclictest)", "µs", lambda r: r["loaded_wakeup"]["p99_us"]),
    ("loaded_wakeup_max", "loaded wakeup latency max (cyclictest)", "µs", lambda r: r["loaded_wakeup"]["max_us"]),
    ("messaging_s", "perf bench sched messaging", "s", lambda r: r["messaging_s"]),
    ("hackbench_s", "hackbench", "s", lambda r: r["hackbench_s"]),
    ("background_cpu", "background hogs' CPU per second during the game, higher is better", "CPU-s/s",
     lambda r: r["background"]["hog_cpu_per_s"]),
    ("background_execs", "background fork loop during the game, higher is better", "execs/s",
     lambda r: r["background"]["execs_per_s"]),
]


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
    """{metric: {scheduler: (median, min, max)}}, callbacks included."""
    table = {}
    for key, _, _, get in METRICS:
        table[key] = {}
        for sched in SCHEDULERS:
            values = [v for v in (value(get, r) for r in doc["runs"] if r["scheduler"] == sched)
                      if v is not None]
            if values:
                table[key][sched] = (statistics.median(values), min(values), max(values))
    for cb in CALLBACKS:
        key = f"cb_{cb}"
        table[key] = {}
        for sched in ("scx_simple", "framepace"):
            values = [r["callbacks"][cb]["mean_ns"] for r in doc["runs"]
                      if r["scheduler"] == sched and cb in r.get("callbacks", {})]
            if values:
                table[key][sched] = (statistics.median(values), min(values), max(values))
    return table


def ratio(a, b):
    if b == 0:
        return 0.0 if a == 0 else float("inf")
    return a / b


def targets(table):
    """The issue's targets: (what, framepace's figure, the bound, met)."""
    out = []

    def med(key, sched):
        return table.get(key, {}).get(sched, (None,))[0]

    ev, sx, fp = med("render_p99", "eevdf"), med("render_p99", "scx_simple"), med("render_p99", "framepace")
    if None not in (fp, ev, sx):
        out.append(("frame-start lateness p99 ≤ 0.25× EEVDF", f"{ratio(fp, ev):.2f}×", "0.25×", fp <= 0.25 * ev))
        out.append(("frame-start lateness p99 ≤ 0.5× scx_simple", f"{ratio(fp, sx):.2f}×", "0.5×", fp <= 0.5 * sx))
    fp_m, ev_m = med("render_missed", "framepace"), med("render_missed", "eevdf")
    if None not in (fp_m, ev_m):
        out.append(("missed frames ≤ 0.1× EEVDF", f"{fp_m:g} vs {ev_m:g}", "0.1×",
                    fp_m <= 0.1 * ev_m if ev_m else fp_m == 0))
    # Against EEVDF's idle wakeup p99, not framepace's own: a worse idle must not make it easier.
    fp_in, fp_idle = med("input_p99", "framepace"), med("idle_wakeup_p99", "eevdf")
    if None not in (fp_in, fp_idle):
        out.append(("input-to-response p99 ≤ 2× EEVDF idle wakeup p99", f"{ratio(fp_in, fp_idle):.2f}×", "2×",
                    fp_in <= 2 * fp_idle))
    for key, name in (("messaging_s", "messaging"), ("hackbench_s", "hackbench")):
        f, e = med(key, "framepace"), med(key, "eevdf")
        if None not in (f, e):
            out.append((f"throughput ({name}) within 5 % of EEVDF", f"{ratio(f, e):.3f}× the time", "≤ 1.05×",
                        f <= 1.05 * e))
    for cb in CALLBACKS:
        f, s = med(f"cb_{cb}", "framepace"), med(f"cb_{cb}", "scx_simple")
        if None not in (f, s):
            out.append((f"{cb} mean cost ≤ 1.3× scx_simple", f"{ratio(f, s):.2f}×", "1.3×", f <= 1.3 * s))
    return out


def fmt(cell):
    median, lo, hi = cell
    if max(abs(median), abs(hi)) >= 100:
        return f"{median:.0f} ({lo:.0f}–{hi:.0f})"
    return f"{median:.3g} ({lo:.3g}–{hi:.3g})"


def markdown(doc, table, ejected):
    meta = doc["meta"]
    lines = [
        f"# Scheduler benchmark — {meta['date']}",
        "",
        f"Kernel {meta['kernel']}, {meta['vcpus']} vCPUs, QEMU TCG (software emulation), "
        f"{meta['reps']} repetition(s) per scheduler, interleaved; scx_simple from "
        f"{meta.get('scx_simple') or 'the kernel tree'}; {meta['seconds']} s in all"
        + (" — **smoke run: short durations; not a measurement**." if meta["smoke"] else "."),
        "",
        "TCG inflates every absolute time (each guest instruction is emulated); the ratios between "
        "schedulers measured in the same boot are the figures that carry over to real hardware.",
        "",
        "Medians, with the range over repetitions in brackets. Lower is better, except where a row "
        "says higher.",
        "",
        "| metric | EEVDF | scx_simple | framepace | framepace / EEVDF | framepace / scx_simple |",
        "|---|---|---|---|---|---|",
    ]
    titles = {key: (title, unit) for key, title, unit, _ in METRICS}
    titles.update({f"cb_{cb}": (f"{cb} mean cost (bpf_stats)", "ns") for cb in CALLBACKS})
    for key, cells in table.items():
        if not cells:
            continue
        title, unit = titles[key]
        row = [f"{title} [{unit}]"]
        row += [fmt(cells[s]) if s in cells else "—" for s in SCHEDULERS]
        fp = cells.get("framepace", (None,))[0]
        for base in ("eevdf", "scx_simple"):
            b = cells.get(base, (None,))[0]
            row.append(f"{ratio(fp, b):.2f}×" if fp is not None and b is not None else "—")
        lines.append("| " + " | ".join(row) + " |")
    if ejected:
        lines += ["", "Runs left out of every figure: the kernel ejected the scheduler during them "
                  "(`stayed_attached` false), so their figures are not its own: "
                  + ", ".join(f"{r['scheduler']} (repetition {r['rep'] + 1})" for r in ejected)
                  + "."]
    lines += ["", "## Targets", "", "| target | framepace | bound | met |", "|---|---|---|---|"]
    for what, got, bound, met in targets(table):
        lines.append(f"| {what} | {got} | {bound} | {'yes' if met else '**no**'} |")
    lines += ["", "![frame-start lateness CDF](frame_lateness_cdf.png)", "",
              "![latency, throughput and cost](summary_bars.png)", ""]
    return "\n".join(lines)


def plot_cdf(doc, path):
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for sched in SCHEDULERS:
        samples = sorted(s for r in doc["runs"] if r["scheduler"] == sched
                         for s in r["game"]["render"].get("late_us", []))
        if not samples:
            continue
        n = len(samples)
        ax.plot([max(s, 1) for s in samples], [(i + 1) / n for i in range(n)],
                label=LABEL[sched], color=COLOR[sched])
    ax.set_xscale("log")
    ax.set_xlabel("render frame-start lateness (µs, log scale)")
    ax.set_ylabel("fraction of frames")
    ax.set_title("Synthetic game, 120 Hz render thread under load: lateness CDF")
    ax.axvline(8333, color="#cc0000", linestyle=":", linewidth=1)
    ax.text(8333, 0.5, " one frame (8.33 ms)", color="#cc0000", fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_bars(table, path):
    panels = ["render_p99", "render_missed", "input_p99", "loaded_wakeup_p99", "messaging_s",
              "hackbench_s"] + [f"cb_{cb}" for cb in CALLBACKS]
    titles = {key: f"{title} [{unit}]" for key, title, unit, _ in METRICS}
    titles.update({f"cb_{cb}": f"{cb} [ns/call]" for cb in CALLBACKS})
    panels = [p for p in panels if table.get(p)]
    cols = 4
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3 * rows), squeeze=False)
    for ax, key in zip(axes.flat, panels):
        cells = table[key]
        names = [s for s in SCHEDULERS if s in cells]
        medians = [cells[s][0] for s in names]
        errors = [[cells[s][0] - cells[s][1] for s in names], [cells[s][2] - cells[s][0] for s in names]]
        ax.bar(range(len(names)), medians, yerr=errors, capsize=3, color=[COLOR[s] for s in names])
        ax.set_xticks(range(len(names)), [LABEL[s].split(" ")[0] for s in names], fontsize=8)
        ax.set_title(titles[key], fontsize=9)
        ax.grid(True, axis="y", alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.suptitle("median, whiskers: range over repetitions (lower is better)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--in", dest="source", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    doc = load(args.source)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "raw.json"), "w") as f:
        json.dump(doc, f)
    missing = [s for s in SCHEDULERS if not any(r["scheduler"] == s for r in doc["runs"])]
    ejected = [r for r in doc["runs"] if r.get("stayed_attached") is False]
    doc = dict(doc, runs=[r for r in doc["runs"] if r.get("stayed_attached") is not False])
    table = summarise(doc)
    with open(os.path.join(args.out, "summary.md"), "w") as f:
        f.write(markdown(doc, table, ejected))
    plot_cdf(doc, os.path.join(args.out, "frame_lateness_cdf.png"))
    plot_bars(table, os.path.join(args.out, "summary_bars.png"))
    if missing:
        sys.exit(f"report: no runs for {', '.join(missing)}")
    print(os.path.join(args.out, "summary.md"))


if __name__ == "__main__":
    main()
