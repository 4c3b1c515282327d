/*
 * bo.c - GEM buffer objects: residency, the LRU, eviction, dma-buf
 * attachments.
 *
 * Eviction is a job, as TTM pipelines it: under the object's resv it takes
 * the pages from the object, publishes an eviction fence in the resv
 * (KERNEL usage: the next user waits for it) and queues the job; the
 * eviction worker, on that fence's signalling path, waits for the GPU to be
 * done with the object, gives the pages back and signals.  Everything that
 * allocates happens before the fence is published.
 *
 * A local object shares its VM's resv; an external one has its own and
 * may be bound in several VMs.  Everything about an object's memory and its
 * gpu_vm_bo list is protected by its resv.  The LRU has its own mutex, taken
 * for list operations only, so the shrinker can pick a victim under it and
 * trylock the victim's resv.
 */
#include <stdlib.h>

#include "vmbind.h"

static pthread_mutex_t lru_lock = PTHREAD_MUTEX_INITIALIZER;
static struct list_head lru;

atomic_ullong evictions_done;

struct evict_job {
	struct dma_fence base;
	struct pte *pages; /* the object's pages, freed once it is idle */
	unsigned npages;
	struct dma_fence **waits; /* its users when it was evicted */
	unsigned nwaits;
	struct list_head link;
};

static struct {
	pthread_mutex_t lock; /* the queue; a leaf */
	pthread_cond_t cond;
	struct list_head queue;
	bool stop;
	pthread_t thread;
	uint64_t context;
	atomic_ullong seqno;
} ev;

static void evict_fence_release(struct dma_fence *f)
{
	free(container_of(f, struct evict_job, base));
}

static const struct dma_fence_ops evict_fence_ops = {
	.name = "evict_fence",
	.fence_class = "evict_fence",
	.release = evict_fence_release,
};

void bo_init_lru(void)
{
	INIT_LIST_HEAD(&lru);
	fdep_lock_class(&lru_lock, "lru_lock", 0);
}

struct gem_object *bo_create(int id, unsigned npages, struct gpu_vm *local_vm)
{
	struct gem_object *obj = vmb_zalloc(sizeof(*obj));

	obj->id = id;
	dma_resv_init(&obj->own_resv);
	obj->vm = local_vm;
	obj->resv = local_vm ? local_vm->root->resv : &obj->own_resv;
	obj->npages = npages;
	obj->pages = vmb_zalloc(sizeof(*obj->pages) * npages);
	for (unsigned i = 0; i < npages; i++)
		obj->pages[i].idx = PTE_NONE;
	INIT_LIST_HEAD(&obj->vm_bo_list);
	INIT_LIST_HEAD(&obj->attachments);
	INIT_LIST_HEAD(&obj->lru);
	atomic_init(&obj->pin_count, 0);
	return obj;
}

void bo_destroy(struct gem_object *obj)
{
	struct dma_buf_attachment *a, *n;

	bo_lru_del(obj);
	list_for_each_entry_safe(a, n, &obj->attachments, link) {
		list_del_init(&a->link);
		free(a);
	}
	mem_free_pages(obj->npages, obj->pages);
	free(obj->pages);
	dma_resv_fini(&obj->own_resv);
	free(obj);
}

void bo_lru_bump(struct gem_object *obj)
{
	pthread_mutex_lock(&lru_lock);
	if (obj->on_lru)
		list_del_init(&obj->lru);
	list_add_tail(&obj->lru, &lru);
	obj->on_lru = true;
	pthread_mutex_unlock(&lru_lock);
}

void bo_lru_del(struct gem_object *obj)
{
	pthread_mutex_lock(&lru_lock);
	if (obj->on_lru)
		list_del_init(&obj->lru);
	obj->on_lru = false;
	pthread_mutex_unlock(&lru_lock);
}

/*
 * Pick the least recently used object the shrinker may take.  Exported
 * objects are moved only by their importers' migrations, never from
 * reclaim.  Returns the object locked (or, with blocking-resv-in-shrinker,
 * only referenced; the caller then blocks on the resv).
 */
struct gem_object *bo_lru_pick(bool trylock)
{
	struct gem_object *obj, *found = NULL;

	pthread_mutex_lock(&lru_lock);
	list_for_each_entry(obj, &lru, lru) {
		if (obj->exported)
			continue;
		if (trylock && !dma_resv_trylock(obj->resv))
			continue;
		found = obj;
		break;
	}
	if (found) {
		list_del_init(&found->lru);
		found->on_lru = false;
	}
	pthread_mutex_unlock(&lru_lock);
	return found;
}

void bo_validate(struct gem_object *obj)
{
	dma_resv_assert_held(obj->resv);
	if (!obj->resident) {
		mem_alloc_pages(obj->npages, obj->pages);
		obj->resident = true;
	}
	bo_lru_bump(obj);
}

static bool vm_bo_is_import(struct gpu_vm_bo *vm_bo)
{
	struct dma_buf_attachment *a;

	list_for_each_entry(a, &vm_bo->obj->attachments, link) {
		if (a->importer == vm_bo->vm)
			return true;
	}
	return false;
}

/*
 * The eviction worker: on the fence's signalling path it waits until the
 * GPU is done with the object (for a long-running VM that waits for its
 * preempt fence, which suspends it), gives the pages back and signals.
 */
static void evict_work(struct evict_job *ej)
{
	void *bounce = NULL;
	bool cookie;

	fdep_fence_adopt(&ej->base);
	cookie = fdep_signalling_begin();
	if (vmb_bug(BUG_ALLOC_IN_EVICT_JOB)) {
		/* the mistake: a bounce buffer for the copy, allocated by the job */
		bounce = malloc(64);
		if (!bounce)
			vmb_fatal(1, "out of memory");
	}
	for (unsigned i = 0; i < ej->nwaits; i++) {
		dma_fence_wait(ej->waits[i]);
		dma_fence_put(ej->waits[i]);
	}
	mem_free_pages(ej->npages, ej->pages);
	mem_evicting(-(int)ej->npages);
	atomic_fetch_add(&evictions_done, 1);
	dma_fence_signal(&ej->base);
	fdep_signalling_end(cookie);
	free(bounce);
	free(ej->waits);
	free(ej->pages);
	dma_fence_put(&ej->base);
}

static void *evict_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&ev.lock);
	for (;;) {
		struct evict_job *ej;

		while (list_empty(&ev.queue) && !ev.stop)
			pthread_cond_wait(&ev.cond, &ev.lock);
		if (list_empty(&ev.queue))
			break;
		ej = list_first_entry(&ev.queue, struct evict_job, link);
		list_del_init(&ej->link);
		pthread_mutex_unlock(&ev.lock);
		evict_work(ej);
		pthread_mutex_lock(&ev.lock);
	}
	pthread_mutex_unlock(&ev.lock);
	return NULL;
}

void evict_init(void)
{
	pthread_mutex_init(&ev.lock, NULL);
	fdep_lock_class(&ev.lock, "evict_wq->lock", 0);
	pthread_cond_init(&ev.cond, NULL);
	INIT_LIST_HEAD(&ev.queue);
	ev.context = dma_fence_context_alloc(1);
	if (pthread_create(&ev.thread, NULL, evict_main, NULL))
		vmb_fatal(1, "cannot start the eviction worker");
}

/* Every queued eviction done; the GPU and the scheduler are still up. */
void evict_fini(void)
{
	pthread_mutex_lock(&ev.lock);
	ev.stop = true;
	pthread_cond_broadcast(&ev.cond);
	pthread_mutex_unlock(&ev.lock);
	pthread_join(ev.thread, NULL);
}

/* obj resv held: the eviction job with its users and the object's pages;
 * everything it needs is allocated here, before its fence is published. */
static struct evict_job *evict_job_create(struct gem_object *obj)
{
	struct evict_job *ej = vmb_zalloc(sizeof(*ej));
	struct dma_fence *f;
	unsigned pos = 0, max = 4;

	ej->npages = obj->npages;
	ej->pages = vmb_zalloc(sizeof(*ej->pages) * obj->npages);
	for (unsigned i = 0; i < obj->npages; i++) {
		ej->pages[i] = obj->pages[i];
		obj->pages[i].idx = PTE_NONE;
	}
	ej->waits = vmb_zalloc(sizeof(*ej->waits) * max);
	while ((f = dma_resv_next_unsignaled(obj->resv, DMA_RESV_USAGE_BOOKKEEP, &pos))) {
		if (ej->nwaits == max) {
			struct dma_fence **w = realloc(ej->waits, sizeof(*w) * max * 2);

			if (!w)
				vmb_fatal(1, "out of memory");
			ej->waits = w;
			max *= 2;
		}
		ej->waits[ej->nwaits++] = f;
	}
	if (dma_resv_reserve_fences(obj->resv, 1))
		vmb_fatal(1, "out of memory");
	dma_fence_init(&ej->base, &evict_fence_ops, ev.context, atomic_fetch_add(&ev.seqno, 1) + 1);
	INIT_LIST_HEAD(&ej->link);
	return ej;
}

/*
 * Evict: the pages go to an eviction job, whose fence every later user of
 * the object waits for, and every VM that maps it revalidates before its
 * next job.
 */
void bo_evict(struct gem_object *obj)
{
	struct gpu_vm_bo *vm_bo;
	struct dma_buf_attachment *a;
	struct evict_job *ej;
	bool cookie;

	dma_resv_assert_held(obj->resv);
	if (!obj->resident)
		return;
	ej = evict_job_create(obj);
	mem_evicting((int)ej->npages);
	obj->resident = false;

	list_for_each_entry(vm_bo, &obj->vm_bo_list, obj_link) {
		if (obj->vm == vm_bo->vm)
			vm_bo_add_evicted(vm_bo); /* VM resv == obj resv, held */
		else if (vm_bo_is_import(vm_bo))
			continue; /* the importer hears it through move_notify */
		else if (vmb_bug(BUG_EXTOBJ_EVICT_NO_RESV))
			vm_bo_add_evicted(vm_bo); /* the mistake: VM resv not held */
		else
			vm_bo_mark_evicted(vm_bo);
	}
	list_for_each_entry(a, &obj->attachments, link)
		a->ops->move_notify(a);

	/* publication: from here nothing allocates */
	cookie = fdep_signalling_begin();
	dma_fence_publish(&ej->base);
	dma_resv_add_fence(obj->resv, &ej->base, DMA_RESV_USAGE_KERNEL);
	pthread_mutex_lock(&ev.lock);
	list_add_tail(&ej->link, &ev.queue);
	fdep_fence_handoff(&ej->base);
	pthread_cond_signal(&ev.cond);
	pthread_mutex_unlock(&ev.lock);
	fdep_signalling_end(cookie);
}

void bo_attach(struct gem_object *obj, struct gpu_vm *importer)
{
	struct dma_buf_attachment *a = vmb_zalloc(sizeof(*a));

	a->obj = obj;
	a->importer = importer;
	a->ops = &vm_importer_ops;
	obj->exported = true;
	list_add_tail(&a->link, &obj->attachments);
}
