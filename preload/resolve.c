/*
 * resolve.c - finding the real functions behind the interposers.
 *
 * dlsym() may allocate; the allocator interposers serve such allocations
 * from a static arena while a resolution is under way (malloc.c), so that
 * resolving never recurses.  A function that cannot be found at all is a
 * fatal error named on one line: running on would mean losing the program's
 * own behaviour.
 */
#include <unistd.h>

#include "preload.h"


void *preload_resolve(const char *name, const char *version)
{
	void *p;

	rt_tls.resolving++;
	p = version ? dlvsym(RTLD_NEXT, name, version) : dlsym(RTLD_NEXT, name);
	if (!p)
		p = dlsym(RTLD_DEFAULT, name);
	rt_tls.resolving--;
	if (!p) {
		static const char msg[] = "fencedep: cannot find the real function behind an interposer\n";
		if (write(2, msg, sizeof(msg) - 1) < 0)
			_exit(127);
		_exit(127);
	}
	return p;
}
