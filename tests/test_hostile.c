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
#include <stdbool.h>
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

/*
 * The directories temp_file made in this test (each test runs in its own
 * process); the suite's fini removes them, whatever the test's outcome.
 */
#define MAX_TEMP_DIRS 16
static char temp_dirs[MAX_TEMP_DIRS][480];
static int ntemp_dirs;

static void remove_temp_dirs(void)
{
	for (int i = 0; i < ntemp_dirs; i++) {
		char cmd[512];

		snprintf(cmd, sizeof(cmd), "rm -rf '%.479s'", temp_dirs[i]);
		if (system(cmd))
			cr_log_warn("could not remove %s", temp_dirs[i]);
	}
	ntemp_dirs = 0;
}

TestSuite(hostile, .fini = remove_temp_dirs);

/*
 * A file of generated text in a new directory under $TMPDIR (or /tmp);
 * its path.
 */
static const char *temp_file(const char *name, const char *text)
{
	static char path[4][512];
	static int next;
	const char *tmp = getenv("TMPDIR");
	cr_assert_lt(ntemp_dirs, MAX_TEMP_DIRS);
	char *dir = temp_dirs[ntemp_dirs++];

	snprintf(dir, sizeof(temp_dirs[0]), "%s/fdep-hostile-XXXXXX", tmp && *tmp ? tmp : "/tmp");
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

/* ---- 11. any number of prime rules for one class ---- */

/* A prime file with n rules "hub Yi", i = 1..n; the options naming it. */
static const char *prime_hub(int n)
{
	static char opts[600];
	char text[8192] = "";
	size_t len = 0;

	for (int i = 1; i <= n; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "hub Y%d\n", i);
	snprintf(opts, sizeof(opts), "prime=%s", temp_file("order", text));
	return opts;
}

/* The classes Y1..Y40 exist before hub does, so that hub's creation is
 * when all its rules apply: the first one (the last found) must too. */
static char *hub_script(const char *tail)
{
	static char s[4096];
	size_t len = 0;

	for (int i = 1; i <= 40; i++)
		len += (size_t)snprintf(s + len, sizeof(s) - len, "+Y%d -Y%d ", i, i);
	snprintf(s + len, sizeof(s) - len, "+hub -hub %s", tail);
	return s;
}

Test(hostile, forty_prime_rules_for_one_class_all_hold)
{
	const char *opts = prime_hub(40);

	script_expect(opts, hub_script("+Y1 +hub -hub -Y1"), "lock-order-inversion", 1);
	script_expect(opts, hub_script("+Y40 +hub -hub -Y40"), "lock-order-inversion", 1);
	script_expect(opts, hub_script("+Y17 +hub -hub -Y17"), "lock-order-inversion", 1);
}

Test(hostile, forty_prime_rules_followed_are_clean)
{
	const char *opts = prime_hub(40);

	script_expect(opts, hub_script("+hub +Y1 -Y1 +Y40 -Y40 +Y17 -Y17 -hub"),
		      "lock-order-inversion", 0);
}

/* ---- 9. whole suppression and prime files ---- */

/* pad bytes of comment lines, then text: the text lies past any buffer
 * of pad bytes or less. */
static const char *padded_file(const char *name, size_t pad, const char *text)
{
	size_t len = strlen(text);
	char *all = malloc(pad + len + 1);

	cr_assert_not_null(all);
	memset(all, ' ', pad);
	for (size_t i = 0; i + 80 <= pad; i += 80) {
		all[i] = '#';
		all[i + 79] = '\n';
	}
	memcpy(all + pad, text, len + 1);
	const char *path = temp_file(name, all);
	free(all);
	return path;
}

static int sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/*
 * A rule that crosses the first MiB of its file: read whole, it names no
 * frame of the program and suppresses nothing, in the runtime as in
 * fencedep report.  (Cut after "*:*", it would suppress everything.)
 */
Test(hostile, suppression_rule_past_the_first_mib_is_read_whole)
{
	struct harness_run r;
	char opts[600];
	size_t mib = 1 << 20;
	/* the boundary falls after "*:*" */
	const char *path = padded_file("supp", mib - 3, "*:*no_such_function\n");

	snprintf(opts, sizeof(opts), "suppressions=%s", path);
	run(opts, ARGV("rel-hostile", "inversion"), &r);
	cr_expect_eq(r.status, FINDING_EXIT, "status %d\nstderr: %s", r.status, r.err);
	cr_expect_eq(harness_count(r.json, "lock-order-inversion"), 1, "%s", r.log);
	/* the command reads the same file the same way */
	char report[512];
	snprintf(report, sizeof(report), "%s.json", path);
	FILE *f = fopen(report, "w");
	cr_assert_not_null(f);
	fputs(r.json, f);
	fclose(f);
	int st = sh("'%s' report --suppressions '%s' '%s' >/dev/null", getenv("FDEP_CLI"), path,
		    report);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 1, "fencedep report: status %d", st);
	harness_free(&r);
}

Test(hostile, suppression_rule_past_the_first_mib_applies)
{
	struct harness_run r;
	char opts[600];

	snprintf(opts, sizeof(opts), "suppressions=%s",
		 padded_file("supp", (1 << 20) + 4096, "lock-order-inversion:inversion\n"));
	run(opts, ARGV("rel-hostile", "inversion"), &r);
	cr_expect_eq(r.status, 0, "status %d\nstderr: %s", r.status, r.err);
	cr_expect_eq(harness_findings(r.json), 0, "%s", r.log);
	harness_free(&r);
}

Test(hostile, prime_rule_past_64_kib_applies)
{
	char opts[600];

	snprintf(opts, sizeof(opts), "prime=%s", padded_file("order", 200 * 1024, "hub Y1\n"));
	script_expect(opts, "+Y1 +hub -hub -Y1", "lock-order-inversion", 1);
	script_expect(opts, "+hub +Y1 -Y1 -hub", "lock-order-inversion", 0);
}

Test(hostile, prime_file_with_a_nul_byte_is_an_error)
{
	struct harness_run r;
	char opts[600];
	const char *path = temp_file("order", "hub Y1\n");
	FILE *f = fopen(path, "a");

	cr_assert_not_null(f);
	fputc(0, f);
	fputs("Y1 hub\n", f);
	fclose(f);
	snprintf(opts, sizeof(opts), "prime=%s", path);
	run(opts, ARGV("rel-hostile", "nothing"), &r);
	cr_expect_eq(r.status, 2, "status %d\nstderr: %s", r.status, r.err);
	cr_expect(strstr(r.err, "NUL byte"), "stderr: %s", r.err);
	cr_expect_str_eq(r.out, "");
	harness_free(&r);
}

/* ---- 7. the command preloads only the library it was built or installed for ---- */

/*
 * A copy of the command in DIR/prefix/bin, with a file planted at
 * DIR/prefix/bin/../../.libs/libfencedep.so (where an earlier command
 * looked first): the copy never preloads it, and says which library it
 * looked for instead.
 */
Test(hostile, installed_command_ignores_a_planted_build_tree_library)
{
	char dir[] = "/tmp/fdep-plant-XXXXXX";

	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(sh("mkdir -p %s/prefix/bin %s/.libs && cp '%s' %s/prefix/bin/fencedep && "
			"echo planted > %s/.libs/libfencedep.so",
			dir, dir, getenv("FDEP_CLI"), dir, dir),
		     0);
	int st = sh("env -u FENCEDEP_LIBRARY %s/prefix/bin/fencedep %s nothing >%s/out 2>%s/err",
		    dir, harness_prog("rel-hostile"), dir, dir);
	cr_expect_neq(sh("grep -q '%s/.libs' %s/out %s/err", dir, dir, dir), 0,
		      "the planted library was preloaded");
	/* an installed runtime is used, or it is missing: nothing else */
	if (access(FDEP_TEST_LIBDIR "/libfencedep.so", R_OK) == 0)
		cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
	else
		cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 2 &&
				  sh("grep -q 'runtime library .%s/libfencedep.so. not found' %s/err",
				     FDEP_TEST_LIBDIR, dir) == 0,
			  "status %d", st);
	/* an explicit library is used */
	st = sh("env -u FENCEDEP_LIBRARY %s/prefix/bin/fencedep --library='%s' %s inversion "
		">%s/out 2>%s/err",
		dir, getenv("FENCEDEP_LIBRARY"), harness_prog("rel-hostile"), dir, dir);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == FINDING_EXIT, "--library: status %d", st);
	sh("rm -rf %s", dir);
}

/* The build tree's own command still finds the build tree's runtime. */
Test(hostile, build_tree_command_uses_the_build_tree_runtime)
{
	char dir[] = "/tmp/fdep-plant-XXXXXX";

	cr_assert_not_null(mkdtemp(dir));
	int st = sh("env -u FENCEDEP_LIBRARY '%s' %s inversion >%s/out 2>%s/err", getenv("FDEP_CLI"),
		    harness_prog("rel-hostile"), dir, dir);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == FINDING_EXIT, "status %d", st);
	cr_expect_eq(sh("grep -q lock-order-inversion %s/err", dir), 0);
	sh("rm -rf %s", dir);
}

/* ---- 8. FENCEDEP_OPTIONS of any length, or an error ---- */

/* A long inherited value (12 KiB) and then --json-path: the report goes
 * where --json-path says, not to a path cut short. */
Test(hostile, long_inherited_options_do_not_cut_json_path)
{
	char dir[] = "/tmp/fdep-longopt-XXXXXX";
	size_t n = 12 * 1024;
	char *inherited = malloc(n + 64);

	cr_assert_not_null(mkdtemp(dir));
	cr_assert_not_null(inherited);
	/* the last of a key given many times wins: verbosity=1 */
	size_t len = 0;
	while (len < n)
		len += (size_t)sprintf(inherited + len, "verbosity=1:");
	inherited[len - 1] = 0;
	setenv("FDEP_LONG_OPTS", inherited, 1);
	int st = sh("FENCEDEP_OPTIONS=\"$FDEP_LONG_OPTS\" '%s' --json-path=%s/report %s inversion "
		    ">%s/out 2>%s/err",
		    getenv("FDEP_CLI"), dir, harness_prog("rel-hostile"), dir, dir);
	unsetenv("FDEP_LONG_OPTS");
	free(inherited);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == FINDING_EXIT, "status %d", st);
	cr_expect_eq(sh("cat %s/report.*.json | grep -q lock-order-inversion", dir), 0,
		     "no report at --json-path");
	sh("rm -rf %s", dir);
}

Test(hostile, option_value_with_a_colon_is_an_error)
{
	char dir[] = "/tmp/fdep-colon-XXXXXX";

	cr_assert_not_null(mkdtemp(dir));
	int st = sh("'%s' --json-path=%s/a:b %s nothing >%s/out 2>%s/err", getenv("FDEP_CLI"), dir,
		    harness_prog("rel-hostile"), dir, dir);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 2, "status %d", st);
	cr_expect_eq(sh("grep -q \"^fencedep: --json-path: .*contains ':'\" %s/err", dir), 0);
	cr_expect_eq(sh("test -s %s/out", dir), 256, "the program ran");
	sh("rm -rf %s", dir);
}

/* ---- 12. fencedep report: a cross-process cycle of any length ---- */

/* Run the script, keep its JSON report at dir/name; its status. */
static int script_to_file(const char *script, const char *dir, const char *name)
{
	struct harness_run r = script_opts(1, NULL, script);
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(r.json, f);
	fclose(f);
	int st = r.status;
	harness_free(&r);
	return st;
}

/* One process takes L0 -> L1 -> ... -> L(n-1), another L(n-1) then L0
 * (closing: the cycle of n classes no process saw) or L0 then L(n-1). */
static void long_merged_cycle(int n, bool closing)
{
	char dir[] = "/tmp/fdep-merge-XXXXXX", *chain = malloc((size_t)n * 40), tail[128];
	size_t len = 0;

	cr_assert_not_null(mkdtemp(dir));
	cr_assert_not_null(chain);
	for (int i = 0; i + 1 < n; i++)
		len += (size_t)sprintf(chain + len, "+L%d +L%d -L%d -L%d ", i, i + 1, i + 1, i);
	cr_assert_eq(script_to_file(chain, dir, "a.json"), 0);
	free(chain);
	if (closing)
		snprintf(tail, sizeof(tail), "+L%d +L0 -L0 -L%d", n - 1, n - 1);
	else
		snprintf(tail, sizeof(tail), "+L0 +L%d -L%d -L0", n - 1, n - 1);
	cr_assert_eq(script_to_file(tail, dir, "b.json"), 0);
	int st = sh("cd %s && '%s' report -f json a.json b.json >merged 2>err", dir,
		    getenv("FDEP_CLI"));
	if (closing) {
		cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 1, "%d classes: status %d", n, st);
		cr_expect_eq(sh("cd %s && jq -e '[.findings[] | select(.kind == "
				"\"lock-order-inversion\")] | length == 1 and "
				"(.[0].cycle | length == %d)' merged >/dev/null",
				dir, n),
			     0, "%d classes: not one merged cycle of %d edges", n, n);
	} else {
		cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%d classes in order: status %d", n,
			  st);
	}
	sh("rm -rf %s", dir);
}

Test(hostile, cross_process_cycle_of_100_classes_is_reported)
{
	long_merged_cycle(100, true);
	long_merged_cycle(65, true);
}

Test(hostile, cross_process_chain_of_100_classes_in_order_is_clean)
{
	long_merged_cycle(100, false);
}

/* ---- 2. exec() after a finding ---- */

static int count_in(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; p && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/*
 * The first image reports an inversion and execs a clean program: its
 * report stays (the new image writes a file of its own), and the process
 * exits with the finding status, which a CI gate sees.  The variable that
 * carries it is gone from the new image's environment.
 */
Test(hostile, exec_after_a_finding_keeps_report_and_status)
{
	struct harness_run r;

	run(NULL, ARGV("rel-hostile", "exec", "/usr/bin/env"), &r);
	cr_expect_eq(r.status, FINDING_EXIT, "status %d\nstderr: %s", r.status, r.err);
	cr_expect_eq(r.nreports, 2, "one report per image: %d", r.nreports);
	cr_expect_eq(harness_count(r.json, "lock-order-inversion"), 1, "%s", r.json);
	cr_expect_eq(count_in(r.out, "FENCEDEP_EXEC"), 0, "the environment shows it:\n%s", r.out);
	harness_free(&r);
}

/* Through the command, and fencedep report over what it left. */
Test(hostile, exec_after_a_finding_fails_the_command_and_the_report)
{
	char dir[] = "/tmp/fdep-exec-XXXXXX";

	cr_assert_not_null(mkdtemp(dir));
	int st = sh("'%s' --json-path=%s/r -- %s exec %s nothing >%s/out 2>%s/err",
		    getenv("FDEP_CLI"), dir, harness_prog("rel-hostile"), harness_prog("rel-hostile"),
		    dir, dir);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == FINDING_EXIT, "status %d", st);
	cr_expect_eq(sh("grep -qx done %s/out", dir), 0);
	st = sh("'%s' report %s/r.*.json >/dev/null 2>&1", getenv("FDEP_CLI"), dir);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 1, "fencedep report: status %d", st);
	sh("rm -rf %s", dir);
}

Test(hostile, exec_without_a_finding_is_clean)
{
	struct harness_run r;

	run(NULL, ARGV("rel-hostile", "exec-clean", (char *)harness_prog("rel-hostile"), "nothing"),
	    &r);
	cr_expect_eq(r.status, 0, "status %d\nstderr: %s", r.status, r.err);
	cr_expect_str_eq(r.out, "done\n");
	cr_expect_eq(harness_findings(r.json), 0, "%s", r.log);
	harness_free(&r);
}

/* A child is another process: the parent's finding is not its status. */
Test(hostile, child_exec_does_not_inherit_the_parents_finding)
{
	struct harness_run r;
	char prog[4096];

	snprintf(prog, sizeof(prog), "%s", harness_prog("rel-hostile"));
	run(NULL, ARGV("rel-hostile", "fork-exec", prog, "nothing"), &r);
	cr_expect_str_eq(r.out, "done\nchild 0\n", "stderr: %s", r.err);
	cr_expect_eq(r.status, FINDING_EXIT, "status %d", r.status);
	cr_expect_eq(harness_count(r.json, "lock-order-inversion"), 1, "%s", r.json);
	harness_free(&r);
}

/*
 * A process that leaves by _exit(), _Exit() or quick_exit() skips the
 * destructors: the findings still set its status, its report is complete,
 * and what it did not flush stays unflushed.  Its vfork() and fork()
 * children keep their own statuses, and the run without a finding is the
 * native one.
 */
static void leave_check(const char *how)
{
	struct harness_run r, n, c;
	bool flushes = !strcmp(how, "exit");

	run("verbosity=2", ARGV("rel-hostile", "leave", (char *)how, "inversion"), &r);
	cr_expect_eq(r.status, FINDING_EXIT, "%s: status %d\nstderr: %s", how, r.status, r.err);
	cr_expect_eq(harness_count(r.json, "lock-order-inversion"), 1, "%s: %s", how, r.json);
	/* exit() flushes it in the fork() child too */
	cr_expect_str_eq(r.out, flushes ? "unflushedunflushed" : "", "%s", how);
	cr_expect_eq(count_in(r.err, "children 5 7\n"), 1, "%s: %s", how, r.err);
	/* the last pass ran: the statistics line, and the report of each
	 * process that is an image of its own (not the vfork() child) */
	cr_expect_eq(count_in(r.log, "fencedep: stats: findings=1 "), 1, "%s: %s", how, r.log);
	cr_expect_eq(r.nreports, 2, "%s: %d reports", how, r.nreports);
	harness_free(&r);

	run(NULL, ARGV("rel-hostile", "leave", (char *)how, "clean"), &c);
	cr_assert_eq(harness_run_opts(0, NULL, ARGV("rel-hostile", "leave", (char *)how, "clean"), &n),
		     0);
	cr_expect_eq(c.status, 3, "%s clean: status %d\nstderr: %s", how, c.status, c.err);
	cr_expect_eq(n.status, 3, "%s native: status %d", how, n.status);
	cr_expect_str_eq(c.out, n.out, "%s", how);
	cr_expect_str_eq(c.err, n.err, "%s", how);
	cr_expect_eq(harness_findings(c.json), 0, "%s: %s", how, c.json);
	harness_free(&c);
	harness_free(&n);
}

Test(hostile, finding_then_underscore_exit_keeps_the_status)
{
	leave_check("_exit");
}

Test(hostile, finding_then_Exit_keeps_the_status)
{
	leave_check("_Exit");
}

Test(hostile, finding_then_quick_exit_keeps_the_status)
{
	leave_check("quick_exit");
}

Test(hostile, finding_then_exit_keeps_the_status)
{
	leave_check("exit");
}

/*
 * A thread the program cancelled (deferred) reports a finding: the
 * report's open, write and close are cancellation points, and acting on it
 * there would end the thread inside the runtime with its report lock held,
 * so that the next finding of any thread waits forever.  The cancellation
 * is acted on at the program's own next cancellation point instead.
 */
Test(hostile, finding_of_a_thread_with_a_cancellation_pending_is_written_whole)
{
	struct harness_run r;

	run(NULL, ARGV("rel-hostile", "cancel-in-report"), &r);
	cr_expect_eq(r.status, FINDING_EXIT, "status %d\nstderr: %s", r.status, r.err);
	cr_expect_str_eq(r.out, "cancelled 1\ndone\n", "stderr: %s", r.err);
	cr_expect_eq(harness_count(r.json, "lock-order-inversion"), 2, "%s", r.log);
	harness_free(&r);
}

/* ---- 3. one pid, two processes (pid namespaces) ---- */

Test(hostile, same_pid_in_two_namespaces_keeps_both_reports)
{
	char dir[] = "/tmp/fdep-pidns-XXXXXX";

	if (sh("unshare -pf true >/dev/null 2>&1"))
		cr_skip_test("cannot make a pid namespace here");
	cr_assert_not_null(mkdtemp(dir));
	/* both programs are pid 1 in their namespace; unshare is not checked */
	for (int i = 0; i < 2; i++) {
		int st = sh("unshare -pf env LD_PRELOAD='%s' FENCEDEP_OPTIONS=json_path=%s/r:log_path=%s/log "
			    "%s inversion >/dev/null 2>&1",
			    getenv("FENCEDEP_LIBRARY"), dir, dir, harness_prog("rel-hostile"));
		cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == FINDING_EXIT, "run %d: status %d", i, st);
	}
	cr_expect_eq(sh("test -f %s/r.1.json && test -f %s/r.1.1.json", dir, dir), 0,
		     "not two reports for pid 1");
	cr_expect_eq(sh("test $(cat %s/r.*.json | grep -c '\"kind\": \"lock-order-inversion\"') = 2",
			dir),
		     0, "both findings are not there");
	cr_expect_eq(sh("test $(cat %s/log.*.log | grep -c 'fencedep: lock-order-inversion:') = 2", dir), 0,
		     "both logs are not there");
	sh("rm -rf %s", dir);
}

/* ---- 6. report files in a shared directory ---- */

/*
 * In a sticky world-writable directory, files planted (by root, another
 * user) at every name the process is about to use: a log anyone may write
 * to, a "no findings" report at its JSON name, a FIFO at its temporary
 * file's name and at the next log name.  The process, run as nobody, writes
 * into none of them, blocks on none, and still leaves its finding in a
 * report and a log of its own, saying so in one line.
 */
Test(hostile, planted_report_files_are_never_written_or_opened)
{
	char dir[] = "/tmp/fdep-shared-XXXXXX";
	static const char fake[] = "{\"tool\": \"fencedep\", \"schema\": 1, \"version\": \"0\", "
				   "\"pid\": 1, \"argv\": [], \"findings\": [], \"classes\": [], "
				   "\"edges\": []}";

	if (geteuid() != 0)
		cr_skip_test("needs root to plant files as another user");
	if (sh("command -v setpriv >/dev/null 2>&1"))
		cr_skip_test("setpriv is not installed");
	cr_assert_not_null(mkdtemp(dir));
	/* the program and the runtime copied where nobody can reach them: the
	 * tree may be under a home of mode 0700 (/root) */
	cr_assert_eq(sh("chmod 1777 %s && cp '%s' %s/prog && cp '%s' %s/libfencedep.so && "
			"chmod 755 %s/prog %s/libfencedep.so",
			dir, harness_prog("rel-hostile"), dir, getenv("FENCEDEP_LIBRARY"), dir, dir,
			dir),
		     0);
	int st = sh("cd %s && printf 'attacker\\n' >log.$$.log && chmod 666 log.$$.log && "
		    "printf '%%s\\n' '%s' >r.$$.json && chmod 644 r.$$.json && "
		    "mkfifo -m 666 r.$$.json.tmp log.$$.1.log || exit 1; "
		    "{ sleep 30; kill -9 $$; } >/dev/null 2>&1 & exec setpriv --reuid=nobody --regid=nogroup --clear-groups "
		    "env LD_PRELOAD=%s/libfencedep.so FENCEDEP_OPTIONS=json_path=%s/r:log_path=%s/log "
		    "%s/prog inversion >out 2>err",
		    dir, fake, dir, dir, dir, dir);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == FINDING_EXIT, "status %d (137: it hung)", st);
	cr_expect_eq(sh("grep -qx done %s/out", dir), 0, "the program did not finish");
	/* the planted files are as they were (grep skips the FIFOs) */
	cr_expect_eq(sh("cd %s && for f in log.*.log; do if test -f $f && grep -q attacker $f; then "
			"test \"$(cat $f)\" = attacker || exit 1; fi; done",
			dir),
		     0, "the planted log was written to");
	cr_expect_eq(sh("cd %s && for f in r.*.json; do if test -f $f && grep -q '\"pid\": 1,' $f; then "
			"test \"$(cat $f)\" = '%s' || exit 1; fi; done",
			dir, fake),
		     0, "the planted report changed");
	/* and the process's own, owned by it, hold the finding */
	cr_expect_eq(sh("cd %s && test $(find . -name 'r.*.json' -user nobody | xargs cat | "
			"grep -c '\"kind\": \"lock-order-inversion\"') = 1",
			dir),
		     0, "no report of the process's own with its finding");
	cr_expect_eq(sh("cd %s && test $(find . -name 'log.*.log' -user nobody | xargs cat | "
			"grep -c 'fencedep: lock-order-inversion:') = 1",
			dir),
		     0, "no log of the process's own with its finding");
	cr_expect_eq(sh("test $(wc -l < %s/err) = 1 && grep -q 'is not this user' %s/err", dir, dir),
		     0, "not one line on stderr");
	sh("rm -rf %s", dir);
}

/* A FIFO at the log's name: the process neither blocks nor writes to it. */
Test(hostile, fifo_at_the_log_name_does_not_block)
{
	char dir[] = "/tmp/fdep-fifo-XXXXXX";

	cr_assert_not_null(mkdtemp(dir));
	int st = sh("cd %s && mkfifo log.$$.log r.$$.json || exit 1; "
		    "{ sleep 30; kill -9 $$; } >/dev/null 2>&1 & exec env LD_PRELOAD='%s' FENCEDEP_OPTIONS=json_path=%s/r:log_path=%s/log "
		    "%s inversion >out 2>err",
		    dir, getenv("FENCEDEP_LIBRARY"), dir, dir, harness_prog("rel-hostile"));
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == FINDING_EXIT, "status %d (137: it hung)", st);
	cr_expect_eq(sh("cd %s && test -p log.$(ls r.*.1.json | cut -d. -f2).log && cat log.*.1.log | grep -q "
			"lock-order-inversion: && cat r.*.1.json | grep -q lock-order-inversion",
			dir),
		     0, "the reports are not beside the FIFOs");
	sh("rm -rf %s", dir);
}

/* A fork child and its parent, the log's name reused by nothing: each
 * writes to its own log (and the parent goes on in the log it made). */
Test(hostile, log_reopened_is_the_one_created)
{
	struct harness_run r;

	run(NULL, ARGV("rel-fds", "closefrom"), &r);
	cr_expect_eq(count_in(r.log, "fencedep: lock-order-inversion:"), 2, "log:\n%s", r.log);
	cr_expect_eq(r.status, FINDING_EXIT, "status %d", r.status);
	harness_free(&r);
}

/* ---- 5. the watchdog: no false hang ---- */

static void expect_hangs(const char *opts, char *const argv[], int hangs)
{
	struct harness_run r;

	run(opts, argv, &r);
	cr_expect_str_eq(r.out, "done\n", "%s: stderr: %s", argv[1], r.err);
	cr_expect_eq(harness_count(r.json, "hang"), hangs, "%s %s:\n%s", argv[1], opts, r.log);
	cr_expect_eq(harness_findings(r.json), hangs, "%s %s:\n%s", argv[1], opts, r.log);
	cr_expect_eq(r.status, hangs ? FINDING_EXIT : 0, "%s: status %d", argv[1], r.status);
	cr_expect_eq(count_in(r.log, "18446744"), 0, "a wrapped duration:\n%s", r.log);
	harness_free(&r);
}

/* Four threads hand a token around under watchdog=1, ten runs of 1.5 s:
 * waits begin while the monitor looks, never a hang (4 runs in 5 were
 * one, with a duration of 18446744073.7 s). */
Test(hostile, condvar_pingpong_under_watchdog_is_never_a_hang)
{
	for (int i = 0; i < 10; i++)
		expect_hangs("watchdog=1", ARGV("rel-hostile", "pingpong", "4", "1500"), 0);
}

/* An idle worker waiting 2.5 s for work, holding nothing, while the main
 * thread runs (sleeps outside tracked waits): not a hang at watchdog=1. */
Test(hostile, idle_worker_waiting_for_work_is_not_a_hang)
{
	expect_hangs("watchdog=1", ARGV("rel-hostile", "idle-waiter", "2500"), 0);
}

/* Every thread waits on a condition no one signals: a hang. */
Test(hostile, every_thread_in_a_condition_wait_is_a_hang)
{
	expect_hangs("watchdog=1", ARGV("rel-hostile", "stalled", "3000"), 1);
}

/* A waiter that holds a lock through a long condition wait: a hang, even
 * with another thread free to run. */
Test(hostile, condition_wait_holding_a_lock_is_a_hang)
{
	expect_hangs("watchdog=1", ARGV("rel-hostile", "waits-holding", "3000"), 1);
}

/* The clean VM_BIND model, four threads, under watchdog=2 (2 runs in 8
 * reported a hang). */
Test(hostile, vmbind_model_under_watchdog_is_clean, .timeout = 120)
{
	char stress[4096];

	snprintf(stress, sizeof(stress), "%s/../../src/vmbind/vmbind-stress", harness_prog("."));
	if (access(stress, X_OK))
		cr_skip_test("no %s", stress);
	for (int i = 0; i < 2; i++) {
		struct harness_run r;
		run("watchdog=2", ARGV(stress, "--threads", "4", "--seconds", "5"), &r);
		cr_expect_eq(harness_findings(r.json), 0, "run %d:\n%s", i, r.log);
		cr_expect_eq(r.status, 0, "run %d: status %d\n%s", i, r.status, r.err);
		harness_free(&r);
	}
}

/* ---- 4. out of memory after a finding ---- */

/* The runtime runs out of memory and turns itself off after a finding:
 * the finding is in the report and still sets the exit status. */
Test(hostile, out_of_memory_after_a_finding_keeps_it_and_the_status)
{
	struct harness_run r;

	run(NULL, ARGV("rel-hostile", "oom-after-finding"), &r);
	cr_expect_str_eq(r.out, "found\ndone\n", "stderr: %s", r.err);
	cr_expect_eq(count_in(r.err, "out of memory"), 1, "stderr:\n%s", r.err);
	cr_expect_eq(harness_count(r.json, "lock-order-inversion"), 1, "%s", r.json);
	cr_expect_eq(r.status, FINDING_EXIT, "status %d\nstderr: %s", r.status, r.err);
	harness_free(&r);
}

/*
 * A 40-lock cycle closed after the program filled its address space: the
 * finding's stacks are named without libdw (which crashed there: SIGSEGV
 * in dwarf_getsrclines), by module and offset, and its text and JSON, each
 * larger than the runtime's biggest size class, come from the memory
 * reserved at start.  The finding is in both, and sets the status.
 */
Test(hostile, finding_made_out_of_memory_is_written_by_module_and_offset)
{
	struct harness_run r;

	run("stack_depth=32", ARGV("rel-hostile", "finding-out-of-memory", "40", "40"), &r);
	cr_expect_str_eq(r.out, "done\n", "stderr: %s", r.err);
	cr_expect_eq(harness_count(r.json, "lock-order-inversion"), 1, "%s", r.err);
	cr_expect_eq(count_in(r.json, "\"cycle_length\": 40"), 1, "%s", r.err);
	cr_expect_eq(count_in(r.log, "fencedep: lock-order-inversion:"), 1, "%s", r.err);
	cr_expect_gt(count_in(r.json, "rel-hostile\", \"offset\": \"0x"), 40, "%s", r.err);
	cr_expect_eq(r.status, FINDING_EXIT, "status %d\nstderr: %s", r.status, r.err);
	harness_free(&r);
}

/* A two-lock cycle there, the smallest finding: no crash in symbolising. */
Test(hostile, small_finding_made_out_of_memory_is_written)
{
	struct harness_run r;

	run(NULL, ARGV("rel-hostile", "finding-out-of-memory", "2", "0"), &r);
	cr_expect_str_eq(r.out, "done\n", "stderr: %s", r.err);
	cr_expect_eq(harness_count(r.json, "lock-order-inversion"), 1, "%s", r.err);
	cr_expect_gt(count_in(r.json, "rel-hostile\", \"offset\": \"0x"), 1, "%s", r.err);
	cr_expect_eq(r.status, FINDING_EXIT, "status %d\nstderr: %s", r.status, r.err);
	harness_free(&r);
}

/* The clean twin: the ring closed in order after memory ran out. */
Test(hostile, ring_in_order_out_of_memory_is_clean)
{
	struct harness_run r;

	run("stack_depth=32", ARGV("rel-hostile", "finding-out-of-memory", "40", "40", "clean"), &r);
	cr_expect_str_eq(r.out, "done\n", "stderr: %s", r.err);
	cr_expect_eq(harness_findings(r.json), 0, "%s", r.log);
	cr_expect_eq(r.status, 0, "status %d\nstderr: %s", r.status, r.err);
	harness_free(&r);
}

/* ---- 13. the chain cache is bounded ---- */

/* The "peak <kB>" line of a rel-hostile memory case, run under the runtime
 * (checked) or natively. */
static long peak_of(int checked, const char *opts, char *const argv[], struct harness_run *r)
{
	long kb = -1;
	double limit = harness_timeout_s;

	harness_timeout_s = 60;
	cr_assert_eq(harness_run_opts(checked, opts, argv, r), 0, "cannot start %s", argv[0]);
	harness_timeout_s = limit;
	const char *p = strstr(r->out, "peak ");
	if (p)
		kb = strtol(p + 5, NULL, 10);
	cr_assert_gt(kb, 0, "no peak line: out %s\nstderr: %s", r->out, r->err);
	return kb;
}

/*
 * An acyclic stress of the chain cache: 20 locks always taken in one order,
 * every one of their 2^20 subsets in turn: a million chains over 190 edges.
 * The cache kept every key (36 MB of tables at the peak here, 530 MB after
 * a minute of such a program); bounded, it costs at most 8 MiB of tables,
 * and the run is clean.
 */
Test(hostile, chain_cache_of_a_million_chains_is_bounded)
{
	struct harness_run r, native;
	long base = peak_of(0, NULL, ARGV("rel-hostile", "chains", "20"), &native);
	long peak = peak_of(1, NULL, ARGV("rel-hostile", "chains", "20"), &r);

	cr_expect_eq(r.status, 0, "status %d\nstderr: %s", r.status, r.err);
	cr_expect_eq(harness_findings(r.json), 0, "%s", r.log);
	cr_expect_lt(peak - base, 16 * 1024, "peak RSS %ld kB over native (%ld kB)", peak - base,
		     base);
	harness_free(&r);
	harness_free(&native);
}

/* ---- issue 22: dead lock classes leave ---- */

/*
 * A million per-request heap mutexes, each taken under one static lock,
 * then destroyed and freed.  Each left its class behind (146 MB at the end
 * here); dead classes are now evicted in batches, and the process stays
 * within a few MiB of its native size whatever the count.
 */
Test(hostile, million_dead_lock_classes_are_bounded)
{
	struct harness_run r, native;
	long base = peak_of(0, NULL, ARGV("rel-hostile", "churn", "1000000"), &native);
	long peak = peak_of(1, NULL, ARGV("rel-hostile", "churn", "1000000"), &r);

	cr_expect_eq(r.status, 0, "status %d\nstderr: %s", r.status, r.err);
	cr_expect_eq(harness_findings(r.json), 0, "%s", r.log);
	cr_expect_lt(peak - base, 16 * 1024, "peak RSS %ld kB over native (%ld kB)", peak - base,
		     base);
	harness_free(&r);
	harness_free(&native);
}

/*
 * Eviction loses no real inversion: after a million dead classes, an order
 * taken before the churn is inverted after it, and two heap locks made
 * after it (in the records, ids and places in the order of dead classes)
 * are taken both ways: two lock-order inversions, and the finding status.
 */
Test(hostile, inversions_after_a_million_dead_classes_are_reported)
{
	struct harness_run r;

	run(NULL, ARGV("rel-hostile", "churn", "1000000", "invert"), &r);
	cr_expect_eq(harness_count(r.json, "lock-order-inversion"), 2, "%s", r.log);
	cr_expect_eq(harness_findings(r.json), 2, "%s", r.log);
	cr_expect_eq(r.status, FINDING_EXIT, "status %d\nstderr: %s", r.status, r.err);
	harness_free(&r);
}

/* ---- 6. a report write that fails after the first finding ---- */

/*
 * A finding is written, then files are limited to 1 KiB (RLIMIT_FSIZE, as
 * a full disk): the second finding reaches neither the JSON report nor
 * the log.  Each is said once on stderr; the first finding stays in the
 * report, and the exit status is the finding status.
 */
Test(hostile, report_write_failing_after_a_finding_keeps_the_status)
{
	struct harness_run r;

	run(NULL, ARGV("rel-hostile", "fsize-after-finding", "1024"), &r);
	cr_expect_str_eq(r.out, "found\ndone\n", "stderr: %s", r.err);
	cr_expect_eq(harness_count(r.json, "lock-order-inversion"), 1, "%s", r.json);
	cr_expect_eq(count_in(r.err, "cannot write the JSON report"), 1, "stderr:\n%s", r.err);
	cr_expect_eq(count_in(r.err, "cannot write the log"), 1, "stderr:\n%s", r.err);
	cr_expect_eq(r.status, FINDING_EXIT, "status %d\nstderr: %s", r.status, r.err);
	harness_free(&r);
}

/* The same with exitcode=0 (findings do not set the status, a gate reads
 * the reports): the report lacks a finding, so the status is 2, not 0. */
Test(hostile, report_write_failing_with_exitcode_0_is_status_2)
{
	struct harness_run r;

	run("exitcode=0", ARGV("rel-hostile", "fsize-after-finding", "1024"), &r);
	cr_expect_str_eq(r.out, "found\ndone\n", "stderr: %s", r.err);
	cr_expect_eq(harness_count(r.json, "lock-order-inversion"), 1, "%s", r.json);
	cr_expect_eq(r.status, 2, "status %d\nstderr: %s", r.status, r.err);
	harness_free(&r);
}

/* The clean twin: a limit the reports fit in; both findings are written,
 * nothing is said, and exitcode=0 leaves the program's own status. */
Test(hostile, report_writes_within_the_file_limit_keep_status_0)
{
	struct harness_run r;

	run("exitcode=0", ARGV("rel-hostile", "fsize-after-finding", "8388608"), &r);
	cr_expect_str_eq(r.out, "found\ndone\n", "stderr: %s", r.err);
	cr_expect_eq(harness_count(r.json, "lock-order-inversion"), 2, "%s", r.json);
	cr_expect_str_eq(r.err, "", "stderr: %s", r.err);
	cr_expect_eq(r.status, 0, "status %d\nstderr: %s", r.status, r.err);
	harness_free(&r);
}
