#!/usr/bin/env bash
# Finds a sched_ext kernel for the test VM and prints the directory holding its `vmlinuz`,
# `config` and `modules-subset.tar`.
#   kernel.sh KVER      e.g. 7.3.4+deb13-amd64
# Uses ../shared/kernels/KVER when present (Debian's packages, unchanged; +scx-amd64 ones
# built as build-kernel.sh builds them). A +scx-amd64 kernel is otherwise built from Debian's
# source (build-kernel.sh). Otherwise fetches
# the newest generic kernel of the same Debian line from the mirror (+deb13: trixie-backports,
# +deb14: sid) into the cache, without touching this machine's apt sources. Debian keeps only
# the newest kernel of a suite, so the fetched version may be newer than KVER; it is printed.
set -euo pipefail
want=${1:?usage: kernel.sh KVER}
top=$(cd "$(dirname "$0")/../.." && pwd)
shared=${FRAMEPACE_SHARED_KERNELS:-$top/../shared/kernels}
cache=${FRAMEPACE_CACHE:-/var/cache/framepace}/kernels

if [ -f "$shared/$want/vmlinuz" ] && [ -f "$shared/$want/config" ] && [ -f "$shared/$want/modules-subset.tar" ]; then
    echo "$shared/$want"
    exit 0
fi

# No Debian binary kernel of these lines has sched_ext: build one from Debian's source.
case "$want" in *+scx-amd64) exec "$top/tests/vm/build-kernel.sh" "$want" ;; esac

. "$top/tools/debian-apt.sh"
read -r suite keyring < <(debian_suite_for "$want") ||
    { echo "kernel: don't know which Debian suite builds $want" >&2; exit 1; }
line=${want#*+}          # deb13-amd64
debian_fetch_begin "$cache" "$suite" "$keyring"
work=$WORK
apt=("${DEBIAN_APT[@]}")
# Generic flavour only: the cloud kernel lacks uinput.
kver=$(apt-cache "${apt[@]}" search --names-only "^linux-binary-unsigned-[0-9.]+\+${line//./\\.}$" |
       awk '{print $1}' | sed 's/^linux-binary-unsigned-//' | sort -V | tail -n1)
if [ -z "$kver" ]; then
    echo "kernel: no linux-binary-unsigned-*+$line package in $suite" >&2
    exit 1
fi
dest=$cache/$kver
# The config goes with it: libbpf reads /boot/config-KVER for BPF programs' __kconfig externs
# (the peers' do), as on any installed Debian system. Caches made before it was kept refetch.
if [ ! -f "$dest/vmlinuz" ] || [ ! -f "$dest/config" ]; then
    echo "kernel: fetching $kver from $suite (wanted $want)" >&2
    # linux-base-KVER holds the config (usr/lib/modules/KVER/config).
    (cd "$work" && apt-get "${apt[@]}" download -qq "linux-binary-unsigned-$kver" "linux-modules-$kver" "linux-base-$kver")
    mkdir -p "$work/root"
    for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$work/root"; done
    mods=$work/root/usr/lib/modules/$kver
    [ -d "$mods" ] || mods=$work/root/lib/modules/$kver
    vmlinuz=
    for candidate in "$mods/vmlinuz.unsigned" "$mods/vmlinuz" "$work/root/boot/vmlinuz-$kver"; do
        [ -f "$candidate" ] && { vmlinuz=$candidate; break; }
    done
    [ -n "$vmlinuz" ] || { echo "kernel: no vmlinuz in the $kver packages" >&2; exit 1; }
    mkdir -p "$dest.tmp"
    cp "$vmlinuz" "$dest.tmp/vmlinuz"
    config=
    for candidate in "$mods/config" "$work/root/boot/config-$kver"; do
        [ -f "$candidate" ] && { config=$candidate; break; }
    done
    [ -n "$config" ] || { echo "kernel: no kernel config in the $kver packages" >&2; exit 1; }
    cp "$config" "$dest.tmp/config"
    # The same subset as ../shared/kernels: what a test VM can load.
    (cd "$(dirname "$mods")" && tar -cf "$dest.tmp/modules-subset.tar" --ignore-failed-read \
        "$kver"/modules.order "$kver"/modules.builtin* \
        "$kver"/kernel/fs "$kver"/kernel/lib "$kver"/kernel/crypto "$kver"/kernel/block \
        "$kver"/kernel/drivers/block "$kver"/kernel/drivers/input "$kver"/kernel/drivers/md \
        "$kver"/kernel/drivers/nvme "$kver"/kernel/drivers/virtio "$kver"/kernel/drivers/char 2>/dev/null) || true
    # tar's paths must match shared/'s layout (modules/KVER/...).
    (cd "$dest.tmp" && mkdir x && tar -C x -xf modules-subset.tar && mkdir -p y/modules &&
        mv x/* y/modules/ && tar -C y -cf modules-subset.tar modules && rm -rf x y)
    rm -rf "$dest" && mv "$dest.tmp" "$dest"
fi
echo "$dest"
