/*
 * test_signals.c - signal handlers (fencedep(7), "Signal handlers"): the
 * usage bits and signal-unsafe-lock, signal-unsafe-call, the program's view
 * of its handlers, and siglongjmp out of a handler.  Each finding has a
 * clean twin.  The scenarios are modes of tests/progs/sig.c.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

#define KILLED (128 + SIGKILL)
#define FINDING_EXIT 66
#define ARGV(...) ((char *const[]){ __VA_ARGS__, NULL })

static void run_sig(const char *mode, struct harness_run *r)
{
	harness_timeout_s = 30;
	int rc = harness_run(NULL, ARGV("sig", (char *)mode), r);
	harness_timeout_s = 0;
	cr_assert_eq(rc, 0, "cannot start sig %s", mode);
	cr_assert_neq(r->status, KILLED, "sig %s hung\nstderr: %s", mode, r->err);
}

/* Exactly n findings, all of kind; the program's own line unchanged. */
static void expect(const char *mode, const char *kind, int n, const char *out)
{
	struct harness_run r;

	run_sig(mode, &r);
	cr_expect_eq(harness_count(r.json, kind), n, "%s: expected %d %s, got %d\n%s", mode, n,
		     kind, harness_count(r.json, kind), r.log);
	cr_expect_eq(harness_findings(r.json), n, "%s: expected %d findings in all, got %d\n%s",
		     mode, n, harness_findings(r.json), r.log);
	cr_expect_eq(r.status, n ? FINDING_EXIT : 0, "%s: exit status %d\nstderr: %s", mode,
		     r.status, r.err);
	cr_expect_str_eq(r.out, out, "%s: stdout", mode);
	harness_free(&r);
}

Test(signals, lock_taken_in_handler_and_with_signal_deliverable)
{
	expect("direct", "signal-unsafe-lock", 1, "direct handled\n");
}

Test(signals, lock_taken_with_signal_deliverable_after_the_handler_ran)
{
	expect("direct-late", "signal-unsafe-lock", 1, "direct-late handled\n");
}

Test(signals, report_names_both_usages_and_the_scenario)
{
	struct harness_run r;

	run_sig("direct", &r);
	cr_expect(strstr(r.log, "inconsistent lock state"), "%s", r.log);
	cr_expect(strstr(r.log, "taken in a handler for SIGUSR2 (IN-SIGUSR2)"), "%s", r.log);
	cr_expect(strstr(r.log, "deliverable (SIGUSR2-ON)"), "%s", r.log);
	cr_expect(strstr(r.log, "<SIGUSR2>"), "%s", r.log);
	cr_expect(strstr(r.log, "on_lock_L"), "the handler's stack: %s", r.log);
	cr_expect(strstr(r.json, "\"signal-unsafe-lock\""), "%s", r.json);
	harness_free(&r);
}

/* A lone lock's chain that left the thread's cache is pushed inline, but
 * not past a handler installed since the thread last looked. */
Test(signals, lock_taken_alone_after_a_handler_was_installed_elsewhere)
{
	expect("late-elsewhere", "signal-unsafe-lock", 1, "late-elsewhere handled\n");
}

Test(signals, lock_taken_alone_with_the_signal_blocked_is_silent)
{
	expect("late-elsewhere-blocked", "signal-unsafe-lock", 0,
	       "late-elsewhere-blocked handled\n");
}

Test(signals, signal_blocked_around_the_lock_is_silent)
{
	expect("blocked", "signal-unsafe-lock", 0, "blocked handled\n");
}

Test(signals, handler_lock_held_while_taking_a_lock_taken_with_signal_deliverable)
{
	struct harness_run r;

	expect("indirect", "signal-unsafe-lock", 1, "indirect handled\n");
	run_sig("indirect", &r);
	cr_expect(strstr(r.log, "is held while taking one taken with SIGUSR2 deliverable"), "%s",
		  r.log);
	cr_expect(strstr(r.log, "the handler's lock held while taking the other"), "%s", r.log);
	harness_free(&r);
}

Test(signals, indirect_with_the_signal_blocked_is_silent)
{
	expect("indirect-blocked", "signal-unsafe-lock", 0, "indirect-blocked handled\n");
}

Test(signals, thread_inherits_the_blocked_signal_and_is_silent)
{
	expect("inherit", "signal-unsafe-lock", 0, "inherit handled\n");
}

Test(signals, handlers_that_set_a_flag_or_post_a_semaphore_are_silent)
{
	expect("flag", "signal-unsafe-call", 0, "flag handled\n");
}

Test(signals, signal_consumed_by_sigwait_is_not_a_handler_signal)
{
	expect("sigwait", "signal-unsafe-lock", 0, "sigwait handled\n");
}

Test(signals, sigsegv_handler_that_siglongjmps_is_silent)
{
	expect("segv", "bad-unlock-balance", 0, "segv handled\n");
}

Test(signals, handler_running_only_inside_sigsuspend_is_silent)
{
	expect("sigsuspend", "signal-unsafe-lock", 0, "sigsuspend handled\n");
}

/* The inner handler's lock is IN-SIGWINCH; that the outer handler holds M
 * there makes no edge M -> L (it did not take L), and is no finding. */
Test(signals, nested_handler_lock_taken_with_its_signal_deliverable)
{
	struct harness_run r;

	expect("nested", "signal-unsafe-lock", 1, "nested handled\n");
	run_sig("nested", &r);
	cr_expect(strstr(r.log, "taken in a SIGWINCH handler"), "%s", r.log);
	harness_free(&r);
}

/* Left by setcontext(): the frame is found stale by its stack pointer. */
Test(signals, handler_left_by_setcontext_leaves_nothing_behind)
{
	expect("escape", "signal-unsafe-call", 0, "escape handled\n");
}

/* free()'s fast path reads no thread word: a handler's free() is still
 * told, whether free() looks at blocks (a heap mutex alive) or not */
Test(signals, free_in_a_handler_is_signal_unsafe_call)
{
	struct harness_run r;

	expect("free", "signal-unsafe-call", 1, "free handled\n");
	expect("free-heaplock", "signal-unsafe-call", 1, "free-heaplock handled\n");
	run_sig("free", &r);
	cr_expect(strstr(r.log, "free called in a handler for SIGUSR2"), "%s", r.log);
	harness_free(&r);
}

Test(signals, malloc_in_a_handler_is_signal_unsafe_call)
{
	struct harness_run r;

	expect("malloc", "signal-unsafe-call", 1, "malloc handled\n");
	run_sig("malloc", &r);
	cr_expect(strstr(r.log, "malloc called in a handler for SIGUSR2"), "%s", r.log);
	harness_free(&r);
}

/* A handler that siglongjmps out of a thread waiting in a lock's slow path
 * leaves the thread tracked: the inversion it then takes part in is found. */
Test(signals, siglongjmp_out_of_a_handler_that_interrupted_the_runtime)
{
	expect("longjmp-busy", "lock-order-inversion", 1, "longjmp-busy handled\n");
}

/* A vfork() child shares the handler table's memory, not the dispositions. */
Test(signals, vfork_child_resetting_handlers_leaves_the_parents)
{
	expect("vfork", "signal-unsafe-lock", 0, "vfork handled\n");
}

/* The runtime's dump_signal handler is not the program's to see; it comes
 * back when the program's own handler goes. */
Test(signals, dump_signal_is_hidden_from_the_program_and_survives_it)
{
	struct harness_run r;

	harness_run_opts(0, NULL, ARGV("sig", "usr1"), &r);
	cr_expect_str_eq(r.out, "usr1 default\nusr1 own\nusr1 handled\n", "natively");
	harness_free(&r);
	expect("usr1", "signal-unsafe-lock", 0, "usr1 default\nusr1 own\nusr1 handled\n");
	run_sig("usr1-dump", &r);
	cr_expect_eq(r.status, 0, "status %d\nstderr: %s", r.status, r.err);
	cr_expect(strstr(r.log, "thread "), "no state dump: %s", r.log);
	harness_free(&r);
}

/* The wait the jump abandoned is over for the watchdog too. */
Test(signals, siglongjmp_out_of_a_lock_wait_is_no_hang)
{
	struct harness_run r;

	harness_timeout_s = 30;
	cr_assert_eq(harness_run("watchdog=3", ARGV("sig", "longjmp-linger"), &r), 0);
	harness_timeout_s = 0;
	cr_expect_eq(harness_findings(r.json), 0, "%s", r.log);
	cr_expect_eq(r.status, 0, "status %d\nstderr: %s", r.status, r.err);
	cr_expect_str_eq(r.out, "lingered\n");
	harness_free(&r);
}

Test(signals, program_sees_its_own_handlers_and_masks)
{
	struct harness_run r;

	harness_run_opts(0, NULL, ARGV("sig", "api"), &r);
	cr_expect_str_eq(r.out, "api ok 0\n", "natively");
	harness_free(&r);
	expect("api", "signal-unsafe-lock", 0, "api ok 0\n");
}

/* A signal that comes in the middle of the interposed lock call, before
 * the real lock (the child is single-stepped there): its handler runs
 * unchecked, as one that interrupts the runtime, and the push it
 * interrupted completes.  The same signal elsewhere is checked. */
static void run_sig_fast(const char *mode, struct harness_run *r)
{
	harness_timeout_s = 60;
	int rc = harness_run(NULL, ARGV("sig-fast", (char *)mode), r);
	harness_timeout_s = 0;
	cr_assert_eq(rc, 0, "cannot start sig-fast %s", mode);
	if (r->status == 77)
		cr_skip_test("the interrupted address is not read on this architecture");
}

Test(signals, handler_interrupting_a_lock_fast_path_is_unchecked)
{
	struct harness_run r;

	run_sig_fast("inside", &r);
	cr_expect_eq(harness_findings(r.json), 0, "%s", r.log);
	cr_expect_eq(r.status, 0, "status %d\nstderr: %s", r.status, r.err);
	cr_expect_str_eq(r.out, "inside handled 1\n");
	harness_free(&r);
}

Test(signals, handler_interrupting_elsewhere_is_checked)
{
	struct harness_run r;

	run_sig_fast("outside", &r);
	cr_expect_eq(harness_count(r.json, "signal-unsafe-lock"), 1, "%s", r.log);
	cr_expect_eq(harness_findings(r.json), 1, "%s", r.log);
	cr_expect_eq(r.status, FINDING_EXIT, "status %d\nstderr: %s", r.status, r.err);
	cr_expect_str_eq(r.out, "outside handled 1\n");
	harness_free(&r);
}
