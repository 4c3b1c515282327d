/*
 * reclaim.c - memory reclaim as a lock class.
 *
 * Any allocation that may enter reclaim is an exclusive acquire+release of
 * fs_reclaim: whatever is held then gets an edge into it.  Code that runs
 * as reclaim (a shrinker, a notifier callback) holds fs_reclaim, and - as
 * the kernel's PF_MEMALLOC - its own allocations do not recurse into
 * reclaim.  No-reclaim scopes exempt the allocations in them.
 */
#include "runtime.h"

static char reclaim_marker;

/* The allocation event; the caller checked that the thread holds something. */
void rt_allocation(struct rt_thread *t, uintptr_t ip)
{
	if (t->reclaim_depth || t->noreclaim)
		return;
	rt_blocking_allowed(t, "an allocation that may enter reclaim under a spinning lock", ip);
	rt_check_acquire(t, cls_fs_reclaim, HM_EXCLUSIVE, NULL, ip);
}

/*
 * An allocation with something held, decided without entering the runtime:
 * in reclaim or a no-reclaim scope (nothing to check), or the chain "held
 * stack, then fs_reclaim" seen before, with no spinning lock held and no
 * signalling path to sweep.  A handler that interrupts it changes nothing
 * this reads for good: it pushes and pops above.
 */
static inline bool might_alloc_fast(struct rt_thread *t)
{
	if (t->reclaim_depth | t->noreclaim)
		return true;
	if (unlikely(held_special(t)) && (t->spin_depth || paths_stale(t)))
		return false;
	if (!chain_seen(t, chain_step(held_key(t), cls_fs_reclaim, HM_EXCLUSIVE, 0)))
		return false;
	t->fast_hits++;
	return true;
}

RT_EXPORT void fdep_might_alloc(void)
{
	struct rt_thread *t = tls_thread;

	/* nothing held: no edge to make */
	if (likely(t && !tls_busy) && (!t->depth || might_alloc_fast(t)))
		return;
	t = thread_enter();
	if (!t)
		return;
	if (t->depth)
		rt_allocation(t, RT_CALLER);
	thread_leave();
}

RT_EXPORT void fdep_reclaim_begin(void)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	rt_acquire(t, cls_fs_reclaim, &reclaim_marker, HM_EXCLUSIVE, HF_RECLAIM, NULL, RT_CALLER);
	t->reclaim_depth++;
	thread_leave();
}

RT_EXPORT void fdep_reclaim_end(void)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	for (uint32_t i = t->depth; i-- > 0;) {
		if (t->held[i].flags & HF_RECLAIM) {
			held_remove(t, &t->held[i]);
			if (t->reclaim_depth)
				t->reclaim_depth--;
			break;
		}
	}
	thread_leave();
}

RT_EXPORT unsigned fdep_noreclaim_save(void)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return 0;
	unsigned saved = t->noreclaim;
	t->noreclaim++;
	thread_leave();
	return saved;
}

RT_EXPORT void fdep_noreclaim_restore(unsigned saved)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	t->noreclaim = saved;
	thread_leave();
}
