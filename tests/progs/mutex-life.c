/*
 * mutex-life - mutexes whose holder is gone.
 *
 *   mutex-life robust-died   a thread ends holding a robust mutex; the next
 *                            locker gets EOWNERDEAD, makes it consistent
 *                            and goes on (the designed recovery)
 *   mutex-life normal-died   a thread ends holding a default mutex
 *   mutex-life stack-reuse   a function leaves a locked mutex on its stack
 *                            and returns; the next function makes a new
 *                            mutex (PTHREAD_MUTEX_INITIALIZER) in the same
 *                            stack slot and locks it
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t shared;

static void *hold_and_end(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&shared);
	return NULL; /* still holding it */
}

static uintptr_t slot_used, slot_reused;

/* noinline, same frame: the two mutexes share a stack slot */
static __attribute__((noinline)) void abandon(void)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

	pthread_mutex_lock(&m);
	slot_used = (uintptr_t)&m;
	__asm__ volatile("" : : "r"(&m) : "memory");
}

static __attribute__((noinline)) void reuse(void)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

	slot_reused = (uintptr_t)&m;
	pthread_mutex_lock(&m);
	pthread_mutex_unlock(&m);
	__asm__ volatile("" : : "r"(&m) : "memory");
}

int main(int argc, char **argv)
{
	const char *mode = argc == 2 ? argv[1] : "";
	pthread_mutexattr_t attr;
	pthread_t t;

	if (!strcmp(mode, "robust-died") || !strcmp(mode, "normal-died")) {
		pthread_mutexattr_init(&attr);
		if (!strcmp(mode, "robust-died"))
			pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
		pthread_mutex_init(&shared, &attr);
		pthread_create(&t, NULL, hold_and_end, NULL);
		pthread_join(t, NULL);
		if (!strcmp(mode, "robust-died")) {
			int r = pthread_mutex_lock(&shared);
			if (r == EOWNERDEAD)
				pthread_mutex_consistent(&shared);
			pthread_mutex_unlock(&shared);
			printf("lock after its owner died: %s\n", r == EOWNERDEAD ? "EOWNERDEAD" : "?");
		} else {
			puts("done");
		}
		return 0;
	}
	if (!strcmp(mode, "stack-reuse")) {
		abandon();
		reuse();
		printf("slot %s\n", slot_used == slot_reused ? "reused" : "not reused");
		return 0;
	}
	fprintf(stderr, "usage: mutex-life robust-died|normal-died|stack-reuse\n");
	return 2;
}
