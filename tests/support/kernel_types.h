// The kernel's type names, which the BPF C headers (bpf/policy.h) are written in, for
// including those headers in host C++. __always_inline comes from glibc's <sys/cdefs.h>.
#pragma once

#include <cstdint>

using s32 = int32_t;
using u32 = uint32_t;
using u64 = uint64_t;
using s64 = int64_t;

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
