/*
 * window-race - threads make and drop locks and fences in heap blocks while
 * they, and the others, allocate and free the memory around them, all in
 * one malloc arena so that their blocks share lines.  Every address is
 * reused soon, and the free window lets lines go and counts them again
 * while objects are made on them.
 *
 * In each round a thread allocates a block of 40 to 680 bytes and, at an
 * offset in it, either
 *   - a mutex nested under `outer`, destroyed, the block freed; or
 *   - the same, the block freed with the mutex alive (the free forgets it);
 *   then the same size is allocated again and a lock set up by assignment
 *   at the same offset is nested the other way round (L' -> outer): only a
 *   record the free failed to forget makes that a cycle;
 *   - a fence initialised, published and handed off, the block freed with
 *   the fence unsignalled (a fence the free failed to forget is reported
 *   unsignalled at exit);
 *   - a fence through its whole life, destroyed, the block handed to the
 *   next thread, which frees it later;
 * with small blocks allocated and freed around.
 *
 *   window-race clean      that alone: no finding, "done"
 *   window-race inversion  then a mutex in a block from the churned heap,
 *                         nested both ways: one lock-order inversion
 */
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fencedep.h"
#include "nest.h"

#define THREADS 4
#define ROUNDS 20000

static pthread_mutex_t outer = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(char *) handed[THREADS];

static unsigned next_rand(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static char *alloc(size_t n)
{
	char *p = malloc(n);

	if (!p) {
		fprintf(stderr, "window-race: out of memory\n");
		exit(3);
	}
	return p;
}

/* A lock by assignment at b + off, nested the other way round. */
static void reverse_at(size_t size, size_t off)
{
	char *b = alloc(size);
	pthread_mutex_t *m = (pthread_mutex_t *)(b + off);

	*m = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	nest(m, &outer);
	free(b);
}

static void *worker(void *arg)
{
	unsigned idx = (unsigned)(uintptr_t)arg, seed = idx * 7919u + 1u;
	char *small[4] = { 0 };

	for (int i = 0; i < ROUNDS; i++) {
		size_t size = 40 + next_rand(&seed) % 640;
		size_t off = (next_rand(&seed) % ((size - sizeof(pthread_mutex_t)) / 8 + 1)) * 8;
		char *b = alloc(size);
		void *obj = b + off;
		pthread_mutex_t *m = obj;

		switch (next_rand(&seed) % 4) {
		case 0:
		case 1:
			pthread_mutex_init(m, NULL);
			nest(&outer, m);
			if (i % 2)
				pthread_mutex_destroy(m);
			free(b);
			reverse_at(size, off);
			break;
		case 2:
			fdep_fence_init(obj, "window.fence");
			fdep_fence_publish(obj);
			fdep_fence_handoff(obj);
			free(b);
			break;
		default:
			fdep_fence_init(obj, "window.fence");
			fdep_fence_publish(obj);
			fdep_fence_signal(obj);
			fdep_fence_wait(obj);
			fdep_fence_destroy(obj);
			free(atomic_exchange(&handed[(idx + 1) % THREADS], b));
			break;
		}
		unsigned k = next_rand(&seed) % 4;
		free(small[k]);
		small[k] = alloc(16 + next_rand(&seed) % 100);
		free(alloc(16 + next_rand(&seed) % 200));
	}
	for (int k = 0; k < 4; k++)
		free(small[k]);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *mode = argc == 2 ? argv[1] : "";
	pthread_t th[THREADS];

	if (strcmp(mode, "clean") && strcmp(mode, "inversion")) {
		fprintf(stderr, "usage: window-race clean|inversion\n");
		return 2;
	}
	mallopt(M_ARENA_MAX, 1);
	for (unsigned i = 0; i < THREADS; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)i)) {
			fprintf(stderr, "window-race: cannot create a thread\n");
			return 3;
		}
	for (unsigned i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	for (unsigned i = 0; i < THREADS; i++)
		free(atomic_exchange(&handed[i], NULL));
	if (!strcmp(mode, "inversion")) {
		char *b = alloc(200);
		pthread_mutex_t *m = (pthread_mutex_t *)(b + 64);
		pthread_mutex_init(m, NULL);
		nest(&outer, m);
		nest(m, &outer);
		pthread_mutex_destroy(m);
		free(b);
	}
	puts("done");
	return 0;
}
