/*
 * reuse - a lock is nested under `outer` (outer -> L), goes away, and a
 * new lock at the same address is then taken the other way round
 * (L' -> outer).  L and L' are different locks: no cycle.
 *
 *   reuse free      L lives in malloc'd memory, freed and allocated again;
 *                   the new one is set up by assignment, with no init call
 *   reuse destroy   L lives in static memory; pthread_mutex_destroy, then
 *                   a new one is set up by assignment
 *   reuse init      L is pthread_mutex_init'ed again in place
 *   reuse same      the very same lock is taken the other way round: the
 *                   AB/BA inversion
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct obj {
	pthread_mutex_t lock;
	char pad[64];
};

static pthread_mutex_t outer = PTHREAD_MUTEX_INITIALIZER;
static struct obj static_obj;

static void nest(pthread_mutex_t *first, pthread_mutex_t *second)
{
	pthread_mutex_lock(first);
	pthread_mutex_lock(second);
	pthread_mutex_unlock(second);
	pthread_mutex_unlock(first);
}

int main(int argc, char **argv)
{
	const char *mode = argc == 2 ? argv[1] : "";
	struct obj *o;

	if (!strcmp(mode, "free")) {
		o = malloc(sizeof(*o));
		pthread_mutex_init(&o->lock, NULL);
		nest(&outer, &o->lock);
		free(o);
		struct obj *again = malloc(sizeof(*again));
		if (again != o) {
			fprintf(stderr, "reuse: the allocator did not reuse the address\n");
			return 3;
		}
		o = again;
		o->lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	} else if (!strcmp(mode, "destroy")) {
		o = &static_obj;
		pthread_mutex_init(&o->lock, NULL);
		nest(&outer, &o->lock);
		pthread_mutex_destroy(&o->lock);
		o->lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	} else if (!strcmp(mode, "init") || !strcmp(mode, "same")) {
		o = &static_obj;
		pthread_mutex_init(&o->lock, NULL);
		nest(&outer, &o->lock);
		if (!strcmp(mode, "init"))
			pthread_mutex_init(&o->lock, NULL);
	} else {
		fprintf(stderr, "usage: reuse free|destroy|init|same\n");
		return 2;
	}
	nest(&o->lock, &outer);
	if (o != &static_obj)
		free(o);
	puts("done");
	return 0;
}
