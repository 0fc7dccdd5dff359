# Helpers for the in-guest test scripts: result records on the results port, waiting.
RESULTS_PORT=/dev/virtio-ports/framepace.results
RESULTS_LOG=/run/framepace-vm-results.jsonl
JOURNAL_PORT=/dev/virtio-ports/framepace.journal
STATE=/sys/kernel/sched_ext/state
FAILED=0

# udev names the virtio ports shortly after boot; the job must not write before that.
for _ in $(seq 100); do [ -e "$RESULTS_PORT" ] && [ -e "$JOURNAL_PORT" ] && break; sleep 0.1; done

# result NAME pass|fail|measured DETAIL [JSON-METRICS]
# "measured" records a figure (a benchmark), not a check: it never fails the run, and the
# detail must not read as a verdict. Malformed metrics turn the record into a failure rather
# than losing it.
# @FILE as the metrics reads them from FILE: a benchmark's document is larger than one
# command-line argument may be (128 KiB), and jq would never start.
result() {
    local name=$1 verdict=$2 detail=$3 metrics=${4:-'{}'} file
    case "$verdict" in pass|fail|measured) ;; *) detail="unknown verdict '$verdict': $detail"; verdict=fail ;; esac
    file=$(mktemp /run/fp-metrics.XXXXXX)
    if [[ $metrics == @* ]]; then cp "${metrics#@}" "$file" 2>/dev/null; else printf '%s' "$metrics" >"$file"; fi
    if ! jq -e . >/dev/null 2>&1 <"$file"; then
        detail="malformed metrics JSON ($(head -c 200 "$file")): $detail"
        verdict=fail
        echo '{}' >"$file"
    fi
    [ "$verdict" = fail ] && FAILED=1
    jq -cn --arg test "$name" --arg result "$verdict" --arg detail "$detail" \
        --arg kernel "$(uname -r)" --slurpfile metrics "$file" \
        '{test:$test,result:$result,detail:$detail,kernel:$kernel,metrics:$metrics[0]}' |
        tee -a "$RESULTS_LOG" >>"$RESULTS_PORT"
    rm -f "$file"
    echo "FRAMEPACE-TEST $verdict $name: $detail" >/dev/console
}

# wait_for SECONDS COMMAND...: polls every 100 ms until COMMAND succeeds.
wait_for() {
    local deadline=$(( $(date +%s%N) + $1 * 1000000000 ))
    shift
    until "$@"; do
        [ "$(date +%s%N)" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}

# The kernel's own sched_ext event counters (6.16+ publish them), as JSON; {} where none.
scx_events() {
    local file=/sys/kernel/sched_ext/root/events
    if [ -r "$file" ]; then
        jq -Rn '[inputs | split(" ") | {key: .[0], value: (.[1] | tonumber)}] | from_entries' "$file"
    else
        echo '{}'
    fi
}
# scx_event_delta BEFORE AFTER NAME: how far the kernel's event NAME moved between two
# scx_events readings, or "none" where the kernel publishes no such event.
scx_event_delta() {
    jq -rn --argjson b "$1" --argjson a "$2" --arg n "$3" \
        'if $a[$n] == null then "none" else $a[$n] - ($b[$n] // 0) end'
}

sched_state() { cat "$STATE" 2>/dev/null || echo missing; }
sched_ops() { cat /sys/kernel/sched_ext/root/ops 2>/dev/null || echo none; }
state_is() { [ "$(sched_state)" = "$1" ]; }

# The newest journal entry of framepaced with MESSAGE_ID=$1, as JSON ({} if none).
journal_entry() {
    journalctl -o json --no-pager MESSAGE_ID="$1" _COMM=framepaced 2>/dev/null | tail -n1 | grep . || echo '{}'
}

# counter_value JSON NAME: a FRAMEPACE_* field of a counters entry, 0 if absent.
counter_value() { echo "$1" | jq -r ".FRAMEPACE_$2 // \"0\""; }

ADDR=/run/framepace/io.framepace.Scheduler
IF=io.framepace.Scheduler
# vcall METHOD [JSON]: one io.framepace.Scheduler call, the reply on one line.
vcall() { varlinkctl call --json=short "$ADDR" "$IF.$1" "${2:-{\}}"; }
# vtasks: ListTasks streams (--more, 200 tasks a reply): every reply's tasks as one
# {"tasks":[...]} object. varlinkctl writes --more replies as JSON-SEQ (each after an RS).
vtasks() {
    varlinkctl call --more --json=short "$ADDR" "$IF.ListTasks" '{}' | tr -d '\036' |
        jq -cs '{tasks: [.[].tasks[]]}'
}
tunable() { vcall GetTunables | jq "[.tunables[] | select(.name == \"$1\")][0].value"; }
enable_seq() { cat /sys/kernel/sched_ext/enable_seq; }
# counter NAME: one of the scheduler's counters (GetStats), summed over the CPUs
counter() { vcall GetStats | jq ".counters.$1"; }
main_pid() { systemctl show -P MainPID framepaced.service; }
# signal_daemon SIGNAL: signals framepaced's main process; never pid 0 (our process group).
signal_daemon() {
    local pid
    pid=$(main_pid)
    [ -n "$pid" ] && [ "$pid" != 0 ] || return 1
    kill "-$1" "$pid"
}

# use_daemon_args [--no-restart] ARGS...: run the unit's framepaced with these arguments.
use_daemon_args() {
    local restart=
    [ "$1" = --no-restart ] && { restart='Restart=no\n'; shift; }
    mkdir -p /run/systemd/system/framepaced.service.d
    printf "[Service]\n${restart}ExecStart=\nExecStart=/usr/bin/framepaced %s\n" "$*" \
        >/run/systemd/system/framepaced.service.d/50-test.conf
    systemctl daemon-reload
}

# framepace arrives as the sysext image in /var/lib/extensions; merge it unless the boot did.
install_framepace() {
    [ -x /usr/bin/framepaced ] && return 0
    systemd-sysext refresh >/dev/console 2>&1
    systemctl daemon-reload
    [ -x /usr/bin/framepaced ]
}

# framepaced stops when asked at the end, as at a shutdown that stops units in order. One that
# does not exit within 20 s is dumped (its tasks' kernel stacks, every blocked task) and fails
# the job: seen once on 6.12, a framepaced that SIGKILL could not end held the power-off.
stop_daemon_at_end() {
    local pid t
    pgrep -x framepaced >/dev/null || return 0
    timeout 20 systemctl stop framepaced.service framepaced.socket
    pkill -TERM -x framepaced
    for _ in $(seq 1 100); do
        pgrep -x framepaced >/dev/null || return 0
        sleep 0.2
    done
    for pid in $(pgrep -x framepaced); do
        for t in /proc/"$pid"/task/*; do
            echo "FRAMEPACE-STUCK $t $(cat "$t/comm") $(grep State "$t/status")"
            cat "$t/stack"
        done
    done >/dev/console 2>&1
    echo w >/proc/sysrq-trigger
    dmesg | tail -n 200 >/dev/console
    result daemon_stops fail "framepaced did not exit within 20 s of a stop (stacks on the console); state $(sched_state)"
}

finish() {
    stop_daemon_at_end
    journalctl -b --no-pager -o short-monotonic >"$JOURNAL_PORT" 2>&1 || true
    grep -q '"result":"fail"' "$RESULTS_LOG" 2>/dev/null && FAILED=1
    # A job stopped before it reported anything (killed, timed out) did not pass.
    [ -s "$RESULTS_LOG" ] || FAILED=1
    if [ "$FAILED" = 0 ]; then
        echo "FRAMEPACE-VM-RESULT: PASS" >/dev/console
    else
        echo "FRAMEPACE-VM-RESULT: FAIL" >/dev/console
    fi
}
