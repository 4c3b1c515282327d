/*
 * held-free - the memory of a lock goes away while the lock is held.
 *
 *   held-free free      a malloc'd struct holding a locked mutex is freed
 *   held-free destroy   a locked mutex is destroyed
 *   held-free clean     unlock, destroy, then free
 *   held-free deep      a locked mutex 3 KiB into a freed block
 *   held-free big       a locked mutex 40 KiB into a freed block
 *   held-free edge      locked mutexes in the last bytes of freed blocks
 *                       of sizes around the free window (64 lines from
 *                       the first line of a block): one finding each
 *   held-free near      blocks around a locked heap mutex are freed or
 *                       reallocated, the mutex's own block freed only once
 *                       it is unlocked (clean)
 *   held-free realloc   a locked mutex in the last bytes of a 3000-byte
 *                       block that realloc() moves, then of one that it
 *                       shrinks: one finding each
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *volatile kept;

struct node {
	int key;
	pthread_mutex_t lock;
	struct node *next;
};

/* A locked mutex `at` bytes into a block of `size`, then the block freed;
 * with `fence`, a block after it is kept, so that no later block takes
 * the same memory (where a mutex the free missed would be reported, late,
 * as initialised while held). */
static void free_at_fenced(size_t size, size_t at, bool fence)
{
	char *block = malloc(size);
	pthread_mutex_t *m = (pthread_mutex_t *)(block + at);

	pthread_mutex_init(m, NULL);
	pthread_mutex_lock(m);
	if (fence)
		kept = malloc(16);
	free(block);
}

static void free_at(size_t size, size_t at)
{
	free_at_fenced(size, at, false);
}

/* Small blocks on both sides of a locked heap mutex come and go. */
static void free_near(void)
{
	char *small[64];
	pthread_mutex_t *m = malloc(sizeof(*m));

	for (int i = 0; i < 32; i++)
		small[i] = malloc(16 + (size_t)i * 16);
	pthread_mutex_init(m, NULL);
	pthread_mutex_lock(m);
	for (int i = 32; i < 64; i++)
		small[i] = malloc(16 + (size_t)(i - 32) * 48);
	for (int i = 0; i < 64; i += 2)
		small[i] = realloc(small[i], i % 4 ? 8 : 600);
	for (int i = 0; i < 64; i++)
		free(small[i]);
	pthread_mutex_unlock(m);
	pthread_mutex_destroy(m);
	free(m);
}

int main(int argc, char **argv)
{
	const char *mode = argc == 2 ? argv[1] : "";

	if (!strcmp(mode, "deep") || !strcmp(mode, "big")) {
		if (!strcmp(mode, "deep"))
			free_at(3000, 2944);
		else
			free_at(48 * 1024, 40 * 1024);
		puts("done");
		return 0;
	}
	if (!strcmp(mode, "edge")) {
		/* blocks that free() may decide from their first line's
		 * window (glibc's size word below 4032: 4008 bytes is the
		 * largest), the first that it may not, and one whose last
		 * bytes are past the window */
		static const size_t sizes[] = { 3960, 4008, 4020, 4200 };
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
			free_at_fenced(sizes[i], (sizes[i] - sizeof(pthread_mutex_t)) & ~(size_t)15,
				       true);
		puts("done");
		return 0;
	}
	if (!strcmp(mode, "realloc")) {
		enum { SIZE = 3000, AT = (SIZE - sizeof(pthread_mutex_t)) & ~15 };
		char *block = malloc(SIZE);
		pthread_mutex_t *m = (pthread_mutex_t *)(block + AT);
		pthread_mutex_init(m, NULL);
		pthread_mutex_lock(m);
		kept = malloc(16); /* the block cannot grow in place */
		char *moved = realloc(block, 3 * SIZE);
		if (moved == block) {
			fprintf(stderr, "held-free: realloc did not move the block\n");
			return 3;
		}
		block = malloc(SIZE);
		m = (pthread_mutex_t *)(block + AT);
		pthread_mutex_init(m, NULL);
		pthread_mutex_lock(m);
		kept = malloc(16);
		block = realloc(block, 100);
		puts("done");
		return 0;
	}
	if (!strcmp(mode, "near")) {
		free_near();
		puts("done");
		return 0;
	}
	struct node *n = malloc(sizeof(*n));

	if (strcmp(mode, "free") && strcmp(mode, "destroy") && strcmp(mode, "clean")) {
		fprintf(stderr, "usage: held-free free|destroy|clean|deep|big|edge|realloc|near\n");
		return 2;
	}
	pthread_mutex_init(&n->lock, NULL);
	pthread_mutex_lock(&n->lock);
	n->key = 1;
	if (!strcmp(mode, "free")) {
		free(n);
	} else if (!strcmp(mode, "destroy")) {
		pthread_mutex_destroy(&n->lock);
	} else {
		pthread_mutex_unlock(&n->lock);
		pthread_mutex_destroy(&n->lock);
		free(n);
	}
	puts("done");
	return 0;
}
