/*
 * fence.c - dma_fence: a promise that some work completes.
 *
 * A fence's own mutex is a leaf: callbacks run after it is dropped, so a
 * callback may signal another fence or wake the scheduler without nesting.
 * Every wait is announced to the checker before blocking, whether or not
 * the fence has already signalled, as the kernel's dma_fence_wait does, so
 * that a wrong dependency is seen the first time the code runs, not only
 * when the timing is unlucky.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "vmbind.h"

static atomic_ullong fence_context_next = 1;

uint64_t dma_fence_context_alloc(unsigned n)
{
	return atomic_fetch_add(&fence_context_next, n);
}

void dma_fence_init(struct dma_fence *f, const struct dma_fence_ops *ops, uint64_t context,
		    uint64_t seqno)
{
	pthread_mutex_init(&f->lock, NULL);
	fdep_lock_class(&f->lock, "dma_fence->lock", 0);
	pthread_cond_init(&f->cond, NULL);
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
	fdep_fence_init(f, "dma_fence");
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
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
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
 * are run too.
 */
int dma_fence_signal(struct dma_fence *f)
{
	struct list_head cbs;
	struct dma_fence_cb *cb, *next;

	pthread_mutex_lock(&f->lock);
	if (f->signalling) {
		pthread_mutex_unlock(&f->lock);
		return -EINVAL;
	}
	f->signalling = true;
	pthread_mutex_unlock(&f->lock);
	fdep_fence_signal(f);

	INIT_LIST_HEAD(&cbs);
	for (;;) {
		pthread_mutex_lock(&f->lock);
		if (list_empty(&f->cb_list)) {
			atomic_store_explicit(&f->signaled, true, memory_order_release);
			pthread_cond_broadcast(&f->cond);
			pthread_mutex_unlock(&f->lock);
			break;
		}
		list_splice_tail_init(&f->cb_list, &cbs);
		pthread_mutex_unlock(&f->lock);
		list_for_each_entry_safe(cb, next, &cbs, node)
			cb->func(f, cb);
		INIT_LIST_HEAD(&cbs);
	}
	return 0;
}

void dma_fence_enable_sw_signaling(struct dma_fence *f)
{
	bool first;

	if (!f->ops || !f->ops->enable_signaling || dma_fence_is_signaled(f))
		return;
	pthread_mutex_lock(&f->lock);
	first = !f->signaling_enabled;
	f->signaling_enabled = true;
	pthread_mutex_unlock(&f->lock);
	if (first)
		f->ops->enable_signaling(f);
}

int dma_fence_add_callback(struct dma_fence *f, struct dma_fence_cb *cb, dma_fence_func_t func)
{
	INIT_LIST_HEAD(&cb->node);
	cb->func = func;
	dma_fence_enable_sw_signaling(f);
	pthread_mutex_lock(&f->lock);
	if (dma_fence_is_signaled(f)) {
		pthread_mutex_unlock(&f->lock);
		return -ENOENT;
	}
	list_add_tail(&cb->node, &f->cb_list);
	pthread_mutex_unlock(&f->lock);
	return 0;
}

int dma_fence_wait_timeout(struct dma_fence *f, unsigned timeout_ms)
{
	struct timespec ts;
	int ret = 1;

	fdep_fence_wait(f);
	if (dma_fence_is_signaled(f))
		return 1;
	dma_fence_enable_sw_signaling(f);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&f->lock);
	while (!dma_fence_is_signaled(f)) {
		if (pthread_cond_timedwait(&f->cond, &f->lock, &ts) == ETIMEDOUT) {
			ret = dma_fence_is_signaled(f);
			break;
		}
	}
	pthread_mutex_unlock(&f->lock);
	return ret;
}

void dma_fence_wait(struct dma_fence *f)
{
	/* long timeouts so that a real deadlock is reported, not hidden */
	while (!dma_fence_wait_timeout(f, 10000))
		vmb_fatal(4, "fence %llu:%llu did not signal within 10 s",
			  (unsigned long long)f->context, (unsigned long long)f->seqno);
}
