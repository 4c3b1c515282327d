# tests/vmbind: the VM_BIND model run under the checker and natively.
if HAVE_CRITERION
check_PROGRAMS += tests/vmbind/test_vmbind
TESTS += tests/vmbind/test_vmbind
tests_vmbind_test_vmbind_SOURCES = tests/vmbind/test_vmbind.c
tests_vmbind_test_vmbind_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_vmbind_test_vmbind_LDADD = tests/libharness.la $(CRITERION_LIBS)
endif
