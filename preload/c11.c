/*
 * c11.c - C11 <threads.h>.  glibc implements mtx_*, cnd_*, thrd_* and
 * call_once on its internal pthread functions, called directly, not through
 * the symbols this library interposes: without these wrappers C11 threads
 * would be invisible.  Each wrapper turns the call into the pthread
 * interposer's events, with the program's own call site, and returns what
 * glibc's C11 function would.  The C11 types are glibc's pthread types in
 * another name (mtx_t is a pthread_mutex_t, cnd_t a pthread_cond_t, thrd_t
 * a pthread_t, once_flag a pthread_once_t).
 */
#include <errno.h>
#include <threads.h>

#include "preload.h"

REAL_DECL(int, mtx_init, mtx_t *, int);
REAL_DECL(void, mtx_destroy, mtx_t *);
REAL_DECL(int, cnd_init, cnd_t *);
REAL_DECL(void, cnd_destroy, cnd_t *);
REAL_DECL(int, cnd_signal, cnd_t *);
REAL_DECL(int, cnd_broadcast, cnd_t *);
REAL_DECL(int, thrd_create, thrd_t *, thrd_start_t, void *);
REAL_DECL(int, thrd_join, thrd_t, int *);
REAL_DECL(void, thrd_exit, int);

_Static_assert(sizeof(mtx_t) == sizeof(pthread_mutex_t), "mtx_t is not a pthread mutex");
_Static_assert(sizeof(cnd_t) == sizeof(pthread_cond_t), "cnd_t is not a pthread cond");
_Static_assert(sizeof(once_flag) == sizeof(pthread_once_t), "once_flag is not a pthread once");

/* glibc's mapping of an errno to a thrd_* result */
static int thrd_result(int err)
{
	switch (err) {
	case 0:
		return thrd_success;
	case EBUSY:
		return thrd_busy;
	case ETIMEDOUT:
		return thrd_timedout;
	case ENOMEM:
		return thrd_nomem;
	default:
		return thrd_error;
	}
}

/* ---- mutexes: locks, through the pthread interposer ---- */

RT_EXPORT int mtx_init(mtx_t *m, int type)
{
	int r = REAL(mtx_init)(m, type);

	if (r == thrd_success) {
		struct rt_thread *t = thread_enter();
		if (t) {
			if (instance_may_contain(m, sizeof(*m)))
				instance_forget_range(m, sizeof(*m), RT_CALLER);
			instance_get(t, m, IT_MUTEX | IT_FROM_INIT, RT_CALLER);
			thread_leave();
		}
	}
	return r;
}

RT_EXPORT void mtx_destroy(mtx_t *m)
{
	preload_object_gone(m, sizeof(*m), RT_CALLER);
	REAL(mtx_destroy)(m);
}

RT_EXPORT int mtx_lock(mtx_t *m)
{
	return thrd_result(pthread_mutex_lock((pthread_mutex_t *)m));
}

RT_EXPORT int mtx_unlock(mtx_t *m)
{
	return thrd_result(pthread_mutex_unlock((pthread_mutex_t *)m));
}

/* timed and try locks, as their pthread twins: recorded after they succeed */
RT_EXPORT int mtx_trylock(mtx_t *m)
{
	return thrd_result(pthread_mutex_trylock((pthread_mutex_t *)m));
}

RT_EXPORT int mtx_timedlock(mtx_t *m, const struct timespec *ts)
{
	return thrd_result(pthread_mutex_timedlock((pthread_mutex_t *)m, ts));
}

/* ---- condition variables ---- */

RT_EXPORT int cnd_init(cnd_t *c)
{
	int r = REAL(cnd_init)(c);

	if (r == thrd_success)
		preload_cond_init((pthread_cond_t *)c, RT_CALLER);
	return r;
}

RT_EXPORT void cnd_destroy(cnd_t *c)
{
	preload_object_gone(c, sizeof(*c), RT_CALLER);
	REAL(cnd_destroy)(c);
}

RT_EXPORT int cnd_wait(cnd_t *c, mtx_t *m)
{
	return thrd_result(preload_cond_wait((pthread_cond_t *)c, (pthread_mutex_t *)m, RT_CALLER));
}

RT_EXPORT int cnd_timedwait(cnd_t *c, mtx_t *m, const struct timespec *ts)
{
	return thrd_result(
		preload_cond_timedwait((pthread_cond_t *)c, (pthread_mutex_t *)m, ts, RT_CALLER));
}

RT_EXPORT int cnd_signal(cnd_t *c)
{
	preload_cond_signal((pthread_cond_t *)c, RT_CALLER);
	return REAL(cnd_signal)(c);
}

RT_EXPORT int cnd_broadcast(cnd_t *c)
{
	preload_cond_signal((pthread_cond_t *)c, RT_CALLER);
	return REAL(cnd_broadcast)(c);
}

/* ---- threads ---- */

struct c11_start {
	thrd_start_t fn;
	void *arg;
	uintptr_t site;
	struct lock_class *life;
};

static int c11_thread_start(void *p)
{
	struct c11_start s = *(struct c11_start *)p;

	rt_free(p, sizeof(s));
	preload_thread_begin(s.site, s.life);
	int r = s.fn(s.arg);
	preload_thread_end();
	return r;
}

RT_EXPORT int thrd_create(thrd_t *thr, thrd_start_t fn, void *arg)
{
	struct c11_start *s = NULL;

	if (atomic_load(&rt_state) == RT_READY)
		s = rt_alloc(sizeof(*s));
	if (!s)
		return REAL(thrd_create)(thr, fn, arg);
	*s = (struct c11_start){ fn, arg, RT_CALLER, NULL };
	struct rt_thread *t = thread_enter();
	if (t) {
		s->life = event_thread_class(s, s->site);
		thread_leave();
	}
	struct lock_class *life = s->life;
	int r = REAL(thrd_create)(thr, c11_thread_start, s);
	if (r != thrd_success)
		rt_free(s, sizeof(*s));
	else if (life)
		waits_thread_created((pthread_t)*thr, life, false);
	return r;
}

RT_EXPORT int thrd_join(thrd_t thr, int *res)
{
	preload_join_begin((pthread_t)thr, RT_CALLER);
	int r = REAL(thrd_join)(thr, res);
	preload_join_done((pthread_t)thr, r == thrd_success ? 0 : -1);
	return r;
}

/* glibc's thrd_detach calls its pthread_detach directly */
RT_EXPORT int thrd_detach(thrd_t thr)
{
	return thrd_result(pthread_detach((pthread_t)thr));
}

RT_EXPORT _Noreturn void thrd_exit(int res)
{
	preload_thread_end();
	REAL(thrd_exit)(res);
	__builtin_unreachable();
}

RT_EXPORT void call_once(once_flag *flag, void (*fn)(void))
{
	preload_once((pthread_once_t *)flag, fn, RT_CALLER);
}
