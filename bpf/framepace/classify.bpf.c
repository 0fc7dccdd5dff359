/* SPDX-License-Identifier: GPL-2.0 */
/*
 * framepaced's decisions (the classes map, by tgid), the generation that makes tasks
 * classified by an earlier daemon start over, and role changes reported back.
 *
 * Part of framepace.bpf.c's one compilation unit; see there.
 */

/* framepaced's decisions, by tgid (enum fp_class). Read once per task per classes_seq. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, u32);
	__type(value, u32);
} classes SEC(".maps");

/* State set up by an earlier daemon generation starts over; the task keeps its place. */
static __always_inline void reclassify(struct task_ctx *tctx)
{
	tctx->runs = 0;
	tctx->runtime_ns = 0;
	tctx->classes_seq = classes_seq - 1;
	tctx->generation = generation;
	count(FP_CNT_RECLASSIFIED);
}

/* Re-reads the thread group's class after framepaced changed the classes map. */
static __always_inline void refresh_class(struct task_struct *p, struct task_ctx *tctx)
{
	u32 tgid = p->tgid;
	u32 *class_id = bpf_map_lookup_elem(&classes, &tgid);

	tctx->class_id = class_id && *class_id < FP_NR_CLASSES ? *class_id : FP_CLASS_NONE;
	tctx->classes_seq = classes_seq;
}

/* Role changes of classified tasks go to framepaced; everyone else's are only counted. */
static __always_inline void set_role(struct task_struct *p, struct task_ctx *tctx, u32 role)
{
	struct fp_event *ev;

	if (tctx->class_id != FP_CLASS_NONE) {
		count(FP_CNT_ROLE_CHANGES);
		ev = event_reserve(FP_EV_ROLE_CHANGE);
		if (ev) {
			event_set_task(ev, p);
			ev->role.old_role = tctx->role;
			ev->role.new_role = role;
			event_submit_batched(ev);
		}
	}
	tctx->role = role;
}
