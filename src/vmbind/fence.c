/*
 * fence.c - dma_fence: a promise that some work completes.
 *
 * A fence's lock is a spinlock and a leaf, as the kernel's (a bare atomic
 * flag, since nothing is ever taken under it).  Callbacks run
 * in atomic context, as the kernel runs them under the fence's spinlock:
 * here they run one at a time outside the lock, inside an FDEP_SPIN
 * section, so a callback that sleeps, allocates or waits is reported.  A
 * callback may signal another fence (whose callbacks run in the same
 * section, not entered again).  A waiter sleeps
 * on its thread's own semaphore, which a callback posts, as the kernel's
 * default wait adds a callback that wakes the task.  Every wait is announced to the
 * checker before blocking, whether or not the fence has already signalled,
 * as the kernel's dma_fence_wait does, so that a wrong dependency is seen
 * the first time the code runs, not only when the timing is unlucky.
 */
#include <errno.h>
#include <semaphore.h>
#include <stdlib.h>
#include <time.h>

#include "vmbind.h"

static atomic_ullong fence_context_next = 1;
/* the atomic section callbacks run in (its address is its identity) */
static char fence_cb_section;
/* this thread runs callbacks inside the section: a fence a callback
 * signals runs its own in the same atomic context, without entering the
 * section again (a nested trylock of it would check nothing more) */
static __thread bool in_cb_section;

static void fence_lock(struct dma_fence *f)
{
	while (atomic_flag_test_and_set_explicit(&f->lock, memory_order_acquire)) {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
	}
}

static void fence_unlock(struct dma_fence *f)
{
	atomic_flag_clear_explicit(&f->lock, memory_order_release);
}

uint64_t dma_fence_context_alloc(unsigned n)
{
	return atomic_fetch_add(&fence_context_next, n);
}

void dma_fence_init(struct dma_fence *f, const struct dma_fence_ops *ops, uint64_t context,
		    uint64_t seqno)
{
	atomic_flag_clear(&f->lock);
	atomic_init(&f->refcount, 1);
	atomic_init(&f->signaled, false);
	f->signaling_enabled = false;
	f->signalling = false;
	f->published = false;
	f->error = 0;
	f->context = context;
	f->seqno = seqno;
	f->ops = ops;
	INIT_LIST_HEAD(&f->cb_list);
	fdep_fence_init(f, ops && ops->fence_class ? ops->fence_class : "dma_fence");
}

struct dma_fence *dma_fence_get(struct dma_fence *f)
{
	if (f)
		atomic_fetch_add(&f->refcount, 1);
	return f;
}

void dma_fence_put(struct dma_fence *f)
{
	if (!f || atomic_fetch_sub(&f->refcount, 1) != 1)
		return;
	fdep_fence_destroy(f);
	if (f->ops && f->ops->release)
		f->ops->release(f);
	else
		free(f);
}

/* The fence becomes visible to other threads: from here the caller is on
 * its signalling path until it hands it off or the fence signals. */
void dma_fence_publish(struct dma_fence *f)
{
	f->published = true;
	fdep_fence_publish(f);
}

bool dma_fence_is_signaled(struct dma_fence *f)
{
	return atomic_load_explicit(&f->signaled, memory_order_acquire);
}

/*
 * Callbacks run before the fence reads as signalled, so that whoever owns a
 * callback's memory cannot free it while it runs; callbacks added meanwhile
 * are run too.  Each is taken off the list under the lock, so that
 * dma_fence_remove_callback() knows whether it still can.
 */
int dma_fence_signal(struct dma_fence *f)
{
	struct dma_fence_cb *cb;
	bool section = false;

	fence_lock(f);
	if (f->signalling) {
		fence_unlock(f);
		return -EINVAL;
	}
	f->signalling = true;
	fence_unlock(f);
	fdep_fence_signal(f);

	for (;;) {
		fence_lock(f);
		if (list_empty(&f->cb_list)) {
			atomic_store_explicit(&f->signaled, true, memory_order_release);
			fence_unlock(f);
			break;
		}
		cb = list_first_entry(&f->cb_list, struct dma_fence_cb, node);
		list_del_init(&cb->node);
		fence_unlock(f);
		if (!section && !in_cb_section) {
			/* atomic context: a trylock, since nothing ever waits for it */
			fdep_acquire(&fence_cb_section, "dma_fence_cb", FDEP_SPIN | FDEP_TRY);
			section = true;
			in_cb_section = true;
		}
		cb->func(f, cb);
	}
	if (section) {
		in_cb_section = false;
		fdep_release(&fence_cb_section);
	}
	return 0;
}

void dma_fence_enable_sw_signaling(struct dma_fence *f)
{
	bool first;

	if (!f->ops || !f->ops->enable_signaling || dma_fence_is_signaled(f))
		return;
	fence_lock(f);
	first = !f->signaling_enabled;
	f->signaling_enabled = true;
	fence_unlock(f);
	if (first && in_cb_section) {
		f->ops->enable_signaling(f);
	} else if (first) {
		/* atomic context too: the kernel calls it under the fence's lock */
		fdep_acquire(&fence_cb_section, "dma_fence_cb", FDEP_SPIN | FDEP_TRY);
		in_cb_section = true;
		f->ops->enable_signaling(f);
		in_cb_section = false;
		fdep_release(&fence_cb_section);
	}
}

int dma_fence_add_callback(struct dma_fence *f, struct dma_fence_cb *cb, dma_fence_func_t func)
{
	INIT_LIST_HEAD(&cb->node);
	cb->func = func;
	dma_fence_enable_sw_signaling(f);
	fence_lock(f);
	if (dma_fence_is_signaled(f)) {
		fence_unlock(f);
		return -ENOENT;
	}
	list_add_tail(&cb->node, &f->cb_list);
	fence_unlock(f);
	return 0;
}

bool dma_fence_remove_callback(struct dma_fence *f, struct dma_fence_cb *cb)
{
	bool removed;

	fence_lock(f);
	removed = !list_empty(&cb->node);
	if (removed)
		list_del_init(&cb->node);
	fence_unlock(f);
	return removed;
}

struct fence_waiter {
	struct dma_fence_cb cb;
	sem_t *wake;
};

/*
 * The task a wait wakes: each thread sleeps on a semaphore of its own, made
 * at its first wait and destroyed when the thread ends (a thread waits for
 * one fence at a time, and leaves every wait with the count back at zero).
 */
static __thread struct {
	sem_t sem;
	bool made;
} waiter_task;
static pthread_key_t waiter_key;

static void waiter_gone(void *p)
{
	sem_destroy(p);
}

__attribute__((constructor)) static void waiter_key_make(void)
{
	if (pthread_key_create(&waiter_key, waiter_gone))
		vmb_fatal(1, "cannot make a thread key");
}

static sem_t *waiter_sem(void)
{
	if (!waiter_task.made) {
		sem_init(&waiter_task.sem, 0, 0);
		/* one class for every waiter, as a wait queue entry has in the
		 * kernel: a class per wait would make new dependencies at each one */
		fdep_lock_class(&waiter_task.sem, "dma_fence_waiter", 0);
		pthread_setspecific(waiter_key, &waiter_task.sem);
		waiter_task.made = true;
	}
	return &waiter_task.sem;
}

/* A callback: atomic context, posting a semaphore never sleeps. */
static void fence_waiter_wake(struct dma_fence *f, struct dma_fence_cb *cb)
{
	(void)f;
	sem_post(container_of(cb, struct fence_waiter, cb)->wake);
}

int dma_fence_wait_timeout(struct dma_fence *f, unsigned timeout_ms)
{
	struct fence_waiter w;
	struct timespec ts;
	int ret = 1;

	fdep_fence_wait(f);
	if (dma_fence_is_signaled(f))
		return 1;
	w.wake = waiter_sem();
	if (dma_fence_add_callback(f, &w.cb, fence_waiter_wake))
		return 1;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	while (sem_timedwait(w.wake, &ts)) {
		if (errno == EINTR)
			continue;
		if (dma_fence_remove_callback(f, &w.cb)) {
			ret = 0;
			break;
		}
		/* the callback is running: it posts at once */
		while (sem_trywait(w.wake))
			vmb_sleep_us(10);
		break;
	}
	return ret;
}

void dma_fence_wait(struct dma_fence *f)
{
	/* long timeouts so that a real deadlock is reported, not hidden */
	while (!dma_fence_wait_timeout(f, 10000))
		vmb_fatal(4, "fence %llu:%llu did not signal within 10 s",
			  (unsigned long long)f->context, (unsigned long long)f->seqno);
}
