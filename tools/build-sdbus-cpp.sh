#!/usr/bin/env bash
# sdbus-c++ as a static library, so that framepaced keeps needing only glibc and libsystemd
# on SteamOS and Bazzite (Debian ships it only as a shared library). Built from Debian
# trixie's source (2.1.0): the upstream tarball, checked against the SHA-256 in trixie's
# signed Sources index (the mirror here lacks that package's .dsc and debian.tar.xz; the
# Debian patches are packaging only). Idempotent. Installs into PREFIX.
#   build-sdbus-cpp.sh PREFIX
set -euo pipefail
prefix=${1:?usage: build-sdbus-cpp.sh PREFIX}
top=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$prefix/lib/libsdbus-c++.a" ] && exit 0

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-trixie-automatic.gpg] http://deb.debian.org/debian trixie main" >"$work/sources.list"
apt=(-o Dir::Etc::sourcelist="$work/sources.list" -o Dir::Etc::sourceparts=/nonexistent
     -o Dir::State::Lists="$work/lists" -o Dir::Cache="$work/cache"
     -o Dir::State::status=/dev/null -o APT::Sandbox::User=root -o Debug::NoLocking=1)
apt-get "${apt[@]}" update -qq
record=$(apt-cache "${apt[@]}" showsrc sdbus-cpp | awk '/^Package: sdbus-cpp$/,/^$/')
dir=$(echo "$record" | sed -n 's/^Directory: //p' | head -n1)
read -r sha size file < <(echo "$record" | awk '/^Checksums-Sha256:/{f=1; next} f && /orig\.tar/{print $1, $2, $3; exit}')
[ -n "$dir" ] && [ -n "$file" ] || { echo "sdbus-c++: no sdbus-cpp source in trixie" >&2; exit 1; }
/usr/lib/apt/apt-helper download-file "http://deb.debian.org/debian/$dir/$file" "$work/$file" "SHA256:$sha" >/dev/null
tar -C "$work" -xzf "$work/$file"
src=$(find "$work" -maxdepth 1 -type d -name 'sdbus-cpp-*' | head -n1)
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DCMAKE_INSTALL_PREFIX="$prefix" \
    -DCMAKE_INSTALL_LIBDIR=lib -DSDBUSCPP_BUILD_CODEGEN=OFF -DSDBUSCPP_BUILD_DOCS=OFF >/dev/null
cmake --build "$work/build" -j"$(nproc)" >/dev/null
cmake --install "$work/build" >/dev/null
echo "sdbus-c++ $(basename "$src" | sed 's/sdbus-cpp-//') installed in $prefix" >&2
