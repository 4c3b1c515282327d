/*
 * rel-hostile - programs for the hostile and unlucky conditions of
 * tests/test_hostile.c:
 *
 *   rel-hostile deep-ring N DEPTH bug|clean
 *        N threads, one after another, each DEPTH calls deep, take lock i
 *        then lock i+1 (bug: the last closes an N-lock cycle; clean: it
 *        takes lock 0 then lock N-1)
 *   rel-hostile exec PROG [ARGS...]
 *        one lock-order inversion, then exec PROG: the new image of the
 *        same process
 *   rel-hostile exec-clean PROG [ARGS...]
 *        no finding, then exec PROG
 *   rel-hostile fork-exec PROG [ARGS...]
 *        one lock-order inversion, then a child that execs PROG; prints
 *        "child <its status>"
 *   rel-hostile leave HOW inversion|clean
 *        one lock-order inversion (or none), prints "unflushed" without
 *        flushing it, runs a vfork() child and a fork() child that end by
 *        HOW with statuses 5 and 7 and prints theirs on stderr, then ends
 *        by HOW (_exit, _Exit, quick_exit or exit) with status 3
 *   rel-hostile cancel-in-report
 *        a thread with a cancellation pending reports an inversion (the
 *        report's writes are cancellation points), then acts on it at
 *        pthread_testcancel(); the main thread joins it, prints
 *        "cancelled <1 when its report was made>" and reports a second
 *        inversion
 *   rel-hostile many N
 *        N distinct lock-order inversions, printing "found <i>" after each
 *   rel-hostile pingpong THREADS MS
 *        THREADS threads pass a token around a ring (one mutex, a
 *        condition per thread) for MS milliseconds: clean
 *   rel-hostile idle-waiter MS
 *        a worker waits, holding nothing, for work that the main thread
 *        (asleep, outside any tracked wait) hands it after MS ms: clean
 *   rel-hostile stalled MS
 *        the worker and the main thread both wait on conditions no one
 *        signals, for MS ms (timed waits): nothing can run, a hang
 *   rel-hostile waits-holding MS
 *        the worker holds a mutex while it waits MS ms on a condition no
 *        one signals; the main thread sleeps: a hang
 *   rel-hostile oom-after-finding
 *        one lock-order inversion, then the address space is limited to
 *        what is mapped plus 1 MiB and 400,000 mutexes are locked: the
 *        runtime runs out of memory
 *   rel-hostile chains BITS
 *        an acyclic stress of the chain cache: BITS static locks, always
 *        taken in one order, every subset of them in turn (2^BITS chains
 *        over BITS*(BITS-1)/2 edges); prints "peak <VmHWM in kB>"
 *   rel-hostile churn N [invert]
 *        N heap mutexes, each locked under a static lock, destroyed and
 *        freed; with invert, two heap locks made after the churn are taken
 *        both ways, and the static lock is taken under another lock that
 *        was taken under it before the churn (two inversions);
 *        prints "peak <VmHWM in kB>"
 *   rel-hostile fsize-after-finding BYTES
 *        one lock-order inversion, then files are limited to BYTES
 *        (RLIMIT_FSIZE, SIGXFSZ ignored), as a full disk would, and a
 *        second inversion: its report write fails when BYTES is small
 *   rel-hostile finding-out-of-memory N DEPTH
 *        locks 0..N-1 taken in a ring's order, each pair DEPTH calls deep,
 *        then the address space is limited to what is mapped plus 1 MiB
 *        and the program's heap is filled until malloc fails; then lock
 *        N-1 then lock 0: a cycle of N locks found with no memory left
 *        (with "clean", lock 0 then lock N-1: in order, no finding)
 *   rel-hostile inversion
 *        one lock-order inversion, exit 0
 *   rel-hostile nothing
 *        no lock at all, exit 0
 */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nest.h"

static pthread_mutex_t *ring;
static int ring_n;
static volatile int sink;

struct step {
	pthread_mutex_t *first, *second;
	int depth;
};

static __attribute__((noinline)) void deep(struct step *s, int depth)
{
	if (depth > 0) {
		deep(s, depth - 1);
		sink++; /* not a tail call: every level stays on the stack */
		return;
	}
	nest(s->first, s->second);
}

static void *ring_thread(void *arg)
{
	struct step *s = arg;

	deep(s, s->depth);
	return NULL;
}

static int deep_ring(int n, int depth, int bug)
{
	ring = calloc((size_t)n, sizeof(*ring));
	ring_n = n;
	for (int i = 0; i < n; i++)
		pthread_mutex_init(&ring[i], NULL);
	for (int i = 0; i < n; i++) {
		struct step s = { &ring[i], &ring[(i + 1) % n], depth };
		if (i == n - 1 && !bug)
			s = (struct step){ &ring[0], &ring[n - 1], depth };
		pthread_t t;
		pthread_create(&t, NULL, ring_thread, &s);
		pthread_join(t, NULL);
	}
	puts("done");
	return 0;
}

/* ---- the watchdog ---- */

static pthread_mutex_t pp_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pp_cond[16];
static int pp_turn, pp_threads, pp_stop;

static void *pp_thread(void *arg)
{
	int me = (int)(long)arg;

	pthread_mutex_lock(&pp_lock);
	while (!pp_stop) {
		while (pp_turn != me && !pp_stop)
			pthread_cond_wait(&pp_cond[me], &pp_lock);
		pp_turn = (me + 1) % pp_threads;
		pthread_cond_signal(&pp_cond[pp_turn]);
	}
	pthread_mutex_unlock(&pp_lock);
	return NULL;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts))
		;
}

static int pingpong(int threads, int ms)
{
	pthread_t t[16];

	pp_threads = threads < 2 ? 2 : threads > 16 ? 16 : threads;
	for (int i = 0; i < pp_threads; i++)
		pthread_cond_init(&pp_cond[i], NULL);
	for (int i = 0; i < pp_threads; i++)
		pthread_create(&t[i], NULL, pp_thread, (void *)(long)i);
	sleep_ms(ms);
	pthread_mutex_lock(&pp_lock);
	pp_stop = 1;
	for (int i = 0; i < pp_threads; i++)
		pthread_cond_signal(&pp_cond[i]);
	pthread_mutex_unlock(&pp_lock);
	for (int i = 0; i < pp_threads; i++)
		pthread_join(t[i], NULL);
	puts("done");
	return 0;
}

static pthread_mutex_t w_lock = PTHREAD_MUTEX_INITIALIZER, w_held = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t w_cond = PTHREAD_COND_INITIALIZER, w_never = PTHREAD_COND_INITIALIZER;
static int w_work, w_ms;

static void *idle_worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&w_lock);
	while (!w_work)
		pthread_cond_wait(&w_cond, &w_lock);
	pthread_mutex_unlock(&w_lock);
	return NULL;
}

/* A condition no one signals, waited for ms (a timed wait, so that the
 * program ends). */
static void wait_never(int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w_lock);
	while (pthread_cond_timedwait(&w_never, &w_lock, &ts) == 0)
		;
	pthread_mutex_unlock(&w_lock);
}

static void *stalled_worker(void *arg)
{
	(void)arg;
	wait_never(w_ms);
	return NULL;
}

static void *holding_worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&w_held);
	wait_never(w_ms);
	pthread_mutex_unlock(&w_held);
	return NULL;
}

static int watchdog_case(const char *mode, int ms)
{
	pthread_t t;

	w_ms = ms;
	if (!strcmp(mode, "idle-waiter")) {
		pthread_create(&t, NULL, idle_worker, NULL);
		sleep_ms(ms);
		pthread_mutex_lock(&w_lock);
		w_work = 1;
		pthread_cond_signal(&w_cond);
		pthread_mutex_unlock(&w_lock);
	} else if (!strcmp(mode, "stalled")) {
		pthread_create(&t, NULL, stalled_worker, NULL);
		wait_never(ms);
	} else {
		pthread_create(&t, NULL, holding_worker, NULL);
		sleep_ms(ms + 200);
	}
	pthread_join(t, NULL);
	puts("done");
	return 0;
}

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;

static void inversion(void)
{
	nest(&a, &b);
	nest(&b, &a);
}

/* A process that leaves by `how`, skipping what exit() would do. */
static _Noreturn void leave(const char *how, int status)
{
	if (!strcmp(how, "_exit"))
		_exit(status);
	if (!strcmp(how, "_Exit"))
		_Exit(status);
	if (!strcmp(how, "quick_exit"))
		quick_exit(status);
	exit(status);
}

static volatile int reported;

static void *cancelled_reporter(void *arg)
{
	(void)arg;
	pthread_cancel(pthread_self()); /* deferred: pending until a point */
	inversion();
	reported = 1;
	pthread_testcancel();
	return NULL;
}

static int cancel_in_report(void)
{
	static pthread_mutex_t c = PTHREAD_MUTEX_INITIALIZER, d = PTHREAD_MUTEX_INITIALIZER;
	pthread_t t;
	void *res = NULL;

	pthread_create(&t, NULL, cancelled_reporter, NULL);
	pthread_join(t, &res);
	printf("cancelled %d\n", res == PTHREAD_CANCELED && reported);
	fflush(stdout);
	nest(&c, &d);
	nest(&d, &c);
	puts("done");
	return 0;
}

static int leave_children(const char *how, bool invert)
{
	if (invert)
		inversion();
	printf("unflushed");
	/* children of a process that reported: their status is their own */
	pid_t pid = vfork();
	if (pid == 0)
		_exit(5); /* a vfork() child may call nothing else */
	int vst = -1, fst = -1;
	waitpid(pid, &vst, 0);
	pid = fork();
	if (pid == 0)
		leave(how, 7);
	waitpid(pid, &fst, 0);
	fprintf(stderr, "children %d %d\n", WIFEXITED(vst) ? WEXITSTATUS(vst) : -1,
		WIFEXITED(fst) ? WEXITSTATUS(fst) : -1);
	leave(how, 3);
}

static size_t mapped_now(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	size_t kb = 0;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmSize:", 7))
			kb = strtoul(line + 7, NULL, 10);
	if (f)
		fclose(f);
	return kb * 1024;
}

static int finding_out_of_memory(int n, int depth, int clean)
{
	pthread_mutex_t *locks = calloc((size_t)n, sizeof(*locks));

	for (int i = 0; i < n; i++)
		pthread_mutex_init(&locks[i], NULL);
	for (int i = 0; i + 1 < n; i++) {
		struct step st = { &locks[i], &locks[i + 1], depth };
		deep(&st, depth);
	}
	struct rlimit rl = { mapped_now() + (1 << 20), 0 };
	rl.rlim_max = rl.rlim_cur;
	if (setrlimit(RLIMIT_AS, &rl)) {
		perror("setrlimit");
		return 1;
	}
	size_t held = 0;
	for (size_t size = 1 << 20; size >= 16; size /= 2)
		while (malloc(size))
			held += size;
	struct step last = { &locks[n - 1], &locks[0], depth };
	if (clean)
		last = (struct step){ &locks[0], &locks[n - 1], depth };
	deep(&last, depth);
	printf("done%s\n", held ? "" : " (nothing allocated)");
	return 0;
}

static int oom_after_finding(void)
{
	enum { NLOCKS = 400000 };
	pthread_mutex_t *locks = calloc(NLOCKS, sizeof(*locks));

	inversion();
	puts("found");
	fflush(stdout);
	struct rlimit rl = { mapped_now() + (1 << 20), 0 };
	rl.rlim_max = rl.rlim_cur;
	if (setrlimit(RLIMIT_AS, &rl)) {
		perror("setrlimit");
		return 1;
	}
	for (int i = 0; i < NLOCKS; i++) {
		pthread_mutex_init(&locks[i], NULL);
		pthread_mutex_lock(&locks[i]);
		pthread_mutex_unlock(&locks[i]);
	}
	puts("done");
	return 0;
}

static long peak_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmHWM:", 6))
			kb = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return kb;
}

static int chains(int bits)
{
	static pthread_mutex_t locks[24];

	if (bits < 2 || bits > 24)
		return 2;
	for (int i = 0; i < bits; i++)
		pthread_mutex_init(&locks[i], NULL);
	for (unsigned long mask = 1; mask < 1ul << bits; mask++) {
		for (int i = 0; i < bits; i++)
			if (mask & 1ul << i)
				pthread_mutex_lock(&locks[i]);
		for (int i = bits - 1; i >= 0; i--)
			if (mask & 1ul << i)
				pthread_mutex_unlock(&locks[i]);
	}
	printf("peak %ld\n", peak_kb());
	return 0;
}

static int churn(long n, int invert)
{
	static pthread_mutex_t outer = PTHREAD_MUTEX_INITIALIZER, late = PTHREAD_MUTEX_INITIALIZER;

	if (invert)
		nest(&outer, &late);
	for (long i = 0; i < n; i++) {
		pthread_mutex_t *m = malloc(sizeof(*m));
		pthread_mutex_init(m, NULL);
		nest(&outer, m);
		pthread_mutex_destroy(m);
		free(m);
	}
	if (invert) {
		/* and two heap locks made now, in the records, ids and places in
		 * the order of dead ones, taken both ways */
		pthread_mutex_t *m = malloc(2 * sizeof(*m));
		pthread_mutex_init(&m[0], NULL);
		pthread_mutex_init(&m[1], NULL);
		nest(&m[0], &m[1]);
		nest(&m[1], &m[0]);
		nest(&late, &outer);
	}
	printf("peak %ld\n", peak_kb());
	return 0;
}

static pthread_mutex_t c = PTHREAD_MUTEX_INITIALIZER, d = PTHREAD_MUTEX_INITIALIZER;

static int fsize_after_finding(long bytes)
{
	inversion();
	puts("found");
	fflush(stdout);
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit rl = { (rlim_t)bytes, (rlim_t)bytes };
	if (setrlimit(RLIMIT_FSIZE, &rl)) {
		perror("setrlimit");
		return 1;
	}
	nest(&c, &d);
	nest(&d, &c);
	puts("done");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "chains"))
		return chains(atoi(argv[2]));
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "churn"))
		return churn(atol(argv[2]), argc == 4 && !strcmp(argv[3], "invert"));
	if (argc == 5 && !strcmp(argv[1], "deep-ring"))
		return deep_ring(atoi(argv[2]), atoi(argv[3]), !strcmp(argv[4], "bug"));
	if (argc >= 3 && !strcmp(argv[1], "exec")) {
		inversion();
		fflush(stdout);
		execv(argv[2], argv + 2);
		perror("execv");
		return 127;
	}
	if (argc >= 3 && !strcmp(argv[1], "exec-clean")) {
		execv(argv[2], argv + 2);
		perror("execv");
		return 127;
	}
	if (argc >= 3 && !strcmp(argv[1], "fork-exec")) {
		inversion();
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			execv(argv[2], argv + 2);
			_exit(127);
		}
		int st;
		waitpid(pid, &st, 0);
		printf("child %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "cancel-in-report"))
		return cancel_in_report();
	if (argc == 4 && !strcmp(argv[1], "leave"))
		return leave_children(argv[2], !strcmp(argv[3], "inversion"));
	if (argc == 3 && !strcmp(argv[1], "many")) {
		int n = atoi(argv[2]);
		for (int i = 0; i < n; i++) {
			pthread_mutex_t *m = malloc(2 * sizeof(*m));
			pthread_mutex_init(&m[0], NULL);
			pthread_mutex_init(&m[1], NULL);
			nest(&m[0], &m[1]);
			nest(&m[1], &m[0]);
			printf("found %d\n", i + 1);
			fflush(stdout);
		}
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "pingpong"))
		return pingpong(atoi(argv[2]), atoi(argv[3]));
	if (argc == 3 && (!strcmp(argv[1], "idle-waiter") || !strcmp(argv[1], "stalled") ||
			  !strcmp(argv[1], "waits-holding")))
		return watchdog_case(argv[1], atoi(argv[2]));
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "finding-out-of-memory"))
		return finding_out_of_memory(atoi(argv[2]), atoi(argv[3]),
					     argc == 5 && !strcmp(argv[4], "clean"));
	if (argc == 2 && !strcmp(argv[1], "oom-after-finding"))
		return oom_after_finding();
	if (argc == 3 && !strcmp(argv[1], "fsize-after-finding"))
		return fsize_after_finding(atol(argv[2]));
	if (argc == 2 && !strcmp(argv[1], "inversion")) {
		inversion();
		puts("done");
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "nothing")) {
		puts("done");
		return 0;
	}
	fprintf(stderr, "usage: rel-hostile deep-ring N DEPTH bug|clean | exec PROG ARGS | "
			"inversion | nothing\n");
	return 2;
}
