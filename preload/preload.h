/*
 * preload.h - what the interposers share: the real functions, resolved
 * lazily with dlsym(RTLD_NEXT) (the allocator through a bootstrap path, as
 * dlsym itself allocates), and the runtime's events.
 */
#ifndef FDEP_PRELOAD_H
#define FDEP_PRELOAD_H

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>

#include "runtime.h"

void *preload_resolve(const char *name, const char *version);

#define REAL_DECL(ret, name, ...) \
	typedef ret (*name##_fn)(__VA_ARGS__); \
	static name##_fn real_##name

/* The next definition of name, resolved on first use. */
#define REAL_V(name, version) \
	({ \
		if (unlikely(!real_##name)) \
			real_##name = (name##_fn)preload_resolve(#name, version); \
		real_##name; \
	})
#define REAL(name) REAL_V(name, NULL)

/*
 * What a fast path tail-calls: the real function once it is resolved, and
 * until then a stub that resolves it, takes over as the target and calls
 * it; the fast path need not test which.  Declare after REAL_DECL(name).
 */
#define FAST_TARGET(ret, name, params, args) \
	static ret name##_first params; \
	static _Atomic(name##_fn) name##_target = name##_first; \
	static ret name##_first params \
	{ \
		name##_fn real = REAL(name); \
		atomic_store_explicit(&name##_target, real, memory_order_relaxed); \
		return real args; \
	}
#define TARGET(name) atomic_load_explicit(&name##_target, memory_order_relaxed)

/*
 * A blocking lock's acquire event is pushed before the real call.  On the
 * slow paths the thread stays entered (tls_busy) until that call returns: a
 * signal handler that runs in between goes untracked.  The mutex fast path
 * (locks.c) tail-calls the real lock instead and does not.
 */
static inline void blocking_call_end(struct rt_thread *t)
{
	if (unlikely(rt_watchdog_ns))
		wait_end(t);
	thread_leave();
}

/* With a watchdog, a blocking call records what it waits for. */
static inline struct rt_thread *rt_watch_begin(const void *obj, int kind)
{
	struct rt_thread *t = tls_thread;

	if (likely(!rt_watchdog_ns) || !t || t->dead || tls_busy)
		return NULL;
	wait_begin(t, obj, kind);
	return t;
}

#endif
