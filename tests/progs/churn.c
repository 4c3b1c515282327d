/*
 * churn N - N short-lived heap mutexes, each locked under one long-lived
 * lock and then destroyed and freed, as per-request objects are: the graph
 * must not keep what died with them.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t global = PTHREAD_MUTEX_INITIALIZER;

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000;

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
	printf("churned %ld\n", n);
	return 0;
}
