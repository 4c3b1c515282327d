/*
 * bo.c - GEM buffer objects: residency, the LRU, eviction, dma-buf
 * attachments.
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
 * Evict: wait until the GPU is done with the object (for a long-running VM
 * that waits for its preempt fence, which suspends it), give the pages
 * back, and make every VM that maps it revalidate before its next job.
 */
void bo_evict(struct gem_object *obj)
{
	struct gpu_vm_bo *vm_bo;
	struct dma_buf_attachment *a;

	dma_resv_assert_held(obj->resv);
	dma_resv_wait(obj->resv, DMA_RESV_USAGE_BOOKKEEP);
	if (!obj->resident)
		return;
	mem_free_pages(obj->npages, obj->pages);
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
