/*
 * mm.c - a simulated core mm: mmap_lock, the pages of user ranges, and the
 * mmu interval notifiers that tell drivers when those pages go away.
 *
 * An invalidation (munmap under mmap_lock, or page-out from reclaim) bumps
 * the range's sequence, runs every notifier callback in the mmu_notifier
 * context, and only then frees the pages.  mmu_interval_read_begin() sleeps
 * while an invalidation runs; a driver that saw seq from read_begin and
 * later finds mmu_interval_read_retry() true must get the pages again.
 *
 * As the kernel's lockdep map __mmu_notifier_invalidate_range_start_map,
 * the mmu_notifier context is held around the callbacks and taken and
 * released by read_begin (which waits for them): whatever read_begin is
 * called under must never be needed by a callback, and a callback must not
 * allocate (reclaim waits for notifiers).  Page-out runs as reclaim too
 * (its allocations would not recurse); munmap does not.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "vmbind.h"

/* the mmu_notifier context's identity for the checker */
static char mmu_notifier_map;

void mm_init(struct mm_struct *mm, unsigned nranges, unsigned pages_per_range)
{
	pthread_rwlockattr_t attr;

	/* an rwsem: a waiting writer blocks new readers */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&mm->mmap_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	fdep_lock_class(&mm->mmap_lock, "mmap_lock", 0);

	mm->nranges = nranges;
	mm->ranges = vmb_zalloc(sizeof(*mm->ranges) * nranges);
	for (unsigned i = 0; i < nranges; i++) {
		struct mm_range *r = &mm->ranges[i];

		pthread_mutex_init(&r->lock, NULL);
		fdep_lock_class(&r->lock, "mm_range->lock", 0);
		pthread_cond_init(&r->cond, NULL);
		fdep_lock_class(&r->cond, "mm_range->cond", 0);
		r->seq = 2;
		INIT_LIST_HEAD(&r->notifiers);
		r->npages = pages_per_range;
		r->pages = vmb_zalloc(sizeof(*r->pages) * pages_per_range);
		for (unsigned p = 0; p < pages_per_range; p++)
			r->pages[p].idx = PTE_NONE;
	}
}

void mm_fini(struct mm_struct *mm)
{
	for (unsigned i = 0; i < mm->nranges; i++) {
		struct mm_range *r = &mm->ranges[i];

		mem_free_pages(r->npages, r->pages);
		free(r->pages);
		pthread_cond_destroy(&r->cond);
		pthread_mutex_destroy(&r->lock);
	}
	free(mm->ranges);
	pthread_rwlock_destroy(&mm->mmap_lock);
}

static void range_wait_idle(struct mm_range *r)
{
	while (r->invalidating)
		pthread_cond_wait(&r->cond, &r->lock);
}

void mmu_interval_notifier_insert(struct mmu_interval_notifier *sub, struct mm_range *range,
				  const struct mmu_interval_notifier_ops *ops)
{
	sub->range = range;
	sub->ops = ops;
	pthread_mutex_lock(&range->lock);
	range_wait_idle(range);
	atomic_store(&sub->invalidate_seq, range->seq);
	list_add_tail(&sub->link, &range->notifiers);
	pthread_mutex_unlock(&range->lock);
}

/* Waits for a running invalidation: afterwards no callback can run. */
void mmu_interval_notifier_remove(struct mmu_interval_notifier *sub)
{
	struct mm_range *range = sub->range;

	pthread_mutex_lock(&range->lock);
	range_wait_idle(range);
	list_del_init(&sub->link);
	pthread_mutex_unlock(&range->lock);
}

unsigned long mmu_interval_read_begin(struct mmu_interval_notifier *sub)
{
	struct mm_range *range = sub->range;
	unsigned long seq;

	/* it waits for running invalidations: a wait on the notifier context */
	fdep_acquire(&mmu_notifier_map, "mmu_notifier", 0);
	fdep_release(&mmu_notifier_map);
	pthread_mutex_lock(&range->lock);
	range_wait_idle(range);
	seq = atomic_load(&sub->invalidate_seq);
	pthread_mutex_unlock(&range->lock);
	return seq;
}

unsigned long mmu_interval_read_begin_timeout(struct mmu_interval_notifier *sub, unsigned ms)
{
	struct mm_range *range = sub->range;
	struct timespec ts;
	unsigned long seq;

	fdep_acquire(&mmu_notifier_map, "mmu_notifier", 0);
	fdep_release(&mmu_notifier_map);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += (long)ms * 1000000L;
	while (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&range->lock);
	while (range->invalidating &&
	       pthread_cond_timedwait(&range->cond, &range->lock, &ts) != ETIMEDOUT)
		;
	seq = atomic_load(&sub->invalidate_seq);
	pthread_mutex_unlock(&range->lock);
	return seq;
}

bool mmu_interval_read_retry(struct mmu_interval_notifier *sub, unsigned long seq)
{
	return atomic_load(&sub->invalidate_seq) != seq;
}

void mmu_interval_set_seq(struct mmu_interval_notifier *sub, unsigned long cur_seq)
{
	atomic_store(&sub->invalidate_seq, cur_seq);
}

static void mm_invalidate(struct mm_range *range, bool reclaim)
{
	struct mmu_interval_notifier *sub;
	unsigned long cur;

	pthread_mutex_lock(&range->lock);
	range_wait_idle(range);
	range->invalidating = true;
	range->seq += 2;
	cur = range->seq;
	pthread_mutex_unlock(&range->lock);

	/* The notifier list is stable: insert and remove wait for us. */
	if (reclaim)
		fdep_reclaim_begin();
	fdep_acquire(&mmu_notifier_map, "mmu_notifier", 0);
	list_for_each_entry(sub, &range->notifiers, link)
		sub->ops->invalidate(sub, cur);
	fdep_release(&mmu_notifier_map);
	if (reclaim)
		fdep_reclaim_end();

	pthread_mutex_lock(&range->lock);
	mem_free_pages(range->npages, range->pages);
	range->invalidating = false;
	pthread_cond_broadcast(&range->cond);
	pthread_mutex_unlock(&range->lock);
	atomic_fetch_add(&stat_invalidations, 1);
}

void mm_munmap(struct mm_struct *mm, struct mm_range *range)
{
	pthread_rwlock_wrlock(&mm->mmap_lock);
	mm_invalidate(range, false);
	pthread_rwlock_unlock(&mm->mmap_lock);
}

void mm_page_out(struct mm_struct *mm, struct mm_range *range)
{
	(void)mm;
	mm_invalidate(range, true);
}

/* Fault the range in and report its pages; the caller checks the notifier
 * sequence to know whether they are still current. */
void mm_get_user_pages(struct mm_struct *mm, struct mm_range *range, struct pte *out)
{
	pthread_rwlock_rdlock(&mm->mmap_lock);
	for (unsigned i = 0; i < range->npages; i++) {
		struct pte fresh;
		bool present;

		pthread_mutex_lock(&range->lock);
		present = range->pages[i].idx != PTE_NONE;
		if (present)
			out[i] = range->pages[i];
		pthread_mutex_unlock(&range->lock);
		if (present)
			continue;
		/* a fault: the page is allocated with no lock of the range held */
		mem_alloc_pages(1, &fresh);
		pthread_mutex_lock(&range->lock);
		if (range->pages[i].idx == PTE_NONE) {
			range->pages[i] = fresh;
			fresh.idx = PTE_NONE;
		}
		out[i] = range->pages[i];
		pthread_mutex_unlock(&range->lock);
		if (fresh.idx != PTE_NONE)
			mem_free_pages(1, &fresh); /* another fault was first */
	}
	pthread_rwlock_unlock(&mm->mmap_lock);
}
