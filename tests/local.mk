# tests/: criterion suites; programs in tests/progs run under the preload
# and checked through their JSON reports.
check_LTLIBRARIES += tests/libharness.la
tests_libharness_la_SOURCES = tests/harness.c tests/harness.h

AM_TESTS_ENVIRONMENT = \
	FENCEDEP_LIBRARY='$(abs_top_builddir)/.libs/libfencedep.so'; \
	FDEP_TEST_BINDIR='$(abs_top_builddir)/tests/progs'; \
	FDEP_CLI='$(abs_top_builddir)/src/cli/fencedep'; \
	FDEP_SRCDIR='$(abs_top_srcdir)'; \
	export FENCEDEP_LIBRARY FDEP_TEST_BINDIR FDEP_CLI FDEP_SRCDIR;

# Test programs: plain binaries, annotated through fencedep.h only.
TEST_PROGS = tests/progs/fdep-script
check_PROGRAMS += $(TEST_PROGS)
tests_progs_fdep_script_SOURCES = tests/progs/fdep-script.c

if HAVE_CRITERION
CRITERION_SUITES = tests/test_graph tests/test_annotations tests/test_fences
check_PROGRAMS += $(CRITERION_SUITES)
TESTS += $(CRITERION_SUITES)
tests_test_graph_SOURCES = tests/test_graph.c tests/script.h
tests_test_graph_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_graph_LDADD = tests/libharness.la $(CRITERION_LIBS)
tests_test_annotations_SOURCES = tests/test_annotations.c tests/script.h
tests_test_annotations_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_annotations_LDADD = tests/libharness.la $(CRITERION_LIBS)
tests_test_fences_SOURCES = tests/test_fences.c tests/script.h
tests_test_fences_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_fences_LDADD = tests/libharness.la $(CRITERION_LIBS)
else
check-local:
	@echo "make check needs criterion: install libcriterion-dev and run configure again" >&2
	@exit 1
endif
include $(srcdir)/tests/report/local.mk
include $(srcdir)/tests/vmbind/local.mk
