/*
 * transfer - accounts, each with its own mutex initialised at one site,
 * and two threads moving money between them.
 *
 *   transfer ordered     a transfer locks both accounts, lower address first
 *   transfer unordered   a transfer locks source then destination, and the
 *                        threads transfer in opposite directions
 *   transfer single      one account locked at a time
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACCOUNTS 4
#define ROUNDS 100

struct account {
	pthread_mutex_t lock;
	long balance;
};

static struct account *accounts;
static const char *mode;

static void transfer(struct account *from, struct account *to, long amount)
{
	if (!strcmp(mode, "single")) {
		pthread_mutex_lock(&from->lock);
		from->balance -= amount;
		pthread_mutex_unlock(&from->lock);
		pthread_mutex_lock(&to->lock);
		to->balance += amount;
		pthread_mutex_unlock(&to->lock);
		return;
	}
	struct account *first = from, *second = to;
	if (!strcmp(mode, "ordered") && to < from) {
		first = to;
		second = from;
	}
	pthread_mutex_lock(&first->lock);
	pthread_mutex_lock(&second->lock);
	from->balance -= amount;
	to->balance += amount;
	pthread_mutex_unlock(&second->lock);
	pthread_mutex_unlock(&first->lock);
}

static void *up(void *arg)
{
	(void)arg;
	for (int r = 0; r < ROUNDS; r++)
		for (int i = 0; i + 1 < ACCOUNTS; i++)
			transfer(&accounts[i], &accounts[i + 1], 1);
	return NULL;
}

static void *down(void *arg)
{
	(void)arg;
	for (int r = 0; r < ROUNDS; r++)
		for (int i = ACCOUNTS - 1; i > 0; i--)
			transfer(&accounts[i], &accounts[i - 1], 1);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;
	long total = 0;

	if (argc != 2 || (strcmp(argv[1], "ordered") && strcmp(argv[1], "unordered") &&
			  strcmp(argv[1], "single"))) {
		fprintf(stderr, "usage: transfer ordered|unordered|single\n");
		return 2;
	}
	mode = argv[1];
	accounts = calloc(ACCOUNTS, sizeof(*accounts));
	for (int i = 0; i < ACCOUNTS; i++) {
		pthread_mutex_init(&accounts[i].lock, NULL);
		accounts[i].balance = 100;
	}
	/* one thread after the other: the unordered run must not deadlock */
	pthread_create(&t, NULL, up, NULL);
	pthread_join(t, NULL);
	pthread_create(&t, NULL, down, NULL);
	pthread_join(t, NULL);
	for (int i = 0; i < ACCOUNTS; i++) {
		total += accounts[i].balance;
		pthread_mutex_destroy(&accounts[i].lock);
	}
	free(accounts);
	printf("total %ld\n", total);
	return 0;
}
