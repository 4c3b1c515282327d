/*
 * rel-clone - threads made with the raw clone() system call (no pthread
 * structures, no TLS of their own) that lock pthread mutexes and allocate,
 * while a pthread locks the same mutexes.  The clone threads run one at a
 * time, the parent blocked in the kernel meanwhile, since they share its
 * thread-local storage.
 *
 *   rel-clone clean   every thread takes lock_a then lock_b
 */
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define STACK_SIZE (256 * 1024)
#define NCLONES 16

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool stop;
static unsigned long sum;

static int cloned(void *arg)
{
	unsigned long n = (unsigned long)arg;

	for (unsigned long i = 0; i < 2000; i++) {
		pthread_mutex_lock(&lock_a);
		unsigned long *p = malloc(16 + (i % 100) * 8);
		pthread_mutex_lock(&lock_b);
		*p = n + i;
		sum += *p;
		pthread_mutex_unlock(&lock_b);
		free(p);
		pthread_mutex_unlock(&lock_a);
	}
	return 0;
}

static void *pthread_side(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		pthread_mutex_lock(&lock_a);
		pthread_mutex_lock(&lock_b);
		void *p = malloc(100);
		free(p);
		pthread_mutex_unlock(&lock_b);
		pthread_mutex_unlock(&lock_a);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;
	unsigned long expect = 0;

	if (argc != 2 || strcmp(argv[1], "clean")) {
		fprintf(stderr, "usage: rel-clone clean\n");
		return 2;
	}
	pthread_create(&t, NULL, pthread_side, NULL);
	for (unsigned long n = 0; n < NCLONES; n++) {
		char *stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
		static _Atomic pid_t ctid;

		if (stack == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		atomic_store(&ctid, 1);
		int tid = clone(cloned, stack + STACK_SIZE,
				CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
					CLONE_SYSVSEM | CLONE_CHILD_CLEARTID,
				(void *)n, NULL, NULL, &ctid);
		if (tid < 0) {
			perror("clone");
			return 1;
		}
		/* wait in the kernel until the clone thread is gone */
		pid_t v;
		while ((v = atomic_load(&ctid)) != 0)
			syscall(SYS_futex, &ctid, FUTEX_WAIT, v, NULL, NULL, 0);
		munmap(stack, STACK_SIZE);
		for (unsigned long i = 0; i < 2000; i++)
			expect += n + i;
	}
	atomic_store(&stop, true);
	pthread_join(t, NULL);
	printf("sum %s\n", sum == expect ? "ok" : "wrong");
	puts("done");
	return 0;
}
