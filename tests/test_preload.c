/*
 * test_preload.c - plain pthread programs (tests/progs) run under the
 * preloaded runtime: each scenario against its clean twin, each asserting
 * the exact kind and number of findings in the JSON report.
 *
 * Programs that really deadlock are killed after a few seconds: the report
 * must already be on disk, since a finding is written before the thread
 * blocks.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define KILLED (128 + SIGKILL)
#define FINDING_EXIT 66

/* ---- running with a time limit ---- */

/* harness_run, killing the program after `seconds`. */
static void run_limited(const char *opts, char *const argv[], struct harness_run *r, double seconds)
{
	harness_timeout_s = seconds;
	int rc = harness_run(opts, argv, r);
	harness_timeout_s = 0;
	cr_assert_eq(rc, 0, "cannot start %s", argv[0]);
}

/* Runs that must end on their own: anything longer is a hang. */
static void run(const char *opts, char *const argv[], struct harness_run *r)
{
	run_limited(opts, argv, r, 30);
	cr_assert_neq(r->status, KILLED, "%s %s hung (killed after 30 s)\nstderr: %s", argv[0],
		      argv[1] ? argv[1] : "", r->err);
}

#define ARGV(...) ((char *const[]){ __VA_ARGS__, NULL })

/* ---- what a run reported ---- */

/* Exactly `n` findings, all of `kind`, one report, the finding exit status. */
static void expect_findings(const struct harness_run *r, const char *kind, int n)
{
	cr_assert_eq(r->nreports, 1, "expected one JSON report, got %d\nstderr: %s", r->nreports,
		     r->err);
	cr_expect_eq(harness_count(r->json, kind), n, "expected %d %s, got %d\n%s", n, kind,
		     harness_count(r->json, kind), r->log);
	cr_expect_eq(harness_findings(r->json), n, "expected %d findings in all, got %d\n%s", n,
		     harness_findings(r->json), r->log);
	if (r->status != KILLED)
		cr_expect_eq(r->status, n ? FINDING_EXIT : 0, "exit status %d\nstderr: %s",
			     r->status, r->err);
}

static void expect_clean(const struct harness_run *r, const char *out)
{
	expect_findings(r, "lock-order-inversion", 0);
	cr_expect_str_eq(r->out, out);
}

/* Number of edges in the first finding's cycle. */
static int cycle_length(const char *json)
{
	const char *p = strstr(json, "\"cycle\": [");
	const char *end = p ? strstr(p, "\"held\": ") : NULL;
	int n = 0;

	while (p && (p = strstr(p + 1, "{\"from\": ")) && (!end || p < end))
		n++;
	return n;
}

/* ---- lock order ---- */

Test(preload, abba_two_threads_reports_inversion)
{
	struct harness_run r;

	run(NULL, ARGV("abba", "bug"), &r);
	expect_findings(&r, "lock-order-inversion", 1);
	cr_expect_eq(cycle_length(r.json), 2);
	cr_expect_str_eq(r.out, "done\n");
	harness_free(&r);
}

Test(preload, abba_same_order_is_silent)
{
	struct harness_run r;

	run(NULL, ARGV("abba", "clean"), &r);
	expect_clean(&r, "done\n");
	harness_free(&r);
}

/* The lock fast paths decide from the chain key alone: a lock at a depth
 * where it was seen many times, under a new lock, is still checked. */
Test(preload, new_lock_below_a_warm_chain_is_checked)
{
	struct harness_run r;

	run(NULL, ARGV("warm", "bug"), &r);
	expect_findings(&r, "lock-order-inversion", 1);
	cr_expect_eq(cycle_length(r.json), 2);
	cr_expect_str_eq(r.out, "done\n");
	harness_free(&r);
}

Test(preload, new_lock_below_a_warm_chain_in_one_order_is_silent)
{
	struct harness_run r;

	run(NULL, ARGV("warm", "clean"), &r);
	expect_clean(&r, "done\n");
	harness_free(&r);
}

Test(preload, real_abba_deadlock_is_reported_before_it_blocks)
{
	struct harness_run r;

	run_limited(NULL, ARGV("abba", "deadlock"), &r, 3);
	cr_expect_eq(r.status, KILLED, "the two threads were expected to deadlock (status %d)",
		     r.status);
	expect_findings(&r, "lock-order-inversion", 1);
	cr_expect_str_eq(r.out, "");
	harness_free(&r);
}

Test(preload, concurrent_same_order_does_not_deadlock_and_is_silent)
{
	struct harness_run r;

	run(NULL, ARGV("abba", "deadlock-clean"), &r);
	expect_clean(&r, "done\n");
	harness_free(&r);
}

Test(preload, three_lock_cycle_over_three_threads_reports_inversion)
{
	struct harness_run r;

	run(NULL, ARGV("ring", "3", "bug"), &r);
	expect_findings(&r, "lock-order-inversion", 1);
	cr_expect_eq(cycle_length(r.json), 3);
	harness_free(&r);
}

Test(preload, three_lock_chain_is_silent)
{
	struct harness_run r;

	run(NULL, ARGV("ring", "3", "clean"), &r);
	expect_clean(&r, "done\n");
	harness_free(&r);
}

Test(preload, forty_lock_cycle_reports_one_inversion_with_every_edge)
{
	struct harness_run r;

	run(NULL, ARGV("ring", "40", "bug"), &r);
	expect_findings(&r, "lock-order-inversion", 1);
	cr_expect_eq(cycle_length(r.json), 40);
	harness_free(&r);
}

Test(preload, forty_lock_chain_is_silent)
{
	struct harness_run r;

	run(NULL, ARGV("ring", "40", "clean"), &r);
	expect_clean(&r, "done\n");
	harness_free(&r);
}

Test(preload, static_mutexes_inversion_names_their_symbols)
{
	struct harness_run r;

	run(NULL, ARGV("static-locks", "bug"), &r);
	expect_findings(&r, "lock-order-inversion", 1);
	cr_expect(strstr(r.json, "\"from\": \"lock_a\", \"to\": \"lock_b\""), "%s", r.json);
	cr_expect(strstr(r.json, "\"from\": \"lock_b\", \"to\": \"lock_a\""), "%s", r.json);
	harness_free(&r);
}

Test(preload, static_mutexes_in_one_order_are_silent)
{
	struct harness_run r;

	run(NULL, ARGV("static-locks", "clean"), &r);
	expect_clean(&r, "done\n");
	cr_expect(strstr(r.json, "{\"name\": \"lock_a\", \"kind\": \"mutex\"}"), "%s", r.json);
	harness_free(&r);
}

/* ---- reader/writer semantics ---- */

Test(preload, reader_preferring_rwlock_read_cycle_is_silent)
{
	struct harness_run r;

	run(NULL, ARGV("rwlock-cycle", "reader"), &r);
	expect_clean(&r, "done\n");
	harness_free(&r);
}

Test(preload, writer_preferring_rwlock_read_cycle_reports_inversion)
{
	struct harness_run r;

	run(NULL, ARGV("rwlock-cycle", "writer"), &r);
	expect_findings(&r, "lock-order-inversion", 1);
	/* shared holder, non-recursive reader acquiring: -(SN)-> both ways */
	cr_expect(strstr(r.json, "\"type\": \"SN\""), "%s", r.json);
	cr_expect_null(strstr(r.json, "\"type\": \"SR\""), "%s", r.json);
	harness_free(&r);
}

Test(preload, writer_preferring_rwlock_reads_in_one_order_are_silent)
{
	struct harness_run r;

	run(NULL, ARGV("rwlock-cycle", "ordered"), &r);
	expect_clean(&r, "done\n");
	harness_free(&r);
}

/* A held under a read hold of R, B under both: A -> B is a dependency of
 * its own, not one through R (a path into a recursive reader and out of a
 * reader is none), and B -> A closes it. */
Test(preload, mutexes_nested_around_a_read_hold_then_inverted_report_inversion)
{
	struct harness_run r;

	run(NULL, ARGV("rwlock-cycle", "via-reader"), &r);
	expect_findings(&r, "lock-order-inversion", 1);
	harness_free(&r);
}

Test(preload, mutexes_nested_around_a_read_hold_in_one_order_or_reread_are_silent)
{
	struct harness_run r;

	run(NULL, ARGV("rwlock-cycle", "via-reader-ordered"), &r);
	expect_clean(&r, "done\n");
	harness_free(&r);
	run(NULL, ARGV("rwlock-cycle", "via-reader-reread"), &r);
	expect_clean(&r, "done\n");
	harness_free(&r);
}

/* ---- trylock and condition variables ---- */

Test(preload, trylock_in_reverse_order_is_silent)
{
	struct harness_run r;

	run(NULL, ARGV("trylock", "try"), &r);
	expect_clean(&r, "done\n");
	harness_free(&r);
}

Test(preload, blocking_lock_in_reverse_order_reports_inversion)
{
	struct harness_run r;

	run(NULL, ARGV("trylock", "block"), &r);
	expect_findings(&r, "lock-order-inversion", 1);
	harness_free(&r);
}

Test(preload, cond_wait_producer_consumer_is_silent)
{
	struct harness_run r;

	run(NULL, ARGV("condvar", "clean"), &r);
	expect_clean(&r, "produced 2000 consumed 2000 sum 2001000\n");
	harness_free(&r);
}

Test(preload, cond_wait_retakes_its_mutex_under_a_held_lock)
{
	struct harness_run r;

	/* queue -> stats, then the wait takes queue back under stats; and the
	 * wait holds stats for not_empty, signalled under queue (a second
	 * consumer holding queue would wait for stats: an event inversion) */
	run(NULL, ARGV("condvar", "nested"), &r);
	cr_expect_eq(harness_count(r.json, "lock-order-inversion"), 1, "%s", r.log);
	cr_expect_eq(harness_count(r.json, "event-lock-inversion"), 1, "%s", r.log);
	cr_expect_eq(harness_findings(r.json), 2, "%s", r.log);
	cr_expect_eq(cycle_length(strstr(r.json, "{\"kind\": \"lock-order-inversion\"")), 2);
	cr_expect_str_eq(r.out, "produced 2000 consumed 2000 sum 2001000\n");
	harness_free(&r);
}

/* A waiter cancelled in its wait has the mutex again when its cleanup
 * handler runs, and the handler unlocks it. */
Test(preload, waiter_cancelled_in_cond_wait_unlocks_in_its_cleanup)
{
	struct harness_run r;

	run(NULL, ARGV("cancel", "wait"), &r);
	expect_clean(&r, "done\n");
	harness_free(&r);
	run(NULL, ARGV("cancel", "timedwait"), &r);
	expect_clean(&r, "done\n");
	harness_free(&r);
}

Test(preload, cleanup_handler_of_a_cancelled_waiter_runs_under_the_mutex)
{
	struct harness_run r;

	run(NULL, ARGV("cancel", "order"), &r);
	expect_findings(&r, "lock-order-inversion", 1);
	cr_expect_eq(harness_count(r.json, "bad-unlock-balance"), 0, "%s", r.log);
	harness_free(&r);
}

/* ---- instances, sites and addresses ---- */

Test(preload, address_ordered_same_site_mutexes_are_silent_by_instance)
{
	struct harness_run r;

	run(NULL, ARGV("transfer", "ordered"), &r);
	expect_clean(&r, "total 400\n");
	harness_free(&r);
}

Test(preload, unordered_same_site_mutexes_report_each_inverted_pair)
{
	struct harness_run r;

	/* accounts 0-1, 1-2 and 2-3 are each taken both ways round */
	run(NULL, ARGV("transfer", "unordered"), &r);
	expect_findings(&r, "lock-order-inversion", 3);
	harness_free(&r);
}

Test(preload, address_ordered_same_site_mutexes_nest_one_class_by_site)
{
	struct harness_run r;

	/* classes=site: all accounts are one class, nested without a subclass */
	run("classes=site", ARGV("transfer", "ordered"), &r);
	expect_findings(&r, "recursive-locking", 1);
	/* reported once, counted at each of the 2 x 100 x 3 nested transfers */
	cr_expect(strstr(r.json, "\"count\": 600"), "%s", r.log);
	/* named by its site, line and all */
	cr_expect(strstr(r.json, "{\"name\": \"mutex@main:"), "%s", r.json);
	harness_free(&r);
}

Test(preload, same_site_mutexes_one_at_a_time_are_silent_by_site)
{
	struct harness_run r;

	run("classes=site", ARGV("transfer", "single"), &r);
	expect_clean(&r, "total 400\n");
	harness_free(&r);
}

Test(preload, freed_and_reallocated_mutex_is_a_new_lock)
{
	struct harness_run r;

	run(NULL, ARGV("reuse", "free"), &r);
	expect_clean(&r, "done\n");
	harness_free(&r);
}

Test(preload, freed_mutex_is_forgotten_after_its_neighbour_was_destroyed)
{
	struct harness_run r;

	run(NULL, ARGV("reuse", "neighbour"), &r);
	expect_clean(&r, "done\n");
	harness_free(&r);
}

Test(preload, freed_mutex_at_the_end_of_its_block_is_a_new_lock)
{
	struct harness_run r;

	run(NULL, ARGV("reuse", "tail"), &r);
	expect_clean(&r, "done\n");
	harness_free(&r);
}

/* Locks and fences made, destroyed and freed by four threads in one
 * arena, the memory around them allocated and freed meanwhile: the free
 * window lets their lines go and counts them again as objects come; no
 * record outlives its memory (a stale one makes the reversed nesting at a
 * reused address a cycle, or an unsignalled fence at exit). */
Test(preload, window_race_of_objects_and_neighbour_frees_is_silent)
{
	struct harness_run r;

	run(NULL, ARGV("window-race", "clean"), &r);
	expect_clean(&r, "done\n");
	expect_findings(&r, "fence-never-signalled", 0);
	harness_free(&r);
}

Test(preload, window_race_then_a_real_inversion_is_found)
{
	struct harness_run r;

	run(NULL, ARGV("window-race", "inversion"), &r);
	expect_findings(&r, "lock-order-inversion", 1);
	cr_expect_str_eq(r.out, "done\n");
	harness_free(&r);
}

Test(preload, address_reused_twice_is_a_new_lock_each_time)
{
	struct harness_run r;

	run(NULL, ARGV("reuse", "again"), &r);
	expect_clean(&r, "done\n");
	harness_free(&r);
}

Test(preload, mutex_moved_away_by_mremap_leaves_its_address_free)
{
	struct harness_run r;

	run(NULL, ARGV("reuse", "mremap"), &r);
	expect_clean(&r, "done\n");
	harness_free(&r);
}

Test(preload, destroyed_and_reused_mutex_is_a_new_lock)
{
	struct harness_run r;

	run(NULL, ARGV("reuse", "destroy"), &r);
	expect_clean(&r, "done\n");
	harness_free(&r);
}

Test(preload, reinitialised_mutex_is_a_new_lock)
{
	struct harness_run r;

	run(NULL, ARGV("reuse", "init"), &r);
	expect_clean(&r, "done\n");
	harness_free(&r);
}

/* Memory reused for another kind of lock with no destroy or free seen in
 * between: the thread that used the old lock, whose instance cache still
 * has it, must take the new one as the new kind, on the fast and the slow
 * path alike. */
Test(preload, pooled_mutex_reused_as_rwlock_is_a_new_rwlock)
{
	struct harness_run r;

	run(NULL, ARGV("kind-reuse", "mutex-rwlock"), &r);
	expect_clean(&r, "done\n");
	cr_expect(strstr(r.json, "{\"name\": \"pool\", \"kind\": \"rwlock\"}"), "%s", r.json);
	harness_free(&r);
}

Test(preload, pooled_rwlock_reused_as_mutex_is_a_new_mutex)
{
	struct harness_run r;

	run(NULL, ARGV("kind-reuse", "rwlock-mutex"), &r);
	expect_clean(&r, "done\n");
	harness_free(&r);
}

Test(preload, pooled_spinlock_reused_as_mutex_is_a_new_mutex)
{
	struct harness_run r;

	run(NULL, ARGV("kind-reuse", "spin-mutex"), &r);
	expect_clean(&r, "done\n");
	harness_free(&r);
}

/* fdep_acquire(X, NULL) where a pthread mutex was, with no destroy seen:
 * the program's own lock, in a class of its own, not the mutex's */
Test(preload, pooled_mutex_reused_as_an_annotated_lock_is_a_new_lock)
{
	struct harness_run r;

	run(NULL, ARGV("kind-reuse", "mutex-annotated"), &r);
	expect_clean(&r, "done\n");
	harness_free(&r);
}

Test(preload, reused_annotated_lock_in_a_real_cycle_is_reported_as_the_new_lock)
{
	struct harness_run r;

	run(NULL, ARGV("kind-reuse", "annotated-cycle"), &r);
	expect_findings(&r, "lock-order-inversion", 1);
	cr_expect_eq(cycle_length(r.json), 2);
	cr_expect(strstr(r.json, "\"from\": \"pool\", \"to\": \"outer2\""), "%s", r.log);
	cr_expect(!strstr(r.json, "\"from\": \"outer\", \"to\": \"pool\""), "%s", r.json);
	harness_free(&r);
}

Test(preload, reused_rwlock_in_a_real_cycle_is_reported_as_the_rwlock)
{
	struct harness_run r;

	run(NULL, ARGV("kind-reuse", "rwlock-cycle"), &r);
	expect_findings(&r, "lock-order-inversion", 1);
	cr_expect_eq(cycle_length(r.json), 2);
	cr_expect(strstr(r.json, "\"from\": \"pool\", \"to\": \"outer2\""), "%s", r.log);
	cr_expect(strstr(r.json, "{\"name\": \"pool\", \"kind\": \"rwlock\"}"), "%s", r.json);
	cr_expect(!strstr(r.json, "{\"name\": \"pool\", \"kind\": \"mutex\"}"), "%s", r.json);
	harness_free(&r);
}

/* A free in a key destructor that runs after the runtime's own: the
 * thread must still be tracked, or the freed lock outlives its memory. */
Test(preload, mutex_freed_by_a_key_destructor_then_reused_as_rwlock_is_new)
{
	struct harness_run r;

	run(NULL, ARGV("kind-reuse", "key-destructor"), &r);
	expect_clean(&r, "done\n");
	harness_free(&r);
}

Test(preload, mutex_freed_by_a_key_destructor_then_reused_as_mutex_is_new)
{
	struct harness_run r;

	run(NULL, ARGV("kind-reuse", "key-destructor-mutex"), &r);
	expect_clean(&r, "done\n");
	harness_free(&r);
}

Test(preload, mutex_renamed_after_nested_use_gets_edges_in_its_new_class)
{
	struct harness_run r;

	cr_assert_eq(harness_run(NULL, ARGV("lock-class", "bug"), &r), 0);
	expect_findings(&r, "lock-order-inversion", 1);
	cr_expect(strstr(r.json, "\"renamed\""), "%s", r.log);
	harness_free(&r);
}

Test(preload, mutex_renamed_after_nested_use_apart_from_others_is_silent)
{
	struct harness_run r;

	cr_assert_eq(harness_run(NULL, ARGV("lock-class", "clean"), &r), 0);
	expect_clean(&r, "done\n");
	harness_free(&r);
}

/* the old class of a lock renamed while another thread holds it stays
 * until that hold is gone: a class made meanwhile took over its record
 * and id, and the holder's next lock looked like recursion */
Test(preload, mutex_renamed_while_another_thread_holds_it_is_silent)
{
	struct harness_run r;

	cr_assert_eq(harness_run(NULL, ARGV("lock-class", "held-clean"), &r), 0);
	expect_clean(&r, "done\n");
	harness_free(&r);
}

Test(preload, mutex_renamed_while_another_thread_holds_it_keeps_its_inversions)
{
	struct harness_run r;

	run(NULL, ARGV("lock-class", "held-bug"), &r);
	expect_findings(&r, "lock-order-inversion", 1); /* and no other */
	cr_expect(strstr(r.json, "\"renamed\""), "%s", r.log);
	harness_free(&r);
}

Test(preload, same_mutex_taken_both_ways_reports_inversion)
{
	struct harness_run r;

	run(NULL, ARGV("reuse", "same"), &r);
	expect_findings(&r, "lock-order-inversion", 1);
	harness_free(&r);
}

/* ---- self-deadlock and unlock balance ---- */

Test(preload, normal_mutex_relocked_reports_recursion_before_it_blocks)
{
	struct harness_run r;

	run_limited(NULL, ARGV("relock", "normal"), &r, 3);
	cr_expect_eq(r.status, KILLED, "the relock was expected to block (status %d)", r.status);
	expect_findings(&r, "recursive-locking", 1);
	cr_expect_str_eq(r.out, "locked once\n");
	harness_free(&r);
}

Test(preload, recursive_mutex_relocked_is_silent)
{
	struct harness_run r;

	run(NULL, ARGV("relock", "recursive"), &r);
	expect_clean(&r, "locked once\ndone\n");
	harness_free(&r);
}

Test(preload, errorcheck_mutex_relock_fails_without_finding)
{
	struct harness_run r;

	run(NULL, ARGV("relock", "errorcheck"), &r);
	expect_clean(&r, "locked once\ndone\n");
	harness_free(&r);
}

/* ---- mutexes of glibc's general path ---- */

Test(preload, robust_mutex_owner_died_is_held_not_a_bad_unlock)
{
	struct harness_run r;

	run(NULL, ARGV("mutex-kinds", "robust"), &r);
	/* its owner dying is the recovery path a robust mutex is for: no
	 * lock-held-at-thread-exit, and main's unlock after EOWNERDEAD is
	 * balanced */
	expect_findings(&r, "lock-held-at-thread-exit", 0);
	cr_expect_eq(harness_count(r.json, "bad-unlock-balance"), 0, "%s", r.log);
	cr_expect_str_eq(r.out, "owner died\ndone\n");
	harness_free(&r);
}

Test(preload, priority_inheriting_mutex_inversion_is_reported)
{
	struct harness_run r;

	run(NULL, ARGV("mutex-kinds", "pi-bug"), &r);
	expect_findings(&r, "lock-order-inversion", 1);
	cr_expect_str_eq(r.out, "done\n");
	harness_free(&r);
}

Test(preload, priority_inheriting_mutex_same_order_is_silent)
{
	struct harness_run r;

	run(NULL, ARGV("mutex-kinds", "pi-clean"), &r);
	expect_clean(&r, "done\n");
	harness_free(&r);
}

Test(preload, unlock_of_mutex_held_by_another_thread_reports_bad_unlock)
{
	struct harness_run r;

	run(NULL, ARGV("bad-unlock", "foreign"), &r);
	expect_findings(&r, "bad-unlock-balance", 1);
	harness_free(&r);
}

Test(preload, unlock_of_never_locked_mutex_reports_bad_unlock)
{
	struct harness_run r;

	run(NULL, ARGV("bad-unlock", "never"), &r);
	expect_findings(&r, "bad-unlock-balance", 1);
	harness_free(&r);
}

Test(preload, balanced_unlocks_are_silent)
{
	struct harness_run r;

	run(NULL, ARGV("bad-unlock", "clean"), &r);
	expect_clean(&r, "done\n");
	harness_free(&r);
}

/* ---- thread exit and freed locks ---- */

Test(preload, thread_returning_with_lock_held_is_reported)
{
	struct harness_run r;

	run(NULL, ARGV("thread-exit", "return"), &r);
	expect_findings(&r, "lock-held-at-thread-exit", 1);
	harness_free(&r);
}

Test(preload, pthread_exit_with_lock_held_is_reported)
{
	struct harness_run r;

	run(NULL, ARGV("thread-exit", "exit"), &r);
	expect_findings(&r, "lock-held-at-thread-exit", 1);
	harness_free(&r);
}

Test(preload, thread_returning_after_unlock_is_silent)
{
	struct harness_run r;

	run(NULL, ARGV("thread-exit", "clean"), &r);
	expect_clean(&r, "done\n");
	harness_free(&r);
}

Test(preload, pthread_exit_after_unlock_is_silent)
{
	struct harness_run r;

	run(NULL, ARGV("thread-exit", "clean-exit"), &r);
	expect_clean(&r, "done\n");
	harness_free(&r);
}

Test(preload, freeing_struct_of_held_mutex_is_reported)
{
	struct harness_run r;

	run(NULL, ARGV("held-free", "free"), &r);
	expect_findings(&r, "held-lock-freed", 1);
	harness_free(&r);
}

/* free() decides most blocks from the bitmap words of their first line
 * alone (preload/malloc.c): a lock far into a block is still found */
Test(preload, freeing_block_with_held_mutex_deep_inside_is_reported)
{
	struct harness_run r;

	run(NULL, ARGV("held-free", "deep"), &r);
	expect_findings(&r, "held-lock-freed", 1);
	harness_free(&r);
}

/* the free window (instance.c) of a block's first line reaches 63 lines
 * further: a mutex in the last bytes of blocks that just fit, and of one
 * that does not, is still found */
Test(preload, freeing_blocks_with_held_mutex_in_their_last_bytes_is_reported)
{
	struct harness_run r;

	run(NULL, ARGV("held-free", "edge"), &r);
	expect_findings(&r, "held-lock-freed", 4);
	harness_free(&r);
}

/* realloc() releases what it moves away from or cuts off */
Test(preload, reallocating_block_with_held_mutex_away_or_shorter_is_reported)
{
	struct harness_run r;

	run(NULL, ARGV("held-free", "realloc"), &r);
	expect_findings(&r, "held-lock-freed", 2);
	harness_free(&r);
}

Test(preload, freeing_large_block_with_held_mutex_inside_is_reported)
{
	struct harness_run r;

	run(NULL, ARGV("held-free", "big"), &r);
	expect_findings(&r, "held-lock-freed", 1);
	harness_free(&r);
}

Test(preload, freeing_blocks_around_held_heap_mutex_is_silent)
{
	struct harness_run r;

	run(NULL, ARGV("held-free", "near"), &r);
	expect_clean(&r, "done\n");
	harness_free(&r);
}

Test(preload, destroying_held_mutex_is_reported)
{
	struct harness_run r;

	run(NULL, ARGV("held-free", "destroy"), &r);
	expect_findings(&r, "held-lock-freed", 1);
	harness_free(&r);
}

Test(preload, unlock_destroy_free_is_silent)
{
	struct harness_run r;

	run(NULL, ARGV("held-free", "clean"), &r);
	expect_clean(&r, "done\n");
	harness_free(&r);
}

/* ---- spinlocks ---- */

Test(preload, mutex_under_spinlock_reports_invalid_wait_context)
{
	struct harness_run r;

	run(NULL, ARGV("spin", "mutex"), &r);
	expect_findings(&r, "invalid-wait-context", 1);
	harness_free(&r);
}

Test(preload, malloc_under_spinlock_reports_invalid_wait_context)
{
	struct harness_run r;

	run(NULL, ARGV("spin", "malloc"), &r);
	expect_findings(&r, "invalid-wait-context", 1);
	harness_free(&r);
}

Test(preload, spinlock_alone_and_under_mutex_is_silent)
{
	struct harness_run r;

	run(NULL, ARGV("spin", "clean"), &r);
	expect_clean(&r, "done\n");
	harness_free(&r);
}

/* A spinlock taken again on a chain seen before is pushed inline (spin.h):
 * its entry and count are what the checks after it see. */
Test(preload, mutex_under_spinlock_on_the_fast_path_reports_invalid_wait_context)
{
	struct harness_run r;

	run(NULL, ARGV("spin", "fast-mutex"), &r);
	expect_findings(&r, "invalid-wait-context", 1);
	harness_free(&r);
}

Test(preload, mutex_after_a_fast_spinlock_pair_is_silent)
{
	struct harness_run r;

	run(NULL, ARGV("spin", "fast-clean"), &r);
	expect_clean(&r, "done\n");
	harness_free(&r);
}

Test(preload, spinlocks_nested_both_ways_on_the_fast_path_report_inversion)
{
	struct harness_run r;

	run(NULL, ARGV("spin", "fast-abba"), &r);
	expect_findings(&r, "lock-order-inversion", 1);
	harness_free(&r);
}

Test(preload, spinlocks_nested_one_way_on_the_fast_path_are_silent)
{
	struct harness_run r;

	run(NULL, ARGV("spin", "fast-same"), &r);
	expect_clean(&r, "done\n");
	harness_free(&r);
}

/* Two 4-byte spinlocks in one 8-byte unit, each taken many times next to
 * the other: each has its own slot of the thread's instance cache, its own
 * instance and class, and the inversion between them is reported once. */
Test(preload, adjacent_spinlocks_inverted_report_once_each_by_its_own_name)
{
	struct harness_run r;

	run(NULL, ARGV("adjacent", "bug"), &r);
	expect_findings(&r, "lock-order-inversion", 1);
	cr_expect(strstr(r.json, "\"from\": \"pair\", \"to\": \"pair+0x4\""), "%s", r.json);
	cr_expect(strstr(r.json, "\"from\": \"pair+0x4\", \"to\": \"pair\""), "%s", r.json);
	harness_free(&r);
}

Test(preload, adjacent_spinlocks_in_one_order_are_silent)
{
	struct harness_run r;

	run(NULL, ARGV("adjacent", "clean"), &r);
	expect_clean(&r, "done\n");
	harness_free(&r);
}

/* ---- fork and scale ---- */

Test(preload, fork_while_another_thread_holds_a_lock_reports_per_process)
{
	struct harness_run r;

	run(NULL, ARGV("fork-held", "held"), &r);
	cr_expect_eq(r.status, 0, "stderr: %s", r.err);
	cr_expect_eq(r.nreports, 2, "parent and child each write PATH.<pid>.json");
	cr_expect_eq(harness_findings(r.json), 0, "%s", r.log);
	cr_expect_str_eq(r.out, "child 0\nparent: 0 children failed\n");
	harness_free(&r);
}

Test(preload, repeated_fork_under_lock_and_malloc_traffic_does_not_hang)
{
	struct harness_run r;

	run(NULL, ARGV("fork-held", "busy"), &r);
	cr_expect_eq(r.status, 0, "stderr: %s", r.err);
	cr_expect_eq(r.nreports, 11);
	cr_expect_eq(harness_findings(r.json), 0, "%s", r.log);
	cr_expect(strstr(r.out, "child 9\nparent: 0 children failed\n"), "%s", r.out);
	harness_free(&r);
}

Test(preload, fork_while_another_thread_records_a_new_dependency_does_not_hang)
{
	struct harness_run r;

	/* a child forked while another thread was inside the unwinder used to
	 * inherit the unwinder's lock taken, and hang at its first new chain */
	run(NULL, ARGV("fork-held", "race"), &r);
	cr_expect_eq(r.status, 0, "stderr: %s", r.err);
	cr_expect_eq(r.nreports, 21);
	cr_expect_eq(harness_findings(r.json), 0, "%s", r.log);
	cr_expect(strstr(r.out, "child 19\nparent: 0 children failed\n"), "%s", r.out);
	harness_free(&r);
}

Test(preload, three_hundred_locks_held_by_one_thread_are_silent)
{
	struct harness_run r;

	run(NULL, ARGV("many-held", "300", "clean"), &r);
	expect_clean(&r, "held 300\n");
	cr_expect_eq(r.status, 0);
	harness_free(&r);
}

/* Past 32768 locks held at once by one thread the held stack does not grow
 * (the counts of spinning and path entries beside its depth are 16-bit):
 * said once, checking stops, and the program runs on unchanged. */
Test(preload, more_than_32768_locks_held_stop_checking_once)
{
	struct harness_run r;

	run(NULL, ARGV("many-held", "32769", "clean"), &r);
	expect_clean(&r, "held 32769\n");
	cr_expect_eq(r.status, 0);
	const char *msg = "a held stack of more than 32768 locks: checking stops here";
	const char *first = strstr(r.err, msg);
	cr_expect(first, "%s", r.err);
	cr_expect(!first || !strstr(first + 1, msg), "said more than once: %s", r.err);
	harness_free(&r);
}

Test(preload, three_hundred_lock_cycle_reports_one_inversion)
{
	struct harness_run r;

	run(NULL, ARGV("many-held", "300", "bug"), &r);
	expect_findings(&r, "lock-order-inversion", 1);
	/* too long to keep whole: its length is said, its first edges kept */
	cr_expect(strstr(r.json, "\"cycle_length\": 300"), "%s", r.log);
	cr_expect(strstr(r.log, "the cycle (300 edges; the first 64 shown)"), "%s", r.log);
	harness_free(&r);
}

Test(preload, five_hundred_threads_are_silent)
{
	struct harness_run r;

	run(NULL, ARGV("many-threads", "500"), &r);
	expect_clean(&r, "threads 500 total 10000\n");
	harness_free(&r);
}

Test(preload, static_locks_through_one_wrapper_keep_their_classes_by_site)
{
	struct harness_run r;

	/* never initialised, so each is its own class even with classes=site */
	run("classes=site", ARGV("static-locks", "wrapper"), &r);
	cr_expect_eq(harness_findings(r.json), 0, "%s", r.log);
	cr_expect_eq(r.status, 0);
	harness_free(&r);
}

Test(preload, destroyed_locks_leave_the_graph)
{
	struct harness_run r;

	run(NULL, ARGV("churn", "20000"), &r);
	expect_clean(&r, "churned 20000\n");
	const char *p = strstr(r.json, "\"edges\": ");
	p = p ? strstr(p + 1, "\"edges\": ") : NULL; /* the count in "stats" */
	cr_assert(p, "%s", r.json);
	long edges = strtol(p + 9, NULL, 10);
	cr_expect_lt(edges, 10000, "edges of freed locks are dropped: %ld left", edges);
	harness_free(&r);
}

Test(preload, live_edge_survives_the_dropping_of_dead_ones)
{
	struct harness_run r;

	/* 20000 dead classes: several rounds of dropping their edges */
	run(NULL, ARGV("churn", "20000", "invert"), &r);
	expect_findings(&r, "lock-order-inversion", 1);
	cr_expect(strstr(r.json, "\"global\"") && strstr(r.json, "\"late\""), "%s", r.log);
	harness_free(&r);
}

/* The fingerprint of the finding in r (16 hex digits), into fp. */
static void fingerprint_of(const struct harness_run *r, char fp[17])
{
	const char *p = strstr(r->json, "\"fingerprint\": \"");

	cr_assert(p, "no finding in\n%s", r->json);
	memcpy(fp, p + 16, 16);
	fp[16] = 0;
}

Test(preload, fingerprints_are_stable_across_runs_and_rebuilds)
{
	struct harness_run a, b, c;
	char fa[17], fb[17], fc[17];

	/* two runs (two address layouts), and a build at -O0 without PIE or
	 * debug information: the same inversion has the same fingerprint */
	run(NULL, ARGV("static-locks", "bug"), &a);
	run(NULL, ARGV("static-locks", "bug"), &b);
	run(NULL, ARGV("static-locks-O0", "bug"), &c);
	fingerprint_of(&a, fa);
	fingerprint_of(&b, fb);
	fingerprint_of(&c, fc);
	cr_expect_str_eq(fa, fb);
	cr_expect_str_eq(fa, fc, "rebuilt: %s", c.log);
	harness_free(&a);
	harness_free(&b);
	harness_free(&c);
}
