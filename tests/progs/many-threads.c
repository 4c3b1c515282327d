/*
 * many-threads - N threads alive at once, each with a lock of its own,
 * all taking the shared lock and then their own (shared -> own), and
 * allocating under them.
 *
 *   many-threads N   N threads (clean)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t shared = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t all_started;
static long total;

struct worker {
	pthread_t t;
	pthread_mutex_t own;
	long count;
};

static void *work(void *arg)
{
	struct worker *w = arg;

	pthread_barrier_wait(&all_started);
	for (int i = 0; i < 20; i++) {
		pthread_mutex_lock(&shared);
		pthread_mutex_lock(&w->own);
		free(malloc(32));
		w->count++;
		total++;
		pthread_mutex_unlock(&w->own);
		pthread_mutex_unlock(&shared);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc == 2 ? atoi(argv[1]) : 0;
	pthread_attr_t attr;

	if (n < 1) {
		fprintf(stderr, "usage: many-threads N\n");
		return 2;
	}
	struct worker *w = calloc((size_t)n, sizeof(*w));
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	pthread_barrier_init(&all_started, NULL, (unsigned)n);
	for (int i = 0; i < n; i++) {
		pthread_mutex_init(&w[i].own, NULL);
		if (pthread_create(&w[i].t, &attr, work, &w[i])) {
			fprintf(stderr, "many-threads: cannot create thread %d\n", i);
			return 1;
		}
	}
	for (int i = 0; i < n; i++)
		pthread_join(w[i].t, NULL);
	printf("threads %d total %ld\n", n, total);
	return 0;
}
