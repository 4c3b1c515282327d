# The interposers: pthread locks, condition variables, the allocator, threads.
libfencedep_la_SOURCES += preload/preload.h preload/resolve.c preload/locks.c \
	preload/cond.c preload/malloc.c preload/thread.c preload/signal.c \
	preload/exec.c preload/exit.c preload/waits.c preload/c11.c
# The lock libraries beyond pthreads.
libfencedep_la_SOURCES += preload/libfast.h preload/glib.c preload/gomp.c preload/pylock.c preload/futex.c
