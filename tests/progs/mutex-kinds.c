/*
 * mutex-kinds - the glibc mutexes whose lock can fail or that take glibc's
 * general path: robust and priority-inheriting ones.
 *
 *   mutex-kinds robust      a thread ends holding a robust mutex; main's
 *                           lock returns EOWNERDEAD and still owns it, makes
 *                           it consistent and takes a second lock under it
 *   mutex-kinds pi-bug      two priority-inheriting mutexes taken A then B,
 *                           later B then A, on one thread
 *   mutex-kinds pi-clean    the same, A then B both times
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t robust;
static pthread_mutex_t inner = PTHREAD_MUTEX_INITIALIZER;

static void *die_holding(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&robust);
	return NULL;
}

static int run_robust(void)
{
	pthread_mutexattr_t attr;
	pthread_t t;

	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&robust, &attr);
	pthread_create(&t, NULL, die_holding, NULL);
	pthread_join(t, NULL);
	for (int round = 0; round < 3; round++) {
		int r = pthread_mutex_lock(&robust);
		if (r == EOWNERDEAD) {
			puts("owner died");
			pthread_mutex_consistent(&robust);
		} else if (r) {
			fprintf(stderr, "lock: %s\n", strerror(r));
			return 1;
		}
		pthread_mutex_lock(&inner);
		pthread_mutex_unlock(&inner);
		pthread_mutex_unlock(&robust);
	}
	pthread_mutex_destroy(&robust);
	puts("done");
	return 0;
}

static int run_pi(int inverted)
{
	pthread_mutexattr_t attr;
	pthread_mutex_t a, b;

	pthread_mutexattr_init(&attr);
	if (pthread_mutexattr_setprotocol(&attr, PTHREAD_PRIO_INHERIT))
		return 1;
	pthread_mutex_init(&a, &attr);
	pthread_mutex_init(&b, &attr);
	for (int round = 0; round < 2; round++) {
		pthread_mutex_t *first = round && inverted ? &b : &a;
		pthread_mutex_t *second = first == &a ? &b : &a;
		if (pthread_mutex_lock(first) || pthread_mutex_lock(second))
			return 1;
		pthread_mutex_unlock(second);
		pthread_mutex_unlock(first);
	}
	pthread_mutex_destroy(&a);
	pthread_mutex_destroy(&b);
	puts("done");
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc == 2 ? argv[1] : "";

	if (!strcmp(mode, "robust"))
		return run_robust();
	if (!strcmp(mode, "pi-bug") || !strcmp(mode, "pi-clean"))
		return run_pi(!strcmp(mode, "pi-bug"));
	fprintf(stderr, "usage: mutex-kinds robust|pi-bug|pi-clean\n");
	return 2;
}
