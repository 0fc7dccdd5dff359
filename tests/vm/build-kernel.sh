#!/usr/bin/env bash
# Builds a sched_ext kernel for the test VM from Debian trixie's linux-source package, for the
# kernel lines Debian ships without CONFIG_SCHED_CLASS_EXT (6.12 LTS). Prints the directory
# holding `vmlinuz`, `config` and `modules-subset.tar`, laid out as ../shared/kernels/KVER.
#   build-kernel.sh KVER        e.g. 6.12.117+scx-amd64
# The source is fetched through a private apt configuration (checked against trixie's signed
# index; this machine's apt sources are not touched). The config is x86_64 defconfig, then
# kvm_guest.config, then tests/vm/kernel-scx.config (what the VM suite needs on top). Cached
# outside the clone, keyed by the source version and the fragment's hash: a second call only
# prints the directory. A cold build takes about 15 minutes on 2 cores.
set -euo pipefail
want=${1:?usage: build-kernel.sh KVER}
top=$(cd "$(dirname "$0")/../.." && pwd)
cache=${FRAMEPACE_CACHE:-/var/cache/framepace}/kernels
fragment=$top/tests/vm/kernel-scx.config
series=$(echo "$want" | cut -d. -f1-2)      # 6.12
suffix=${want#*+}                           # scx-amd64
[ "$suffix" = scx-amd64 ] || { echo "build-kernel: only +scx-amd64 kernels are built here" >&2; exit 1; }

. "$top/tools/debian-apt.sh"
debian_fetch_begin "$cache" trixie trixie
work=$WORK
version=$(apt-cache "${DEBIAN_APT[@]}" show "linux-source-$series" 2>/dev/null |
    sed -n 's/^Version: //p' | sort -V | tail -n1)
[ -n "$version" ] || { echo "build-kernel: no linux-source-$series in trixie" >&2; exit 1; }
upstream=${version%-*}                      # 6.12.117
kver=$upstream+$suffix
[ "$kver" = "$want" ] || echo "build-kernel: trixie has linux-source-$series $version; building $kver (wanted $want)" >&2
key=$(cat "$fragment" "$0" | sha256sum | cut -c1-12)
dest=$cache/$kver
if [ -f "$dest/vmlinuz" ] && [ -f "$dest/modules-subset.tar" ] && [ "$(cat "$dest/KEY" 2>/dev/null)" = "$version $key" ]; then
    echo "$dest"
    exit 0
fi

# What a kernel build needs beyond the project's own toolchain.
need=(bc bison flex libssl-dev libelf-dev dwarves cpio xz-utils kmod make gcc)
missing=()
for p in "${need[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "build-kernel: installing ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

start=$(date +%s)
echo "build-kernel: building $kver from linux-source-$series $version (about 15 min on 2 cores)" >&2
(cd "$work" && apt-get "${DEBIAN_APT[@]}" download -qq "linux-source-$series=$version")
dpkg-deb --fsys-tarfile "$work"/linux-source-*.deb |
    tar -C "$work" -x --wildcards './usr/src/linux-source-*.tar.xz'
tar -C "$work" -xJf "$work"/usr/src/linux-source-*.tar.xz
src=$(echo "$work"/linux-source-"$series")
[ -d "$src" ] || { echo "build-kernel: no linux-source-$series in the package" >&2; exit 1; }
rm -f "$work"/usr/src/linux-source-*.tar.xz "$work"/linux-source-*.deb
make -C "$src" -s x86_64_defconfig
make -C "$src" -s kvm_guest.config
(cd "$src" && scripts/kconfig/merge_config.sh -m -O . .config "$fragment" >/dev/null)
make -C "$src" -s olddefconfig
# Every option the fragment asks for must have survived olddefconfig (a missing dependency
# drops an option silently).
while read -r line; do
    case "$line" in CONFIG_*=*) ;; *) continue ;; esac
    grep -qx "$line" "$src/.config" ||
        { echo "build-kernel: $line did not hold in the final config" >&2; exit 1; }
done <"$fragment"
make -C "$src" -s -j"$(nproc)" bzImage modules >"$work/build.log" 2>&1 ||
    { tail -40 "$work/build.log" >&2; exit 1; }
# The release string comes from the fragment's CONFIG_LOCALVERSION ("+scx-amd64"); a source
# tree without git adds nothing else.
release=$(cat "$src/include/config/kernel.release")
[ "$release" = "$kver" ] || { echo "build-kernel: the tree built $release, not $kver" >&2; exit 1; }
make -C "$src" -s INSTALL_MOD_PATH="$work/root" modules_install >/dev/null
mkdir -p "$dest.tmp/stage/modules"
mv "$work/root/lib/modules/$kver" "$dest.tmp/stage/modules/"
rm -f "$dest.tmp/stage/modules/$kver/build" "$dest.tmp/stage/modules/$kver/source"
tar -C "$dest.tmp/stage" -cf "$dest.tmp/modules-subset.tar" modules
rm -rf "$dest.tmp/stage"
cp "$src/arch/x86/boot/bzImage" "$dest.tmp/vmlinuz"
cp "$src/.config" "$dest.tmp/config"
echo "$version $key" >"$dest.tmp/KEY"
cat >"$dest.tmp/SOURCE.txt" <<TXT
Kernel $kver: built by tests/vm/build-kernel.sh from Debian trixie's linux-source-$series $version
with x86_64_defconfig + kvm_guest.config + tests/vm/kernel-scx.config, in $(( $(date +%s) - start )) s
on $(nproc) CPUs ($(gcc -dumpfullversion), pahole $(pahole --version)).
TXT
rm -rf "$dest" && mv "$dest.tmp" "$dest"
echo "build-kernel: $kver built in $(( $(date +%s) - start )) s" >&2
echo "$dest"
