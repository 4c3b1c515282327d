/*
 * small-stack invert|clean - threads made with the smallest stack glibc
 * allows (PTHREAD_STACK_MIN) take two mutexes, allocate under them and
 * wait on a condition variable; with invert the second thread takes the
 * mutexes the other way round (one lock-order-inversion, reported from
 * that small stack).  Prints "ok".
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready = PTHREAD_COND_INITIALIZER;
static int turns;

static void *worker(void *arg)
{
	int invert = arg != NULL;
	pthread_mutex_t *first = invert ? &lock_b : &lock_a;
	pthread_mutex_t *second = invert ? &lock_a : &lock_b;

	pthread_mutex_lock(first);
	pthread_mutex_lock(second);
	char *p = malloc(100);
	if (p)
		memset(p, 1, 100);
	free(p);
	pthread_mutex_unlock(second);
	pthread_mutex_unlock(first);
	pthread_mutex_lock(&lock_a);
	turns++;
	pthread_cond_broadcast(&ready);
	pthread_mutex_unlock(&lock_a);
	return NULL;
}

int main(int argc, char **argv)
{
	int invert = argc == 2 && !strcmp(argv[1], "invert");
	pthread_attr_t attr;

	if (argc != 2 || (!invert && strcmp(argv[1], "clean"))) {
		fprintf(stderr, "usage: small-stack invert|clean\n");
		return 2;
	}
	pthread_attr_init(&attr);
	if (pthread_attr_setstacksize(&attr, PTHREAD_STACK_MIN)) {
		fprintf(stderr, "small-stack: no stack of %d bytes\n", (int)PTHREAD_STACK_MIN);
		return 2;
	}
	for (int i = 0; i < 2; i++) {
		pthread_t t;
		if (pthread_create(&t, &attr, worker, invert && i ? &t : NULL)) {
			fprintf(stderr, "small-stack: pthread_create failed\n");
			return 2;
		}
		pthread_mutex_lock(&lock_a);
		while (turns <= i)
			pthread_cond_wait(&ready, &lock_a);
		pthread_mutex_unlock(&lock_a);
		pthread_join(t, NULL);
	}
	pthread_attr_destroy(&attr);
	printf("ok\n");
	return 0;
}
