/*
 * libdlerr - a module whose constructor leaves a dlerror() message pending,
 * as a library that probes for an optional symbol does.  Preloaded after
 * the runtime, its constructor runs before the runtime resolves the real
 * allocator, and the dlsym() of that resolution frees the message through
 * the interposed free().
 */
#include <dlfcn.h>

void *libdlerr_probe;

__attribute__((constructor)) static void leave_a_dlerror_pending(void)
{
	libdlerr_probe = dlsym(RTLD_DEFAULT, "libdlerr_no_such_symbol");
}
