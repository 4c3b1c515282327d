# tests/: criterion suites; programs in tests/progs run under the preload
# and checked through their JSON reports.
check_LTLIBRARIES += tests/libharness.la
tests_libharness_la_SOURCES = tests/harness.c tests/harness.h

AM_TESTS_ENVIRONMENT = \
	FENCEDEP_LIBRARY='$(abs_top_builddir)/.libs/libfencedep.so'; \
	FDEP_TEST_BINDIR='$(abs_top_builddir)/tests/progs'; \
	FDEP_CLI='$(abs_top_builddir)/src/cli/fencedep'; \
	FDEP_SRCDIR='$(abs_top_srcdir)'; \
	CRITERION_VERBOSITY_LEVEL=1; \
	FDEP_BUILDDIR='$(abs_top_builddir)'; FDEP_CC='$(CC)'; \
	export FENCEDEP_LIBRARY FDEP_TEST_BINDIR FDEP_CLI FDEP_SRCDIR CRITERION_VERBOSITY_LEVEL; \
	export FDEP_BUILDDIR FDEP_CC;

# Test programs: plain binaries, annotated through fencedep.h only.
TEST_PROGS = tests/progs/fdep-script tests/progs/hang tests/progs/churn \
	tests/progs/abba \
	tests/progs/ring \
	tests/progs/rwlock-cycle \
	tests/progs/trylock \
	tests/progs/condvar \
	tests/progs/cancel \
	tests/progs/rel-fds \
	tests/progs/transfer \
	tests/progs/reuse \
	tests/progs/window-race \
	tests/progs/kind-reuse \
	tests/progs/evict-race \
	tests/progs/relock \
	tests/progs/warm \
	tests/progs/mutex-kinds \
	tests/progs/lock-class \
	tests/progs/many-syms \
	tests/progs/bad-unlock \
	tests/progs/thread-exit \
	tests/progs/held-free \
	tests/progs/static-locks \
	tests/progs/fork-held \
	tests/progs/many-held \
	tests/progs/many-threads \
	tests/progs/spin \
	tests/progs/adjacent \
	tests/progs/annot-fast \
	tests/progs/rel-spawn tests/progs/rel-clone tests/progs/rel-signal \
	tests/progs/rel-dlopen tests/progs/rel-alloc tests/progs/rel-cxx tests/progs/fence-names \
	tests/progs/rel-report tests/progs/rel-capacity tests/progs/rel-secure \
	tests/progs/sites tests/progs/mutex-life \
	tests/progs/waits
TEST_PROGS += tests/progs/sig
tests_progs_sig_SOURCES = tests/progs/sig.c
tests_progs_sig_LDADD = -lpthread
TEST_PROGS += tests/progs/sig-fast
tests_progs_sig_fast_SOURCES = tests/progs/sig-fast.c
tests_progs_sig_fast_LDADD = -lpthread -ldl
check_PROGRAMS += $(TEST_PROGS)
tests_progs_mutex_life_SOURCES = tests/progs/mutex-life.c
tests_progs_mutex_life_LDADD = -lpthread
# class names and fingerprints by init site, merging, site mode
tests_progs_sites_SOURCES = tests/progs/sites.c
tests_progs_sites_LDADD = -lpthread
# an init call as a tail call returns to the caller's caller: kept calls
tests_progs_sites_CFLAGS = $(AM_CFLAGS) -fno-optimize-sibling-calls
# rebuilt without debug information: sites named by offset, not line
check_PROGRAMS += tests/progs/sites-g0
tests_progs_sites_g0_SOURCES = tests/progs/sites.c
tests_progs_sites_g0_LDADD = -lpthread
tests_progs_sites_g0_CFLAGS = $(AM_CFLAGS) -fno-optimize-sibling-calls
tests_progs_sites_g0_LDFLAGS = -Wl,--strip-debug
tests_progs_fdep_script_SOURCES = tests/progs/fdep-script.c
tests_progs_churn_SOURCES = tests/progs/churn.c
tests_progs_churn_LDADD = -lpthread
tests_progs_hang_SOURCES = tests/progs/hang.c
tests_progs_hang_LDADD = -lpthread
# pthread scenarios run by tests/test_preload.c: plain programs
tests_progs_abba_SOURCES = tests/progs/abba.c
tests_progs_abba_LDADD = -lpthread
tests_progs_ring_SOURCES = tests/progs/ring.c
tests_progs_ring_LDADD = -lpthread
tests_progs_rwlock_cycle_SOURCES = tests/progs/rwlock-cycle.c
tests_progs_rwlock_cycle_LDADD = -lpthread
tests_progs_trylock_SOURCES = tests/progs/trylock.c
tests_progs_trylock_LDADD = -lpthread
tests_progs_condvar_SOURCES = tests/progs/condvar.c
tests_progs_condvar_LDADD = -lpthread
tests_progs_cancel_SOURCES = tests/progs/cancel.c
tests_progs_cancel_LDADD = -lpthread
tests_progs_rel_fds_SOURCES = tests/progs/rel-fds.c
tests_progs_rel_fds_LDADD = -lpthread
tests_progs_transfer_SOURCES = tests/progs/transfer.c
tests_progs_transfer_LDADD = -lpthread
tests_progs_reuse_SOURCES = tests/progs/reuse.c
tests_progs_reuse_LDADD = -lpthread
tests_progs_window_race_SOURCES = tests/progs/window-race.c
tests_progs_window_race_LDADD = -lpthread
tests_progs_kind_reuse_SOURCES = tests/progs/kind-reuse.c
tests_progs_kind_reuse_LDADD = -lpthread
tests_progs_evict_race_SOURCES = tests/progs/evict-race.c
tests_progs_evict_race_LDADD = -lpthread
tests_progs_relock_SOURCES = tests/progs/relock.c
tests_progs_relock_LDADD = -lpthread
tests_progs_warm_SOURCES = tests/progs/warm.c
tests_progs_warm_LDADD = -lpthread
tests_progs_bad_unlock_SOURCES = tests/progs/bad-unlock.c
tests_progs_bad_unlock_LDADD = -lpthread
tests_progs_thread_exit_SOURCES = tests/progs/thread-exit.c
tests_progs_thread_exit_LDADD = -lpthread
tests_progs_held_free_SOURCES = tests/progs/held-free.c
tests_progs_held_free_LDADD = -lpthread
tests_progs_static_locks_SOURCES = tests/progs/static-locks.c
tests_progs_static_locks_LDADD = -lpthread
# the same program built otherwise, for fingerprints that outlive a rebuild
check_PROGRAMS += tests/progs/static-locks-O0
tests_progs_static_locks_O0_SOURCES = tests/progs/static-locks.c
tests_progs_static_locks_O0_CFLAGS = $(AM_CFLAGS) -O0 -g0 -fno-pie
tests_progs_static_locks_O0_LDFLAGS = -no-pie
tests_progs_static_locks_O0_LDADD = -lpthread
# stripped, twice under two names: classes by module and offset
check_PROGRAMS += tests/progs/static-locks-s1 tests/progs/static-locks-s2
tests_progs_static_locks_s1_SOURCES = tests/progs/static-locks.c
tests_progs_static_locks_s1_LDFLAGS = -s
tests_progs_static_locks_s1_LDADD = -lpthread
tests_progs_static_locks_s2_SOURCES = tests/progs/static-locks.c
tests_progs_static_locks_s2_LDFLAGS = -s
tests_progs_static_locks_s2_LDADD = -lpthread
tests_progs_fork_held_SOURCES = tests/progs/fork-held.c
tests_progs_fork_held_LDADD = -lpthread
tests_progs_many_held_SOURCES = tests/progs/many-held.c
tests_progs_many_held_LDADD = -lpthread
tests_progs_many_threads_SOURCES = tests/progs/many-threads.c
tests_progs_many_threads_LDADD = -lpthread
tests_progs_mutex_kinds_SOURCES = tests/progs/mutex-kinds.c
tests_progs_lock_class_SOURCES = tests/progs/lock-class.c
tests_progs_many_syms_SOURCES = tests/progs/many-syms.c
tests_progs_many_syms_LDADD = -lpthread
tests_progs_lock_class_LDADD = -lpthread
tests_progs_mutex_kinds_LDADD = -lpthread
tests_progs_waits_SOURCES = tests/progs/waits.c
tests_progs_waits_LDADD = -lpthread
tests_progs_spin_SOURCES = tests/progs/spin.c
tests_progs_spin_LDADD = -lpthread
tests_progs_adjacent_SOURCES = tests/progs/adjacent.c
tests_progs_adjacent_LDADD = -lpthread
tests_progs_annot_fast_SOURCES = tests/progs/annot-fast.c
# reliability scenarios run by tests/test_reliability.c
tests_progs_rel_spawn_SOURCES = tests/progs/rel-spawn.c
tests_progs_rel_spawn_LDADD = -lpthread
tests_progs_rel_clone_SOURCES = tests/progs/rel-clone.c
tests_progs_rel_clone_LDADD = -lpthread
tests_progs_rel_signal_SOURCES = tests/progs/rel-signal.c
tests_progs_rel_signal_LDADD = -lpthread
tests_progs_rel_dlopen_SOURCES = tests/progs/rel-dlopen.c
tests_progs_rel_dlopen_LDADD = -ldl -lpthread
tests_progs_rel_alloc_SOURCES = tests/progs/rel-alloc.c
tests_progs_rel_alloc_LDADD = -lpthread
tests_progs_rel_cxx_SOURCES = tests/progs/rel-cxx.cc
tests_progs_rel_cxx_LDADD = -lpthread
# a report from a thread with a small stack, naming a long C++ template
TEST_PROGS += tests/progs/cxx-longname tests/progs/small-stack
tests_progs_small_stack_LDADD = -lpthread
tests_progs_cxx_longname_SOURCES = tests/progs/cxx-longname.cc
tests_progs_cxx_longname_LDADD = -lpthread
# C++ names in reports: demangled frames, classes named by the program's method
TEST_PROGS += tests/progs/cxx-names
tests_progs_cxx_names_SOURCES = tests/progs/cxx-names.cc
tests_progs_cxx_names_LDADD = -lpthread
TEST_PROGS += tests/progs/cxx-names-O0
tests_progs_cxx_names_O0_SOURCES = tests/progs/cxx-names-O0.cc
tests_progs_cxx_names_O0_LDADD = -lpthread
tests_progs_rel_report_SOURCES = tests/progs/rel-report.c
tests_progs_rel_report_LDADD = -lpthread
tests_progs_rel_capacity_SOURCES = tests/progs/rel-capacity.c
tests_progs_rel_capacity_LDADD = -lpthread
# abba with the runtime linked into it (no preload), run setuid.  The
# runtime's objects are part of the program, so a copy of it runs anywhere:
# the setuid test copies it where an unprivileged user can reach it, which a
# build tree in a 0700 home is not (and a setuid program ignores RUNPATHs
# relative to $ORIGIN and LD_LIBRARY_PATH).
tests_progs_rel_secure_SOURCES = tests/progs/abba.c $(libfencedep_la_SOURCES)
tests_progs_rel_secure_CFLAGS = $(libfencedep_la_CFLAGS)
tests_progs_rel_secure_LDADD = $(libfencedep_la_LIBADD) -lpthread
# a module for rel-dlopen, loaded by path from tests/progs/.libs
check_LTLIBRARIES += tests/progs/libdlocks.la
tests_progs_libdlocks_la_SOURCES = tests/progs/libdlocks.c
tests_progs_libdlocks_la_LDFLAGS = -module -avoid-version -rpath /nowhere
# one static mutex taken after (a) or before (b) the program's: rel-dlopen swap
check_LTLIBRARIES += tests/progs/libdorder-a.la tests/progs/libdorder-b.la
tests_progs_libdorder_a_la_SOURCES = tests/progs/libdorder.c
tests_progs_libdorder_a_la_CFLAGS = $(AM_CFLAGS) -DOUTER_FIRST
tests_progs_libdorder_a_la_LDFLAGS = -module -avoid-version -rpath /nowhere
tests_progs_libdorder_b_la_SOURCES = tests/progs/libdorder.c
tests_progs_libdorder_b_la_LDFLAGS = -module -avoid-version -rpath /nowhere
# a module that leaves a dlerror() pending from its constructor (preloaded)
check_LTLIBRARIES += tests/progs/libdlerr.la
tests_progs_libdlerr_la_SOURCES = tests/progs/libdlerr.c
tests_progs_libdlerr_la_LIBADD = -ldl
tests_progs_libdlerr_la_LDFLAGS = -module -avoid-version -rpath /nowhere
# fence class names at reused addresses, and the modules that hold them
tests_progs_fence_names_SOURCES = tests/progs/fence-names.c
tests_progs_fence_names_LDADD = -ldl
check_LTLIBRARIES += tests/progs/libfname-a.la tests/progs/libfname-b.la
tests_progs_libfname_a_la_SOURCES = tests/progs/libfname.c
tests_progs_libfname_a_la_CFLAGS = $(AM_CFLAGS) -DFNAME='"gamma.fence"'
tests_progs_libfname_a_la_LDFLAGS = -module -avoid-version -rpath /nowhere
tests_progs_libfname_b_la_SOURCES = tests/progs/libfname.c
tests_progs_libfname_b_la_CFLAGS = $(AM_CFLAGS) -DFNAME='"delta.fence"'
tests_progs_libfname_b_la_LDFLAGS = -module -avoid-version -rpath /nowhere

if HAVE_CRITERION
CRITERION_SUITES = tests/test_graph tests/test_annotations tests/test_fences tests/test_cli tests/test_debug \
	tests/test_preload tests/test_realprogs tests/test_reliability tests/test_identity tests/test_waits
CRITERION_SUITES += tests/test_signals
tests_test_signals_SOURCES = tests/test_signals.c
tests_test_signals_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_signals_LDADD = tests/libharness.la $(CRITERION_LIBS)
check_PROGRAMS += $(CRITERION_SUITES)
TESTS += $(CRITERION_SUITES)
tests_test_graph_SOURCES = tests/test_graph.c tests/script.h
tests_test_graph_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_graph_LDADD = tests/libharness.la $(CRITERION_LIBS)
tests_test_annotations_SOURCES = tests/test_annotations.c tests/script.h
tests_test_annotations_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_annotations_LDADD = tests/libharness.la $(CRITERION_LIBS)
tests_test_cli_SOURCES = tests/test_cli.c
tests_test_cli_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_cli_LDADD = tests/libharness.la $(CRITERION_LIBS)
tests_test_debug_SOURCES = tests/test_debug.c
tests_test_debug_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_debug_LDADD = tests/libharness.la $(CRITERION_LIBS)
tests_test_fences_SOURCES = tests/test_fences.c tests/script.h
tests_test_fences_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_fences_LDADD = tests/libharness.la $(CRITERION_LIBS)
tests_test_preload_SOURCES = tests/test_preload.c
tests_test_preload_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_preload_LDADD = tests/libharness.la $(CRITERION_LIBS)
tests_test_waits_SOURCES = tests/test_waits.c
tests_test_waits_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_waits_LDADD = tests/libharness.la $(CRITERION_LIBS)
tests_test_realprogs_SOURCES = tests/test_realprogs.c
tests_test_realprogs_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_realprogs_LDADD = tests/libharness.la $(CRITERION_LIBS)
tests_test_identity_SOURCES = tests/test_identity.c
tests_test_identity_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_identity_LDADD = tests/libharness.la $(CRITERION_LIBS)
tests_test_reliability_SOURCES = tests/test_reliability.c
tests_test_reliability_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_reliability_LDADD = tests/libharness.la $(CRITERION_LIBS)
else
check-local:
	@echo "make check needs criterion: install libcriterion-dev and run configure again" >&2
	@exit 1
endif
# setup.sh: its summary line over sample logs, its one-line refusal to
# install without root or sudo.  CRITERION_VERBOSITY_LEVEL=1 above puts a
# [SKIP] line in a suite's log for each case it skipped, which the summary
# counts.
TESTS += tests/test_setup.sh
EXTRA_DIST += tests/test_setup.sh tests/summarize.sh tests/summary tests/check.sh
# the pkg-config files: fencedep needs no library, fencedep-runtime links it
TESTS += tests/test_pkgconfig.sh
EXTRA_DIST += tests/test_pkgconfig.sh
# make install's ldconfig hook, with stand-ins for id and ldconfig
TESTS += tests/test_install.sh
EXTRA_DIST += tests/test_install.sh
# setup.sh configures again when what configure found changed; the setuid
# test's program runs wherever the tree is
TESTS += tests/test_newcomer.sh
EXTRA_DIST += tests/test_newcomer.sh
# suites that make temporary directories leave none behind
TESTS += tests/test_tmpfiles.sh
EXTRA_DIST += tests/test_tmpfiles.sh
# the bash completion, sourced and asked as bash asks it
TESTS += tests/test_completion.sh
EXTRA_DIST += tests/test_completion.sh
# fencedep(1)'s text example against a real run
TESTS += tests/test_man_examples.sh
EXTRA_DIST += tests/test_man_examples.sh
# the HTML report in headless Chromium (skipped without it)
TESTS += tests/test_html_browser.sh
EXTRA_DIST += tests/test_html_browser.sh
# the SARIF against the official 2.1.0 schema (skipped without the validator)
TESTS += tests/test_sarif_schema.sh
EXTRA_DIST += tests/test_sarif_schema.sh
# `fencedep report --exit-zero` and -f github
TESTS += tests/test_report_ci.sh
EXTRA_DIST += tests/test_report_ci.sh
# the runtime's text and `fencedep report`'s for the same findings: one format
TESTS += tests/test_text_one_format.sh
EXTRA_DIST += tests/test_text_one_format.sh
# the command's warning when the runtime did not get in; only=, exclude=
TESTS += tests/test_select.sh
EXTRA_DIST += tests/test_select.sh
check_PROGRAMS += tests/progs/static-hello
tests_progs_static_hello_SOURCES = tests/progs/static-hello.c
tests_progs_static_hello_LDFLAGS = -all-static
# fencedep in the test harnesses of other projects: a sample automake,
# meson and CMake project each (tests/harness), built and tested with the
# system's tools (skipped when they are not installed)
TESTS += tests/test_harness_automake.sh tests/test_harness_meson.sh tests/test_harness_ctest.sh
EXTRA_DIST += tests/test_harness_automake.sh tests/test_harness_meson.sh \
	tests/test_harness_ctest.sh tests/harness
# Long runs of the real programs and vmbind-stress (not part of check):
# make soak [SOAK_SECONDS=N]
SOAK_SECONDS = 3600
EXTRA_DIST += tests/soak.sh tests/progs/nest.h
soak: all $(check_PROGRAMS)
	FENCEDEP_LIBRARY='$(abs_top_builddir)/.libs/libfencedep.so' \
	FDEP_BUILDDIR='$(abs_top_builddir)' \
	$(srcdir)/tests/soak.sh $(SOAK_SECONDS)
.PHONY: soak
include $(srcdir)/tests/hostile.mk
include $(srcdir)/tests/report/local.mk
include $(srcdir)/tests/locklibs.mk
include $(srcdir)/tests/vmbind/local.mk
