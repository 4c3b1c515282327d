/*
 * many-held - one thread holds N locks at once, taken in one order and
 * released in reverse, twice (the second time through cached chains).
 *
 *   many-held N clean   that is all
 *   many-held N bug     then takes the last lock and, under it, the first:
 *                       every lock is on the cycle L0 -> ... -> L(N-1) -> L0
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	int n = argc == 3 ? atoi(argv[1]) : 0;

	if (n < 2 || (strcmp(argv[2], "bug") && strcmp(argv[2], "clean"))) {
		fprintf(stderr, "usage: many-held N bug|clean\n");
		return 2;
	}
	pthread_mutex_t *locks = calloc((size_t)n, sizeof(*locks));
	for (int i = 0; i < n; i++)
		pthread_mutex_init(&locks[i], NULL);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < n; i++)
			pthread_mutex_lock(&locks[i]);
		for (int i = n; i-- > 0;)
			pthread_mutex_unlock(&locks[i]);
	}
	if (!strcmp(argv[2], "bug")) {
		pthread_mutex_lock(&locks[n - 1]);
		pthread_mutex_lock(&locks[0]);
		pthread_mutex_unlock(&locks[0]);
		pthread_mutex_unlock(&locks[n - 1]);
	}
	for (int i = 0; i < n; i++)
		pthread_mutex_destroy(&locks[i]);
	free(locks);
	printf("held %d\n", n);
	return 0;
}
