/*
 * sched.c - a drm_sched-like scheduler: one thread that takes jobs from
 * entities (per-VM queues) once their dependencies have signalled, runs
 * them (hands them to the GPU ring), frees finished jobs, and watches for
 * timeouts.
 *
 * A job is built in steps, as drm_sched's: init allocates the scheduler
 * fence and the hardware fence, dependencies are added (allocating), then
 * arm gives the fence its sequence number and publishes it (the point of
 * no return) and push queues it.  From arm on nothing may allocate; run_job
 * is a signalling path, so its hardware fence was allocated at init.
 *
 * As the kernel annotates drm_sched, the whole main loop (picking a job,
 * freeing finished ones, run_job) and the timeout handler are signalling
 * sections.  Fence callbacks run in atomic context: the ones here never take
 * the scheduler's mutex; finished jobs go on a lock-free list and the
 * scheduler is kicked.
 *
 * Each queue has its fence class (exec_fence, bind_fence; eviction and
 * preempt fences have theirs), so that a wait between queues is checked.
 * Two documented orders are primed: waiting for any fence under a resv is
 * allowed (dma-fence.c), so nothing that signals one may take a resv; and
 * an exec job waits for the bind jobs that map its memory
 * (drm-vm-bind-async.rst), so no bind job may wait for an exec fence.
 */
#include <errno.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmbind.h"

#define SCHED_TIMEOUT_US 5000000ull

atomic_ullong sched_timeouts;

static struct {
	pthread_mutex_t lock; /* queues; never held while allocating or waiting */
	sem_t wake;           /* posted by sched_kick() */
	struct list_head entities;
	struct list_head running;
	_Atomic(struct sched_job *) done; /* pushed by fence callbacks */
	atomic_bool kick;                 /* a new look was asked for since the last */
	bool stop;
	pthread_t thread;
	uint64_t hw_context;
} sched;

static atomic_ullong job_ids = 1;

static void sched_fence_release(struct dma_fence *f)
{
	free(container_of(f, struct sched_fence, base));
}

/* per job kind: the exec queue's fences, and the bind queue's */
static const struct dma_fence_ops sched_fence_ops[] = {
	[JOB_EXEC] = { .name = "sched_fence", .fence_class = "exec_fence",
		       .release = sched_fence_release },
	[JOB_BIND] = { .name = "sched_fence", .fence_class = "bind_fence",
		       .release = sched_fence_release },
	[JOB_UNBIND] = { .name = "sched_fence", .fence_class = "bind_fence",
			 .release = sched_fence_release },
	[JOB_CLEAR] = { .name = "sched_fence", .fence_class = "bind_fence",
			.release = sched_fence_release },
};

static const struct dma_fence_ops hw_fence_ops[] = {
	[JOB_EXEC] = { .name = "hw_fence", .fence_class = "exec_fence" },
	[JOB_BIND] = { .name = "hw_fence", .fence_class = "bind_fence" },
	[JOB_UNBIND] = { .name = "hw_fence", .fence_class = "bind_fence" },
	[JOB_CLEAR] = { .name = "hw_fence", .fence_class = "bind_fence" },
};

/* Wake the scheduler from any context: no lock, so a fence callback may.
 * One post per look asked for, so the scheduler never misses one. */
static void sched_kick(void)
{
	if (!atomic_exchange(&sched.kick, true))
		sem_post(&sched.wake);
}

void sched_entity_init(struct sched_entity *e)
{
	INIT_LIST_HEAD(&e->queue);
	e->suspended = false;
	e->barrier = NULL;
	atomic_init(&e->queued, 0);
	e->context = dma_fence_context_alloc(1);
	atomic_init(&e->seqno, 0);
	pthread_mutex_lock(&sched.lock);
	list_add_tail(&e->link, &sched.entities);
	pthread_mutex_unlock(&sched.lock);
}

struct sched_job *sched_job_create(enum job_kind kind, struct sched_entity *e, struct gpu_vm *vm)
{
	struct sched_job *job = vmb_zalloc(sizeof(*job));
	struct sched_fence *sf = vmb_zalloc(sizeof(*sf));

	job->kind = kind;
	job->entity = e;
	job->vm = vm;
	job->id = atomic_fetch_add(&job_ids, 1);
	dma_fence_init(&sf->base, &sched_fence_ops[kind], e->context, 0);
	job->finished = &sf->base;
	/* run_job must not allocate: its hardware fence is made here */
	job->hw = vmb_zalloc(sizeof(*job->hw));
	/* a few dependencies in the job itself, more in an array that
	 * sched_job_add_dependency() allocates */
	job->maxdeps = sizeof(job->deps_inline) / sizeof(job->deps_inline[0]);
	job->deps = job->deps_inline;
	INIT_LIST_HEAD(&job->link);
	return job;
}

void sched_job_add_dependency(struct sched_job *job, struct dma_fence *f)
{
	fdep_might_alloc();
	if (dma_fence_is_signaled(f))
		return;
	for (unsigned i = 0; i < job->ndeps; i++) {
		if (job->deps[i] == f)
			return;
	}
	if (job->ndeps == job->maxdeps) {
		bool inl = job->deps == job->deps_inline;
		struct dma_fence **deps = realloc(inl ? NULL : job->deps,
						  sizeof(*deps) * job->maxdeps * 2);

		if (!deps)
			vmb_fatal(1, "out of memory");
		if (inl)
			memcpy(deps, job->deps_inline, sizeof(job->deps_inline));
		job->deps = deps;
		job->maxdeps *= 2;
	}
	job->deps[job->ndeps++] = dma_fence_get(f);
}

void sched_job_add_resv_dependencies(struct sched_job *job, struct dma_resv *r,
				     enum dma_resv_usage usage)
{
	struct dma_fence *f;
	unsigned pos = 0;

	while ((f = dma_resv_next_unsignaled(r, usage, &pos))) {
		sched_job_add_dependency(job, f);
		dma_fence_put(f);
	}
}

/* The point of no return: the fence gets its place on the timeline and
 * becomes visible; the caller is on its signalling path until push. */
void sched_job_arm(struct sched_job *job)
{
	job->finished->seqno = atomic_fetch_add(&job->entity->seqno, 1) + 1;
	job->armed = true;
	dma_fence_publish(job->finished);
}

/* Queue armed jobs in order (each on its entity), with one visit of the
 * scheduler's lock and one kick for all. */
void sched_entity_push_jobs(struct sched_job *const *jobs, unsigned n)
{
	pthread_mutex_lock(&sched.lock);
	for (unsigned i = 0; i < n; i++) {
		struct sched_job *job = jobs[i];

		list_add_tail(&job->link, &job->entity->queue);
		atomic_fetch_add(&job->entity->queued, 1);
		fdep_fence_handoff(job->finished);
	}
	sched_kick();
	pthread_mutex_unlock(&sched.lock);
}

void sched_entity_push_job(struct sched_job *job)
{
	sched_entity_push_jobs(&job, 1);
}

static void sched_job_free(struct sched_job *job)
{
	for (unsigned i = 0; i < job->ndeps; i++)
		dma_fence_put(job->deps[i]);
	if (job->deps != job->deps_inline)
		free(job->deps);
	if (job->hw && job->hw->ops)
		dma_fence_put(job->hw);
	else
		free(job->hw);
	dma_fence_put(job->finished);
	dma_fence_put(job->bug_wait);
	free(job->ptes);
	if (job->vma)
		vma_put(job->vma);
	if (job->pinned && !job->armed)
		atomic_fetch_sub(&job->pinned->pin_count, 1);
	free(job);
}

/* A job that was built but never armed (the exec function retried). */
void sched_job_abandon(struct sched_job *job)
{
	sched_job_free(job);
}

void sched_entity_suspend(struct sched_entity *e)
{
	pthread_mutex_lock(&sched.lock);
	e->suspended = true;
	pthread_mutex_unlock(&sched.lock);
}

void sched_entity_resume(struct sched_entity *e, struct dma_fence *barrier)
{
	struct dma_fence *old;

	pthread_mutex_lock(&sched.lock);
	e->suspended = false;
	old = e->barrier;
	e->barrier = dma_fence_get(barrier);
	sched_kick();
	pthread_mutex_unlock(&sched.lock);
	dma_fence_put(old);
}

unsigned sched_entity_queued(struct sched_entity *e)
{
	return atomic_load(&e->queued);
}

/* Teardown: the count drops in fence callbacks, which kick without the
 * mutex, so look again every millisecond. */
void sched_entity_wait_idle(struct sched_entity *e)
{
	while (atomic_load(&e->queued))
		vmb_sleep_us(1000);
}

/* A fence callback: atomic context. */
static void sched_dep_signaled(struct dma_fence *f, struct dma_fence_cb *cb)
{
	(void)f;
	(void)cb;
	if (vmb_bug(BUG_MUTEX_IN_FENCE_CALLBACK)) {
		/* the mistake: a sleeping lock in atomic context */
		pthread_mutex_lock(&sched.lock);
		sched_kick();
		pthread_mutex_unlock(&sched.lock);
		return;
	}
	sched_kick();
}

/* sched.lock held.  A job may run once its dependencies have signalled;
 * for the first one that has not, a callback wakes us later. */
static bool sched_job_ready(struct sched_job *job)
{
	while (job->dep_idx < job->ndeps) {
		struct dma_fence *f = job->deps[job->dep_idx];

		if (dma_fence_is_signaled(f)) {
			job->dep_idx++;
			continue;
		}
		if (job->dep_waiting != f) {
			job->dep_waiting = f;
			if (dma_fence_add_callback(f, &job->dep_cb, sched_dep_signaled)) {
				job->dep_idx++;
				continue;
			}
		}
		return false;
	}
	return true;
}

static struct sched_job *sched_pick(void)
{
	struct sched_entity *e;

	list_for_each_entry(e, &sched.entities, link) {
		struct sched_job *job;

		if (list_empty(&e->queue) || e->suspended)
			continue;
		if (e->barrier) {
			if (!dma_fence_is_signaled(e->barrier))
				continue;
			dma_fence_put(e->barrier);
			e->barrier = NULL;
		}
		job = list_first_entry(&e->queue, struct sched_job, link);
		if (!sched_job_ready(job))
			continue;
		list_del_init(&job->link);
		/* counted from here, so a preemption that suspends the entity
		 * also waits for a job picked but not yet on the ring */
		if (job->kind == JOB_EXEC)
			atomic_fetch_add(&job->vm->gpu_running, 1);
		/* round robin: this entity goes to the back */
		list_del_init(&e->link);
		list_add_tail(&e->link, &sched.entities);
		return job;
	}
	return NULL;
}

/* The hardware fence's callback: atomic context. */
static void sched_hw_done(struct dma_fence *f, struct dma_fence_cb *cb)
{
	struct sched_job *job = container_of(cb, struct sched_job, hw_cb);

	(void)f;
	dma_fence_signal(job->finished);
	sched_job_done(job);
}

/* Atomic context: the job goes on the lock-free done list; the scheduler
 * takes it off its running list and frees it. */
void sched_job_done(struct sched_job *job)
{
	struct sched_entity *e = job->entity;
	struct sched_job *head = atomic_load(&sched.done);

	do
		job->done_next = head;
	while (!atomic_compare_exchange_weak(&sched.done, &head, job));
	atomic_fetch_sub(&e->queued, 1);
	sched_kick();
}

/*
 * run_job: a signalling path.  It takes the hardware fence made at init,
 * publishes it and hands the job to the GPU ring.
 */
static void sched_run_job(struct sched_job *job)
{
	struct dma_fence *hw = job->hw;
	bool cookie;

	fdep_fence_adopt(job->finished);
	cookie = fdep_signalling_begin();

	if (job->bug_wait) {
		/* the mistake: a bind job waits for the exec job that depends on
		 * it (given up after a while: the deadlock is real) */
		dma_fence_wait_timeout(job->bug_wait, VMB_BUG_WAIT_MS);
	}
	if (vmb_bug(BUG_READ_BEGIN_IN_RUN_JOB) && job->kind == JOB_BIND && job->vma &&
	    job->vma->userptr) {
		/* the mistake: re-reading the userptr sequence from the job; it
		 * waits for invalidations, which wait for this job's fence */
		mmu_interval_read_begin_timeout(&job->vma->notifier, VMB_BUG_WAIT_MS);
	}

	if (vmb_bug(BUG_ALLOC_IN_RUN_JOB)) {
		/* the mistake: the hardware fence allocated here */
		free(job->hw);
		hw = job->hw = malloc(sizeof(*hw));
		if (!hw)
			vmb_fatal(1, "out of memory");
	}
	if (job->pinned) {
		/* the batch buffer stays pinned until the job runs */
		if (vmb_bug(BUG_RESV_IN_RUN_JOB) &&
		    dma_resv_lock_timeout(job->pinned->resv, VMB_BUG_WAIT_MS)) {
			atomic_fetch_sub(&job->pinned->pin_count, 1);
			dma_resv_unlock(job->pinned->resv); /* the mistake */
		} else {
			atomic_fetch_sub(&job->pinned->pin_count, 1);
		}
		job->pinned = NULL;
	}
	if (vmb_bug(BUG_NOTIFIER_LOCK_IN_RUN_JOB) && job->kind == JOB_BIND &&
	    vmb_gate_close(&job->vm->notifier_gate)) {
		/* the mistake: re-checking the userptr sequence from the job */
		pthread_rwlock_rdlock(&job->vm->userptr_notifier_lock);
		pthread_rwlock_unlock(&job->vm->userptr_notifier_lock);
		vmb_gate_open(&job->vm->notifier_gate);
	}

	dma_fence_init(hw, &hw_fence_ops[job->kind], sched.hw_context, job->id);
	dma_fence_publish(hw);
	if (dma_fence_add_callback(hw, &job->hw_cb, sched_hw_done))
		sched_hw_done(hw, &job->hw_cb);
	job->pushed_us = vmb_now_us();
	gpu_submit(job);
	fdep_signalling_end(cookie);
}

/* The timeout handler: a signalling section of its own, as the kernel's
 * (the jobs it would reset must still signal). */
static void sched_timedout_job(struct sched_job *job)
{
	bool cookie = fdep_signalling_begin();

	atomic_fetch_add(&sched_timeouts, 1);
	fprintf(stderr, "vmbind-stress: job %llu of vm %d timed out\n",
		(unsigned long long)job->id, job->vm ? job->vm->id : -1);
	job->pushed_us = vmb_now_us();
	fdep_signalling_end(cookie);
}

/* sched.lock held: free the jobs that finished (free_job), all taken off
 * the running list first, the lock dropped around their freeing. */
static void sched_free_done(void)
{
	struct sched_job *job = atomic_exchange(&sched.done, NULL);

	if (!job)
		return;
	for (struct sched_job *j = job; j; j = j->done_next)
		list_del_init(&j->link); /* off the running list */
	pthread_mutex_unlock(&sched.lock);
	while (job) {
		struct sched_job *next = job->done_next;

		sched_job_free(job);
		job = next;
	}
	pthread_mutex_lock(&sched.lock);
}

static void *sched_main(void *arg)
{
	/* the whole main loop signals fences: a signalling section */
	bool cookie = fdep_signalling_begin();

	(void)arg;
	pthread_mutex_lock(&sched.lock);
	while (!sched.stop) {
		struct sched_job *job;
		struct timespec ts;

		atomic_store(&sched.kick, false);
		sched_free_done();
		if (!list_empty(&sched.running)) {
			job = list_first_entry(&sched.running, struct sched_job, link);
			if (vmb_now_us() - job->pushed_us > SCHED_TIMEOUT_US)
				sched_timedout_job(job);
		}
		job = sched_pick();
		if (job) {
			void *trace = NULL;

			list_add_tail(&job->link, &sched.running);
			pthread_mutex_unlock(&sched.lock);
			if (vmb_bug(BUG_ALLOC_IN_SCHED_MAIN)) {
				/* the mistake: a trace record allocated for the job */
				trace = malloc(64);
				if (!trace)
					vmb_fatal(1, "out of memory");
			}
			sched_run_job(job);
			free(trace);
			pthread_mutex_lock(&sched.lock);
			continue;
		}
		if (atomic_load(&sched.kick))
			continue;
		/* asleep until kicked, or until the next look for timeouts */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10000000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_mutex_unlock(&sched.lock);
		while (sem_timedwait(&sched.wake, &ts) && errno == EINTR)
			;
		pthread_mutex_lock(&sched.lock);
	}
	pthread_mutex_unlock(&sched.lock);
	fdep_signalling_end(cookie);
	return NULL;
}

void sched_init(void)
{
	pthread_mutex_init(&sched.lock, NULL);
	fdep_lock_class(&sched.lock, "drm_sched->lock", 0);
	sem_init(&sched.wake, 0, 0);
	INIT_LIST_HEAD(&sched.entities);
	INIT_LIST_HEAD(&sched.running);
	atomic_init(&sched.done, NULL);
	atomic_init(&sched.kick, false);
	sched.hw_context = dma_fence_context_alloc(1);
	/* the documented orders of the fence classes (see the top) */
	fdep_prime("exec_fence", "bind_fence");
	fdep_prime("reservation_ww_class", "exec_fence");
	fdep_prime("reservation_ww_class", "bind_fence");
	fdep_prime("reservation_ww_class", "evict_fence");
	fdep_prime("reservation_ww_class", "preempt_fence");
	sched.stop = false;
	if (pthread_create(&sched.thread, NULL, sched_main, NULL))
		vmb_fatal(1, "cannot start the scheduler thread");
}

void sched_fini(void)
{
	pthread_mutex_lock(&sched.lock);
	sched.stop = true;
	sched_kick();
	pthread_mutex_unlock(&sched.lock);
	pthread_join(sched.thread, NULL);
	/* every job has finished: the GPU is idle */
	pthread_mutex_lock(&sched.lock);
	sched_free_done();
	pthread_mutex_unlock(&sched.lock);
}
