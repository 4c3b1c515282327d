/*
 * lock-class - a pthread mutex renamed with fdep_lock_class() after it was
 * taken nested, then taken nested again: the new class must get the edge.
 *
 *   lock-class bug     A then B; B renamed "renamed"; A then B again; then
 *                      D (also "renamed") then A: A -> renamed -> A
 *   lock-class clean   the same, but D is in a class of its own
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "nest.h"

#include "fencedep.h"

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t d = PTHREAD_MUTEX_INITIALIZER;

int main(int argc, char **argv)
{
	if (argc != 2 || (strcmp(argv[1], "bug") && strcmp(argv[1], "clean"))) {
		fprintf(stderr, "usage: lock-class bug|clean\n");
		return 2;
	}
	/* often enough for every cache on the way to know the chain */
	for (int i = 0; i < 4; i++)
		nest(&a, &b);
	fdep_lock_class(&b, "renamed", 0);
	fdep_lock_class(&d, strcmp(argv[1], "bug") ? "other" : "renamed", 0);
	for (int i = 0; i < 4; i++)
		nest(&a, &b);
	nest(&d, &a);
	printf("done\n");
	return 0;
}
