#!/usr/bin/env bash
# Builds the peer schedulers the benchmark compares against (scx_bpfland, scx_lavd) from the
# exported sched-ext/scx sources, with this project's clang-19, bpftool and libbpf, and the
# small C++ loaders of this folder that stand in for their Rust userspace (no crates registry
# here, so cargo cannot build them). Benchmark tools only: nothing here ships in the product.
# Cached outside the clone, keyed by every input; prints the directory holding
# `bpfland_loader`, `lavd_loader`, `cake_loader` and `BUILD`.
#   build-peers.sh [--peers-src DIR] KVER        e.g. 7.3.4+deb13-amd64
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
usage="usage: build-peers.sh [--peers-src DIR] KVER"

src=
while [ $# -gt 0 ]; do
    case "$1" in
    --peers-src) src=${2:?$usage}; shift 2 ;;
    --peers-src=*) src=${1#*=}; shift ;;
    -h|--help) echo "$usage"; exit 0 ;;
    -*) echo "build-peers: unknown option $1" >&2; echo "$usage" >&2; exit 1 ;;
    *) break ;;
    esac
done
kver=${1:?$usage}
if [ -z "$src" ]; then
    src=$top/../shared/peers/scx-7a58a3a
    [ -d "$src" ] || { echo "build-peers: no peer sources at $src (the shared/ folder next to the clone); pass --peers-src DIR" >&2; exit 1; }
fi
for d in scheds/rust/scx_bpfland scheds/rust/scx_lavd scheds/rust/scx_cake scheds/include lib; do
    [ -d "$src/$d" ] || { echo "build-peers: $src is not an export of sched-ext/scx (no $d)" >&2; exit 1; }
done
src=$(cd "$src" && pwd)

cache_root=${FRAMEPACE_CACHE:-/var/cache/framepace}
libbpf=$cache_root/libbpf
[ -f "$libbpf/lib/libbpf.a" ] || { echo "build-peers: no libbpf.a in $libbpf (run tools/setup-toolchain.sh)" >&2; exit 1; }
for tool in clang-19 llvm-strip-19 bpftool g++ gcc sha256sum; do
    command -v "$tool" >/dev/null || { echo "build-peers: $tool not found (run tools/setup-toolchain.sh)" >&2; exit 1; }
done

# The export keeps git symlinks as small text files naming their target; resolve by hand.
vmlinux_dir=$src/scheds/vmlinux/arch/x86
case "$kver" in
# SOURCE.txt: the v7.0 header is the one tried for 7.x kernels; older ones take the tree's
# default (the file vmlinux.h names). CO-RE carries either to the exact kernel.
[7-9].*|[1-9][0-9].*) vmlinux_h=$(ls "$vmlinux_dir"/vmlinux-v7.*.h | sort -V | tail -n1) ;;
*) vmlinux_h=$vmlinux_dir/$(tr -d '[:space:]' <"$vmlinux_dir/vmlinux.h") ;;
esac
[ -f "$vmlinux_h" ] || { echo "build-peers: no vmlinux header for $kver in $vmlinux_dir" >&2; exit 1; }

peers=(bpfland lavd cake)
bpfland_bpf=$src/scheds/rust/scx_bpfland/src/bpf
lavd_bpf=$src/scheds/rust/scx_lavd/src/bpf
cake_bpf=$src/scheds/rust/scx_cake/src/bpf
# scx_lavd's build.rs: main.bpf.c first, then these, linked into one object.
lavd_sources=("$lavd_bpf"/main.bpf.c "$lavd_bpf"/balance.bpf.c "$lavd_bpf"/idle.bpf.c
              "$lavd_bpf"/introspec.bpf.c "$lavd_bpf"/lat_cri.bpf.c "$lavd_bpf"/lock.bpf.c
              "$lavd_bpf"/power.bpf.c "$lavd_bpf"/preempt.bpf.c "$lavd_bpf"/sys_stat.bpf.c
              "$lavd_bpf"/util.bpf.c)
for l in arena atq bitmap cgroup_bw cpumask rbtree minheap sdt_alloc sdt_task topology ravg; do
    lavd_sources+=("$src/lib/$l.bpf.c")
done
# scx_cake's build.rs: cake.bpf.c, then these.
cake_sources=("$cake_bpf"/cake.bpf.c)
for l in arena rbtree atq sdt_alloc sdt_task bitmap cpumask topology; do
    cake_sources+=("$src/lib/$l.bpf.c")
done

# Cache key: every input file and the tools that turn them into binaries.
key=$( {
    cd "$src" && find scheds/include lib "$bpfland_bpf" "$lavd_bpf" "$cake_bpf" -type f -print0 | sort -z |
        xargs -0 sha256sum
    sha256sum "$vmlinux_h" "$libbpf/lib/libbpf.a" "$here"/build-peers.sh "$here"/*.cpp "$here"/*.h "$here"/*.c
    clang-19 --version | head -n1; bpftool version | head -n1; g++ --version | head -n1
} | sha256sum | cut -c1-16)
cache=$cache_root/peers
dest=$cache/$key
if [ -x "$dest/bpfland_loader" ] && [ -x "$dest/lavd_loader" ] && [ -x "$dest/cake_loader" ]; then
    echo "$dest"
    exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/include" "$work/bpfland" "$work/lavd" "$work/cake"
cp "$vmlinux_h" "$work/include/vmlinux.h"
compile() { nice -n 10 "$@"; }

# -mcpu=v3 and the include order as scx's own build; -fms-extensions for the 7.x header's
# anonymous tagged structs (docs/environment.md); -idirafter for glibc's gnu/stubs.h.
bpf_cflags=(-g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -fms-extensions -Wno-microsoft-anon-tag
            -idirafter /usr/include/x86_64-linux-gnu -I "$work/include"
            -I "$src/scheds/include" -I "$src/scheds/include/bpf-compat" -I "$libbpf/include")

echo "build-peers: scx_bpfland BPF ($(basename "$vmlinux_h"))" >&2
compile clang-19 "${bpf_cflags[@]}" -c "$bpfland_bpf/main.bpf.c" -o "$work/bpfland/bpfland.bpf.o"

# Compiles PEER's sources (main file first) with extra flags; prints the objects in order.
compile_all() {
    local peer=$1 dir=$2 s o
    shift 2
    local extra=() objs=()
    while [ "$1" != -- ]; do extra+=("$1"); shift; done
    shift
    for s in "$@"; do
        o=$work/$peer/$(basename "$(dirname "$s")")_$(basename "$s" .c).o
        compile clang-19 "${bpf_cflags[@]}" "${extra[@]}" -I "$dir" -I "$src/scheds/include/lib" -c "$s" -o "$o"
        objs+=("$o")
    done
    printf '%s\n' "${objs[@]}"
}

echo "build-peers: scx_lavd BPF (${#lavd_sources[@]} objects)" >&2
mapfile -t lavd_objs < <(compile_all lavd "$lavd_bpf" -- "${lavd_sources[@]}")
[ ${#lavd_objs[@]} -eq ${#lavd_sources[@]} ] || exit 1

# scx_cake's build.rs adds these after scx's base flags (so -mcpu=v4 wins), and
# -DCAKE_RELEASE=1 for a release build (cargo build --release, what users run).
cake_cflags=(-O2 -mcpu=v4 -fno-stack-protector -fno-asynchronous-unwind-tables -DCAKE_RELEASE=1)
echo "build-peers: scx_cake BPF (${#cake_sources[@]} objects)" >&2
mapfile -t cake_objs < <(compile_all cake "$cake_bpf" "${cake_cflags[@]}" -- "${cake_sources[@]}")
[ ${#cake_objs[@]} -eq ${#cake_sources[@]} ] || exit 1

# bpftool 7.5's static linker (libbpf of kernel 6.12) fails on an extern kfunc declared in
# several objects ("global 'bpf_iter_num_new': failed to resolve size of underlying type");
# libbpf fixed that in its own linker before 1.5 ("libbpf: do not resolve size on duplicate
# FUNCs"), so link with a few lines over the project's libbpf 1.5 instead of `bpftool gen object`.
gcc -O2 -Wall -I "$libbpf/include" "$here/bpf_link_objects.c" -o "$work/bpf_link_objects" \
    "$libbpf/lib/libbpf.a" -Wl,-Bstatic -lelf -lz -Wl,-Bdynamic
"$work/bpf_link_objects" "$work/lavd/lavd.bpf.o" "${lavd_objs[@]}"
"$work/bpf_link_objects" "$work/cake/cake.bpf.o" "${cake_objs[@]}"

for peer in "${peers[@]}"; do
    obj=$work/$peer/$peer.bpf.o
    # The types of the object's BTF, for the skeleton's typed sections (C++: no _Bool, and
    # fields named after C++ keywords renamed: the v6.9 header's types have `void *private;`).
    bpftool btf dump file "$obj" format c |
        sed -e '/^typedef _Bool bool;$/d' -e 's/\b_Bool\b/bool/g' \
            -E -e 's/\b(private|public|protected|class|new|delete|this|template|namespace)(;|\[)/\1_\2/g' \
            >"$work/$peer/$peer.types.h"
    llvm-strip-19 -g "$obj"
    bpftool gen skeleton "$obj" name "$peer" | sed -e 's/\b_Bool\b/bool/g' >"$work/$peer/$peer.skel.h"
done

echo "build-peers: loaders" >&2
cxxflags=(-std=c++20 -O2 -Wall -Wextra -Wno-attributes -Wno-unknown-pragmas -Wno-missing-field-initializers
          -I "$here" -I "$libbpf/include" -isystem "$src/scheds/include")
for peer in "${peers[@]}"; do
    # cake's intf.h lays out struct cake_task_ctx by CAKE_RELEASE, as its BPF side does.
    defs=(); [ "$peer" = cake ] && defs=(-DCAKE_RELEASE=1)
    compile g++ "${cxxflags[@]}" "${defs[@]}" -isystem "$work/$peer" -isystem "$src/scheds/rust/scx_$peer/src/bpf" \
        "$here/${peer}_loader.cpp" -o "$work/$peer/${peer}_loader" \
        "$libbpf/lib/libbpf.a" -Wl,-Bstatic -lelf -lz -Wl,-Bdynamic -static-libstdc++ -static-libgcc
done

mkdir -p "$dest.tmp"
for peer in "${peers[@]}"; do cp "$work/$peer/${peer}_loader" "$dest.tmp/"; done
{
    echo "peers: $(basename "$src") ($(grep -o 'commit [0-9a-f]*' "$src/SOURCE.txt" 2>/dev/null | head -n1))"
    echo "vmlinux.h: $(basename "$vmlinux_h")"
    echo "kernel: $kver"
    echo "$(clang-19 --version | head -n1); $(bpftool version | head -n1); libbpf $(sed -n 's/^Version: //p' "$libbpf/lib/pkgconfig/libbpf.pc")"
} >"$dest.tmp/BUILD"
rm -rf "$dest" && mv "$dest.tmp" "$dest"
echo "$dest"
