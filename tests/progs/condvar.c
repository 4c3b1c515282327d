/*
 * condvar - a bounded queue: one producer, one consumer, a mutex and two
 * condition variables; each side also counts under a stats lock taken
 * inside the queue lock (queue -> stats).
 *
 *   condvar clean    the consumer waits on the queue lock alone
 *   condvar nested   the consumer also holds the stats lock across its
 *                    wait: the wait releases only the queue lock, and
 *                    takes it back under the stats lock (stats -> queue)
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define ITEMS 2000
#define SLOTS 8

static pthread_mutex_t queue_lock, stats_lock;
static pthread_cond_t not_empty, not_full;
static int slots[SLOTS], head, count, produced, consumed;
static long sum;
static int nested;

static void *producer(void *arg)
{
	(void)arg;
	for (int i = 1; i <= ITEMS; i++) {
		pthread_mutex_lock(&queue_lock);
		while (count == SLOTS)
			pthread_cond_wait(&not_full, &queue_lock);
		slots[(head + count) % SLOTS] = i;
		count++;
		if (nested) {
			/* the consumer may hold the stats lock while it waits */
			produced++;
		} else {
			pthread_mutex_lock(&stats_lock);
			produced++;
			pthread_mutex_unlock(&stats_lock);
		}
		pthread_cond_signal(&not_empty);
		pthread_mutex_unlock(&queue_lock);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	pthread_t *p = arg;

	for (int i = 1; i <= ITEMS; i++) {
		pthread_mutex_lock(&queue_lock);
		if (nested)
			pthread_mutex_lock(&stats_lock);
		/* started with the queue lock held, the producer finds the
		 * consumer waiting: the first item always goes through a wait */
		if (i == 1)
			pthread_create(p, NULL, producer, NULL);
		while (count == 0)
			pthread_cond_wait(&not_empty, &queue_lock);
		int v = slots[head];
		head = (head + 1) % SLOTS;
		count--;
		if (!nested)
			pthread_mutex_lock(&stats_lock);
		consumed++;
		sum += v;
		pthread_mutex_unlock(&stats_lock);
		pthread_cond_signal(&not_full);
		pthread_mutex_unlock(&queue_lock);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t p, c;

	if (argc != 2 || (strcmp(argv[1], "clean") && strcmp(argv[1], "nested"))) {
		fprintf(stderr, "usage: condvar clean|nested\n");
		return 2;
	}
	nested = !strcmp(argv[1], "nested");
	pthread_mutex_init(&queue_lock, NULL);
	pthread_mutex_init(&stats_lock, NULL);
	pthread_cond_init(&not_empty, NULL);
	pthread_cond_init(&not_full, NULL);
	pthread_create(&c, NULL, consumer, &p);
	pthread_join(c, NULL);
	pthread_join(p, NULL);
	printf("produced %d consumed %d sum %ld\n", produced, consumed, sum);
	return 0;
}
