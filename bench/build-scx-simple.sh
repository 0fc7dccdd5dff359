#!/usr/bin/env bash
# Builds scx_simple, the kernel's own example sched_ext scheduler, from Debian's
# linux-source package of the VM kernel's version (the same Debian line; the newest of that
# major.minor there), with this project's clang, bpftool and libbpf. Cached by source version.
# Prints the directory holding `scx_simple` and `VERSION`.
#   build-scx-simple.sh KVER        e.g. 7.3.4+deb13-amd64
set -euo pipefail
want=${1:?usage: build-scx-simple.sh KVER}
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${FRAMEPACE_CACHE:-/var/cache/framepace}/scx
libbpf=${FRAMEPACE_CACHE:-/var/cache/framepace}/libbpf
. "$top/tools/debian-apt.sh"
read -r suite keyring < <(debian_suite_for "$want") ||
    { echo "scx_simple: don't know which Debian suite builds $want" >&2; exit 1; }
series=$(echo "$want" | cut -d. -f1-2)   # 7.3

debian_fetch_begin "$cache" "$suite" "$keyring"
work=$WORK
source_version() {
    apt-cache "${DEBIAN_APT[@]}" show "linux-source-$1" 2>/dev/null |
        sed -n 's/^Version: //p' | sort -V | tail -n1
}
version=$(source_version "$series")
if [ -z "$version" ]; then
    # Debian keeps only the newest series in a suite: take the closest there is.
    series=$(apt-cache "${DEBIAN_APT[@]}" search --names-only '^linux-source-[0-9]+\.[0-9]+$' |
             awk '{print $1}' | sed 's/^linux-source-//' | sort -V | tail -n1)
    [ -n "$series" ] && version=$(source_version "$series")
    [ -n "$version" ] || { echo "scx_simple: no linux-source package in $suite" >&2; exit 1; }
    echo "scx_simple: no linux-source for ${want%%-*} in $suite; using $series" >&2
fi
dest=$cache/$series-$version
if [ -x "$dest/scx_simple" ]; then
    echo "$dest"
    exit 0
fi

echo "scx_simple: building from linux-source-$series $version ($suite)" >&2
(cd "$work" && apt-get "${DEBIAN_APT[@]}" download -qq "linux-source-$series")
dpkg-deb --fsys-tarfile "$work"/linux-source-*.deb |
    tar -C "$work" -x --wildcards './usr/src/linux-source-*.tar.xz'
tar -C "$work" -xJf "$work"/usr/src/linux-source-*.tar.xz --wildcards '*/tools/sched_ext/*'
src=$(echo "$work"/linux-source-*/tools/sched_ext)
mkdir -p "$work/out"
# -mcpu=v3 as in tools/sched_ext/Makefile (32-bit atomics); vmlinux.h is this project's.
clang-19 -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -fms-extensions -Wno-microsoft-anon-tag \
    -I "$src/include" -I "$src/include/bpf-compat" -I "$top/bpf" -I "$libbpf/include" \
    -c "$src/scx_simple.bpf.c" -o "$work/out/scx_simple.bpf.o" 2>"$work/clang.log" ||
    { cat "$work/clang.log" >&2; exit 1; }
llvm-strip-19 -g "$work/out/scx_simple.bpf.o"
bpftool gen skeleton "$work/out/scx_simple.bpf.o" name scx_simple >"$work/out/scx_simple.bpf.skel.h"
gcc -O2 -I "$src/include" -I "$work/out" -I "$libbpf/include" "$src/scx_simple.c" \
    -o "$work/out/scx_simple" "$libbpf/lib/libbpf.a" -Wl,-Bstatic -lelf -lz -Wl,-Bdynamic
mkdir -p "$dest.tmp"
cp "$work/out/scx_simple" "$dest.tmp/"
echo "linux-source-$series $version" >"$dest.tmp/VERSION"
rm -rf "$dest" && mv "$dest.tmp" "$dest"
echo "$dest"
