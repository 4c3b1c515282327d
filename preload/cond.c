/*
 * cond.c - condition variables: the mutex is released in the held stack
 * for the wait and acquired again after it, exactly as the real call does.
 * A wait is a blocking operation, so it is checked against spinning locks.
 * A wait is also a cancellation point: a cancelled waiter holds the mutex
 * again when its cleanup handlers run.
 */
#include "preload.h"

REAL_DECL(int, pthread_cond_wait, pthread_cond_t *, pthread_mutex_t *);
REAL_DECL(int, pthread_cond_timedwait, pthread_cond_t *, pthread_mutex_t *,
	  const struct timespec *);
REAL_DECL(int, pthread_cond_clockwait, pthread_cond_t *, pthread_mutex_t *, clockid_t,
	  const struct timespec *);

/* Before the wait: the mutex leaves the held stack.  Returns its mode. */
static bool wait_before(pthread_mutex_t *m, uintptr_t ip)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return false;
	rt_blocking_allowed(t, "a condition wait while a spinning lock is held", ip);
	bool held = rt_release(t, m, ip);
	thread_leave();
	return held;
}

static void wait_after(pthread_mutex_t *m, bool held, uintptr_t ip)
{
	struct rt_thread *t;

	if (!held || !(t = thread_enter()))
		return;
	struct instance *in = instance_get(t, m, IT_MUTEX, ip);
	if (in && in->cls)
		rt_acquire(t, in->cls, m, HM_EXCLUSIVE, 0, NULL, ip);
	thread_leave();
}

struct cond_wait {
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
	wait_after(w->m, w->held, w->ip);
}

#define COND_WAIT(c, m, call) \
	({ \
		struct cond_wait w_ = { (m), NULL, false, RT_CALLER }; \
		int r_; \
		w_.held = wait_before((m), w_.ip); \
		w_.watched = rt_watch_begin((c), WAIT_COND); \
		pthread_cleanup_push(cond_wait_done, &w_); \
		r_ = (call); \
		pthread_cleanup_pop(1); \
		r_; \
	})

RT_EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	return COND_WAIT(c, m, REAL_V(pthread_cond_wait, "GLIBC_2.3.2")(c, m));
}

RT_EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
				     const struct timespec *ts)
{
	return COND_WAIT(c, m, REAL_V(pthread_cond_timedwait, "GLIBC_2.3.2")(c, m, ts));
}

RT_EXPORT int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clk,
				     const struct timespec *ts)
{
	return COND_WAIT(c, m, REAL(pthread_cond_clockwait)(c, m, clk, ts));
}
