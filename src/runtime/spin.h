/*
 * spin.h - the fast paths of spinning locks (HF_SPIN): pthread spinlocks
 * (preload/locks.c) and FDEP_SPIN locks and sections of the annotation API
 * (api.c).  As a blocking lock's (hot.h), an acquisition on a chain the
 * cache has seen is a push, and its release the pop of the top entry; the
 * two differences are that the entry counts in the thread's spin_depth,
 * and that a spinning lock may be taken while another one is held: nothing
 * blocks, so there is nothing to check but the chain.
 */
#ifndef FDEP_SPIN_H
#define FDEP_SPIN_H

#include "runtime.h"

/*
 * Push a spinning lock's entry when its chain was validated before: no
 * signalling path to sweep, room below fast_cap (0 under a watchdog, which
 * notes every spin), and the chain seen.  False: nothing done, the caller
 * goes to its slow path.  The entry is pushed before it is counted: a
 * signal handler that runs in between sees a spinning entry the count
 * misses (a missed report at worst), never a count with no entry.
 */
static inline __attribute__((always_inline)) bool spin_push_fast(struct rt_thread *t,
								 struct lock_class *c,
								 const void *inst, int mode,
								 unsigned hflags, uintptr_t ip)
{
	if (unlikely(paths_stale(t)))
		return false;
	if (unlikely(t->depth >= t->fast_cap))
		return false;
	uint64_t prev = held_key(t);
	uint64_t key = chain_step(prev, c, mode, hflags);
	/* a chain of one lock from an empty stack with no context has nothing
	 * to validate (hot.h, rt_push_fast_probe) */
	if (prev && !chain_seen(t, key))
		return false;
	held_push_checked(t, c, inst, mode, hflags | HF_SPIN, ip, key);
	t->spin_depth++;
	return true;
}

/*
 * Pop the top entry if it is inst's and a plain spinning one (no count of
 * recursion, no path); false leaves it to rt_release.  The count goes
 * first: a handler in between sees the entry uncounted, never a count
 * with no spinning entry under it.  The depth is tested: the entry below
 * the bottom of the stack (held.c) is a spinning one too.
 */
static inline __attribute__((always_inline)) bool spin_pop_fast(struct rt_thread *t,
								const void *inst)
{
	struct held *h = t->held + t->depth - 1;

	if (likely(t->depth && h->instance == inst && held_pop_word(h) == HF_SPIN)) {
		t->spin_depth--;
		t->depth--;
		return true;
	}
	return false;
}

#endif /* FDEP_SPIN_H */
