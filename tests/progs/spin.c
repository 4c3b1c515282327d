/*
 * spin - sleeping under a pthread spinlock.
 *
 *   spin mutex    a mutex is locked while a spinlock is held
 *   spin malloc   memory is allocated while a spinlock is held
 *   spin clean    the spinlock alone, and the spinlock taken under the
 *                 mutex (spinning inside a sleeping lock is fine)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_spinlock_t spin;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static volatile void *sink;

int main(int argc, char **argv)
{
	const char *mode = argc == 2 ? argv[1] : "";

	if (strcmp(mode, "mutex") && strcmp(mode, "malloc") && strcmp(mode, "clean")) {
		fprintf(stderr, "usage: spin mutex|malloc|clean\n");
		return 2;
	}
	pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE);
	pthread_spin_lock(&spin);
	if (!strcmp(mode, "mutex")) {
		pthread_mutex_lock(&m);
		pthread_mutex_unlock(&m);
	} else if (!strcmp(mode, "malloc")) {
		sink = malloc(100);
	}
	pthread_spin_unlock(&spin);
	if (!strcmp(mode, "clean")) {
		pthread_mutex_lock(&m);
		pthread_spin_lock(&spin);
		pthread_spin_unlock(&spin);
		pthread_mutex_unlock(&m);
	}
	free((void *)sink);
	pthread_spin_destroy(&spin);
	puts("done");
	return 0;
}
