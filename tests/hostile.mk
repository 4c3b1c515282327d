# tests/test_hostile.c: hostile and unlucky conditions (issue 16): crafted
# inputs, planted files, exec and pid namespaces, out of memory, limits.
TEST_PROGS += tests/progs/rel-hostile
check_PROGRAMS += tests/progs/rel-hostile
tests_progs_rel_hostile_SOURCES = tests/progs/rel-hostile.c
tests_progs_rel_hostile_LDADD = -lpthread
if HAVE_CRITERION
check_PROGRAMS += tests/test_hostile
TESTS += tests/test_hostile
tests_test_hostile_SOURCES = tests/test_hostile.c tests/script.h
tests_test_hostile_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_hostile_LDADD = tests/libharness.la $(CRITERION_LIBS)
endif
tests_test_hostile_CPPFLAGS = $(AM_CPPFLAGS) -DFDEP_TEST_LIBDIR='"$(libdir)"'
