/*
 * thread.c - thread life: a thread that ends (by returning or by
 * pthread_exit) holding locks is reported; its state is freed by a key
 * destructor once nothing of the thread can run any more (init.c).  fork()
 * is handled by the runtime's atfork handlers (init.c); dlclose() is
 * counted, for what remembers addresses in modules.
 */
#include "preload.h"

REAL_DECL(int, pthread_create, pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
REAL_DECL(void, pthread_exit, void *);
REAL_DECL(int, dlclose, void *);

struct start {
	void *(*fn)(void *);
	void *arg;
	uintptr_t site;
};

static void thread_end_check(void)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	thread_exit_check(t);
	thread_leave();
}

static void *thread_start(void *p)
{
	struct start s = *(struct start *)p;

	rt_free(p, sizeof(s));
	struct rt_thread *t = thread_enter();
	if (t) {
		t->create_site = s.site;
		thread_leave();
	}
	void *r = s.fn(s.arg);
	thread_end_check();
	return r;
}

RT_EXPORT int pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
			     void *arg)
{
	struct start *s = NULL;

	if (atomic_load(&rt_state) == RT_READY)
		s = rt_alloc(sizeof(*s));
	if (!s)
		return REAL(pthread_create)(th, attr, fn, arg);
	*s = (struct start){ fn, arg, RT_CALLER };
	int r = REAL(pthread_create)(th, attr, thread_start, s);
	if (r)
		rt_free(s, sizeof(*s));
	return r;
}

RT_EXPORT void pthread_exit(void *ret)
{
	thread_end_check();
	REAL(pthread_exit)(ret);
	__builtin_unreachable();
}

/* An unloaded module takes its literals with it: fence class names
 * remembered by pointer (fence.c) are compared by text again. */
RT_EXPORT int dlclose(void *handle)
{
	int r = REAL(dlclose)(handle);

	atomic_fetch_add_explicit(&rt_unload_gen, 1, memory_order_acq_rel);
	return r;
}
