/*
 * evict-race - lock records go while a report reads them.  Churning
 * threads make, lock and free mutexes nonstop (each a class of its own,
 * with no edge: freed the moment its mutex is), while other threads hold
 * locks and make findings, whose reports list every class there is, and
 * the main thread finally exits with the churners still running: the
 * report written at exit lists the classes as they come and go.
 *
 *   evict-race [SECONDS]   churn for SECONDS (default 1), then exit
 *
 * The findings: one lock-order-inversion, made again and again by two
 * threads (counted, not repeated), and nothing else.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define CHURNERS 3
#define KEPT 2000

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t *kept[KEPT];

static void *churn(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_t *m = malloc(sizeof(*m));
		if (!m)
			continue;
		pthread_mutex_init(m, NULL);
		pthread_mutex_lock(m);
		pthread_mutex_unlock(m);
		pthread_mutex_destroy(m);
		free(m);
	}
	return NULL;
}

/* the two halves of one inversion, over and over: a report each time the
 * graph is due, and classes named for it */
static void *order(void *arg)
{
	for (;;) {
		pthread_mutex_t *first = arg ? &a : &b, *second = arg ? &b : &a;
		pthread_mutex_lock(first);
		pthread_mutex_lock(second);
		pthread_mutex_unlock(second);
		pthread_mutex_unlock(first);
		usleep(1000);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	double seconds = argc == 2 ? atof(argv[1]) : 1;
	pthread_t t;

	/* live classes, named by the report, for it to walk past */
	for (int i = 0; i < KEPT; i++) {
		kept[i] = malloc(sizeof(*kept[i]));
		pthread_mutex_init(kept[i], NULL);
		pthread_mutex_lock(&a);
		pthread_mutex_lock(kept[i]);
		pthread_mutex_unlock(kept[i]);
		pthread_mutex_unlock(&a);
	}
	for (int i = 0; i < CHURNERS; i++)
		pthread_create(&t, NULL, churn, NULL);
	pthread_create(&t, NULL, order, NULL);
	pthread_create(&t, NULL, order, &a);
	struct timespec ts = { (time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9) };
	nanosleep(&ts, NULL);
	puts("done");
	fflush(stdout);
	exit(0); /* with the churners running */
}
