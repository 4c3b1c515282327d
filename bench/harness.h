/*
 * harness.h - what bench.c and libs.c share: the clock, the sinks that keep
 * the measured work from being optimised away, the threaded runner and the
 * command line (CASE ITERATIONS).  Each includes it once, after naming its
 * program in BENCH_PROG.
 */
#ifndef BENCH_HARNESS_H
#define BENCH_HARNESS_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Stores the compiler cannot drop: they keep malloc+free and the critical
 * sections from being optimised away. */
static volatile unsigned long sink_count;
static unsigned long sink_total;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "%s: %s failed\n", BENCH_PROG, what);
	exit(1);
}

struct worker {
	pthread_t thread;
	unsigned long ops;
	int idx;
	void (*body)(struct worker *w, unsigned long n);
};

static pthread_barrier_t start_barrier;
static unsigned long shared_count;

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	w->body(w, w->ops / 10 + 1); /* warm-up */
	pthread_barrier_wait(&start_barrier);
	w->body(w, w->ops);
	return NULL;
}

/* Runs nthreads (at most 8) workers of n/nthreads operations each; returns
 * the wall time from the moment all of them are warmed up until the last
 * one ends. */
static double run_threads(int nthreads, unsigned long n,
			  void (*body)(struct worker *, unsigned long))
{
	struct worker w[8];
	double t0;

	if (nthreads > 8 || pthread_barrier_init(&start_barrier, NULL, (unsigned)nthreads + 1))
		die("pthread_barrier_init");
	for (int i = 0; i < nthreads; i++) {
		w[i].ops = n / (unsigned long)nthreads;
		w[i].idx = i;
		w[i].body = body;
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]))
			die("pthread_create");
	}
	pthread_barrier_wait(&start_barrier);
	t0 = now_ns();
	for (int i = 0; i < nthreads; i++)
		pthread_join(w[i].thread, NULL);
	return now_ns() - t0;
}

/*
 * CASE ITERATIONS: the index of the case named argv[1] among `count`
 * records of `size` bytes, each beginning with its name, and ITERATIONS in
 * *n.  A wrong call prints the usage and exits with 2.
 */
static size_t bench_args(int argc, char **argv, const void *cases, size_t count, size_t size,
			 unsigned long *n)
{
	size_t found = count;
	char *end = NULL;

	for (size_t i = 0; argc == 3 && i < count; i++)
		if (!strcmp(argv[1], *(const char *const *)((const char *)cases + i * size)))
			found = i;
	if (argc == 3)
		*n = strtoul(argv[2], &end, 10);
	if (found == count || !end || *end || !*n) {
		fprintf(stderr, "usage: %s CASE ITERATIONS\ncases:", BENCH_PROG);
		for (size_t i = 0; i < count; i++)
			fprintf(stderr, " %s", *(const char *const *)((const char *)cases + i * size));
		fputc('\n', stderr);
		exit(2);
	}
	return found;
}

#endif
