/*
 * test_debug.c - debugging a program under the checker: the watchdog's
 * hang reports, the state dump on a signal, abort_on_report.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct harness_run run(const char *opts, const char *what, double limit)
{
	struct harness_run r;
	char *argv[] = { "hang", (char *)what, NULL };

	harness_timeout_s = limit;
	cr_assert_eq(harness_run(opts, argv, &r), 0);
	harness_timeout_s = 0;
	return r;
}

Test(debug, real_deadlock_ends_in_a_hang_report_with_every_thread)
{
	struct harness_run r = run("watchdog=1", "abba", 6);

	cr_expect_eq(r.status, 128 + 9, "the program really hung and was killed");
	cr_expect_eq(harness_count(r.json, "lock-order-inversion"), 1, "%s", r.log);
	/* one hang per thread: each waits for its own lock */
	cr_expect_eq(harness_count(r.json, "hang"), 2, "%s", r.log);
	cr_expect(strstr(r.log, "fencedep: hang:"), "%s", r.log);
	cr_expect(strstr(r.log, "waiting for mutex"), "%s", r.log);
	cr_expect(strstr(r.log, "holds lock_a"), "%s", r.log);
	cr_expect(strstr(r.log, "holds lock_b"), "%s", r.log);
	harness_free(&r);
}

Test(debug, without_watchdog_a_deadlock_reports_no_hang)
{
	struct harness_run r = run(NULL, "abba", 3);

	cr_expect_eq(r.status, 128 + 9);
	cr_expect_eq(harness_count(r.json, "hang"), 0);
	cr_expect_eq(harness_count(r.json, "lock-order-inversion"), 1, "written before blocking");
	harness_free(&r);
}

Test(debug, waiting_forever_for_a_fence_is_a_hang_naming_the_fence)
{
	struct harness_run r = run("watchdog=1", "fence", 6);

	cr_expect_eq(harness_count(r.json, "hang"), 1, "%s", r.log);
	cr_expect(strstr(r.log, "published fences not yet signalled"), "%s", r.log);
	cr_expect(strstr(r.log, "dma_fence"), "%s", r.log);
	harness_free(&r);
}

/* A thread whose fence cache knows the fence: its wait, holding nothing,
 * is noted for the watchdog all the same. */
Test(debug, waiting_for_a_fence_the_thread_knows_is_a_hang)
{
	struct harness_run r = run("watchdog=1", "fence-known", 10);

	cr_expect_eq(harness_count(r.json, "hang"), 1, "%s", r.log);
	cr_expect(strstr(r.log, "fence"), "%s", r.log);
	harness_free(&r);
}

Test(debug, idle_after_waiting_for_a_signalled_fence_is_no_hang)
{
	struct harness_run r = run("watchdog=1", "fence-known-signalled", 10);

	cr_expect_eq(harness_count(r.json, "hang"), 0, "%s", r.log);
	cr_expect_eq(harness_findings(r.json), 0, "%s", r.log);
	harness_free(&r);
}

Test(debug, dump_signal_prints_state_and_the_program_runs_on)
{
	struct harness_run r = run(NULL, "dump", 10);

	cr_expect_eq(r.status, 0);
	cr_expect_str_eq(r.out, "still running\n");
	cr_expect(strstr(r.log, "fencedep: state of process"), "%s", r.log);
	cr_expect(strstr(r.log, "holds"), "%s", r.log);
	cr_expect_eq(harness_findings(r.json), 0);
	harness_free(&r);
}

Test(debug, dump_signal_zero_leaves_the_signal_alone)
{
	struct harness_run r = run("dump_signal=0", "dump", 10);

	cr_expect_eq(r.status, 128 + 10, "SIGUSR1's default action ends the program");
	harness_free(&r);
}

Test(debug, abort_on_report_stops_at_the_finding)
{
	struct harness_run r = run("abort_on_report=1", "abba", 6);

	cr_expect_eq(r.status, 128 + 6, "SIGABRT at the finding, before the deadlock");
	cr_expect_eq(harness_count(r.json, "lock-order-inversion"), 1);
	harness_free(&r);
}

Test(debug, reports_name_the_thread_and_where_it_was_created)
{
	char *argv[] = { "fdep-script", "spawn", "name:worker-7", "+A", "+A", "-A", "-A", "join", NULL };
	struct harness_run r;

	cr_assert_eq(harness_run(NULL, argv, &r), 0);
	cr_expect_eq(harness_count(r.json, "recursive-locking"), 1, "%s", r.log);
	cr_expect(strstr(r.json, "\"name\": \"worker-7\", \"created_at\": \"run\""), "%s", r.json);
	cr_expect(strstr(r.log, "thread") && strstr(r.log, "\"worker-7\""), "%s", r.log);
	cr_expect(strstr(r.log, "the thread was created at run"), "%s", r.log);
	harness_free(&r);
}

Test(debug, gdb_option_stops_the_program_at_the_finding)
{
	const char *cli = getenv("FDEP_CLI");
	char *argv[] = { (char *)(cli ? cli : "src/cli/fencedep"), "--gdb",
			 (char *)harness_prog("fdep-script"), "+A", "+A", "-A", "-A", NULL };
	struct harness_run r;

	if (system("command -v gdb >/dev/null 2>&1"))
		cr_skip_test("gdb is not installed");
	harness_timeout_s = 60;
	cr_assert_eq(harness_run_opts(0, NULL, argv, &r), 0);
	harness_timeout_s = 0;
	/* gdb ran the program, which stopped on SIGABRT right after the report */
	cr_expect(strstr(r.out, "SIGABRT"), "stdout: %s\nstderr: %s", r.out, r.err);
	cr_expect(strstr(r.err, "fencedep: recursive-locking"), "%s", r.err);
	harness_free(&r);
}

Test(debug, hangs_are_fingerprinted_by_what_they_wait_for)
{
	struct harness_run r = run("watchdog=1", "abba", 6);
	const char *a, *b;

	/* the two threads of the deadlock wait for two locks: two findings,
	 * told apart by their fingerprints */
	cr_expect_eq(harness_count(r.json, "hang"), 2, "%s", r.log);
	a = strstr(r.json, "{\"kind\": \"hang\"");
	b = a ? strstr(a + 1, "{\"kind\": \"hang\"") : NULL;
	cr_assert(a && b, "%s", r.json);
	cr_expect(strncmp(strstr(a, "\"fingerprint\": "), strstr(b, "\"fingerprint\": "), 34),
		  "two waits, two fingerprints: %s", r.json);
	cr_expect(strstr(r.json, "\"class\": \"lock_a\"") && strstr(r.json, "\"class\": \"lock_b\""),
		  "%s", r.json);
	harness_free(&r);
}
