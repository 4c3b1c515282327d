/*
 * rel-spawn - start a program while another thread locks, unlocks and
 * allocates in a loop:
 *
 *   rel-spawn fork PROG [ARGS...]    fork, then exec PROG in the child
 *   rel-spawn vfork PROG [ARGS...]   vfork, then exec PROG in the child
 *   rel-spawn spawn PROG [ARGS...]   posix_spawn PROG
 *
 * Each is done a few times; the exit status of every child is printed.
 */
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static pthread_mutex_t outer = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t inner = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool stop;
static unsigned long rounds;

static void *busy(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		pthread_mutex_lock(&outer);
		char *p = malloc(64 + rounds % 512);
		pthread_mutex_lock(&inner);
		p[0] = (char)rounds;
		rounds++;
		pthread_mutex_unlock(&inner);
		free(p);
		pthread_mutex_unlock(&outer);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;

	if (argc < 3 || (strcmp(argv[1], "fork") && strcmp(argv[1], "vfork") &&
			 strcmp(argv[1], "spawn"))) {
		fprintf(stderr, "usage: rel-spawn fork|vfork|spawn PROG [ARGS...]\n");
		return 2;
	}
	pthread_create(&t, NULL, busy, NULL);
	for (int i = 0; i < 4; i++) {
		pid_t pid;
		int st;

		/* the other thread is inside the runtime at any moment */
		pthread_mutex_lock(&outer);
		pthread_mutex_unlock(&outer);
		if (!strcmp(argv[1], "spawn")) {
			int e = posix_spawn(&pid, argv[2], NULL, NULL, argv + 2, environ);
			if (e) {
				fprintf(stderr, "posix_spawn: %s\n", strerror(e));
				return 1;
			}
		} else {
			pid = strcmp(argv[1], "fork") ? vfork() : fork();
			if (pid < 0) {
				perror("fork");
				return 1;
			}
			if (pid == 0) {
				execv(argv[2], argv + 2);
				_exit(127);
			}
		}
		if (waitpid(pid, &st, 0) != pid) {
			perror("waitpid");
			return 1;
		}
		printf("child %d: %s %d\n", i, WIFEXITED(st) ? "exit" : "signal",
		       WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	}
	atomic_store(&stop, true);
	pthread_join(t, NULL);
	puts("done");
	return 0;
}
