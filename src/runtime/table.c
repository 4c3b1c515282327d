/*
 * table.c - growing the runtime's chained hash tables (class names, edges,
 * fences, instance shards).  Each node keeps its chain link next_off bytes
 * in, and hash() gives its bucket before masking; sizes are powers of two.
 */
#include "runtime.h"

void **table_grow(void **buckets, uint64_t *size, uint64_t first_size, size_t next_off,
		  uint64_t (*hash)(const void *node))
{
	uint64_t n = *size ? *size * 2 : first_size;
	void **b = rt_alloc(n * sizeof(*b));

	if (!b)
		return buckets; /* stays as it is: longer chains, still right */
	for (uint64_t i = 0; i < *size; i++) {
		void *node = buckets[i];
		while (node) {
			void **link = (void **)((char *)node + next_off);
			void *next = *link;
			uint64_t k = hash(node) & (n - 1);
			*link = b[k];
			b[k] = node;
			node = next;
		}
	}
	rt_free(buckets, *size * sizeof(*b));
	*size = n;
	return b;
}
