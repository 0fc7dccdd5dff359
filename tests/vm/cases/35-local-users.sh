#!/bin/bash
# What an unprivileged local user can do to the daemon, and what must survive: an exec storm
# with ~1.8 MB environments does not stall the event loop (no watchdog kill, Varlink answers,
# a Steam game started during it is classified); thousands of *.exe processes cannot crowd a
# Steam game out of the classes map, and each of them is known to the daemon even where the
# kernel skipped the exec hook; a MarkGame choice survives a crash and adoption; a daemon
# that keeps crashing leaves the kernel's fair scheduler, not an unwatched framepace.
# checks: exec_storm_bounded class_map_crowding lost_execs_made_up marks_survive_crash start_limit_detaches
. /usr/lib/framepace-vm/lib.sh
. /usr/lib/framepace-vm/message-ids.env

systemctl stop framepaced.service 2>/dev/null
systemctl reset-failed framepaced.service 2>/dev/null
rm -rf /run/systemd/system/framepaced.service.d /var/lib/framepace/marks.json
systemctl daemon-reload
systemctl start framepaced.service
wait_for 30 state_is enabled

game_entry() { vcall ListGames | jq -c "[.processes[] | select(.pid == $1)][0] // empty"; }
is_game() { [ "$(game_entry "$1" | jq -r '.class // empty')" = game ]; }
task_class() { vtasks | jq -r "[.tasks[] | select(.tid == $1)][0].process_class // \"missing\""; }
restarts() { systemctl show -P NRestarts framepaced.service; }
watchdog_kills() { journalctl -u framepaced.service --no-pager -o cat | grep -ci "watchdog timeout" || true; }
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
# steam_game: a Steam game of uid 65534 in the background; $! is the game's own pid. It wakes
# every 200 ms, as a game does: a task reads its class from the map when it runs, so one that
# never ran again after being classified would keep its old class in BPF.
steam_game() {
    setpriv --reuid=65534 --regid=65534 --clear-groups env SteamAppId=480 \
        python3 -c 'import time
while True: time.sleep(0.2)' &
}
task_class_is() { [ "$(task_class "$1")" = "$2" ]; }

# --- exec storm: two loops of uid 65534 exec'ing /bin/true with 15 variables of 120 KiB
# (1.8 MB: MAX_ARG_STRLEN caps one string at 128 KiB, the total stays under 2 MB) for 30 s
restarts0=$(restarts) wd0=$(watchdog_kills) seq0=$(enable_seq)
cat >/run/fp-exec-storm.sh <<'STORM'
for i in $(seq 15); do export "BIG$i=$(head -c 122880 /dev/zero | tr '\0' x)"; done
end=$(( $(date +%s) + 30 ))
while [ "$(date +%s)" -lt "$end" ]; do /bin/true; done
STORM
execs0=$(vcall GetStats | jq .events.exec)
storm=()
for _ in 1 2; do as_nobody bash /run/fp-exec-storm.sh & storm+=($!); done
sleep 10
steam_game; STEAM=$!
latency=$(python3 /usr/lib/framepace-vm/bench/varlink_latency.py "$ADDR" "$IF.GetStatus" 150 100 2>&1)
wait "${storm[@]}"
wait_for 5 is_game "$STEAM"
steam=$(game_entry "$STEAM")
execs=$(( $(vcall GetStats | jq .events.exec) - execs0 ))
dropped=$(vcall GetStats | jq -c '[.ringbufs[].dropped]')
restarts1=$(restarts) wd1=$(watchdog_kills)
# By its exec event, or (where the kernel skipped the exec hook) by the rescan that follows.
if [ "$(jq -r .class <<<"$steam")" = game ] && [[ "$(jq -r .reason <<<"$steam")" = *steam-env ]] &&
   [ "$restarts1" = "$restarts0" ] && [ "$wd1" = "$wd0" ] && [ "$(enable_seq)" = "$seq0" ] &&
   jq -e .p99_us <<<"$latency" >/dev/null && [ "$execs" -gt 0 ]; then
    result exec_storm_bounded pass "30 s, 2 loops of uid 65534 with 1.8 MB environments: $execs exec events; no restart, no watchdog kill; the Steam game started 10 s in: $steam; GetStatus every 100 ms during it: $latency; ring drops $dropped" \
        "{\"exec_events\":$execs,\"getstatus\":$latency,\"dropped\":$dropped}"
else
    result exec_storm_bounded fail "steam=$steam restarts $restarts0->$restarts1 watchdog $wd0->$wd1 enable_seq $seq0->$(enable_seq) latency=$latency execs=$execs drops=$dropped"
fi
kill "$STEAM" 2>/dev/null

# --- 4200 sleeping a.exe of uid 65534 (more than the 4096 places of the classes map), then a
# Steam game of the same user: the game is classified and reaches the scheduler
cp /usr/lib/framepace-vm/framepace-vm-sleeper /tmp/a.exe
missed0=$(vcall GetStats | jq '.hooks_missed.exec // 0')
systemd-run --quiet --unit=fp-exe-crowd --uid=65534 --gid=65534 -p TasksMax=infinity -p LimitNPROC=infinity \
    bash -c 'for i in $(seq 4200); do /tmp/a.exe & done; wait'
wait_for 120 bash -c '[ "$(pgrep -c -x a.exe)" -ge 4200 ]'
crowd=$(pgrep -c -x a.exe)
# the daemon has seen every exec once the count of games stops growing
settled() { local a b; a=$(vcall ListGames | jq '.processes | length'); sleep 2; b=$(vcall ListGames | jq '.processes | length'); [ "$a" = "$b" ]; }
wait_for 60 settled
# Exec events the kernel never wrote (a skipped hook run) are made up for by a /proc rescan
# once no event has been lost for a second.
known_exe() { vcall ListGames | jq '[.processes[] | select(.comm == "a.exe")] | length'; }
all_exe_known() { [ "$(known_exe)" -ge "$crowd" ]; }
wait_for 30 all_exe_known
known=$(known_exe)
missed=$(( $(vcall GetStats | jq '.hooks_missed.exec // 0') - missed0 ))
rescan=$(journal_entry "$MSG_PROCESSES_RESCANNED" | jq -c '{FRAMEPACE_LOST_TOTAL, FRAMEPACE_FOUND, FRAMEPACE_GONE, FRAMEPACE_RESCAN_USEC, FRAMEPACE_RESCAN_STEPS, FRAMEPACE_LONGEST_STEP_USEC}')
# A rescan reads every process of the VM (well over 32) in steps of 32, the event loop served
# between them: it cannot have run in one step.
stepped() { [ "$(jq -r .FRAMEPACE_LOST_TOTAL <<<"$rescan")" = null ] || [ "$(jq -r '.FRAMEPACE_RESCAN_STEPS // 0' <<<"$rescan")" -gt 1 ]; }
steam_game; STEAM=$!
wait_for 10 is_game "$STEAM"
sleep 1
steam=$(game_entry "$STEAM")
wait_for 5 task_class_is "$STEAM" game
tclass=$(task_class "$STEAM")
full=$(journal_entry "$MSG_CLASS_MAP_FULL" | jq -c '{FRAMEPACE_CLASS_CAPACITY, FRAMEPACE_CLASS_WAITING}')
if [ "$crowd" -ge 4200 ] && [ "$(jq -r .class <<<"$steam")" = game ] && [ "$tclass" = game ] &&
   [ "$(jq -r .FRAMEPACE_CLASS_CAPACITY <<<"$full")" = 4096 ] && state_is enabled; then
    result class_map_crowding pass "$crowd a.exe of uid 65534, map full ($full); then a Steam game of the same user: $steam, its task's class in BPF: $tclass"
else
    result class_map_crowding fail "crowd=$crowd steam=$steam task class=$tclass full=$full state=$(sched_state) classified=$(vcall ListGames | jq '.processes | length') drops=$(vcall GetStats | jq -c '[.ringbufs[].dropped]') suppressed=$(journalctl --no-pager -o cat -u systemd-journald.service | grep -c Suppressed)"
fi
if [ "$known" -ge "$crowd" ] && stepped; then
    result lost_execs_made_up pass "all $crowd a.exe known to the daemon ($known); exec hook runs the kernel skipped during the crowd: $missed; the last rescan: $rescan" \
        "{\"crowd\":$crowd,\"exec_hook_missed\":$missed,\"rescan\":$rescan}"
else
    result lost_execs_made_up fail "$known of $crowd a.exe known; exec hook runs skipped: $missed; rescan: $rescan; ring drops $(vcall GetStats | jq -c '[.ringbufs[].dropped] | add')"
fi
kill "$STEAM" 2>/dev/null
systemctl stop fp-exe-crowd.service 2>/dev/null
wait_for 30 bash -c '[ "$(pgrep -c -x a.exe)" = 0 ]'

# --- MarkGame survives kill -9 and adoption
bash -c 'while :; do sleep 0.1; done' & LOOP=$!
vcall MarkGame "{\"pid\": $LOOP}" >/dev/null
wait_for 5 is_game "$LOOP"
seq0=$(enable_seq) pid0=$(main_pid)
adopted0=$(journalctl -o cat --no-pager MESSAGE_ID="$MSG_SCHEDULER_ADOPTED" | wc -l)
signal_daemon KILL
wait_for 30 bash -c "[ \$(journalctl -o cat --no-pager MESSAGE_ID=$MSG_SCHEDULER_ADOPTED | wc -l) -gt $adopted0 ]"
wait_for 5 is_game "$LOOP"
entry=$(game_entry "$LOOP")
wait_for 5 task_class_is "$LOOP" game
tclass=$(task_class "$LOOP")
if [ "$(jq -r .manual <<<"$entry")" = true ] && [ "$tclass" = game ] && [ "$(enable_seq)" = "$seq0" ] &&
   [ "$(main_pid)" != "$pid0" ]; then
    result marks_survive_crash pass "marked pid $LOOP, kill -9, adopted (enable_seq $seq0 unchanged): $entry, task class $tclass; stored: $(cat /var/lib/framepace/marks.json 2>&1 | head -c 200)"
else
    result marks_survive_crash fail "entry=$entry class=$tclass enable_seq $seq0->$(enable_seq) pid $pid0->$(main_pid) store=$(cat /var/lib/framepace/marks.json 2>&1 | head -c 200)"
fi
vcall UnmarkGame "{\"pid\": $LOOP}" >/dev/null 2>&1
kill "$LOOP" 2>/dev/null

# --- a daemon that crashes more than StartLimitBurst (5 in 60 s) times: the unit fails, its
# fd store is released and the kernel detaches the scheduler (the fair class runs everything)
kills=0
for _ in $(seq 8); do
    systemctl is-failed -q framepaced.service && break
    wait_for 15 bash -c 'systemctl is-active -q framepaced.service && [ "$(cat /sys/kernel/sched_ext/state)" = enabled ]' || break
    signal_daemon KILL && kills=$((kills + 1))
    sleep 0.3
done
wait_for 10 systemctl is-failed -q framepaced.service
failed=$(systemctl is-failed framepaced.service)
fdstore=$(systemctl show -P NFileDescriptorStore framepaced.service)
wait_for 5 state_is disabled
after=$(sched_state)
systemctl reset-failed framepaced.service
systemctl start framepaced.service
wait_for 30 state_is enabled
back=$(sched_state)
if [ "$failed" = failed ] && [ "${fdstore:-0}" = 0 ] && [ "$after" = disabled ] && [ "$back" = enabled ]; then
    result start_limit_detaches pass "$kills kills: unit $failed, fd store ${fdstore:-0}, sched_ext $after; reset-failed and start: $back"
else
    result start_limit_detaches fail "kills=$kills unit=$failed fdstore=$fdstore state after=$after back=$back"
fi

systemctl stop framepaced.service
exit 0
