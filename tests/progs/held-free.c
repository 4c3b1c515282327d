/*
 * held-free - the memory of a lock goes away while the lock is held.
 *
 *   held-free free      a malloc'd struct holding a locked mutex is freed
 *   held-free destroy   a locked mutex is destroyed
 *   held-free clean     unlock, destroy, then free
 *   held-free deep      a locked mutex 3 KiB into a freed block
 *   held-free big       a locked mutex 40 KiB into a freed block
 *   held-free near      blocks around a locked heap mutex are freed, the
 *                       mutex's own block only once it is unlocked (clean)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node {
	int key;
	pthread_mutex_t lock;
	struct node *next;
};

/* A locked mutex `at` bytes into a block of `size`, then the block freed. */
static void free_at(size_t size, size_t at)
{
	char *block = malloc(size);
	pthread_mutex_t *m = (pthread_mutex_t *)(block + at);

	pthread_mutex_init(m, NULL);
	pthread_mutex_lock(m);
	free(block);
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
	if (!strcmp(mode, "near")) {
		free_near();
		puts("done");
		return 0;
	}
	struct node *n = malloc(sizeof(*n));

	if (strcmp(mode, "free") && strcmp(mode, "destroy") && strcmp(mode, "clean")) {
		fprintf(stderr, "usage: held-free free|destroy|clean|deep|big|near\n");
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
