/*
 * test_waits.c - waits for events under the preloaded runtime
 * (tests/progs/waits.c): each wait that can deadlock against a lock its
 * signaller needs is an event-lock-inversion, and each has a clean twin;
 * the idioms that cannot deadlock stay silent.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define KILLED (128 + SIGKILL)
#define FINDING_EXIT 66

static void run(const char *opts, char *const argv[], struct harness_run *r)
{
	harness_timeout_s = 30;
	int rc = harness_run(opts, argv, r);
	harness_timeout_s = 0;
	cr_assert_eq(rc, 0, "cannot start %s", argv[0]);
	cr_assert_neq(r->status, KILLED, "%s %s hung (killed after 30 s)\nstderr: %s", argv[0],
		      argv[1], r->err);
}

#define ARGV(...) ((char *const[]){ "waits", __VA_ARGS__, NULL })

/* Exactly n findings, all of kind, and the exit status that goes with it. */
static void expect_findings(const struct harness_run *r, const char *kind, int n)
{
	cr_assert_eq(r->nreports, 1, "expected one JSON report, got %d\nstderr: %s", r->nreports,
		     r->err);
	cr_expect_eq(harness_count(r->json, kind), n, "expected %d %s, got %d\n%s", n, kind,
		     harness_count(r->json, kind), r->log);
	cr_expect_eq(harness_findings(r->json), n, "expected %d findings in all, got %d\n%s", n,
		     harness_findings(r->json), r->log);
	cr_expect_eq(r->status, n ? FINDING_EXIT : 0, "exit status %d\nstderr: %s\n%s", r->status,
		     r->err, r->log);
}

static void scenario(const char *name, const char *kind, int n)
{
	struct harness_run r;

	run(NULL, ARGV((char *)name), &r);
	expect_findings(&r, kind, n);
	harness_free(&r);
}

/* ---- each wait against a lock its signaller needs, and its twin ---- */

Test(waits, cond_wait_holding_a_lock_the_signaller_takes_reports_event_inversion)
{
	scenario("cond", "event-lock-inversion", 1);
}

Test(waits, cond_wait_holding_nothing_the_signaller_takes_is_silent)
{
	scenario("cond-clean", "event-lock-inversion", 0);
}

Test(waits, sem_wait_holding_a_lock_the_poster_holds_reports_event_inversion)
{
	scenario("sem", "event-lock-inversion", 1);
}

Test(waits, sem_posted_without_the_lock_is_silent)
{
	scenario("sem-clean", "event-lock-inversion", 0);
}

static void scenario_opts(const char *opts, const char *name, const char *kind, int n)
{
	struct harness_run r;

	run(opts, ARGV((char *)name), &r);
	expect_findings(&r, kind, n);
	harness_free(&r);
}

Test(waits, join_holding_a_lock_the_thread_takes_in_its_life_reports_event_inversion)
{
	scenario_opts("join_life=1", "join", "event-lock-inversion", 1);
}

Test(waits, join_of_a_thread_done_with_the_lock_is_silent_by_default)
{
	scenario("join", "event-lock-inversion", 0);
}

Test(waits, join_after_releasing_the_lock_is_silent)
{
	scenario("join-clean", "event-lock-inversion", 0);
}

Test(waits, barrier_arrival_holding_a_lock_another_phase_takes_reports_event_inversion)
{
	scenario("barrier", "event-lock-inversion", 1);
}

Test(waits, barrier_arrival_after_releasing_the_lock_and_a_join_after_the_last_phase_are_silent)
{
	scenario("barrier-clean", "event-lock-inversion", 0);
}

Test(waits, once_waited_for_holding_a_lock_its_routine_takes_reports_event_inversion)
{
	scenario("once", "event-lock-inversion", 1);
}

Test(waits, once_whose_routine_takes_a_lock_the_callers_do_not_hold_is_silent)
{
	scenario("once-clean", "event-lock-inversion", 0);
}

Test(waits, user_event_on_an_eventfd_waited_under_its_signallers_lock_reports_event_inversion)
{
	scenario("event", "event-lock-inversion", 1);
}

Test(waits, user_event_signalled_without_the_lock_is_silent)
{
	scenario("event-clean", "event-lock-inversion", 0);
}

Test(waits, c11_cnd_wait_holding_the_signallers_mtx_reports_event_inversion)
{
	scenario("c11-cond", "event-lock-inversion", 1);
}

Test(waits, c11_thrd_join_holding_a_mtx_the_thread_takes_reports_event_inversion)
{
	scenario_opts("join_life=1", "c11-join", "event-lock-inversion", 1);
}

Test(waits, c11_producer_consumer_and_call_once_are_silent)
{
	scenario("c11-clean", "event-lock-inversion", 0);
}

/* ---- signal_context=wait: what the signaller acquired since its own wait ---- */

Test(waits, binary_semaphore_as_a_lock_taking_a_inside_against_a_held_around_its_wait_reports_under_signal_context_wait)
{
	scenario_opts("signal_context=wait", "sem-inner", "event-lock-inversion", 1);
}

Test(waits, binary_semaphore_as_a_lock_with_a_taken_after_it_is_silent_under_signal_context_wait)
{
	scenario_opts("signal_context=wait", "sem-inner-clean", "event-lock-inversion", 0);
}

Test(waits, lock_made_of_a_cv_taking_a_inside_against_a_held_around_its_wait_reports_under_signal_context_wait)
{
	scenario_opts("signal_context=wait", "cvlock", "event-lock-inversion", 1);
}

Test(waits, lock_made_of_a_cv_with_a_taken_after_it_is_silent_under_signal_context_wait)
{
	scenario_opts("signal_context=wait", "cvlock-clean", "event-lock-inversion", 0);
}

/* The only edge out of the cv is the one its window keeps back: every
 * signal of it is made under its own mutex alone, as the other thread's was
 * before, and the give must still commit the window (preload/cond.c's fast
 * path leaves it to the whole path). */
Test(waits, cv_window_committed_by_a_signal_seen_before_reports_under_signal_context_wait)
{
	scenario_opts("signal_context=wait", "cvwindow", "event-lock-inversion", 1);
}

Test(waits, cv_window_with_a_taken_after_the_give_is_silent_under_signal_context_wait)
{
	scenario_opts("signal_context=wait", "cvwindow-clean", "event-lock-inversion", 0);
}

/* wait is the default; held sees only what the signaller holds */
Test(waits, binary_semaphore_as_a_lock_taking_a_inside_reports_by_default_and_not_under_held)
{
	scenario("sem-inner", "event-lock-inversion", 1);
	scenario_opts("signal_context=held", "sem-inner", "event-lock-inversion", 0);
}

Test(waits, signal_context_wait_and_window_keep_the_idioms_silent)
{
	static const char *const opts[] = { "signal_context=wait", "signal_context=window" };
	static const char *const idioms[] = { "own-mutex", "pool", "sem-lock", "phases",
					      "timed", "c11-clean", "once-clean", "cond-clean",
					      "sem-clean", "event-clean", "sem-inner-clean",
					      "cvlock-clean", "handshake" };

	for (size_t o = 0; o < 2; o++) {
		for (size_t i = 0; i < sizeof(idioms) / sizeof(idioms[0]); i++) {
			struct harness_run r;
			run(opts[o], ARGV((char *)idioms[i]), &r);
			cr_expect_eq(harness_findings(r.json), 0, "%s %s: %s", opts[o], idioms[i],
				     r.log);
			cr_expect_eq(r.status, 0, "%s %s: exit status %d", opts[o], idioms[i],
				     r.status);
			harness_free(&r);
		}
	}
}

/* ---- futex=1: the program's own futexes through syscall() ---- */

Test(waits, futex_waited_for_holding_a_lock_its_waker_holds_reports_under_futex_1)
{
	struct harness_run r;

	run("futex=1", ARGV("futex"), &r);
	expect_findings(&r, "event-lock-inversion", 1);
	cr_expect_str_eq(r.out, "wait -1\n");
	harness_free(&r);
}

Test(waits, futex_woken_without_the_lock_or_used_as_a_lock_is_silent_under_futex_1)
{
	scenario_opts("futex=1", "futex-clean", "event-lock-inversion", 0);
	scenario_opts("futex=1", "futex-lock", "event-lock-inversion", 0);
}

Test(waits, futexes_are_not_seen_by_default)
{
	struct harness_run r;

	run(NULL, ARGV("futex"), &r);
	expect_findings(&r, "event-lock-inversion", 0);
	cr_expect_str_eq(r.out, "wait -1\n");
	harness_free(&r);
}

/* ---- thread records: threads never joined, or cancelled ---- */

/* Peak resident kB and the graph's classes of `waits threads n how`. */
static void thread_churn(long n, const char *how, long *peak_kb, long *classes)
{
	struct harness_run r;
	char num[32];

	snprintf(num, sizeof(num), "%ld", n);
	run(NULL, ARGV("threads", num, (char *)how), &r);
	expect_findings(&r, "lock-order-inversion", 0);
	const char *p = strstr(r.out, "peak");
	cr_assert(p && sscanf(p, "peak %ld", peak_kb) == 1, "no peak in: %s", r.out);
	p = strstr(r.json, "\"stats\": {\"classes\": ");
	cr_assert(p && sscanf(p, "\"stats\": {\"classes\": %ld", classes) == 1, "no stats");
	harness_free(&r);
}

/* A record (its held stack, caches, exit class) that outlived its thread
 * would cost kilobytes each: 100000 of them, hundreds of megabytes. */
Test(waits, threads_never_joined_or_cancelled_leave_no_record_behind, .timeout = 120)
{
	static const struct {
		const char *how;
		long n;
	} cases[] = { { "detached", 100000 }, { "detach", 30000 }, { "cancel", 20000 },
		      { "cancel-detached", 20000 } };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long few_kb, few_classes, many_kb, many_classes;
		thread_churn(1000, cases[i].how, &few_kb, &few_classes);
		thread_churn(cases[i].n, cases[i].how, &many_kb, &many_classes);
		cr_expect_lt(many_kb - few_kb, 16384, "%s: %ld threads peak at %ld kB, 1000 at %ld kB",
			     cases[i].how, cases[i].n, many_kb, few_kb);
		cr_expect_eq(many_classes, few_classes, "%s: %ld classes after %ld threads, %ld after 1000",
			     cases[i].how, many_classes, cases[i].n, few_classes);
	}
}

/* ---- idioms that must stay clean ---- */

Test(waits, waiter_and_signaller_holding_only_the_cvs_own_mutex_are_silent)
{
	scenario("own-mutex", "event-lock-inversion", 0);
}

Test(waits, thread_pool_with_broadcast_shutdown_and_join_is_silent)
{
	struct harness_run r;

	run(NULL, ARGV("pool"), &r);
	expect_findings(&r, "event-lock-inversion", 0);
	cr_expect_str_eq(r.out, "sum 1999000\n");
	harness_free(&r);
}

Test(waits, binary_semaphore_used_as_a_lock_inside_and_around_other_locks_is_silent)
{
	scenario("sem-lock", "event-lock-inversion", 0);
}

Test(waits, barrier_phases_taking_and_releasing_locks_are_silent)
{
	scenario("phases", "event-lock-inversion", 0);
}

/* the waiter does not wait for its own signal under the same outer lock;
 * another thread's wait under it is still reported (cond, above) */
Test(waits, thread_waiting_under_the_lock_it_signalled_under_itself_is_silent)
{
	scenario("handshake", "event-lock-inversion", 0);
	scenario_opts("signal_context=held", "handshake", "event-lock-inversion", 0);
}

/* between two barrier arrivals each thread posts its own semaphore and
 * waits for it: the wait takes back its own post, no other thread's, and
 * nothing can deadlock; so with its own condition variable signalled
 * before it waits, and with its own user event.  A semaphore used as a
 * lock, held across an arrival and waited for by another participant in a
 * phase, still reports. */
Test(waits, thread_waiting_in_a_barrier_phase_for_its_own_post_is_silent)
{
	static const char *const opts[] = { "signal_context=wait", "signal_context=window",
					    "signal_context=held" };

	for (size_t o = 0; o < 3; o++) {
		scenario_opts(opts[o], "barrier-ownsem", "event-lock-inversion", 0);
		scenario_opts(opts[o], "barrier-ownevent", "event-lock-inversion", 0);
	}
	/* not under window: the signal of the other thread's cv opens a
	 * window of it between the thread's own signal and its wait
	 * (fencedep(7), "Choosing the signal rule") */
	scenario_opts("signal_context=wait", "barrier-owncond", "event-lock-inversion", 0);
	scenario_opts("signal_context=held", "barrier-owncond", "event-lock-inversion", 0);
}

Test(waits, semaphore_lock_held_across_an_arrival_and_waited_for_in_a_phase_reports)
{
	scenario("barrier-sem", "event-lock-inversion", 1);
	scenario_opts("signal_context=window", "barrier-sem", "event-lock-inversion", 1);
}

Test(waits, timed_and_try_waits_under_the_signallers_lock_are_silent)
{
	scenario("timed", "event-lock-inversion", 0);
}

Test(waits, cond_and_sem_ping_pong_under_a_one_second_watchdog_is_silent)
{
	struct harness_run r;

	run("watchdog=1", ARGV("pingpong", "20000"), &r);
	expect_findings(&r, "hang", 0);
	cr_expect_str_eq(r.out, "20000 round trips\n");
	harness_free(&r);
}

Test(waits, classes_by_site_keep_the_idioms_silent)
{
	static const char *const idioms[] = { "own-mutex", "pool", "sem-lock", "phases",
					      "timed", "c11-clean", "once-clean" };

	for (size_t i = 0; i < sizeof(idioms) / sizeof(idioms[0]); i++) {
		struct harness_run r;
		run("classes=site", ARGV((char *)idioms[i]), &r);
		cr_expect_eq(harness_findings(r.json), 0, "%s: %s", idioms[i], r.log);
		cr_expect_eq(r.status, 0, "%s: exit status %d", idioms[i], r.status);
		harness_free(&r);
	}
}

/* ---- issue: a condition wait with a mutex the thread does not hold ---- */

Test(waits, cond_wait_with_a_mutex_nobody_holds_reports_bad_unlock)
{
	scenario("cond-unheld", "bad-unlock-balance", 1);
}

Test(waits, cond_wait_with_a_mutex_another_thread_holds_reports_bad_unlock)
{
	scenario("cond-foreign", "bad-unlock-balance", 1);
}

/* ---- hang reports show every thread blocked in a wait ---- */

Test(waits, hang_report_shows_each_blocked_wait_its_class_site_and_last_signaller)
{
	struct harness_run r;

	harness_timeout_s = 4;
	cr_assert_eq(harness_run("watchdog=1", ARGV("hang"), &r), 0);
	harness_timeout_s = 0;
	cr_expect_eq(r.status, KILLED, "exit status %d\n%s", r.status, r.log);
	cr_expect_geq(harness_count(r.json, "hang"), 1, "%s", r.log);
	cr_expect(strstr(r.log, "waiting for condition variable cv "), "%s", r.log);
	cr_expect(strstr(r.log, "waiting for semaphore never "), "%s", r.log);
	cr_expect(strstr(r.log, "waiting for thread to exit (join) thread@"), "%s", r.log);
	cr_expect(strstr(r.log, "waiting at run_hang"), "%s", r.log);
	cr_expect(strstr(r.log, "waiting at hang_sem"), "%s", r.log);
	cr_expect(strstr(r.log, "last signalled by thread"), "%s", r.log);
	/* under a watchdog, signals are timed (event_note_signal) */
	cr_expect(strstr(r.log, " s ago, at "), "%s", r.log);
	cr_expect(strstr(r.log, "no live thread signalled it lately"), "%s", r.log);
	harness_free(&r);
}
