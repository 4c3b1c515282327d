/*
 * lock-class - a pthread mutex renamed with fdep_lock_class() after it was
 * taken nested, then taken nested again: the new class must get the edge.
 *
 *   lock-class bug     A then B; B renamed "renamed"; A then B again; then
 *                      D (also "renamed") then A: A -> renamed -> A
 *   lock-class clean   the same, but D is in a class of its own
 *
 * A lock renamed while another thread holds it: that thread's entry keeps
 * the old class, whose record and id must outlive the hold (a class made
 * meanwhile must not take them over):
 *   lock-class held-clean  a thread holds X; X is renamed; a new lock Y is
 *                          made and taken; the thread takes Y under X
 *   lock-class held-bug    the same, then Y then X: X -> Y -> X
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "nest.h"

#include "fencedep.h"

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t d = PTHREAD_MUTEX_INITIALIZER;

static pthread_mutex_t x = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t y = PTHREAD_MUTEX_INITIALIZER;
/* plain flags: a semaphore or a condition variable waited for under X
 * would give X an edge, and an edge keeps a class */
static _Atomic int holding, go;

static void wait_for(_Atomic int *flag)
{
	while (!atomic_load(flag))
		sched_yield();
}

static void *holder(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&x);
	atomic_store(&holding, 1);
	wait_for(&go);
	pthread_mutex_lock(&y);
	pthread_mutex_unlock(&y);
	pthread_mutex_unlock(&x);
	return NULL;
}

static int held_elsewhere(int bug)
{
	pthread_t t;

	pthread_create(&t, NULL, holder, NULL);
	wait_for(&holding);
	fdep_lock_class(&x, "renamed", 0);
	/* a class made now, for a lock first taken now */
	pthread_mutex_lock(&y);
	pthread_mutex_unlock(&y);
	atomic_store(&go, 1);
	pthread_join(t, NULL);
	if (bug) {
		nest(&x, &y);
		nest(&y, &x);
	}
	printf("done\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strncmp(argv[1], "held-", 5) &&
	    (!strcmp(argv[1] + 5, "bug") || !strcmp(argv[1] + 5, "clean")))
		return held_elsewhere(!strcmp(argv[1] + 5, "bug"));
	if (argc != 2 || (strcmp(argv[1], "bug") && strcmp(argv[1], "clean"))) {
		fprintf(stderr, "usage: lock-class bug|clean|held-bug|held-clean\n");
		return 2;
	}
	/* often enough for every cache on the way to know the chain */
	for (int i = 0; i < 4; i++)
		nest(&a, &b);
	fdep_lock_class(&b, "renamed", 0);
	fdep_lock_class(&d, strcmp(argv[1], "bug") ? "other" : "renamed", 0);
	for (int i = 0; i < 4; i++)
		nest(&a, &b);
	nest(&d, &a);
	printf("done\n");
	return 0;
}
