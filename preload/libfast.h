/*
 * libfast.h - the fast paths of the lock libraries beyond pthreads (GLib's
 * GRecMutex and GRWLock, OpenMP's nest locks), as locks.c's for a pthread
 * lock: a lock this thread has seen (its instance in the thread's cache),
 * on a chain the cache has seen, is a push, and its unlock the pop of the
 * top entry; the caller then tail-calls the real function.  A recursive
 * lock relocked by its owner counts on its entry instead.
 *
 * As on the pthread fast paths, the thread is not kept entered across the
 * real call: a signal handler that runs while it blocks is checked under
 * the lock being waited for.  The lock functions that use these lie in the
 * fast paths' section (FAST_TEXT, preload.h): a handler that interrupts a
 * push or a count runs untracked, as one that interrupted the runtime.  An
 * unlock's pop is a change at the top of the stack by its own thread, so a
 * handler that interrupts it pushes and pops above and leaves it as it was.
 */
#ifndef FDEP_LIBFAST_H
#define FDEP_LIBFAST_H

#include "preload.h"

/*
 * The instance of a lock this thread's cache has, with a class, set up by
 * its library's interposer (known), or NULL.  Not inside the runtime.
 */
static inline __attribute__((always_inline)) struct instance *lib_cached(struct rt_thread *t,
									  const void *lock)
{
	if (unlikely(!t || tls_busy))
		return NULL;
	struct instance *in = icache_peek(t, lock);
	if (unlikely(!in || !in->cls || !in->known))
		return NULL;
	return in;
}

/*
 * The push of a lock in `mode` (exclusive, or a reader's read_mode).  The
 * thread's fast_cap, 0 under a watchdog or once the fast paths are off,
 * sends those to the slow path, as on locks.c's.
 */
static inline __attribute__((always_inline)) bool lib_push_fast(const void *lock, bool write,
								 uintptr_t ip)
{
	struct rt_thread *t = tls_thread;
	struct instance *in = lib_cached(t, lock);

	if (!in)
		return false;
	if (FAST_PUSH_GUARD)
		tls_busy = 1;
	bool pushed = rt_push_fast(t, in->cls, lock, write ? HM_EXCLUSIVE : in->read_mode, 0, ip);
	if (FAST_PUSH_GUARD)
		tls_busy = 0;
	return pushed;
}

/*
 * A lock that cannot fail (GLib's GMutex, OpenMP's simple locks and
 * critical sections): preload.h's plain_push_fast without the test of
 * rt_fast, which the thread's fast_cap stands for, as on locks.c's.
 */
static inline __attribute__((always_inline)) bool nofail_push_fast(const void *lock, uintptr_t ip)
{
	struct rt_thread *t = tls_thread;

	if (unlikely(!t || tls_busy))
		return false;
	struct instance *in = icache_peek(t, lock);
	struct lock_class *cls = in ? in->cls : NULL;
	if (unlikely(!cls || !in->nofail))
		return false;
	if (FAST_PUSH_GUARD)
		tls_busy = 1;
	bool pushed = rt_push_fast(t, cls, lock, HM_EXCLUSIVE, 0, ip);
	if (FAST_PUSH_GUARD)
		tls_busy = 0;
	return pushed;
}

/* The entry of lock on the held stack (held_find, inline: a call would
 * cost the fast path a frame). */
static inline __attribute__((always_inline)) struct held *lib_held_find(struct rt_thread *t,
									 const void *lock)
{
	for (struct held *h = t->held + t->depth; h-- != t->held;)
		if (h->instance == lock && !(h->flags & HF_PATH))
			return h;
	return NULL;
}

/*
 * A recursive lock: its owner's relock is one count more on the entry it
 * holds (no acquisition: it cannot block), else the push of a new entry.
 */
static inline __attribute__((always_inline)) bool rec_push_fast(const void *lock, uintptr_t ip)
{
	struct rt_thread *t = tls_thread;
	struct instance *in = lib_cached(t, lock);

	if (!in)
		return false;
	if (FAST_PUSH_GUARD)
		tls_busy = 1;
	bool done = true;
	struct held *h = lib_held_find(t, lock);
	if (h)
		h->refs++;
	else
		done = rt_push_fast(t, in->cls, lock, HM_EXCLUSIVE, 0, ip);
	if (FAST_PUSH_GUARD)
		tls_busy = 0;
	return done;
}

/* Its unlock: the top entry, one count less or popped. */
static inline __attribute__((always_inline)) bool rec_pop_fast(const void *lock)
{
	struct rt_thread *t = tls_thread;

	if (unlikely(!t || tls_busy))
		return false;
	/* on an empty stack, the entry below the bottom, which never pops
	 * (held.c) */
	struct held *h = t->held + t->depth - 1;
	if (unlikely(h->instance != lock || (h->flags & (HF_PATH | HF_SPIN))))
		return false;
	if (h->refs) {
		h->refs--;
	} else {
		t->key = h->prev_key;
		t->depth--;
	}
	return true;
}

#endif /* FDEP_LIBFAST_H */
