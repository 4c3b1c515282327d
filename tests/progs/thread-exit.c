/*
 * thread-exit - a thread ends while it holds a lock.
 *
 *   thread-exit return        its start function returns holding it
 *   thread-exit exit          it calls pthread_exit holding it
 *   thread-exit clean         it unlocks, then returns
 *   thread-exit clean-exit    it unlocks, then calls pthread_exit
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static const char *mode;

static void finish(void)
{
	if (!strcmp(mode, "exit") || !strcmp(mode, "clean-exit"))
		pthread_exit(NULL);
}

static void *worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&m);
	if (!strncmp(mode, "clean", 5))
		pthread_mutex_unlock(&m);
	finish();
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;

	mode = argc == 2 ? argv[1] : "";
	if (strcmp(mode, "return") && strcmp(mode, "exit") && strcmp(mode, "clean") &&
	    strcmp(mode, "clean-exit")) {
		fprintf(stderr, "usage: thread-exit return|exit|clean|clean-exit\n");
		return 2;
	}
	pthread_create(&t, NULL, worker, NULL);
	pthread_join(t, NULL);
	puts("done");
	return 0;
}
