/*
 * frames.h - which frames of a stack a report shows by default: not the
 * runtime's own (its thread start) nor the C library's thread and process
 * start, which every stack ends with and no one needs to read.  Shared by
 * the runtime's text report and `fencedep report`.
 */
#ifndef FDEP_FRAMES_H
#define FDEP_FRAMES_H

#include <stdbool.h>
#include <string.h>

/* The file name of path. */
static inline const char *frame_basename(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return slash ? slash + 1 : path;
}

static inline bool frame_module_is(const char *module, const char *prefix)
{
	const char *base = frame_basename(module);

	return base && !strncmp(base, prefix, strlen(prefix));
}

/* A frame of the runtime (libfencedep.so). */
static inline bool frame_is_runtime(const char *module)
{
	return frame_module_is(module, "libfencedep.so");
}

/* A frame of the C library or the dynamic loader. */
static inline bool frame_is_libc(const char *module)
{
	return frame_module_is(module, "libc.so") || frame_module_is(module, "libc-") ||
	       frame_module_is(module, "libpthread") || frame_module_is(module, "ld-linux");
}

/* A file of the C or C++ library's headers, or of the compiler's: code
 * inlined or instantiated into the program that is none of its own
 * (__gthread_mutex_lock, std::mutex::lock()). */
static inline bool frame_in_system_header(const char *file)
{
	return file && (!strncmp(file, "/usr/include/", 13) || !strncmp(file, "/usr/lib/gcc/", 13));
}

/* A thread or process start frame, hidden unless asked for. */
static inline bool frame_is_start(const char *module, const char *function)
{
	static const char *const starts[] = {
		"start_thread", "__clone3", "__clone", "clone", "clone3",
		"__libc_start_call_main", "__libc_start_main_impl",
		"__libc_start_main", "_start",
	};

	if (frame_is_runtime(module))
		return true;	/* the runtime is no one's code to read */
	if (!function)
		return false;
	/* a dynamic symbol may carry its version: __libc_start_main@@GLIBC_2.34 */
	size_t n = strcspn(function, "@");
	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++)
		if (strlen(starts[i]) == n && !strncmp(function, starts[i], n))
			return true;
	return false;
}

/* The C library's thread and process start, when its own symbols are not
 * installed (libc6-dbg): its nameless frames at the end of a stack.  The
 * stack's last frames for which this holds are hidden with the others. */
static inline bool frame_is_start_tail(const char *module, const char *function)
{
	return frame_is_start(module, function) || (frame_is_libc(module) && !function);
}

#endif
