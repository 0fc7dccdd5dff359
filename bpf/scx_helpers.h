/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What sched_ext schedulers usually take from the scx project's common.bpf.h, written here:
 * the callback macros and the wrap-safe clock comparisons. That header is packaged nowhere
 * (not in Debian, not in the kernel's uapi headers) and would come with scx's compat layer
 * for its own kernel range and vmlinux.h; framepace needs these few lines, and kfuncs.h
 * does the kernel-version side itself.
 *
 * scx's exit record (UEI_DEFINE / UEI_RECORD and its user_exit_info.h reader) has no
 * counterpart here on purpose: framepace_exit fills the project's own struct fp_exit_info
 * (framepace_shared.h), whose layout framepaced reads and keeps stable.
 *
 * Macros and two pure functions only, so the host tests can include policy.h, which uses
 * time_before.
 */
#ifndef FRAMEPACE_SCX_HELPERS_H
#define FRAMEPACE_SCX_HELPERS_H

/* A sched_ext callback: a struct_ops program that takes the kernel's argument list. */
#define BPF_STRUCT_OPS(name, args...) SEC("struct_ops/" #name) BPF_PROG(name, ##args)
#define BPF_STRUCT_OPS_SLEEPABLE(name, args...) SEC("struct_ops.s/" #name) BPF_PROG(name, ##args)

/* a is earlier than b on a u64 clock that may wrap (virtual time starts near zero). */
static __always_inline bool time_before(u64 a, u64 b)
{
	return (s64)(a - b) < 0;
}

/*
 * now - since, or 0 if since is later: scx_bpf_now() is monotonic per CPU only, and a stamp
 * taken on another CPU (a task queued there, a remote ops.running) may be a little ahead.
 */
static __always_inline u64 time_since(u64 now, u64 since)
{
	return time_before(since, now) ? now - since : 0;
}

#endif /* FRAMEPACE_SCX_HELPERS_H */
