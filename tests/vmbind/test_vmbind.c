/*
 * test_vmbind.c - the VM_BIND reference model: clean under the checker,
 * and each injected mistake reported as its own kind and nothing else.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"

/* vmbind-stress is built in src/vmbind, two levels above tests/progs. */
static const char *stress(void)
{
	static char path[4096];
	const char *env = getenv("VMBIND_STRESS");
	const char *dir = getenv("FDEP_TEST_BINDIR");

	if (env)
		return env;
	snprintf(path, sizeof(path), "%s/../../src/vmbind/vmbind-stress", dir ? dir : "tests/progs");
	return path;
}

static void run(int preload, const char *bug, const char *seconds, struct harness_run *r)
{
	char *argv[] = { (char *)stress(), "--threads", "4", "--seconds", (char *)seconds,
			 "--seed", "1", bug ? "--bug" : NULL, (char *)bug, NULL };

	cr_assert_eq(harness_run_opts(preload, NULL, argv, r), 0, "cannot run %s", argv[0]);
}

static const char *last_line(const char *out)
{
	size_t n = strlen(out);

	while (n && out[n - 1] == '\n')
		n--;
	while (n && out[n - 1] != '\n')
		n--;
	return out + n;
}

Test(vmbind, clean_model_under_checker_reports_nothing, .timeout = 60)
{
	struct harness_run r;

	run(1, NULL, "3", &r);
	cr_expect_eq(r.status, 0, "exit status %d, stderr: %s", r.status, r.err);
	cr_expect_eq(harness_findings(r.json), 0, "findings in a clean run:\n%s", r.json);
	cr_expect_null(strstr(r.err, "stale page"), "%s", r.err);
	cr_expect_eq(strncmp(last_line(r.out), "ops_per_sec=", 12), 0, "stdout: %s", r.out);
	harness_free(&r);
}

Test(vmbind, clean_model_runs_natively_and_exits_zero, .timeout = 60)
{
	struct harness_run r;

	run(0, NULL, "2", &r);
	cr_expect_eq(r.status, 0, "exit status %d, stderr: %s", r.status, r.err);
	cr_expect_eq(strncmp(last_line(r.out), "ops_per_sec=", 12), 0, "stdout: %s", r.out);
	cr_expect_gt(atol(last_line(r.out) + 12), 0);
	harness_free(&r);
}

Test(vmbind, fixed_iterations_end_without_a_time_limit, .timeout = 60)
{
	char *argv[] = { (char *)stress(), "--threads", "2", "--iterations", "300", NULL };
	struct harness_run r;

	cr_assert_eq(harness_run_opts(0, NULL, argv, &r), 0);
	cr_expect_eq(r.status, 0, "stderr: %s", r.err);
	cr_expect_eq(strncmp(last_line(r.out), "ops_per_sec=", 12), 0, "stdout: %s", r.out);
	harness_free(&r);
}

/* A number from the JSON report's statistics. */
static long report_stat(const char *json, const char *key)
{
	char needle[64];
	const char *p = json ? strstr(json, "\"stats\"") : NULL;

	snprintf(needle, sizeof(needle), "\"%s\": ", key);
	p = p ? strstr(p, needle) : NULL;
	return p ? strtol(p + strlen(needle), NULL, 10) : -1;
}

/*
 * The model's per-object locks and waits (a reservation's wait queue, a
 * fence waiter's semaphore) have one class each, as the kernel's init
 * sites give them: a class per object would make new classes, chains and
 * dependencies for every buffer and every wait, which is most of what the
 * checker would cost (and no more checking).  2,000 operations make a few
 * hundred chains; a class per waiter made over 10,000.
 */
Test(vmbind, clean_model_makes_no_class_per_object, .timeout = 60)
{
	char *argv[] = { (char *)stress(), "--threads", "4", "--iterations", "500",
			 "--seed", "1", NULL };
	struct harness_run r;

	cr_assert_eq(harness_run_opts(1, NULL, argv, &r), 0);
	cr_expect_eq(r.status, 0, "stderr: %s", r.err);
	long chains = report_stat(r.json, "chains"), classes = report_stat(r.json, "classes");
	cr_expect(chains > 0 && chains <= 2000, "%ld chains for 2,000 operations", chains);
	cr_expect(classes > 0 && classes <= 40, "%ld classes", classes);
	harness_free(&r);
}

static int newlines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

Test(vmbind, list_bugs_prints_every_bug_of_the_catalogue, .timeout = 30)
{
	static const char *const names[] = {
		"gup-under-resv", "resv-in-notifier", "vm-lock-in-notifier", "alloc-in-run-job",
		"late-reserve-fences", "late-begin-signalling", "resv-in-run-job",
		"notifier-lock-in-run-job", "alloc-under-notifier-lock",
		"blocking-resv-in-shrinker", "preempt-fence-takes-vm-lock",
		"move-notify-takes-vm-lock", "resv-under-spinlock", "ignore-edeadlk",
		"unlocked-userptr-list", "extobj-evict-no-resv", "unlocked-seq-check",
		"alloc-in-sched-main", "alloc-in-notifier", "read-begin-in-run-job",
		"mutex-in-fence-callback", "bind-exec-fence-cycle", "alloc-in-evict-job",
	};
	char *argv[] = { (char *)stress(), "--list-bugs", NULL };
	struct harness_run r;

	cr_assert_eq(harness_run_opts(0, NULL, argv, &r), 0);
	cr_expect_eq(r.status, 0);
	cr_expect_eq(newlines(r.out), 23, "%s", r.out);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char line[64];

		snprintf(line, sizeof(line), "%s\n", names[i]);
		cr_expect_not_null(strstr(r.out, line), "%s missing from:\n%s", names[i], r.out);
	}
	harness_free(&r);
}

static void expect_bad_args(char *a1, char *a2, char *a3)
{
	char *argv[] = { (char *)stress(), a1, a2, a3, NULL };
	struct harness_run r;

	cr_assert_eq(harness_run_opts(0, NULL, argv, &r), 0);
	cr_expect_eq(r.status, 2, "%s %s: status %d", a1, a2 ? a2 : "", r.status);
	cr_expect_not_null(strstr(r.err, "vmbind-stress: "), "stderr: %s", r.err);
	cr_expect_eq(newlines(r.err), 1, "not one line: %s", r.err);
	harness_free(&r);
}

Test(vmbind, bad_arguments_exit_2_with_one_line, .timeout = 30)
{
	expect_bad_args("--threads", "0", NULL);
	expect_bad_args("--threads", "many", NULL);
	expect_bad_args("--seconds", "-1", NULL);
	expect_bad_args("--iterations", "x", NULL);
	expect_bad_args("--bug", "no-such-bug", NULL);
	expect_bad_args("--frobnicate", NULL, NULL);
	expect_bad_args("--seconds", "1", "extra");
	expect_bad_args("--threads", NULL, NULL);
}

/*
 * The mistake is reported as its kind, and nothing else is reported.  A
 * mistake that needs the other side parked may not be made at all in a
 * short run on a loaded machine (gated_hits=0): such a run proves nothing
 * and is made again, three times at most.
 */
static void expect_bug(const char *bug, const char *kind)
{
	struct harness_run r;
	int n, all;

	for (int attempt = 0;; attempt++) {
		run(1, bug, "2", &r);
		if (attempt == 2 || !strstr(r.out, "gated_hits=0\n") ||
		    harness_count(r.json, kind) > 0)
			break;
		harness_free(&r);
	}
	n = harness_count(r.json, kind);
	all = harness_findings(r.json);
	cr_expect_gt(n, 0, "%s: no %s finding (status %d)\nstdout: %s\nstderr: %s\njson: %s", bug,
		     kind, r.status, r.out, r.err, r.json);
	cr_expect_eq(all, n, "%s: findings other than %s:\n%s", bug, kind, r.json);
	cr_expect_null(strstr(r.err, "stale page"), "%s: %s", bug, r.err);
	harness_free(&r);
}

#define BUG_TEST(fn, bug, kind)                   \
	Test(vmbind, fn, .timeout = 90)           \
	{                                         \
		expect_bug(bug, kind);            \
	}

BUG_TEST(bug_gup_under_resv_reports_lock_order_inversion, "gup-under-resv",
	 "lock-order-inversion")
BUG_TEST(bug_resv_in_notifier_reports_reclaim_lock_inversion, "resv-in-notifier",
	 "reclaim-lock-inversion")
BUG_TEST(bug_vm_lock_in_notifier_reports_reclaim_lock_inversion, "vm-lock-in-notifier",
	 "reclaim-lock-inversion")
BUG_TEST(bug_alloc_in_run_job_reports_alloc_in_signalling_path, "alloc-in-run-job",
	 "alloc-in-signalling-path")
BUG_TEST(bug_late_reserve_fences_reports_alloc_in_signalling_path, "late-reserve-fences",
	 "alloc-in-signalling-path")
BUG_TEST(bug_late_begin_signalling_reports_alloc_in_signalling_path, "late-begin-signalling",
	 "alloc-in-signalling-path")
BUG_TEST(bug_resv_in_run_job_reports_fence_lock_inversion, "resv-in-run-job",
	 "fence-lock-inversion")
BUG_TEST(bug_notifier_lock_in_run_job_reports_fence_lock_inversion, "notifier-lock-in-run-job",
	 "fence-lock-inversion")
BUG_TEST(bug_alloc_under_notifier_lock_reports_reclaim_lock_inversion,
	 "alloc-under-notifier-lock", "reclaim-lock-inversion")
BUG_TEST(bug_blocking_resv_in_shrinker_reports_reclaim_lock_inversion,
	 "blocking-resv-in-shrinker", "reclaim-lock-inversion")
BUG_TEST(bug_preempt_fence_takes_vm_lock_reports_fence_lock_inversion,
	 "preempt-fence-takes-vm-lock", "fence-lock-inversion")
BUG_TEST(bug_move_notify_takes_vm_lock_reports_lock_order_inversion,
	 "move-notify-takes-vm-lock", "lock-order-inversion")
BUG_TEST(bug_resv_under_spinlock_reports_invalid_wait_context, "resv-under-spinlock",
	 "invalid-wait-context")
BUG_TEST(bug_ignore_edeadlk_reports_ww_protocol_violation, "ignore-edeadlk",
	 "ww-protocol-violation")
BUG_TEST(bug_unlocked_userptr_list_reports_assertion_failed, "unlocked-userptr-list",
	 "assertion-failed")
BUG_TEST(bug_extobj_evict_no_resv_reports_assertion_failed, "extobj-evict-no-resv",
	 "assertion-failed")

Test(vmbind, bug_unlocked_seq_check_is_caught_by_the_page_check, .timeout = 90)
{
	struct harness_run r;

	run(1, "unlocked-seq-check", "20", &r);
	cr_expect_neq(r.status, 0, "the race went unnoticed: %s", r.out);
	cr_expect_not_null(strstr(r.err, "stale page"), "stderr: %s", r.err);
	harness_free(&r);
}

Test(vmbind, bug_unlocked_seq_check_is_caught_natively, .timeout = 90)
{
	struct harness_run r;

	run(0, "unlocked-seq-check", "20", &r);
	cr_expect_eq(r.status, 3, "status %d, stderr: %s", r.status, r.err);
	cr_expect_not_null(strstr(r.err, "stale page"), "stderr: %s", r.err);
	harness_free(&r);
}
BUG_TEST(bug_alloc_in_sched_main_reports_alloc_in_signalling_path, "alloc-in-sched-main",
	 "alloc-in-signalling-path")
BUG_TEST(bug_alloc_in_notifier_reports_reclaim_lock_inversion, "alloc-in-notifier",
	 "reclaim-lock-inversion")
BUG_TEST(bug_read_begin_in_run_job_reports_fence_lock_inversion, "read-begin-in-run-job",
	 "fence-lock-inversion")
BUG_TEST(bug_mutex_in_fence_callback_reports_invalid_wait_context, "mutex-in-fence-callback",
	 "invalid-wait-context")
BUG_TEST(bug_bind_exec_fence_cycle_reports_fence_lock_inversion, "bind-exec-fence-cycle",
	 "fence-lock-inversion")
BUG_TEST(bug_alloc_in_evict_job_reports_alloc_in_signalling_path, "alloc-in-evict-job",
	 "alloc-in-signalling-path")

/* read_begin in run_job is a wait on invalidations, not an allocation: the
 * title says so */
Test(vmbind, read_begin_in_run_job_is_titled_as_a_wait_on_invalidations, .timeout = 90)
{
	struct harness_run r;

	run(1, "read-begin-in-run-job", "1", &r);
	cr_expect_not_null(strstr(r.json, "mmu notifier invalidations"), "%s", r.json);
	cr_expect_null(strstr(r.json, "memory allocated"), "%s", r.json);
	harness_free(&r);
}

/* The final sequence check asserts userptr_notifier_lock: the mistake is
 * reported in every run, not only when a race makes a page stale (which
 * the model may then also report, exit status 3). */
Test(vmbind, unlocked_seq_check_is_assertion_failed_in_every_run, .timeout = 90)
{
	for (int i = 0; i < 3; i++) {
		struct harness_run r;
		int n;

		run(1, "unlocked-seq-check", "1", &r);
		n = harness_count(r.json, "assertion-failed");
		cr_expect_gt(n, 0, "run %d: no assertion-failed (status %d)\n%s\n%s", i, r.status,
			     r.err, r.json);
		cr_expect_eq(harness_findings(r.json), n, "run %d: other findings:\n%s", i, r.json);
		harness_free(&r);
	}
}

static unsigned long long stat_of(const char *out, const char *key)
{
	const char *p = strstr(out, key);

	return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

static void run_hardened(const char *opts, const char *threads, struct harness_run *r)
{
	char *argv[] = { (char *)stress(), "--threads", (char *)threads, "--seconds", "2", NULL };

	cr_assert_eq(harness_run_opts(1, opts, argv, r), 0, "cannot run %s", argv[0]);
}

/*
 * The clean model with 8 threads, site classes (lockdep's prediction across
 * instances) and ww_inject=3 (every back-off path runs: far more -EDEADLK
 * than contention alone gives) stays clean, run after run.
 */
Test(vmbind, clean_model_hardened_reports_nothing, .timeout = 120)
{
	for (int i = 0; i < 3; i++) {
		struct harness_run r;

		run_hardened("classes=site:ww_inject=3", "8", &r);
		cr_expect_eq(r.status, 0, "run %d: status %d, stderr: %s", i, r.status, r.err);
		cr_expect_eq(harness_findings(r.json), 0, "run %d: findings:\n%s", i, r.json);
		cr_expect_gt(stat_of(r.out, "backoffs="), 100, "run %d: %s", i, r.out);
		cr_expect_null(strstr(r.err, "stale page"), "%s", r.err);
		harness_free(&r);
	}
}

/* The same with watchdog=2: no finding, not even a hang. */
Test(vmbind, clean_model_under_the_watchdog_reports_nothing, .timeout = 120)
{
	for (int i = 0; i < 2; i++) {
		struct harness_run r;

		run_hardened("classes=site:ww_inject=3:watchdog=2", "8", &r);
		cr_expect_eq(r.status, 0, "run %d: status %d, stderr: %s", i, r.status, r.err);
		cr_expect_eq(harness_findings(r.json), 0, "run %d: findings:\n%s", i, r.json);
		cr_expect_null(strstr(r.err, "stale page"), "%s", r.err);
		harness_free(&r);
	}
}

/*
 * The edges out of FROM in the report whose type starts with MODE ('E' an
 * exclusive holder, 'S' a shared one) and whose stack passes through a
 * function whose name starts with FN.  An edge keeps a stack for each of
 * its types: where it was first made with the holder in that mode.
 */
static int edges_held_in(const char *json, const char *from, char mode, const char *fn)
{
	char head[160], call[160];
	const char *p = strstr(json, "\"edges\": [");
	int n = 0;

	snprintf(head, sizeof(head), "{\"from\": \"%s\", ", from);
	snprintf(call, sizeof(call), "\"function\": \"%s", fn);
	while (p && (p = strstr(p, head))) {
		const char *type = strstr(p, "\"type\": \"");
		const char *end = strstr(p + 1, "{\"from\": ");
		const char *at = strstr(p, call);

		if (type && (!end || type < end) && type[9] == mode && at && (!end || at < end))
			n++;
		p = end;
	}
	return n;
}

/*
 * gpu_vm->lock is an rwsem: exec takes it in read mode (write only to
 * repin invalidated userptrs), bind and unbind in write mode; the userptr
 * notifier lock is read in exec and written by the invalidation.  The
 * modes show in the clean run's graph: an exec that took gpu_vm->lock in
 * write mode would leave no shared-holder edge made in vm_exec, and a bind
 * that took it in read mode no exclusive-holder edge made in vm_bind_*.
 */
Test(vmbind, exec_holds_vm_lock_shared_and_bind_exclusive, .timeout = 90)
{
	struct harness_run r;

	run(1, NULL, "2", &r);
	cr_expect_eq(harness_findings(r.json), 0, "findings in a clean run:\n%s", r.json);
	cr_expect_gt(edges_held_in(r.json, "gpu_vm->lock", 'S', "vm_exec"), 0,
		     "exec never held gpu_vm->lock in read mode:\n%s", r.json);
	cr_expect_gt(edges_held_in(r.json, "gpu_vm->lock", 'E', "vm_bind"), 0,
		     "bind never held gpu_vm->lock in write mode:\n%s", r.json);
	cr_expect_eq(edges_held_in(r.json, "gpu_vm->lock", 'S', "vm_bind"), 0,
		     "bind held gpu_vm->lock in read mode:\n%s", r.json);
	cr_expect_gt(edges_held_in(r.json, "userptr_notifier_lock", 'S', "vm_exec"), 0,
		     "exec never held userptr_notifier_lock in read mode:\n%s", r.json);
	cr_expect_gt(edges_held_in(r.json, "userptr_notifier_lock", 'E', "vma_userptr_invalidate"), 0,
		     "the invalidation never held userptr_notifier_lock in write mode:\n%s", r.json);
	harness_free(&r);
}
