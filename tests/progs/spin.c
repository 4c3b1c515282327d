/*
 * spin - sleeping under a pthread spinlock, and spinlocks taken again and
 * again (after the first time, on the fast path of a chain seen before).
 *
 *   spin mutex       a mutex is locked while a spinlock is held
 *   spin malloc      memory is allocated while a spinlock is held
 *   spin clean       the spinlock alone, and the spinlock taken under the
 *                    mutex (spinning inside a sleeping lock is fine)
 *   spin fast-mutex  the spinlock taken and released a few times, then a
 *                    mutex locked under it
 *   spin fast-clean  the same, the mutex locked after the unlock
 *   spin fast-abba   two spinlocks nested in one order a few times, then
 *                    in the other
 *   spin fast-same   the two nested in the same order every time
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_spinlock_t spin;
/* apart from `spin`, each in a line of its own */
static _Alignas(64) pthread_spinlock_t spin2;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static volatile void *sink;

static void nested(pthread_spinlock_t *outer, pthread_spinlock_t *inner)
{
	pthread_spin_lock(outer);
	pthread_spin_lock(inner);
	pthread_spin_unlock(inner);
	pthread_spin_unlock(outer);
}

/* The fast-path modes: warm, then the last step. */
static int fast(const char *mode)
{
	pthread_mutex_lock(&m);
	pthread_mutex_unlock(&m);
	for (int i = 0; i < 4; i++) {
		if (!strcmp(mode, "fast-mutex") || !strcmp(mode, "fast-clean")) {
			pthread_spin_lock(&spin);
			pthread_spin_unlock(&spin);
		} else {
			nested(&spin, &spin2);
		}
	}
	if (!strcmp(mode, "fast-mutex")) {
		pthread_spin_lock(&spin);
		pthread_mutex_lock(&m);
		pthread_mutex_unlock(&m);
		pthread_spin_unlock(&spin);
	} else if (!strcmp(mode, "fast-clean")) {
		pthread_spin_lock(&spin);
		pthread_spin_unlock(&spin);
		pthread_mutex_lock(&m);
		pthread_mutex_unlock(&m);
	} else if (!strcmp(mode, "fast-abba")) {
		nested(&spin2, &spin);
	} else if (!strcmp(mode, "fast-same")) {
		nested(&spin, &spin2);
	} else {
		fprintf(stderr, "spin: unknown mode '%s'\n", mode);
		return 2;
	}
	pthread_spin_destroy(&spin2);
	pthread_spin_destroy(&spin);
	puts("done");
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc == 2 ? argv[1] : "";

	pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE);
	pthread_spin_init(&spin2, PTHREAD_PROCESS_PRIVATE);
	if (!strncmp(mode, "fast-", 5))
		return fast(mode);
	if (strcmp(mode, "mutex") && strcmp(mode, "malloc") && strcmp(mode, "clean")) {
		fprintf(stderr, "usage: spin mutex|malloc|clean|fast-mutex|fast-clean|fast-abba|"
				"fast-same\n");
		return 2;
	}
	pthread_spin_lock(&spin);
	if (!strcmp(mode, "mutex")) {
		pthread_mutex_lock(&m);
		pthread_mutex_unlock(&m);
	} else if (!strcmp(mode, "malloc")) {
		sink = malloc(100);
	}
	pthread_spin_unlock(&spin);
	if (!strcmp(mode, "clean")) {
		pthread_mutex_lock(&m);
		pthread_spin_lock(&spin);
		pthread_spin_unlock(&spin);
		pthread_mutex_unlock(&m);
	}
	free((void *)sink);
	pthread_spin_destroy(&spin2);
	pthread_spin_destroy(&spin);
	puts("done");
	return 0;
}
