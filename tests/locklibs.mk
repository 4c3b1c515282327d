# The lock libraries beyond pthreads (GLib, OpenMP, CPython's semaphores,
# futexes): their scenarios, run by tests/test_locklibs.c, which skips
# those whose library was not found by configure.
if HAVE_GLIB
check_PROGRAMS += tests/progs/glib-locks
tests_progs_glib_locks_SOURCES = tests/progs/glib-locks.c
tests_progs_glib_locks_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS)
tests_progs_glib_locks_LDADD = $(GLIB_LIBS)
endif

if HAVE_OPENMP
check_PROGRAMS += tests/progs/omp-locks
tests_progs_omp_locks_SOURCES = tests/progs/omp-locks.c
tests_progs_omp_locks_CFLAGS = $(AM_CFLAGS) $(OPENMP_CFLAGS)
tests_progs_omp_locks_LDFLAGS = $(OPENMP_CFLAGS)
endif

if HAVE_CRITERION
check_PROGRAMS += tests/test_locklibs
TESTS += tests/test_locklibs
tests_test_locklibs_SOURCES = tests/test_locklibs.c
tests_test_locklibs_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_locklibs_LDADD = tests/libharness.la $(CRITERION_LIBS)
endif
EXTRA_DIST += tests/progs/pylocks.py
