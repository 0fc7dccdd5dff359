#!/usr/bin/env bash
# Regenerates bpf/vmlinux.h from the BTF inside a Debian vmlinuz (bzImage with a zstd
# payload). Usage: bpf/gen-vmlinux-h.sh VMLINUZ [OUTPUT]
# The committed header comes from 7.3.4+deb13-amd64; CO-RE carries the object to other
# kernels, so regenerate only to reach types or kfuncs that a newer kernel adds.
set -euo pipefail
vmlinuz=${1:?usage: gen-vmlinux-h.sh VMLINUZ [OUTPUT]}
out=${2:-$(dirname "$0")/vmlinux.h}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The zstd frame magic 28 b5 2f fd marks where the compressed vmlinux starts.
offset=$(LC_ALL=C grep -obUaP '\x28\xb5\x2f\xfd' "$vmlinuz" | head -n1 | cut -d: -f1)
if [ -z "$offset" ]; then
    echo "gen-vmlinux-h: no zstd payload in $vmlinuz" >&2
    exit 1
fi
# zstd stops with an error at the trailing bytes after the frame; the ELF is complete by then.
tail -c +"$((offset + 1))" "$vmlinuz" | zstd -dcq 2>/dev/null >"$tmp/vmlinux" || true
if ! head -c 4 "$tmp/vmlinux" | grep -q 'ELF'; then
    echo "gen-vmlinux-h: payload of $vmlinuz is not an ELF vmlinux" >&2
    exit 1
fi
bpftool btf dump file "$tmp/vmlinux" format c >"$tmp/vmlinux.h"
mv "$tmp/vmlinux.h" "$out"
echo "gen-vmlinux-h: wrote $out from $(basename "$vmlinuz")" >&2
