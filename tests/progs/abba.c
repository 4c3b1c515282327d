/*
 * abba - two threads take two locks, A and B:
 *
 *   abba bug              thread 1 takes A then B; thread 2, after it, B then A
 *   abba clean            both take A then B, one after the other
 *   abba deadlock         A then B against B then A at the same time: each
 *                         holds its first lock before either asks for its
 *                         second, and both block forever
 *   abba deadlock-clean   both take A then B at the same time: they finish
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t a, b;
static pthread_barrier_t both_hold;
static bool together, clean;

/* Together: in the bug each thread holds its first lock when both pass the
 * barrier; in the clean twin they pass it first and then race for A and B. */
static void take(pthread_mutex_t *first, pthread_mutex_t *second)
{
	if (together && clean)
		pthread_barrier_wait(&both_hold);
	pthread_mutex_lock(first);
	if (together && !clean)
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
	const char *modes[] = { "bug", "clean", "deadlock", "deadlock-clean" };
	int mode = -1;
	pthread_t t1, t2;

	for (int i = 0; argc == 2 && i < 4; i++)
		if (!strcmp(argv[1], modes[i]))
			mode = i;
	if (mode < 0) {
		fprintf(stderr, "usage: abba bug|clean|deadlock|deadlock-clean\n");
		return 2;
	}
	clean = mode == 1 || mode == 3;
	together = mode >= 2;
	pthread_mutex_init(&a, NULL);
	pthread_mutex_init(&b, NULL);
	pthread_barrier_init(&both_hold, NULL, 2);
	pthread_create(&t1, NULL, forward, NULL);
	if (!together)
		pthread_join(t1, NULL);
	pthread_create(&t2, NULL, clean ? forward : backward, NULL);
	if (together)
		pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	puts("done");
	return 0;
}
