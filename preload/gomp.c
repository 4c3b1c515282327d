/*
 * gomp.c - OpenMP's locks in GCC's runtime (libgomp): omp_*_lock and the
 * nestable omp_*_nest_lock, and critical sections, as held-stack events.
 *
 * A simple lock is a plain mutex and takes the fast paths of one; a nest
 * lock relocked by its owner only counts, as a recursive mutex.  Both are
 * named as pthread locks are (a static lock by its symbol, one set up by
 * omp_init_*lock by that call's site).
 *
 * A critical section is a lock of its own class per name,
 * "omp_critical@<name>" (GCC keeps a named section's lock in a common
 * symbol of the program, .gomp_critical_user_<name>, which names it), and
 * every unnamed section shares "omp_critical", as they share one lock.
 * Entering a section already entered is a real deadlock: recursive-locking.
 *
 * An explicit barrier (GOMP_barrier) is an event, as pthread_barrier_wait
 * is (waits.c): what a thread takes in a phase, from one arrival to its
 * next, is omp_barrier -> L, and arriving holding L is L -> omp_barrier.
 * Every team's barriers are the one class "omp_barrier" (libgomp passes
 * no barrier to name), and the master leaves the context when its parallel
 * region ends: its serial code after the region leads to no barrier.
 *
 * libgomp's own locks (its task queues, the implicit barriers at the end
 * of a region or a worksharing construct) are futexes inside it and are
 * not seen.  Nothing here runs in a program without OpenMP.
 */
#include <string.h>

#include "libfast.h"

typedef void omp_lock_t_;
typedef void omp_nest_lock_t_;

REAL_DECL(void, omp_init_lock, omp_lock_t_ *);
REAL_DECL(void, omp_destroy_lock, omp_lock_t_ *);
REAL_DECL(void, omp_set_lock, omp_lock_t_ *);
REAL_DECL(void, omp_unset_lock, omp_lock_t_ *);
REAL_DECL(int, omp_test_lock, omp_lock_t_ *);
REAL_DECL(void, omp_init_nest_lock, omp_nest_lock_t_ *);
REAL_DECL(void, omp_destroy_nest_lock, omp_nest_lock_t_ *);
REAL_DECL(void, omp_set_nest_lock, omp_nest_lock_t_ *);
REAL_DECL(void, omp_unset_nest_lock, omp_nest_lock_t_ *);
REAL_DECL(int, omp_test_nest_lock, omp_nest_lock_t_ *);
REAL_DECL(void, GOMP_critical_start, void);
REAL_DECL(void, GOMP_critical_end, void);
REAL_DECL(void, GOMP_critical_name_start, void **);
REAL_DECL(void, GOMP_critical_name_end, void **);
REAL_DECL(void, GOMP_barrier, void);
REAL_DECL(void, GOMP_parallel, void (*)(void *), void *, unsigned, unsigned);
FAST_TARGET(void, omp_set_lock, (omp_lock_t_ *l), (l))
FAST_TARGET(void, omp_unset_lock, (omp_lock_t_ *l), (l))
FAST_TARGET(void, omp_set_nest_lock, (omp_nest_lock_t_ *l), (l))
FAST_TARGET(void, omp_unset_nest_lock, (omp_nest_lock_t_ *l), (l))
FAST_TARGET(void, GOMP_critical_start, (void), ())
FAST_TARGET(void, GOMP_critical_end, (void), ())
FAST_TARGET(void, GOMP_critical_name_start, (void **pptr), (pptr))
FAST_TARGET(void, GOMP_critical_name_end, (void **pptr), (pptr))

/* libgomp's omp_nest_lock_t (two ints and the owner), the largest lock. */
#define OMP_LOCK_SIZE 16

/* The instance of a simple (plain) or nest (recursive) lock. */
static struct instance *omp_instance(struct rt_thread *t, const void *lock, bool nest,
				     uintptr_t ip, int init)
{
	struct instance *in = instance_get(t, lock, IT_MUTEX | init, ip);

	if (in && !in->known) {
		in->mutex_kind = nest ? PTHREAD_MUTEX_RECURSIVE : PTHREAD_MUTEX_NORMAL;
		in->plain = !nest;
		in->nofail = !nest;
		in->known = true;
	}
	return in;
}

static void omp_reset(const void *lock, uintptr_t ip)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	if (instance_may_contain(lock, OMP_LOCK_SIZE))
		instance_forget_range(lock, OMP_LOCK_SIZE, ip);
	thread_leave();
}

static void omp_init_done(const void *lock, bool nest, uintptr_t ip)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	omp_instance(t, lock, nest, ip, IT_FROM_INIT);
	thread_leave();
}

/* The acquire event of a blocking lock (a nest lock's owner: a count). */
static struct rt_thread *omp_lock_before(const void *lock, bool nest, uintptr_t ip)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return NULL;
	struct instance *in = omp_instance(t, lock, nest, ip, 0);
	struct held *h = nest ? held_find(t, lock) : NULL;
	if (h)
		h->refs++;
	else if (in && in->cls)
		rt_acquire(t, in->cls, lock, HM_EXCLUSIVE, 0, NULL, ip);
	if (unlikely(rt_watchdog_ns))
		wait_begin(t, lock, WAIT_MUTEX);
	return t;
}

/* After a test that took the lock (relock: a nest lock's owner). */
static void omp_test_done(const void *lock, bool nest, uintptr_t ip)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	struct instance *in = omp_instance(t, lock, nest, ip, 0);
	struct held *h = nest ? held_find(t, lock) : NULL;
	if (h)
		h->refs++;
	else if (in && in->cls)
		rt_acquire(t, in->cls, lock, HM_EXCLUSIVE, HF_TRY, NULL, ip);
	thread_leave();
}

static void omp_release(const void *lock, uintptr_t ip)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	if (!rt_release(t, lock, ip) && instance_find(lock))
		rt_report_bad_unlock(t, lock, ip);
	thread_leave();
}

/* ---- simple locks ---- */

RT_EXPORT void omp_init_lock(omp_lock_t_ *l)
{
	REAL(omp_init_lock)(l);
	omp_reset(l, RT_CALLER);
	omp_init_done(l, false, RT_CALLER);
}

RT_EXPORT void omp_destroy_lock(omp_lock_t_ *l)
{
	omp_reset(l, RT_CALLER);
	REAL(omp_destroy_lock)(l);
}

static __attribute__((noinline)) void omp_set_lock_slow(omp_lock_t_ *l, uintptr_t ip)
{
	struct rt_thread *t = omp_lock_before(l, false, ip);

	REAL(omp_set_lock)(l);
	if (t)
		blocking_call_end(t);
}

RT_EXPORT FAST_TEXT void omp_set_lock(omp_lock_t_ *l)
{
	if (nofail_push_fast(l, RT_CALLER)) {
		TARGET(omp_set_lock)(l);
		return;
	}
	omp_set_lock_slow(l, RT_CALLER);
}

static __attribute__((noinline)) void omp_unset_lock_slow(omp_lock_t_ *l, uintptr_t ip)
{
	omp_release(l, ip);
	REAL(omp_unset_lock)(l);
}

RT_EXPORT void omp_unset_lock(omp_lock_t_ *l)
{
	if (plain_pop_fast(l)) {
		TARGET(omp_unset_lock)(l);
		return;
	}
	omp_unset_lock_slow(l, RT_CALLER);
}

RT_EXPORT int omp_test_lock(omp_lock_t_ *l)
{
	int r = REAL(omp_test_lock)(l);

	if (r)
		omp_test_done(l, false, RT_CALLER);
	return r;
}

/* ---- nest locks ---- */

RT_EXPORT void omp_init_nest_lock(omp_nest_lock_t_ *l)
{
	REAL(omp_init_nest_lock)(l);
	omp_reset(l, RT_CALLER);
	omp_init_done(l, true, RT_CALLER);
}

RT_EXPORT void omp_destroy_nest_lock(omp_nest_lock_t_ *l)
{
	omp_reset(l, RT_CALLER);
	REAL(omp_destroy_nest_lock)(l);
}

static __attribute__((noinline)) void omp_set_nest_lock_slow(omp_nest_lock_t_ *l, uintptr_t ip)
{
	struct rt_thread *t = omp_lock_before(l, true, ip);

	REAL(omp_set_nest_lock)(l);
	if (t)
		blocking_call_end(t);
}

/* A nest lock seen before: its owner's relock counts, a seen chain is a
 * push (libfast.h); then the real lock, tail-called. */
RT_EXPORT FAST_TEXT void omp_set_nest_lock(omp_nest_lock_t_ *l)
{
	if (rec_push_fast(l, RT_CALLER)) {
		TARGET(omp_set_nest_lock)(l);
		return;
	}
	omp_set_nest_lock_slow(l, RT_CALLER);
}

static __attribute__((noinline)) void omp_unset_nest_lock_slow(omp_nest_lock_t_ *l, uintptr_t ip)
{
	omp_release(l, ip);
	REAL(omp_unset_nest_lock)(l);
}

RT_EXPORT void omp_unset_nest_lock(omp_nest_lock_t_ *l)
{
	if (rec_pop_fast(l)) {
		TARGET(omp_unset_nest_lock)(l);
		return;
	}
	omp_unset_nest_lock_slow(l, RT_CALLER);
}

/* Returns the new nesting count, 0 when another task owns the lock. */
RT_EXPORT int omp_test_nest_lock(omp_nest_lock_t_ *l)
{
	int r = REAL(omp_test_nest_lock)(l);

	if (r)
		omp_test_done(l, true, RT_CALLER);
	return r;
}

/* ---- critical sections ---- */

#define CRITICAL_PREFIX ".gomp_critical_user_"

/* The stand-in address of the one lock every unnamed section shares. */
static char unnamed_critical;

/*
 * The class of a section's lock: by the name in its symbol; a stripped
 * program's by the lock's module and offset, as any static lock.
 */
static struct lock_class *critical_class(const void *key, uintptr_t ip)
{
	if (key == &unnamed_critical)
		return class_intern("omp_critical", 0, CK_MUTEX);
	const char *sym = stack_object_name(key);
	size_t n = strlen(CRITICAL_PREFIX);
	if (sym && !strncmp(sym, CRITICAL_PREFIX, n) && sym[n] && !strchr(sym + n, '+')) {
		char name[256];
		size_t len = name_cat(name, sizeof(name), 0, "omp_critical@");
		name_cat(name, sizeof(name), len, sym + n);
		return class_intern(name, 0, CK_MUTEX);
	}
	return class_for_instance(key, ip, CK_MUTEX, false, stack_addr_is_static(key), false);
}

/* The instance of a section's lock, given its class the first time. */
static struct instance *critical_instance(struct rt_thread *t, const void *key, uintptr_t ip)
{
	struct instance *in = instance_get(t, key, IT_ANNOTATED, ip);

	if (in && !in->cls) {
		struct lock_class *none = NULL, *c = critical_class(key, ip);
		if (c)
			__atomic_compare_exchange_n(&in->cls, &none, c, false, __ATOMIC_RELEASE,
						    __ATOMIC_RELAXED);
		in->known = in->plain = in->nofail = true;
	}
	return in;
}

/* The acquire event, then the real entry: the unnamed section's, or the
 * named one's whose lock is at key. */
static __attribute__((noinline)) void critical_start_slow(void *key, uintptr_t ip)
{
	struct rt_thread *t = thread_enter();

	if (t) {
		struct instance *in = critical_instance(t, key, ip);
		if (in && in->cls)
			rt_acquire(t, in->cls, key, HM_EXCLUSIVE, 0, NULL, ip);
		thread_leave();
	}
	if (key == &unnamed_critical)
		REAL(GOMP_critical_start)();
	else
		REAL(GOMP_critical_name_start)(key);
}

static __attribute__((noinline)) void critical_end_slow(void *key, uintptr_t ip)
{
	omp_release(key, ip);
	if (key == &unnamed_critical)
		REAL(GOMP_critical_end)();
	else
		REAL(GOMP_critical_name_end)(key);
}

/* A section entered before: the push, then the real call, tail-called. */
RT_EXPORT FAST_TEXT void GOMP_critical_start(void)
{
	if (likely(nofail_push_fast(&unnamed_critical, RT_CALLER))) {
		TARGET(GOMP_critical_start)();
		return;
	}
	critical_start_slow(&unnamed_critical, RT_CALLER);
}

RT_EXPORT void GOMP_critical_end(void)
{
	if (likely(plain_pop_fast(&unnamed_critical))) {
		TARGET(GOMP_critical_end)();
		return;
	}
	critical_end_slow(&unnamed_critical, RT_CALLER);
}

RT_EXPORT FAST_TEXT void GOMP_critical_name_start(void **pptr)
{
	if (likely(nofail_push_fast(pptr, RT_CALLER))) {
		TARGET(GOMP_critical_name_start)(pptr);
		return;
	}
	critical_start_slow(pptr, RT_CALLER);
}

RT_EXPORT void GOMP_critical_name_end(void **pptr)
{
	if (likely(plain_pop_fast(pptr))) {
		TARGET(GOMP_critical_name_end)(pptr);
		return;
	}
	critical_end_slow(pptr, RT_CALLER);
}

/* ---- barriers ---- */

/* The stand-in object of every team's barrier, for dumps. */
static char omp_barrier_key;

static struct lock_class *omp_barrier_class(void)
{
	static struct lock_class *_Atomic cls;
	struct lock_class *c = atomic_load_explicit(&cls, memory_order_acquire);

	if (!c && (c = class_intern("omp_barrier", 0, CK_BARRIER)))
		atomic_store_explicit(&cls, c, memory_order_release);
	return c;
}

RT_EXPORT void GOMP_barrier(void)
{
	uintptr_t ip = RT_CALLER;
	struct rt_thread *t = thread_enter(), *watched = NULL;

	if (t) {
		struct lock_class *cls = omp_barrier_class();
		/* as pthread_barrier_wait: the phase that ends here goes in,
		 * the next one begins, then the wait */
		event_note_signal(t, &omp_barrier_key, ip);
		if (cls) {
			event_context_commit(t, cls);
			event_context_enter(t, cls, true);
			event_wait(t, cls, ip);
		}
		thread_leave();
		watched = rt_watch_begin_at(&omp_barrier_key, WAIT_BARRIER, cls, ip);
	}
	REAL(GOMP_barrier)();
	if (watched)
		wait_end(watched);
}

RT_EXPORT void GOMP_parallel(void (*fn)(void *), void *data, unsigned nthreads, unsigned flags)
{
	REAL(GOMP_parallel)(fn, data, nthreads, flags);
	struct rt_thread *t = thread_peek();
	if (likely(t) && !t->nctx)
		return;
	struct lock_class *cls = omp_barrier_class();
	if (cls && (t = thread_enter())) {
		event_context_leave(t, cls);
		thread_leave();
	}
}
