/*
 * trylock - thread 1 takes A then B; thread 2, after it, holds B and then
 * takes A the other way round:
 *
 *   trylock try     with pthread_mutex_trylock: it cannot block, so no cycle
 *   trylock block   with pthread_mutex_lock: the AB/BA inversion
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t b = PTHREAD_MUTEX_INITIALIZER;
static int use_trylock;

static void *forward(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&a);
	pthread_mutex_lock(&b);
	pthread_mutex_unlock(&b);
	pthread_mutex_unlock(&a);
	return NULL;
}

static void *backward(void *arg)
{
	int got;

	(void)arg;
	pthread_mutex_lock(&b);
	if (use_trylock)
		got = pthread_mutex_trylock(&a) == 0;
	else
		got = pthread_mutex_lock(&a) == 0;
	if (got)
		pthread_mutex_unlock(&a);
	pthread_mutex_unlock(&b);
	return got ? NULL : (void *)1;
}

int main(int argc, char **argv)
{
	pthread_t t;
	void *failed;

	if (argc != 2 || (strcmp(argv[1], "try") && strcmp(argv[1], "block"))) {
		fprintf(stderr, "usage: trylock try|block\n");
		return 2;
	}
	use_trylock = !strcmp(argv[1], "try");
	pthread_create(&t, NULL, forward, NULL);
	pthread_join(t, NULL);
	pthread_create(&t, NULL, backward, NULL);
	pthread_join(t, &failed);
	if (failed) {
		fprintf(stderr, "trylock: A was not free\n");
		return 1;
	}
	puts("done");
	return 0;
}
