/*
 * relock - a thread locks a mutex it already holds.
 *
 *   relock normal       a default mutex: the second lock blocks forever
 *   relock recursive    PTHREAD_MUTEX_RECURSIVE: it nests, three deep
 *   relock errorcheck   PTHREAD_MUTEX_ERRORCHECK: the second lock fails
 *                       with EDEADLK instead of blocking
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	const char *mode = argc == 2 ? argv[1] : "";
	pthread_mutexattr_t attr;
	pthread_mutex_t m;

	pthread_mutexattr_init(&attr);
	if (!strcmp(mode, "recursive"))
		pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	else if (!strcmp(mode, "errorcheck"))
		pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
	else if (strcmp(mode, "normal")) {
		fprintf(stderr, "usage: relock normal|recursive|errorcheck\n");
		return 2;
	}
	pthread_mutex_init(&m, &attr);
	pthread_mutex_lock(&m);
	printf("locked once\n");
	fflush(stdout);
	if (!strcmp(mode, "errorcheck")) {
		if (pthread_mutex_lock(&m) != EDEADLK)
			return 1;
	} else {
		pthread_mutex_lock(&m);
		pthread_mutex_lock(&m);
		pthread_mutex_unlock(&m);
		pthread_mutex_unlock(&m);
	}
	pthread_mutex_unlock(&m);
	pthread_mutex_destroy(&m);
	puts("done");
	return 0;
}
