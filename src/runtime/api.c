/*
 * api.c - the lock half of the annotation API (fencedep.h): custom locks
 * and pseudo-locks become acquire/release events of the held stack.
 */
#include <string.h>

#include "runtime.h"
#include "spin.h"

static int flags_mode(unsigned flags)
{
	if (flags & FDEP_RECURSIVE)
		return HM_RECURSIVE;
	return (flags & FDEP_SHARED) ? HM_SHARED : HM_EXCLUSIVE;
}

static unsigned flags_held(unsigned flags)
{
	return ((flags & FDEP_TRY) ? HF_TRY : 0) | ((flags & FDEP_SPIN) ? HF_SPIN : 0);
}

/*
 * Does `name` stand for class c, as the thread interned it lately?  Its
 * cache of names (class.c, ncache) holds name for c, with no subclass, and
 * name is a literal of a module still loaded: the same pointer is the same
 * text, and no string is compared.  A miss only costs the compare.
 */
static inline bool name_cached_as(const struct rt_thread *t, const char *name,
				  const struct lock_class *c)
{
	unsigned i = (unsigned)((uintptr_t)name >> 3) % NCACHE_SIZE; /* class.c's slot */

	return t->ncache[i].name == name && t->ncache[i].cls == c && !t->ncache[i].subclass &&
	       t->ncache[i].gen &&
	       t->ncache[i].gen == atomic_load_explicit(&rt_unload_gen, memory_order_acquire);
}

/*
 * What annotated_class() would answer, when the thread's caches know it
 * without entering the runtime: the instance in the thread's cache with a
 * class, no subclass asked for, and no name or the name that class was
 * interned from.  NULL: ask annotated_class().
 */
static inline __attribute__((always_inline)) struct lock_class *
annotated_class_cached(const struct rt_thread *t, const void *lock, const char *name,
		       unsigned flags)
{
	struct instance *in = icache_peek((struct rt_thread *)t, lock);
	struct lock_class *c = in ? in->cls : NULL;

	if (unlikely(!c || FDEP_SUBCLASS_OF(flags)))
		return NULL;
	if (name && !name_cached_as(t, name, c))
		return NULL;
	/* a pthread lock's record: the memory was reused (annotated_class) */
	if (!name && unlikely(in->type != IT_ANNOTATED))
		return NULL;
	return c;
}

/* The class of an annotated lock: by name when given, else its own. */
static struct lock_class *annotated_class(struct rt_thread *t, const void *lock, const char *name,
					  unsigned flags, uintptr_t ip)
{
	struct instance *in = instance_get(t, lock, IT_ANNOTATED, ip);
	unsigned sub = FDEP_SUBCLASS_OF(flags);
	int kind = (flags & FDEP_SPIN) ? CK_SPIN : CK_MAP;

	if (!in)
		return NULL;
	if (name) {
		/* the instance's class, while the same name is passed (the
		 * thread's name cache says so without a compare) */
		if (in->cls && !sub && name_cached_as(t, name, in->cls))
			return in->cls;
		if (in->cls && !sub && in->cls->named && !in->cls->subclass &&
		    !strcmp(atomic_load(&in->cls->name), name)) {
			/* another thread interned the name: this thread's cache
			 * learns it, so the next acquisition takes the fast path */
			class_name_cache(name, in->cls);
			return in->cls;
		}
		struct lock_class *c = class_intern(name, sub, kind);
		in->cls = c;
		return c;
	}
	/* a pthread lock's record where the program's own lock is now: the
	 * memory was reused without a destroy the runtime saw (a pool, a
	 * stack slot); the lock there is a new one, not in the old class */
	if (in->type >= IT_MUTEX && in->type <= IT_SPIN && !(in->cls && in->cls->named) &&
	    !(in = instance_get_slow(lock, IT_ANNOTATED | IT_OWN, ip)))
		return NULL;
	if (!in->cls)
		in->cls = class_for_instance(lock, ip, kind, false, in->in_static, false);
	if (sub && in->cls && in->cls->named)
		return class_intern(atomic_load(&in->cls->name), sub, in->cls->kind);
	return in->cls;
}

RT_EXPORT void fdep_lock_class(const void *lock, const char *class_name_, unsigned subclass)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	struct instance *in = instance_get(t, lock, IT_ANNOTATED, RT_CALLER);
	if (in && class_name_) {
		struct lock_class *old = in->cls;
		in->cls = class_intern(class_name_, subclass, old ? old->kind : CK_MAP);
		/* the lock's own class, made at its init, is not needed any
		 * more; but another thread may hold the lock under it (its
		 * held entry names the class): it dies, and the evictor frees
		 * it once no thread's state names it (graph.c) */
		if (old && old != in->cls && !old->named && old->addr == lock)
			graph_class_dead(old);
	}
	thread_leave();
}

static void acquire(const void *lock, const char *name, unsigned flags, const void *nest,
		    uintptr_t ip)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	struct lock_class *c = annotated_class(t, lock, name, flags, ip);
	if (c)
		rt_acquire(t, c, lock, flags_mode(flags), flags_held(flags), nest, ip);
	thread_leave();
}

/*
 * The fast paths of the annotation API: a lock whose class the thread's
 * caches know (annotated_class_cached), blocking (hot.h), spinning (spin.h)
 * or of a ww acquire context (ww.c), on a chain the cache has seen.  The thread is
 * marked busy around the push, so a signal handler in between runs
 * untracked.  False: nothing done, acquire() decides.
 */
static inline __attribute__((always_inline)) bool acquire_fast(const void *lock, const char *name,
							      unsigned flags, const void *nest,
							      uintptr_t ip)
{
	struct rt_thread *t = tls_thread;

	if (unlikely(!t || tls_busy))
		return false;
	struct lock_class *c = annotated_class_cached(t, lock, name, flags);
	if (!c)
		return false;
	int mode = flags_mode(flags);
	unsigned hflags = flags_held(flags);
	bool pushed;
	tls_busy = 1;
	if (nest)
		pushed = ww_push_fast(t, c, lock, mode, hflags, nest, ip);
	else if (flags & FDEP_SPIN)
		pushed = spin_push_fast(t, c, lock, mode, hflags, ip);
	else
		pushed = rt_push_fast_seen(t, c, lock, mode, hflags, ip); /* as rt_acquire */
	tls_busy = 0;
	return pushed;
}

RT_EXPORT void fdep_acquire(const void *lock, const char *name, unsigned flags)
{
	if (acquire_fast(lock, name, flags, NULL, RT_CALLER))
		return;
	acquire(lock, name, flags, NULL, RT_CALLER);
}

RT_EXPORT void fdep_acquire_nest(const void *lock, const char *name, unsigned flags,
				 const void *nest)
{
	if (nest && !(flags & FDEP_SPIN) && acquire_fast(lock, name, flags, nest, RT_CALLER))
		return;
	acquire(lock, name, flags, nest, RT_CALLER);
}

void rt_report_bad_unlock(struct rt_thread *t, const void *lock, uintptr_t ip)
{
	struct instance *in = instance_find(lock);
	struct finding_in f = {
		.kind = FK_BAD_UNLOCK_BALANCE,
		.title = "bad unlock balance",
		.detail = "releasing a lock this thread does not hold",
		.subject = { in ? in->cls : NULL },
		.stack = stack_capture(ip),
	};

	report_finding(t, &f);
}

RT_EXPORT void fdep_release(const void *lock)
{
	struct rt_thread *t = tls_thread;

	/* the pop of the top entry, as an unlock's fast path (hot.h, spin.h):
	 * a handler that interrupts it pushes and pops above it */
	if (likely(t && !tls_busy) && (rt_release_top(t, lock) || spin_pop_fast(t, lock)))
		return;
	t = thread_enter();
	if (!t)
		return;
	if (!rt_release(t, lock, RT_CALLER))
		rt_report_bad_unlock(t, lock, RT_CALLER);
	thread_leave();
}

static void assertion(struct rt_thread *t, const void *lock, const char *title, uintptr_t ip)
{
	struct instance *in = instance_find(lock);
	struct finding_in f = {
		.kind = FK_ASSERTION_FAILED,
		.title = title,
		.detail = title,
		.subject = { in ? in->cls : NULL },
		.stack = stack_capture(ip),
	};

	report_finding(t, &f);
}

/* held_find() inline, for an assertion that holds (the common answer):
 * it only reads the thread's stack. */
static inline __attribute__((always_inline)) bool holds(const struct rt_thread *t,
							 const void *lock)
{
	for (const struct held *h = t->held + t->depth; h-- != t->held;)
		if (h->instance == lock && !(h->flags & HF_PATH))
			return true;
	return false;
}

RT_EXPORT void fdep_assert_held(const void *lock)
{
	struct rt_thread *t = tls_thread;

	if (likely(t && !tls_busy) && holds(t, lock))
		return;
	t = thread_enter();

	if (!t)
		return;
	if (!held_find(t, lock))
		assertion(t, lock, "lock not held where it must be", RT_CALLER);
	thread_leave();
}

RT_EXPORT void fdep_assert_not_held(const void *lock)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	if (held_find(t, lock))
		assertion(t, lock, "lock held where it must not be", RT_CALLER);
	thread_leave();
}

RT_EXPORT void fdep_prime(const char *first, const char *second)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	if (first && second)
		prime_pair(first, second, false);
	thread_leave();
}

/*
 * Events of the program's own (fencedep(7), "Waits and events"): an eventfd,
 * a pipe, a futex, a completion.  The class is the name given at init, else
 * the object's own, named after its first use.
 */
RT_EXPORT void fdep_event_init(const void *ev, const char *event_class_name)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	struct instance *in = instance_get(t, ev, IT_EVENT, RT_CALLER);
	if (in && event_class_name) {
		struct lock_class *c = class_intern(event_class_name, 0, CK_EVENT);
		if (c) {
			in->type = IT_EVENT;
			in->cls = c;
		}
	}
	thread_leave();
}

RT_EXPORT void fdep_event_wait(const void *ev)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	if ((t->depth || t->nctx) && !event_wait_own(t, ev))
		event_wait(t, event_class(t, ev, IT_EVENT, RT_CALLER), RT_CALLER);
	if (t->depth)
		event_waited(t, ev, false);
	event_window_open(t, ev, IT_EVENT, RT_CALLER);
	thread_leave();
}

RT_EXPORT void fdep_event_signal(const void *ev)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	event_window_signal(t, ev, IT_EVENT, RT_CALLER);
	uint32_t skip = t->depth ? event_signal_skip(t, ev, false) : 0;
	event_signal(t, t->depth > skip ? event_class(t, ev, IT_EVENT, RT_CALLER) : NULL, ev,
		     skip, RT_CALLER);
	thread_leave();
}
