/*
 * kind-reuse - memory that held one kind of lock holds another kind next,
 * with no destroy and no free the runtime sees in between: a pool that
 * hands its objects out again, or a free in a thread's last key destructor.
 * A worker thread uses the first lock (so its own instance cache knows it,
 * and the chain is cached), the main thread makes the new lock there, and
 * the worker then takes the new one in the opposite order.  The two locks
 * are different locks of different kinds: no cycle.
 *
 *   kind-reuse mutex-rwlock   outer -> mutex X; X an rwlock now: X (read,
 *                             then write) -> outer
 *   kind-reuse rwlock-mutex   outer -> rwlock X (write); X a mutex: X -> outer
 *   kind-reuse spin-mutex     outer -> spinlock X; X a mutex: X -> outer
 *   kind-reuse key-destructor a thread's mutex X (outer -> X) is freed by
 *                             its key destructor; another thread gets the
 *                             memory back as an rwlock: X -> outer
 *   kind-reuse key-destructor-mutex
 *                             as key-destructor, the memory back as a new
 *                             mutex (PTHREAD_MUTEX_INITIALIZER): the free
 *                             itself must be seen, the kind is the same
 *   kind-reuse rwlock-cycle   as mutex-rwlock, then a real inversion of the
 *                             new rwlock with outer2 (worker X -> outer2,
 *                             main outer2 -> X): one lock-order-inversion,
 *                             of the rwlock, not of the mutex that was there
 *   kind-reuse mutex-annotated outer -> mutex X; X the program's own lock
 *                             now, told by fdep_acquire(X, NULL): X -> outer
 *   kind-reuse annotated-cycle as mutex-annotated, then a real inversion of
 *                             the annotated lock with outer2
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fencedep.h"

static pthread_mutex_t outer = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t outer2 = PTHREAD_MUTEX_INITIALIZER;

/* the pool's one object, handed out twice */
static union obj {
	pthread_mutex_t m;
	pthread_rwlock_t rw;
	pthread_spinlock_t s;
	char pad[128];
} pool;

static sem_t to_worker, to_main;
static const char *mode;

/* Enough rounds for the chain and the instance to be cached: the fast path. */
#define ROUNDS 50

static void first_use(union obj *o)
{
	for (int i = 0; i < ROUNDS; i++) {
		pthread_mutex_lock(&outer);
		if (!strcmp(mode, "rwlock-mutex")) {
			pthread_rwlock_wrlock(&o->rw);
			pthread_rwlock_unlock(&o->rw);
		} else if (!strcmp(mode, "spin-mutex")) {
			pthread_spin_lock(&o->s);
			pthread_spin_unlock(&o->s);
		} else {
			pthread_mutex_lock(&o->m);
			pthread_mutex_unlock(&o->m);
		}
		pthread_mutex_unlock(&outer);
	}
}

static bool annotated(void)
{
	return !strcmp(mode, "mutex-annotated") || !strcmp(mode, "annotated-cycle");
}

static void second_use(union obj *o)
{
	for (int i = 0; i < ROUNDS; i++) {
		if (annotated()) {
			fdep_acquire(o, NULL, 0);
			pthread_mutex_lock(strcmp(mode, "annotated-cycle") ? &outer : &outer2);
			pthread_mutex_unlock(strcmp(mode, "annotated-cycle") ? &outer : &outer2);
			fdep_release(o);
			continue;
		}
		if (!strcmp(mode, "rwlock-mutex") || !strcmp(mode, "spin-mutex")) {
			pthread_mutex_lock(&o->m);
			pthread_mutex_lock(&outer);
			pthread_mutex_unlock(&outer);
			pthread_mutex_unlock(&o->m);
			continue;
		}
		if (strcmp(mode, "rwlock-cycle")) {
			pthread_rwlock_rdlock(&o->rw);
			pthread_mutex_lock(&outer);
			pthread_mutex_unlock(&outer);
			pthread_rwlock_unlock(&o->rw);
		}
		pthread_rwlock_wrlock(&o->rw);
		pthread_mutex_lock(strcmp(mode, "rwlock-cycle") ? &outer : &outer2);
		pthread_mutex_unlock(strcmp(mode, "rwlock-cycle") ? &outer : &outer2);
		pthread_rwlock_unlock(&o->rw);
	}
}

static void *worker(void *arg)
{
	(void)arg;
	first_use(&pool);
	sem_post(&to_main);
	sem_wait(&to_worker);
	second_use(&pool);
	return NULL;
}

/* ---- key-destructor ---- */

static pthread_key_t key;
static union obj *freed;

static void free_it(void *p)
{
	free(p);
}

static void *owner(void *arg)
{
	union obj *o = malloc(sizeof(*o));

	(void)arg;
	pthread_mutex_init(&o->m, NULL);
	pthread_mutex_lock(&outer);
	pthread_mutex_lock(&o->m);
	pthread_mutex_unlock(&o->m);
	pthread_mutex_unlock(&outer);
	freed = o;
	pthread_setspecific(key, o); /* freed when the thread ends */
	return NULL;
}

static void *taker(void *arg)
{
	union obj *o = NULL, *kept[256];
	int n = 0;

	(void)arg;
	/* the thread's arena is the ended one's: its blocks come back */
	while (n < 256 && (o = malloc(sizeof(*o))) != freed)
		kept[n++] = o;
	if (o != freed) {
		fprintf(stderr, "kind-reuse: the allocator did not reuse the address\n");
		exit(3);
	}
	if (!strcmp(mode, "key-destructor-mutex")) {
		o->m = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
		mode = "rwlock-mutex"; /* the mutex, then outer */
	} else {
		o->rw = (pthread_rwlock_t)PTHREAD_RWLOCK_INITIALIZER;
		mode = "mutex-rwlock";
	}
	second_use(o);
	while (n)
		free(kept[--n]);
	free(o);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;

	mode = argc == 2 ? argv[1] : "";
	if (!strcmp(mode, "key-destructor") || !strcmp(mode, "key-destructor-mutex")) {
		pthread_key_create(&key, free_it);
		pthread_create(&t, NULL, owner, NULL);
		pthread_join(t, NULL);
		pthread_create(&t, NULL, taker, NULL);
		pthread_join(t, NULL);
		puts("done");
		return 0;
	}
	if (strcmp(mode, "mutex-rwlock") && strcmp(mode, "rwlock-mutex") &&
	    strcmp(mode, "spin-mutex") && strcmp(mode, "rwlock-cycle") && !annotated()) {
		fprintf(stderr, "usage: kind-reuse mutex-rwlock|rwlock-mutex|spin-mutex|"
				"key-destructor[-mutex]|rwlock-cycle|mutex-annotated|"
				"annotated-cycle\n");
		return 2;
	}
	sem_init(&to_worker, 0, 0);
	sem_init(&to_main, 0, 0);
	if (!strcmp(mode, "rwlock-mutex"))
		pool.rw = (pthread_rwlock_t)PTHREAD_RWLOCK_INITIALIZER;
	else if (!strcmp(mode, "spin-mutex"))
		pthread_spin_init(&pool.s, PTHREAD_PROCESS_PRIVATE);
	else
		pthread_mutex_init(&pool.m, NULL);
	pthread_create(&t, NULL, worker, NULL);
	sem_wait(&to_main);
	/* the pool hands the object out again, as the other kind of lock */
	memset(&pool, 0, sizeof(pool));
	if (!strcmp(mode, "rwlock-mutex") || !strcmp(mode, "spin-mutex"))
		pool.m = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	else
		pool.rw = (pthread_rwlock_t)PTHREAD_RWLOCK_INITIALIZER;
	if (!strcmp(mode, "annotated-cycle")) {
		pthread_mutex_lock(&outer2);
		fdep_acquire(&pool, NULL, 0);
		fdep_release(&pool);
		pthread_mutex_unlock(&outer2);
	}
	if (!strcmp(mode, "rwlock-cycle")) {
		/* the real inversion's other half, before the worker's */
		pthread_mutex_lock(&outer2);
		pthread_rwlock_wrlock(&pool.rw);
		pthread_rwlock_unlock(&pool.rw);
		pthread_mutex_unlock(&outer2);
	}
	sem_post(&to_worker);
	pthread_join(t, NULL);
	puts("done");
	return 0;
}
