/*
 * pylock.c - CPython's locks: POSIX semaphores used as locks.
 *
 * CPython (3.11 on Debian) makes every lock, threading.Lock, the C RLock's
 * inner lock, the import lock, by sem_init(sem, 0, 1) in
 * PyThread_allocate_lock; acquiring it is a sem_trywait first, then, if
 * that fails, sem_wait (no timeout) or sem_clockwait (a timeout); releasing
 * it is sem_post.  Such a semaphore is a lock here: a class of its own (by
 * instance, whatever `classes=` says, as every one has the same init site),
 * held from the acquisition to the post.  A successful sem_trywait counts
 * as a blocking acquisition, because CPython's blocking acquire always
 * tries first; a successful timed wait is a trylock.
 *
 * A Python lock also serves as an event: threading.Condition's waiter lock
 * is acquired by its thread and acquired again to wait, and released by the
 * notifying thread.  The first time a lock is used so, waited for by the
 * thread that holds it or posted by one that does not, it stops being a
 * lock for good: the holder's entry leaves its held stack (at once when the
 * holder waits; when it next waits for or posts it otherwise) and from
 * then on the semaphore is an event as any other (waits.c).
 *
 * Frames shown are the interpreter's C frames; Python-level frames are not
 * shown (fencedep(7)).
 *
 * A thread may end holding a Python lock that another thread releases (a
 * Lock handed off): it is ownerless, no lock-held-at-thread-exit.
 *
 * Off unless python_locks=1: with it, python3 -m test test_threading is
 * not clean (fencedep(7), LOCK LIBRARIES).
 */
#include <stdatomic.h>
#include <string.h>

#include "preload.h"

/* sem_role of an IT_SEM instance */
enum { SEM_EVENT = 0, SEM_PYLOCK, SEM_DEMOTED };

#define PY_ALLOC "PyThread_allocate_lock"

/*
 * Is ip, a sem_init call site, in CPython's code?  CPython calls sem_init
 * for its locks only, from PyThread_allocate_lock and from the copies of it
 * the compiler inlined elsewhere (Debian's python3.11 has one), so the test
 * is the module: the one that defines PyThread_allocate_lock (the python
 * executable, or libpython in a program that embeds it).  Found once.
 */
static _Atomic uintptr_t py_module; /* its map start; 0 until a Python lock */

#ifdef HAVE__DL_FIND_OBJECT
static bool in_python(uintptr_t ip)
{
	struct dl_find_object at, py;
	uintptr_t known = atomic_load_explicit(&py_module, memory_order_relaxed);

	if (_dl_find_object((void *)ip, &at) != 0)
		return false;
	if (known)
		return (uintptr_t)at.dlfo_map_start == known;
	/* dlsym may allocate: as while resolving a real function (resolve.c) */
	rt_tls.resolving++;
	void *fn = dlsym(RTLD_DEFAULT, PY_ALLOC);
	rt_tls.resolving--;
	if (!fn || _dl_find_object(fn, &py) != 0 || at.dlfo_map_start != py.dlfo_map_start)
		return false;
	atomic_store_explicit(&py_module, (uintptr_t)py.dlfo_map_start, memory_order_relaxed);
	return true;
}
#else
/* Without the loader's lookup: the call in PyThread_allocate_lock itself. */
static bool in_python(uintptr_t ip)
{
	uintptr_t known = atomic_load_explicit(&py_module, memory_order_relaxed);
	const char *fn = NULL;

	if (known)
		return ip == known;
	if (stack_function_try(ip, &fn, false) != 0 || !fn || strcmp(fn, PY_ALLOC))
		return false;
	atomic_store_explicit(&py_module, ip, memory_order_relaxed);
	return true;
}
#endif

/* Has this process made a Python lock?  Until it has, nothing here costs
 * more than this load. */
static inline bool pylocks_exist(void)
{
	return atomic_load_explicit(&py_module, memory_order_relaxed) != 0;
}

void pylock_init(const void *sem, unsigned value, uintptr_t ip)
{
	if (!rt_opt.python_locks || value != 1 || !in_python(ip))
		return;
	struct rt_thread *t = thread_enter();
	if (!t)
		return;
	struct instance *in = instance_get(t, sem, IT_SEM, ip);
	if (in) {
		in->cls = class_for_instance(sem, ip, CK_MUTEX, false, false, false);
		in->sem_role = SEM_PYLOCK;
	}
	thread_leave();
}

/* The instance of a semaphore that is (still) a Python lock, or NULL. */
static struct instance *pylock_of(struct rt_thread *t, const void *sem)
{
	struct instance *in = icache_peek(t, sem);

	if (!in)
		in = instance_find(sem);
	return in && in->sem_role == SEM_PYLOCK && in->cls &&
			       !class_kind_is_event(in->cls->kind)
		       ? in
		       : NULL;
}

/*
 * It is used as an event: a lock no more.  The event gets a class of its
 * own (event_class makes it on first use): the edges the lock's class
 * took while it looked like a lock (a Condition's waiter taken under the
 * Condition's lock) must not join the event's.
 */
static void pylock_demote_class(struct instance *in)
{
	in->sem_role = SEM_DEMOTED;
	in->cls = NULL;
}

/* The same, and the entry gone from this thread's held stack. */
static void pylock_demote(struct rt_thread *t, struct instance *in, const void *sem)
{
	pylock_demote_class(in);
	struct held *h = held_find(t, sem);
	if (h)
		held_remove(t, h);
}

/* A demoted semaphore this thread still holds as a lock (another thread
 * posted it): the entry goes. */
static void pylock_drop_stale(struct rt_thread *t, const void *sem)
{
	struct instance *in = icache_peek(t, sem);

	if (in && in->sem_role == SEM_DEMOTED) {
		struct held *h = held_find(t, sem);
		if (h)
			held_remove(t, h);
	}
}

/*
 * Before a wait for sem (blocking, or timed): true when it is a Python lock
 * and the wait is its acquisition (for a blocking one, the acquire event is
 * pushed now, before the thread blocks); false leaves it to the event
 * handling.  A wait by the lock's holder makes it an event.
 */
bool pylock_wait_before(const void *sem, bool timed, uintptr_t ip)
{
	struct rt_thread *t = tls_thread;

	if (likely(!pylocks_exist()) || !t || tls_busy || !(t = thread_enter()))
		return false;
	struct instance *in = pylock_of(t, sem);
	bool lock = false;
	if (!in) {
		pylock_drop_stale(t, sem);
	} else if (held_find(t, sem)) {
		pylock_demote(t, in, sem);
	} else {
		lock = true;
		if (!timed)
			rt_acquire(t, in->cls, sem, HM_EXCLUSIVE, 0, NULL, ip);
	}
	thread_leave();
	return lock;
}

/* After a wait pylock_wait_before took as an acquisition: r is its result. */
void pylock_wait_after(const void *sem, bool timed, int r, uintptr_t ip)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	if (!timed && r != 0) {
		rt_release(t, sem, ip);
	} else if (timed && r == 0) {
		struct instance *in = pylock_of(t, sem);
		if (in)
			rt_acquire(t, in->cls, sem, HM_EXCLUSIVE, HF_TRY, NULL, ip);
	}
	thread_leave();
}

/* After a sem_trywait that got sem: true when that acquired a Python lock
 * (a blocking acquisition: CPython tries first). */
bool pylock_trywait_done(const void *sem, uintptr_t ip)
{
	struct rt_thread *t;

	if (likely(!pylocks_exist()) || !(t = thread_enter()))
		return false;
	struct instance *in = pylock_of(t, sem);
	if (in)
		rt_acquire(t, in->cls, sem, HM_EXCLUSIVE, 0, NULL, ip);
	else
		pylock_drop_stale(t, sem);
	thread_leave();
	return in != NULL;
}

/*
 * A sem_trywait that failed: tried by the thread that holds it, the lock is
 * a token another thread releases (threading.Condition's waiter, tried
 * with acquire(False) by a wait with a zero timeout, and dropped): an
 * event from now on, as when its holder waits for it.
 */
void pylock_trywait_failed(const void *sem)
{
	struct rt_thread *t = tls_thread;

	if (likely(!pylocks_exist()) || !t || tls_busy || !(t = thread_enter()))
		return;
	struct instance *in = pylock_of(t, sem);
	if (in && held_find(t, sem))
		pylock_demote(t, in, sem);
	thread_leave();
}

/* Before a sem_post: true when it released a Python lock this thread
 * holds; a post by another thread makes it an event. */
bool pylock_post(const void *sem, uintptr_t ip)
{
	struct rt_thread *t = tls_thread;

	if (likely(!pylocks_exist()) || !t || tls_busy || !(t = thread_enter()))
		return false;
	struct instance *in = pylock_of(t, sem);
	bool lock = false;
	if (!in)
		pylock_drop_stale(t, sem);
	else if (rt_release(t, sem, ip))
		lock = true;
	else
		pylock_demote_class(in);
	thread_leave();
	return lock;
}

/*
 * A thread that ends holding Python locks: a Python Lock has no owner, and
 * handing one to another thread to release is legal (threading.Lock), so
 * it is no lock-held-at-thread-exit: the entries go.  The thread that
 * releases it then does not hold it, which makes it an event (pylock_post).
 * The caller has entered t.
 */
void pylock_thread_end(struct rt_thread *t)
{
	if (likely(!pylocks_exist()))
		return;
	for (uint32_t i = t->depth; i-- > 0;) {
		const void *sem = t->held[i].instance;
		struct instance *in = sem ? icache_peek(t, sem) : NULL;
		if (sem && !in)
			in = instance_find(sem);
		/* a lock still, or one that became an event while held; or one
		 * freed since (another thread released it, the interpreter freed
		 * it), whose class says where it was made: in CPython */
		if ((in && (in->sem_role == SEM_PYLOCK || in->sem_role == SEM_DEMOTED)) ||
		    (!in && t->held[i].cls->kind == CK_MUTEX && t->held[i].cls->site &&
		     in_python(t->held[i].cls->site)))
			held_remove(t, &t->held[i]);
	}
}

/*
 * CPython's condition variables in its own static storage are its GIL's:
 * the thread that drops the GIL signals them under whatever Python locks
 * it holds, and a thread that takes the GIL back waits for them holding
 * its own, but neither needs the other's locks (a thread that blocks on a
 * Python lock lets go of the GIL first).  With Python locks tracked they
 * are no events, or every Python lock would lead to every other.
 */
bool pylock_gil(const void *cv)
{
#ifdef HAVE__DL_FIND_OBJECT
	struct dl_find_object at;

	return pylocks_exist() && _dl_find_object((void *)cv, &at) == 0 &&
	       (uintptr_t)at.dlfo_map_start == atomic_load_explicit(&py_module, memory_order_relaxed);
#else
	(void)cv;
	return false;
#endif
}
