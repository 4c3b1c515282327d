/*
 * test_locklibs.c - the lock libraries programs use beyond pthreads, seen
 * with no change to the program: GLib, OpenMP, CPython's semaphore locks.
 * Each scenario inverts (the exact kind reported) against a clean twin,
 * and real programs built on each library run clean with the same output.
 *
 * A scenario whose library was missing when the tests were built (configure
 * found no glib-2.0 or no OpenMP) skips, saying which package to install.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define KILLED (128 + SIGKILL)
#define FINDING_EXIT 66
#define ARGV(...) ((char *const[]){ __VA_ARGS__, NULL })

/* Skip unless the test program (or real program at a path) exists. */
static void need(const char *prog, const char *why)
{
	const char *path = prog[0] == '/' ? prog : harness_prog(prog);

	if (access(path, X_OK) != 0)
		cr_skip_test("%s is missing: %s", path, why);
}

#define NEED_GLIB(prog) need(prog, "install libglib2.0-dev and run configure again")

static void run(const char *opts, char *const argv[], struct harness_run *r)
{
	harness_timeout_s = 60;
	int rc = harness_run(opts, argv, r);
	harness_timeout_s = 0;
	cr_assert_eq(rc, 0, "cannot start %s", argv[0]);
	cr_assert_neq(r->status, KILLED, "%s %s hung (killed after 60 s)\nstderr: %s", argv[0],
		      argv[1] ? argv[1] : "", r->err);
}

/* Exactly `n` findings, all of `kind`, and the finding exit status. */
static void expect_findings(const struct harness_run *r, const char *kind, int n)
{
	cr_assert_geq(r->nreports, 1, "no JSON report\nstderr: %s", r->err);
	cr_expect_eq(harness_count(r->json, kind), n, "expected %d %s, got %d\n%s", n, kind,
		     harness_count(r->json, kind), r->log);
	cr_expect_eq(harness_findings(r->json), n, "expected %d findings in all, got %d\n%s", n,
		     harness_findings(r->json), r->log);
	cr_expect_eq(r->status, n ? FINDING_EXIT : 0, "exit status %d\nstderr: %s", r->status,
		     r->err);
}

/* The cycle of the report names these two classes. */
static void expect_cycle_of(const struct harness_run *r, const char *a, const char *b)
{
	char from[128], to[128];

	snprintf(from, sizeof(from), "{\"from\": \"%s\", \"to\": \"%s\"", a, b);
	snprintf(to, sizeof(to), "{\"from\": \"%s\", \"to\": \"%s\"", b, a);
	cr_expect(strstr(r->json, from) && strstr(r->json, to), "no cycle %s <-> %s in\n%s", a, b,
		  r->log);
}

/* ---- GLib ---- */

static void glib_case_opts(const char *opts, const char *mode, const char *kind, int n)
{
	struct harness_run r;

	NEED_GLIB("glib-locks");
	run(opts, ARGV("glib-locks", (char *)mode), &r);
	expect_findings(&r, kind, n);
	cr_expect_str_eq(r.out, "done\n");
	harness_free(&r);
}

static void glib_case(const char *mode, const char *kind, int n)
{
	glib_case_opts(NULL, mode, kind, n);
}

Test(glib, static_gmutex_inversion_reported_by_symbol)
{
	struct harness_run r;

	NEED_GLIB("glib-locks");
	run(NULL, ARGV("glib-locks", "mutex-bug"), &r);
	expect_findings(&r, "lock-order-inversion", 1);
	expect_cycle_of(&r, "mutex_a", "mutex_b");
	harness_free(&r);
}

Test(glib, static_gmutex_same_order_is_silent)
{
	glib_case("mutex-clean", "lock-order-inversion", 0);
}

Test(glib, initialised_gmutex_inversion_reported)
{
	glib_case("heap-bug", "lock-order-inversion", 1);
}

Test(glib, initialised_gmutex_same_order_is_silent)
{
	glib_case("heap-clean", "lock-order-inversion", 0);
}

Test(glib, grecmutex_inversion_reported_once_not_as_its_pthread_lock)
{
	struct harness_run r;

	NEED_GLIB("glib-locks");
	run(NULL, ARGV("glib-locks", "rec-bug"), &r);
	expect_findings(&r, "lock-order-inversion", 1);
	expect_cycle_of(&r, "rec_a", "rec_b");
	/* the pthread mutex GLib keeps behind each GRecMutex is not a class */
	cr_expect_null(strstr(r.json, "\"name\": \"mutex@"), "%s", r.json);
	harness_free(&r);
}

Test(glib, grecmutex_relocked_in_one_order_is_silent)
{
	glib_case("rec-clean", "lock-order-inversion", 0);
}

Test(glib, grwlock_writers_inversion_reported)
{
	struct harness_run r;

	NEED_GLIB("glib-locks");
	run(NULL, ARGV("glib-locks", "rw-bug"), &r);
	expect_findings(&r, "lock-order-inversion", 1);
	expect_cycle_of(&r, "rw_a", "rw_b");
	cr_expect_null(strstr(r.json, "\"name\": \"rwlock@"), "%s", r.json);
	harness_free(&r);
}

Test(glib, grwlock_writers_same_order_is_silent)
{
	glib_case("rw-clean", "lock-order-inversion", 0);
}

/* The fast paths of seen chains (a GRecMutex relocked, GRWLock writer and
 * reader, GLib's pthread locks called directly) keep the held stack exact
 * over many rounds: the inversion that follows is reported, and in the twin
 * nothing is left counted held to make a cycle with a later lock. */
Test(glib, grecmutex_and_grwlock_fast_paths_then_inversion_reported)
{
	struct harness_run r;

	NEED_GLIB("glib-locks");
	run(NULL, ARGV("glib-locks", "warm-bug"), &r);
	expect_findings(&r, "lock-order-inversion", 1);
	expect_cycle_of(&r, "rec_a", "rw_a");
	cr_expect_str_eq(r.out, "done\n");
	harness_free(&r);
}

Test(glib, grecmutex_and_grwlock_fast_paths_in_one_order_are_silent)
{
	glib_case("warm-clean", "lock-order-inversion", 0);
}

/* A handler that takes its own GMutex, landing anywhere in those fast
 * paths (mid-push, mid-count), leaves the held stack as it was: silent. */
Test(glib, signal_handler_amid_the_fast_paths_is_silent)
{
	glib_case("signal", "lock-order-inversion", 0);
}

Test(glib, grwlock_readers_in_both_orders_are_silent)
{
	glib_case("readers", "lock-order-inversion", 0);
}

Test(glib, gmutex_trylock_adds_no_edge)
{
	glib_case("trylock", "lock-order-inversion", 0);
}

Test(glib, gcond_waited_holding_a_lock_its_signaller_takes_is_event_lock_inversion)
{
	glib_case("cond-bug", "event-lock-inversion", 1);
}

Test(glib, gcond_waited_without_that_lock_is_silent)
{
	glib_case("cond-clean", "event-lock-inversion", 0);
}

/* join_life=1: the thread's whole life is its exit's context (by default,
 * what it holds when it ends, and this one ends holding nothing) */
Test(glib, gthread_joined_holding_a_lock_it_takes_is_event_lock_inversion)
{
	glib_case_opts("join_life=1", "join-bug", "event-lock-inversion", 1);
}

Test(glib, gthread_joined_without_that_lock_is_silent)
{
	glib_case_opts("join_life=1", "join-clean", "event-lock-inversion", 0);
}

Test(glib, gthread_joined_holding_a_lock_it_released_is_silent_by_default)
{
	glib_case("join-bug", "event-lock-inversion", 0);
}

Test(glib, g_once_init_enter_holding_a_lock_the_initialiser_takes_is_reported_before_it_blocks)
{
	struct harness_run r;

	NEED_GLIB("glib-locks");
	harness_timeout_s = 4;
	cr_assert_eq(harness_run(NULL, ARGV("glib-locks", "once-deadlock"), &r), 0);
	harness_timeout_s = 0;
	cr_expect_eq(r.status, KILLED, "expected to deadlock (status %d)", r.status);
	cr_expect_eq(harness_count(r.json, "event-lock-inversion"), 1, "%s", r.log);
	cr_expect_eq(harness_findings(r.json), 1, "%s", r.log);
	expect_cycle_of(&r, "once_value", "l");
	harness_free(&r);
}

Test(glib, g_once_init_enter_without_that_lock_is_silent)
{
	glib_case("once-clean", "event-lock-inversion", 0);
}

/* g_once: the routine took l in another thread; this one waits for it to
 * end holding l: had it held l first, neither would go on. */
Test(glib, g_once_waited_for_holding_a_lock_its_routine_takes_is_event_lock_inversion)
{
	struct harness_run r;

	NEED_GLIB("glib-locks");
	run(NULL, ARGV("glib-locks", "gonce-bug"), &r);
	cr_expect_eq(harness_count(r.json, "event-lock-inversion"), 1, "%s", r.log);
	cr_expect_eq(harness_findings(r.json), 1, "%s", r.log);
	expect_cycle_of(&r, "gonce", "l");
	cr_expect_str_eq(r.out, "once 7\ndone\n");
	harness_free(&r);
}

Test(glib, g_once_waited_for_without_that_lock_is_silent)
{
	struct harness_run r;

	NEED_GLIB("glib-locks");
	run(NULL, ARGV("glib-locks", "gonce-clean"), &r);
	expect_findings(&r, "event-lock-inversion", 0);
	cr_expect_str_eq(r.out, "once 7\ndone\n");
	harness_free(&r);
}

/* The TAP result lines ("ok N /path", "not ok ...") of a GTest run: the
 * rest of its output has seeds, timings and temporary names. */
static char *tap_results(const char *out)
{
	size_t n = 0;
	char *res = malloc(strlen(out) + 1);

	for (const char *l = out; *l;) {
		const char *e = strchr(l, '\n');
		size_t len = e ? (size_t)(e - l + 1) : strlen(l);
		if (!strncmp(l, "ok ", 3) || !strncmp(l, "not ok ", 7)) {
			memcpy(res + n, l, len);
			n += len;
		}
		l += len;
	}
	res[n] = 0;
	return res;
}

/* One GLib installed test natively and checked: the same results, every
 * test passed, no finding. */
static void glib_installed(char *const argv[])
{
	struct harness_run native, checked;

	need(argv[0], "install libglib2.0-tests");
	harness_timeout_s = 120;
	cr_assert_eq(harness_run_opts(0, NULL, argv, &native), 0);
	cr_assert_eq(harness_run(NULL, argv, &checked), 0);
	/* GLib's asyncqueue asserts that each of its threads popped an item,
	 * which a thread that starts late (slower under the checker, or on a
	 * loaded machine) does not: such a run is repeated, at most twice,
	 * and every run must be free of findings */
	for (int again = 0; again < 2 && checked.status == 134 &&
			    strstr(checked.err, "GLib:ERROR:") && strstr(checked.err, "sums[i] > 0");
	     again++) {
		cr_expect_eq(harness_findings(checked.json), 0, "%s", checked.log);
		harness_free(&checked);
		cr_assert_eq(harness_run(NULL, argv, &checked), 0);
	}
	harness_timeout_s = 0;
	cr_assert_eq(native.status, 0, "%s natively: status %d\n%s", argv[0], native.status,
		     native.out);
	expect_findings(&checked, "lock-order-inversion", 0);
	char *a = tap_results(native.out), *b = tap_results(checked.out);
	cr_expect(a[0], "%s printed no result\n%s", argv[0], native.out);
	cr_expect_str_eq(b, a, "%s", argv[0]);
	cr_expect_null(strstr(b, "not ok"), "%s", b);
	free(a);
	free(b);
	harness_free(&native);
	harness_free(&checked);
}

#define GLIB_TEST(name) "/usr/libexec/installed-tests/glib/" name

/* GLib's own lock tests, but for the three that run for seconds on end. */
Test(glib, installed_lock_tests_clean_same_results)
{
	glib_installed(ARGV(GLIB_TEST("mutex"), "-p", "/thread/mutex1", "-p", "/thread/mutex2",
			    "-p", "/thread/mutex3", "-p", "/thread/mutex5"));
	glib_installed(ARGV(GLIB_TEST("rec-mutex"), "-p", "/thread/rec-mutex1", "-p",
			    "/thread/rec-mutex2", "-p", "/thread/rec-mutex3"));
	glib_installed(ARGV(GLIB_TEST("rwlock"), "-s", "/thread/rwlock7"));
	glib_installed(ARGV(GLIB_TEST("cond")));
	glib_installed(ARGV(GLIB_TEST("once")));
	glib_installed(ARGV(GLIB_TEST("onceinit")));
	glib_installed(ARGV(GLIB_TEST("asyncqueue")));
}

/* GDBus between two connections of one process (libgio's locks, seen
 * through the dynamic linker, and its worker thread). */
Test(glib, installed_gdbus_peer_test_clean_same_results)
{
	glib_installed(ARGV(GLIB_TEST("gdbus-peer")));
}

/* ---- OpenMP ---- */

#define NEED_OMP(prog) need(prog, "the compiler had no OpenMP (gcc -fopenmp, libgomp1)")

static void omp_case(const char *mode, const char *kind, int n)
{
	struct harness_run r;

	NEED_OMP("omp-locks");
	run(NULL, ARGV("omp-locks", (char *)mode), &r);
	expect_findings(&r, kind, n);
	cr_expect_str_eq(r.out, "done\n");
	harness_free(&r);
}

/* An explicit barrier is an event: thread 1 needs a in the phase that
 * thread 0 ends holding a. */
Test(openmp, barrier_arrival_holding_a_lock_another_phase_takes_is_event_lock_inversion)
{
	struct harness_run r;

	NEED_OMP("omp-locks");
	run(NULL, ARGV("omp-locks", "barrier-bug"), &r);
	expect_findings(&r, "event-lock-inversion", 1);
	expect_cycle_of(&r, "omp_barrier", "a");
	harness_free(&r);
}

Test(openmp, barrier_arrival_after_releasing_the_lock_is_silent)
{
	omp_case("barrier-clean", "event-lock-inversion", 0);
}

Test(openmp, lock_inversion_reported_by_symbol)
{
	struct harness_run r;

	NEED_OMP("omp-locks");
	run(NULL, ARGV("omp-locks", "lock-bug"), &r);
	expect_findings(&r, "lock-order-inversion", 1);
	expect_cycle_of(&r, "a", "b");
	harness_free(&r);
}

Test(openmp, locks_in_one_order_are_silent)
{
	omp_case("lock-clean", "lock-order-inversion", 0);
}

Test(openmp, relocked_nest_lock_inversion_reported)
{
	struct harness_run r;

	NEED_OMP("omp-locks");
	run(NULL, ARGV("omp-locks", "nest-bug"), &r);
	expect_findings(&r, "lock-order-inversion", 1);
	expect_cycle_of(&r, "n", "a");
	harness_free(&r);
}

Test(openmp, relocked_nest_lock_in_one_order_is_silent)
{
	omp_case("nest-clean", "lock-order-inversion", 0);
}

/* The fast paths of seen chains (nest lock relocked, critical section,
 * simple locks), over many rounds: the inversion after them is reported,
 * and in the twin nothing is left counted held. */
Test(openmp, nest_lock_and_critical_fast_paths_then_inversion_reported)
{
	struct harness_run r;

	NEED_OMP("omp-locks");
	run(NULL, ARGV("omp-locks", "warm-bug"), &r);
	expect_findings(&r, "lock-order-inversion", 1);
	expect_cycle_of(&r, "a", "b");
	harness_free(&r);
}

Test(openmp, nest_lock_and_critical_fast_paths_in_one_order_are_silent)
{
	omp_case("warm-clean", "lock-order-inversion", 0);
}

Test(openmp, named_critical_is_a_class_of_its_name)
{
	struct harness_run r;

	NEED_OMP("omp-locks");
	run(NULL, ARGV("omp-locks", "critical-bug"), &r);
	expect_findings(&r, "lock-order-inversion", 1);
	expect_cycle_of(&r, "omp_critical@alpha", "a");
	harness_free(&r);
}

Test(openmp, named_critical_in_one_order_is_silent)
{
	omp_case("critical-clean", "lock-order-inversion", 0);
}

Test(openmp, unnamed_critical_is_one_class)
{
	struct harness_run r;

	NEED_OMP("omp-locks");
	run(NULL, ARGV("omp-locks", "unnamed-bug"), &r);
	expect_findings(&r, "lock-order-inversion", 1);
	expect_cycle_of(&r, "omp_critical", "a");
	harness_free(&r);
}

Test(openmp, unnamed_critical_in_one_order_is_silent)
{
	omp_case("unnamed-clean", "lock-order-inversion", 0);
}

Test(openmp, nested_named_criticals_in_one_order_are_silent)
{
	omp_case("criticals", "lock-order-inversion", 0);
}

Test(openmp, critical_entered_again_inside_itself_is_recursive_locking)
{
	struct harness_run r;

	NEED_OMP("omp-locks");
	harness_timeout_s = 3;
	cr_assert_eq(harness_run(NULL, ARGV("omp-locks", "reenter"), &r), 0);
	harness_timeout_s = 0;
	cr_expect_eq(r.status, KILLED, "expected to deadlock (status %d)", r.status);
	cr_expect_eq(harness_count(r.json, "recursive-locking"), 1, "%s", r.log);
	cr_expect_eq(harness_findings(r.json), 1, "%s", r.log);
	harness_free(&r);
}

Test(openmp, test_lock_adds_no_edge)
{
	omp_case("test", "lock-order-inversion", 0);
}

/* A catalogue and an older translation of it in `dir`: 600 messages of six
 * words, the translated ones with one word spelled otherwise, so that
 * msgmerge's fuzzy search (its OpenMP loop) has work. */
static void write_catalogues(const char *dir)
{
	static const char *const words[] = { "alpha", "bravo", "charlie", "delta",
					     "echo",  "golf",  "hotel",   "india" };
	char path[256];

	for (int po = 0; po < 2; po++) {
		snprintf(path, sizeof(path), "%s/%s", dir, po ? "old.po" : "new.pot");
		FILE *f = fopen(path, "w");
		cr_assert_not_null(f, "%s", path);
		fprintf(f, "msgid \"\"\nmsgstr \"\"\n\"Content-Type: text/plain; charset=UTF-8\\n\"\n\n");
		for (unsigned i = 0; i < 600; i += po ? 2 : 1) {
			unsigned s = i * 2654435761u + 1;
			fprintf(f, "msgid \"");
			for (int w = 0; w < 6; w++, s = s * 1103515245u + 12345u) {
				const char *word = words[(s >> 16) % 8];
				fprintf(f, "%s ", po && !strcmp(word, "alpha") ? "alfa" : word);
			}
			fprintf(f, "%u\"\nmsgstr \"%s%u\"\n\n", i, po ? "T " : "", i);
		}
		cr_assert_eq(fclose(f), 0);
	}
}

/* gettext's msgmerge runs its fuzzy search in an OpenMP parallel loop. */
Test(openmp, msgmerge_clean_same_output)
{
	struct harness_run native, checked;
	char dir[] = "/tmp/fdep-omp-XXXXXX", po[64], pot[64];

	need("/usr/bin/msgmerge", "install gettext");
	cr_assert_not_null(mkdtemp(dir));
	write_catalogues(dir);
	snprintf(po, sizeof(po), "%s/old.po", dir);
	snprintf(pot, sizeof(pot), "%s/new.pot", dir);
	char *const argv[] = { "/usr/bin/msgmerge", "-q", po, pot, "-o", "-", NULL };
	harness_timeout_s = 60;
	cr_assert_eq(harness_run_opts(0, NULL, argv, &native), 0);
	cr_assert_eq(harness_run(NULL, argv, &checked), 0);
	harness_timeout_s = 0;
	cr_assert_eq(native.status, 0, "msgmerge natively: status %d\n%s", native.status, native.err);
	cr_expect(strstr(native.out, "#, fuzzy"), "no fuzzy match to search for:\n%s", native.out);
	expect_findings(&checked, "lock-order-inversion", 0);
	cr_expect_str_eq(checked.out, native.out);
	harness_free(&native);
	harness_free(&checked);
	unlink(po);
	unlink(pot);
	rmdir(dir);
}

/* ---- CPython ---- */

/* tests/progs/pylocks.py MODE run by python3 (default options, or opts):
 * exactly n findings of kind, and the script's own output. */
static void python_case(const char *opts, const char *mode, const char *kind, int n)
{
	struct harness_run r;
	char script[4096];
	const char *src = getenv("FDEP_SRCDIR");

	need("/usr/bin/python3", "install python3");
	snprintf(script, sizeof(script), "%s/tests/progs/pylocks.py", src ? src : ".");
	cr_assert_eq(access(script, R_OK), 0, "%s is missing", script);
	run(opts, ARGV("/usr/bin/python3", script, (char *)mode), &r);
	expect_findings(&r, kind, n);
	cr_expect_str_eq(r.out, "done\n", "stderr: %s", r.err);
	harness_free(&r);
}

Test(python, two_locks_in_opposite_orders_are_a_lock_order_inversion)
{
	python_case(NULL, "bug", "lock-order-inversion", 1);
}

Test(python, two_locks_in_one_order_are_silent)
{
	python_case(NULL, "clean", "lock-order-inversion", 0);
}

Test(python, two_rlocks_in_opposite_orders_are_a_lock_order_inversion)
{
	python_case(NULL, "rlock-bug", "lock-order-inversion", 1);
}

Test(python, two_rlocks_in_one_order_are_silent)
{
	python_case(NULL, "rlock-clean", "lock-order-inversion", 0);
}

/* python_locks=0: every semaphore an event, Python's locks unseen. */
Test(python, locks_unseen_with_python_locks_off)
{
	python_case("python_locks=0", "bug", "lock-order-inversion", 0);
}

/* A Lock acquired by a thread that ends, and released by another: legal in
 * Python (a Lock has no owner), no lock-held-at-thread-exit. */
Test(python, lock_handed_off_by_a_thread_that_ends_is_silent)
{
	python_case(NULL, "handoff", "lock-held-at-thread-exit", 0);
}

/* Event.wait(0.0): a Condition's waiter lock, acquired under the
 * condition's lock, tried again with acquire(False) by its holder and
 * dropped while the condition's lock is taken back: a token, not a lock. */
Test(python, condition_waits_with_a_zero_timeout_are_silent)
{
	python_case(NULL, "zero-wait", "lock-order-inversion", 0);
}

/* The thread-state lock, taken by each thread at its start and held for
 * its life, waited for by join(): a token, so the main thread that joins
 * (and sets the event the thread waits for) holding a lock is no cycle
 * (an event-lock-inversion before). */
Test(python, join_and_event_set_holding_a_lock_are_silent)
{
	python_case(NULL, "join", "event-lock-inversion", 0);
}

/* test_threading's test_repr_stopped: a Lock-based Condition's owner check
 * (acquire(False) on its held lock) no longer makes the lock an event, and
 * a woken waiter freed while taken gives its token back, no signal (an
 * event-lock-inversion before). */
Test(python, condition_owner_check_and_freed_waiter_are_silent)
{
	python_case(NULL, "repr-stopped", "event-lock-inversion", 0);
}

/* A Lock released by another thread while this one holds it leaves its
 * held stack before its next lock operation: no edge from it to the next
 * lock this thread takes (a lock-order inversion before). */
Test(python, lock_released_by_another_thread_leads_to_nothing)
{
	python_case(NULL, "stale", "lock-order-inversion", 0);
}

/* A thread blocked for a Lock had pushed it; its holder then waits for it
 * (an event from there): the blocked thread's entry goes too, before its
 * next lock (test_thread's BarrierTest: a lock-order or event-lock
 * inversion before, in one run of two). */
Test(python, lock_turned_event_while_another_thread_blocks_for_it_leads_to_nothing)
{
	python_case(NULL, "blocked", "lock-order-inversion", 0);
}

/* ... and freeing it then is no held-lock-freed (reported before). */
Test(python, lock_released_by_another_thread_then_freed_is_silent)
{
	python_case(NULL, "freed", "held-lock-freed", 0);
}

/* The "Ran N tests" and "OK"/"FAILED" lines of a verbose regrtest run,
 * without the durations. */
static char *unittest_results(const char *out)
{
	size_t n = 0;
	char *res = malloc(strlen(out) + 1);

	for (const char *l = out; *l;) {
		const char *e = strchr(l, '\n');
		size_t len = e ? (size_t)(e - l + 1) : strlen(l);
		if (!strncmp(l, "Ran ", 4)) {
			const char *in = strstr(l, " in ");
			size_t keep = in && in < l + len ? (size_t)(in - l) : len;
			memcpy(res + n, l, keep);
			n += keep;
			res[n++] = '\n';
		} else if (!strncmp(l, "OK", 2) || !strncmp(l, "FAILED", 6)) {
			memcpy(res + n, l, len);
			n += len;
		}
		l += len;
	}
	res[n] = 0;
	return res;
}

/* CPython's own tests, natively and checked: the same results, no finding
 * in any process (the fork tests' children too; their exit status 66 would
 * fail the test run anyway). */
static void cpython_tests(char *const argv[])
{
	struct harness_run native, checked;

	need("/usr/bin/python3", "install python3");
	harness_timeout_s = 120;
	cr_assert_eq(harness_run_opts(0, NULL, argv, &native), 0);
	cr_assert_eq(harness_run(NULL, argv, &checked), 0);
	harness_timeout_s = 0;
	cr_assert_eq(native.status, 0, "natively: status %d\n%s", native.status, native.err);
	cr_expect_eq(harness_findings(checked.json), 0, "%s", checked.log);
	cr_expect_eq(checked.status, 0, "status %d\n%s", checked.status, checked.err);
	char *a = unittest_results(native.out), *b = unittest_results(checked.out);
	cr_expect(a[0], "no result lines\n%s", native.out);
	cr_expect_str_eq(b, a);
	free(a);
	free(b);
	harness_free(&native);
	harness_free(&checked);
}

/* test_threading's tests that had findings before the thread-state lock,
 * owner-check, freed-waiter and handed-off rules (with python_locks=1
 * before them: 5 findings and a failed test).  This and test_thread with
 * test_queue below, checked and native: 37 s on 2 loaded cores. */
Test(python, cpython_threading_tests_clean_same_results)
{
	cpython_tests(ARGV("/usr/bin/python3", "-m", "test", "-v", "test_threading", "-m",
			   "test_repr_stopped", "-m", "test_shutdown_locks", "-m",
			   "test_tstate_lock", "-m", "ThreadJoinOnShutdown"));
}

/* test_thread (its BarrierTest) and test_queue (many threads on a
 * SimpleQueue, Lock-based Conditions) in full. */
Test(python, cpython_thread_and_queue_tests_clean_same_results)
{
	cpython_tests(ARGV("/usr/bin/python3", "-m", "test", "-v", "test_thread", "test_queue"));
}
