/*
 * glib.c - GLib's locks: GMutex, GRecMutex and GRWLock, through their
 * exported entry points, as held-stack events of mutex and rwlock classes
 * named as pthread ones are (a static lock by its symbol, one set up by
 * g_*_init by that call's site).
 *
 * GMutex is GLib's own futex lock and never reaches pthreads: its lock and
 * unlock take the same fast paths as a pthread mutex (locks.c), pushing
 * the entry and tail-calling the real function.  GRecMutex and GRWLock are
 * pthread locks that GLib allocates behind the object, and the object the
 * program named is the one tracked: their fast paths call the pthread
 * function on the inner lock directly, and on their slow paths the thread
 * stays entered across GLib's call, so the pthread interposers pass the
 * inner lock by.
 *
 * Calls made inside libglib itself do not go through the dynamic linker
 * and are not seen: GLib's own GMutexes (its main loop, its async queues,
 * g_once) stay invisible; what libgio, libgobject and programs lock is
 * seen (fencedep(7), LIMITS).  Nothing here runs in a program that does not
 * call GLib: the real functions are resolved on first call.
 */
#include "libfast.h"

/* GLib's types, opaque here: the object's address is its identity. */
typedef void gmutex_t;
typedef void grecmutex_t;
typedef void grwlock_t;

REAL_DECL(void, g_mutex_init, gmutex_t *);
REAL_DECL(void, g_mutex_clear, gmutex_t *);
REAL_DECL(void, g_mutex_lock, gmutex_t *);
REAL_DECL(int, g_mutex_trylock, gmutex_t *);
REAL_DECL(void, g_mutex_unlock, gmutex_t *);
REAL_DECL(void, g_rec_mutex_init, grecmutex_t *);
REAL_DECL(void, g_rec_mutex_clear, grecmutex_t *);
REAL_DECL(void, g_rec_mutex_lock, grecmutex_t *);
REAL_DECL(int, g_rec_mutex_trylock, grecmutex_t *);
REAL_DECL(void, g_rec_mutex_unlock, grecmutex_t *);
REAL_DECL(void, g_rw_lock_init, grwlock_t *);
REAL_DECL(void, g_rw_lock_clear, grwlock_t *);
REAL_DECL(void, g_rw_lock_writer_lock, grwlock_t *);
REAL_DECL(int, g_rw_lock_writer_trylock, grwlock_t *);
REAL_DECL(void, g_rw_lock_writer_unlock, grwlock_t *);
REAL_DECL(void, g_rw_lock_reader_lock, grwlock_t *);
REAL_DECL(int, g_rw_lock_reader_trylock, grwlock_t *);
REAL_DECL(void, g_rw_lock_reader_unlock, grwlock_t *);
FAST_TARGET(void, g_mutex_lock, (gmutex_t *m), (m))
FAST_TARGET(void, g_mutex_unlock, (gmutex_t *m), (m))

/* The sizes of GMutex, GRecMutex and GRWLock (a pointer and two ints). */
#define GLIB_LOCK_SIZE 16

enum glib_lock { GL_MUTEX, GL_REC, GL_RW };

/*
 * The instance of a GLib lock.  None of them can fail to lock (GLib aborts
 * instead), a GMutex is plain, a GRecMutex is recursive, and a GRWLock is
 * pthread's default rwlock, whose readers may recurse.
 */
static inline __attribute__((always_inline)) struct instance *
glib_instance(struct rt_thread *t, const void *lock, enum glib_lock kind, uintptr_t ip, int init)
{
	struct instance *in = instance_get(t, lock, (kind == GL_RW ? IT_RWLOCK : IT_MUTEX) | init, ip);

	if (in && !in->known) {
		in->mutex_kind = kind == GL_REC ? PTHREAD_MUTEX_RECURSIVE : PTHREAD_MUTEX_NORMAL;
		in->plain = kind != GL_REC;
		/* the fast paths tell the kinds apart by these: a GMutex's
		 * record takes no rwlock's, nor a GRWLock's a mutex's */
		in->nofail = kind == GL_MUTEX;
		in->recursive_readers = true;
		in->read_mode = kind == GL_RW ? HM_RECURSIVE : HM_EXCLUSIVE;
		in->known = true;
	}
	return in;
}

/* A fresh lock at addr: whatever was there before is forgotten. */
static void glib_reset(const void *addr, uintptr_t ip)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	if (instance_may_contain(addr, GLIB_LOCK_SIZE))
		instance_forget_range(addr, GLIB_LOCK_SIZE, ip);
	thread_leave();
}

/* After an init: the instance made now takes its class from the init site. */
static void glib_init_done(const void *lock, enum glib_lock kind, uintptr_t ip)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	glib_instance(t, lock, kind, ip, IT_FROM_INIT);
	thread_leave();
}

/* The release event: releasing a lock this thread does not hold is
 * bad-unlock-balance, as for a pthread lock. */
static inline void glib_release(struct rt_thread *t, const void *lock, uintptr_t ip)
{
	if (!rt_release(t, lock, ip) && instance_find(lock))
		rt_report_bad_unlock(t, lock, ip);
}

/* ---- GMutex: the fast paths of locks.c ---- */

static __attribute__((noinline)) void gmutex_lock_slow(gmutex_t *m, uintptr_t ip)
{
	struct rt_thread *t = thread_enter();

	if (t) {
		struct instance *in = glib_instance(t, m, GL_MUTEX, ip, 0);
		if (in && in->cls)
			rt_acquire(t, in->cls, m, HM_EXCLUSIVE, 0, NULL, ip);
		if (unlikely(rt_watchdog_ns))
			wait_begin(t, m, WAIT_MUTEX);
	}
	REAL(g_mutex_lock)(m);
	if (t)
		blocking_call_end(t);
}

RT_EXPORT FAST_TEXT void g_mutex_lock(gmutex_t *m)
{
	if (nofail_push_fast(m, RT_CALLER)) {
		TARGET(g_mutex_lock)(m);
		return;
	}
	gmutex_lock_slow(m, RT_CALLER);
}

static __attribute__((noinline)) void gmutex_unlock_slow(gmutex_t *m, uintptr_t ip)
{
	struct rt_thread *t = thread_enter();

	if (t) {
		glib_release(t, m, ip);
		thread_leave();
	}
	REAL(g_mutex_unlock)(m);
}

RT_EXPORT void g_mutex_unlock(gmutex_t *m)
{
	if (plain_pop_fast(m)) {
		TARGET(g_mutex_unlock)(m);
		return;
	}
	gmutex_unlock_slow(m, RT_CALLER);
}

RT_EXPORT int g_mutex_trylock(gmutex_t *m)
{
	int r = REAL(g_mutex_trylock)(m);
	struct rt_thread *t;

	if (r && (t = thread_enter())) {
		struct instance *in = glib_instance(t, m, GL_MUTEX, RT_CALLER, 0);
		if (in && in->cls)
			rt_acquire(t, in->cls, m, HM_EXCLUSIVE, HF_TRY, NULL, RT_CALLER);
		thread_leave();
	}
	return r;
}

RT_EXPORT void g_mutex_init(gmutex_t *m)
{
	REAL(g_mutex_init)(m);
	glib_reset(m, RT_CALLER);
	glib_init_done(m, GL_MUTEX, RT_CALLER);
}

RT_EXPORT void g_mutex_clear(gmutex_t *m)
{
	glib_reset(m, RT_CALLER);
	REAL(g_mutex_clear)(m);
}

/* ---- GRecMutex and GRWLock: entered across the real call ---- */

/*
 * The acquire event of a blocking lock; the thread stays entered until
 * blocking_call_end, so the pthread lock inside is not seen again.  A
 * GRecMutex relocked by its owner only counts.
 */
static struct rt_thread *glib_lock_before(const void *lock, enum glib_lock kind, bool write,
					  uintptr_t ip)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return NULL;
	struct instance *in = glib_instance(t, lock, kind, ip, 0);
	struct held *h = kind == GL_REC ? held_find(t, lock) : NULL;
	if (h)
		h->refs++;
	else if (in && in->cls)
		rt_acquire(t, in->cls, lock, write ? HM_EXCLUSIVE : in->read_mode, 0, NULL, ip);
	if (unlikely(rt_watchdog_ns))
		wait_begin(t, lock, kind == GL_RW ? WAIT_RWLOCK : WAIT_MUTEX);
	return t;
}

/* A trylock that succeeded, the thread entered: a trylock event. */
static void glib_try_done(struct rt_thread *t, const void *lock, enum glib_lock kind, bool write,
			  uintptr_t ip)
{
	struct instance *in = glib_instance(t, lock, kind, ip, 0);
	struct held *h = kind == GL_REC ? held_find(t, lock) : NULL;

	if (h)
		h->refs++;
	else if (in && in->cls)
		rt_acquire(t, in->cls, lock, write ? HM_EXCLUSIVE : in->read_mode, HF_TRY, NULL, ip);
}

#define GLIB_TRYLOCK(name, lock, kind, write) \
	({ \
		struct rt_thread *t_ = thread_enter(); \
		int r_ = REAL(name)(lock); \
		if (t_) { \
			if (r_) \
				glib_try_done(t_, (lock), (kind), (write), RT_CALLER); \
			thread_leave(); \
		} \
		r_; \
	})

/* init and clear allocate or free the pthread lock behind the object:
 * entered, so that it is not seen as a lock of its own. */
#define GLIB_INIT(name, lock, kind) \
	do { \
		glib_reset((lock), RT_CALLER); \
		struct rt_thread *t_ = thread_enter(); \
		REAL(name)(lock); \
		if (t_) { \
			glib_instance(t_, (lock), (kind), RT_CALLER, IT_FROM_INIT); \
			thread_leave(); \
		} \
	} while (0)

#define GLIB_CLEAR(name, lock) \
	do { \
		glib_reset((lock), RT_CALLER); \
		struct rt_thread *t_ = thread_enter(); \
		REAL(name)(lock); \
		if (t_) \
			thread_leave(); \
	} while (0)

/*
 * The fast paths of GRecMutex and GRWLock.  GLib keeps the pthread lock it
 * allocates behind either at the object's start, and its lock and unlock
 * are a call of the pthread function on it (gthread-posix.c, since GLib
 * 2.32): once that layout has been seen to hold, a lock this thread has
 * seen is pushed (a GRecMutex relocked by its owner counts) and the real
 * pthread function is called on the inner lock directly, where GLib's own
 * call would pass by the pthread interposers entered.  An object GLib has
 * not allocated for yet (a static one never locked) takes the slow path,
 * through GLib.
 */
static _Atomic bool grec_direct, grw_direct;

REAL_DECL(int, pthread_mutex_lock, pthread_mutex_t *);
REAL_DECL(int, pthread_mutex_unlock, pthread_mutex_t *);
REAL_DECL(int, pthread_rwlock_rdlock, pthread_rwlock_t *);
REAL_DECL(int, pthread_rwlock_wrlock, pthread_rwlock_t *);
REAL_DECL(int, pthread_rwlock_unlock, pthread_rwlock_t *);
FAST_TARGET(int, pthread_mutex_lock, (pthread_mutex_t *m), (m))
FAST_TARGET(int, pthread_mutex_unlock, (pthread_mutex_t *m), (m))
FAST_TARGET(int, pthread_rwlock_rdlock, (pthread_rwlock_t *rw), (rw))
FAST_TARGET(int, pthread_rwlock_wrlock, (pthread_rwlock_t *rw), (rw))
FAST_TARGET(int, pthread_rwlock_unlock, (pthread_rwlock_t *rw), (rw))

/* The pthread lock behind a GRecMutex or GRWLock, NULL until GLib makes it. */
static inline void *glib_impl(const void *lock)
{
	return atomic_load_explicit((void *_Atomic const *)lock, memory_order_relaxed);
}

/* glibc's rwlock keeps its reader count above 3 flag bits. */
#define RWLOCK_READER_SHIFT 3

/*
 * After GLib's own lock returned, the lock held by this thread: is the
 * word at its start a pthread lock that says so?  A GLib older than 2.32
 * (another layout) is not looked into.  Once true, the direct fast paths
 * are on for every lock of that type.
 */
static void glib_learn_layout(const void *lock, enum glib_lock kind, bool write)
{
	static int old = -1;

	if (old < 0) {
		const unsigned *major = preload_resolve("glib_major_version", NULL);
		const unsigned *minor = preload_resolve("glib_minor_version", NULL);
		old = *major != 2 || *minor < 32;
	}
	void *p = glib_impl(lock);
	if (old || !p)
		return;
	if (kind == GL_REC) {
		const pthread_mutex_t *m = p;
		if (m->__data.__owner == rt_gettid() && m->__data.__count >= 1 &&
		    (m->__data.__kind & 3) == PTHREAD_MUTEX_RECURSIVE)
			atomic_store_explicit(&grec_direct, true, memory_order_relaxed);
	} else {
		const pthread_rwlock_t *rw = p;
		if (write ? rw->__data.__cur_writer == rt_gettid()
			  : rw->__data.__readers >> RWLOCK_READER_SHIFT != 0)
			atomic_store_explicit(&grw_direct, true, memory_order_relaxed);
	}
}

/* The calls of the slow paths. */
enum glib_op { OP_REC, OP_WRITE, OP_READ };

/* GLib's lock, entered across it; the first ones learn the layout. */
static __attribute__((noinline)) void glib_lock_slow(void *lock, enum glib_op op, uintptr_t ip)
{
	enum glib_lock kind = op == OP_REC ? GL_REC : GL_RW;
	bool write = op != OP_READ;
	struct rt_thread *t = glib_lock_before(lock, kind, write, ip);

	if (op == OP_REC)
		REAL(g_rec_mutex_lock)(lock);
	else if (write)
		REAL(g_rw_lock_writer_lock)(lock);
	else
		REAL(g_rw_lock_reader_lock)(lock);
	if (!t)
		return;
	if (unlikely(!atomic_load_explicit(kind == GL_REC ? &grec_direct : &grw_direct,
					   memory_order_relaxed)))
		glib_learn_layout(lock, kind, write);
	blocking_call_end(t);
}

static __attribute__((noinline)) void glib_unlock_slow(void *lock, enum glib_op op, uintptr_t ip)
{
	struct rt_thread *t = thread_enter();

	if (t)
		glib_release(t, lock, ip);
	if (op == OP_REC)
		REAL(g_rec_mutex_unlock)(lock);
	else if (op == OP_WRITE)
		REAL(g_rw_lock_writer_unlock)(lock);
	else
		REAL(g_rw_lock_reader_unlock)(lock);
	if (t)
		thread_leave();
}

RT_EXPORT FAST_TEXT void g_rec_mutex_lock(grecmutex_t *m)
{
	pthread_mutex_t *p;

	if (likely(atomic_load_explicit(&grec_direct, memory_order_relaxed)) &&
	    likely((p = glib_impl(m)) != NULL) && rec_push_fast(m, RT_CALLER)) {
		/* GLib ignores what it returns */
		TARGET(pthread_mutex_lock)(p);
		return;
	}
	glib_lock_slow(m, OP_REC, RT_CALLER);
}

RT_EXPORT int g_rec_mutex_trylock(grecmutex_t *m)
{
	return GLIB_TRYLOCK(g_rec_mutex_trylock, m, GL_REC, true);
}

RT_EXPORT void g_rec_mutex_unlock(grecmutex_t *m)
{
	pthread_mutex_t *p;

	if (likely(atomic_load_explicit(&grec_direct, memory_order_relaxed)) &&
	    likely((p = glib_impl(m)) != NULL) && rec_pop_fast(m)) {
		TARGET(pthread_mutex_unlock)(p);
		return;
	}
	glib_unlock_slow(m, OP_REC, RT_CALLER);
}

RT_EXPORT void g_rec_mutex_init(grecmutex_t *m)
{
	GLIB_INIT(g_rec_mutex_init, m, GL_REC);
}

RT_EXPORT void g_rec_mutex_clear(grecmutex_t *m)
{
	GLIB_CLEAR(g_rec_mutex_clear, m);
}

/*
 * A GRWLock's pthread lock fails only on a relock by its writer, or past
 * 2^29 readers; GLib then logs a critical warning: that goes back to
 * GLib's own call, which fails the same way, after the entry is undone.
 */
static __attribute__((noinline)) void grw_lock_failed(grwlock_t *rw, bool write, uintptr_t ip)
{
	struct rt_thread *t = thread_enter();

	if (t) {
		rt_release(t, rw, 0);
		thread_leave();
	}
	glib_lock_slow(rw, write ? OP_WRITE : OP_READ, ip);
}

RT_EXPORT FAST_TEXT void g_rw_lock_writer_lock(grwlock_t *rw)
{
	pthread_rwlock_t *p;

	if (likely(atomic_load_explicit(&grw_direct, memory_order_relaxed)) &&
	    likely((p = glib_impl(rw)) != NULL) && lib_push_fast(rw, true, RT_CALLER)) {
		if (unlikely(TARGET(pthread_rwlock_wrlock)(p)))
			grw_lock_failed(rw, true, RT_CALLER);
		return;
	}
	glib_lock_slow(rw, OP_WRITE, RT_CALLER);
}

RT_EXPORT int g_rw_lock_writer_trylock(grwlock_t *rw)
{
	return GLIB_TRYLOCK(g_rw_lock_writer_trylock, rw, GL_RW, true);
}

/* Either unlock: the pop of the top entry, GLib's unlock of the pthread
 * lock (whose result it ignores). */
static inline __attribute__((always_inline)) pthread_rwlock_t *grw_pop_fast(grwlock_t *rw)
{
	pthread_rwlock_t *p;

	if (likely(atomic_load_explicit(&grw_direct, memory_order_relaxed)) &&
	    likely((p = glib_impl(rw)) != NULL) && plain_pop_fast(rw))
		return p;
	return NULL;
}

RT_EXPORT void g_rw_lock_writer_unlock(grwlock_t *rw)
{
	pthread_rwlock_t *p = grw_pop_fast(rw);

	if (likely(p)) {
		TARGET(pthread_rwlock_unlock)(p);
		return;
	}
	glib_unlock_slow(rw, OP_WRITE, RT_CALLER);
}

RT_EXPORT FAST_TEXT void g_rw_lock_reader_lock(grwlock_t *rw)
{
	pthread_rwlock_t *p;

	if (likely(atomic_load_explicit(&grw_direct, memory_order_relaxed)) &&
	    likely((p = glib_impl(rw)) != NULL) && lib_push_fast(rw, false, RT_CALLER)) {
		if (unlikely(TARGET(pthread_rwlock_rdlock)(p)))
			grw_lock_failed(rw, false, RT_CALLER);
		return;
	}
	glib_lock_slow(rw, OP_READ, RT_CALLER);
}

RT_EXPORT int g_rw_lock_reader_trylock(grwlock_t *rw)
{
	return GLIB_TRYLOCK(g_rw_lock_reader_trylock, rw, GL_RW, false);
}

RT_EXPORT void g_rw_lock_reader_unlock(grwlock_t *rw)
{
	pthread_rwlock_t *p = grw_pop_fast(rw);

	if (likely(p)) {
		TARGET(pthread_rwlock_unlock)(p);
		return;
	}
	glib_unlock_slow(rw, OP_READ, RT_CALLER);
}

RT_EXPORT void g_rw_lock_init(grwlock_t *rw)
{
	GLIB_INIT(g_rw_lock_init, rw, GL_RW);
}

RT_EXPORT void g_rw_lock_clear(grwlock_t *rw)
{
	GLIB_CLEAR(g_rw_lock_clear, rw);
}

/* ---- GCond, g_once: events (event.c) ---- */

typedef void gcond_t;
typedef void *(*gthread_func_t)(void *);

REAL_DECL(void, g_cond_init, gcond_t *);
REAL_DECL(void, g_cond_clear, gcond_t *);
REAL_DECL(void, g_cond_wait, gcond_t *, gmutex_t *);
REAL_DECL(int, g_cond_wait_until, gcond_t *, gmutex_t *, int64_t);
REAL_DECL(void, g_cond_signal, gcond_t *);
REAL_DECL(void, g_cond_broadcast, gcond_t *);
REAL_DECL(int, g_once_init_enter, volatile void *);
REAL_DECL(void, g_once_init_leave, volatile void *, size_t);
REAL_DECL(void *, g_once_impl, void *, gthread_func_t, void *);

/*
 * A condition wait, as a pthread one (cond.c): the mutex leaves the held
 * stack for the wait, and an untimed wait is a wait for the GCond's event.
 * GLib relocks the mutex from inside itself, unseen: it is pushed back after.
 * A GMutex has no owner word to tell a mutex this thread holds unseen from
 * one it does not hold, so no bad unlock is reported here.
 */
static bool gcond_wait_before(gcond_t *c, gmutex_t *m, bool timed, uintptr_t ip)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return false;
	rt_blocking_allowed(t, "a condition wait while a spinning lock is held", ip);
	bool held = rt_release(t, m, ip);
	if (!timed && (t->depth || t->nctx) && !event_wait_own(t, c))
		event_wait(t, event_class(t, c, IT_COND, ip), ip);
	if (t->depth)
		event_waited(t, c, false);
	thread_leave();
	return held;
}

static void gcond_wait_after(gcond_t *c, gmutex_t *m, bool held, uintptr_t ip)
{
	struct rt_thread *t;

	if ((!held && likely(rt_opt.signal_context == SIGCTX_HELD)) || !(t = thread_enter()))
		return;
	struct instance *in = held ? glib_instance(t, m, GL_MUTEX, ip, 0) : NULL;
	if (in && in->cls)
		rt_acquire(t, in->cls, m, HM_EXCLUSIVE, 0, NULL, ip);
	event_window_open(t, c, IT_COND, ip);
	thread_leave();
}

RT_EXPORT void g_cond_wait(gcond_t *c, gmutex_t *m)
{
	uintptr_t ip = RT_CALLER;
	bool held = gcond_wait_before(c, m, false, ip);
	struct rt_thread *watched = rt_watch_begin_at(c, WAIT_COND, NULL, ip);

	REAL(g_cond_wait)(c, m);
	if (watched)
		wait_end(watched);
	gcond_wait_after(c, m, held, ip);
}

RT_EXPORT int g_cond_wait_until(gcond_t *c, gmutex_t *m, int64_t end_time)
{
	uintptr_t ip = RT_CALLER;
	bool held = gcond_wait_before(c, m, true, ip);
	int r = REAL(g_cond_wait_until)(c, m, end_time);

	gcond_wait_after(c, m, held, ip);
	return r;
}

/* A signal or broadcast: the GCond -> what the thread holds, as a pthread
 * condition variable's (cond.c). */
RT_EXPORT void g_cond_signal(gcond_t *c)
{
	preload_cond_signal((pthread_cond_t *)c, RT_CALLER);
	REAL(g_cond_signal)(c);
}

RT_EXPORT void g_cond_broadcast(gcond_t *c)
{
	preload_cond_signal((pthread_cond_t *)c, RT_CALLER);
	REAL(g_cond_broadcast)(c);
}

RT_EXPORT void g_cond_init(gcond_t *c)
{
	REAL(g_cond_init)(c);
	glib_reset(c, RT_CALLER);
	struct rt_thread *t = thread_enter();
	if (t) {
		instance_get(t, c, IT_COND | IT_FROM_INIT, RT_CALLER);
		thread_leave();
	}
}

RT_EXPORT void g_cond_clear(gcond_t *c)
{
	glib_reset(c, RT_CALLER);
	REAL(g_cond_clear)(c);
}

/*
 * g_once_init_enter: while the value at location is not set, another
 * thread may be initialising it, and this one waits for that: held -> the
 * once's event.  The thread that gets TRUE initialises, in the once's
 * context (a recursive-read trylock entry of its class, as pthread_once's
 * routine, waits.c) until its g_once_init_leave: what it takes there is
 * once -> L.
 */
RT_EXPORT int g_once_init_enter(volatile void *location)
{
	uintptr_t ip = RT_CALLER;
	const void *key = (const void *)location;
	struct rt_thread *t;

	if (*(void *volatile *)location || !(t = thread_enter()))
		return REAL(g_once_init_enter)(location);
	struct lock_class *cls = event_class(t, key, IT_ONCE, ip);
	event_wait(t, cls, ip);
	thread_leave();
	struct rt_thread *watched = rt_watch_begin_at(key, WAIT_ONCE, cls, ip);
	int first = REAL(g_once_init_enter)(location);
	if (watched)
		wait_end(watched);
	if (first && (t = thread_enter())) {
		if (cls)
			rt_push_try_unchecked(t, cls, key, HM_RECURSIVE, HF_EVENTCTX, ip);
		thread_leave();
	}
	return first;
}

RT_EXPORT void g_once_init_leave(volatile void *location, size_t result)
{
	preload_once_leave((const void *)location);
	REAL(g_once_init_leave)(location, result);
}

/* g_once: the routine runs inside the real call, in the once's context. */
static __thread struct gonce_call {
	gthread_func_t func;
	void *once;
	uintptr_t ip;
} gonce_current;

static void *gonce_trampoline(void *arg)
{
	struct gonce_call c = gonce_current;
	struct rt_thread *t = thread_enter();

	if (t) {
		struct lock_class *cls = event_class(t, c.once, IT_ONCE, c.ip);
		if (cls)
			rt_push_try_unchecked(t, cls, c.once, HM_RECURSIVE, HF_EVENTCTX, c.ip);
		thread_leave();
	}
	void *r = c.func(arg);
	preload_once_leave(c.once);
	return r;
}

/* GOnce's status: G_ONCE_STATUS_READY is 2. */
#define GONCE_READY 2

RT_EXPORT void *g_once_impl(void *once, gthread_func_t func, void *arg)
{
	uintptr_t ip = RT_CALLER;
	struct rt_thread *t;

	if (*(volatile int *)once == GONCE_READY || !(t = thread_enter()))
		return REAL(g_once_impl)(once, func, arg);
	struct lock_class *cls = event_class(t, once, IT_ONCE, ip);
	event_wait(t, cls, ip);
	thread_leave();
	struct gonce_call saved = gonce_current;
	gonce_current = (struct gonce_call){ func, once, ip };
	void *r = REAL(g_once_impl)(once, gonce_trampoline, arg);
	gonce_current = saved;
	return r;
}
