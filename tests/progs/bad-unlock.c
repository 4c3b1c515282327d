/*
 * bad-unlock - unlocking a mutex this thread does not hold.
 *
 *   bad-unlock foreign   an error-checking mutex locked by the main thread
 *                        is unlocked by another thread (which gets EPERM)
 *   bad-unlock never     a mutex is unlocked right after its init
 *   bad-unlock clean     each thread unlocks what it locked
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t m;

static void *unlock_it(void *arg)
{
	(void)arg;
	return (void *)(long)pthread_mutex_unlock(&m);
}

static void *lock_unlock(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&m);
	pthread_mutex_unlock(&m);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *mode = argc == 2 ? argv[1] : "";
	pthread_mutexattr_t attr;
	pthread_t t;
	void *ret = NULL;

	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
	if (!strcmp(mode, "foreign")) {
		pthread_mutex_init(&m, &attr);
		pthread_mutex_lock(&m);
		pthread_create(&t, NULL, unlock_it, NULL);
		pthread_join(t, &ret);
		if ((long)ret != EPERM)
			return 1;
		pthread_mutex_unlock(&m);
	} else if (!strcmp(mode, "never")) {
		pthread_mutex_init(&m, NULL);
		pthread_mutex_unlock(&m);
	} else if (!strcmp(mode, "clean")) {
		pthread_mutex_init(&m, &attr);
		pthread_mutex_lock(&m);
		pthread_mutex_unlock(&m);
		pthread_create(&t, NULL, lock_unlock, NULL);
		pthread_join(t, NULL);
	} else {
		fprintf(stderr, "usage: bad-unlock foreign|never|clean\n");
		return 2;
	}
	puts("done");
	return 0;
}
