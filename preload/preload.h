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
 * The lock fast paths (locks.c) push a held entry in several stores with no
 * flag set around them: their code lies in one section, and a signal that
 * interrupts it (signal.c sees where, in the ucontext) runs its handler as
 * one that interrupted the runtime, untracked.  Where the interrupted
 * address cannot be read, the push sets tls_busy around itself instead.
 */
#if defined(__x86_64__) || defined(__aarch64__)
#if defined(__clang__)
#define FAST_TEXT __attribute__((section("fdep_fast_text"), noinline))
#else
/* and the held entry written in plain stores, not packed into a vector
 * register first: fewer instructions */
#define FAST_TEXT \
	__attribute__((section("fdep_fast_text"), noinline, optimize("no-tree-slp-vectorize")))
#endif
#define FAST_PUSH_GUARD 0
#else
#define FAST_TEXT
#define FAST_PUSH_GUARD 1
#endif
/* Was the code interrupted at pc inside a lock fast path? */
bool fast_text_contains(uintptr_t pc);

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

/* The unlock fast path of a library lock (GLib's, OpenMP's; their lock
 * fast paths are in libfast.h): the pop of the top entry. */
static inline __attribute__((always_inline)) bool plain_pop_fast(const void *lock)
{
	return likely(!tls_busy) && rt_release_top(tls_fast, lock);
}

/* A wait for an event, for the watchdog and dumps: its class (or NULL to
 * look the object up) and the site of the wait. */
static inline struct rt_thread *rt_watch_begin_at(const void *obj, int kind,
						  struct lock_class *cls, uintptr_t ip)
{
	struct rt_thread *t = tls_thread;

	if (likely(!rt_watchdog_ns) || !t || t->dead || tls_busy)
		return NULL;
	wait_begin_at(t, obj, kind, cls, ip);
	return t;
}

/* Waits and events, shared by the pthread and C11 interposers (cond.c,
 * waits.c, c11.c): each takes the program's call site. */
int preload_cond_wait(pthread_cond_t *c, pthread_mutex_t *m, uintptr_t ip);
int preload_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *ts,
			   uintptr_t ip);
void preload_cond_signal(pthread_cond_t *c, uintptr_t ip);
void preload_once_leave(const void *once);
void preload_cond_init(pthread_cond_t *c, uintptr_t ip);
/* The object at obj is destroyed: a new one there is a new instance. */
void preload_object_gone(const void *obj, size_t len, uintptr_t ip);
int preload_once(pthread_once_t *once, void (*init)(void), uintptr_t ip);
/* A join of th: a wait for its exit (join_begin before the real call,
 * join_done with its result after). */
void preload_join_begin(pthread_t th, uintptr_t ip);
void preload_join_done(pthread_t th, int r);
/* The thread's state once it runs (thread.c): its creation site and the
 * class of its exit; and its end. */
void preload_thread_begin(uintptr_t site, struct lock_class *life);
void preload_thread_end(void);
/* The class of a thread's exit, by its pthread_t, for joins (waits.c);
 * it goes when the thread is joined, or has both ended and been detached. */
void waits_thread_created(pthread_t th, struct lock_class *life, bool detached);
void waits_thread_exited(pthread_t self);

/* CPython's locks, semaphores used as locks (pylock.c): hooks of the
 * semaphore interposers (waits.c). */
void pylock_init(const void *sem, unsigned value, uintptr_t ip);
bool pylock_wait_before(const void *sem, bool timed, uintptr_t ip);
void pylock_wait_after(const void *sem, bool timed, int r, uintptr_t ip);
bool pylock_trywait_done(const void *sem, uintptr_t ip);
void pylock_trywait_failed(const void *sem);
bool pylock_post(const void *sem, uintptr_t ip);
void pylock_thread_end(struct rt_thread *t);
void pylock_destroy(const void *sem);
bool pylock_event_got(const void *sem);
/* Is cv one of CPython's own (its GIL's), with Python locks tracked? */
bool pylock_gil(const void *cv);

#endif
