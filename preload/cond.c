/*
 * cond.c - condition variables: the mutex is released in the held stack
 * for the wait and acquired again after it, exactly as the real call does.
 * A wait is a blocking operation, so it is checked against spinning locks.
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

RT_EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	bool held = wait_before(m, RT_CALLER);
	struct rt_thread *t = rt_watch_begin(c, WAIT_COND);
	int r = REAL_V(pthread_cond_wait, "GLIBC_2.3.2")(c, m);

	wait_end(t);
	wait_after(m, held, RT_CALLER);
	return r;
}

RT_EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
				     const struct timespec *ts)
{
	bool held = wait_before(m, RT_CALLER);
	struct rt_thread *t = rt_watch_begin(c, WAIT_COND);
	int r = REAL_V(pthread_cond_timedwait, "GLIBC_2.3.2")(c, m, ts);

	wait_end(t);
	wait_after(m, held, RT_CALLER);
	return r;
}

RT_EXPORT int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clk,
				     const struct timespec *ts)
{
	bool held = wait_before(m, RT_CALLER);
	struct rt_thread *t = rt_watch_begin(c, WAIT_COND);
	int r = REAL(pthread_cond_clockwait)(c, m, clk, ts);

	wait_end(t);
	wait_after(m, held, RT_CALLER);
	return r;
}
