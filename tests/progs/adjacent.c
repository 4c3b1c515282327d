/*
 * adjacent - two pthread spinlocks side by side in one struct (4 bytes
 * each, one 8-byte unit of memory), each taken over and over next to the
 * other: the thread's instance cache keeps them apart, and each keeps its
 * own class.
 *
 *   adjacent bug     one thread nests a then b, and takes each alone, many
 *                    times over; a second thread (after it) nests b then a
 *   adjacent clean   the second thread nests a then b as well
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define ROUNDS 200

static struct {
	_Alignas(8) pthread_spinlock_t a;
	pthread_spinlock_t b;
} pair;

static void nested(pthread_spinlock_t *outer, pthread_spinlock_t *inner)
{
	pthread_spin_lock(outer);
	pthread_spin_lock(inner);
	pthread_spin_unlock(inner);
	pthread_spin_unlock(outer);
}

static void *first(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		nested(&pair.a, &pair.b);
		pthread_spin_lock(&pair.a);
		pthread_spin_unlock(&pair.a);
		pthread_spin_lock(&pair.b);
		pthread_spin_unlock(&pair.b);
	}
	return NULL;
}

static void *second(void *arg)
{
	bool reverse = arg != NULL;

	for (int i = 0; i < ROUNDS; i++) {
		if (reverse)
			nested(&pair.b, &pair.a);
		else
			nested(&pair.a, &pair.b);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;

	if (argc != 2 || (strcmp(argv[1], "bug") && strcmp(argv[1], "clean"))) {
		fprintf(stderr, "usage: adjacent bug|clean\n");
		return 2;
	}
	if ((uintptr_t)&pair.b - (uintptr_t)&pair.a != 4 || (uintptr_t)&pair.a % 8) {
		fprintf(stderr, "adjacent: the two locks are not in one 8-byte unit\n");
		return 2;
	}
	pthread_spin_init(&pair.a, PTHREAD_PROCESS_PRIVATE);
	pthread_spin_init(&pair.b, PTHREAD_PROCESS_PRIVATE);
	if (pthread_create(&t, NULL, first, NULL) || pthread_join(t, NULL))
		return 1;
	if (pthread_create(&t, NULL, second, strcmp(argv[1], "bug") ? NULL : (void *)1) ||
	    pthread_join(t, NULL))
		return 1;
	pthread_spin_destroy(&pair.b);
	pthread_spin_destroy(&pair.a);
	puts("done");
	return 0;
}
