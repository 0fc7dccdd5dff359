#!/bin/bash
# D-Bus on the real system bus: power-profiles-daemon's profile selects a tunable preset
# (within 1 s), explicit choices win until ResetTunables, the daemon runs on without the
# service and never starts it; PrepareForSleep from logind's name is logged before and
# after, with the scheduler still enabled and never replaced.
. /usr/lib/framepace-vm/lib.sh
. /usr/lib/framepace-vm/message-ids.env

rm -rf /run/systemd/system/framepaced.service.d /var/lib/framepace/tunables.json
systemctl daemon-reload
systemctl start power-profiles-daemon.service
systemctl restart framepaced.socket framepaced.service
wait_for 10 state_is enabled

profile_field() { vcall GetPowerProfile | jq -r ".$1 // \"null\""; }
source_of() { vcall GetTunables | jq -r "[.tunables[] | select(.name == \"$1\")][0].source"; }
daemon_ok() { systemctl is-active -q framepaced.service && state_is enabled; }
# ms_until VALUE NAME: polls GetTunables every 20 ms for at most 1 s; prints the ms it took
# or "timeout".
ms_until() {
    local t0 now
    t0=$(date +%s%N)
    while :; do
        now=$(date +%s%N)
        [ "$(tunable "$2")" = "$1" ] && { echo $(( (now - t0) / 1000000 )); return 0; }
        [ $(( now - t0 )) -lt 1000000000 ] || { echo timeout; return 1; }
        sleep 0.02
    done
}

# --- the profile at start selects its preset
wait_for 5 bash -c '[ "$(varlinkctl call --json=short '"$ADDR $IF"'.GetPowerProfile {} | jq -r .profile)" = balanced ]'
start=$(vcall GetPowerProfile | jq -c '{service, profile, preset}')
entry=$(journal_entry "$MSG_POWER_PROFILE_CHANGED" | jq -c '{FRAMEPACE_POWER_PROFILE, FRAMEPACE_PRESET, FRAMEPACE_PROFILE_SERVICE}')
if [ "$start" = '{"service":"org.freedesktop.UPower.PowerProfiles","profile":"balanced","preset":"default"}' ] &&
   [ "$entry" = '{"FRAMEPACE_POWER_PROFILE":"balanced","FRAMEPACE_PRESET":"default","FRAMEPACE_PROFILE_SERVICE":"org.freedesktop.UPower.PowerProfiles"}' ]; then
    result power_profile_followed pass "$start; journal $entry"
else
    result power_profile_followed fail "GetPowerProfile $start; journal $entry"
fi

# --- powerprofilesctl set power-saver, and back: GetTunables follows within 1 s
default_batch=$(tunable slice_batch_ns)
powerprofilesctl set power-saver
to_saver=$(ms_until 20000000 slice_batch_ns)
saver_src=$(source_of slice_batch_ns); saver_normal=$(tunable slice_normal_ns)
powerprofilesctl set balanced
to_balanced=$(ms_until "$default_batch" slice_batch_ns)
balanced_src=$(source_of slice_batch_ns)
if [ "$to_saver" != timeout ] && [ "$to_balanced" != timeout ] && [ "$saver_src" = preset ] &&
   [ "$saver_normal" = 6000000 ] && [ "$balanced_src" = default ] && daemon_ok; then
    result power_profile_switch pass "power-saver: slice_batch_ns 20000000 (preset) after ${to_saver} ms; balanced: $default_batch after ${to_balanced} ms" \
        "{\"to_power_saver_ms\":$to_saver,\"to_balanced_ms\":$to_balanced}"
else
    result power_profile_switch fail "to power-saver: $to_saver ms (source $saver_src, slice_normal_ns $saver_normal); to balanced: $to_balanced ms (source $balanced_src)"
fi

# --- an explicit SetTunables wins over the preset until ResetTunables
vcall SetTunables '{"slice_batch_ns": 5000000}' >/dev/null
powerprofilesctl set power-saver
ms_until 6000000 slice_normal_ns >/dev/null
kept=$(tunable slice_batch_ns); kept_src=$(source_of slice_batch_ns)
overridden=$(journal_entry "$MSG_POWER_PROFILE_CHANGED" | jq -r .FRAMEPACE_PRESET_OVERRIDDEN)
denied=$(setpriv --reuid=65534 --regid=65534 --clear-groups varlinkctl call "$ADDR" "$IF.ResetTunables" '{}' 2>&1)
reset=$(vcall ResetTunables | jq -c '[.tunables[] | select(.name == "slice_batch_ns")][0] | {value, source}')
powerprofilesctl set balanced
ms_until "$default_batch" slice_batch_ns >/dev/null
if [ "$kept" = 5000000 ] && [ "$kept_src" = set ] && [ "$overridden" = slice_batch_ns ] &&
   grep -q PermissionDenied <<<"$denied" && [ "$reset" = '{"value":20000000,"source":"preset"}' ]; then
    result preset_precedence pass "SetTunables 5000000 kept under power-saver (journal: overridden $overridden); ResetTunables as uid 65534 denied, as root -> $reset"
else
    result preset_precedence fail "kept=$kept ($kept_src) overridden='$overridden' uid 65534: $denied; reset=$reset"
fi

# --- the service stops: framepace runs on, without a preset, and does not start it again
systemctl stop power-profiles-daemon.service
wait_for 5 bash -c '[ "$(varlinkctl call --json=short '"$ADDR $IF"'.GetPowerProfile {} | jq -r ".profile // \"null\"")" = null ]'
sleep 2
gone=$(vcall GetPowerProfile | jq -c '{service, profile, preset}')
ppd_state=$(systemctl is-active power-profiles-daemon.service)
# A daemon started while no service is on the bus says so once.
systemctl restart framepaced.service
wait_for 10 state_is enabled
since=$(systemctl show -P ActiveEnterTimestampMonotonic framepaced.service)
sleep 1
absent_logs=$(journalctl -o cat --no-pager _COMM=framepaced --since "-5s" | grep -c "no power-profiles service on the system bus")
absent=$(vcall GetPowerProfile | jq -c '{service, profile, preset}')
if [ "$gone" = '{"service":null,"profile":null,"preset":null}' ] && [ "$ppd_state" != active ] &&
   [ "$absent" = "$gone" ] && [ "$absent_logs" = 1 ] && daemon_ok; then
    result power_profile_absent pass "after stop: $gone, power-profiles-daemon $ppd_state (not re-activated); restart without it: one info line, state enabled"
else
    result power_profile_absent fail "after stop: $gone, ppd $ppd_state; restart: $absent, $absent_logs info lines, active=$(systemctl is-active framepaced.service) state=$(sched_state) ($since)"
fi
systemctl start power-profiles-daemon.service

# --- suspend and resume. A real `systemctl suspend` does not come back under TCG (tried here:
# ACPI S3 woken through QMP system_wakeup, and suspend-to-idle woken by an RTC alarm; the
# guest never ran again either way), so the signal comes from a stand-in for logind that owns
# org.freedesktop.login1 on the real bus (framepaced only listens to that name's owner).
inhibitors=$(systemd-inhibit --list --no-pager 2>/dev/null | grep -c framepaced)
seq0=$(enable_seq)
sleeping0=$(journalctl -o cat --no-pager MESSAGE_ID="$MSG_SYSTEM_SLEEPING" | wc -l)
# From anyone else the same signal is ignored.
busctl emit /org/freedesktop/login1 org.freedesktop.login1.Manager PrepareForSleep b true
sleep 1
spoofed=$(( $(journalctl -o cat --no-pager MESSAGE_ID="$MSG_SYSTEM_SLEEPING" | wc -l) - sleeping0 ))
systemctl stop systemd-logind.service
systemctl mask --runtime systemd-logind.service >/dev/null 2>&1
python3 /usr/lib/framepace-vm/prepare_for_sleep.py 2
resumed() { [ -n "$(journal_entry "$MSG_SYSTEM_RESUMED" | jq -r '.FRAMEPACE_RESUME_ACTION // empty')" ]; }
wait_for 10 resumed
sleeping=$(journal_entry "$MSG_SYSTEM_SLEEPING" | jq -c '{FRAMEPACE_SLEEP_PHASE, FRAMEPACE_SCHED_EXT_STATE}')
sleeping1=$(journalctl -o cat --no-pager MESSAGE_ID="$MSG_SYSTEM_SLEEPING" | wc -l)
resumed_entry=$(journal_entry "$MSG_SYSTEM_RESUMED")
healthy=$(jq -r .FRAMEPACE_SCHEDULER_HEALTHY <<<"$resumed_entry")
slept=$(jq -r '.FRAMEPACE_SLEPT_USEC // "0"' <<<"$resumed_entry")
systemctl unmask --runtime systemd-logind.service >/dev/null 2>&1
systemctl start systemd-logind.service
if [ "$sleeping" = '{"FRAMEPACE_SLEEP_PHASE":"suspend","FRAMEPACE_SCHED_EXT_STATE":"enabled"}' ] &&
   [ "$spoofed" = 0 ] && [ $(( sleeping1 - sleeping0 )) = 1 ] && [ "$healthy" = yes ] &&
   [ "$(enable_seq)" = "$seq0" ] && [ "$inhibitors" = 1 ] && daemon_ok; then
    result suspend_resume pass "PrepareForSleep from org.freedesktop.login1's owner: sleeping and resumed entries, scheduler healthy, enable_seq $seq0 unchanged; delay inhibitor held before; the same signal from another sender ignored" \
        "{\"slept_us_reported\":$slept}"
else
    result suspend_resume fail "sleeping=$sleeping (+$(( sleeping1 - sleeping0 )), spoofed +$spoofed) resumed=$(jq -c '{FRAMEPACE_SCHEDULER_HEALTHY, FRAMEPACE_RESUME_ACTION, FRAMEPACE_SLEPT_USEC, FRAMEPACE_SCHED_EXT_STATE}' <<<"$resumed_entry") seq $seq0->$(enable_seq) inhibitors $inhibitors state $(sched_state)"
fi
