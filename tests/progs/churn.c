/*
 * churn N [invert] - N short-lived heap mutexes, each locked under one
 * long-lived lock and then destroyed and freed, as per-request objects are:
 * the graph must not keep what died with them.  With "invert", a static
 * lock is taken under the long-lived one before the churn and around it
 * after: the edge from before must survive the dropping of dead ones.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nest.h"

static pthread_mutex_t global = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t late = PTHREAD_MUTEX_INITIALIZER;

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000;
	int invert = argc > 2 && !strcmp(argv[2], "invert");

	if (invert)
		nest(&global, &late);
	for (long i = 0; i < n; i++) {
		pthread_mutex_t *m = malloc(sizeof(*m));
		pthread_mutex_init(m, NULL);
		pthread_mutex_lock(&global);
		pthread_mutex_lock(m);
		pthread_mutex_unlock(m);
		pthread_mutex_unlock(&global);
		pthread_mutex_destroy(m);
		free(m);
	}
	if (invert)
		nest(&late, &global);
	printf("churned %ld\n", n);
	return 0;
}
