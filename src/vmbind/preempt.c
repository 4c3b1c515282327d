/*
 * preempt.c - long-running mode: preempt fences.
 *
 * A long-running VM's jobs publish no fence that memory management could
 * wait for (they may run for ever).  Instead every resv the VM uses holds
 * its preempt fence.  Waiting for that fence (eviction, userptr
 * invalidation, unbind) queues work that suspends the VM's exec queue and
 * waits for its running job to leave the GPU, then signals: the VM no
 * longer touches memory.  The next exec revalidates, installs a new preempt
 * fence and resumes the queue.  The worker is on the preempt fence's
 * signalling path: it may take no lock that is held while waiting for
 * fences, and it may not allocate.
 */
#include <stdlib.h>
#include <time.h>

#include "vmbind.h"

atomic_ullong preempt_count;

struct preempt_fence {
	struct dma_fence base;
	struct gpu_vm *vm;
	struct preempt_fence *next; /* on the work list */
};

static struct {
	pthread_mutex_t lock; /* the worker's sleep; a leaf */
	pthread_cond_t cond;
	_Atomic(struct preempt_fence *) work; /* pushed in atomic context */
	atomic_bool stop;
	pthread_t thread;
} pq;

/* enable_signaling runs in atomic context (the kernel calls it under the
 * fence's spinlock): queue the work without a sleeping lock. */
static void preempt_fence_enable(struct dma_fence *f)
{
	struct preempt_fence *pf = container_of(f, struct preempt_fence, base);
	struct preempt_fence *head = atomic_load(&pq.work);

	dma_fence_get(f);
	do
		pf->next = head;
	while (!atomic_compare_exchange_weak(&pq.work, &head, pf));
	pthread_cond_signal(&pq.cond);
}

static void preempt_fence_release(struct dma_fence *f)
{
	free(container_of(f, struct preempt_fence, base));
}

static const struct dma_fence_ops preempt_fence_ops = {
	.name = "preempt_fence",
	.fence_class = "preempt_fence",
	.enable_signaling = preempt_fence_enable,
	.release = preempt_fence_release,
};

struct dma_fence *preempt_fence_create(struct gpu_vm *vm)
{
	struct preempt_fence *pf = vmb_zalloc(sizeof(*pf));

	dma_fence_init(&pf->base, &preempt_fence_ops, vm->preempt_context,
		       atomic_fetch_add(&vm->preempt_seqno, 1) + 1);
	pf->vm = vm;
	return &pf->base;
}

static void preempt_work(struct preempt_fence *pf)
{
	struct gpu_vm *vm = pf->vm;
	bool vm_locked = false;
	bool cookie;

	fdep_fence_adopt(&pf->base);
	cookie = fdep_signalling_begin();
	if (vmb_bug(BUG_PREEMPT_FENCE_TAKES_VM_LOCK) && vmb_gate_close(&vm->client_gate)) {
		pthread_rwlock_wrlock(&vm->lock); /* the mistake */
		vm_locked = true;
	}
	sched_entity_suspend(&vm->exec_entity);
	gpu_wait_vm_idle(vm);
	if (vm_locked) {
		pthread_rwlock_unlock(&vm->lock);
		vmb_gate_open(&vm->client_gate);
	}
	atomic_fetch_add(&preempt_count, 1);
	dma_fence_signal(&pf->base);
	fdep_signalling_end(cookie);
}

/* The work pushed since the last look, oldest first. */
static struct preempt_fence *preempt_take_work(void)
{
	struct preempt_fence *pf = atomic_exchange(&pq.work, NULL), *fifo = NULL;

	while (pf) {
		struct preempt_fence *next = pf->next;

		pf->next = fifo;
		fifo = pf;
		pf = next;
	}
	return fifo;
}

static void *preempt_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct preempt_fence *pf = preempt_take_work();
		struct timespec ts;

		if (!pf) {
			if (atomic_load(&pq.stop))
				break;
			/* the push signals without the mutex: look again within 1 ms */
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 1000000;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_mutex_lock(&pq.lock);
			if (!atomic_load(&pq.work) && !atomic_load(&pq.stop))
				pthread_cond_timedwait(&pq.cond, &pq.lock, &ts);
			pthread_mutex_unlock(&pq.lock);
			continue;
		}
		while (pf) {
			struct preempt_fence *next = pf->next;

			preempt_work(pf);
			dma_fence_put(&pf->base);
			pf = next;
		}
	}
	return NULL;
}

void preempt_init(void)
{
	pthread_mutex_init(&pq.lock, NULL);
	fdep_lock_class(&pq.lock, "preempt_wq->lock", 0);
	pthread_cond_init(&pq.cond, NULL);
	atomic_init(&pq.work, NULL);
	atomic_init(&pq.stop, false);
	if (pthread_create(&pq.thread, NULL, preempt_main, NULL))
		vmb_fatal(1, "cannot start the preempt worker");
}

void preempt_fini(void)
{
	pthread_mutex_lock(&pq.lock);
	atomic_store(&pq.stop, true);
	pthread_cond_broadcast(&pq.cond);
	pthread_mutex_unlock(&pq.lock);
	pthread_join(pq.thread, NULL);
}
