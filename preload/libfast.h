/*
 * libfast.h - the fast paths of the blocking locks, pthread's (locks.c) and
 * those of the lock libraries beyond (GLib's, OpenMP's): a lock this thread has seen (its instance in the thread's cache),
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
 * The instance of a lock this thread's cache has, set up by its library's
 * interposer (known), or NULL.  Not inside the runtime.  Its class may be
 * null: rt_push_fast_seen() finds no chain of a null class.
 */
static inline __attribute__((always_inline)) struct instance *lib_cached(struct rt_thread *t,
									  const void *lock)
{
	if (unlikely(tls_busy))
		return NULL;
	struct instance *in = icache_peek(t, lock);
	if (unlikely(!in || !in->known))
		return NULL;
	return in;
}

/*
 * The fast paths of the blocking locks: a lock seen before by this thread,
 * whose real lock cannot fail, on a chain the cache has seen, and no
 * watchdog.  The entry is pushed and the real lock tail-called, with no
 * frame and nothing to undo: the stores of a frame ahead of the lock's
 * atomic instruction, and the loads after them, are what a pair costs.
 * Unlike the slow paths, the thread is not kept entered while it blocks, so
 * a signal handler that locks meanwhile is checked under the lock being
 * waited for, as kernel lockdep checks an interrupt that arrives while a
 * lock spins.  An rwlock counts as one that cannot fail: glibc fails a
 * read lock only past 2^29 readers, or on a relock by its writer, which is
 * recursion and never a cached chain.
 */
enum fast_lock { FAST_MUTEX, FAST_READ, FAST_WRITE };

static inline __attribute__((always_inline)) bool lock_push_fast(const void *lock,
								  enum fast_lock how, uintptr_t ip)
{
	/*
	 * thread_peek() without rt_fast: the thread's fast_cap stands for it
	 * (0 under a watchdog).  Once checking stops (out of memory, a child
	 * forked without the runtime's locks), a push here may still happen
	 * on a chain the cache has seen: it touches only the thread's own
	 * stack, and nothing is ever reported from it.
	 */
	struct rt_thread *t = tls_fast;

	if (unlikely(tls_busy))
		return false;
	struct instance *in = icache_peek(t, lock);
	if (unlikely(!in))
		return false;
	/* fdep_lock_class() may give the instance another class, or none when
	 * memory ran out: a null class finds no chain (rt_push_fast_seen) */
	struct lock_class *cls = in->cls;
	int mode;
	if (how == FAST_MUTEX) {
		if (unlikely(!in->nofail))
			return false;
		mode = HM_EXCLUSIVE;
	} else {
		/* read_mode, set with known, is nonzero on an rwlock's record
		 * alone: a mutex's at the same address (memory reused without
		 * a destroy) goes to the slow path, which makes the new lock */
		mode = in->read_mode;
		if (unlikely(!mode))
			return false;
		if (how == FAST_WRITE)
			mode = HM_EXCLUSIVE;
	}
	if (FAST_PUSH_GUARD)
		tls_busy = 1;
	bool pushed = how == FAST_MUTEX ? rt_push_fast_seen(t, cls, lock, mode, 0, ip)
					: rt_push_fast_cached(t, cls, lock, mode, 0, ip);
	if (FAST_PUSH_GUARD)
		tls_busy = 0;
	return pushed;
}

/* GLib's GRWLock (write: its writer lock) and a lock that cannot fail
 * (GLib's GMutex, OpenMP's simple locks and critical sections): as a
 * pthread rwlock's and mutex's. */
static inline __attribute__((always_inline)) bool lib_push_fast(const void *lock, bool write,
								 uintptr_t ip)
{
	return lock_push_fast(lock, write ? FAST_WRITE : FAST_READ, ip);
}

static inline __attribute__((always_inline)) bool nofail_push_fast(const void *lock, uintptr_t ip)
{
	return lock_push_fast(lock, FAST_MUTEX, ip);
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
 * An entry is only ever pushed for a lock with a class, the class the
 * instance may since have lost (fdep_lock_class()): still the same lock.
 */
static inline __attribute__((always_inline)) bool rec_push_fast(const void *lock, uintptr_t ip)
{
	struct rt_thread *t = tls_fast;
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
		done = rt_push_fast_seen(t, in->cls, lock, HM_EXCLUSIVE, 0, ip);
	if (FAST_PUSH_GUARD)
		tls_busy = 0;
	return done;
}

/* Its unlock: the top entry, one count less or popped. */
static inline __attribute__((always_inline)) bool rec_pop_fast(const void *lock)
{
	struct rt_thread *t = tls_fast;

	if (unlikely(tls_busy))
		return false;
	/* on an empty stack, the entry below the bottom, which never pops
	 * (held.c) */
	struct held *h = held_top(t);
	if (unlikely(h->instance != lock || (h->flags & (HF_PATH | HF_SPIN))))
		return false;
	if (h->refs) {
		h->refs--;
	} else {
		held_depth_add(t, -1);
	}
	return true;
}

#endif /* FDEP_LIBFAST_H */
