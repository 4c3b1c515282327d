/*
 * vm.c - gpu_vm, gpu_vm_bo and gpu_vma: creating a VM, binding and
 * unbinding buffer objects and userptr ranges, the userptr notifier and
 * repin loop, eviction bookkeeping and dma-buf move_notify.
 *
 * Locking (outermost first): gpu_vm->lock, mmap_lock (get_user_pages),
 * the VM resv and the external objects' resvs under one acquire context,
 * userptr_notifier_lock, and the list spinlocks innermost.
 */
#include <stdlib.h>

#include "vmbind.h"

atomic_ullong stat_repins;

static void rwsem_init(pthread_rwlock_t *l, const char *name)
{
	pthread_rwlockattr_t attr;

	/* writer-fair, so a reader waits behind a waiting writer, as an rwsem */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(l, &attr);
	pthread_rwlockattr_destroy(&attr);
	fdep_lock_class(l, name, 0);
}

/* The VM's page-table root is cleared by the GPU before first use; the VM
 * resv stays locked until that clear has completed. */
static void vm_clear_page_tables(struct gpu_vm *vm)
{
	struct drm_exec exec;
	struct sched_job *job;
	struct dma_fence *f;

	job = sched_job_create(JOB_CLEAR, &vm->bind_entity, vm);
	drm_exec_init(&exec);
	while (drm_exec_cleanup(&exec)) {
		if (drm_exec_prepare_obj(&exec, vm->root, 1))
			continue;
	}
	sched_job_arm(job);
	dma_resv_add_fence(vm->root->resv, job->finished, DMA_RESV_USAGE_KERNEL);
	f = dma_fence_get(job->finished);
	sched_entity_push_job(job);
	dma_fence_wait(f);
	drm_exec_fini(&exec);
	dma_fence_put(f);
}

struct gpu_vm *vm_create(int id, struct mm_struct *mm, bool long_running)
{
	struct gpu_vm *vm = vmb_zalloc(sizeof(*vm));

	vm->id = id;
	rwsem_init(&vm->lock, "gpu_vm->lock");
	rwsem_init(&vm->userptr_notifier_lock, "userptr_notifier_lock");
	pthread_spin_init(&vm->list_lock, PTHREAD_PROCESS_PRIVATE);
	fdep_lock_class((const void *)&vm->list_lock, "evict_list_lock", 0);
	pthread_spin_init(&vm->invalidated_lock, PTHREAD_PROCESS_PRIVATE);
	fdep_lock_class((const void *)&vm->invalidated_lock, "userptr_invalidated_lock", 0);
	INIT_LIST_HEAD(&vm->vmas);
	INIT_LIST_HEAD(&vm->rebind_list);
	INIT_LIST_HEAD(&vm->evict_list);
	INIT_LIST_HEAD(&vm->extobj_list);
	INIT_LIST_HEAD(&vm->userptr_list);
	INIT_LIST_HEAD(&vm->invalidated_list);
	INIT_LIST_HEAD(&vm->gpu_mapped);
	vm->mm = mm;
	vm->long_running = long_running;
	vm->preempt_context = dma_fence_context_alloc(1);
	sched_entity_init(&vm->exec_entity);
	sched_entity_init(&vm->bind_entity);
	vm->root = bo_create(-1 - id, 1, NULL);
	mem_alloc_pages(1, vm->root->pages);
	vm->root->resident = true;

	pthread_rwlock_wrlock(&vm->lock);
	vm_clear_page_tables(vm);
	pthread_rwlock_unlock(&vm->lock);
	return vm;
}

void vma_put(struct gpu_vma *vma)
{
	if (atomic_fetch_sub(&vma->refcount, 1) != 1)
		return;
	if (!list_empty(&vma->invalidated_link) || !list_empty(&vma->rebind_link) ||
	    !list_empty(&vma->vm_link) || vma->gpu_mapped)
		vmb_fatal(5, "vma %p freed while still listed (inv %d rebind %d vm %d gpu %d)",
			  (void *)vma, !list_empty(&vma->invalidated_link),
			  !list_empty(&vma->rebind_link), !list_empty(&vma->vm_link),
			  vma->gpu_mapped);
	free(vma->pinned);
	free(vma->gpu_ptes);
	free(vma);
}

/* Teardown, once no other client is left: unbind everything, drain. */
void vm_destroy(struct gpu_vm *vm)
{
	while (!list_empty(&vm->vmas))
		vm_unbind(list_first_entry(&vm->vmas, struct gpu_vma, vm_link), true);
	vm_idle(vm);
}

/* After vm_destroy() and after its local objects are gone. */
void vm_free(struct gpu_vm *vm)
{
	bo_destroy(vm->root);
	pthread_spin_destroy(&vm->invalidated_lock);
	pthread_spin_destroy(&vm->list_lock);
	pthread_rwlock_destroy(&vm->userptr_notifier_lock);
	pthread_rwlock_destroy(&vm->lock);
	free(vm);
}

/* ---- gpu_vm_bo ------------------------------------------------------- */

/* The local evict list is protected by the VM resv (and the list lock for
 * the exec function's walk). */
void vm_bo_add_evicted(struct gpu_vm_bo *vm_bo)
{
	struct gpu_vm *vm = vm_bo->vm;

	dma_resv_assert_held(vm->root->resv);
	vm_bo->evicted = true;
	pthread_spin_lock(&vm->list_lock);
	if (list_empty(&vm_bo->evict_link))
		list_add_tail(&vm_bo->evict_link, &vm->evict_list);
	pthread_spin_unlock(&vm->list_lock);
}

/* An external object's eviction holds only the object's resv: it flags the
 * gpu_vm_bo, and the exec function moves it to the evict list. */
void vm_bo_mark_evicted(struct gpu_vm_bo *vm_bo)
{
	dma_resv_assert_held(vm_bo->obj->resv);
	vm_bo->evicted = true;
}

void vm_add_extobj(struct gpu_vm *vm, struct gpu_vm_bo *vm_bo)
{
	struct dma_buf_attachment *a;
	bool import = false;

	list_for_each_entry(a, &vm_bo->obj->attachments, link)
		import |= a->importer == vm;
	pthread_spin_lock(&vm->list_lock);
	if (import)
		list_add(&vm_bo->extobj_link, &vm->extobj_list);
	else
		list_add_tail(&vm_bo->extobj_link, &vm->extobj_list);
	pthread_spin_unlock(&vm->list_lock);
}

/* gpu_vm->lock and the object's resv held. */
static struct gpu_vm_bo *vm_bo_obtain(struct gpu_vm *vm, struct gem_object *obj)
{
	struct gpu_vm_bo *vm_bo;

	dma_resv_assert_held(obj->resv);
	list_for_each_entry(vm_bo, &obj->vm_bo_list, obj_link) {
		if (vm_bo->vm == vm)
			return vm_bo;
	}
	vm_bo = vmb_zalloc(sizeof(*vm_bo));
	vm_bo->vm = vm;
	vm_bo->obj = obj;
	INIT_LIST_HEAD(&vm_bo->evict_link);
	INIT_LIST_HEAD(&vm_bo->extobj_link);
	INIT_LIST_HEAD(&vm_bo->vmas);
	list_add_tail(&vm_bo->obj_link, &obj->vm_bo_list);
	if (obj->vm != vm)
		vm_add_extobj(vm, vm_bo);
	return vm_bo;
}

/* gpu_vm->lock, the VM resv and the object's resv held. */
static void vm_bo_release(struct gpu_vm_bo *vm_bo)
{
	struct gpu_vm *vm = vm_bo->vm;

	dma_resv_assert_held(vm->root->resv);
	dma_resv_assert_held(vm_bo->obj->resv);
	list_del_init(&vm_bo->obj_link);
	pthread_spin_lock(&vm->list_lock);
	list_del_init(&vm_bo->evict_link);
	list_del_init(&vm_bo->extobj_link);
	pthread_spin_unlock(&vm->list_lock);
	free(vm_bo);
}

/* ---- binding ---------------------------------------------------------- */

static struct gpu_vma *vma_alloc(struct gpu_vm *vm, unsigned slot, unsigned npages)
{
	struct gpu_vma *vma = vmb_zalloc(sizeof(*vma));

	vma->vm = vm;
	vma->slot = slot;
	vma->npages = npages;
	atomic_init(&vma->refcount, 1);
	INIT_LIST_HEAD(&vma->vm_link);
	INIT_LIST_HEAD(&vma->bo_link);
	INIT_LIST_HEAD(&vma->rebind_link);
	INIT_LIST_HEAD(&vma->userptr_link);
	INIT_LIST_HEAD(&vma->invalidated_link);
	INIT_LIST_HEAD(&vma->gpu_link);
	vma->gpu_ptes = vmb_zalloc(sizeof(*vma->gpu_ptes) * npages);
	return vma;
}

/* A bind job on vm's bind queue that writes src into vma's page table. */
struct sched_job *vm_bind_job_create(struct gpu_vm *vm, struct gpu_vma *vma,
				     const struct pte *src)
{
	struct sched_job *job = sched_job_create(JOB_BIND, &vm->bind_entity, vm);

	job->ptes = malloc(sizeof(*job->ptes) * vma->npages);
	if (!job->ptes)
		vmb_fatal(1, "out of memory");
	for (unsigned i = 0; i < vma->npages; i++)
		job->ptes[i] = src[i];
	job->nptes = vma->npages;
	atomic_fetch_add(&vma->refcount, 1);
	job->vma = vma;
	return job;
}

/*
 * Publish a bind or unbind job: arm it, add its fence to the locked resvs,
 * push it.  Everything that allocates (the job, its page-table payload, the
 * out-syncobj node, the fence slots) is done before; the annotated section
 * covers arm..push.
 */
static struct dma_fence *bind_job_publish(struct sched_job *job, struct drm_exec *exec)
{
	struct dma_fence *out;
	void *syncobj_node = NULL;
	bool late = vmb_bug(BUG_LATE_BEGIN_SIGNALLING);
	bool cookie = false;

	if (!late)
		syncobj_node = malloc(64);
	if (!late)
		cookie = fdep_signalling_begin();
	sched_job_arm(job);
	if (late) {
		/* the mistake: allocation after publication, annotation after it */
		syncobj_node = malloc(64);
		cookie = fdep_signalling_begin();
	}
	for (unsigned i = 0; i < exec->num; i++) {
		/* the mistake: slots reserved once the fence is out */
		if (vmb_bug(BUG_LATE_RESERVE_FENCES))
			dma_resv_reserve_fences(exec->objs[i]->resv, 1);
		dma_resv_add_fence(exec->objs[i]->resv, job->finished, DMA_RESV_USAGE_KERNEL);
	}
	out = dma_fence_get(job->finished);
	sched_entity_push_job(job);
	fdep_signalling_end(cookie);
	free(syncobj_node);
	return out;
}

static void vm_lock_bo(struct drm_exec *exec, struct gpu_vm *vm, struct gem_object *obj)
{
	drm_exec_init(exec);
	while (drm_exec_cleanup(exec)) {
		if (drm_exec_prepare_obj(exec, vm->root, 2))
			continue;
		if (obj && drm_exec_prepare_obj(exec, obj, 2))
			continue;
	}
}

struct gpu_vma *vm_bind_bo(struct gpu_vm *vm, struct gem_object *obj, unsigned slot, bool sync)
{
	struct gpu_vma *vma = vma_alloc(vm, slot, obj->npages);
	struct gpu_vm_bo *vm_bo;
	struct drm_exec exec;
	struct sched_job *job;
	struct dma_fence *f;

	pthread_rwlock_wrlock(&vm->lock);
	vm_lock_bo(&exec, vm, obj);

	vm_bo = vm_bo_obtain(vm, obj);
	bo_validate(obj);
	vma->vm_bo = vm_bo;
	vma->first_exec = atomic_load(&vm->exec_entity.seqno) + 1;
	list_add_tail(&vma->vm_link, &vm->vmas);
	list_add_tail(&vma->bo_link, &vm_bo->vmas);
	vm_bo->nvmas++;
	if (vm_bo->evicted) {
		/* its other VMAs still map the old pages: the next exec rebinds */
		pthread_spin_lock(&vm->list_lock);
		if (list_empty(&vm_bo->evict_link))
			list_add_tail(&vm_bo->evict_link, &vm->evict_list);
		pthread_spin_unlock(&vm->list_lock);
	}
	/* a long-running VM's preempt fence guards every object it maps */
	if (vm->long_running && vm->preempt_fence && obj->resv != vm->root->resv)
		dma_resv_add_fence(obj->resv, vm->preempt_fence, DMA_RESV_USAGE_BOOKKEEP);

	job = vm_bind_job_create(vma->vm, vma, obj->pages);
	f = bind_job_publish(job, &exec);
	drm_exec_fini(&exec);
	/* a synchronous bind returns with the mapping in place */
	if (sync)
		dma_fence_wait(f);
	pthread_rwlock_unlock(&vm->lock);
	dma_fence_put(f);
	return vma;
}

static bool vma_userptr_invalidate(struct mmu_interval_notifier *sub, unsigned long cur_seq);

static const struct mmu_interval_notifier_ops userptr_notifier_ops = {
	.invalidate = vma_userptr_invalidate,
};

struct gpu_vma *vm_bind_userptr(struct gpu_vm *vm, struct mm_range *range, unsigned slot)
{
	struct gpu_vma *vma = vma_alloc(vm, slot, range->npages);
	struct drm_exec exec;
	struct sched_job *job;
	struct dma_fence *f;

	vma->userptr = true;
	vma->range = range;
	vma->pinned = vmb_zalloc(sizeof(*vma->pinned) * range->npages);

	pthread_rwlock_wrlock(&vm->lock);
	vma->first_exec = atomic_load(&vm->exec_entity.seqno) + 1;
	mmu_interval_notifier_insert(&vma->notifier, range, &userptr_notifier_ops);
	list_add_tail(&vma->vm_link, &vm->vmas);
	list_add_tail(&vma->userptr_link, &vm->userptr_list);
	/* the notifier may already have queued it */
	pthread_spin_lock(&vm->invalidated_lock);
	if (list_empty(&vma->invalidated_link))
		list_add_tail(&vma->invalidated_link, &vm->invalidated_list);
	pthread_spin_unlock(&vm->invalidated_lock);
	vm_userptr_repin(vm);

	vm_lock_bo(&exec, vm, NULL);
	job = vm_bind_job_create(vma->vm, vma, vma->pinned);
	list_del_init(&vma->rebind_link);
	f = bind_job_publish(job, &exec);
	drm_exec_fini(&exec);
	dma_fence_wait(f);
	pthread_rwlock_unlock(&vm->lock);
	dma_fence_put(f);
	return vma;
}

/*
 * Unbind: the unbind job runs after every job that may still use the
 * mapping (all the VM's fences).  A userptr unbind is synchronous: the
 * notifier may only go once the GPU no longer maps the pages.
 */
void vm_unbind(struct gpu_vma *vma, bool sync)
{
	struct gpu_vm *vm = vma->vm;
	struct gem_object *obj = vma->vm_bo ? vma->vm_bo->obj : NULL;
	struct drm_exec exec;
	struct sched_job *job;
	struct dma_fence *f;

	job = sched_job_create(JOB_UNBIND, &vm->bind_entity, vm);
	pthread_rwlock_wrlock(&vm->lock);
	list_del_init(&vma->vm_link);
	vm_lock_bo(&exec, vm, obj);
	list_del_init(&vma->rebind_link);
	if (obj) {
		list_del_init(&vma->bo_link);
		if (--vma->vm_bo->nvmas == 0)
			vm_bo_release(vma->vm_bo);
		vma->vm_bo = NULL;
	} else {
		list_del_init(&vma->userptr_link);
	}
	sched_job_add_resv_dependencies(job, vm->root->resv, DMA_RESV_USAGE_BOOKKEEP);
	atomic_fetch_add(&vma->refcount, 1);
	job->vma = vma;
	f = bind_job_publish(job, &exec);
	drm_exec_fini(&exec);
	if (sync || vma->userptr)
		dma_fence_wait(f);
	if (vma->userptr) {
		mmu_interval_notifier_remove(&vma->notifier);
		pthread_spin_lock(&vm->invalidated_lock);
		list_del_init(&vma->invalidated_link);
		pthread_spin_unlock(&vm->invalidated_lock);
	}
	pthread_rwlock_unlock(&vm->lock);
	dma_fence_put(f);
	vma_put(vma);
}

/* ---- userptr ---------------------------------------------------------- */

/*
 * The notifier, run by the core mm as reclaim.  It must not take
 * gpu_vm->lock nor a resv: their holders allocate.  It makes the exec
 * function either see the new sequence and retry, or have its job fence in
 * the VM resv, which it then waits for before the pages go.
 */
static bool vma_userptr_invalidate(struct mmu_interval_notifier *sub, unsigned long cur_seq)
{
	struct gpu_vma *vma = container_of(sub, struct gpu_vma, notifier);
	struct gpu_vm *vm = vma->vm;
	bool vm_locked = false;

	if (vmb_bug(BUG_ALLOC_IN_NOTIFIER)) {
		/* the mistake: a work item for the rebind allocated right here */
		void *work = malloc(64);

		if (!work)
			vmb_fatal(1, "out of memory");
		free(work);
	}

	if (vmb_bug(BUG_VM_LOCK_IN_NOTIFIER) && vmb_gate_close(&vm->client_gate)) {
		pthread_rwlock_wrlock(&vm->lock); /* the mistake */
		vm_locked = true;
	}

	vmb_gate_enter(&vm->notifier_gate);
	pthread_rwlock_wrlock(&vm->userptr_notifier_lock);
	mmu_interval_set_seq(sub, cur_seq);
	pthread_spin_lock(&vm->invalidated_lock);
	if (list_empty(&vma->invalidated_link))
		list_add_tail(&vma->invalidated_link, &vm->invalidated_list);
	pthread_spin_unlock(&vm->invalidated_lock);
	/* as xe: the wait is inside the write section */
	dma_resv_wait(vm->root->resv, DMA_RESV_USAGE_BOOKKEEP);
	pthread_rwlock_unlock(&vm->userptr_notifier_lock);
	vmb_gate_exit(&vm->notifier_gate);

	if (vmb_bug(BUG_RESV_IN_NOTIFIER) &&
	    dma_resv_lock_timeout(vm->root->resv, VMB_BUG_WAIT_MS)) {
		/* the mistake: queue the rebind right here, under the VM resv */
		if (list_empty(&vma->rebind_link) && !list_empty(&vma->userptr_link))
			list_add_tail(&vma->rebind_link, &vm->rebind_list);
		dma_resv_unlock(vm->root->resv);
	}
	if (vm_locked) {
		pthread_rwlock_unlock(&vm->lock);
		vmb_gate_open(&vm->client_gate);
	}
	return true;
}

/* Userptr VMAs the notifier invalidated since the last repin? */
bool vm_userptr_invalidated(struct gpu_vm *vm)
{
	bool any;

	pthread_spin_lock(&vm->invalidated_lock);
	any = !list_empty(&vm->invalidated_list);
	pthread_spin_unlock(&vm->invalidated_lock);
	return any;
}

/*
 * The repin loop: every userptr VMA the notifier put on the invalidated
 * list gets its pages again and goes on the rebind list.  The walk needs
 * gpu_vm->lock; the list itself is guarded by its spinlock because the
 * notifier adds to it without gpu_vm->lock.
 */
void vm_userptr_repin(struct gpu_vm *vm)
{
	struct gpu_vma *vma;
	unsigned long seq;

	fdep_assert_held(&vm->lock);
	for (;;) {
		pthread_spin_lock(&vm->invalidated_lock);
		if (list_empty(&vm->invalidated_list)) {
			pthread_spin_unlock(&vm->invalidated_lock);
			break;
		}
		vma = list_first_entry(&vm->invalidated_list, struct gpu_vma, invalidated_link);
		list_del_init(&vma->invalidated_link);
		pthread_spin_unlock(&vm->invalidated_lock);

		seq = mmu_interval_read_begin(&vma->notifier);
		if (seq == vma->saved_seq)
			continue;
		mm_get_user_pages(vm->mm, vma->range, vma->pinned);
		dma_resv_lock(vm->root->resv, NULL);
		if (list_empty(&vma->rebind_link))
			list_add_tail(&vma->rebind_link, &vm->rebind_list);
		dma_resv_unlock(vm->root->resv);
		vma->saved_seq = seq;
		atomic_fetch_add(&stat_repins, 1);
	}
}

/* ---- dma-buf ---------------------------------------------------------- */

/* The exporter moved the object (its resv held): the importer's mappings
 * must be revalidated before its next job. */
static void vm_move_notify(struct dma_buf_attachment *attach)
{
	struct gpu_vm *vm = attach->importer;
	struct gpu_vm_bo *vm_bo;
	bool vm_locked = false;

	dma_resv_assert_held(attach->obj->resv);
	if (vmb_bug(BUG_MOVE_NOTIFY_TAKES_VM_LOCK)) {
		/* the mistake; the importer migrates from its own thread, outside
		 * its gpu_vm->lock, so here it does not deadlock */
		pthread_rwlock_wrlock(&vm->lock);
		vm_locked = true;
	}
	list_for_each_entry(vm_bo, &attach->obj->vm_bo_list, obj_link) {
		if (vm_bo->vm == vm)
			vm_bo_mark_evicted(vm_bo);
	}
	if (vm_locked)
		pthread_rwlock_unlock(&vm->lock);
}

const struct dma_buf_attach_ops vm_importer_ops = {
	.move_notify = vm_move_notify,
};

/* An importer asks the exporter to move a shared object (not reclaim). */
void vm_migrate_imported(struct gem_object *obj)
{
	struct drm_exec exec;

	drm_exec_init(&exec);
	while (drm_exec_cleanup(&exec)) {
		if (drm_exec_lock_obj(&exec, obj))
			continue;
	}
	bo_evict(obj);
	drm_exec_fini(&exec);
}
