/*
 * test_fences.c - fences, signalling paths across threads, reclaim,
 * priming, wound/wait contexts and wait contexts (fencedep(7)).
 */
#include <criterion/criterion.h>
#include <unistd.h>

#include "script.h"


#define ALLOC "alloc-in-signalling-path"
#define FLI "fence-lock-inversion"
#define RLI "reclaim-lock-inversion"
#define WW "ww-protocol-violation"
#define IWC "invalid-wait-context"

Test(fences, allocation_after_publish_is_alloc_in_signalling_path)
{
	expect("publish:F alloc signal:F", ALLOC, 1);
}

Test(fences, allocation_after_handoff_is_silent)
{
	expect("publish:F handoff:F alloc signal:F", ALLOC, 0);
}

Test(fences, allocation_after_signal_is_silent)
{
	expect("publish:F signal:F alloc", ALLOC, 0);
}

Test(fences, allocation_on_an_adopting_worker_is_reported)
{
	expect("publish:F handoff:F spawn adopt:F alloc signal:F join", ALLOC, 1);
}

Test(fences, worker_that_signals_before_allocating_is_silent)
{
	expect("publish:F handoff:F spawn adopt:F signal:F alloc join", ALLOC, 0);
}

/* signalled with a lock above its path entry: the entry leaves from under
 * the lock, the second time round on the inline path */
Test(fences, allocation_after_a_signal_under_a_lock_is_silent)
{
	expect("publish:F +L signal:F -L alloc publish:F +L signal:F -L alloc", ALLOC, 0);
}

Test(fences, allocation_under_a_lock_in_a_second_life_is_reported)
{
	expect("publish:F +L signal:F -L publish:F +L alloc signal:F -L", ALLOC, 1);
}

Test(fences, lock_moved_down_by_a_signal_still_orders_later_locks)
{
	expect("publish:F +L signal:F +M -M -L publish:F +L signal:F -L +M +L -L -M",
	       "lock-order-inversion", 1);
}

/* a handoff with a lock above the path entry: the lock moves down over it
 * and still orders what is taken later */
Test(fences, lock_moved_down_by_a_handoff_still_orders_later_locks)
{
	expect("publish:F +L handoff:F +M -M -L +M +L -L -M signal:F", "lock-order-inversion", 1);
}

/* (a trylock, which adds no edge out of the fence's class to itself) */
Test(fences, allocation_under_a_trylock_after_a_handoff_is_silent)
{
	expect("publish:F +L:t handoff:F alloc -L signal:F", ALLOC, 0);
}

Test(fences, allocation_under_a_trylock_before_a_handoff_is_reported)
{
	expect("publish:F +L:t alloc handoff:F -L signal:F", ALLOC, 1);
}

Test(fences, signal_on_another_thread_takes_the_publisher_off_the_path)
{
	/* creating a thread allocates: done in a no-reclaim scope */
	expect("publish:F nrs spawn signal:F join nrr alloc", ALLOC, 0);
}

/* a worker that adopted the fence stays on its path until the publisher
 * signals it, and leaves it then */
Test(fences, adopter_allocating_before_the_publisher_signals_is_reported)
{
	expect("publish:F nrs bg adopt:F post:a pend:b alloc post:c fg pend:a nrr "
	       "post:b pend:c signal:F", ALLOC, 1);
}

Test(fences, adopter_allocating_after_the_publisher_signals_is_silent)
{
	expect("publish:F nrs bg adopt:F post:a pend:b alloc fg pend:a nrr signal:F post:b",
	       ALLOC, 0);
}

/* a signal reaches each thread on the path, however many there are (more
 * than a fence keeps the mail slots of) */
Test(fences, every_one_of_many_adopters_leaves_the_path_when_the_fence_signals)
{
	expect("publish:F nrs bg adopt:F post:a1 pend:s alloc post:d1 fg bg adopt:F post:a2 pend:s alloc post:d2 fg bg adopt:F post:a3 pend:s alloc post:d3 fg bg adopt:F post:a4 pend:s alloc post:d4 fg bg adopt:F post:a5 pend:s alloc post:d5 fg "
	       "pend:a1 pend:a2 pend:a3 pend:a4 pend:a5 nrr signal:F post:s post:s post:s post:s post:s pend:d1 pend:d2 pend:d3 pend:d4 pend:d5",
	       ALLOC, 0);
}

Test(fences, two_adopters_leave_the_path_when_the_fence_signals)
{
	expect("publish:F nrs bg adopt:F post:a1 pend:s alloc post:d1 fg "
	       "bg adopt:F post:a2 pend:s alloc post:d2 fg "
	       "pend:a1 pend:a2 nrr signal:F post:s post:s pend:d1 pend:d2",
	       ALLOC, 0);
}

/* a fence destroyed by another thread takes its publisher off the path */
Test(fences, destroy_on_another_thread_takes_the_publisher_off_the_path)
{
	expect("publish:F nrs spawn destroy:F join nrr alloc", ALLOC, 0);
}

Test(fences, publisher_of_a_fence_destroyed_after_the_allocation_is_reported)
{
	expect("publish:F nrs spawn join nrr alloc nrs spawn destroy:F join nrr", ALLOC, 1);
}

/* a second thread publishing a published fence is on its path too */
Test(fences, second_publisher_leaves_the_path_when_the_first_signals)
{
	expect("publish:F nrs bg publish:F post:a pend:b alloc fg pend:a nrr signal:F post:b",
	       ALLOC, 0);
}

/* a publisher that handed its fence off and publishes it again is back on
 * its path: a signal from another thread takes it off again */
Test(fences, republished_after_handoff_leaves_the_path_when_another_thread_signals)
{
	expect("publish:F handoff:F publish:F nrs spawn signal:F join nrr alloc", ALLOC, 0);
}

Test(fences, republished_after_handoff_allocation_is_reported)
{
	expect("publish:F handoff:F publish:F alloc nrs spawn signal:F join nrr", ALLOC, 1);
}

/* the same for a publisher that adopts its fence again after a handoff */
Test(fences, readopted_after_handoff_leaves_the_path_when_another_thread_signals)
{
	expect("publish:F handoff:F adopt:F nrs spawn signal:F join nrr alloc", ALLOC, 0);
}

Test(fences, readopted_after_handoff_allocation_is_reported)
{
	expect("publish:F handoff:F adopt:F alloc signal:F", ALLOC, 1);
}

/* adopted before publication, then published by the same thread: one
 * entry, which the signal removes */
Test(fences, adopted_then_published_fence_leaves_no_entry_behind)
{
	expect("init:F adopt:F publish:F signal:F alloc", ALLOC, 0);
}

Test(fences, adopted_then_published_fence_path_allocation_is_reported)
{
	expect("init:F adopt:F publish:F alloc signal:F", ALLOC, 1);
}

/* Many publications on another fence's signalling path, under a lock: from
 * the second on they are done inline, with no chain to validate.  A lock
 * then taken for the first time on the new fence's path is still an edge
 * out of its class. */
static const char *fences_on_a_path(bool lock_on_path)
{
	static char buf[8192];
	size_t n = (size_t)snprintf(buf, sizeof(buf), "+M init:G:outer publish:G ");

	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "init:F publish:F signal:F ");
	snprintf(buf + n, sizeof(buf) - n, "init:F publish:F %s signal:F %s signal:G -M +L wait:F -L",
		 lock_on_path ? "+L -L" : "", lock_on_path ? "" : "+L -L");
	return buf;
}

Test(fences, lock_first_taken_after_many_inline_publications_is_fence_lock_inversion)
{
	expect(fences_on_a_path(true), FLI, 1);
}

Test(fences, lock_taken_after_the_signal_of_many_inline_publications_is_silent)
{
	expect(fences_on_a_path(false), FLI, 0);
}

Test(fences, allocation_in_a_kernel_style_section_is_reported)
{
	expect("sb alloc se", ALLOC, 1);
}

Test(fences, might_alloc_in_a_section_is_reported)
{
	expect("sb might_alloc se", ALLOC, 1);
}

Test(fences, allocation_in_a_noreclaim_scope_is_silent)
{
	expect("sb nrs alloc nrr se", ALLOC, 0);
}

Test(fences, nested_sections_are_silent)
{
	expect("sb sb +A -A se se", ALLOC, 0);
}

Test(fences, allocation_after_the_section_ends_is_silent)
{
	expect("sb se alloc", ALLOC, 0);
}

Test(fences, late_section_after_publication_still_catches_the_allocation)
{
	/* the allocation precedes the annotated section but follows publication */
	expect("publish:F alloc sb se signal:F", ALLOC, 1);
}

Test(fences, lock_taken_on_path_and_held_during_wait_is_fence_lock_inversion)
{
	expect("publish:F +L -L signal:F publish:G handoff:G +L wait:G -L signal:G", FLI, 1);
}

Test(fences, lock_on_path_never_held_during_wait_is_silent)
{
	expect("publish:F +L -L signal:F publish:G handoff:G wait:G signal:G", FLI, 0);
}

Test(fences, waiting_for_an_earlier_fence_inside_a_path_is_silent)
{
	expect("publish:F handoff:F publish:G wait:F signal:G signal:F", FLI, 0);
}

Test(fences, waiting_for_own_fence_is_fence_self_wait)
{
	expect("publish:F wait:F signal:F", "fence-self-wait", 1);
}

Test(fences, waiting_for_a_handed_off_fence_is_silent)
{
	expect("publish:F handoff:F wait:F signal:F", "fence-self-wait", 0);
}

Test(fences, waiting_for_a_never_published_fence_is_reported)
{
	expect("init:F wait:F", "unpublished-fence-wait", 1);
}

Test(fences, waiting_for_a_published_fence_is_silent)
{
	expect("init:F publish:F handoff:F wait:F signal:F", "unpublished-fence-wait", 0);
}

Test(fences, signalling_twice_is_fence_double_signal)
{
	expect("publish:F handoff:F signal:F signal:F", "fence-double-signal", 1);
}

/* The double signal of fence-names' second life names the class the fence
 * was last initialised with; the first life must not be reported. */
static void expect_second_life_class(char *const argv[], const char *cls)
{
	struct harness_run r;
	char want[64];

	cr_assert_eq(harness_run(NULL, argv, &r), 0);
	cr_expect_eq(r.status, 66, "status %d: %s", r.status, r.err); /* exitcode= */
	cr_expect_eq(harness_findings(r.json), 1, "%s", r.log);
	cr_expect_eq(harness_count(r.json, "fence-double-signal"), 1, "%s", r.log);
	snprintf(want, sizeof(want), "\"class\": \"%s\"", cls);
	cr_expect(strstr(r.json, want), "no %s in:\n%s", want, r.json);
	harness_free(&r);
}

Test(fences, class_name_rewritten_in_place_gives_the_new_class)
{
	expect_second_life_class((char *const[]){ "fence-names", "heap", NULL }, "omega.fence");
}

Test(fences, class_name_literal_of_an_unloaded_module_is_read_again)
{
	char a[4096], b[4096];

	snprintf(a, sizeof(a), "%s/.libs/libfname-a.so", harness_prog("."));
	snprintf(b, sizeof(b), "%s/.libs/libfname-b.so", harness_prog("."));
	expect_second_life_class((char *const[]){ "fence-names", "module", a, b, NULL },
				 "delta.fence");
}

Test(fences, republished_fence_signals_again_without_finding)
{
	expect("publish:F handoff:F signal:F publish:F handoff:F signal:F", "fence-double-signal", 0);
}

Test(fences, published_fence_unsignalled_at_exit_is_reported)
{
	expect("publish:F handoff:F", "fence-never-signalled", 1);
}

Test(fences, signalled_fence_at_exit_is_silent)
{
	expect("publish:F handoff:F signal:F", "fence-never-signalled", 0);
}

/* _exit() abandons what is in flight, as a crash would: no exit checks */
Test(fences, published_fence_unsignalled_at_underscore_exit_is_silent)
{
	struct harness_run r = script_opts(1, NULL, "publish:F handoff:F _exit:0");

	cr_expect_eq(r.status, 0, "status %d: %s", r.status, r.err);
	cr_expect_eq(r.nreports, 1, "the last report is written");
	cr_expect_eq(harness_findings(r.json), 0, "%s", r.log);
	harness_free(&r);
}

Test(fences, destroyed_fence_is_forgotten)
{
	expect("publish:F handoff:F destroy:F", "fence-never-signalled", 0);
}

Test(fences, shrinker_taking_a_lock_held_across_allocation_is_reclaim_lock_inversion)
{
	expect("+L alloc -L rb +L -L re", RLI, 1);
}

Test(fences, shrinker_lock_never_held_across_allocation_is_silent)
{
	expect("+L -L alloc rb +L -L re", RLI, 0);
}

Test(fences, allocation_inside_reclaim_does_not_recurse)
{
	expect("rb +L alloc -L re +L -L", RLI, 0);
}

Test(fences, reclaim_waiting_for_a_fence_whose_path_allocates)
{
	/* priming off: the reclaim -> fence wait has to be seen */
	script_expect("prime=none", "publish:G handoff:G rb wait:G re signal:G publish:F alloc signal:F",
		    ALLOC, 1);
}

Test(fences, priming_off_without_observed_reclaim_wait_is_silent)
{
	script_expect("prime=none", "publish:F alloc signal:F", ALLOC, 0);
}

Test(fences, user_prime_closes_a_cycle_at_once)
{
	expect("prime:A:B +B +A -A -B", "lock-order-inversion", 1);
}

Test(fences, prime_file_adds_order)
{
	char path[] = "/tmp/fdep-prime-XXXXXX", opts[128];
	int fd = mkstemp(path);

	cr_assert(write(fd, "# documented order\nA B\n", 23) == 23);
	close(fd);
	snprintf(opts, sizeof(opts), "prime=%s", path);
	script_expect(opts, "+B +A -A -B", "lock-order-inversion", 1);
	unlink(path);
}

Test(fences, bad_prime_file_line_is_an_error_naming_file_and_line)
{
	char path[] = "/tmp/fdep-prime-XXXXXX", opts[128];
	int fd = mkstemp(path);

	cr_assert(write(fd, "A B\nA B C\n", 10) == 10);
	close(fd);
	snprintf(opts, sizeof(opts), "prime=%s", path);
	struct harness_run r = script_opts(1, opts, "+A -A");
	cr_expect_eq(r.status, 2);
	cr_expect(strstr(r.err, path) && strstr(r.err, "line 2"), "%s", r.err);
	harness_free(&r);
	unlink(path);
}

Test(fences, primed_edges_are_marked_in_reports)
{
	struct harness_run r = script("publish:F alloc signal:F");

	cr_expect(strstr(r.json, "\"primed\": true"), "%s", r.json);
	cr_expect(strstr(r.log, "primed"), "%s", r.log);
	harness_free(&r);
}

Test(fences, mmap_lock_under_resv_against_primed_order)
{
	expect("+R=reservation_ww_class +mmap_lock -mmap_lock -R", "lock-order-inversion", 1);
}

Test(fences, ww_transaction_in_any_order_is_silent)
{
	expect("ww_init:c +x=R@c +y=R@c -x -y ww_fini:c ww_init:d +y=R@d +x=R@d -x -y ww_fini:d",
	       WW, 0);
}

Test(fences, ww_backoff_done_right_is_silent)
{
	expect("ww_init:c +x=R@c ww_contended:c:y -x +y=R@c +x=R@c -x -y ww_fini:c", WW, 0);
}

Test(fences, locking_on_after_edeadlk_is_ww_protocol_violation)
{
	expect("ww_init:c +x=R@c ww_contended:c:y +z=R@c -z -x ww_fini:c", WW, 1);
}

Test(fences, slow_locking_the_wrong_lock_is_ww_protocol_violation)
{
	expect("ww_init:c +x=R@c ww_contended:c:y -x +z=R@c -z ww_fini:c", WW, 1);
}

Test(fences, second_context_of_a_class_in_a_thread_is_ww_protocol_violation)
{
	expect("ww_init:c ww_init:d ww_fini:d ww_fini:c", WW, 1);
}

Test(fences, context_never_finished_is_ww_protocol_violation)
{
	expect("ww_init:c +x=R@c -x", WW, 1);
}

Test(fences, sleeping_lock_under_spinlock_is_invalid_wait_context)
{
	expect("+S:spin +M -M -S", IWC, 1);
}

Test(fences, allocation_under_spinlock_is_invalid_wait_context)
{
	expect("+S:spin alloc -S", IWC, 1);
}

Test(fences, fence_wait_under_spinlock_is_invalid_wait_context)
{
	expect("publish:F handoff:F +S:spin wait:F -S signal:F", IWC, 1);
}

Test(fences, spinlock_under_spinlock_is_silent)
{
	expect("+S:spin +T:spin -T -S", IWC, 0);
}

Test(fences, lock_annotated_before_its_edeadlk_is_dropped_by_contended)
{
	expect("ww_init:c +x=R@c +y=R@c ww_contended:c:y -x +y=R@c -y ww_fini:c", WW, 0);
}

Test(fences, notifier_context_lock_cycle_counts_as_reclaim)
{
	expect("+mmu_notifier +L -L -mmu_notifier +L +mmu_notifier -mmu_notifier -L", RLI, 1);
}

/* ---- ww protocol (kernel DEBUG_WW_MUTEXES warnings) ---- */

Test(fences, ww_fini_twice_is_ww_protocol_violation)
{
	expect("ww_init:c +x=R@c -x ww_fini:c ww_fini:c", WW, 1);
}

Test(fences, ww_fini_with_a_lock_of_the_context_held_is_ww_protocol_violation)
{
	expect("ww_init:c +x=R@c ww_fini:c -x", WW, 1);
}

Test(fences, ww_fini_under_a_lock_taken_after_the_context_is_silent)
{
	/* the context's entry is not on top: it goes all the same, so the
	 * next context of the class is no second one */
	expect("ww_init:c +x=R@c -x +M ww_fini:c -M ww_init:d +x=R@d -x ww_fini:d", WW, 0);
}

Test(fences, ww_context_reused_after_fini_is_silent)
{
	expect("ww_init:c +x=R@c -x ww_fini:c ww_init:c +x=R@c -x ww_fini:c", WW, 0);
}

Test(fences, ww_lock_of_another_class_in_a_context_is_ww_protocol_violation)
{
	expect("ww_init:c:A +x=B@c -x ww_fini:c", WW, 1);
}

Test(fences, ww_lock_of_the_context_class_is_silent)
{
	expect("ww_init:c:A +x=A@c +y=A@c -x -y ww_fini:c", WW, 0);
}

Test(fences, ww_lock_after_done_is_ww_protocol_violation)
{
	expect("ww_init:c +x=R@c ww_done:c +y=R@c -y -x ww_fini:c", WW, 1);
}

Test(fences, ww_done_after_the_last_lock_is_silent)
{
	expect("ww_init:c +x=R@c +y=R@c ww_done:c -y -x ww_fini:c", WW, 0);
}

Test(fences, ww_done_twice_is_ww_protocol_violation)
{
	expect("ww_init:c +x=R@c ww_done:c ww_done:c -x ww_fini:c", WW, 1);
}

/* a per-transaction context is never a gate: the inversion between the ww
 * class and M is real (two transactions run at once) */
Test(fences, ww_context_is_never_a_gate_lock)
{
	expect("ww_init:c +x=R@c +M -M -x ww_fini:c ww_init:d +M +x=R@d -x -M ww_fini:d",
	       "lock-order-inversion", 1);
}

Test(fences, ww_class_and_lock_in_one_order_is_silent)
{
	expect("ww_init:c +x=R@c +M -M -x ww_fini:c ww_init:d +x=R@d +M -M -x ww_fini:d",
	       "lock-order-inversion", 0);
}

/* ww_inject=3: the third acquisition with a lock held, then 3.5 times
 * further each time; nothing without the option, nor with nothing held */
Test(fences, ww_inject_answers_at_growing_intervals)
{
	const char *s = "ww_init:c ww_inject:c +x=R@c ww_inject:c ww_inject:c ww_inject:c "
			"ww_inject:c ww_inject:c ww_inject:c ww_inject:c ww_inject:c ww_inject:c "
			"ww_inject:c ww_inject:c ww_inject:c ww_inject:c -x ww_fini:c";
	struct harness_run r = script_opts(1, "ww_inject=3", s);

	cr_expect_str_eq(r.out, "00010000000001done\n", "%s", r.err);
	cr_expect_eq(harness_findings(r.json), 0, "%s", r.log);
	harness_free(&r);
	r = script_opts(1, NULL, s);
	cr_expect_str_eq(r.out, "00000000000000done\n", "%s", r.err);
	harness_free(&r);
	r = script_opts(1, "ww_inject=x", s);
	cr_expect_eq(r.status, 2, "%s", r.err);
	harness_free(&r);
}

/* ---- priming: the whole chain from the start ---- */

Test(fences, mmap_lock_on_a_signalling_path_without_reservations_is_reported)
{
	struct harness_run r = script("sb +mmap_lock -mmap_lock se");

	cr_expect_eq(harness_count(r.json, ALLOC), 1, "%s", r.log);
	cr_expect_eq(harness_findings(r.json), 1, "%s", r.log);
	cr_expect(strstr(r.log, "reservation_ww_class"), "%s", r.log);
	cr_expect(strstr(r.log, "lock taken on a fence signalling path"), "%s", r.log);
	harness_free(&r);
}

Test(fences, mmap_lock_outside_a_signalling_path_is_silent)
{
	expect("+mmap_lock -mmap_lock sb se", ALLOC, 0);
}

/* ---- titles follow what the cycle holds ---- */

Test(fences, notifier_context_on_a_signalling_path_is_fence_lock_inversion)
{
	struct harness_run r = script("sb +mmu_notifier -mmu_notifier se");

	cr_expect_eq(harness_count(r.json, FLI), 1, "%s", r.log);
	cr_expect_eq(harness_findings(r.json), 1, "%s", r.log);
	cr_expect(strstr(r.log, "mmu notifier invalidations"), "%s", r.log);
	cr_expect_null(strstr(r.log, "memory allocated"), "%s", r.log);
	harness_free(&r);
}

Test(fences, allocation_in_the_notifier_context_is_reclaim_lock_inversion)
{
	struct harness_run r = script("+mmu_notifier alloc -mmu_notifier");

	cr_expect_eq(harness_count(r.json, RLI), 1, "%s", r.log);
	cr_expect_eq(harness_findings(r.json), 1, "%s", r.log);
	cr_expect(strstr(r.log, "mmu notifier context"), "%s", r.log);
	harness_free(&r);
}

Test(fences, fence_classes_waiting_for_each_other_is_fence_lock_inversion)
{
	struct harness_run r = script("init:E:exec publish:E handoff:E init:B:bind publish:B "
				      "prime:exec:bind wait:E signal:B signal:E");

	cr_expect_eq(harness_count(r.json, FLI), 1, "%s", r.log);
	cr_expect_eq(harness_findings(r.json), 1, "%s", r.log);
	cr_expect(strstr(r.log, "waits for a fence that waits for it"), "%s", r.log);
	harness_free(&r);
}

Test(fences, waiting_for_a_fence_of_an_earlier_queue_is_silent)
{
	expect("init:B:bind publish:B handoff:B init:E:exec publish:E prime:exec:bind wait:B "
	       "signal:E signal:B",
	       FLI, 0);
}
