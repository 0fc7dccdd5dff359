#!/bin/bash
# Walking skeleton: framepaced loads framepace on the real kernel, keeps it attached under
# CPU + fork load with its counters moving, detaches cleanly on SIGTERM, reports a kernel
# ejection, and refuses clearly without privileges.
# checks: unprivileged_refused attach enable_seq_counts under_load policy_sees_all sampler_rests_when_idle kfunc_names sigterm_detaches ejection_reported
. /usr/lib/framepace-vm/lib.sh
. /usr/lib/framepace-vm/message-ids.env

latest_counters() { journal_entry "$MSG_SCHEDULER_COUNTERS"; }

# --- without privileges: a clear refusal, nothing attached
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all /usr/bin/framepaced 2>&1)
rc=$?
if [ "$rc" = 1 ] && grep -q "needs root" <<<"$out" && state_is disabled; then
    result unprivileged_refused pass "exit 1: $out"
else
    result unprivileged_refused fail "rc=$rc state=$(sched_state) output: $out"
fi

# --- attach through the unit (Type=notify: start returns once READY=1 was sent)
use_daemon_args --no-restart --stats-interval=1000
seq_before=$(cat /sys/kernel/sched_ext/enable_seq)
start_ns=$(date +%s%N)
if systemctl start framepaced.service && state_is enabled && [ "$(sched_ops)" = framepace ]; then
    ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
    result attach pass "state enabled, ops framepace, ready after ${ms} ms" \
        "{\"ready_ms\":$ms,\"enable_seq\":$(cat /sys/kernel/sched_ext/enable_seq)}"
else
    result attach fail "state=$(sched_state) ops=$(sched_ops) unit=$(systemctl is-active framepaced)"
    journalctl -u framepaced --no-pager | tail -n 40 >/dev/console
fi
seq_after=$(cat /sys/kernel/sched_ext/enable_seq)
if [ "$seq_after" -gt "$seq_before" ]; then
    result enable_seq_counts pass "enable_seq $seq_before -> $seq_after"
else
    result enable_seq_counts fail "enable_seq did not move ($seq_before -> $seq_after)"
fi

# --- 20 s of CPU + fork load: never leaves enabled, counters move
sleep 1.5
before=$(latest_counters)
events_before=$(scx_events)
stress-ng --cpu "$(( $(nproc) * 2 ))" --fork 2 --timeout 20s --quiet &
load=$!
samples=0 bad=0
# Shell builtins only in the sampler: a fork per sample would be slower than the sampling.
while kill -0 "$load" 2>/dev/null; do
    samples=$((samples + 1))
    read -r state </sys/kernel/sched_ext/state || state=missing
    read -r ops </sys/kernel/sched_ext/root/ops 2>/dev/null || ops=none
    if [ "$state" != enabled ] || [ "$ops" != framepace ]; then bad=$((bad + 1)); fi
    read -r -t 0.2 <> <(:) || true
done
wait "$load"; load_rc=$?
sleep 1.5
after=$(latest_counters)
metrics=$(jq -cn --argjson b "$before" --argjson a "$after" '
    [$a | to_entries[] | select(.key | startswith("FRAMEPACE_")) |
     {key: (.key | ltrimstr("FRAMEPACE_") | ascii_downcase),
      value: ((.value | tonumber) - (($b[.key] // "0") | tonumber))}] | from_entries')
moved() { [ "$(echo "$metrics" | jq -r ".$1 // 0")" -gt 0 ]; }
if [ "$bad" = 0 ] && [ "$samples" -ge 60 ] && [ "$load_rc" = 0 ] &&
   moved runs && moved enqueue_shared && moved dispatch_shared && moved task_inits &&
   { moved direct_prev || moved direct_llc; } && systemctl is-active -q framepaced; then
    result under_load pass "$samples samples all enabled; counter deltas over 20 s: $metrics" \
        "$(jq -cn --argjson d "$metrics" --argjson s "$samples" '{samples:$s,deltas:$d}')"
else
    result under_load fail "samples=$samples not-enabled=$bad stress rc=$load_rc deltas=$metrics unit=$(systemctl is-active framepaced)"
fi

# --- every task goes through framepace's policy: the daemon asked for SCX_OPS_ENQ_EXITING
# (every sched_ext kernel has it), SCX_OPS_ENQ_MIGRATION_DISABLED and SCX_OPS_ALLOW_QUEUED_WAKEUP
# (neither in 6.12), and on kernels
# that count them no exiting (stress-ng's forks) nor migration-disabled task was queued by
# the kernel itself, nor given the default 20 ms slice, during the load.
events_after=$(scx_events)
flags=$(journalctl -b -u framepaced --no-pager -o cat | sed -n 's/.*sched_ext ops flags: //p' | tail -n1)
case "$(uname -r)" in
    6.12.*) want="SCX_OPS_ENQ_EXITING" ;;
    *) want="SCX_OPS_ENQ_EXITING SCX_OPS_ENQ_MIGRATION_DISABLED SCX_OPS_ALLOW_QUEUED_WAKEUP" ;;
esac
skipped=$(jq -cn --argjson b "$events_before" --argjson a "$events_after" '
    [$a | to_entries[] | select(.key | test("ENQ_SKIP|REFILL_SLICE_DFL")) |
     {key: .key, value: (.value - ($b[.key] // 0))}] | from_entries')
[ "$skipped" = '{}' ] && skipped="none (this kernel publishes no sched_ext events)"
why="ops flags logged: '$flags'; kernel events over the load: $skipped"
if [ "$flags" = "$want" ] &&
    [ "$(echo "$events_after" | jq --argjson b "$events_before" '
        def sum: [.SCX_EV_ENQ_SKIP_EXITING, .SCX_EV_ENQ_SKIP_MIGRATION_DISABLED,
                  .SCX_EV_REFILL_SLICE_DFL | . // 0] | add;
        sum - ($b | sum)')" = 0 ]; then
    result policy_sees_all pass "$why"
else
    result policy_sees_all fail "$why (expected flags '$want' and no ENQ_SKIP nor REFILL_SLICE_DFL events)"
fi

# --- the utilisation sampler fires every 10 ms while a CPU is busy and every 80 ms once a
# sample found every CPU idle (util_sample_period_ns): its rate on the idle system (the test
# itself and the daemon's 1 s statistics still wake a CPU now and then) is under half its rate
# under the 20 s of load above.
busy_samples=$(echo "$metrics" | jq -r '.util_samples // 0')
idle0=$(counter util_samples); sleep 5; idle1=$(counter util_samples)
idle_samples=$((idle1 - idle0))
why="util_samples: $busy_samples in the 23 s of load and settling, $idle_samples in 5 s idle"
if [ "$busy_samples" -ge $((23 * 30)) ] && [ $((idle_samples * 23 * 2)) -lt $((busy_samples * 5)) ]; then
    result sampler_rests_when_idle pass "$why"
else
    result sampler_rests_when_idle fail "$why (expected at least 30 a second under load, and under half that rate idle)"
fi

# --- which kfunc names the scheduler ran with: kfuncs.h picks 6.12's (scx_bpf_dispatch,
# scx_bpf_consume) or 6.13+'s (scx_bpf_dsq_insert, scx_bpf_dsq_move_to_local) by what the
# kernel has. A kernel has one set or the other, so a scheduler that ran here took that set's
# branches: the load resolves no others.
has() { grep -qw "$1" /proc/kallsyms; }
if has scx_bpf_dsq_insert && has scx_bpf_dsq_move_to_local; then names="6.13+"
elif has scx_bpf_dispatch && has scx_bpf_consume; then names="6.12"
else names="neither"; fi
why="kernel $(uname -r) has the $names kfunc names (scx_bpf_dsq_insert: $(has scx_bpf_dsq_insert && echo yes || echo no), scx_bpf_dispatch: $(has scx_bpf_dispatch && echo yes || echo no)); runs under load +$(echo "$metrics" | jq -r '.runs // 0')"
case "$(uname -r)" in 6.12.*) want="6.12" ;; *) want="6.13+" ;; esac
if [ "$names" = "$want" ] && moved runs; then
    result kfunc_names pass "$why"
else
    result kfunc_names fail "$why (expected the $want names)"
fi

# --- SIGTERM: detached, recorded exit kind is SCX_EXIT_UNREG (64), exit status 0
systemctl stop framepaced.service
wait_for 5 state_is disabled
entry=$(journal_entry "$MSG_SCHEDULER_DETACHED")
kind=$(echo "$entry" | jq -r '.FRAMEPACE_EXIT_KIND // "none"')
status=$(systemctl show -P ExecMainStatus framepaced.service)
if state_is disabled && [ "$kind" = 64 ] && [ "$status" = 0 ]; then
    result sigterm_detaches pass "state disabled, exit kind 64 ($(echo "$entry" | jq -r .FRAMEPACE_EXIT_KIND_NAME)), status 0"
else
    result sigterm_detaches fail "state=$(sched_state) kind=$kind status=$status entry=$entry"
fi

# --- the kernel ejects the scheduler (sysrq-S): structured report, and with --no-reload a
# non-zero exit (the default, reloading with back-off, is tested in 30-recovery)
use_daemon_args --no-restart --no-reload
systemctl reset-failed framepaced.service 2>/dev/null
systemctl start framepaced.service
if wait_for 30 state_is enabled; then
    echo S >/proc/sysrq-trigger
    wait_for 10 bash -c '! systemctl is-active -q framepaced.service'
    entry=$(journal_entry "$MSG_SCHEDULER_EJECTED")
    kind=$(echo "$entry" | jq -r '.FRAMEPACE_EXIT_KIND // "none"')
    status=$(systemctl show -P ExecMainStatus framepaced.service)
    if [ "$kind" = 67 ] && [ "$status" = 2 ] && state_is disabled; then
        result ejection_reported pass "sysrq-S: exit kind 67, reason '$(echo "$entry" | jq -r .FRAMEPACE_EXIT_REASON)', daemon status 2"
    else
        result ejection_reported fail "kind=$kind status=$status state=$(sched_state) entry=$entry"
    fi
else
    result ejection_reported fail "scheduler did not re-attach (state $(sched_state))"
fi
rm -rf /run/systemd/system/framepaced.service.d
systemctl daemon-reload
exit 0
