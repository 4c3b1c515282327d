/*
 * hang - programs that really hang, for the watchdog and the state dump:
 *   hang abba     two threads deadlock on two mutexes, AB against BA
 *   hang fence    a thread waits forever for a published fence that its
 *                 signaller never signals
 *   hang dump     holds a lock and sends itself the dump signal, then exits
 *   hang fence-known  a thread that knows a fence (it initialised it) waits
 *                 for it, holding nothing, once main published it and
 *                 handed it off, then blocks forever in the condition
 *                 that stands for it; main sleeps, then _exits: a hang
 *   hang fence-known-signalled  the same fence signalled before the wait:
 *                 the thread is idle in its condition (no hang)
 */
#include <semaphore.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fencedep.h"

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both;

static void *ab(void *arg)
{
	pthread_mutex_lock(&lock_a);
	pthread_barrier_wait(&both);
	pthread_mutex_lock(&lock_b);
	return NULL;
}

static void *ba(void *arg)
{
	pthread_mutex_lock(&lock_b);
	pthread_barrier_wait(&both);
	pthread_mutex_lock(&lock_a);
	return NULL;
}

static int fence_object;
static pthread_mutex_t fence_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fence_cond = PTHREAD_COND_INITIALIZER;

static void *fence_waiter(void *arg)
{
	fdep_fence_wait(&fence_object);
	pthread_mutex_lock(&fence_lock);
	for (;;)
		pthread_cond_wait(&fence_cond, &fence_lock); /* never signalled */
	return NULL;
}

static int fence_known;
static sem_t known_ready, known_published;

static void *known_waiter(void *arg)
{
	(void)arg;
	fdep_fence_init(&fence_known, NULL);
	sem_post(&known_ready);
	sem_wait(&known_published);
	fdep_fence_wait(&fence_known);
	pthread_mutex_lock(&fence_lock);
	for (;;)
		pthread_cond_wait(&fence_cond, &fence_lock); /* never signalled */
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t1, t2;

	if (argc > 1 && !strcmp(argv[1], "abba")) {
		pthread_barrier_init(&both, NULL, 2);
		pthread_create(&t1, NULL, ab, NULL);
		pthread_create(&t2, NULL, ba, NULL);
		pthread_join(t1, NULL);
	} else if (argc > 1 && !strcmp(argv[1], "fence")) {
		fdep_fence_publish(&fence_object);
		fdep_fence_handoff(&fence_object);
		pthread_create(&t1, NULL, fence_waiter, NULL);
		pthread_join(t1, NULL);
	} else if (argc > 1 && (!strcmp(argv[1], "fence-known") ||
				!strcmp(argv[1], "fence-known-signalled"))) {
		sem_init(&known_ready, 0, 0);
		sem_init(&known_published, 0, 0);
		pthread_create(&t1, NULL, known_waiter, NULL);
		sem_wait(&known_ready);
		fdep_fence_publish(&fence_known);
		if (strcmp(argv[1], "fence-known"))
			fdep_fence_signal(&fence_known);
		else
			fdep_fence_handoff(&fence_known);
		sem_post(&known_published);
		sleep(3); /* untracked: the process is not all waiting */
		_exit(0);
	} else if (argc > 1 && !strcmp(argv[1], "dump")) {
		pthread_mutex_lock(&lock_a);
		raise(SIGUSR1);
		pthread_mutex_unlock(&lock_a);
		puts("still running");
	} else {
		fprintf(stderr, "usage: hang abba|fence|fence-known[-signalled]|dump\n");
		return 2;
	}
	return 0;
}
