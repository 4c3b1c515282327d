/*
 * held-free - the memory of a lock goes away while the lock is held.
 *
 *   held-free free      a malloc'd struct holding a locked mutex is freed
 *   held-free destroy   a locked mutex is destroyed
 *   held-free clean     unlock, destroy, then free
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node {
	int key;
	pthread_mutex_t lock;
	struct node *next;
};

int main(int argc, char **argv)
{
	const char *mode = argc == 2 ? argv[1] : "";
	struct node *n = malloc(sizeof(*n));

	if (strcmp(mode, "free") && strcmp(mode, "destroy") && strcmp(mode, "clean")) {
		fprintf(stderr, "usage: held-free free|destroy|clean\n");
		return 2;
	}
	pthread_mutex_init(&n->lock, NULL);
	pthread_mutex_lock(&n->lock);
	n->key = 1;
	if (!strcmp(mode, "free")) {
		free(n);
	} else if (!strcmp(mode, "destroy")) {
		pthread_mutex_destroy(&n->lock);
	} else {
		pthread_mutex_unlock(&n->lock);
		pthread_mutex_destroy(&n->lock);
		free(n);
	}
	puts("done");
	return 0;
}
