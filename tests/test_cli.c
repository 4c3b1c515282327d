/*
 * test_cli.c - the fencedep command: running a program under the checker,
 * its exit status, its options and its errors.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"

static const char *cli(void)
{
	const char *p = getenv("FDEP_CLI");
	return p ? p : "src/cli/fencedep";
}

/* Run the command natively (it sets up the preload itself). */
static struct harness_run run(char **argv)
{
	struct harness_run r;

	argv[0] = (char *)cli();
	cr_assert_eq(harness_run_opts(0, NULL, argv, &r), 0);
	return r;
}

static char script_path[4096];

static char *script_prog(void)
{
	snprintf(script_path, sizeof(script_path), "%s", harness_prog("fdep-script"));
	return script_path;
}

Test(cli, runs_program_under_checker_and_exits_66_on_finding)
{
	char *argv[] = { NULL, "--", script_prog(), "+A", "+B", "-B", "-A", "+B", "+A", "-A", "-B", NULL };
	struct harness_run r = run(argv);

	cr_expect_eq(r.status, 66);
	cr_expect_str_eq(r.out, "done\n", "the program's own output is untouched");
	cr_expect(strstr(r.err, "fencedep: lock-order-inversion"), "%s", r.err);
	harness_free(&r);
}

Test(cli, clean_program_keeps_its_exit_status)
{
	char *argv[] = { NULL, script_prog(), "+A", "+B", "-B", "-A", NULL };
	struct harness_run r = run(argv);

	cr_expect_eq(r.status, 0);
	cr_expect_str_eq(r.err, "");
	harness_free(&r);
}

Test(cli, suppressions_option_hides_matching_findings)
{
	char path[] = "/tmp/fdep-cli-sup-XXXXXX";
	int fd = mkstemp(path);
	FILE *f;

	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	fputs("lock-order-inversion:B\n", f);
	fclose(f);
	char *spaced[] = { NULL, "--suppressions", path, script_prog(), "+A", "+B", "-B", "-A",
			   "+B", "+A", "-A", "-B", NULL };
	struct harness_run r = run(spaced);
	char opt[64];

	cr_expect_eq(r.status, 0, "%s", r.err);
	cr_expect_str_eq(r.err, "");
	cr_expect_str_eq(r.out, "done\n");
	harness_free(&r);
	snprintf(opt, sizeof(opt), "--suppressions=%s", path);
	char *joined[] = { NULL, opt, script_prog(), "+A", "+B", "-B", "-A", "+B", "+A", "-A",
			   "-B", NULL };
	r = run(joined);
	cr_expect_eq(r.status, 0, "%s", r.err);
	harness_free(&r);
	/* a rule that matches nothing leaves the finding */
	f = fopen(path, "w");
	fputs("lock-order-inversion:no_such_lock\n", f);
	fclose(f);
	r = run(spaced);
	cr_expect_eq(r.status, 66);
	harness_free(&r);
	unlink(path);
}

Test(cli, error_exitcode_sets_the_status)
{
	char *argv[] = { NULL, "--error-exitcode=9", script_prog(), "+A", "+A", "-A", "-A", NULL };
	struct harness_run r = run(argv);

	cr_expect_eq(r.status, 9);
	harness_free(&r);
}

Test(cli, error_exitcode_zero_disables_it)
{
	char *argv[] = { NULL, "--error-exitcode=0", script_prog(), "+A", "+A", "-A", "-A", NULL };
	struct harness_run r = run(argv);

	cr_expect_eq(r.status, 0);
	cr_expect(strstr(r.err, "recursive-locking"), "%s", r.err);
	harness_free(&r);
}

Test(cli, json_path_writes_a_report_per_process)
{
	char dir[] = "/tmp/fdep-cli-XXXXXX", opt[128], cmd[256];

	cr_assert(mkdtemp(dir));
	snprintf(opt, sizeof(opt), "--json-path=%s/rep", dir);
	char *argv[] = { NULL, opt, script_prog(), "+A", "+A", "-A", "-A", NULL };
	struct harness_run r = run(argv);
	snprintf(cmd, sizeof(cmd), "grep -l '\"kind\": \"recursive-locking\"' %s/rep.*.json >/dev/null", dir);
	cr_expect_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
	harness_free(&r);
}

Test(cli, unknown_flag_is_an_error)
{
	char *argv[] = { NULL, "--frobnicate", script_prog(), NULL };
	struct harness_run r = run(argv);

	cr_expect_eq(r.status, 2);
	cr_expect(strstr(r.err, "--frobnicate"), "%s", r.err);
	harness_free(&r);
}

Test(cli, missing_program_is_an_error)
{
	char *argv[] = { NULL, NULL };
	struct harness_run r = run(argv);

	cr_expect_eq(r.status, 2);
	cr_expect(strstr(r.err, "no program"), "%s", r.err);
	harness_free(&r);
}

Test(cli, program_not_found_is_127)
{
	char *argv[] = { NULL, "/nonexistent/prog", NULL };
	struct harness_run r = run(argv);

	cr_expect_eq(r.status, 127);
	cr_expect(strstr(r.err, "/nonexistent/prog"), "%s", r.err);
	harness_free(&r);
}

Test(cli, bad_error_exitcode_is_an_error)
{
	char *argv[] = { NULL, "--error-exitcode=x", script_prog(), NULL };
	struct harness_run r = run(argv);

	cr_expect_eq(r.status, 2);
	harness_free(&r);
}

Test(cli, bad_runtime_option_stops_the_program_with_2)
{
	char *argv[] = { NULL, "--options=classes=bogus", script_prog(), "+A", "-A", NULL };
	struct harness_run r = run(argv);

	cr_expect_eq(r.status, 2);
	cr_expect(strstr(r.err, "classes"), "%s", r.err);
	cr_expect_str_eq(r.out, "");
	harness_free(&r);
}

Test(cli, help_lists_every_runtime_option)
{
	const char *opts[] = { "log_path", "json_path", "exitcode", "classes", "suppressions", "prime",
			       "watchdog", "abort_on_report", "stack_depth", "verbosity", "gate_locks",
			       "dump_signal" };
	char *argv[] = { NULL, "--help", NULL };
	struct harness_run r = run(argv);

	cr_expect_eq(r.status, 0);
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		cr_expect(strstr(r.out, opts[i]), "--help lacks %s", opts[i]);
	harness_free(&r);
}
