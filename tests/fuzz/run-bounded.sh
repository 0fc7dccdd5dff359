#!/usr/bin/env bash
# run-bounded.sh FUZZER SEED_CORPUS WORK_CORPUS SECONDS: a time-bounded libFuzzer run that
# starts from the committed seeds and keeps its finds outside the source tree. Inputs go up to
# 200 kB (-max_len), past the 64 KiB message cap, so the size limits are fuzzed too. Any crash,
# sanitizer report or leak fails the run (libFuzzer exits non-zero and leaves crash-* files).
set -euo pipefail
fuzzer=$1 seeds=$2 work=$3 seconds=$4
mkdir -p "$work"
cd "$(dirname "$work")"
"$fuzzer" -max_total_time="$seconds" -max_len=200000 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    "$work" "$seeds" 2>&1 | tail -n 25
