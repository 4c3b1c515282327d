/*
 * rel-signal - a signal handler that takes a lock, delivered often (a fast
 * interval timer, and raise()) while the thread it interrupts locks,
 * unlocks and allocates: the handler can land anywhere, inside the runtime
 * included.  The interrupted code never holds the handler's lock, so the
 * program is correct.
 *
 *   rel-signal clean
 *   rel-signal exit    the handler of a one-shot timer calls exit(), which
 *                      is not async-signal-safe but is common: it lands in
 *                      a loop that makes a lock and an edge each round, so
 *                      often inside the runtime
 *   rel-signal fork    a fast timer's handler forks a child that exits at
 *                      once (a crash handler running a reporter does so),
 *                      100 times, over the same loop
 *   rel-signal keep    a faster timer's handler allocates a block and keeps
 *                      it, 4096 times over the same loop; main frees them
 *                      after: the blocks are the program's, whatever the
 *                      runtime was doing when the signal came
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t sig_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static volatile sig_atomic_t handled;
static unsigned long counter;

static void on_signal(int sig)
{
	(void)sig;
	pthread_mutex_lock(&sig_lock);
	handled = handled + 1;
	pthread_mutex_unlock(&sig_lock);
}

static void *other(void *arg)
{
	(void)arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (int i = 0; i < 200000; i++) {
		pthread_mutex_lock(&lock_a);
		pthread_mutex_lock(&lock_b);
		counter++;
		pthread_mutex_unlock(&lock_b);
		pthread_mutex_unlock(&lock_a);
	}
	return NULL;
}

static void exit_now(int sig)
{
	(void)sig;
	exit(0);
}

/* what the handler of the fork and keep modes has counted */
static volatile sig_atomic_t rounds;

#define KEEP 4096
static void *kept[KEEP];

static void keep_now(int sig)
{
	(void)sig;
	if (rounds < KEEP) {
		kept[rounds] = malloc(48);
		rounds = rounds + 1;
	}
}

/* how many rounds the fork mode wants */
#define FORK_ROUNDS 100

static void fork_now(int sig)
{
	(void)sig;
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	if (p > 0)
		waitpid(p, NULL, 0);
	rounds = rounds + 1;
	/* a fork and a wait that take longer than the timer's period (a
	 * loaded machine) leave a signal pending at every return: the loop
	 * would never run again to see the count, so the timer stops here */
	if (rounds >= FORK_ROUNDS) {
		struct itimerval off = { { 0, 0 }, { 0, 0 } };
		setitimer(ITIMER_REAL, &off, NULL);
	}
}

/* A lock made, nested under outer and freed, round after round, until the
 * handler has counted `until` (or for ever): the runtime is often inside
 * its graph, or capturing a stack, when the signal comes. */
static void rounds_under_timer(void (*handler)(int), long usec, int until)
{
	struct sigaction sa;
	struct itimerval it = { { 0, usec }, { 0, usec } };
	pthread_mutex_t outer = PTHREAD_MUTEX_INITIALIZER;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	/* the thread's first malloc() sets up its cache under the arena lock:
	 * a handler that allocates (keep) and lands there waits for that lock
	 * for good, with or without the checker, so it happens before the
	 * timer starts */
	free(malloc(1));
	setitimer(ITIMER_REAL, &it, NULL);
	while (!until || rounds < until) {
		pthread_mutex_t *m = malloc(sizeof(*m));
		pthread_mutex_init(m, NULL);
		pthread_mutex_lock(&outer);
		pthread_mutex_lock(m);
		pthread_mutex_unlock(m);
		pthread_mutex_unlock(&outer);
		pthread_mutex_destroy(m);
		free(m);
	}
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &off, NULL);
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	struct itimerval it = { { 0, 200 }, { 0, 200 } };
	pthread_t t;
	unsigned long local = 0;

	if (argc == 2 && !strcmp(argv[1], "exit"))
		rounds_under_timer(exit_now, 20000, 0);
	if (argc == 2 && !strcmp(argv[1], "keep")) {
		rounds_under_timer(keep_now, 100, KEEP);
		for (int i = 0; i < KEEP; i++)
			free(kept[i]);
		puts("done");
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "fork")) {
		rounds_under_timer(fork_now, 3000, FORK_ROUNDS);
		puts("done");
		return 0;
	}
	if (argc != 2 || strcmp(argv[1], "clean")) {
		fprintf(stderr, "usage: rel-signal clean|exit|fork|keep\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	/* the handlers must not nest: one that interrupted the other while it
	 * held sig_lock would wait for itself */
	sigfillset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	pthread_create(&t, NULL, other, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	for (int i = 0; i < 200000; i++) {
		pthread_mutex_lock(&lock_a);
		char *p = malloc(32 + i % 300);
		pthread_mutex_lock(&lock_b);
		p[0] = 1;
		local += p[0];
		counter++;
		pthread_mutex_unlock(&lock_b);
		free(p);
		pthread_mutex_unlock(&lock_a);
		if (i % 1000 == 0)
			raise(SIGUSR2);
	}
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &off, NULL);
	pthread_join(t, NULL);
	printf("counter %lu local %lu signals %s\n", counter, local, handled > 200 ? "many" : "few");
	return 0;
}
