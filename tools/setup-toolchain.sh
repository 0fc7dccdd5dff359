#!/usr/bin/env bash
# Installs everything framepace needs to build, test and boot its test VM on Debian 12.
# Idempotent: a second run only checks. Called by the README commands and by .ci/run.
#
# Why the pins: bookworm's libbpf 1.1 ignores `.struct_ops.link`, bookworm-backports' 1.4.6
# skeleton misses `map->link`, so libbpf is built from Debian's trixie source package (1.5.x)
# as a static library. bpftool/qemu/mkosi come from bookworm-backports, named per package so
# that libelf stays at bookworm's 0.188 (0.192's libelf.a does not link statically).
set -euo pipefail

FRAMEPACE_CACHE=${FRAMEPACE_CACHE:-/var/cache/framepace}
LIBBPF_PREFIX=${LIBBPF_PREFIX:-$FRAMEPACE_CACHE/libbpf}
SDBUS_PREFIX=${SDBUS_PREFIX:-$FRAMEPACE_CACHE/sdbus-cpp}
export DEBIAN_FRONTEND=noninteractive

log() { printf 'setup: %s\n' "$*" >&2; }

if [ "$(id -u)" != 0 ]; then
    echo "setup: must run as root (installs packages)" >&2
    exit 1
fi

backports_list=/etc/apt/sources.list.d/bookworm-backports.sources
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    log "adding bookworm-backports to apt sources"
    cat >"$backports_list" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    apt_updated=
fi

host_packages=(
    build-essential cmake pkg-config git
    clang-19 llvm-19 lld-19 libclang-rt-19-dev clang-format-19
    libelf-dev zlib1g-dev libzstd-dev
    nlohmann-json3-dev dbus-daemon
    googletest libgtest-dev libgmock-dev
    squashfs-tools erofs-utils zstd cpio xz-utils kmod busybox-static
    debootstrap dpkg-dev
    python3 python3-matplotlib
)
# libsystemd-dev follows libsystemd0, which mkosi lifts to 254.
backports_packages=(bpftool qemu-system-x86 qemu-utils mkosi libsystemd-dev)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing_main=() missing_bpo=()
for p in "${host_packages[@]}"; do installed "$p" || missing_main+=("$p"); done
for p in "${backports_packages[@]}"; do installed "$p" || missing_bpo+=("$p"); done
# qemu from bookworm main (7.2) panics guests while sched_ext toggles; insist on backports.
if dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null | grep -q '^1:7\.'; then
    missing_bpo+=(qemu-system-x86)
fi

if [ ${#missing_main[@]} -gt 0 ] || [ ${#missing_bpo[@]} -gt 0 ]; then
    apt-get update -qq
fi
if [ ${#missing_bpo[@]} -gt 0 ]; then
    # Their dependencies (systemd 254 for mkosi, qemu-system-common 10.x) must come from
    # backports too; libelf is already satisfied by bookworm's and is left alone.
    log "installing from bookworm-backports: ${missing_bpo[*]}"
    apt-get install -y -qq --no-install-recommends -t bookworm-backports "${missing_bpo[@]}" >/dev/null
fi
if [ ${#missing_main[@]} -gt 0 ]; then
    log "installing: ${missing_main[*]}"
    apt-get install -y -qq --no-install-recommends "${missing_main[@]}" >/dev/null
fi

# Upstream sources of Debian trixie's source packages, verified against trixie's signed
# Sources index through a private apt configuration (this machine's sources stay bookworm +
# bookworm-backports). Only the .orig tarball is fetched: it is all a static build needs.
#   fetch_trixie_orig PACKAGE WORKDIR  -> prints the unpacked source directory
fetch_trixie_orig() {
    local package=$1 work=$2
    mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/src"
    cat >"$work/sources.list" <<'SRC'
deb-src [signed-by=/usr/share/keyrings/debian-archive-trixie-stable.gpg,/usr/share/keyrings/debian-archive-trixie-automatic.gpg] http://deb.debian.org/debian trixie main
SRC
    local aptopts=(-o Dir::Etc::sourcelist="$work/sources.list" -o Dir::Etc::sourceparts=/nonexistent
                   -o Dir::State::Lists="$work/lists" -o Dir::Cache="$work/cache"
                   -o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root)
    apt-get "${aptopts[@]}" update -qq
    local uri file size hash
    read -r uri file size hash < <(cd "$work" && apt-get "${aptopts[@]}" source -qq --print-uris "$package" |
                                   grep -E "\.orig\.tar\.(gz|xz|bz2)'")
    [ -n "${hash:-}" ] || { echo "setup: no .orig tarball of $package in trixie" >&2; return 1; }
    /usr/lib/apt/apt-helper -o APT::Sandbox::User=root -qq download-file "${uri//\'/}" "$work/$file" "$hash" >/dev/null
    tar -xf "$work/$file" -C "$work/src" --strip-components=1
    echo "$work/src"
}

# libbpf >= 1.5, static.
libbpf_wanted=1.5
if [ ! -f "$LIBBPF_PREFIX/lib64/libbpf.a" ] && [ ! -f "$LIBBPF_PREFIX/lib/libbpf.a" ]; then
    log "building libbpf ${libbpf_wanted}.x from Debian trixie sources into $LIBBPF_PREFIX"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    src=$(fetch_trixie_orig libbpf "$work")
    grep -qE '^LIBBPF_(1\.([5-9]|[1-9][0-9])|[2-9])' "$src/src/libbpf.map" ||
        { echo "setup: trixie's libbpf is older than $libbpf_wanted" >&2; exit 1; }
    make -s -C "$src/src" -j"$(nproc)" BUILD_STATIC_ONLY=1 PREFIX="$LIBBPF_PREFIX" LIBDIR="$LIBBPF_PREFIX/lib" \
        OBJDIR="$work/obj" install >/dev/null
    rm -rf "$work"
    trap - EXIT
fi

# sdbus-c++ 2.x, static: bookworm's 1.2 is shared-only, and SteamOS/Bazzite do not ship the
# library, so framepaced carries it (it stays linked to glibc and libsystemd only).
if [ ! -f "$SDBUS_PREFIX/lib/libsdbus-c++.a" ]; then
    log "building sdbus-c++ 2.x from Debian trixie sources into $SDBUS_PREFIX"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    src=$(fetch_trixie_orig sdbus-cpp "$work")
    cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
        -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DSDBUSCPP_BUILD_DOCS=OFF \
        -DCMAKE_INSTALL_PREFIX="$SDBUS_PREFIX" -DCMAKE_INSTALL_LIBDIR=lib >/dev/null
    cmake --build "$work/build" -j"$(nproc)" >/dev/null
    cmake --install "$work/build" >/dev/null
    rm -rf "$work"
    trap - EXIT
fi
log "toolchain ready (libbpf in $LIBBPF_PREFIX, sdbus-c++ in $SDBUS_PREFIX)"
