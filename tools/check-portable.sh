#!/usr/bin/env bash
# check-portable.sh BINARY: fails unless BINARY needs only glibc and libsystemd at run time,
# and no glibc newer than Debian 12's 2.36 - what SteamOS, Bazzite and Debian all provide.
set -euo pipefail
binary=${1:?usage: check-portable.sh BINARY}
allowed='^(libc\.so\.6|libm\.so\.6|libsystemd\.so\.0|ld-linux-x86-64\.so\.2)$'
needed=$(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
bad=$(echo "$needed" | grep -vE "$allowed" || true)
if [ -n "$bad" ]; then
    echo "check-portable: $binary needs libraries beyond glibc and libsystemd:" $bad >&2
    exit 1
fi
newest=$(objdump -T "$binary" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n1)
if [ "$(printf '%s\nGLIBC_2.36\n' "$newest" | sort -V | tail -n1)" != GLIBC_2.36 ]; then
    echo "check-portable: $binary needs $newest (newer than glibc 2.36)" >&2
    exit 1
fi
echo "check-portable: $binary needs only:" $needed "(glibc symbols up to $newest)"
