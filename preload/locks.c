/*
 * locks.c - pthread mutexes, rwlocks and spinlocks as held-stack events.
 *
 * The acquire event comes before the real call, so a deadlock is reported
 * before the thread blocks in it; a call that then fails is undone.  Trylocks
 * (and timed locks, which cannot block forever) are recorded after they
 * succeed, as trylocks: no edge into them.  A recursive mutex relocked by its
 * owner, and an error-checking one, which returns EDEADLK instead of
 * blocking, are not new acquisitions.  A lock at an address is forgotten on
 * destroy and on free, so a new lock there is a new instance.
 */
#include <errno.h>
#include <string.h>

#include "libfast.h"
#include "spin.h"

REAL_DECL(int, pthread_mutex_init, pthread_mutex_t *, const pthread_mutexattr_t *);
REAL_DECL(int, pthread_mutex_destroy, pthread_mutex_t *);
REAL_DECL(int, pthread_mutex_lock, pthread_mutex_t *);
REAL_DECL(int, pthread_mutex_trylock, pthread_mutex_t *);
REAL_DECL(int, pthread_mutex_timedlock, pthread_mutex_t *, const struct timespec *);
REAL_DECL(int, pthread_mutex_clocklock, pthread_mutex_t *, clockid_t, const struct timespec *);
REAL_DECL(int, pthread_mutex_unlock, pthread_mutex_t *);
REAL_DECL(int, pthread_rwlock_init, pthread_rwlock_t *, const pthread_rwlockattr_t *);
REAL_DECL(int, pthread_rwlock_destroy, pthread_rwlock_t *);
REAL_DECL(int, pthread_rwlock_rdlock, pthread_rwlock_t *);
REAL_DECL(int, pthread_rwlock_tryrdlock, pthread_rwlock_t *);
REAL_DECL(int, pthread_rwlock_timedrdlock, pthread_rwlock_t *, const struct timespec *);
REAL_DECL(int, pthread_rwlock_wrlock, pthread_rwlock_t *);
REAL_DECL(int, pthread_rwlock_trywrlock, pthread_rwlock_t *);
REAL_DECL(int, pthread_rwlock_timedwrlock, pthread_rwlock_t *, const struct timespec *);
REAL_DECL(int, pthread_rwlock_unlock, pthread_rwlock_t *);
REAL_DECL(int, pthread_spin_init, pthread_spinlock_t *, int);
REAL_DECL(int, pthread_spin_destroy, pthread_spinlock_t *);
REAL_DECL(int, pthread_spin_lock, pthread_spinlock_t *);
REAL_DECL(int, pthread_spin_trylock, pthread_spinlock_t *);
REAL_DECL(int, pthread_spin_unlock, pthread_spinlock_t *);
FAST_TARGET(int, pthread_mutex_lock, (pthread_mutex_t *m), (m))
FAST_TARGET(int, pthread_mutex_unlock, (pthread_mutex_t *m), (m))
FAST_TARGET(int, pthread_rwlock_rdlock, (pthread_rwlock_t *rw), (rw))
FAST_TARGET(int, pthread_rwlock_wrlock, (pthread_rwlock_t *rw), (rw))
FAST_TARGET(int, pthread_rwlock_unlock, (pthread_rwlock_t *rw), (rw))

/* glibc's robust (16), priority-inherit (32), priority-protect (64) and
 * process-shared (128) kind bits: such mutexes take its general path. */
#define MUTEX_FULL_BITS 0xf0

/* glibc keeps the mutex type and the rwlock kind inside the object, which
 * covers statically initialised locks that never see an init call. */
static inline __attribute__((always_inline)) struct instance *mutex_instance(struct rt_thread *t, pthread_mutex_t *m, uintptr_t ip, int init)
{
	struct instance *in = instance_get(t, m, IT_MUTEX | init, ip);

	if (in && !in->known) {
		in->mutex_kind = (uint8_t)(m->__data.__kind & 3);
		in->plain = in->mutex_kind != PTHREAD_MUTEX_RECURSIVE &&
			    in->mutex_kind != PTHREAD_MUTEX_ERRORCHECK;
		/* glibc's normal and adaptive mutexes, elided or not, not
		 * robust, priority-inheriting or -protected: locking them
		 * returns 0 */
		in->nofail = in->plain && !(m->__data.__kind & MUTEX_FULL_BITS);
		in->known = true;
	}
	return in;
}

static inline __attribute__((always_inline)) struct instance *rwlock_instance(struct rt_thread *t, pthread_rwlock_t *rw, uintptr_t ip, int init)
{
	struct instance *in = instance_get(t, rw, IT_RWLOCK | init, ip);

	if (in && !in->known) {
		in->recursive_readers =
			rw->__data.__flags != PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP;
		in->read_mode = in->recursive_readers ? HM_RECURSIVE : HM_SHARED;
		in->known = true;
	}
	return in;
}

/* A fresh object at addr: whatever was there before is forgotten. */
static void object_reset(const void *addr, size_t len, uintptr_t ip)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	if (instance_may_contain(addr, len))
		instance_forget_range(addr, len, ip);
	thread_leave();
}

/* The acquire event before a blocking lock; false when untracked. */
static inline __attribute__((always_inline)) bool lock_before(struct rt_thread *t, const void *lock, struct instance *in, int mode, unsigned hflags,
			uintptr_t ip)
{
	if (!in || !in->cls)
		return false;
	rt_acquire(t, in->cls, lock, mode, hflags, NULL, ip);
	return true;
}

static void lock_undo(const void *lock)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	rt_release(t, lock, 0);
	thread_leave();
}

/* The fast path of an unlock: the pop of the top entry, after which the
 * caller tail-calls the real unlock, with no frame (see lock_push_fast). */
static inline __attribute__((always_inline)) bool unlock_pop_fast(const void *lock)
{
	return likely(!tls_busy) && rt_release_top(tls_fast, lock);
}

static inline __attribute__((always_inline)) void unlock_event(const void *lock, uintptr_t ip)
{
	if (unlock_pop_fast(lock))
		return;
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	if (!rt_release(t, lock, ip) && instance_find(lock))
		rt_report_bad_unlock(t, lock, ip);
	thread_leave();
}

/* ---- mutexes ---- */

RT_EXPORT int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr)
{
	int r = REAL(pthread_mutex_init)(m, attr);

	if (r == 0) {
		object_reset(m, sizeof(*m), RT_CALLER);
		struct rt_thread *t = thread_enter();
		if (t) {
			mutex_instance(t, m, RT_CALLER, IT_FROM_INIT);
			thread_leave();
		}
	}
	return r;
}

RT_EXPORT int pthread_mutex_destroy(pthread_mutex_t *m)
{
	object_reset(m, sizeof(*m), RT_CALLER);
	return REAL(pthread_mutex_destroy)(m);
}

/* A relock by the owner of a recursive or error-checking mutex? */
static inline __attribute__((always_inline)) bool mutex_relock(struct rt_thread *t, struct instance *in, const void *m)
{
	if (likely(in->plain))
		return false;
	struct held *h = held_find(t, m);
	if (!h)
		return false;
	if (in->mutex_kind == PTHREAD_MUTEX_RECURSIVE)
		h->refs++;
	return true;
}

static void mutex_relock_failed(const void *m)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	struct held *h = held_find(t, m);
	if (h && h->refs)
		h->refs--;
	thread_leave();
}

/*
 * This thread holds a mutex at m's address, yet glibc's own lock word says
 * m is not locked: the one it holds was abandoned locked (a stack slot
 * left by a returned function, memory reused without free) and m is a new
 * mutex at the same address (PTHREAD_MUTEX_INITIALIZER).  The stale entry
 * and the old instance go; m is a new lock, not a relock.
 */
static bool mutex_stale_hold(struct rt_thread *t, pthread_mutex_t *m, uintptr_t ip)
{
	struct held *h = held_find(t, m);

	if (likely(!h) || m->__data.__lock || m->__data.__owner)
		return false;
	held_remove(t, h);
	instance_forget_range(m, sizeof(*m), ip);
	return true;
}

static __attribute__((noinline)) int mutex_lock_slow(pthread_mutex_t *m, uintptr_t ip)
{
	/* inside the runtime or a lock library's interposer (a GRecMutex's
	 * pthread mutex): straight through */
	if (tls_busy)
		return REAL(pthread_mutex_lock)(m);
	struct rt_thread *t = thread_enter();
	bool tracked = false, relock = false, owner_died = false;

	if (t) {
		struct instance *in = mutex_instance(t, m, ip, 0);
		if (in && unlikely(mutex_stale_hold(t, m, ip)))
			in = mutex_instance(t, m, ip, 0);
		relock = in && mutex_relock(t, in, m);
		if (!relock)
			tracked = lock_before(t, m, in, HM_EXCLUSIVE, 0, ip);
		if (unlikely(rt_watchdog_ns))
			wait_begin(t, m, WAIT_MUTEX);
	}
	if (tracked)
		rt_tls.parked = m;
	int r = REAL(pthread_mutex_lock)(m);
	rt_tls.parked = NULL;
	if (t)
		blocking_call_end(t);
	/* a robust mutex whose owner died is locked all the same */
	if (r == EOWNERDEAD)
		r = 0, owner_died = true;
	if (r && tracked)
		lock_undo(m);
	else if (r && relock)
		mutex_relock_failed(m);
	return owner_died ? EOWNERDEAD : r;
}


#if !FAST_PUSH_GUARD
/* The linker's bounds of the section FAST_TEXT puts the fast paths in. */
extern const char __start_fdep_fast_text[] RT_HIDDEN;
extern const char __stop_fdep_fast_text[] RT_HIDDEN;

bool fast_text_contains(uintptr_t pc)
{
	return pc >= (uintptr_t)__start_fdep_fast_text && pc < (uintptr_t)__stop_fdep_fast_text;
}
#else
bool fast_text_contains(uintptr_t pc)
{
	(void)pc;
	return false;
}
#endif

RT_EXPORT FAST_TEXT int pthread_mutex_lock(pthread_mutex_t *m)
{
	if (lock_push_fast(m, FAST_MUTEX, RT_CALLER))
		return TARGET(pthread_mutex_lock)(m);
	return mutex_lock_slow(m, RT_CALLER);
}

/* After a successful trylock or timed lock: a trylock event. */
static void mutex_try_after(pthread_mutex_t *m, uintptr_t ip)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	struct instance *in = mutex_instance(t, m, ip, 0);
	if (in && !mutex_relock(t, in, m))
		lock_before(t, m, in, HM_EXCLUSIVE, HF_TRY, ip);
	thread_leave();
}

RT_EXPORT int pthread_mutex_trylock(pthread_mutex_t *m)
{
	int r = REAL(pthread_mutex_trylock)(m);

	if (r == 0 || r == EOWNERDEAD)
		mutex_try_after(m, RT_CALLER);
	return r;
}

RT_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *ts)
{
	int r = REAL(pthread_mutex_timedlock)(m, ts);

	if (r == 0 || r == EOWNERDEAD)
		mutex_try_after(m, RT_CALLER);
	return r;
}

RT_EXPORT int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clk, const struct timespec *ts)
{
	int r = REAL(pthread_mutex_clocklock)(m, clk, ts);

	if (r == 0 || r == EOWNERDEAD)
		mutex_try_after(m, RT_CALLER);
	return r;
}

static __attribute__((noinline)) int mutex_unlock_slow(pthread_mutex_t *m, uintptr_t ip)
{
	if (tls_busy)
		return REAL(pthread_mutex_unlock)(m);
	unlock_event(m, ip);
	return REAL(pthread_mutex_unlock)(m);
}

RT_EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
	if (unlock_pop_fast(m))
		return TARGET(pthread_mutex_unlock)(m);
	return mutex_unlock_slow(m, RT_CALLER);
}

/* ---- rwlocks ---- */

RT_EXPORT int pthread_rwlock_init(pthread_rwlock_t *rw, const pthread_rwlockattr_t *attr)
{
	int r = REAL(pthread_rwlock_init)(rw, attr);

	if (r == 0) {
		object_reset(rw, sizeof(*rw), RT_CALLER);
		struct rt_thread *t = thread_enter();
		if (t) {
			rwlock_instance(t, rw, RT_CALLER, IT_FROM_INIT);
			thread_leave();
		}
	}
	return r;
}

RT_EXPORT int pthread_rwlock_destroy(pthread_rwlock_t *rw)
{
	object_reset(rw, sizeof(*rw), RT_CALLER);
	return REAL(pthread_rwlock_destroy)(rw);
}

/* The acquire event; the thread stays entered (see blocking_call_end). */
static struct rt_thread *rw_event(pthread_rwlock_t *rw, bool write, unsigned hflags, uintptr_t ip,
				  bool *tracked)
{
	struct rt_thread *t = thread_enter();

	*tracked = false;
	if (!t)
		return NULL;
	struct instance *in = rwlock_instance(t, rw, ip, 0);
	if (in) {
		int mode = write ? HM_EXCLUSIVE : in->recursive_readers ? HM_RECURSIVE : HM_SHARED;
		*tracked = lock_before(t, rw, in, mode, hflags, ip);
	}
	if (!hflags && unlikely(rt_watchdog_ns))
		wait_begin(t, rw, WAIT_RWLOCK);
	return t;
}

static void rw_before(pthread_rwlock_t *rw, bool write, unsigned hflags, uintptr_t ip)
{
	bool tracked;

	if (rw_event(rw, write, hflags, ip, &tracked))
		thread_leave();
}

static __attribute__((noinline)) int rwlock_lock_slow(pthread_rwlock_t *rw, bool write,
						     uintptr_t ip)
{
	bool tracked;
	struct rt_thread *t = rw_event(rw, write, 0, ip, &tracked);
	if (t && tracked)
		rt_tls.parked = rw;
	int r = write ? REAL(pthread_rwlock_wrlock)(rw) : REAL(pthread_rwlock_rdlock)(rw);
	rt_tls.parked = NULL;

	if (t)
		blocking_call_end(t);
	if (r && tracked)
		lock_undo(rw);
	return r;
}

RT_EXPORT FAST_TEXT int pthread_rwlock_rdlock(pthread_rwlock_t *rw)
{
	if (lock_push_fast(rw, FAST_READ, RT_CALLER))
		return TARGET(pthread_rwlock_rdlock)(rw);
	return rwlock_lock_slow(rw, false, RT_CALLER);
}

RT_EXPORT FAST_TEXT int pthread_rwlock_wrlock(pthread_rwlock_t *rw)
{
	if (lock_push_fast(rw, FAST_WRITE, RT_CALLER))
		return TARGET(pthread_rwlock_wrlock)(rw);
	return rwlock_lock_slow(rw, true, RT_CALLER);
}

RT_EXPORT int pthread_rwlock_tryrdlock(pthread_rwlock_t *rw)
{
	int r = REAL(pthread_rwlock_tryrdlock)(rw);

	if (r == 0)
		rw_before(rw, false, HF_TRY, RT_CALLER);
	return r;
}

RT_EXPORT int pthread_rwlock_trywrlock(pthread_rwlock_t *rw)
{
	int r = REAL(pthread_rwlock_trywrlock)(rw);

	if (r == 0)
		rw_before(rw, true, HF_TRY, RT_CALLER);
	return r;
}

RT_EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *rw, const struct timespec *ts)
{
	int r = REAL(pthread_rwlock_timedrdlock)(rw, ts);

	if (r == 0)
		rw_before(rw, false, HF_TRY, RT_CALLER);
	return r;
}

RT_EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *rw, const struct timespec *ts)
{
	int r = REAL(pthread_rwlock_timedwrlock)(rw, ts);

	if (r == 0)
		rw_before(rw, true, HF_TRY, RT_CALLER);
	return r;
}

static __attribute__((noinline)) int rwlock_unlock_slow(pthread_rwlock_t *rw, uintptr_t ip)
{
	unlock_event(rw, ip);
	return REAL(pthread_rwlock_unlock)(rw);
}

RT_EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *rw)
{
	if (unlock_pop_fast(rw))
		return TARGET(pthread_rwlock_unlock)(rw);
	return rwlock_unlock_slow(rw, RT_CALLER);
}

/* ---- spinlocks ---- */

FAST_TARGET(int, pthread_spin_lock, (pthread_spinlock_t *s), (s))
FAST_TARGET(int, pthread_spin_unlock, (pthread_spinlock_t *s), (s))

RT_EXPORT int pthread_spin_init(pthread_spinlock_t *s, int pshared)
{
	int r = REAL(pthread_spin_init)(s, pshared);

	if (r == 0) {
		object_reset((const void *)s, sizeof(*s), RT_CALLER);
		struct rt_thread *t = thread_enter();
		if (t) {
			instance_get(t, (const void *)s, IT_SPIN | IT_FROM_INIT, RT_CALLER);
			thread_leave();
		}
	}
	return r;
}

RT_EXPORT int pthread_spin_destroy(pthread_spinlock_t *s)
{
	object_reset((const void *)s, sizeof(*s), RT_CALLER);
	return REAL(pthread_spin_destroy)(s);
}

/* The acquire event; the thread stays entered (see blocking_call_end). */
static struct rt_thread *spin_event(pthread_spinlock_t *s, unsigned hflags, uintptr_t ip,
				    bool *tracked)
{
	struct rt_thread *t = thread_enter();

	*tracked = false;
	if (!t)
		return NULL;
	*tracked = lock_before(t, (const void *)s, instance_get(t, (const void *)s, IT_SPIN, ip),
			       HM_EXCLUSIVE, HF_SPIN | hflags, ip);
	if (!hflags && unlikely(rt_watchdog_ns))
		wait_begin(t, (const void *)s, WAIT_SPIN);
	return t;
}

static bool spin_before(pthread_spinlock_t *s, unsigned hflags, uintptr_t ip)
{
	bool tracked;
	struct rt_thread *t = spin_event(s, hflags, ip, &tracked);

	if (t)
		thread_leave();
	return tracked;
}

static __attribute__((noinline)) int spin_lock_slow(pthread_spinlock_t *s, uintptr_t ip)
{
	bool tracked;
	struct rt_thread *t = spin_event(s, 0, ip, &tracked);
	int r = REAL(pthread_spin_lock)(s);

	if (t)
		blocking_call_end(t);
	if (r && tracked)
		lock_undo((const void *)s);
	return r;
}

/*
 * A spinlock this thread has seen, on a chain the cache has seen: the push
 * (spin.h) and the real lock tail-called, as a mutex's (libfast.h).  glibc's
 * pthread_spin_lock cannot fail.
 */
RT_EXPORT FAST_TEXT int pthread_spin_lock(pthread_spinlock_t *s)
{
	struct rt_thread *t = tls_fast;

	if (likely(!tls_busy)) {
		struct instance *in = icache_peek(t, (const void *)s);
		/* a record of another kind of lock at the address: memory
		 * reused without a destroy, which the slow path makes a new
		 * lock (instance_get) */
		if (likely(in && in->cls && in->type == IT_SPIN)) {
			if (FAST_PUSH_GUARD)
				tls_busy = 1;
			bool pushed = spin_push_fast(t, in->cls, (const void *)s, HM_EXCLUSIVE, 0,
							     RT_CALLER);
			if (FAST_PUSH_GUARD)
				tls_busy = 0;
			if (pushed)
				return TARGET(pthread_spin_lock)(s);
		}
	}
	return spin_lock_slow(s, RT_CALLER);
}

RT_EXPORT int pthread_spin_trylock(pthread_spinlock_t *s)
{
	int r = REAL(pthread_spin_trylock)(s);

	if (r == 0)
		spin_before(s, HF_TRY, RT_CALLER);
	return r;
}

static __attribute__((noinline)) int spin_unlock_slow(pthread_spinlock_t *s, uintptr_t ip)
{
	unlock_event((const void *)s, ip);
	return REAL(pthread_spin_unlock)(s);
}

/* Its unlock: the pop of the top entry (spin.h), then the real unlock. */
RT_EXPORT FAST_TEXT int pthread_spin_unlock(pthread_spinlock_t *s)
{
	struct rt_thread *t = tls_fast;

	if (likely(!tls_busy)) {
		if (FAST_PUSH_GUARD)
			tls_busy = 1;
		bool popped = spin_pop_fast(t, (const void *)s);
		if (FAST_PUSH_GUARD)
			tls_busy = 0;
		if (popped)
			return TARGET(pthread_spin_unlock)(s);
	}
	return spin_unlock_slow(s, RT_CALLER);
}
