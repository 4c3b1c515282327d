/*
 * warm - one thread takes three mutexes, A, B and C, in orders it repeats
 * until every step is on the lock fast paths (a lone lock, and C under A,
 * both seen), then takes C under B, a new lock below the same lock at the
 * same depth, which must still be checked:
 *
 *   warm bug     then C before B: the inversion of B then C
 *   warm clean   then B before C again
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t c = PTHREAD_MUTEX_INITIALIZER;

static void nested(pthread_mutex_t *outer, pthread_mutex_t *inner)
{
	pthread_mutex_lock(outer);
	pthread_mutex_lock(inner);
	pthread_mutex_unlock(inner);
	pthread_mutex_unlock(outer);
}

int main(int argc, char **argv)
{
	if (argc != 2 || (strcmp(argv[1], "bug") && strcmp(argv[1], "clean"))) {
		fprintf(stderr, "usage: warm bug|clean\n");
		return 2;
	}
	for (int i = 0; i < 1000; i++) {
		pthread_mutex_lock(&a);
		pthread_mutex_unlock(&a);
		pthread_mutex_lock(&c);
		pthread_mutex_unlock(&c);
		nested(&a, &c);
	}
	nested(&b, &c);
	if (!strcmp(argv[1], "bug"))
		nested(&c, &b);
	else
		nested(&b, &c);
	puts("done");
	return 0;
}
