/*
 * cond.c - condition variables: the mutex is released in the held stack
 * for the wait and acquired again after it, exactly as the real call does.
 * A wait is a blocking operation, so it is checked against spinning locks.
 * A wait is also a cancellation point: a cancelled waiter holds the mutex
 * again when its cleanup handlers run.
 *
 * The condition variable is an event (event.c): an untimed wait records
 * held -> cond (without the mutex, which the wait releases), a signal or a
 * broadcast cond -> what the signaller holds.  Timed waits record nothing:
 * they cannot block forever.  Waiting with a mutex the thread does not hold
 * makes glibc unlock it all the same: a bad unlock.
 */
#include "preload.h"

REAL_DECL(int, pthread_cond_init, pthread_cond_t *, const pthread_condattr_t *);
REAL_DECL(int, pthread_cond_destroy, pthread_cond_t *);
REAL_DECL(int, pthread_cond_wait, pthread_cond_t *, pthread_mutex_t *);
REAL_DECL(int, pthread_cond_timedwait, pthread_cond_t *, pthread_mutex_t *,
	  const struct timespec *);
REAL_DECL(int, pthread_cond_clockwait, pthread_cond_t *, pthread_mutex_t *, clockid_t,
	  const struct timespec *);
REAL_DECL(int, pthread_cond_signal, pthread_cond_t *);
REAL_DECL(int, pthread_cond_broadcast, pthread_cond_t *);

/*
 * Before the wait: the mutex leaves the held stack, and an untimed wait is
 * a wait for the cond's event.  Returns whether the mutex was held.
 */
static bool wait_before(pthread_cond_t *c, pthread_mutex_t *m, bool timed, uintptr_t ip)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return false;
	rt_blocking_allowed(t, "a condition wait while a spinning lock is held", ip);
	bool held = rt_release(t, m, ip);
	/* glibc records the owner of every kind of mutex: a mutex this thread
	 * locked where the runtime did not see it is not reported */
	if (!held && m->__data.__owner != t->tid)
		rt_report_bad_unlock(t, m, ip);
	if (!timed && (t->depth || t->nctx) && !pylock_gil(c) && !event_wait_own(t, c))
		event_wait(t, event_class(t, c, IT_COND, ip), ip);
	if (t->depth)
		event_waited(t, c, false);
	thread_leave();
	return held;
}

static void wait_after(pthread_cond_t *c, pthread_mutex_t *m, bool held, uintptr_t ip)
{
	struct rt_thread *t;

	if ((!held && likely(rt_opt.signal_context == SIGCTX_HELD)) || !(t = thread_enter()))
		return;
	struct instance *in = held ? instance_get(t, m, IT_MUTEX, ip) : NULL;
	if (in && in->cls)
		rt_acquire(t, in->cls, m, HM_EXCLUSIVE, 0, NULL, ip);
	/* the mutex it took back is the wait's, not the window's */
	if (!pylock_gil(c))
		event_window_open(t, c, IT_COND, ip);
	thread_leave();
}

struct cond_wait {
	pthread_cond_t *c;
	pthread_mutex_t *m;
	struct rt_thread *watched; /* for the watchdog, or NULL */
	bool held;
	uintptr_t ip;
};

/*
 * The end of a wait, returned or cancelled: a waiter cancelled in the wait
 * has the mutex again when its cleanup handlers run (and they unlock it),
 * so the mutex goes back on the held stack from a cleanup handler of the
 * wrapper's own, the first to run.
 */
static void cond_wait_done(void *arg)
{
	struct cond_wait *w = arg;

	wait_end(w->watched);
	wait_after(w->c, w->m, w->held, w->ip);
}

#define COND_WAIT(c, m, timed, ip_, call) \
	({ \
		struct cond_wait w_ = { (c), (m), NULL, false, (ip_) }; \
		int r_; \
		w_.held = wait_before((c), (m), (timed), w_.ip); \
		w_.watched = rt_watch_begin_at((c), WAIT_COND, NULL, w_.ip); \
		pthread_cleanup_push(cond_wait_done, &w_); \
		r_ = (call); \
		pthread_cleanup_pop(1); \
		r_; \
	})

int preload_cond_wait(pthread_cond_t *c, pthread_mutex_t *m, uintptr_t ip)
{
	return COND_WAIT(c, m, false, ip, REAL_V(pthread_cond_wait, "GLIBC_2.3.2")(c, m));
}

int preload_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *ts,
			   uintptr_t ip)
{
	return COND_WAIT(c, m, true, ip,
			 REAL_V(pthread_cond_timedwait, "GLIBC_2.3.2")(c, m, ts));
}

RT_EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	return preload_cond_wait(c, m, RT_CALLER);
}

RT_EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
				     const struct timespec *ts)
{
	return preload_cond_timedwait(c, m, ts, RT_CALLER);
}

RT_EXPORT int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clk,
				     const struct timespec *ts)
{
	return COND_WAIT(c, m, true, RT_CALLER, REAL(pthread_cond_clockwait)(c, m, clk, ts));
}

/*
 * A signal whose check the thread has made before, done inline: no window
 * of the cv's to commit (signal_context=wait) or open (window), no signal
 * handler's floor, no path entry to sweep, and "cv signalled under this
 * held stack" a chain seen before (rt_check_signal).  Then the signal is
 * only remembered, as the whole path would remember it.  False: nothing
 * done.
 *
 * What it need not test: the chain of a signal is cached by
 * rt_check_signal alone, under the class event_class() gives (so an
 * instance with no class, or not yet an event's, finds none, but with odds
 * of 2^-64); the thread's own earlier wait for the cv under the same
 * bottom locks (event_signal_skip) makes the whole path check fewer edges
 * than the chain of the whole stack, which, seen, has them all already;
 * and a context of the thread's that is not the cv's window (its life's,
 * a barrier's) changes nothing here.  Python's GIL condition, which the
 * whole path leaves unchecked, is never in the chain cache as a signal.
 */
static inline __attribute__((always_inline)) bool cond_signal_fast(struct rt_thread *t,
								    const void *c, uintptr_t ip)
{
	if (unlikely(rt_opt.signal_context == SIGCTX_WINDOW || t->sig_floor))
		return false;
	if (unlikely(held_special(t)) && paths_stale(t))
		return false;
	struct instance *in = icache_peek(t, c);
	if (unlikely(!in))
		return false;
	struct lock_class *e = in->cls;
	for (uint32_t i = 0; i < t->nctx; i++)
		if (t->ctx[i] == e)
			return false;
	if (!chain_seen(t, chain_step(held_key(t) ^ SIGNAL_SALT, e, HM_RECURSIVE, HF_TRY)))
		return false;
	event_note_held_fast(t, c, ip);
	return true;
}

/* The inline part of a signal or broadcast: true when it is done. */
static inline __attribute__((always_inline)) bool cond_signal_inline(const void *c, uintptr_t ip)
{
	struct rt_thread *t = thread_peek();

	if (likely(t)) {
		/* nothing held: the signal is only remembered, for dumps */
		if (!t->depth)
			return event_signal_idle(t) && (event_note_signal_at(t, c, ip, 0), true);
		return cond_signal_fast(t, c, ip);
	}
	return false;
}

/* The rest: cond -> what the thread holds. */
static __attribute__((noinline)) void cond_signal_slow(pthread_cond_t *c, uintptr_t ip)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	if (pylock_gil(c)) {
		event_note_signal(t, c, ip);
		thread_leave();
		return;
	}
	event_window_signal(t, c, IT_COND, ip);
	uint32_t skip = event_signal_skip(t, c, false);
	event_signal(t, t->depth > skip ? event_class(t, c, IT_COND, ip) : NULL, c, skip, ip);
	thread_leave();
}

/* A signal or broadcast: cond -> what the thread holds. */
void preload_cond_signal(pthread_cond_t *c, uintptr_t ip)
{
	if (!cond_signal_inline(c, ip))
		cond_signal_slow(c, ip);
}

RT_EXPORT int pthread_cond_signal(pthread_cond_t *c)
{
	if (!cond_signal_inline(c, RT_CALLER))
		cond_signal_slow(c, RT_CALLER);
	return REAL_V(pthread_cond_signal, "GLIBC_2.3.2")(c);
}

RT_EXPORT int pthread_cond_broadcast(pthread_cond_t *c)
{
	if (!cond_signal_inline(c, RT_CALLER))
		cond_signal_slow(c, RT_CALLER);
	return REAL_V(pthread_cond_broadcast, "GLIBC_2.3.2")(c);
}

/* A new condition variable at c: a new event (classes=site: of its site). */
void preload_cond_init(pthread_cond_t *c, uintptr_t ip)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	if (instance_may_contain(c, sizeof(*c)))
		instance_forget_range(c, sizeof(*c), ip);
	instance_get(t, c, IT_COND | IT_FROM_INIT, ip);
	thread_leave();
}

void preload_object_gone(const void *obj, size_t len, uintptr_t ip)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	if (instance_may_contain(obj, len))
		instance_forget_range(obj, len, ip);
	thread_leave();
}

RT_EXPORT int pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *attr)
{
	int r = REAL_V(pthread_cond_init, "GLIBC_2.3.2")(c, attr);

	if (r == 0)
		preload_cond_init(c, RT_CALLER);
	return r;
}

RT_EXPORT int pthread_cond_destroy(pthread_cond_t *c)
{
	preload_object_gone(c, sizeof(*c), RT_CALLER);
	return REAL_V(pthread_cond_destroy, "GLIBC_2.3.2")(c);
}
