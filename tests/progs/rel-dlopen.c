/*
 * rel-dlopen - load a module (libdlocks) by path, lock its static mutexes
 * from two threads, then dlclose it before exiting:
 *
 *   rel-dlopen bug MODULE     one thread takes lib_lock_a then lib_lock_b,
 *                             the next lib_lock_b then lib_lock_a
 *   rel-dlopen clean MODULE   both take lib_lock_a then lib_lock_b
 *   rel-dlopen swap A B       A (libdorder-a) takes outer then its lock and
 *                             is unloaded; B, mapped where A was, takes its
 *                             own lock then outer: two locks, no cycle
 *   rel-dlopen heap MODULE    the module makes two heap mutexes and nests
 *                             them; it is unloaded, the mutexes live on
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int (*first)(void), (*second)(void);

static void *run_first(void *arg)
{
	(void)arg;
	first();
	return NULL;
}

static void *run_second(void *arg)
{
	(void)arg;
	second();
	return NULL;
}

static pthread_mutex_t outer = PTHREAD_MUTEX_INITIALIZER;

/* Load path, run its dorder_run under outer; its lock's address. */
static void *dorder(const char *path)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	void (*run)(pthread_mutex_t *) = h ? (void (*)(pthread_mutex_t *))dlsym(h, "dorder_run") : NULL;
	void *(*lock)(void) = h ? (void *(*)(void))dlsym(h, "dorder_lock") : NULL;

	if (!run || !lock) {
		fprintf(stderr, "%s: %s\n", path, dlerror());
		exit(1);
	}
	run(&outer);
	void *where = lock();
	dlclose(h);
	return where;
}

int main(int argc, char **argv)
{
	pthread_t t;

	if (argc == 4 && !strcmp(argv[1], "swap")) {
		void *a = dorder(argv[2]), *b = dorder(argv[3]);
		if (a != b) {
			fprintf(stderr, "rel-dlopen: the second module was not mapped where the first was\n");
			return 3;
		}
		puts("done");
		return 0;
	}

	if (argc == 3 && !strcmp(argv[1], "heap")) {
		void *h = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL);
		void (*pair)(void) = h ? (void (*)(void))dlsym(h, "heap_pair_made_here") : NULL;
		if (!pair) {
			fprintf(stderr, "rel-dlopen: %s\n", dlerror());
			return 1;
		}
		pair();
		if (dlclose(h)) {
			fprintf(stderr, "dlclose: %s\n", dlerror());
			return 1;
		}
		puts("done");
		return 0;
	}
	if (argc != 3 || (strcmp(argv[1], "bug") && strcmp(argv[1], "clean"))) {
		fprintf(stderr, "usage: rel-dlopen bug|clean|heap MODULE | swap MODULE_A MODULE_B\n");
		return 2;
	}
	for (int round = 0; round < 2; round++) {
		void *h = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			fprintf(stderr, "dlopen: %s\n", dlerror());
			return 1;
		}
		first = (int (*)(void))dlsym(h, "dlocks_forward");
		second = (int (*)(void))dlsym(h, strcmp(argv[1], "bug") ? "dlocks_forward"
									 : "dlocks_backward");
		if (!first || !second) {
			fprintf(stderr, "dlsym: %s\n", dlerror());
			return 1;
		}
		pthread_create(&t, NULL, run_first, NULL);
		pthread_join(t, NULL);
		pthread_create(&t, NULL, run_second, NULL);
		pthread_join(t, NULL);
		if (dlclose(h)) {
			fprintf(stderr, "dlclose: %s\n", dlerror());
			return 1;
		}
		printf("round %d done\n", round);
	}
	return 0;
}
