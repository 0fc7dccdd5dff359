#!/bin/bash
# One game's threads sharing one CPU (a game confined to few cores, a busy handheld): the
# benchmark's synthetic game (bench/game_sim.cpp) with Steam's environment, pinned to CPU 0,
# with 3 ms of render work: render 3 ms every 8.33 ms, logic 4.5 ms every 16.67 ms (due at
# every other render tick), audio 0.1 ms every 2.67 ms, about two thirds of the CPU. 8 s under
# EEVDF first, then under framepace, each traced (bench/trace_lateness.py); EEVDF's figures
# are shown alongside, not checked.
#   one_cpu_audio_first: audio, a short latency-critical waker, takes the CPU from render and
#       logic once they have run twice its mean run (policy.h: victim_rank): its median from
#       wakeup to run is under 400 us. It waited for their whole runs before, and started
#       0.8 ms late at the median (EEVDF 0.2 ms). How often audio took a game thread's CPU is
#       reported beside; it is no check: a game thread whose slice ends also gives way to audio
#       when audio waits.
#   one_cpu_render_order: at the ticks render and logic share, render does not wait for
#       logic's whole run: render's median from wakeup to run is under 1.5 ms. It was 4.7 ms
#       while a thread that had just run woke still ahead of the clock by that run, behind
#       logic, which the sleep bound had put at the front (policy.h: enqueue_vtime).
# checks: one_cpu_audio_first one_cpu_render_order
. /usr/lib/framepace-vm/lib.sh
TOOLS=/usr/lib/framepace-vm
T=/sys/kernel/tracing

# traced NAME: the pinned game, traced; its report in /run/one-cpu-NAME.json, the trace's
# lateness of each thread in /run/one-cpu-NAME-THREAD.json.
traced() {
    local e thread clock buffer
    clock=$(sed 's/.*\[\(.*\)\].*/\1/' $T/trace_clock)
    buffer=$(cat $T/buffer_size_kb)
    echo mono >$T/trace_clock
    echo 30000 >$T/buffer_size_kb
    echo 4096 >$T/saved_cmdlines_size
    echo >$T/trace
    for e in sched/sched_waking sched/sched_wakeup sched/sched_switch timer/hrtimer_start \
             timer/hrtimer_expire_entry; do
        echo 1 >$T/events/$e/enable
    done
    env SteamAppId=480 taskset -c 0 "$TOOLS/framepace-bench-game" 8 3000 >/run/one-cpu-$1.json
    echo 0 >$T/events/enable
    cat $T/trace >/run/one-cpu-$1.trace
    echo >$T/trace
    echo "$clock" >$T/trace_clock
    echo "${buffer%% *}" >$T/buffer_size_kb
    for thread in render logic audio; do
        python3 "$TOOLS/bench/trace_lateness.py" /run/one-cpu-$1.trace --thread $thread \
            --worst 0 >/run/one-cpu-$1-$thread.json || echo '{}' >/run/one-cpu-$1-$thread.json
    done
    rm -f /run/one-cpu-$1.trace
}
# figures NAME: what the game and the trace say, as JSON.
figures() {
    jq -cn --slurpfile game /run/one-cpu-$1.json --slurpfile render /run/one-cpu-$1-render.json \
        --slurpfile logic /run/one-cpu-$1-logic.json --slurpfile audio /run/one-cpu-$1-audio.json '
        {audio_late_p50_us: $game[0].audio.late_p50_us, audio_missed: $game[0].audio.missed,
         render_late_p50_us: $game[0].render.late_p50_us, render_missed: $game[0].render.missed,
         logic_missed: $game[0].logic.missed,
         render_wake_to_run_p50_us: $render[0].wake_to_run_p50_us,
         audio_wake_to_run_p50_us: $audio[0].wake_to_run_p50_us,
         audio_preempted_game: (($render[0].preempted_by.audio // 0) + ($logic[0].preempted_by.audio // 0)),
         lost_events: ([$render[0].lost_events, $logic[0].lost_events, $audio[0].lost_events] | max)}'
}

systemctl stop framepaced.service framepaced.socket 2>/dev/null
if ! wait_for 10 state_is disabled; then
    result one_cpu_audio_first fail "EEVDF not measured: sched_ext still $(sched_state)"
    result one_cpu_render_order fail "EEVDF not measured: sched_ext still $(sched_state)"
    exit 0
fi
traced eevdf
eevdf=$(figures eevdf)
systemctl start framepaced.socket framepaced.service
if ! wait_for 20 state_is enabled; then
    result one_cpu_audio_first fail "framepace did not start (state $(sched_state))"
    result one_cpu_render_order fail "framepace did not start (state $(sched_state))"
    exit 0
fi
sleep 2
traced framepace
fp=$(figures framepace)
seen="framepace $fp; EEVDF $eevdf"
metrics=$(jq -cn --argjson framepace "$fp" --argjson eevdf "$eevdf" '{framepace: $framepace, eevdf: $eevdf}')

if ! jq -e . >/dev/null 2>&1 <<<"$fp"; then
    result one_cpu_audio_first fail "no figures from the game or its trace (the log has why); EEVDF $eevdf"
    result one_cpu_render_order fail "no figures from the game or its trace (the log has why); EEVDF $eevdf"
    exit 0
fi
preempts=$(jq -r '.audio_preempted_game // 0' <<<"$fp")
audio_p50=$(jq -r '.audio_wake_to_run_p50_us | if . == null then "none" else floor end' <<<"$fp")
if [ "$(jq -r '.lost_events // 0' <<<"$fp")" != 0 ]; then
    result one_cpu_audio_first fail "the trace lost events: $seen" "$metrics"
elif [[ $audio_p50 =~ ^[0-9]+$ ]] && [ "$audio_p50" -lt 400 ]; then
    result one_cpu_audio_first pass "audio's wakeup to run, median $audio_p50 us (it took render's or logic's CPU $preempts times in 8 s); $seen" "$metrics"
else
    result one_cpu_audio_first fail "audio's wakeup to run, median $audio_p50 us (under 400); $seen" "$metrics"
fi

wait_p50=$(jq -r '.render_wake_to_run_p50_us | if . == null then "none" else floor end' <<<"$fp")
if [[ $wait_p50 =~ ^[0-9]+$ ]] && [ "$wait_p50" -lt 1500 ]; then
    result one_cpu_render_order pass "render's wakeup to run, median $wait_p50 us; $seen" "$metrics"
else
    result one_cpu_render_order fail "render's wakeup to run, median $wait_p50 us (under 1500); $seen" "$metrics"
fi
