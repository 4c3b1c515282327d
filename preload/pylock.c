/*
 * pylock.c - CPython's locks: POSIX semaphores used as locks.
 *
 * CPython (3.11 on Debian) makes every lock, threading.Lock, the C RLock's
 * inner lock, the import lock, the thread-state lock, by sem_init(sem, 0, 1)
 * in PyThread_allocate_lock; acquiring it is a sem_trywait first, then, if
 * that fails, sem_wait (no timeout) or sem_clockwait (a timeout); releasing
 * it is sem_post.  Such a semaphore is a lock here: a class of its own (by
 * instance, whatever `classes=` says, as every one has the same init site),
 * held from the acquisition to the post.  A successful sem_trywait counts
 * as a blocking acquisition, because CPython's blocking acquire always
 * tries first; a successful timed wait is a trylock; a failed try, even by
 * the holder (a Lock-based Condition's owner check), is nothing.
 *
 * A Python lock also serves as a token that one thread holds and another
 * waits for (an event): each thread's thread-state lock, which the thread
 * takes as it starts, the interpreter releases when the thread's state goes
 * and join() waits for; threading.Condition's waiter, taken by the waiting
 * thread, taken again to wait, released by the notifier; a lock a program
 * takes at once to block on it later.  Such a lock is an event from the
 * first of these:
 *   - its maker takes it before any other Python lock operation of its
 *     own (the three above: made and taken at once), or
 *   - a thread that holds it waits for it, or
 *   - a thread that does not hold it posts it (a Lock handed off): the
 *     holder's entry leaves its held stack at the holder's next Python lock
 *     operation (or sem_destroy), so that it leads to nothing the holder
 *     takes after.
 * From then on the semaphore is an event as any other (waits.c), but for
 * one rule: a thread that got the token (took it, or was woken with it)
 * and posts it gives it back, which is no signal (a thread's own state
 * lock released at its end; a woken waiter that the interpreter frees
 * still taken).  So join() records the locks held across it as a wait for
 * the thread, and the thread's life leads to nothing, as a pthread join's
 * by default.
 *
 * Frames shown are the interpreter's C frames; Python-level frames are not
 * shown (fencedep(7)).
 *
 * A thread may end holding a Python lock that another thread releases (a
 * Lock handed off): it is ownerless, no lock-held-at-thread-exit.
 *
 * On by default; python_locks=0 leaves every semaphore an event.
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

/*
 * The Python lock this thread made last, as long as the thread has done
 * nothing with any other Python lock since: if this thread's next Python
 * lock operation acquires it, the lock is a token (see the top).
 */
static __thread const void *py_fresh;

/*
 * Python locks that became events while threads may hold them (posted by
 * a thread that did not hold them, or waited for by their holder while
 * others were blocked for them, their entries pushed): each such thread
 * drops its stale entry at its next Python lock operation, when it sees
 * the count move.
 */
static _Atomic unsigned py_demoted;
static __thread unsigned py_demoted_seen;

/*
 * The Python locks turned events (tokens) this thread took and has not
 * given back: its own post of one is that giving back, no event.  A few
 * at a time (a thread's own life, a waiter it was woken on); the oldest
 * is forgotten first, and its post is then an event as any other.
 */
#define PY_TOKENS 16
static __thread const void *py_tokens[PY_TOKENS];
static __thread unsigned py_ntokens;

static void token_take(const void *sem)
{
	for (unsigned i = 0; i < py_ntokens; i++)
		if (py_tokens[i] == sem)
			return;
	if (py_ntokens == PY_TOKENS) {
		memmove(py_tokens, py_tokens + 1, (PY_TOKENS - 1) * sizeof(py_tokens[0]));
		py_ntokens--;
	}
	py_tokens[py_ntokens++] = sem;
}

static bool token_give(const void *sem)
{
	for (unsigned i = py_ntokens; i-- > 0;)
		if (py_tokens[i] == sem) {
			memmove(py_tokens + i, py_tokens + i + 1,
				(py_ntokens - i - 1) * sizeof(py_tokens[0]));
			py_ntokens--;
			return true;
		}
	return false;
}

static inline bool is_sem(const struct instance *in, uint8_t role)
{
	return in && in->type == IT_SEM && in->sem_role == role;
}

/* The instance of a held entry's object, or NULL. */
static struct instance *held_instance(struct rt_thread *t, const struct held *h)
{
	struct instance *in;

	if (!h->instance)
		return NULL;
	in = icache_peek(t, h->instance);
	return in ? in : instance_find(h->instance);
}

/* Entries of Python locks that became events while this thread held them
 * leave its held stack: they lead to nothing now (it no longer holds them,
 * another thread released them). */
static void pylock_drop_demoted(struct rt_thread *t)
{
	unsigned n = atomic_load_explicit(&py_demoted, memory_order_relaxed);

	if (likely(n == py_demoted_seen))
		return;
	py_demoted_seen = n;
	for (uint32_t i = t->depth; i-- > 0;)
		if (is_sem(held_instance(t, &t->held[i]), SEM_DEMOTED))
			held_remove(t, &t->held[i]);
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
		py_fresh = sem;
		/* a token of this thread's that was freed elsewhere */
		token_give(sem);
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

/* The same, and the entry gone from this thread's held stack; other
 * threads blocked for it had pushed theirs: they drop them at their next
 * Python lock step. */
static void pylock_demote(struct rt_thread *t, struct instance *in, const void *sem)
{
	pylock_demote_class(in);
	atomic_fetch_add_explicit(&py_demoted, 1, memory_order_relaxed);
	struct held *h = held_find(t, sem);
	if (h)
		held_remove(t, h);
}

/* A demoted semaphore this thread still holds as a lock (another thread
 * posted it): the entry goes. */
static void pylock_drop_stale(struct rt_thread *t, const void *sem)
{
	struct instance *in = icache_peek(t, sem);

	if (is_sem(in, SEM_DEMOTED)) {
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
	py_fresh = NULL;
	pylock_drop_demoted(t);
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

/* A Python lock turned event, got by this thread (the caller has entered
 * t): true, and it is this thread's token until it posts it. */
static bool pylock_token_got(struct rt_thread *t, const void *sem)
{
	struct instance *in = icache_peek(t, sem);

	if (!in)
		in = instance_find(sem);
	if (!is_sem(in, SEM_DEMOTED))
		return false;
	token_take(sem);
	return true;
}

/* After a blocking or timed wait that got sem, not as a lock: true when sem
 * is a Python lock turned event (its token now this thread's). */
bool pylock_event_got(const void *sem)
{
	struct rt_thread *t = tls_thread;

	if (likely(!pylocks_exist()) || !t || tls_busy || !(t = thread_enter()))
		return false;
	bool done = pylock_token_got(t, sem);
	thread_leave();
	return done;
}

/* After a sem_trywait that got sem: true when that acquired a Python lock
 * (a blocking acquisition: CPython tries first). */
bool pylock_trywait_done(const void *sem, uintptr_t ip)
{
	struct rt_thread *t;

	if (likely(!pylocks_exist()) || !(t = thread_enter()))
		return false;
	bool fresh = sem == py_fresh;
	py_fresh = NULL;
	pylock_drop_demoted(t);
	struct instance *in = pylock_of(t, sem);
	bool done = true;
	if (in && fresh) {
		/* a token: taken by its maker before anything else, it stands
		 * for a state (a thread alive, a waiter not yet notified) that
		 * other threads wait for; no wait here, and no window */
		pylock_demote_class(in);
		token_take(sem);
	} else if (in) {
		rt_acquire(t, in->cls, sem, HM_EXCLUSIVE, 0, NULL, ip);
	} else {
		pylock_drop_stale(t, sem);
		done = pylock_token_got(t, sem);
	}
	thread_leave();
	return done;
}

/*
 * A sem_trywait that failed: nothing, even by the thread that holds the
 * lock (a Lock-based threading.Condition checks that its caller owns it by
 * trying its lock; a Condition's waiter tried by a wait with a zero
 * timeout is a token from its making).  It is a Python lock operation of
 * this thread all the same.
 */
void pylock_trywait_failed(const void *sem)
{
	struct rt_thread *t = tls_thread;

	if (likely(!pylocks_exist()) || !t || tls_busy || !(t = thread_enter()))
		return;
	(void)sem;
	py_fresh = NULL;
	pylock_drop_demoted(t);
	thread_leave();
}

/* Before a sem_post: true when it released a Python lock this thread
 * holds; a post by another thread makes it an event. */
bool pylock_post(const void *sem, uintptr_t ip)
{
	struct rt_thread *t = tls_thread;

	if (likely(!pylocks_exist()) || !t || tls_busy || !(t = thread_enter()))
		return false;
	py_fresh = NULL;
	pylock_drop_demoted(t);
	struct instance *in = pylock_of(t, sem);
	bool lock = false;
	if (!in) {
		pylock_drop_stale(t, sem);
		/* a token this thread took: given back, nothing happens that
		 * another thread waits for */
		lock = token_give(sem);
	} else if (rt_release(t, sem, ip))
		lock = true;
	else {
		/* released by a thread that does not hold it: the thread that
		 * does (if any) drops its entry at its next Python lock step */
		pylock_demote_class(in);
		atomic_fetch_add_explicit(&py_demoted, 1, memory_order_relaxed);
	}
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
		if (is_sem(in, SEM_PYLOCK) || is_sem(in, SEM_DEMOTED) ||
		    (!in && t->held[i].cls->kind == CK_MUTEX && t->held[i].cls->site &&
		     in_python(t->held[i].cls->site)))
			held_remove(t, &t->held[i]);
	}
}

/* Before sem_destroy: a Python lock this thread still holds, though another
 * thread released it, is no held lock freed (CPython frees a Lock whose
 * holder it no longer knows). */
void pylock_destroy(const void *sem)
{
	struct rt_thread *t = tls_thread;

	if (likely(!pylocks_exist()) || !t || tls_busy || !(t = thread_enter()))
		return;
	pylock_drop_demoted(t);
	pylock_drop_stale(t, sem);
	token_give(sem);
	thread_leave();
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
