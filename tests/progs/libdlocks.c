/*
 * libdlocks - a module loaded with dlopen() by rel-dlopen: two static
 * mutexes and functions that take them in either order.
 */
#include <pthread.h>

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
