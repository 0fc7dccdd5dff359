#!/bin/bash
# The benchmark's smoke run (one short repetition of every scenario under every scheduler, the
# peers' loaders included), so that the benchmark code and the loaders cannot rot; the host
# turns its figures into a report (ctest bench_report_smoke). Its figures are not a measurement.
# checks: bench_smoke
. /usr/lib/framepace-vm/lib.sh
. /usr/lib/framepace-vm/job.env
systemctl stop framepaced.service framepaced.socket 2>/dev/null
modprobe uinput
peers=/usr/lib/framepace-vm/peers
peer_args=(--peers-missing "${FRAMEPACE_PEERS_MISSING:-no loaders in the guest}")
[ -d "$peers" ] && peer_args=(--peers "$peers")
# The figures of a baseline or a peer the kernel ejects mid-run are not a measurement, but not
# rot either: scx_simple's one global FIFO can stall RCU under TCG ("runtime error: RCU CPU
# stall"), and the full runs saw scx_lavd and scx_bpfland ejected for runnable-task stalls
# (docs/benchmarks.md). Such a run is reported in the detail; the report leaves it out.
# framepace must stay attached, and a peer may leave only for a stall; every scheduler and
# peer must start (a loader that rots does not); every sched_ext scheduler that stayed
# attached must show its callbacks' costs, and every peer that stayed attached its own
# counters moving.
if ! python3 /usr/lib/framepace-vm/bench/sched_bench.py --out /run/bench-smoke.json --smoke \
        --scx-simple /usr/lib/framepace-vm/scx/scx_simple --tools /usr/lib/framepace-vm \
        "${peer_args[@]}" 2>/run/bench-smoke.log; then
    result bench_smoke fail "sched_bench.py failed: $(tail -c 600 /run/bench-smoke.log)"
    exit 0
fi
doc=/run/bench-smoke.json
expected=$(jq '.meta.schedulers | length' $doc)
schedulers=$(jq '[.runs[].scheduler] | unique | length' $doc)
# The idle pairs (EEVDF and framepace alternated) ran, framepace attached in each.
pairs=$(jq '[.idle_pairs[] | select(.framepace.stayed_attached and .eevdf.idle_wakeup.samples > 0)] | length' $doc)
# A peer is excused only for a stall (its loader reports the kernel's reason as it exits);
# one that failed otherwise (a runtime error of its BPF) is broken.
not_attached=$(jq -r '[.runs[] | select((.stayed_attached | not) and (.scheduler == "framepace" or
    (.scheduler != "scx_simple" and ((.loader_exit // "" | tostring) | test("stall|failed to check in") | not)))) | .scheduler] | join(" ")' $doc)
fewest_callbacks=$(jq '[.runs[] | select(.scheduler != "eevdf" and .stayed_attached) | .callbacks | length] | min' $doc)
still=$(jq -r '[.runs[] | select(.stayed_attached and .peer_counters and (.peer_counters.moved | length) == 0) | .scheduler] | join(" ")' $doc)
moved=$(jq -r '[.runs[] | select(.peer_counters) | "\(.scheduler) \(.peer_counters.moved | length)"] | join(", ")' $doc)
ejected=$(jq -r '[.runs[] | select(.stayed_attached | not) | .scheduler] | join(" ")' $doc)
peers_run=$(jq -r '.meta.peers.run | join(" ")' $doc)
why="schedulers run: $schedulers of $expected; peers: ${peers_run:-none (${FRAMEPACE_PEERS_MISSING:-no loaders in the guest})}; peer counters moved: ${moved:-n/a}; fewest callbacks measured: $fewest_callbacks; idle pairs: $pairs of $(jq .meta.idle_pairs $doc); ejected mid-run: ${ejected:-none}"
[ -n "$ejected" ] && why="$why ($(dmesg | grep -o 'sched_ext: BPF scheduler .* disabled (.*' | grep -v 'unregistered' | tail -3 | paste -sd';'))"
if [ "$schedulers" = "$expected" ] && [ -z "$not_attached" ] && [ -z "$still" ] && [ "$fewest_callbacks" -ge 4 ] &&
    [ "$pairs" = "$(jq .meta.idle_pairs $doc)" ] && [ "$pairs" -ge 1 ]; then
    result bench_smoke pass "$why; $(jq -c '.meta | del(.peers.build)' $doc)" "@$doc"
else
    result bench_smoke fail "$why${not_attached:+; not attached throughout: $not_attached}${still:+; counters still: $still}"
fi
exit 0
