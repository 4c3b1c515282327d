/*
 * libdlocks - a module loaded with dlopen() by rel-dlopen: two static
 * mutexes and functions that take them in either order.
 */
#include <pthread.h>
#include <stdlib.h>

static pthread_mutex_t lib_lock_a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t lib_lock_b = PTHREAD_MUTEX_INITIALIZER;
static int lib_counter;

int dlocks_forward(void)
{
	pthread_mutex_lock(&lib_lock_a);
	pthread_mutex_lock(&lib_lock_b);
	int n = ++lib_counter;
	pthread_mutex_unlock(&lib_lock_b);
	pthread_mutex_unlock(&lib_lock_a);
	return n;
}

int dlocks_backward(void)
{
	pthread_mutex_lock(&lib_lock_b);
	pthread_mutex_lock(&lib_lock_a);
	int n = ++lib_counter;
	pthread_mutex_unlock(&lib_lock_a);
	pthread_mutex_unlock(&lib_lock_b);
	return n;
}

/*
 * Two mutexes on the heap, made here and taken one inside the other, then
 * kept: their classes, named by their init sites in this module, outlive
 * the module (rel-dlopen heap).  Its name says nothing of locks: a
 * function named so would be taken for a wrapper (stack.c).
 */
void heap_pair_made_here(void)
{
	pthread_mutex_t *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));

	if (!a || !b)
		abort();
	pthread_mutex_init(a, NULL);
	pthread_mutex_init(b, NULL);
	pthread_mutex_lock(a);
	pthread_mutex_lock(b);
	pthread_mutex_unlock(b);
	pthread_mutex_unlock(a);
}
