/*
 * static-locks - statically initialised mutexes, never passed to
 * pthread_mutex_init: one file-static, one global.
 *
 *   static-locks bug     thread 1 takes lock_a then lock_b, thread 2 (after
 *                        it) lock_b then lock_a
 *   static-locks clean   both take lock_a then lock_b
 *   static-locks wrapper lock_a then lock_b, both through one helper: one
 *                        lock call site for two different locks
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;

static void *forward(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock_a);
	pthread_mutex_lock(&lock_b);
	pthread_mutex_unlock(&lock_b);
	pthread_mutex_unlock(&lock_a);
	return NULL;
}

static void *backward(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock_b);
	pthread_mutex_lock(&lock_a);
	pthread_mutex_unlock(&lock_a);
	pthread_mutex_unlock(&lock_b);
	return NULL;
}

static volatile int lk_calls;

/* noinline, and not a tail call: both locks are taken from one address */
static __attribute__((noinline)) void lk(pthread_mutex_t *m)
{
	pthread_mutex_lock(m);
	lk_calls++;
}

int main(int argc, char **argv)
{
	pthread_t t;

	if (argc == 2 && !strcmp(argv[1], "wrapper")) {
		lk(&lock_a);
		lk(&lock_b);
		pthread_mutex_unlock(&lock_b);
		pthread_mutex_unlock(&lock_a);
		puts("done");
		return 0;
	}
	if (argc != 2 || (strcmp(argv[1], "bug") && strcmp(argv[1], "clean"))) {
		fprintf(stderr, "usage: static-locks bug|clean|wrapper\n");
		return 2;
	}
	pthread_create(&t, NULL, forward, NULL);
	pthread_join(t, NULL);
	pthread_create(&t, NULL, strcmp(argv[1], "bug") ? forward : backward, NULL);
	pthread_join(t, NULL);
	puts("done");
	return 0;
}
