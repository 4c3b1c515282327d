/*
 * abba - two threads take two locks, one after the other finishes, so the
 * run never deadlocks:
 *
 *   abba bug     thread 1 takes A then B, thread 2 takes B then A
 *   abba clean   both take A then B
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t a, b;

static void take(pthread_mutex_t *first, pthread_mutex_t *second)
{
	pthread_mutex_lock(first);
	pthread_mutex_lock(second);
	pthread_mutex_unlock(second);
	pthread_mutex_unlock(first);
}

static void *forward(void *arg)
{
	(void)arg;
	take(&a, &b);
	return NULL;
}

static void *backward(void *arg)
{
	(void)arg;
	take(&b, &a);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;

	if (argc != 2 || (strcmp(argv[1], "bug") && strcmp(argv[1], "clean"))) {
		fprintf(stderr, "usage: abba bug|clean\n");
		return 2;
	}
	pthread_mutex_init(&a, NULL);
	pthread_mutex_init(&b, NULL);
	pthread_create(&t, NULL, forward, NULL);
	pthread_join(t, NULL);
	pthread_create(&t, NULL, strcmp(argv[1], "bug") ? forward : backward, NULL);
	pthread_join(t, NULL);
	puts("done");
	return 0;
}
