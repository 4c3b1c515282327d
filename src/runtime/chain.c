/*
 * chain.c - the chain cache.
 *
 * A chain key hashes the held stack (each entry's class, mode and trylock
 * flag, in order) plus the class being acquired.  A chain that was validated
 * once needs no graph work again while its key is cached: a lookup here is
 * lock-free (readers probe an open-addressing table of keys), and only a
 * miss takes the graph lock.  Inserts happen under graph_lock; a bigger
 * table is built aside and published, the old one is kept (readers may
 * still be probing it).
 *
 * The table is bounded: it grows to CHAIN_SLOTS_MAX slots, and when that
 * one is half full its keys are zeroed in place, under graph_lock, and it
 * fills again with the chains the program takes from then on.  A key is
 * never wrong, only missing: a reader that probes while keys are zeroed
 * finds its key or an empty slot, and a miss only sends the acquisition
 * to the slow path, which validates the chain again (its edges are in the
 * graph already: no new edge, no new finding) and caches it again.  So a
 * program with any number of distinct chains (an acyclic stress, a lock
 * taken under every subset of others) keeps at most the tables up to
 * CHAIN_SLOTS_MAX: 2 x 4 MiB.
 */
#include "runtime.h"

#define CHAIN_SLOTS_MAX (1u << 19)

_Atomic(struct chain_table *) chain_table;
static size_t ncached;        /* keys in the table now */
static size_t nchains;        /* chains validated and cached, ever */

static bool table_put(struct chain_table *t, uint64_t key)
{
	uint64_t i = key & t->mask;

	while (atomic_load_explicit(&t->keys[i], memory_order_relaxed)) {
		if (atomic_load_explicit(&t->keys[i], memory_order_relaxed) == key)
			return false;
		i = (i + 1) & t->mask;
	}
	atomic_store_explicit(&t->keys[i], key, memory_order_release);
	return true;
}

/* The table at its largest and half full: every key goes (graph_lock held). */
static void table_flush(struct chain_table *t)
{
	for (uint64_t i = 0; i <= t->mask; i++)
		atomic_store_explicit(&t->keys[i], 0, memory_order_relaxed);
	ncached = 0;
}

void chain_insert(uint64_t key)
{
	struct chain_table *t = atomic_load_explicit(&chain_table, memory_order_relaxed);

	key = chain_key_nonzero(key);
	if (t && (ncached + 1) * 2 > t->mask + 1 && t->mask + 1 >= CHAIN_SLOTS_MAX)
		table_flush(t);
	if (!t || (ncached + 1) * 2 > t->mask + 1) {
		uint64_t size = t ? (t->mask + 1) * 2 : 256;
		struct chain_table *n = rt_alloc(sizeof(*n) + size * sizeof(uint64_t));
		if (!n)
			return; /* the chain is checked again next time: slower, still right */
		n->mask = size - 1;
		if (t)
			for (uint64_t i = 0; i <= t->mask; i++) {
				uint64_t k = atomic_load_explicit(&t->keys[i], memory_order_relaxed);
				if (k)
					table_put(n, k);
			}
		atomic_store_explicit(&chain_table, n, memory_order_release);
		t = n;
	}
	if (table_put(t, key)) {
		ncached++;
		nchains++;
	}
}

/* Every key goes, whatever the table's size (graph_lock held): classes
 * are about to be freed, whose addresses the keys hash (graph.c). */
void chain_flush(void)
{
	struct chain_table *t = atomic_load_explicit(&chain_table, memory_order_relaxed);

	if (t && ncached)
		table_flush(t);
}

size_t chain_count(void)
{
	return nchains;
}
