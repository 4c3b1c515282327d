/*
 * nest.h - the one locking step the test programs repeat: inner taken
 * under outer, then both released (the edge outer -> inner).
 */
#ifndef FDEP_TEST_NEST_H
#define FDEP_TEST_NEST_H

#include <pthread.h>

static inline void nest(pthread_mutex_t *outer, pthread_mutex_t *inner)
{
	pthread_mutex_lock(outer);
	pthread_mutex_lock(inner);
	pthread_mutex_unlock(inner);
	pthread_mutex_unlock(outer);
}

#endif
