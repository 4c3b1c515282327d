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
 *   reuse neighbour as free, with a second lock on a nearby line of the
 *                   same block, nested and destroyed before the free: the
 *                   free must still forget L
 *   reuse again     as free, twice over at the same address: the second
 *                   lock marks the line its predecessor's free unmarked
 *   reuse tail      as free, L in the last bytes of a 1000-byte block,
 *                   16 lines past its start: the free must see the whole
 *                   block
 *   reuse mremap    L lives in a mapping that mremap() moves; a new
 *                   mapping at the old address holds L'
 *   reuse window    as tail, for blocks of sizes around the free window
 *                   (64 lines from a block's first line), L in the last
 *                   bytes of each, with small blocks freed around them
 *   reuse thread    as window, each block freed (and allocated again) by
 *                   another thread, which has freed blocks of its own
 *                   before
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "nest.h"

struct obj {
	pthread_mutex_t lock;
	char pad[64];
};

struct pair {
	pthread_mutex_t lock;
	char pad[88];
	pthread_mutex_t lock2;
};

static pthread_mutex_t outer = PTHREAD_MUTEX_INITIALIZER;
static struct obj static_obj;

/* The pair in a block of its own, 256-aligned inside it: both locks are
 * within one 4 KB run of lines, however malloc places the block. */
#define PAIR_BLOCK 8192

static struct pair *pair_in(char *block)
{
	return (struct pair *)(((uintptr_t)block + 255) & ~(uintptr_t)255);
}

/* A block again, where the one just freed was. */
static char *block_again(uintptr_t freed)
{
	char *b = malloc(PAIR_BLOCK);

	if ((uintptr_t)b != freed) {
		fprintf(stderr, "reuse: the allocator did not reuse the address\n");
		exit(3);
	}
	return b;
}

/* The blocks of `reuse window` and `reuse thread`: those around 4 KB fit
 * in their first line's window or just do not. */
static const size_t window_sizes[] = { 40, 1000, 3000, 3960, 4000, 4020, 4100, 6000 };

/* A thread that frees the blocks handed to it, one at a time, and hands
 * back the block it gets again when it does (from its own cache: glibc
 * keeps small blocks per thread), else NULL (the block is back in the
 * heap it came from, where the main thread gets it again). */
static char *volatile handed;
static volatile size_t handed_size;
static sem_t hand_over, handed_back;

static void *freer(void *arg)
{
	(void)arg;
	for (;;) {
		sem_wait(&hand_over);
		char *b = handed;
		if (!b)
			return NULL;
		free(malloc(24)); /* the thread's own blocks, on its fast path */
		free(b);
		char *again = malloc(handed_size);
		if (again != b) {
			free(again);
			again = NULL;
		}
		handed = again;
		sem_post(&handed_back);
	}
}

/* L in the last bytes of a block of each size, nested under outer, freed
 * (by the freer thread when there is one); a new lock at the same address
 * is then taken the other way round. */
static int reuse_window(bool threaded)
{
	pthread_t th;

	if (threaded) {
		sem_init(&hand_over, 0, 0);
		sem_init(&handed_back, 0, 0);
		pthread_create(&th, NULL, freer, NULL);
	}
	for (size_t i = 0; i < sizeof(window_sizes) / sizeof(window_sizes[0]); i++) {
		size_t size = window_sizes[i];
		size_t at = (size - sizeof(pthread_mutex_t)) & ~(size_t)15;
		char *b = malloc(size);
		pthread_mutex_t *l = (pthread_mutex_t *)(b + at);
		pthread_mutex_init(l, NULL);
		nest(&outer, l);
		/* blocks freed near it go by on the fast path */
		free(malloc(size));
		uintptr_t was = (uintptr_t)b;
		if (threaded) {
			handed = b;
			handed_size = size;
			sem_post(&hand_over);
			sem_wait(&handed_back);
			b = handed ? handed : malloc(size);
		} else {
			free(b);
			b = malloc(size);
		}
		if ((uintptr_t)b != was) {
			fprintf(stderr, "reuse: the allocator did not reuse the address\n");
			return 3;
		}
		l = (pthread_mutex_t *)(b + at);
		*l = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
		nest(l, &outer);
		free(b);
	}
	if (threaded) {
		handed = NULL;
		sem_post(&hand_over);
		pthread_join(th, NULL);
	}
	puts("done");
	return 0;
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
	} else if (!strcmp(mode, "neighbour")) {
		char *b = malloc(PAIR_BLOCK);
		struct pair *p = pair_in(b);
		pthread_mutex_init(&p->lock, NULL);
		pthread_mutex_init(&p->lock2, NULL);
		nest(&outer, &p->lock);
		nest(&outer, &p->lock2);
		pthread_mutex_destroy(&p->lock2);
		uintptr_t was = (uintptr_t)b;
		free(b);
		b = block_again(was);
		p = pair_in(b);
		p->lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
		nest(&p->lock, &outer);
		free(b);
		puts("done");
		return 0;
	} else if (!strcmp(mode, "tail")) {
		enum { TAIL_BLOCK = 1000 };
		size_t at = (TAIL_BLOCK - sizeof(pthread_mutex_t)) & ~(size_t)15;
		char *b = malloc(TAIL_BLOCK);
		pthread_mutex_t *l = (pthread_mutex_t *)(b + at);
		pthread_mutex_init(l, NULL);
		nest(&outer, l);
		uintptr_t was = (uintptr_t)b;
		free(b);
		b = malloc(TAIL_BLOCK);
		if ((uintptr_t)b != was) {
			fprintf(stderr, "reuse: the allocator did not reuse the address\n");
			return 3;
		}
		l = (pthread_mutex_t *)(b + at);
		*l = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
		nest(l, &outer);
		free(b);
		puts("done");
		return 0;
	} else if (!strcmp(mode, "again")) {
		char *b = malloc(PAIR_BLOCK);
		struct pair *p = pair_in(b);
		for (int round = 0; round < 2; round++) {
			pthread_mutex_init(&p->lock, NULL);
			nest(round ? &p->lock : &outer, round ? &outer : &p->lock);
			uintptr_t was = (uintptr_t)b;
			free(b);
			b = block_again(was);
			p = pair_in(b);
		}
		/* a third lock there, taken after outer as the first was: had the
		 * second been kept past its free, this closes a cycle with it */
		p->lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
		nest(&outer, &p->lock);
		free(b);
		puts("done");
		return 0;
	} else if (!strcmp(mode, "window") || !strcmp(mode, "thread")) {
		return reuse_window(!strcmp(mode, "thread"));
	} else if (!strcmp(mode, "mremap")) {
		size_t page = 4096;
		/* a guard page right after the mapping, so that growing it moves it */
		char *m = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			return 3;
		pthread_mutex_t *l = (pthread_mutex_t *)m;
		pthread_mutex_init(l, NULL);
		nest(&outer, l);
		char *moved = mremap(m, page, 4 * page, MREMAP_MAYMOVE);
		if (moved == MAP_FAILED || moved == m) {
			fprintf(stderr, "reuse: mremap did not move the mapping\n");
			return 3;
		}
		char *again = mmap(m, page, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (again != m) {
			fprintf(stderr, "reuse: the old address could not be mapped again\n");
			return 3;
		}
		l = (pthread_mutex_t *)again;
		*l = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
		nest(l, &outer);
		munmap(again, page);
		munmap(moved, 4 * page);
		puts("done");
		return 0;
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
		fprintf(stderr, "usage: reuse free|neighbour|tail|again|window|thread|mremap|destroy|init|same\n");
		return 2;
	}
	nest(&o->lock, &outer);
	if (o != &static_obj)
		free(o);
	puts("done");
	return 0;
}
