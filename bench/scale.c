/*
 * scale.c - how fencedep's tables hold up at scale.
 *
 *	scale mutexes N           N live heap mutexes, each locked once
 *	scale edges NCLASSES NEDGES
 *	                          NEDGES acyclic dependencies between NCLASSES
 *	                          mutexes (mutex i taken before mutex j, i < j)
 *	scale threads N           N threads alive at once, each taking two
 *	                          mutexes in a fixed order
 *	scale held N              one thread holding N mutexes at once
 *	scale requests N          N per-request heap mutexes, one after the
 *	                          other, each initialised, locked under one
 *	                          long-lived mutex, destroyed and freed
 *	scale par KIND T N        T threads, each doing N operations of KIND on
 *	                          objects of its own: lock (lock+unlock of its
 *	                          mutex), malloc (malloc+free of 64 bytes),
 *	                          fence (init, publish, signal and wait of its
 *	                          fence, a new fence every 32 cycles), event
 *	                          (post+wait of its semaphore); prints
 *	                          "ns_per_op=" over all the threads' operations
 *
 * Each prints key=value lines: "seconds=" (wall time of the work), and for
 * mutexes "rss_before=" and "rss_after=" in bytes (resident set from
 * /proc/self/statm around the creation of the mutexes, which stay alive).
 * The same binary runs natively and under LD_PRELOAD=libfencedep.so.
 */
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fencedep.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "scale: %s failed\n", what);
	exit(1);
}

static unsigned long rss_bytes(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		die("open /proc/self/statm");
	if (fscanf(f, "%lu %lu", &size, &resident) != 2)
		die("read /proc/self/statm");
	fclose(f);
	return resident * (unsigned long)sysconf(_SC_PAGESIZE);
}

static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static pthread_mutex_t *mutex_array(unsigned long n)
{
	pthread_mutex_t *m = calloc(n, sizeof(*m));

	if (!m)
		die("calloc");
	for (unsigned long i = 0; i < n; i++)
		if (pthread_mutex_init(&m[i], NULL))
			die("pthread_mutex_init");
	return m;
}

/* The runtime learns of a mutex the first time it is taken: lock each once
 * so that every one of them has its record. */
static int scale_mutexes(unsigned long n)
{
	unsigned long before = rss_bytes();
	double t0 = now_s();
	pthread_mutex_t *m = mutex_array(n);

	for (unsigned long i = 0; i < n; i++) {
		pthread_mutex_lock(&m[i]);
		pthread_mutex_unlock(&m[i]);
	}
	double t1 = now_s();
	unsigned long after = rss_bytes();

	printf("seconds=%.3f\nrss_before=%lu\nrss_after=%lu\n", t1 - t0, before, after);
	return 0;
}

/* Random pairs (i, j), i < j, always taken lower index first: a DAG, so a
 * correct checker reports nothing however many edges there are. */
static int scale_edges(unsigned long nclasses, unsigned long nedges)
{
	pthread_mutex_t *m = mutex_array(nclasses);
	uint64_t seed = 0x2545f4914f6cdd1dull;
	double t0 = now_s();

	for (unsigned long e = 0; e < nedges; e++) {
		unsigned long i = (unsigned long)(rnd(&seed) % nclasses);
		unsigned long j = (unsigned long)(rnd(&seed) % nclasses);

		if (i == j)
			j = (j + 1) % nclasses;
		if (i > j) {
			unsigned long t = i;
			i = j;
			j = t;
		}
		pthread_mutex_lock(&m[i]);
		pthread_mutex_lock(&m[j]);
		pthread_mutex_unlock(&m[j]);
		pthread_mutex_unlock(&m[i]);
	}
	printf("seconds=%.3f\n", now_s() - t0);
	return 0;
}

static pthread_mutex_t outer = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t inner = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t all_alive;
static unsigned long taken;

static void *thread_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&outer);
	pthread_mutex_lock(&inner);
	taken++;
	pthread_mutex_unlock(&inner);
	pthread_mutex_unlock(&outer);
	/* no thread leaves before all of them exist */
	pthread_barrier_wait(&all_alive);
	return NULL;
}

static int scale_threads(unsigned long n)
{
	pthread_t *t = calloc(n, sizeof(*t));
	pthread_attr_t attr;
	double t0 = now_s();

	if (!t || pthread_barrier_init(&all_alive, NULL, (unsigned)n))
		die("setup");
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (unsigned long i = 0; i < n; i++)
		if (pthread_create(&t[i], &attr, thread_main, NULL))
			die("pthread_create");
	for (unsigned long i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("seconds=%.3f\n", now_s() - t0);
	if (taken != n)
		die("count");
	return 0;
}

#define HELD_ROUNDS 20

static int scale_held(unsigned long n)
{
	pthread_mutex_t *m = mutex_array(n);
	double t0 = now_s();

	for (int r = 0; r < HELD_ROUNDS; r++) {
		for (unsigned long i = 0; i < n; i++)
			pthread_mutex_lock(&m[i]);
		for (unsigned long i = n; i-- > 0;)
			pthread_mutex_unlock(&m[i]);
	}
	printf("seconds=%.3f\n", now_s() - t0);
	return 0;
}

static int scale_requests(unsigned long n)
{
	static pthread_mutex_t global = PTHREAD_MUTEX_INITIALIZER;
	double t0 = now_s();

	for (unsigned long i = 0; i < n; i++) {
		pthread_mutex_t *m = malloc(sizeof(*m));
		if (!m || pthread_mutex_init(m, NULL))
			die("per-request mutex");
		pthread_mutex_lock(&global);
		pthread_mutex_lock(m);
		pthread_mutex_unlock(m);
		pthread_mutex_unlock(&global);
		pthread_mutex_destroy(m);
		free(m);
	}
	printf("seconds=%.3f\n", now_s() - t0);
	return 0;
}

static unsigned long number(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*end || v == 0) {
		fprintf(stderr, "scale: invalid number '%s'\n", s);
		exit(2);
	}
	return v;
}

/* ---- par: threads on private objects ---- */

enum par_kind { PAR_LOCK, PAR_MALLOC, PAR_FENCE, PAR_EVENT };

struct par_worker {
	pthread_t thread;
	enum par_kind kind;
	unsigned long n;
	/* the thread's own objects, on lines of their own */
	pthread_mutex_t mutex __attribute__((aligned(64)));
	sem_t sem;
	char fences[32][64];
	void *volatile sink;
} __attribute__((aligned(64)));

/* The start and the end of the timed part, for threads on objects of their
 * own: atomics, not a barrier (a pthread barrier is an event the checker
 * would see, its context in every operation after it). */
static atomic_ulong par_ready, par_go, par_done;

static void par_spin_until(atomic_ulong *v, unsigned long n)
{
	while (atomic_load(v) < n)
		sched_yield();
}

static void par_run(struct par_worker *w, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		switch (w->kind) {
		case PAR_LOCK:
			pthread_mutex_lock(&w->mutex);
			pthread_mutex_unlock(&w->mutex);
			break;
		case PAR_MALLOC:
			w->sink = malloc(64);
			free(w->sink);
			break;
		case PAR_FENCE: {
			void *f = w->fences[i % 32];
			fdep_fence_init(f, "scale.fence");
			fdep_fence_publish(f);
			fdep_fence_signal(f);
			fdep_fence_wait(f);
			break;
		}
		case PAR_EVENT:
			sem_post(&w->sem);
			sem_wait(&w->sem);
			break;
		}
	}
}

static void *par_main(void *arg)
{
	struct par_worker *w = arg;

	par_run(w, w->n / 10 + 1); /* warm-up */
	atomic_fetch_add(&par_ready, 1);
	par_spin_until(&par_go, 1);
	par_run(w, w->n);
	atomic_fetch_add(&par_done, 1);
	return NULL;
}

static int scale_par(const char *kind, unsigned long nthreads, unsigned long n)
{
	static const char *const kinds[] = { "lock", "malloc", "fence", "event" };
	struct par_worker *w;
	int k = -1;
	double t0, t1;

	for (int i = 0; i < 4; i++)
		if (!strcmp(kind, kinds[i]))
			k = i;
	if (k < 0 || nthreads > 64) {
		fprintf(stderr, "scale: par wants lock, malloc, fence or event, and 1 to 64 threads\n");
		return 2;
	}
	if (posix_memalign((void **)&w, 64, nthreads * sizeof(*w)))
		die("posix_memalign");
	memset(w, 0, nthreads * sizeof(*w));
	for (unsigned long i = 0; i < nthreads; i++) {
		w[i].kind = (enum par_kind)k;
		w[i].n = n;
		pthread_mutex_init(&w[i].mutex, NULL);
		sem_init(&w[i].sem, 0, 0);
		if (pthread_create(&w[i].thread, NULL, par_main, &w[i]))
			die("pthread_create");
	}
	par_spin_until(&par_ready, nthreads);
	t0 = now_s();
	atomic_store(&par_go, 1);
	par_spin_until(&par_done, nthreads);
	t1 = now_s();
	for (unsigned long i = 0; i < nthreads; i++)
		pthread_join(w[i].thread, NULL);
	printf("seconds=%.6f\nns_per_op=%.2f\n", t1 - t0, (t1 - t0) * 1e9 / ((double)n * nthreads));
	for (unsigned long i = 0; i < nthreads; i++) {
		pthread_mutex_destroy(&w[i].mutex);
		sem_destroy(&w[i].sem);
		for (int j = 0; j < 32; j++)
			fdep_fence_destroy(w[i].fences[j]);
	}
	free(w);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "mutexes") == 0)
		return scale_mutexes(number(argv[2]));
	if (argc == 4 && strcmp(argv[1], "edges") == 0 && number(argv[2]) >= 2)
		return scale_edges(number(argv[2]), number(argv[3]));
	if (argc == 3 && strcmp(argv[1], "threads") == 0)
		return scale_threads(number(argv[2]));
	if (argc == 3 && strcmp(argv[1], "held") == 0)
		return scale_held(number(argv[2]));
	if (argc == 3 && strcmp(argv[1], "requests") == 0)
		return scale_requests(number(argv[2]));
	if (argc == 5 && strcmp(argv[1], "par") == 0)
		return scale_par(argv[2], number(argv[3]), number(argv[4]));
	fputs("usage: scale mutexes N | edges NCLASSES NEDGES | threads N | held N | requests N"
	      " | par KIND THREADS N\n",
	      stderr);
	return 2;
}
