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
 *   rel-hostile many N
 *        N distinct lock-order inversions, printing "found <i>" after each
 *   rel-hostile inversion
 *        one lock-order inversion, exit 0
 *   rel-hostile nothing
 *        no lock at all, exit 0
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;

static void inversion(void)
{
	nest(&a, &b);
	nest(&b, &a);
}

int main(int argc, char **argv)
{
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
