/*
 * rel-alloc - threads that allocate and free under locks, for runs with
 * another allocator (jemalloc, tcmalloc) preloaded:
 *
 *   rel-alloc clean   four threads, each nests lock_a then lock_b around
 *                     allocations; prints a checksum
 *   rel-alloc bug     the same, then one thread takes lock_b then lock_a
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NTHREADS 4
#define ROUNDS 20000

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static unsigned long total;

static void *worker(void *arg)
{
	unsigned long id = (unsigned long)arg, sum = 0;
	void *keep[64] = { 0 };

	for (unsigned long i = 0; i < ROUNDS; i++) {
		size_t size = 8 + (i * 7919 + id * 104729) % 4000;
		pthread_mutex_lock(&lock_a);
		unsigned char *p = malloc(size);
		memset(p, (int)(i & 0xff), size);
		pthread_mutex_lock(&lock_b);
		sum += p[size - 1];
		pthread_mutex_unlock(&lock_b);
		pthread_mutex_unlock(&lock_a);
		free(keep[i % 64]);
		keep[i % 64] = i % 3 ? p : realloc(p, size * 2);
		if (i % 3 == 0)
			memset(keep[i % 64], 0, size * 2);
	}
	for (int i = 0; i < 64; i++)
		free(keep[i]);
	pthread_mutex_lock(&lock_a);
	total += sum;
	pthread_mutex_unlock(&lock_a);
	return NULL;
}

static void *backward(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock_b);
	void *p = calloc(10, 10);
	pthread_mutex_lock(&lock_a);
	free(p);
	pthread_mutex_unlock(&lock_a);
	pthread_mutex_unlock(&lock_b);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[NTHREADS];

	if (argc != 2 || (strcmp(argv[1], "bug") && strcmp(argv[1], "clean"))) {
		fprintf(stderr, "usage: rel-alloc bug|clean\n");
		return 2;
	}
	for (unsigned long i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	if (!strcmp(argv[1], "bug")) {
		pthread_create(&t[0], NULL, backward, NULL);
		pthread_join(t[0], NULL);
	}
	printf("total %lu\n", total);
	return 0;
}
