/*
 * libdorder - a module with one static mutex, taken with the program's lock
 * `outer`: built twice, libdorder-a takes outer first, libdorder-b takes
 * its own mutex first.  Loaded one after the other at the same address,
 * they are two different locks.
 */
#include <pthread.h>

static pthread_mutex_t module_lock = PTHREAD_MUTEX_INITIALIZER;

void *dorder_lock(void)
{
	return &module_lock;
}

void dorder_run(pthread_mutex_t *outer)
{
#ifdef OUTER_FIRST
	pthread_mutex_lock(outer);
	pthread_mutex_lock(&module_lock);
	pthread_mutex_unlock(&module_lock);
	pthread_mutex_unlock(outer);
#else
	pthread_mutex_lock(&module_lock);
	pthread_mutex_lock(outer);
	pthread_mutex_unlock(outer);
	pthread_mutex_unlock(&module_lock);
#endif
}
