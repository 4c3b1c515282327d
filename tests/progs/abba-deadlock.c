/*
 * abba-deadlock - two threads take two locks in opposite orders at the
 * same time: each holds its first lock before either asks for its second.
 *
 *   abba-deadlock bug     A then B against B then A: both block forever
 *   abba-deadlock clean   both take A then B: they finish
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both_hold;
static int clean;

/* In the bug, each thread holds its first lock when both pass the barrier;
 * in the clean twin they pass it first and then race for A and B. */
static void take(pthread_mutex_t *first, pthread_mutex_t *second)
{
	if (clean)
		pthread_barrier_wait(&both_hold);
	pthread_mutex_lock(first);
	if (!clean)
		pthread_barrier_wait(&both_hold);
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
	pthread_t t1, t2;

	if (argc != 2 || (strcmp(argv[1], "bug") && strcmp(argv[1], "clean"))) {
		fprintf(stderr, "usage: abba-deadlock bug|clean\n");
		return 2;
	}
	clean = !strcmp(argv[1], "clean");
	pthread_barrier_init(&both_hold, NULL, 2);
	pthread_create(&t1, NULL, forward, NULL);
	pthread_create(&t2, NULL, clean ? forward : backward, NULL);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	puts("done");
	return 0;
}
