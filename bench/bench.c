/*
 * bench.c - micro-benchmarks of the operations fencedep interposes.
 *
 *	bench CASE ITERATIONS
 *
 * runs ITERATIONS operations of CASE after a warm-up and prints
 * "ns_per_op=<x>": the wall time of the timed loop only (CLOCK_MONOTONIC),
 * divided by ITERATIONS.  The same binary runs natively and under
 * LD_PRELOAD=libfencedep.so; built with -fsanitize=thread it runs under
 * ThreadSanitizer, where the fence annotations are no-ops (the weak
 * references are null without the runtime).  See bench/README for what each
 * case measures.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fencedep.h"

#define BENCH_PROG "bench"
#include "harness.h"

#define CHAIN_DEPTH 4
#define RW_THREADS 4
#define RW_WRITE_EVERY 100
#define CONTENDED_THREADS 2
#define FENCES 64

static void *volatile sink_ptr;

/* --- pair: one uncontended lock+unlock --- */

static pthread_mutex_t pair_lock = PTHREAD_MUTEX_INITIALIZER;

static void run_pair(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		pthread_mutex_lock(&pair_lock);
		sink_count++;
		pthread_mutex_unlock(&pair_lock);
	}
}

/* --- chain4: four mutexes taken nested in a fixed order, then released --- */

static pthread_mutex_t chain_locks[CHAIN_DEPTH] = {
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
};

static void run_chain4(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		for (int d = 0; d < CHAIN_DEPTH; d++)
			pthread_mutex_lock(&chain_locks[d]);
		sink_count++;
		for (int d = CHAIN_DEPTH - 1; d >= 0; d--)
			pthread_mutex_unlock(&chain_locks[d]);
	}
}

/* --- malloc, malloc_locked: malloc+free of small sizes --- */

static size_t alloc_size(unsigned long i)
{
	return 16 + (i & 15) * 16; /* 16..256 bytes */
}

static void one_alloc(unsigned long i)
{
	char *p = malloc(alloc_size(i));

	if (!p)
		die("malloc");
	p[0] = (char)i;
	sink_ptr = p;
	free(sink_ptr);
}

static void run_malloc(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		one_alloc(i);
}

/* The same with a mutex alive in heap memory: from then on, free() must
 * look for locks in what it frees (a program with any heap lock). */
static void run_malloc_heaplock(unsigned long n)
{
	static pthread_mutex_t *volatile heap_mutex;

	if (!heap_mutex) {
		heap_mutex = malloc(sizeof(*heap_mutex));
		if (!heap_mutex)
			die("malloc");
		pthread_mutex_init(heap_mutex, NULL);
		pthread_mutex_lock(heap_mutex);
		pthread_mutex_unlock(heap_mutex);
	}
	for (unsigned long i = 0; i < n; i++)
		one_alloc(i);
}

static pthread_mutex_t alloc_lock = PTHREAD_MUTEX_INITIALIZER;

static void run_malloc_locked(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		pthread_mutex_lock(&alloc_lock);
		one_alloc(i);
		pthread_mutex_unlock(&alloc_lock);
	}
}

/* --- threaded cases: contended, rwlock_read --- */

static pthread_mutex_t contended_lock = PTHREAD_MUTEX_INITIALIZER;

static void contended_body(struct worker *w, unsigned long n)
{
	(void)w;
	for (unsigned long i = 0; i < n; i++) {
		pthread_mutex_lock(&contended_lock);
		shared_count++;
		pthread_mutex_unlock(&contended_lock);
	}
}

static pthread_rwlock_t rw_lock = PTHREAD_RWLOCK_INITIALIZER;

/* Every thread reads; one operation in RW_WRITE_EVERY, spread across the
 * threads, is a write. */
static void rwlock_body(struct worker *w, unsigned long n)
{
	unsigned long local = 0;

	for (unsigned long i = 0; i < n; i++) {
		if ((i + (unsigned long)w->idx * 25) % RW_WRITE_EVERY == 0) {
			pthread_rwlock_wrlock(&rw_lock);
			shared_count++;
		} else {
			pthread_rwlock_rdlock(&rw_lock);
			local += shared_count;
		}
		pthread_rwlock_unlock(&rw_lock);
	}
	__atomic_fetch_add(&sink_total, local, __ATOMIC_RELAXED);
}

/* --- fence: publish -> signal -> wait on one thread --- */

/*
 * A completion object as a program would write one: a flag under a mutex,
 * a condition variable for the waiters, and the fencedep annotations at
 * the points fencedep(3) asks for.  Without the runtime the annotations
 * cost a test of a null pointer; the mutex and condition variable are the
 * real work the native and TSan builds measure.
 */
struct fence {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int signalled;
};

static struct fence fences[FENCES];

static void fence_setup(void)
{
	for (int i = 0; i < FENCES; i++) {
		pthread_mutex_init(&fences[i].lock, NULL);
		pthread_cond_init(&fences[i].cond, NULL);
	}
}

static void fence_cycle(struct fence *f)
{
	/* init: the slot is recycled for a new fence */
	f->signalled = 0;
	fdep_fence_init(f, "bench.fence");
	/* publish: the fence becomes visible, the thread is on its
	 * signalling path */
	fdep_fence_publish(f);
	/* signal */
	pthread_mutex_lock(&f->lock);
	fdep_fence_signal(f);
	f->signalled = 1;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	/* wait: already signalled, so it does not block */
	fdep_fence_wait(f);
	pthread_mutex_lock(&f->lock);
	while (!f->signalled)
		pthread_cond_wait(&f->cond, &f->lock);
	pthread_mutex_unlock(&f->lock);
}

static void run_fence(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		fence_cycle(&fences[i % FENCES]);
}

/* --- waits: condition-variable and semaphore ping-pong, create+join --- */

static pthread_mutex_t pp_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pp_cond = PTHREAD_COND_INITIALIZER;
static int pp_turn;

/* Two workers hand a turn back and forth under one mutex and one cv; an
 * operation is one handoff by one of them. */
static void condvar_body(struct worker *w, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		pthread_mutex_lock(&pp_lock);
		while (pp_turn != w->idx)
			pthread_cond_wait(&pp_cond, &pp_lock);
		pp_turn = !w->idx;
		pthread_cond_signal(&pp_cond);
		pthread_mutex_unlock(&pp_lock);
	}
}

static sem_t pp_sem[2];

/* The same with two semaphores: worker 0 posts the first and waits for
 * the second, worker 1 the other way round. */
static void sem_body(struct worker *w, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		if (w->idx == 0) {
			sem_post(&pp_sem[0]);
			sem_wait(&pp_sem[1]);
		} else {
			sem_wait(&pp_sem[0]);
			sem_post(&pp_sem[1]);
		}
	}
}

static void *thread_empty(void *arg)
{
	return arg;
}

/* A thread created and joined: an operation is both. */
static void run_create_join(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, thread_empty, NULL))
			die("pthread_create");
		pthread_join(t, NULL);
	}
}

/* --- driver --- */

static const struct bench_case {
	const char *name;
	void (*run)(unsigned long n);   /* single-threaded cases */
	void (*body)(struct worker *, unsigned long); /* threaded cases */
	int threads;
} cases[] = {
	{ "pair", run_pair, NULL, 1 },
	{ "chain4", run_chain4, NULL, 1 },
	{ "malloc", run_malloc, NULL, 1 },
	{ "malloc_heaplock", run_malloc_heaplock, NULL, 1 },
	{ "malloc_locked", run_malloc_locked, NULL, 1 },
	{ "contended", NULL, contended_body, CONTENDED_THREADS },
	{ "rwlock_read", NULL, rwlock_body, RW_THREADS },
	{ "fence", run_fence, NULL, 1 },
	{ "condvar_pingpong", NULL, condvar_body, 2 },
	{ "sem_pingpong", NULL, sem_body, 2 },
	{ "create_join", run_create_join, NULL, 1 },
};

int main(int argc, char **argv)
{
	unsigned long n = 0;
	const struct bench_case *c = &cases[bench_args(argc, argv, cases, sizeof(cases) / sizeof(cases[0]),
						       sizeof(cases[0]), &n)];
	double ns, t0;

	if (c->run == run_fence)
		fence_setup();
	if (c->body == sem_body && (sem_init(&pp_sem[0], 0, 0) || sem_init(&pp_sem[1], 0, 0)))
		die("sem_init");
	if (c->run) {
		c->run(n / 10 + 1); /* warm-up */
		t0 = now_ns();
		c->run(n);
		ns = now_ns() - t0;
	} else {
		ns = run_threads(c->threads, n, c->body);
		n = n / (unsigned long)c->threads * (unsigned long)c->threads;
	}
	printf("ns_per_op=%.2f\n", ns / (double)n);
	return 0;
}
