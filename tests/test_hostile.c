/*
 * test_hostile.c - the runtime and the command under hostile or unlucky
 * conditions: inputs at the limits, planted files and libraries, exec,
 * pid namespaces, out of memory.  Nothing may crash, lose a finding,
 * write where it should not, or drop something silently.  Long inputs are
 * generated here, never stored.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "script.h"

#define FINDING_EXIT 66
#define ARGV(...) ((char *const[]){ __VA_ARGS__, NULL })

static void run(const char *opts, char *const argv[], struct harness_run *r)
{
	double limit = harness_timeout_s;

	harness_timeout_s = 60;
	int rc = harness_run_opts(1, opts, argv, r);
	harness_timeout_s = limit;
	cr_assert_eq(rc, 0, "cannot start %s", argv[0]);
}

/* A file of generated text in a new temporary directory; its path. */
static const char *temp_file(const char *name, const char *text)
{
	static char path[4][512];
	static int next;
	char dir[] = "/tmp/fdep-hostile-XXXXXX";

	cr_assert_not_null(mkdtemp(dir));
	char *p = path[next++ % 4];
	snprintf(p, sizeof(path[0]), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	return p;
}

/* ---- 1. the suppression check is bounded by its input ---- */

/*
 * A cycle of 40 locks, each edge's stack 16 frames deep in recursion,
 * checked against a suppressions file that matches nothing: the check
 * looks at every frame of every edge (about 2,000 strings) and must
 * neither overflow nor drop the finding.
 */
Test(hostile, long_deep_cycle_with_suppressions_is_reported)
{
	struct harness_run r;
	char opts[600];

	snprintf(opts, sizeof(opts), "suppressions=%s",
		 temp_file("supp", "lock-order-inversion:no_such_function\n"));
	run(opts, ARGV("rel-hostile", "deep-ring", "40", "100", "bug"), &r);
	cr_expect_eq(r.status, FINDING_EXIT, "status %d\nstderr: %s", r.status, r.err);
	cr_expect_str_eq(r.out, "done\n");
	cr_expect_eq(harness_count(r.json, "lock-order-inversion"), 1, "%s", r.log);
	cr_expect_eq(harness_findings(r.json), 1, "%s", r.log);
	harness_free(&r);
}

/* The same long cycle is still suppressed by a frame its stacks show. */
Test(hostile, long_deep_cycle_suppressed_by_a_deep_frame)
{
	struct harness_run r;
	char opts[600];

	snprintf(opts, sizeof(opts), "suppressions=%s",
		 temp_file("supp", "lock-order-inversion:ring_thread\n"));
	run(opts, ARGV("rel-hostile", "deep-ring", "40", "10", "bug"), &r);
	cr_expect_eq(r.status, 0, "status %d\nstderr: %s", r.status, r.err);
	cr_expect_str_eq(r.out, "done\n");
	cr_expect_eq(harness_findings(r.json), 0, "%s", r.log);
	harness_free(&r);
}

Test(hostile, long_deep_ring_in_order_is_clean)
{
	struct harness_run r;
	char opts[600];

	snprintf(opts, sizeof(opts), "suppressions=%s",
		 temp_file("supp", "lock-order-inversion:no_such_function\n"));
	run(opts, ARGV("rel-hostile", "deep-ring", "40", "100", "clean"), &r);
	cr_expect_eq(r.status, 0, "status %d\nstderr: %s", r.status, r.err);
	cr_expect_eq(harness_findings(r.json), 0, "%s", r.log);
	harness_free(&r);
}

/* ---- 10. dump_signal takes only signals a handler can return from ---- */

Test(hostile, dump_signal_refuses_synchronous_and_fatal_signals)
{
	static const int refused[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGKILL,
				       SIGSTOP, SIGABRT, SIGTRAP, SIGSYS, 32, 33 };

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		struct harness_run r;
		char opts[64];

		snprintf(opts, sizeof(opts), "dump_signal=%d", refused[i]);
		run(opts, ARGV("rel-hostile", "nothing"), &r);
		cr_expect_eq(r.status, 2, "%s: status %d\nstderr: %s", opts, r.status, r.err);
		cr_expect_str_eq(r.out, "", "%s: the program ran", opts);
		cr_expect(strstr(r.err, "fencedep: FENCEDEP_OPTIONS: option 'dump_signal'") == r.err,
			  "%s: stderr: %s", opts, r.err);
		cr_expect_eq(strchr(r.err, '\n') - r.err + 1, (long)strlen(r.err),
			     "%s: not one line: %s", opts, r.err);
		harness_free(&r);
	}
}

Test(hostile, dump_signal_accepts_ordinary_signals)
{
	static const int accepted[] = { 0, SIGUSR1, SIGUSR2, SIGHUP, SIGWINCH, 40, 64 };

	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		struct harness_run r;
		char opts[64];

		snprintf(opts, sizeof(opts), "dump_signal=%d", accepted[i]);
		run(opts, ARGV("rel-hostile", "nothing"), &r);
		cr_expect_eq(r.status, 0, "%s: status %d\nstderr: %s", opts, r.status, r.err);
		cr_expect_str_eq(r.out, "done\n", "%s", opts);
		cr_expect_str_eq(r.err, "", "%s", opts);
		harness_free(&r);
	}
}
