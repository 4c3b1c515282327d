/*
 * fence-names - a fence re-initialised with a class name at an address
 * that held another name before: the class must follow the text.
 *
 *   fence-names heap            the name is a heap buffer, rewritten from
 *                               "alpha.fence" to "omega.fence" between two
 *                               lives of the fence
 *   fence-names module A B      the name is a literal of module A, which is
 *                               unloaded; module B is loaded (at the same
 *                               address, most of the time) and its literal
 *                               names the second life
 *
 * The second life is signalled twice, so that a fence-double-signal finding
 * names its class.  stdout says whether B's name had A's address.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fencedep.h"

static int fence_obj;

static void one_life(const char *name, int signals)
{
	fdep_fence_init(&fence_obj, name);
	fdep_fence_publish(&fence_obj);
	for (int i = 0; i < signals; i++)
		fdep_fence_signal(&fence_obj);
}

static const char *module_name(const char *path, void **handle)
{
	const char *(*get)(void);

	*handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!*handle) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		exit(1);
	}
	get = (const char *(*)(void))dlsym(*handle, "fname_get");
	if (!get) {
		fprintf(stderr, "dlsym: %s\n", dlerror());
		exit(1);
	}
	return get();
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "heap")) {
		char *name = malloc(32);
		if (!name)
			return 1;
		strcpy(name, "alpha.fence");
		one_life(name, 1);
		strcpy(name, "omega.fence");
		one_life(name, 2);
		free(name);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "module")) {
		void *h;
		const char *first = module_name(argv[2], &h);
		one_life(first, 1);
		if (dlclose(h)) {
			fprintf(stderr, "dlclose: %s\n", dlerror());
			return 1;
		}
		const char *second = module_name(argv[3], &h);
		printf("%s\n", second == first ? "same address" : "moved");
		one_life(second, 2);
		dlclose(h);
		return 0;
	}
	fprintf(stderr, "usage: fence-names heap | module MODULE_A MODULE_B\n");
	return 2;
}
