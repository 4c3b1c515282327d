/*
 * fork-held - fork while another thread holds a lock.
 *
 *   fork-held held   a second thread holds `held` (and waits, holding it)
 *                    while the main thread forks once
 *   fork-held busy   the same, with a third thread locking, unlocking and
 *                    allocating in a loop while the main thread forks ten
 *                    times
 *   fork-held race   twenty rounds of `held`, each with a new thread and
 *                    new locks, the fork 0 to 95 us after the holder goes
 *                    for its second lock, a dependency the runtime has
 *                    never seen (so it records its stack)
 *
 * Each child takes locks of its own, allocates, prints and exits normally;
 * the parent checks that every child exited with status 0.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t held, gate;
static pthread_cond_t go = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t holding;
static int released;
static atomic_int stop;

static void *holder(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&held);
	pthread_barrier_wait(&holding);
	pthread_mutex_lock(&gate);
	while (!released)
		pthread_cond_wait(&go, &gate);
	pthread_mutex_unlock(&gate);
	pthread_mutex_unlock(&held);
	return NULL;
}

static void *busy(void *arg)
{
	pthread_mutex_t *mine = arg;

	while (!atomic_load(&stop)) {
		pthread_mutex_lock(mine);
		free(malloc(64));
		pthread_mutex_unlock(mine);
	}
	return NULL;
}

static void child(int i)
{
	pthread_mutex_t *a = malloc(sizeof(*a)), b;

	pthread_mutex_init(a, NULL);
	pthread_mutex_init(&b, NULL);
	pthread_mutex_lock(a);
	pthread_mutex_lock(&b);
	char *s = strdup("child");
	printf("%s %d\n", s, i);
	free(s);
	pthread_mutex_unlock(&b);
	pthread_mutex_unlock(a);
	pthread_mutex_destroy(&b);
	pthread_mutex_destroy(a);
	free(a);
	exit(0);
}

static void spin_us(int us)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000000 + (t.tv_nsec - t0.tv_nsec) / 1000 < us);
}

/* Did the child exit with status 0 within ten seconds?  A hung child is
 * killed rather than left behind. */
static int wait_child(pid_t pid)
{
	struct timespec tick = { 0, 1000 * 1000 };
	int st;

	for (int ms = 0; ms < 10000; ms++) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			return WIFEXITED(st) && WEXITSTATUS(st) == 0;
		if (w < 0)
			return 0;
		nanosleep(&tick, NULL);
	}
	fprintf(stderr, "fork-held: child %d hung\n", (int)pid);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return 0;
}

/*
 * Fork `forks` times while a new holder thread holds new locks, the first
 * fork `delay` microseconds after the holder goes for its second lock;
 * returns the number of children that failed.
 */
static int round_while_held(int forks, int first, int delay)
{
	pthread_t th;
	int failed = 0;

	pthread_mutex_init(&held, NULL);
	pthread_mutex_init(&gate, NULL);
	released = 0;
	pthread_create(&th, NULL, holder, NULL);
	fflush(stdout);
	pthread_barrier_wait(&holding);
	spin_us(delay);
	for (int i = 0; i < forks; i++) {
		pid_t pid = fork();
		if (pid == 0)
			child(first + i);
		if (pid < 0 || !wait_child(pid))
			failed++;
	}
	pthread_mutex_lock(&gate);
	released = 1;
	pthread_cond_signal(&go);
	pthread_mutex_unlock(&gate);
	pthread_join(th, NULL);
	pthread_mutex_destroy(&gate);
	pthread_mutex_destroy(&held);
	return failed;
}

int main(int argc, char **argv)
{
	const char *mode = argc == 2 ? argv[1] : "";
	pthread_mutex_t busy_lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_t tb;
	int failed = 0;

	if (strcmp(mode, "held") && strcmp(mode, "busy") && strcmp(mode, "race")) {
		fprintf(stderr, "usage: fork-held held|busy|race\n");
		return 2;
	}
	pthread_barrier_init(&holding, NULL, 2);
	if (!strcmp(mode, "held")) {
		failed = round_while_held(1, 0, 0);
	} else if (!strcmp(mode, "busy")) {
		pthread_create(&tb, NULL, busy, &busy_lock);
		failed = round_while_held(10, 0, 0);
		atomic_store(&stop, 1);
		pthread_join(tb, NULL);
	} else {
		/* sweep the fork across the holder's first steps */
		for (int r = 0; r < 20; r++)
			failed += round_while_held(1, r, 5 * r);
	}
	printf("parent: %d children failed\n", failed);
	return failed ? 1 : 0;
}
