/*
 * gpu.c - the simulated GPU: one thread that executes the jobs of its ring
 * in order and signals their hardware fences.
 *
 * Bind and unbind jobs write the VM's page table (only this thread touches
 * it).  An exec job reads every page its VM mapped when it was submitted; a page that was freed
 * since it was mapped (an invalidated userptr page, an evicted buffer) is a
 * locking bug in the driver, and the model stops with a stale-page error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "vmbind.h"

atomic_ullong gpu_jobs_run;

static struct {
	pthread_mutex_t lock; /* the ring; a leaf */
	/* the GPU thread sleeps on ring_cond while the ring is empty
	 * (ring_sleeping, lock); preemptions sleep on idle_cond for a VM's
	 * jobs to leave it: each side is woken only when it sleeps */
	pthread_cond_t ring_cond;
	pthread_cond_t idle_cond;
	struct list_head ring;
	bool ring_sleeping;
	/* preemptions asleep or about to be: counted before they look at
	 * gpu_running, so the GPU thread, which drops gpu_running before it
	 * reads this, either sees them or is seen by them (seq_cst) */
	atomic_uint idle_waiters;
	bool stop;
	pthread_t thread;
} gpu;

void gpu_submit(struct sched_job *job)
{
	pthread_mutex_lock(&gpu.lock);
	list_add_tail(&job->gpu_link, &gpu.ring);
	/* the GPU owns the job now: the scheduler leaves its path */
	fdep_fence_handoff(job->hw);
	fdep_fence_handoff(job->finished);
	if (gpu.ring_sleeping)
		pthread_cond_signal(&gpu.ring_cond);
	pthread_mutex_unlock(&gpu.lock);
}

/* Wait until no exec job of vm is in the ring or running (preemption). */
void gpu_wait_vm_idle(struct gpu_vm *vm)
{
	pthread_mutex_lock(&gpu.lock);
	for (;;) {
		atomic_fetch_add(&gpu.idle_waiters, 1);
		if (!atomic_load(&vm->gpu_running)) {
			atomic_fetch_sub(&gpu.idle_waiters, 1);
			break;
		}
		pthread_cond_wait(&gpu.idle_cond, &gpu.lock);
		atomic_fetch_sub(&gpu.idle_waiters, 1);
	}
	pthread_mutex_unlock(&gpu.lock);
}

/* An exec job of vm left the GPU: wake the preemptions waiting for that,
 * if any (the mutex only when there are: a preemption is rare, an exec
 * job is not). */
static void gpu_exec_done(struct gpu_vm *vm)
{
	atomic_fetch_sub(&vm->gpu_running, 1);
	if (atomic_load(&gpu.idle_waiters)) {
		pthread_mutex_lock(&gpu.lock);
		pthread_cond_broadcast(&gpu.idle_cond);
		pthread_mutex_unlock(&gpu.lock);
	}
}

static void gpu_stale(struct sched_job *job, struct gpu_vma *vma, unsigned page)
{
	fflush(stdout);
	fprintf(stderr,
		"vmbind-stress: stale page: job %llu of vm %d read page %u of a %s mapping "
		"whose memory was %s\n",
		(unsigned long long)job->id, job->vm->id, page, vma->userptr ? "userptr" : "bo",
		vma->userptr ? "invalidated" : "evicted");
	_exit(3);
}

static void gpu_exec(struct sched_job *job)
{
	struct gpu_vm *vm = job->vm;
	struct gpu_vma *vma;

	switch (job->kind) {
	case JOB_BIND:
		for (unsigned i = 0; i < job->nptes; i++)
			job->vma->gpu_ptes[i] = job->ptes[i];
		if (!job->vma->gpu_mapped) {
			list_add_tail(&job->vma->gpu_link, &vm->gpu_mapped);
			job->vma->gpu_mapped = true;
		}
		break;
	case JOB_UNBIND:
		if (job->vma->gpu_mapped) {
			list_del_init(&job->vma->gpu_link);
			job->vma->gpu_mapped = false;
		}
		break;
	case JOB_EXEC:
		list_for_each_entry(vma, &vm->gpu_mapped, gpu_link) {
			/* bound after this job was submitted: not its business */
			if (job->finished->seqno < vma->first_exec)
				continue;
			for (unsigned i = 0; i < vma->npages; i++) {
				if (!mem_page_valid(vma->gpu_ptes[i]))
					gpu_stale(job, vma, i);
			}
		}
		break;
	case JOB_CLEAR:
		break;
	}
}

/* The GPU thread takes every job in the ring at once (one visit of the
 * ring's lock for all that the scheduler queued meanwhile) and runs them in
 * order, as a ring is consumed. */
static void *gpu_main(void *arg)
{
	struct list_head batch;

	(void)arg;
	INIT_LIST_HEAD(&batch);
	pthread_mutex_lock(&gpu.lock);
	for (;;) {
		while (list_empty(&gpu.ring) && !gpu.stop) {
			gpu.ring_sleeping = true;
			pthread_cond_wait(&gpu.ring_cond, &gpu.lock);
			gpu.ring_sleeping = false;
		}
		if (list_empty(&gpu.ring))
			break;
		list_splice_tail_init(&gpu.ring, &batch);
		pthread_mutex_unlock(&gpu.lock);

		while (!list_empty(&batch)) {
			struct sched_job *job = list_first_entry(&batch, struct sched_job, gpu_link);
			struct dma_fence *hw;

			list_del_init(&job->gpu_link);
			hw = dma_fence_get(job->hw);
			fdep_fence_adopt(hw);
			fdep_fence_adopt(job->finished);
			gpu_exec(job);
			if (job->kind == JOB_EXEC)
				gpu_exec_done(job->vm);
			atomic_fetch_add(&gpu_jobs_run, 1);
			dma_fence_signal(hw); /* its callback signals the job's fence */
			dma_fence_put(hw);
		}
		pthread_mutex_lock(&gpu.lock);
	}
	pthread_mutex_unlock(&gpu.lock);
	return NULL;
}

void gpu_init(void)
{
	pthread_mutex_init(&gpu.lock, NULL);
	fdep_lock_class(&gpu.lock, "gpu->ring_lock", 0);
	pthread_cond_init(&gpu.ring_cond, NULL);
	pthread_cond_init(&gpu.idle_cond, NULL);
	atomic_init(&gpu.idle_waiters, 0);
	INIT_LIST_HEAD(&gpu.ring);
	gpu.stop = false;
	if (pthread_create(&gpu.thread, NULL, gpu_main, NULL))
		vmb_fatal(1, "cannot start the GPU thread");
}

void gpu_fini(void)
{
	pthread_mutex_lock(&gpu.lock);
	gpu.stop = true;
	pthread_cond_signal(&gpu.ring_cond);
	pthread_mutex_unlock(&gpu.lock);
	pthread_join(gpu.thread, NULL);
}
