#!/bin/bash
# The shipped artefact: framepace.raw as a systemd system extension on a trixie guest
# (systemd 257, glibc 2.41) that has neither libbpf nor sdbus-c++ installed.
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

# --- enable the socket the way the README says; the first call starts the daemon
systemctl enable --now framepaced.socket >/dev/null 2>&1
status=$(vcall GetStatus 2>&1)
if systemctl is-active -q framepaced.service && [ "$(echo "$status" | jq -r .ops)" = framepace ] && state_is enabled; then
    result sysext_activation pass "enable --now framepaced.socket, first varlinkctl call: $(echo "$status" | jq -c '{state,ops,version}')"
else
    result sysext_activation fail "service=$(systemctl is-active framepaced.service) reply=$status; $(journalctl -u framepaced --no-pager -n 5 -o cat | paste -sd'|')"
fi

# --- the hardened unit's exposure, as systemd rates it
exposure=$(systemd-analyze security framepaced.service --no-pager 2>/dev/null | sed -n 's/.*Overall exposure level for framepaced.service: \([0-9.]*\).*/\1/p')
if [ -n "$exposure" ]; then
    result unit_hardening pass "systemd-analyze security framepaced.service: $exposure" "{\"exposure\":$exposure}"
else
    result unit_hardening fail "$(systemd-analyze security framepaced.service --no-pager 2>&1 | tail -n 3)"
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
