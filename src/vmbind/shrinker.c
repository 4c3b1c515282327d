/*
 * shrinker.c - memory reclaim: a shrinker that evicts buffer objects from
 * the LRU, run by the reclaim thread and, when the page budget is exceeded,
 * directly by whoever allocates.
 *
 * The shrinker runs as reclaim: anything it waits for must never wait for
 * an allocation.  It may wait for fences (the GPU will signal them), but it
 * only trylocks reservation objects, because their holders allocate.
 */
#include "vmbind.h"

atomic_ullong shrinker_evictions;

static _Thread_local bool in_reclaim;

unsigned shrinker_scan(unsigned nr, bool direct)
{
	unsigned done = 0;
	/* the mistake is made by the reclaim thread, which holds nothing */
	bool blocking = vmb_bug(BUG_BLOCKING_RESV_IN_SHRINKER) && !direct;

	while (done < nr) {
		struct gem_object *obj = bo_lru_pick(!blocking);

		if (!obj)
			break;
		/* the mistake: sleep on a resv whose holder may be allocating */
		if (blocking && !dma_resv_lock_timeout(obj->resv, VMB_BUG_WAIT_MS)) {
			bo_lru_bump(obj);
			continue;
		}
		if (obj->resident && atomic_load(&obj->pin_count) == 0) {
			bo_evict(obj);
			atomic_fetch_add(&shrinker_evictions, 1);
			done++;
		} else if (obj->resident) {
			bo_lru_bump(obj);
		}
		dma_resv_unlock(obj->resv);
	}
	return done;
}

/* The allocating thread turns shrinker: PF_MEMALLOC-style, not recursive. */
void direct_reclaim(void)
{
	if (in_reclaim)
		return;
	in_reclaim = true;
	fdep_reclaim_begin();
	shrinker_scan(2, true);
	fdep_reclaim_end();
	in_reclaim = false;
}
