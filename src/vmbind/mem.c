/*
 * mem.c - the model's page pool: the memory that buffer objects and user
 * pages live in, with a budget.
 *
 * Every page carries a generation that is bumped when the page is freed, so
 * a page-table entry (index, generation) that outlives its page is seen as
 * stale by the GPU without ever touching freed memory.  Allocating beyond
 * the budget enters direct reclaim first: the caller becomes a shrinker and
 * may wait for fences, which is why the allocator must never run where a
 * fence has to signal.
 */
#include <stdlib.h>

#include "vmbind.h"

static struct {
	pthread_mutex_t lock; /* leaf */
	uint32_t *free;
	unsigned nfree;
	unsigned total;
	unsigned budget;
	_Atomic uint32_t *gen;
	atomic_uint in_use;
	atomic_uint evicting; /* in use, but queued to be freed by an eviction job */
} pool;

void mem_init(unsigned total_pages, unsigned budget_pages)
{
	pthread_mutex_init(&pool.lock, NULL);
	fdep_lock_class(&pool.lock, "page_pool->lock", 0);
	pool.total = total_pages;
	pool.budget = budget_pages;
	pool.free = vmb_zalloc(sizeof(*pool.free) * total_pages);
	pool.gen = vmb_zalloc(sizeof(*pool.gen) * total_pages);
	for (unsigned i = 0; i < total_pages; i++)
		pool.free[i] = total_pages - 1 - i;
	pool.nfree = total_pages;
	atomic_init(&pool.in_use, 0);
}

void mem_fini(void)
{
	free(pool.free);
	free((void *)pool.gen);
	pthread_mutex_destroy(&pool.lock);
}

unsigned mem_in_use(void)
{
	return atomic_load(&pool.in_use);
}

/* Pages an eviction job will free count as gone: reclaim does not evict
 * more while the worker catches up. */
bool mem_over_budget(unsigned slack)
{
	return atomic_load(&pool.in_use) - atomic_load(&pool.evicting) + slack > pool.budget;
}

void mem_evicting(int delta)
{
	atomic_fetch_add(&pool.evicting, (unsigned)delta);
}

void mem_alloc_pages(unsigned n, struct pte *out)
{
	unsigned tries = 0;

	fdep_might_alloc();
	if (mem_over_budget(n))
		direct_reclaim();
	pthread_mutex_lock(&pool.lock);
	while (pool.nfree < n) {
		pthread_mutex_unlock(&pool.lock);
		if (++tries > 1000)
			vmb_fatal(1, "page pool exhausted (%u pages in use)", mem_in_use());
		direct_reclaim();
		vmb_sleep_us(100);
		pthread_mutex_lock(&pool.lock);
	}
	for (unsigned i = 0; i < n; i++) {
		uint32_t idx = pool.free[--pool.nfree];

		out[i].idx = idx;
		out[i].gen = atomic_load(&pool.gen[idx]);
	}
	atomic_fetch_add(&pool.in_use, n);
	pthread_mutex_unlock(&pool.lock);
}

void mem_free_pages(unsigned n, struct pte *pages)
{
	pthread_mutex_lock(&pool.lock);
	for (unsigned i = 0; i < n; i++) {
		if (pages[i].idx == PTE_NONE)
			continue;
		atomic_fetch_add(&pool.gen[pages[i].idx], 1);
		pool.free[pool.nfree++] = pages[i].idx;
		atomic_fetch_sub(&pool.in_use, 1);
		pages[i].idx = PTE_NONE;
	}
	pthread_mutex_unlock(&pool.lock);
}

bool mem_page_valid(struct pte p)
{
	return p.idx != PTE_NONE && p.idx < pool.total &&
	       atomic_load_explicit(&pool.gen[p.idx], memory_order_acquire) == p.gen;
}
