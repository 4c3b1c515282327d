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
 *   rwlock-cycle via-reader mutex A, then default rwlock R for reading,
 *                           then mutex B in one thread; B then A in the
 *                           next: A and B deadlock, R takes no part
 *   rwlock-cycle via-reader-ordered   the same, the second thread A then B
 *   rwlock-cycle via-reader-reread    the same, the second thread B then R
 *                           for reading: readers never wait for readers
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

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t r = PTHREAD_RWLOCK_INITIALIZER;

static void *a_read_b(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&a);
	pthread_rwlock_rdlock(&r);
	pthread_mutex_lock(&b);
	pthread_mutex_unlock(&b);
	pthread_rwlock_unlock(&r);
	pthread_mutex_unlock(&a);
	return NULL;
}

static void *second(void *arg)
{
	const char *how = arg;

	if (!strcmp(how, "via-reader")) {
		pthread_mutex_lock(&b);
		pthread_mutex_lock(&a);
		pthread_mutex_unlock(&a);
		pthread_mutex_unlock(&b);
	} else if (!strcmp(how, "via-reader-ordered")) {
		pthread_mutex_lock(&a);
		pthread_mutex_lock(&b);
		pthread_mutex_unlock(&b);
		pthread_mutex_unlock(&a);
	} else {
		pthread_mutex_lock(&b);
		pthread_rwlock_rdlock(&r);
		pthread_rwlock_unlock(&r);
		pthread_mutex_unlock(&b);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_rwlockattr_t attr;
	pthread_t t;

	if (argc == 2 && !strncmp(argv[1], "via-reader", 10)) {
		pthread_create(&t, NULL, a_read_b, NULL);
		pthread_join(t, NULL);
		pthread_create(&t, NULL, second, argv[1]);
		pthread_join(t, NULL);
		puts("done");
		return 0;
	}

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
