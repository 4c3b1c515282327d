/*
 * libs.c - micro-benchmarks of the lock libraries fencedep interposes
 * beyond pthreads: GLib's GMutex, GRecMutex and GRWLock, OpenMP's locks and
 * critical sections.
 *
 *	bench-libs CASE ITERATIONS
 *
 * as bench.c: a tenth of ITERATIONS as a warm-up, then ITERATIONS
 * operations timed with CLOCK_MONOTONIC around the loop only, and
 * "ns_per_op=<x>".  Built with `pkg-config --cflags --libs glib-2.0` and
 * -fopenmp, when both are there (bench/run); the same binary runs natively
 * and under LD_PRELOAD=libfencedep.so.  See bench/README.
 */
#include <glib.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_PROG "bench-libs"
#include "harness.h"

#define CHAIN_DEPTH 4
#define RW_THREADS 4
#define RW_WRITE_EVERY 100

/* --- GLib --- */

static GMutex gm_pair;

static void run_gmutex_pair(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		g_mutex_lock(&gm_pair);
		sink_count++;
		g_mutex_unlock(&gm_pair);
	}
}

static GMutex gm_chain[CHAIN_DEPTH];

static void run_gmutex_chain4(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		for (int d = 0; d < CHAIN_DEPTH; d++)
			g_mutex_lock(&gm_chain[d]);
		sink_count++;
		for (int d = CHAIN_DEPTH - 1; d >= 0; d--)
			g_mutex_unlock(&gm_chain[d]);
	}
}

static GRecMutex grm_pair;

static void run_grecmutex_pair(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		g_rec_mutex_lock(&grm_pair);
		sink_count++;
		g_rec_mutex_unlock(&grm_pair);
	}
}

/* The owner relocks: lock, lock, unlock, unlock is one operation. */
static void run_grecmutex_relock(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		g_rec_mutex_lock(&grm_pair);
		g_rec_mutex_lock(&grm_pair);
		sink_count++;
		g_rec_mutex_unlock(&grm_pair);
		g_rec_mutex_unlock(&grm_pair);
	}
}

static GRWLock grw_pair;

static void run_grwlock_pair(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		g_rw_lock_reader_lock(&grw_pair);
		sink_count++;
		g_rw_lock_reader_unlock(&grw_pair);
	}
}

/* --- OpenMP --- */

static omp_lock_t omp_pair;
static omp_nest_lock_t omp_nest;

static void run_omp_lock_pair(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		omp_set_lock(&omp_pair);
		sink_count++;
		omp_unset_lock(&omp_pair);
	}
}

static void run_omp_nest_pair(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		omp_set_nest_lock(&omp_nest);
		sink_count++;
		omp_unset_nest_lock(&omp_nest);
	}
}

static void run_omp_critical(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
#pragma omp critical(bench)
		sink_count++;
	}
}

/* --- threaded: grwlock_read --- */

static GRWLock grw_read;

/* As bench.c's rwlock_read: every thread reads; one operation in
 * RW_WRITE_EVERY, spread across the threads, is a write. */
static void grwlock_body(struct worker *w, unsigned long n)
{
	unsigned long local = 0;

	for (unsigned long i = 0; i < n; i++) {
		if ((i + (unsigned long)w->idx * 25) % RW_WRITE_EVERY == 0) {
			g_rw_lock_writer_lock(&grw_read);
			shared_count++;
			g_rw_lock_writer_unlock(&grw_read);
		} else {
			g_rw_lock_reader_lock(&grw_read);
			local += shared_count;
			g_rw_lock_reader_unlock(&grw_read);
		}
	}
	__atomic_fetch_add(&sink_total, local, __ATOMIC_RELAXED);
}

static double run_grwlock_read(unsigned long n)
{
	return run_threads(RW_THREADS, n, grwlock_body);
}

/* --- driver --- */

static const struct bench_case {
	const char *name;
	void (*run)(unsigned long n);
} cases[] = {
	{ "gmutex_pair", run_gmutex_pair },
	{ "gmutex_chain4", run_gmutex_chain4 },
	{ "grecmutex_pair", run_grecmutex_pair },
	{ "grecmutex_relock", run_grecmutex_relock },
	{ "grwlock_pair", run_grwlock_pair },
	{ "grwlock_read", NULL },
	{ "omp_lock_pair", run_omp_lock_pair },
	{ "omp_nest_pair", run_omp_nest_pair },
	{ "omp_critical", run_omp_critical },
};

int main(int argc, char **argv)
{
	unsigned long n = 0;
	const struct bench_case *c = &cases[bench_args(argc, argv, cases, sizeof(cases) / sizeof(cases[0]),
						       sizeof(cases[0]), &n)];
	double ns, t0;

	/* locks set up as programs do: GRecMutex and GRWLock by their init,
	 * OpenMP's by theirs; the static GMutexes need none */
	g_rec_mutex_init(&grm_pair);
	g_rw_lock_init(&grw_pair);
	g_rw_lock_init(&grw_read);
	omp_init_lock(&omp_pair);
	omp_init_nest_lock(&omp_nest);
	if (c->run) {
		c->run(n / 10 + 1); /* warm-up */
		t0 = now_ns();
		c->run(n);
		ns = now_ns() - t0;
	} else {
		ns = run_grwlock_read(n);
		n = n / RW_THREADS * RW_THREADS;
	}
	printf("ns_per_op=%.2f\n", ns / (double)n);
	return 0;
}
