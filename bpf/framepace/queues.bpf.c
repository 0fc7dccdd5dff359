/* SPDX-License-Identifier: GPL-2.0 */
/*
 * framepace's dispatch queues: one shared queue per LLC and one per CPU, which exist, which
 * a CPU reads, and the deadline of the first task waiting in one.
 *
 * Part of framepace.bpf.c's one compilation unit; see there.
 */

/* The shared queue of cpu's last-level cache. */
static __always_inline u64 shared_dsq_of(s32 cpu)
{
	return FP_LLC_DSQ(llc_of(cpu));
}

/* Deadline of the first task in a queue; false when it is empty. */
static __always_inline bool queue_head_deadline(u64 dsq_id, u64 *deadline)
{
	struct bpf_iter_scx_dsq it;
	struct task_struct *head;
	bool found = false;

	/* 6.19+ reads the head without the lock, in one look-up of the queue by id (a hash
	 * table's: a count first would be a second one, on every dispatch). */
	if (bpf_ksym_exists(scx_bpf_dsq_peek)) {
		head = scx_bpf_dsq_peek(dsq_id);
		if (!head)
			return false;
		*deadline = head->scx.dsq_vtime;
		return true;
	}
	/* Before it, a lock-free count first: the iterator takes the queue's lock three times
	 * (start, step, end), and the shared queue is empty on every CPU's dispatch while the
	 * load is light. */
	if (scx_bpf_dsq_nr_queued(dsq_id) <= 0)
		return false;
	if (bpf_iter_scx_dsq_new(&it, dsq_id, 0) == 0) {
		head = bpf_iter_scx_dsq_next(&it);
		if (head) {
			*deadline = head->scx.dsq_vtime;
			found = true;
		}
	}
	bpf_iter_scx_dsq_destroy(&it);
	return found;
}

static s32 create_queues(void)
{
	s32 llc, cpu, err;

	bpf_for(llc, 0, nr_llc_queues())
	{
		err = scx_bpf_create_dsq(FP_LLC_DSQ(llc), -1);
		if (err)
			return err;
	}
	bpf_for(cpu, 0, nr_cpu_queues())
	{
		err = scx_bpf_create_dsq(FP_CPU_DSQ(cpu), -1);
		if (err)
			return err;
	}
	return 0;
}
