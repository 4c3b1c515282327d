#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
/*
 * rwlock-cycle - two threads, one after the other, take two rwlocks for
 * reading in opposite orders (R1 then R2, R2 then R1).
 *
 *   rwlock-cycle reader     default rwlocks: readers never wait for readers,
 *                           so the cycle cannot deadlock
 *   rwlock-cycle writer     writer-preferring rwlocks: a reader waits behind
 *                           a queued writer, so it can (with two writers)
 *   rwlock-cycle ordered    writer-preferring, both threads R1 then R2
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_rwlock_t r1, r2;

static void read_both(pthread_rwlock_t *first, pthread_rwlock_t *second)
{
	pthread_rwlock_rdlock(first);
	pthread_rwlock_rdlock(second);
	pthread_rwlock_unlock(second);
	pthread_rwlock_unlock(first);
}

static void *forward(void *arg)
{
	(void)arg;
	read_both(&r1, &r2);
	return NULL;
}

static void *backward(void *arg)
{
	(void)arg;
	read_both(&r2, &r1);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_rwlockattr_t attr;
	pthread_t t;

	if (argc != 2 || (strcmp(argv[1], "reader") && strcmp(argv[1], "writer") &&
			  strcmp(argv[1], "ordered"))) {
		fprintf(stderr, "usage: rwlock-cycle reader|writer|ordered\n");
		return 2;
	}
	pthread_rwlockattr_init(&attr);
	if (strcmp(argv[1], "reader"))
		pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&r1, &attr);
	pthread_rwlock_init(&r2, &attr);
	pthread_create(&t, NULL, forward, NULL);
	pthread_join(t, NULL);
	pthread_create(&t, NULL, strcmp(argv[1], "ordered") ? backward : forward, NULL);
	pthread_join(t, NULL);
	puts("done");
	return 0;
}
