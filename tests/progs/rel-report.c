/*
 * rel-report - programs that produce findings, for the report files:
 *
 *   rel-report many N MS     N distinct lock-order inversions, MS
 *                            milliseconds apart
 *   rel-report fork          the parent and two children each report one
 *                            inversion: three processes, three reports
 *   rel-report symlink FILE  plants symbolic links to FILE at the names of
 *                            its own JSON report and its temporary file
 *                            (from json_path in FENCEDEP_OPTIONS), then
 *                            reports one inversion
 *   rel-report graph E N     E edges of a chain of mutexes, then N
 *                            inversions, then kills itself (SIGTERM): no
 *                            exit-time report
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void inversion(void)
{
	pthread_mutex_t *m = malloc(2 * sizeof(*m));

	pthread_mutex_init(&m[0], NULL);
	pthread_mutex_init(&m[1], NULL);
	pthread_mutex_lock(&m[0]);
	pthread_mutex_lock(&m[1]);
	pthread_mutex_unlock(&m[1]);
	pthread_mutex_unlock(&m[0]);
	pthread_mutex_lock(&m[1]);
	pthread_mutex_lock(&m[0]);
	pthread_mutex_unlock(&m[0]);
	pthread_mutex_unlock(&m[1]);
	/* kept alive: a new pair per call, never an address reused */
}

static void plant(const char *victim)
{
	const char *opts = getenv("FENCEDEP_OPTIONS");
	const char *p = opts ? strstr(opts, "json_path=") : NULL;
	char prefix[4096], path[4200];

	if (!p)
		return;
	p += strlen("json_path=");
	snprintf(prefix, sizeof(prefix), "%.*s", (int)strcspn(p, ":"), p);
	snprintf(path, sizeof(path), "%s.%d.json.tmp", prefix, (int)getpid());
	if (symlink(victim, path))
		perror("symlink");
	snprintf(path, sizeof(path), "%s.%d.json", prefix, (int)getpid());
	if (symlink(victim, path))
		perror("symlink");
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "many")) {
		int n = atoi(argv[2]), ms = atoi(argv[3]);
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
		for (int i = 0; i < n; i++) {
			inversion();
			if (ms)
				nanosleep(&ts, NULL);
		}
	} else if (argc == 2 && !strcmp(argv[1], "fork")) {
		for (int i = 0; i < 2; i++) {
			pid_t pid = fork();
			if (pid == 0) {
				inversion();
				exit(0);
			}
			int st;
			waitpid(pid, &st, 0);
		}
		inversion();
	} else if (argc == 4 && !strcmp(argv[1], "graph")) {
		int e = atoi(argv[2]), n = atoi(argv[3]);
		pthread_mutex_t *m = calloc((size_t)e + 1, sizeof(*m));
		for (int i = 0; m && i <= e; i++)
			pthread_mutex_init(&m[i], NULL);
		for (int i = 0; m && i < e; i++) {
			pthread_mutex_lock(&m[i]);
			pthread_mutex_lock(&m[i + 1]);
			pthread_mutex_unlock(&m[i + 1]);
			pthread_mutex_unlock(&m[i]);
		}
		for (int i = 0; i < n; i++)
			inversion();
		puts("done");
		fflush(stdout);
		kill(getpid(), SIGTERM);
		return 3;
	} else if (argc == 3 && !strcmp(argv[1], "symlink")) {
		plant(argv[2]);
		inversion();
	} else {
		fprintf(stderr, "usage: rel-report many N MS | fork | symlink FILE | graph E N\n");
		return 2;
	}
	puts("done");
	return 0;
}
