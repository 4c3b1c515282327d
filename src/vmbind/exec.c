/*
 * exec.c - the drm_exec transaction and the exec function.
 *
 * drm_exec locks a set of reservation objects under one acquire context:
 * when a lock returns -EDEADLK every lock is dropped, the contended one is
 * slow-locked first and the whole set is locked again.  Duplicates (local
 * objects share the VM's resv) are tolerated.
 *
 * vm_exec() is the final exec function of the locking document: the userptr
 * repin loop under gpu_vm->lock, the VM resv and the external objects
 * locked, evicted gpu_vm_bos revalidated and their VMAs rebound, the job
 * submitted and its fence added to every resv, the final userptr sequence
 * check and the publication made atomic by userptr_notifier_lock.
 */
#include <errno.h>
#include <stdlib.h>

#include "vmbind.h"

#define EXEC_MAX_REBINDS 64

void drm_exec_init(struct drm_exec *e)
{
	ww_acquire_init(&e->ctx);
	e->max = 16;
	e->objs = malloc(sizeof(*e->objs) * e->max);
	if (!e->objs)
		vmb_fatal(1, "out of memory");
	e->num = 0;
	e->contended = NULL;
	e->prelocked = NULL;
	e->first = true;
}

static void drm_exec_track(struct drm_exec *e, struct gem_object *obj)
{
	if (e->num == e->max) {
		struct gem_object **objs = realloc(e->objs, sizeof(*objs) * e->max * 2);

		if (!objs)
			vmb_fatal(1, "out of memory");
		e->objs = objs;
		e->max *= 2;
	}
	e->objs[e->num++] = obj;
}

void drm_exec_unlock_all(struct drm_exec *e)
{
	while (e->num)
		dma_resv_unlock(e->objs[--e->num]->resv);
}

/* The loop condition of drm_exec_until_all_locked(): run the body once,
 * and again after every contention. */
bool drm_exec_cleanup(struct drm_exec *e)
{
	if (e->first) {
		e->first = false;
		return true;
	}
	if (!e->contended) {
		ww_acquire_done(&e->ctx);
		return false;
	}
	drm_exec_unlock_all(e);
	e->prelocked = e->contended;
	e->contended = NULL;
	return true;
}

int drm_exec_lock_obj(struct drm_exec *e, struct gem_object *obj)
{
	int ret;

	if (e->prelocked) {
		struct gem_object *p = e->prelocked;

		e->prelocked = NULL;
		dma_resv_lock_slow(p->resv, &e->ctx);
		drm_exec_track(e, p);
	}
	ret = dma_resv_lock(obj->resv, &e->ctx);
	if (ret == -EALREADY)
		return 0;
	if (ret == -EDEADLK) {
		if (!e->contended)
			e->contended = obj;
		/* The mistake: carry on locking the rest, back off later. */
		if (vmb_bug(BUG_IGNORE_EDEADLK))
			return 0;
		return -EDEADLK;
	}
	drm_exec_track(e, obj);
	return 0;
}

int drm_exec_prepare_obj(struct drm_exec *e, struct gem_object *obj, unsigned fences)
{
	int ret = drm_exec_lock_obj(e, obj);

	if (ret || !fences || !dma_resv_is_locked_by_me(obj->resv))
		return ret;
	return dma_resv_reserve_fences(obj->resv, fences);
}

void drm_exec_fini(struct drm_exec *e)
{
	drm_exec_unlock_all(e);
	ww_acquire_fini(&e->ctx);
	free(e->objs);
}

/*
 * Lock the VM resv, then every external object.  The extobj list is walked
 * with the still_in_list pattern of the document: the list spinlock is
 * dropped around each resv lock, since a resv is a sleeping lock.
 */
static int exec_lock_all(struct drm_exec *e, struct gpu_vm *vm)
{
	struct list_head still;
	struct gpu_vm_bo *vm_bo;
	int ret;

	ret = drm_exec_prepare_obj(e, vm->root, 3);
	if (ret)
		return ret;

	INIT_LIST_HEAD(&still);
	pthread_spin_lock(&vm->list_lock);
	while (!list_empty(&vm->extobj_list)) {
		vm_bo = list_first_entry(&vm->extobj_list, struct gpu_vm_bo, extobj_link);
		list_move_tail(&vm_bo->extobj_link, &still);
		if (vmb_bug(BUG_RESV_UNDER_SPINLOCK)) {
			/* The mistake: a sleeping lock under the list spinlock. */
			ret = drm_exec_lock_obj(e, vm_bo->obj);
			pthread_spin_unlock(&vm->list_lock);
			if (!ret && dma_resv_is_locked_by_me(vm_bo->obj->resv))
				ret = dma_resv_reserve_fences(vm_bo->obj->resv, 2);
			pthread_spin_lock(&vm->list_lock);
		} else {
			pthread_spin_unlock(&vm->list_lock);
			ret = drm_exec_prepare_obj(e, vm_bo->obj, 2);
			pthread_spin_lock(&vm->list_lock);
		}
		if (ret)
			break;
	}
	list_splice_tail_init(&vm->extobj_list, &still);
	list_splice_tail_init(&still, &vm->extobj_list);
	pthread_spin_unlock(&vm->list_lock);
	return ret;
}

/*
 * The gpu_vm_bos of evicted external objects are only flagged by eviction,
 * which does not hold the VM resv; now that it is held they go on the
 * evict list.  Then every evicted object is validated and its VMAs queued
 * for rebinding.
 */
static void exec_revalidate(struct gpu_vm *vm)
{
	struct list_head evicted;
	struct gpu_vm_bo *vm_bo, *next;
	struct gpu_vma *vma;

	dma_resv_assert_held(vm->root->resv);
	INIT_LIST_HEAD(&evicted);
	pthread_spin_lock(&vm->list_lock);
	list_for_each_entry(vm_bo, &vm->extobj_list, extobj_link) {
		if (vm_bo->evicted && list_empty(&vm_bo->evict_link))
			list_add_tail(&vm_bo->evict_link, &vm->evict_list);
	}
	list_splice_tail_init(&vm->evict_list, &evicted);
	pthread_spin_unlock(&vm->list_lock);

	list_for_each_entry_safe(vm_bo, next, &evicted, evict_link) {
		list_del_init(&vm_bo->evict_link);
		bo_validate(vm_bo->obj);
		vm_bo->evicted = false;
		list_for_each_entry(vma, &vm_bo->vmas, bo_link) {
			if (list_empty(&vma->rebind_link))
				list_add_tail(&vma->rebind_link, &vm->rebind_list);
		}
	}
}

/* The mistake of gup-under-resv: faulting user pages in with a resv held. */
static void exec_gup_under_resv(struct gpu_vm *vm)
{
	struct gpu_vma *vma;
	struct pte *tmp;

	if (list_empty(&vm->userptr_list))
		return;
	vma = list_first_entry(&vm->userptr_list, struct gpu_vma, userptr_link);
	tmp = malloc(sizeof(*tmp) * vma->npages);
	if (!tmp)
		vmb_fatal(1, "out of memory");
	mm_get_user_pages(vm->mm, vma->range, tmp);
	free(tmp);
}

static struct sched_job *exec_rebind_job(struct gpu_vm *vma_vm, struct gpu_vma *vma)
{
	const struct pte *src = vma->userptr ? vma->pinned : vma->vm_bo->obj->pages;

	return vm_bind_job_create(vma_vm, vma, src);
}

/* The final check: atomic with publication for the notifier only under
 * userptr_notifier_lock, which is asserted (unlocked-seq-check fails it in
 * every run, not only when a race makes a page stale). */
static bool exec_userptr_stale(struct gpu_vm *vm)
{
	struct gpu_vma *vma;

	fdep_assert_held(&vm->userptr_notifier_lock);

	list_for_each_entry(vma, &vm->userptr_list, userptr_link) {
		if (mmu_interval_read_retry(&vma->notifier, vma->saved_seq))
			return true;
	}
	return false;
}

/*
 * A resumed long-running queue may hold jobs submitted before it was
 * preempted: they must not run before every page-table update queued since
 * (rebinds, unbinds), i.e. the latest fence of the bind timeline.
 */
static struct dma_fence *exec_bind_barrier(struct gpu_vm *vm)
{
	struct dma_fence *f;
	unsigned pos = 0;

	while ((f = dma_resv_next_unsignaled(vm->root->resv, DMA_RESV_USAGE_KERNEL, &pos))) {
		if (f->context == vm->bind_entity.context)
			return f;
		dma_fence_put(f);
	}
	return NULL;
}

int vm_exec(struct gpu_vm *vm, struct dma_fence **out)
{
	/* the rebind jobs, then the exec job, pushed at once */
	struct sched_job *rebinds[EXEC_MAX_REBINDS + 1];
	struct sched_job *job;
	struct dma_fence *pf, *barrier;
	struct drm_exec exec;
	struct gpu_vma *vma;
	void *syncobj_node = NULL;
	unsigned nreb, i;
	bool resume, cookie, locked = !vmb_bug(BUG_UNLOCKED_SEQ_CHECK);
	bool write = false;

	if (vmb_bug(BUG_UNLOCKED_USERPTR_LIST))
		vm_userptr_repin(vm); /* the mistake: before gpu_vm->lock */

	/* As the document: gpu_vm->lock in read mode, in write mode only when
	 * invalidated userptrs must be repinned (so that two revalidations of
	 * one VMA never run at once). */
	pthread_rwlock_rdlock(&vm->lock);
retry:
	if (!write && vm_userptr_invalidated(vm)) {
		pthread_rwlock_unlock(&vm->lock);
		pthread_rwlock_wrlock(&vm->lock);
		write = true;
	}
	if (write)
		vm_userptr_repin(vm);

	drm_exec_init(&exec);
	while (drm_exec_cleanup(&exec)) {
		if (exec_lock_all(&exec, vm) == -EDEADLK)
			continue;
	}

	if (vmb_bug(BUG_GUP_UNDER_RESV))
		exec_gup_under_resv(vm);

	exec_revalidate(vm);

	/* Everything that allocates happens here, before publication. */
	nreb = 0;
	list_for_each_entry(vma, &vm->rebind_list, rebind_link) {
		if (nreb == EXEC_MAX_REBINDS)
			break;
		rebinds[nreb++] = exec_rebind_job(vm, vma);
	}
	job = sched_job_create(JOB_EXEC, &vm->exec_entity, vm);
	for (i = 0; i < exec.num; i++)
		sched_job_add_resv_dependencies(job, exec.objs[i]->resv, DMA_RESV_USAGE_KERNEL);
	for (i = 0; i < nreb; i++)
		sched_job_add_dependency(job, rebinds[i]->finished);
	job->pinned = vm->root;
	atomic_fetch_add(&vm->root->pin_count, 1);

	pf = NULL;
	resume = vm->long_running &&
		 (!vm->preempt_fence || dma_fence_is_signaled(vm->preempt_fence));
	if (resume)
		pf = preempt_fence_create(vm);
	if (!vmb_bug(BUG_ALLOC_UNDER_NOTIFIER_LOCK))
		syncobj_node = malloc(64);

	/* Final userptr check and publication, atomic for the notifier. */
	if (locked)
		pthread_rwlock_rdlock(&vm->userptr_notifier_lock);
	if (exec_userptr_stale(vm)) {
		if (locked)
			pthread_rwlock_unlock(&vm->userptr_notifier_lock);
		for (i = 0; i < nreb; i++)
			sched_job_abandon(rebinds[i]);
		sched_job_abandon(job);
		dma_fence_put(pf);
		free(syncobj_node);
		drm_exec_fini(&exec);
		goto retry;
	}
	if (vmb_bug(BUG_ALLOC_UNDER_NOTIFIER_LOCK))
		syncobj_node = malloc(64); /* the mistake */

	/* every job armed, then pushed: the rebinds first, which the exec job
	 * depends on */
	cookie = fdep_signalling_begin();
	for (i = 0; i < nreb; i++) {
		sched_job_arm(rebinds[i]);
		dma_resv_add_fence(vm->root->resv, rebinds[i]->finished, DMA_RESV_USAGE_KERNEL);
		list_del_init(&rebinds[i]->vma->rebind_link);
	}
	sched_job_arm(job);
	if (!vm->long_running) {
		for (i = 0; i < exec.num; i++)
			dma_resv_add_fence(exec.objs[i]->resv, job->finished,
					   DMA_RESV_USAGE_BOOKKEEP);
	}
	for (i = 0; i < nreb; i++) {
		/* the mistake: the rebind job will wait for this exec job */
		if (vmb_bug(BUG_BIND_EXEC_FENCE_CYCLE))
			rebinds[i]->bug_wait = dma_fence_get(job->finished);
	}
	*out = dma_fence_get(job->finished);
	rebinds[nreb] = job;
	sched_entity_push_jobs(rebinds, nreb + 1);
	if (resume) {
		/* a new preempt fence in every resv, then the queue may run */
		dma_fence_publish(pf);
		for (i = 0; i < exec.num; i++)
			dma_resv_add_fence(exec.objs[i]->resv, pf, DMA_RESV_USAGE_BOOKKEEP);
		fdep_fence_handoff(pf);
		dma_fence_put(vm->preempt_fence);
		vm->preempt_fence = pf;
		barrier = exec_bind_barrier(vm);
		sched_entity_resume(&vm->exec_entity, barrier);
		dma_fence_put(barrier);
	}
	fdep_signalling_end(cookie);
	if (locked)
		pthread_rwlock_unlock(&vm->userptr_notifier_lock);

	drm_exec_fini(&exec);
	pthread_rwlock_unlock(&vm->lock);
	free(syncobj_node);
	return 0;
}

/* Wait until every job of the VM has completed (teardown). */
void vm_idle(struct gpu_vm *vm)
{
	struct dma_fence *f = NULL;

	if (vm->long_running)
		vm_exec(vm, &f); /* resumes a preempted queue */
	sched_entity_wait_idle(&vm->bind_entity);
	sched_entity_wait_idle(&vm->exec_entity);
	if (f) {
		dma_fence_wait(f);
		dma_fence_put(f);
	}
	if (vm->preempt_fence) {
		dma_fence_wait(vm->preempt_fence);
		dma_fence_put(vm->preempt_fence);
		vm->preempt_fence = NULL;
	}
	dma_resv_wait(vm->root->resv, DMA_RESV_USAGE_BOOKKEEP);
}
