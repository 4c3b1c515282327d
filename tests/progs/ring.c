/*
 * ring - N locks and N threads, run one after another; thread i takes lock
 * i and then lock i+1, so together they form a chain L0 -> L1 -> ... ->
 * L(N-1).  The last thread closes it:
 *
 *   ring N bug     the last thread takes L(N-1) then L0: an N-lock cycle
 *   ring N clean   the last thread takes L0 then L(N-1): one global order
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pair {
	pthread_mutex_t *first, *second;
};

static void *take(void *arg)
{
	struct pair *p = arg;

	pthread_mutex_lock(p->first);
	pthread_mutex_lock(p->second);
	pthread_mutex_unlock(p->second);
	pthread_mutex_unlock(p->first);
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc == 3 ? atoi(argv[1]) : 0;

	if (n < 2 || (strcmp(argv[2], "bug") && strcmp(argv[2], "clean"))) {
		fprintf(stderr, "usage: ring N bug|clean\n");
		return 2;
	}
	pthread_mutex_t *locks = calloc((size_t)n, sizeof(*locks));
	for (int i = 0; i < n; i++)
		pthread_mutex_init(&locks[i], NULL);
	for (int i = 0; i < n; i++) {
		struct pair p = { &locks[i], &locks[(i + 1) % n] };
		if (i == n - 1 && !strcmp(argv[2], "clean"))
			p = (struct pair){ &locks[0], &locks[n - 1] };
		pthread_t t;
		pthread_create(&t, NULL, take, &p);
		pthread_join(t, NULL);
	}
	for (int i = 0; i < n; i++)
		pthread_mutex_destroy(&locks[i]);
	free(locks);
	puts("done");
	return 0;
}
