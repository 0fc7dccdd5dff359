#!/usr/bin/env bash
# Builds the test VM's root file system with mkosi (top-level mkosi.conf) and packs it as an
# uncompressed initramfs. Cached outside the clone, keyed by a hash of every input, so a
# second run costs nothing. Prints the path of the cpio archive.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cache=${FRAMEPACE_CACHE:-/var/cache/framepace}/vm-images

key=$( (cd "$top" && cat mkosi.conf mkosi.postinst tests/vm/image.sh && \
        find mkosi.pkgmngr -type f -print0 | sort -z | xargs -0 cat) | sha256sum | cut -c1-16)
dir=$cache/$key
if [ -f "$dir/rootfs.cpio" ]; then
    echo "$dir/rootfs.cpio"
    exit 0
fi

mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9
if [ ! -f "$dir/rootfs.cpio" ]; then
    start=$(date +%s)
    echo "image: building the trixie test image with mkosi (key $key)" >&2
    rm -rf "$dir/work" && mkdir -p "$dir/work/out" "$dir/work/ws" "$cache/mkosi-cache"
    if ! mkosi -C "$top" --output-dir="$dir/work/out" --workspace-dir="$dir/work/ws" \
            --cache-dir="$cache/mkosi-cache" --force build >"$dir/mkosi.log" 2>&1; then
        tail -n 40 "$dir/mkosi.log" >&2
        echo "image: mkosi failed (full log: $dir/mkosi.log)" >&2
        exit 1
    fi
    (cd "$dir/work/out/framepace-testvm" && find . -print0 | cpio --null -o -H newc --quiet) \
        >"$dir/rootfs.cpio.tmp"
    mv "$dir/rootfs.cpio.tmp" "$dir/rootfs.cpio"
    rm -rf "$dir/work"
    echo "image: built in $(( $(date +%s) - start )) s, $(du -m "$dir/rootfs.cpio" | cut -f1) MiB" >&2
    # Older images are dead weight once the inputs changed.
    find "$cache" -mindepth 1 -maxdepth 1 -type d ! -name "$key" ! -name mkosi-cache -exec rm -rf {} +
fi
echo "$dir/rootfs.cpio"
