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

#include "vmbind.h"

atomic_ullong preempt_count;

struct preempt_fence {
	struct dma_fence base;
	struct gpu_vm *vm;
	struct list_head link;
};

static struct {
	pthread_mutex_t lock; /* the work list; a leaf */
	pthread_cond_t cond;
	struct list_head work;
	bool stop;
	pthread_t thread;
} pq;

static void preempt_fence_enable(struct dma_fence *f)
{
	struct preempt_fence *pf = container_of(f, struct preempt_fence, base);

	dma_fence_get(f);
	pthread_mutex_lock(&pq.lock);
	list_add_tail(&pf->link, &pq.work);
	pthread_cond_signal(&pq.cond);
	pthread_mutex_unlock(&pq.lock);
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
	INIT_LIST_HEAD(&pf->link);
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

static void *preempt_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&pq.lock);
	for (;;) {
		struct preempt_fence *pf;

		while (list_empty(&pq.work) && !pq.stop)
			pthread_cond_wait(&pq.cond, &pq.lock);
		if (list_empty(&pq.work))
			break;
		pf = list_first_entry(&pq.work, struct preempt_fence, link);
		list_del_init(&pf->link);
		pthread_mutex_unlock(&pq.lock);
		preempt_work(pf);
		dma_fence_put(&pf->base);
		pthread_mutex_lock(&pq.lock);
	}
	pthread_mutex_unlock(&pq.lock);
	return NULL;
}

void preempt_init(void)
{
	pthread_mutex_init(&pq.lock, NULL);
	fdep_lock_class(&pq.lock, "preempt_wq->lock", 0);
	pthread_cond_init(&pq.cond, NULL);
	INIT_LIST_HEAD(&pq.work);
	if (pthread_create(&pq.thread, NULL, preempt_main, NULL))
		vmb_fatal(1, "cannot start the preempt worker");
}

void preempt_fini(void)
{
	pthread_mutex_lock(&pq.lock);
	pq.stop = true;
	pthread_cond_broadcast(&pq.cond);
	pthread_mutex_unlock(&pq.lock);
	pthread_join(pq.thread, NULL);
}
