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

/*
 * The fast path of a library lock that cannot fail (GLib's GMutex, OpenMP's
 * locks), as locks.c's for a pthread mutex: a lock seen before by this
 * thread (its instance in the thread's cache, marked nofail), on a chain
 * the cache has seen.  True: the entry is pushed and the caller tail-calls
 * the real lock.
 */
static inline __attribute__((always_inline)) bool plain_push_fast(const void *lock, uintptr_t ip)
{
	struct rt_thread *t = thread_peek();

	if (unlikely(!t))
		return false;
	struct instance *in = icache_peek(t, lock);
	struct lock_class *cls = in ? in->cls : NULL;
	if (unlikely(!cls || !in->nofail))
		return false;
	tls_busy = 1;
	bool pushed = rt_push_fast(t, cls, lock, HM_EXCLUSIVE, 0, ip);
	tls_busy = 0;
	return pushed;
}

/* The fast path of its unlock: the pop of the top entry. */
static inline __attribute__((always_inline)) bool plain_pop_fast(const void *lock)
{
	struct rt_thread *t = tls_thread;

	return likely(t && !tls_busy) && rt_release_top(t, lock);
}

#endif
