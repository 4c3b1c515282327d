/*
 * rel-capacity - the runtime runs out of memory: after start-up the
 * address space is limited to what is mapped now plus a little, then the
 * program locks many mutexes it allocated beforehand.  Its own small
 * allocations still fit.
 *
 *   rel-capacity clean
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define NLOCKS 400000

static size_t mapped_now(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	size_t kb = 0;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmSize:", 7))
			kb = strtoul(line + 7, NULL, 10);
	if (f)
		fclose(f);
	return kb * 1024;
}

int main(int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[1], "clean")) {
		fprintf(stderr, "usage: rel-capacity clean\n");
		return 2;
	}
	pthread_mutex_t *locks = calloc(NLOCKS, sizeof(*locks));
	printf("start\n");
	fflush(stdout);
	struct rlimit rl = { mapped_now() + (1 << 20), RLIM_INFINITY };
	rl.rlim_max = rl.rlim_cur;
	if (setrlimit(RLIMIT_AS, &rl)) {
		perror("setrlimit");
		return 1;
	}
	unsigned long sum = 0;
	for (int i = 0; i < NLOCKS; i++) {
		pthread_mutex_init(&locks[i], NULL);
		pthread_mutex_lock(&locks[i]);
		char *p = malloc(64);
		p[0] = (char)(i & 1);
		sum += (unsigned long)p[0];
		free(p);
		pthread_mutex_unlock(&locks[i]);
	}
	for (int i = 0; i < NLOCKS; i++)
		pthread_mutex_destroy(&locks[i]);
	free(locks);
	printf("sum %lu\n", sum);
	return 0;
}
