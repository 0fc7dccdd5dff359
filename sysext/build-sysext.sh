#!/usr/bin/env bash
# Builds the systemd system extension: OUT/framepace_VERSION.raw (erofs, lz4hc, SELinux
# labels from sysext/file_contexts), OUT/framepace.raw (the same bytes, the name sysext
# wants), and OUT/SHA256SUMS (what systemd-sysupdate checks).
#   build-sysext.sh BUILD_DIR OUT_DIR [VERSION]
# The tree is `cmake --install` of BUILD_DIR into a staging /usr plus the extension-release
# file whose suffix matches the image name.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: build-sysext.sh BUILD_DIR OUT_DIR [VERSION]}
out=${2:?usage: build-sysext.sh BUILD_DIR OUT_DIR [VERSION]}
version=${3:-$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")}
[ -n "$version" ] || { echo "build-sysext: no version" >&2; exit 1; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
DESTDIR=$stage cmake --install "$build" --prefix /usr --strip >/dev/null
"$top/tools/check-portable.sh" "$stage/usr/bin/framepaced" >/dev/null
mkdir -p "$stage/usr/lib/extension-release.d"
sed "s/@VERSION@/$version/" "$top/sysext/extension-release.framepace.in" \
    >"$stage/usr/lib/extension-release.d/extension-release.framepace"
# Only /usr may be in a sysext; everything in it root-owned, timestamps fixed.
find "$stage" -mindepth 1 -maxdepth 1 ! -name usr -exec rm -rf {} +
chown -R 0:0 "$stage"
mkdir -p "$out"
rm -f "$out/framepace_$version.raw"
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-0} mkfs.erofs -zlz4hc -T0 --all-root \
    --file-contexts="$top/sysext/file_contexts" "$out/framepace_$version.raw" "$stage" >/dev/null
cp "$out/framepace_$version.raw" "$out/framepace.raw"
(cd "$out" && sha256sum "framepace_$version.raw" >SHA256SUMS)
echo "build-sysext: $out/framepace_$version.raw ($(du -k "$out/framepace.raw" | cut -f1) KiB)"
