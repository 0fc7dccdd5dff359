#!/bin/bash
# The shipped artefact: framepace.raw as a systemd system extension on a trixie guest
# (systemd 257, glibc 2.41) that has neither libbpf nor sdbus-c++ installed.
# checks: sysext_merged install_running sysext_activation reexec_running boot_running stop_sticks disabled_stays_off unit_hardening sysext_unmerge sysext_refresh
. /usr/lib/framepace-vm/lib.sh
. /usr/lib/framepace-vm/job.env

version_merged() { systemd-sysext list --json=short 2>/dev/null | jq -r '.[] | select(.name == "framepace") | .name' ; }

# --- merged, self-contained, labelled
libs=$(ldconfig -p | grep -cE 'libbpf\.so|libsdbus-c\+\+' || true)
# ldd lists libsystemd's own dependencies too; none of ours may appear.
needed=$(ldd /usr/bin/framepaced | awk '{print $1}' | grep -vE '^(linux-vdso|/lib64/ld-linux)' | sort | paste -sd' ')
bundled=$(echo "$needed" | grep -oE 'libbpf[^ ]*|libelf[^ ]*|libz\.[^ ]*|libstdc\+\+[^ ]*|libsdbus[^ ]*' || true)
label=$(python3 -c 'import os; print(os.getxattr("/usr/bin/framepaced", "security.selinux").rstrip(b"\0").decode())' 2>&1)
unit_label=$(python3 -c 'import os; print(os.getxattr("/usr/lib/systemd/system/framepaced.service", "security.selinux").rstrip(b"\0").decode())' 2>&1)
release=$(cat /usr/lib/extension-release.d/extension-release.framepace 2>&1 | paste -sd' ')
if [ -x /usr/bin/framepaced ] && systemctl cat framepaced.socket >/dev/null 2>&1 &&
   [ "$libs" = 0 ] && [ -z "$bundled" ] && grep -q libsystemd.so.0 <<<"$needed" &&
   [ "$label" = "system_u:object_r:bin_t:s0" ] &&
   [ "$unit_label" = "system_u:object_r:systemd_unit_file_t:s0" ] &&
   grep -q "EXTENSION_RELOAD_MANAGER=1" <<<"$release"; then
    result sysext_merged pass "units and binary from framepace.raw; ldd: $needed (nothing of libbpf, libelf, zlib, libstdc++); no libbpf or sdbus-c++ on the guest; labels bin_t / systemd_unit_file_t; $release"
else
    result sysext_merged fail "exe=$([ -x /usr/bin/framepaced ] && echo yes) libs=$libs needed='$needed' label=$label unit=$unit_label release=$release"
fi

# --- install the way the README says: the scheduler runs at once, no call needed
systemctl enable --now framepaced.service >/dev/null 2>&1
wait_for 30 state_is enabled
links=$(ls /etc/systemd/system/framepace.target.wants 2>/dev/null | paste -sd' ')
if systemctl is-active -q framepaced.service && systemctl is-active -q framepaced.socket &&
   state_is enabled && [ "$(sched_ops)" = framepace ] &&
   [ "$links" = "framepaced.service framepaced.socket" ]; then
    result install_running pass "systemctl enable --now framepaced.service: running, sched_ext $(sched_state) ($(sched_ops)) before any call; enabled in framepace.target.wants: $links; framepace.target $(systemctl is-active framepace.target)"
else
    result install_running fail "service=$(systemctl is-active framepaced.service) socket=$(systemctl is-active framepaced.socket) state=$(sched_state) links='$links'; $(journalctl -u framepaced --no-pager -n 5 -o cat | paste -sd'|')"
fi
status=$(vcall GetStatus 2>&1)
if [ "$(echo "$status" | jq -r .ops)" = framepace ]; then
    result sysext_activation pass "varlinkctl GetStatus: $(echo "$status" | jq -c '{state,ops,version}')"
else
    result sysext_activation fail "reply=$status"
fi

# --- a daemon-reexec (what a systemd upgrade does) keeps the same scheduler running
seq0=$(enable_seq) pid0=$(main_pid)
systemctl daemon-reexec
sleep 1
if state_is enabled && [ "$(enable_seq)" = "$seq0" ] && [ "$(main_pid)" = "$pid0" ] &&
   systemctl is-active -q framepaced.service framepaced.socket; then
    result reexec_running pass "daemon-reexec: same framepaced (pid $pid0), enable_seq $seq0 unchanged"
else
    result reexec_running fail "state=$(sched_state) enable_seq $seq0 -> $(enable_seq) pid $pid0 -> $(main_pid)"
fi

# boot_like: what a boot does with the extension, short of rebooting this VM: everything the
# extension provides goes away with its units, then systemd-sysext.service merges it again
# and reloads PID 1, and only what the administrator enabled may start.
boot_like() {
    systemctl stop framepaced.service >/dev/null 2>&1
    systemd-sysext unmerge >/dev/null 2>&1
    systemctl daemon-reload
    systemctl stop framepace.target >/dev/null 2>&1
    state_is disabled && ! systemctl is-active -q framepace.target || return 1
    systemctl restart systemd-sysext.service
}
running() { state_is enabled && systemctl is-active -q framepaced.service; }
if boot_like && wait_for 20 running; then
    result boot_running pass "unmerged, then merged by systemd-sysext.service: framepace.target $(systemctl is-active framepace.target) started the enabled framepaced ($(sched_ops), enable_seq $(enable_seq)) with no call"
else
    result boot_running fail "state=$(sched_state) service=$(systemctl is-active framepaced.service) target=$(systemctl is-active framepace.target) sysext=$(systemctl is-active systemd-sysext.service); $(systemctl status framepace.target --no-pager 2>&1 | tail -n 5 | paste -sd'|')"
fi

# --- root's stop sticks: no user's call starts the scheduler again, nor does a reload
systemctl stop framepaced.service
user_call=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
    varlinkctl call --json=short "$ADDR" "$IF.GetStatus" '{}' 2>&1); user_rc=$?
systemctl daemon-reload
sleep 1
if [ "$user_rc" != 0 ] && state_is disabled && ! systemctl is-active -q framepaced.service &&
   ! systemctl is-active -q framepaced.socket; then
    result stop_sticks pass "after systemctl stop framepaced.service: socket stopped with it; uid 65534's GetStatus failed ($(echo "$user_call" | tail -n1 | cut -c1-80)); still disabled after a daemon-reload"
else
    result stop_sticks fail "user rc=$user_rc out=$user_call state=$(sched_state) service=$(systemctl is-active framepaced.service) socket=$(systemctl is-active framepaced.socket)"
fi
systemctl start framepaced.service
wait_for 30 state_is enabled
restarted=$(sched_state)

# --- stop for good: disable --now, and the next boot leaves it off
systemctl disable --now framepaced.service >/dev/null 2>&1
if [ "$restarted" = enabled ] && boot_like && sleep 3 && state_is disabled &&
   ! systemctl is-active -q framepaced.service && ! systemctl is-active -q framepaced.socket; then
    result disabled_stays_off pass "systemctl start brought it back; after disable --now and a boot-like re-merge it stays off (framepace.target $(systemctl is-active framepace.target))"
else
    result disabled_stays_off fail "restarted=$restarted state=$(sched_state) service=$(systemctl is-active framepaced.service) socket=$(systemctl is-active framepaced.socket)"
fi

# --- the hardened unit's exposure, as systemd rates it
exposure=$(systemd-analyze security framepaced.service --no-pager 2>/dev/null | sed -n 's/.*Overall exposure level for framepaced.service: \([0-9.]*\).*/\1/p')
# 1.9 when the bound was set (systemd rates < 2.0 "SAFE"); a unit that loosens past 2.0 fails.
if [ -n "$exposure" ] && awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }'; then
    result unit_hardening pass "systemd-analyze security framepaced.service: $exposure (bound 2.0)" "{\"exposure\":$exposure}"
else
    result unit_hardening fail "exposure '$exposure' (bound 2.0): $(systemd-analyze security framepaced.service --no-pager 2>&1 | tail -n 3)"
fi

# --- stop, unmerge: units and binary gone, scheduler disabled
systemctl disable --now framepaced.socket framepaced.service >/dev/null 2>&1
systemd-sysext unmerge >/dev/null 2>&1
systemctl daemon-reload
if [ ! -e /usr/bin/framepaced ] && ! systemctl cat framepaced.service >/dev/null 2>&1 && state_is disabled; then
    result sysext_unmerge pass "after stop and unmerge: no binary, no units, sched_ext disabled"
else
    result sysext_unmerge fail "binary=$(ls /usr/bin/framepaced 2>&1) state=$(sched_state)"
fi

# --- refresh with a newer image: the new one is what runs
cp /usr/lib/framepace-vm/framepace-next.raw /var/lib/extensions/framepace.raw
systemd-sysext refresh >/dev/null 2>&1
systemctl daemon-reload
systemctl start framepaced.socket
newver=$(sed -n 's/^SYSEXT_VERSION_ID=//p' /usr/lib/extension-release.d/extension-release.framepace 2>/dev/null)
status=$(vcall GetStatus 2>&1)
if [ "$newver" = "$FRAMEPACE_NEXT_VERSION" ] && [ "$(echo "$status" | jq -r .state)" = attached ] && state_is enabled; then
    result sysext_refresh pass "refreshed to $newver; daemon from the new image attached"
else
    result sysext_refresh fail "version=$newver (want $FRAMEPACE_NEXT_VERSION) reply=$status"
fi
systemctl stop framepaced.service framepaced.socket
exit 0
