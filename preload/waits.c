/*
 * waits.c - semaphores, joins, barriers and once routines as events
 * (event.c; fencedep(7), "Waits and events").
 *
 *   sem_wait            held -> sem; sem_post: sem -> what the poster holds,
 *                       less what it held already at its own wait for the
 *                       semaphore (a binary semaphore used as a lock)
 *   pthread_join        held -> thread@<creation site>; the thread's whole
 *                       life is the context of its exit (thread.c)
 *   pthread_barrier_wait  an arrival: the thread is in the barrier's
 *                       context from there on (its phases: what it takes
 *                       in a phase is barrier -> L, committed when it
 *                       arrives next), then held -> barrier
 *   pthread_once        held -> once, when the routine has not run yet; the
 *                       routine runs holding the once's class for reading,
 *                       as a trylock, so what it takes is once -> L
 *
 * Timed and try waits (sem_timedwait, sem_clockwait, sem_trywait,
 * pthread_timedjoin_np, pthread_tryjoin_np) record no wait: they cannot
 * block forever.  Each blocking wait is shown by the watchdog and in dumps.
 */
#include <errno.h>
#include <semaphore.h>

#include "preload.h"

REAL_DECL(int, sem_init, sem_t *, int, unsigned);
REAL_DECL(int, sem_destroy, sem_t *);
REAL_DECL(int, sem_wait, sem_t *);
REAL_DECL(int, sem_timedwait, sem_t *, const struct timespec *);
REAL_DECL(int, sem_clockwait, sem_t *, clockid_t, const struct timespec *);
REAL_DECL(int, sem_trywait, sem_t *);
REAL_DECL(int, sem_post, sem_t *);
REAL_DECL(int, pthread_join, pthread_t, void **);
REAL_DECL(int, pthread_detach, pthread_t);
REAL_DECL(int, pthread_timedjoin_np, pthread_t, void **, const struct timespec *);
REAL_DECL(int, pthread_tryjoin_np, pthread_t, void **);
REAL_DECL(int, pthread_clockjoin_np, pthread_t, void **, clockid_t, const struct timespec *);
REAL_DECL(int, pthread_barrier_init, pthread_barrier_t *, const pthread_barrierattr_t *,
	  unsigned);
REAL_DECL(int, pthread_barrier_destroy, pthread_barrier_t *);
REAL_DECL(int, pthread_barrier_wait, pthread_barrier_t *);
REAL_DECL(int, pthread_once, pthread_once_t *, void (*)(void));

/* ---- threads: pthread_t -> the class of its exit ---- */

/*
 * A fixed open-addressing table without a lock: the creator fills the slot
 * of its new thread before pthread_create returns, so before anything can
 * join it; glibc reuses thread descriptors, so the keys in use stay few,
 * and a slot keeps its key for good (a new thread with the same descriptor
 * takes it again).  A full table leaves a join unchecked, never wrong.
 * The class goes when the thread is joined, or once it has both ended and
 * been detached (whichever of the two comes second lets it go).
 */
#define JOIN_SLOTS 4096
#define JOIN_PROBES 64
enum { SLOT_EXITED = 1, SLOT_DETACHED = 2 };
static struct {
	_Atomic uintptr_t th;
	_Atomic(struct lock_class *) cls;
	_Atomic unsigned state;
} join_table[JOIN_SLOTS];

static inline unsigned join_slot(pthread_t th)
{
	return (unsigned)(((uintptr_t)th * 0x9e3779b97f4a7c15ull) >> 52) & (JOIN_SLOTS - 1);
}

/* The slot of th, taking a free one when `take` is set; -1: none. */
static int join_find(pthread_t th, bool take)
{
	unsigned k = join_slot(th);

	for (unsigned n = 0; n < JOIN_PROBES; n++, k = (k + 1) & (JOIN_SLOTS - 1)) {
		uintptr_t cur = atomic_load_explicit(&join_table[k].th, memory_order_acquire);
		if (cur == (uintptr_t)th)
			return (int)k;
		if (cur)
			continue;
		if (!take)
			return -1;
		if (atomic_compare_exchange_strong(&join_table[k].th, &cur, (uintptr_t)th) ||
		    cur == (uintptr_t)th)
			return (int)k;
	}
	return -1;
}

/* The class leaves the table and the graph. */
static void join_release(int k)
{
	struct lock_class *c = atomic_exchange(&join_table[k].cls, NULL);
	struct rt_thread *t;

	if (c && (t = thread_enter())) {
		event_thread_gone(c);
		thread_leave();
	}
}

void waits_thread_created(pthread_t th, struct lock_class *life, bool detached)
{
	int k = join_find(th, true);

	if (k < 0) {
		/* no slot: nothing joins it through the table, it goes now */
		struct rt_thread *t = thread_enter();
		if (t) {
			event_thread_gone(life);
			thread_leave();
		}
		return;
	}
	/* a class left by a thread before at this descriptor, never let go */
	join_release(k);
	atomic_store(&join_table[k].state, detached ? SLOT_DETACHED : 0);
	atomic_store_explicit(&join_table[k].cls, life, memory_order_release);
}

/* One of "ended" and "detached": the second lets the class go. */
static void join_mark(pthread_t th, unsigned bit)
{
	int k = join_find(th, false);

	if (k >= 0 && (atomic_fetch_or(&join_table[k].state, bit) | bit) ==
			      (SLOT_EXITED | SLOT_DETACHED))
		join_release(k);
}

void waits_thread_exited(pthread_t self)
{
	join_mark(self, SLOT_EXITED);
}

RT_EXPORT int pthread_detach(pthread_t th)
{
	int r = REAL(pthread_detach)(th);

	if (r == 0)
		join_mark(th, SLOT_DETACHED);
	return r;
}

void preload_join_begin(pthread_t th, uintptr_t ip)
{
	struct rt_thread *t = thread_peek();

	/* nothing held, no context: nothing to check */
	if (likely(t) && !t->depth && !t->nctx && likely(!rt_watchdog_ns))
		return;
	if (!(t = thread_enter()))
		return;
	int k = join_find(th, false);
	struct lock_class *cls =
		k >= 0 ? atomic_load_explicit(&join_table[k].cls, memory_order_acquire) : NULL;
	event_wait(t, cls, ip);
	thread_leave();
	rt_watch_begin_at((const void *)th, WAIT_JOIN, cls, ip);
}

/* A join that returned: the thread is gone, and its class with it. */
void preload_join_done(pthread_t th, int r)
{
	struct rt_thread *t = tls_thread;

	if (unlikely(rt_watchdog_ns) && t && !tls_busy)
		wait_end(t);
	int k;
	if (r == 0 && (k = join_find(th, false)) >= 0)
		join_release(k);
}

RT_EXPORT int pthread_join(pthread_t th, void **ret)
{
	preload_join_begin(th, RT_CALLER);
	int r = REAL(pthread_join)(th, ret);
	preload_join_done(th, r);
	return r;
}

/* Timed and try joins record no wait; one that joined lets the class go. */
RT_EXPORT int pthread_timedjoin_np(pthread_t th, void **ret, const struct timespec *ts)
{
	int r = REAL(pthread_timedjoin_np)(th, ret, ts);

	if (r == 0)
		preload_join_done(th, r);
	return r;
}

RT_EXPORT int pthread_tryjoin_np(pthread_t th, void **ret)
{
	int r = REAL(pthread_tryjoin_np)(th, ret);

	if (r == 0)
		preload_join_done(th, r);
	return r;
}

RT_EXPORT int pthread_clockjoin_np(pthread_t th, void **ret, clockid_t clk,
				   const struct timespec *ts)
{
	int r = REAL(pthread_clockjoin_np)(th, ret, clk, ts);

	if (r == 0)
		preload_join_done(th, r);
	return r;
}

/* ---- semaphores ---- */

RT_EXPORT int sem_init(sem_t *s, int pshared, unsigned value)
{
	int r = REAL(sem_init)(s, pshared, value);

	if (r == 0) {
		struct rt_thread *t = thread_enter();
		if (t) {
			if (instance_may_contain(s, sizeof(*s)))
				instance_forget_range(s, sizeof(*s), RT_CALLER);
			instance_get(t, s, IT_SEM | IT_FROM_INIT, RT_CALLER);
			thread_leave();
		}
		pylock_init(s, value, RT_CALLER);
	}
	return r;
}

RT_EXPORT int sem_destroy(sem_t *s)
{
	pylock_destroy(s);
	preload_object_gone(s, sizeof(*s), RT_CALLER);
	return REAL(sem_destroy)(s);
}

/* After a wait that got the semaphore: a post by this thread may be a
 * lock's release. */
static void sem_got(sem_t *s, uintptr_t ip)
{
	struct rt_thread *t = thread_enter();

	if (likely(t)) {
		event_own_consumed(t, s);
		event_waited(t, s, true);
		event_window_open(t, s, IT_SEM, ip);
		thread_leave();
	}
}

RT_EXPORT int sem_wait(sem_t *s)
{
	uintptr_t ip = RT_CALLER;
	struct rt_thread *t = tls_thread, *watched = NULL;

	if (pylock_wait_before(s, false, ip)) {
		watched = rt_watch_begin_at(s, WAIT_SEM, NULL, ip);
		int r = REAL(sem_wait)(s);
		if (watched)
			wait_end(watched);
		pylock_wait_after(s, false, r, ip);
		return r;
	}
	if (t && !tls_busy && (t->depth || t->nctx) && (t = thread_enter())) {
		if (!event_wait_own(t, s))
			event_wait(t, event_class(t, s, IT_SEM, ip), ip);
		thread_leave();
	}
	watched = rt_watch_begin_at(s, WAIT_SEM, NULL, ip);
	int r = REAL(sem_wait)(s);
	if (watched)
		wait_end(watched);
	if (r == 0 && !pylock_event_got(s))
		sem_got(s, ip);
	return r;
}

RT_EXPORT int sem_timedwait(sem_t *s, const struct timespec *ts)
{
	if (pylock_wait_before(s, true, RT_CALLER)) {
		int r = REAL(sem_timedwait)(s, ts);
		pylock_wait_after(s, true, r, RT_CALLER);
		return r;
	}
	int r = REAL(sem_timedwait)(s, ts);

	if (r == 0 && !pylock_event_got(s))
		sem_got(s, RT_CALLER);
	return r;
}

RT_EXPORT int sem_clockwait(sem_t *s, clockid_t clk, const struct timespec *ts)
{
	if (pylock_wait_before(s, true, RT_CALLER)) {
		int r = REAL(sem_clockwait)(s, clk, ts);
		pylock_wait_after(s, true, r, RT_CALLER);
		return r;
	}
	int r = REAL(sem_clockwait)(s, clk, ts);

	if (r == 0 && !pylock_event_got(s))
		sem_got(s, RT_CALLER);
	return r;
}

RT_EXPORT int sem_trywait(sem_t *s)
{
	int r = REAL(sem_trywait)(s);

	if (r == 0 && !pylock_trywait_done(s, RT_CALLER))
		sem_got(s, RT_CALLER);
	else if (r != 0)
		pylock_trywait_failed(s);
	return r;
}

RT_EXPORT int sem_post(sem_t *s)
{
	uintptr_t ip = RT_CALLER;
	struct rt_thread *t = thread_peek();

	if (pylock_post(s, ip))
		return REAL(sem_post)(s);
	if (likely(t) && event_signal_idle(t) && !t->nwaithold) {
		event_note_signal(t, s, ip);
	} else if ((t = thread_enter())) {
		event_window_signal(t, s, IT_SEM, ip);
		uint32_t skip = event_signal_skip(t, s, true);
		event_signal(t, t->depth > skip ? event_class(t, s, IT_SEM, ip) : NULL, s, skip,
			     ip);
		thread_leave();
	}
	return REAL(sem_post)(s);
}

/* ---- barriers ---- */

RT_EXPORT int pthread_barrier_init(pthread_barrier_t *b, const pthread_barrierattr_t *attr,
				   unsigned count)
{
	int r = REAL(pthread_barrier_init)(b, attr, count);

	if (r == 0) {
		struct rt_thread *t = thread_enter();
		if (t) {
			if (instance_may_contain(b, sizeof(*b)))
				instance_forget_range(b, sizeof(*b), RT_CALLER);
			instance_get(t, b, IT_BARRIER | IT_FROM_INIT, RT_CALLER);
			thread_leave();
		}
	}
	return r;
}

RT_EXPORT int pthread_barrier_destroy(pthread_barrier_t *b)
{
	preload_object_gone(b, sizeof(*b), RT_CALLER);
	return REAL(pthread_barrier_destroy)(b);
}

RT_EXPORT int pthread_barrier_wait(pthread_barrier_t *b)
{
	uintptr_t ip = RT_CALLER;
	struct rt_thread *t = thread_enter(), *watched = NULL;

	if (t) {
		struct lock_class *cls = event_class(t, b, IT_BARRIER, ip);
		/* what the thread does from here to its next arrival leads to
		 * that one, which the others wait for.  What it holds as it
		 * arrives is no part of it: a lock held across the barrier by
		 * the one thread that takes it holds up no other participant */
		event_note_signal(t, b, ip);
		event_context_commit(t, cls);
		event_context_enter(t, cls, true);
		event_wait(t, cls, ip);
		thread_leave();
		watched = rt_watch_begin_at(b, WAIT_BARRIER, cls, ip);
	}
	int r = REAL(pthread_barrier_wait)(b);
	if (watched)
		wait_end(watched);
	return r;
}

/* ---- once ---- */

/* glibc: the once word's low bits say in progress (1) or done (2). */
#define ONCE_DONE 2

/*
 * The routine runs in the caller's thread, from inside the real
 * pthread_once, which passes nothing to it: the thread remembers which
 * routine and which once (a routine may run another once).
 */
static __thread struct once_call {
	void (*init)(void);
	pthread_once_t *once;
	uintptr_t ip;
} once_current;

/* The end of a once's context: its entry leaves the thread's held stack
 * (pthread_once here, g_once_init_leave and g_once in glib.c). */
void preload_once_leave(const void *once)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	struct held *h = held_find(t, once);
	if (h && (h->flags & HF_EVENTCTX))
		held_remove(t, h);
	thread_leave();
}

static void once_pop(void *arg)
{
	preload_once_leave(arg);
}

static void once_trampoline(void)
{
	struct once_call c = once_current;
	struct rt_thread *t = thread_enter();

	if (t) {
		struct lock_class *cls = event_class(t, c.once, IT_ONCE, c.ip);
		/* the routine may be the allocator's own set-up: nothing here
		 * may call it (no stack is unwound for this entry) */
		if (cls)
			rt_push_try_unchecked(t, cls, c.once, HM_RECURSIVE, HF_EVENTCTX, c.ip);
		thread_leave();
	}
	/* a routine that is cancelled leaves the once not done, and its entry */
	pthread_cleanup_push(once_pop, c.once);
	c.init();
	pthread_cleanup_pop(1);
}

int preload_once(pthread_once_t *once, void (*init)(void), uintptr_t ip)
{
	if (likely(atomic_load_explicit((_Atomic int *)once, memory_order_acquire) & ONCE_DONE))
		return REAL(pthread_once)(once, init);
	struct rt_thread *t = thread_enter(), *watched = NULL;
	if (!t)
		return REAL(pthread_once)(once, init);
	struct lock_class *cls = event_class(t, once, IT_ONCE, ip);
	/* another thread may be running the routine: a wait for it */
	event_wait(t, cls, ip);
	thread_leave();
	/* shown as a wait when another thread runs it now */
	if (atomic_load_explicit((_Atomic int *)once, memory_order_acquire) & 1)
		watched = rt_watch_begin_at(once, WAIT_ONCE, cls, ip);
	struct once_call saved = once_current;
	once_current = (struct once_call){ init, once, ip };
	int r = REAL(pthread_once)(once, once_trampoline);
	once_current = saved;
	if (watched)
		wait_end(watched);
	return r;
}

RT_EXPORT int pthread_once(pthread_once_t *once, void (*init)(void))
{
	return preload_once(once, init, RT_CALLER);
}
