/*
 * cancel - a thread cancelled while it waits on a condition variable.
 * glibc takes the mutex back before the waiter's cleanup handlers run, and
 * the handler unlocks it: the pattern of pthread_cleanup_push(3).
 *
 *   cancel wait       pthread_cond_wait; the handler unlocks the mutex
 *   cancel timedwait  the same in pthread_cond_timedwait
 *   cancel order      the handler takes `other` under the mutex before it
 *                     unlocks (mutex -> other); main then takes them the
 *                     other way round: a lock-order inversion
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t other = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int waiting, timed, order;

static void unlock_mutex(void *arg)
{
	(void)arg;
	if (order) {
		pthread_mutex_lock(&other);
		pthread_mutex_unlock(&other);
	}
	pthread_mutex_unlock(&mutex);
}

static void *waiter(void *arg)
{
	struct timespec far;

	(void)arg;
	clock_gettime(CLOCK_REALTIME, &far);
	far.tv_sec += 3600;
	pthread_mutex_lock(&mutex);
	pthread_cleanup_push(unlock_mutex, NULL);
	waiting = 1;
	pthread_cond_broadcast(&cond);
	for (;;) {
		if (timed)
			pthread_cond_timedwait(&cond, &mutex, &far);
		else
			pthread_cond_wait(&cond, &mutex);
	}
	pthread_cleanup_pop(1);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *mode = argc == 2 ? argv[1] : "";
	pthread_t t;

	if (!strcmp(mode, "timedwait"))
		timed = 1;
	else if (!strcmp(mode, "order"))
		order = 1;
	else if (strcmp(mode, "wait")) {
		fprintf(stderr, "usage: cancel wait|timedwait|order\n");
		return 2;
	}
	pthread_create(&t, NULL, waiter, NULL);
	/* the waiter is in the wait once it let go of the mutex */
	pthread_mutex_lock(&mutex);
	while (!waiting)
		pthread_cond_wait(&cond, &mutex);
	pthread_cancel(t);
	pthread_mutex_unlock(&mutex);
	pthread_join(t, NULL);
	if (order) {
		pthread_mutex_lock(&other);
		pthread_mutex_lock(&mutex);
		pthread_mutex_unlock(&mutex);
		pthread_mutex_unlock(&other);
	} else {
		pthread_mutex_lock(&mutex);
		pthread_mutex_unlock(&mutex);
	}
	puts("done");
	return 0;
}
