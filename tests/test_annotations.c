/*
 * test_annotations.c - the lock half of the annotation API end to end:
 * each kind with its clean twin, the JSON and text reports, the exit
 * status, options, and an annotated program run without the runtime.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <unistd.h>

#include "script.h"


Test(annotations, relocking_a_held_lock_is_recursive_locking)
{
	expect("+A +A -A -A", "recursive-locking", 1);
}

Test(annotations, recursive_reader_relock_is_silent)
{
	expect("+A:r +A:r -A -A", "recursive-locking", 0);
}

Test(annotations, releasing_what_is_not_held_is_bad_unlock_balance)
{
	expect("+A -A -A", "bad-unlock-balance", 1);
}

Test(annotations, balanced_release_is_silent)
{
	expect("+A +B -A -B", "bad-unlock-balance", 0);
}

Test(annotations, assert_held_without_the_lock_fails)
{
	expect("held:A", "assertion-failed", 1);
}

Test(annotations, assert_held_with_the_lock_passes)
{
	expect("+A held:A -A", "assertion-failed", 0);
}

Test(annotations, assert_not_held_with_the_lock_fails)
{
	expect("+A notheld:A -A", "assertion-failed", 1);
}

Test(annotations, assert_not_held_without_the_lock_passes)
{
	expect("+A -A notheld:A", "assertion-failed", 0);
}

Test(annotations, identical_findings_are_reported_once_and_counted)
{
	struct harness_run r = script("+A +B -B -A +B +A -A -B +B +A -A -B");

	cr_expect_eq(harness_count(r.json, "lock-order-inversion"), 1);
	cr_expect(strstr(r.json, "\"count\": 1") != NULL || strstr(r.json, "\"count\": 2") != NULL);
	harness_free(&r);
}

Test(annotations, text_report_is_lockdep_style)
{
	struct harness_run r = script("+A +B -B -A +B +A -A -B");

	/* the first line: the kind, the classes and the place, to grep */
	cr_expect(strstr(r.log, "\nfencedep: lock-order-inversion: possible circular locking "
				"dependency: B -> A -> B at /"),
		  "%s", r.log);
	cr_expect(strstr(r.log, "/tests/progs/fdep-script.c:"), "%s", r.log);
	cr_expect(strstr(r.log, "A -(EN)-> B"), "%s", r.log);
	cr_expect(strstr(r.log, "B -(EN)-> A"), "%s", r.log);
	cr_expect(strstr(r.log, "possible unsafe scenario"), "%s", r.log);
	cr_expect(strstr(r.log, "*** DEADLOCK ***"), "%s", r.log);
	cr_expect(strstr(r.log, "fdep-script.c:"), "stacks carry file:line: %s", r.log);
	harness_free(&r);
}

/* Class names with escape sequences and bytes that are not UTF-8. */
Test(annotations, hostile_names_are_sanitised_in_text_and_json)
{
	struct harness_run r = script("+A\x1b]0;owned\x07 +B\xff\xfe -B\xff\xfe -A\x1b]0;owned\x07 "
				      "+B\xff\xfe +A\x1b]0;owned\x07 -A\x1b]0;owned\x07 -B\xff\xfe");
	const char *p;

	cr_assert_not_null(strstr(r.log, "lock-order-inversion"), "%s", r.log);
	cr_expect_null(strchr(r.log, 0x1b), "ESC reached the log: %s", r.log);
	cr_expect_null(strchr(r.log, 0x07), "BEL reached the log");
	cr_expect_not_null(strstr(r.log, "A\\x1b]0;owned\\x07"), "%s", r.log);
	cr_expect_not_null(strstr(r.log, "B\\xff\\xfe"), "%s", r.log);
	for (p = r.json; *p; p++)
		cr_assert_lt((unsigned char)*p, 0x80, "a raw byte 0x%02x in the JSON",
			     (unsigned char)*p);
	cr_expect_not_null(strstr(r.json, "\"B\\ufffd\\ufffd\""), "%s", r.json);
	cr_expect_not_null(strstr(r.json, "\"A\\u001b]0;owned\\u0007\""), "%s", r.json);
	harness_free(&r);
}

/* A newline in a name would start a report line of its own: a forged
 * SUMMARY or suppression line.  In the text it is \x0a, in the JSON \u000a. */
Test(annotations, newlines_in_names_do_not_start_report_lines)
{
	struct harness_run r = script("+A\nSUMMARY-forged +B -B -A\nSUMMARY-forged "
				      "+B +A\nSUMMARY-forged -A\nSUMMARY-forged -B");

	cr_assert_not_null(strstr(r.log, "lock-order-inversion"), "%s", r.log);
	cr_expect_null(strstr(r.log, "\nSUMMARY-forged"), "%s", r.log);
	cr_expect_not_null(strstr(r.log, "A\\x0aSUMMARY-forged -(EN)-> B"), "%s", r.log);
	cr_expect_not_null(strstr(r.log, "\nSUMMARY: fencedep: lock-order-inversion "), "%s", r.log);
	cr_expect_not_null(strstr(r.json, "\"A\\u000aSUMMARY-forged\""), "%s", r.json);
	harness_free(&r);
}

Test(annotations, text_report_ends_with_summary_and_a_suppression_that_works)
{
	struct harness_run r = script("+A +B -B -A +B +A -A -B"), s;
	const char *sum = strstr(r.log, "\nSUMMARY: fencedep: lock-order-inversion B -> A -> B /");
	const char *line = strstr(r.log, "\nsuppress it with the line: lock-order-inversion:fingerprint:");
	char rule[128], path[] = "/tmp/fdep-sup-XXXXXX", opts[256];
	FILE *f;
	int fd;

	cr_assert_not_null(sum, "%s", r.log);
	cr_expect_not_null(strstr(sum, "fdep-script.c:"), "%s", sum);
	cr_assert_not_null(line, "%s", r.log);
	cr_assert_eq(sscanf(line, "\nsuppress it with the line: %127s", rule), 1);
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	fprintf(f, "%s\n", rule);
	fclose(f);
	snprintf(opts, sizeof(opts), "suppressions=%s", path);
	s = script_opts(1, opts, "+A +B -B -A +B +A -A -B");
	cr_expect_eq(s.status, 0, "the pasted line suppresses it: %s", s.log);
	cr_expect_null(strstr(s.log, "lock-order-inversion"), "%s", s.log);
	unlink(path);
	harness_free(&r);
	harness_free(&s);
}

Test(annotations, text_report_hides_thread_start_frames_unless_verbose)
{
	struct harness_run r = script("spawn +A +B -B -A join spawn +B +A -A -B join");
	struct harness_run v = script_opts(1, "verbosity=3",
					   "spawn +A +B -B -A join spawn +B +A -A -B join");

	cr_assert_not_null(strstr(r.log, "lock-order-inversion"), "%s", r.log);
	cr_expect_null(strstr(r.log, "start_thread"), "%s", r.log);
	cr_expect_null(strstr(r.log, "thread_start"), "%s", r.log);
	cr_expect_null(strstr(r.log, "clone"), "%s", r.log);
	/* named or not (without libc6-dbg the C library's are "??") */
	cr_expect_null(strstr(r.log, "libc.so.6+"), "%s", r.log);
	cr_expect_not_null(strstr(v.log, "thread_start"), "%s", v.log);
	cr_expect_not_null(strstr(v.log, "libc.so.6+"), "%s", v.log);
	harness_free(&r);
	harness_free(&v);
}

Test(annotations, chain_of_three_and_paths_joined_with_the_compile_directory)
{
	struct harness_run r = script("+A +B -B -A +B +C -C -B +C +A -A -C");

	cr_assert_not_null(strstr(r.log, "Chain exists of:\n    "), "%s", r.log);
	cr_expect_not_null(strstr(r.log, "A --> "), "%s", r.log);
	/* the program is built out of tree: DWARF has ../tests/progs/fdep-script.c */
	cr_expect_null(strstr(r.log, " ../tests/"), "relative path in: %s", r.log);
	cr_expect_null(strstr(r.json, "\"file\": \"../tests/"), "relative path in: %s", r.json);
	cr_expect_not_null(strstr(r.json, "/tests/progs/fdep-script.c\""), "%s", r.json);
	harness_free(&r);
}

Test(annotations, held_lock_frames_keep_file_and_line_in_json)
{
	struct harness_run r = script("+A +B -B -A +B +A -A -B");
	const char *held = strstr(r.json, "\"held\": [{\"class\": ");

	cr_assert_not_null(held, "%s", r.json);
	cr_expect(strstr(held, "\"file\": \"") && strstr(held, "\"line\": ") &&
		  strstr(held, "\"file\": \"") < strstr(held, "],\n"),
		  "a held lock's frame has file and line: %.400s", held);
	harness_free(&r);
}

Test(annotations, color_always_colours_the_log_and_auto_leaves_files_alone)
{
	struct harness_run c = script_opts(1, "color=always", "+A +B -B -A +B +A -A -B");
	struct harness_run a = script("+A +B -B -A +B +A -A -B");

	cr_expect_not_null(strstr(c.log, "\033[1;31mfencedep: lock-order-inversion:"), "%s", c.log);
	cr_expect_not_null(strstr(c.log, "\033[1mSUMMARY: fencedep:"), "%s", c.log);
	cr_expect_null(strchr(a.log, '\033'), "a log file is not a terminal: %s", a.log);
	harness_free(&c);
	harness_free(&a);
}

Test(annotations, help_option_prints_the_options_and_the_program_runs)
{
	struct harness_run r = script_opts(1, "help=1:verbosity=2", "+A -A");

	cr_expect_str_eq(r.out, "done\n");
	cr_expect_eq(r.status, 0);
	cr_expect_not_null(strstr(r.err, "fencedep: runtime options"), "%s", r.err);
	cr_expect_not_null(strstr(r.err, "  verbosity "), "%s", r.err);
	cr_expect_not_null(strstr(r.err, "(default 1, now 2)"), "%s", r.err);
	cr_expect_not_null(strstr(r.err, "  color "), "%s", r.err);
	harness_free(&r);
}

Test(annotations, print_suppressions_lists_the_rules_that_matched)
{
	char path[] = "/tmp/fdep-psup-XXXXXX", opts[256];
	int fd = mkstemp(path);
	struct harness_run r, quiet;
	FILE *f;

	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	fputs("# not this one\nhang:nothing\nlock-order-inversion:B\nrecursive-locking:C\n", f);
	fclose(f);
	snprintf(opts, sizeof(opts), "suppressions=%s:print_suppressions=1", path);
	r = script_opts(1, opts, "+A +B -B -A +B +A -A -B +C +C -C -C");
	cr_expect_eq(r.status, 0, "%s", r.log);
	cr_expect_not_null(strstr(r.log, "fencedep: suppressions used:\n"), "%s", r.log);
	cr_expect_not_null(strstr(r.log, "      1 lock-order-inversion:B (line 3)\n"), "%s", r.log);
	cr_expect_not_null(strstr(r.log, "      1 recursive-locking:C (line 4)\n"), "%s", r.log);
	cr_expect_null(strstr(r.log, "hang:nothing"), "a rule that hid nothing: %s", r.log);
	snprintf(opts, sizeof(opts), "suppressions=%s", path);
	quiet = script_opts(1, opts, "+A +B -B -A +B +A -A -B");
	cr_expect_null(strstr(quiet.log, "suppressions used"), "off by default: %s", quiet.log);
	unlink(path);
	harness_free(&r);
	harness_free(&quiet);
}

Test(annotations, json_report_follows_schema_1)
{
	struct harness_run r = script("+A +B -B -A +B +A -A -B");
	const char *keys[] = { "\"tool\": \"fencedep\"", "\"schema\": 1", "\"pid\": ", "\"argv\": [",
			       "\"findings\": [", "\"fingerprint\": \"", "\"cycle\": [",
			       "\"type\": \"EN\"", "\"classes\": [", "{\"name\": \"A\", \"kind\": \"map\"}",
			       "\"edges\": [", "\"stats\": {", "\"function\": \"", "\"line\": " };

	cr_expect_eq(r.nreports, 1);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		cr_expect(strstr(r.json, keys[i]), "missing %s in\n%s", keys[i], r.json);
	harness_free(&r);
}

Test(annotations, json_is_valid_for_jq)
{
	const char *tmp = getenv("TMPDIR");
	char dir[256], cmd[512];

	if (system("command -v jq >/dev/null 2>&1"))
		cr_skip_test("jq is not installed");
	snprintf(dir, sizeof(dir), "%s/fdep-jq-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	cr_assert(mkdtemp(dir));
	struct harness_run r = script("+A +B -B -A +B +A -A -B");
	snprintf(cmd, sizeof(cmd), "%s/r.json", dir);
	FILE *f = fopen(cmd, "w");
	fputs(r.json, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "jq -e '.findings[0].kind == \"lock-order-inversion\" and (.edges|length) >= 2' %s/r.json >/dev/null",
		 dir);
	int st = system(cmd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		cr_log_warn("could not remove %s", dir);
	cr_expect_eq(st, 0);
	harness_free(&r);
}

Test(annotations, fingerprint_is_stable_across_runs)
{
	struct harness_run a = script("+A +B -B -A +B +A -A -B");
	struct harness_run b = script("+X +A +B -B -A -X +B +A -A -B");
	const char *pa = strstr(a.json, "\"fingerprint\": \""), *pb = strstr(b.json, "\"fingerprint\": \"");

	cr_assert(pa && pb);
	cr_expect_eq(strncmp(pa, pb, 32), 0, "same cycle, same fingerprint");
	harness_free(&a);
	harness_free(&b);
}

Test(annotations, exitcode_zero_leaves_the_status_alone)
{
	struct harness_run r = script_opts(1, "exitcode=0", "+A +B -B -A +B +A -A -B");

	cr_expect_eq(r.status, 0);
	cr_expect_eq(harness_count(r.json, "lock-order-inversion"), 1);
	harness_free(&r);
}

Test(annotations, exitcode_option_sets_the_status)
{
	struct harness_run r = script_opts(1, "exitcode=23", "+A +B -B -A +B +A -A -B");

	cr_expect_eq(r.status, 23);
	harness_free(&r);
}

Test(annotations, unknown_option_is_a_one_line_error_with_status_2)
{
	struct harness_run r = script_opts(1, "no_such_option=1", "+A -A");

	cr_expect_eq(r.status, 2);
	cr_expect(strstr(r.err, "no_such_option"), "%s", r.err);
	cr_expect_eq(strchr(r.err, '\n'), r.err + strlen(r.err) - 1, "one line: %s", r.err);
	cr_expect_str_eq(r.out, "", "the program did not run");
	harness_free(&r);
}

Test(annotations, bad_option_value_is_an_error)
{
	struct harness_run r = script_opts(1, "stack_depth=many", "+A -A");

	cr_expect_eq(r.status, 2);
	cr_expect(strstr(r.err, "stack_depth"), "%s", r.err);
	harness_free(&r);
}

Test(annotations, malformed_option_text_is_an_error)
{
	struct harness_run r = script_opts(1, "verbosity", "+A -A");

	cr_expect_eq(r.status, 2);
	cr_expect(strstr(r.err, "verbosity"), "%s", r.err);
	harness_free(&r);
}

Test(annotations, unreadable_suppressions_file_is_an_error)
{
	struct harness_run r = script_opts(1, "suppressions=/nonexistent/supp", "+A -A");

	cr_expect_eq(r.status, 2);
	cr_expect(strstr(r.err, "/nonexistent/supp"), "%s", r.err);
	harness_free(&r);
}

Test(annotations, suppressed_finding_is_not_reported)
{
	char path[] = "/tmp/fdep-supp-XXXXXX", opts[128];
	int fd = mkstemp(path);

	cr_assert(fd >= 0);
	cr_assert(write(fd, "lock-order-inversion:B\n", 23) == 23);
	close(fd);
	snprintf(opts, sizeof(opts), "suppressions=%s", path);
	struct harness_run r = script_opts(1, opts, "+A +B -B -A +B +A -A -B");
	cr_expect_eq(harness_findings(r.json), 0);
	cr_expect_eq(r.status, 0);
	harness_free(&r);
	r = script_opts(1, opts, "+A +A -A -A");
	cr_expect_eq(harness_count(r.json, "recursive-locking"), 1, "another kind is still reported");
	harness_free(&r);
	unlink(path);
}

Test(annotations, annotated_program_runs_without_the_runtime)
{
	struct harness_run r = script_opts(0, NULL, "+A +B -B -A +B +A -A -B publish:F alloc signal:F");

	cr_expect_eq(r.status, 0);
	cr_expect_str_eq(r.out, "done\n");
	cr_expect_eq(r.nreports, 0);
	harness_free(&r);
}

Test(annotations, verbosity_zero_writes_no_text_but_json)
{
	struct harness_run r = script_opts(1, "verbosity=0", "+A +B -B -A +B +A -A -B");

	cr_expect_eq(harness_count(r.json, "lock-order-inversion"), 1);
	cr_expect_str_eq(r.log, "");
	harness_free(&r);
}

Test(annotations, suppression_by_fingerprint_and_by_deep_frame)
{
	char path[] = "/tmp/fdep-supp-XXXXXX", opts[128];
	struct harness_run r = script("+A +B -B -A +B +A -A -B");
	const char *fp = strstr(r.json, "\"fingerprint\": \"");
	char rule[64];

	cr_assert(fp);
	snprintf(rule, sizeof(rule), "*:fingerprint:%.16s\n", fp + 16);
	harness_free(&r);
	int fd = mkstemp(path);
	cr_assert(write(fd, rule, strlen(rule)) == (ssize_t)strlen(rule));
	close(fd);
	snprintf(opts, sizeof(opts), "suppressions=%s", path);
	r = script_opts(1, opts, "+A +B -B -A +B +A -A -B");
	cr_expect_eq(harness_findings(r.json), 0, "suppressed by its fingerprint: %s", r.log);
	harness_free(&r);
	/* main is not the top frame of any stack: a deep frame matches too */
	fd = open(path, O_WRONLY | O_TRUNC);
	cr_assert(write(fd, "recursive-locking:main\n", 23) == 23);
	close(fd);
	r = script_opts(1, opts, "+A +A -A -A");
	cr_expect_eq(harness_findings(r.json), 0, "%s", r.log);
	harness_free(&r);
	unlink(path);
}

/* ---- the fast paths: spinning locks and ww acquire contexts ---- */

/*
 * annot-fast (tests/progs) takes its locks a few times, so that they are on
 * the annotation API's fast paths, then does the step that must be seen:
 * exactly n findings of that kind.
 */
static void fast_expect(const char *mode, const char *kind, int n)
{
	struct harness_run r;

	harness_timeout_s = 60;
	cr_assert_eq(harness_run(NULL, ((char *const[]){ "annot-fast", (char *)mode, NULL }), &r),
		     0, "cannot start annot-fast");
	harness_timeout_s = 0;
	cr_assert_str_eq(r.out, "done\n", "annot-fast %s ran: %s", mode, r.err);
	cr_expect_eq(harness_count(r.json, kind), n, "%s: %d x %s expected in\n%s", mode, n, kind,
		     r.log);
	cr_expect_eq(harness_findings(r.json), n, "%s: only %s expected in\n%s", mode, kind, r.log);
	cr_expect_eq(r.status, n ? 66 : 0, "%s", mode);
	harness_free(&r);
}

Test(annotations, sleeping_lock_in_a_fast_spinning_section_is_invalid_wait_context)
{
	fast_expect("spin-sleep", "invalid-wait-context", 1);
}

Test(annotations, sleeping_lock_after_a_fast_spinning_section_is_silent)
{
	fast_expect("spin-clean", "invalid-wait-context", 0);
}

Test(annotations, spinning_locks_nested_both_ways_on_the_fast_path_report_inversion)
{
	fast_expect("spin-abba", "lock-order-inversion", 1);
}

Test(annotations, spinning_locks_nested_one_way_on_the_fast_path_are_silent)
{
	fast_expect("spin-same", "lock-order-inversion", 0);
}

Test(annotations, plain_locks_nested_both_ways_on_the_fast_path_report_inversion)
{
	fast_expect("lock-abba", "lock-order-inversion", 1);
}

Test(annotations, plain_locks_nested_one_way_on_the_fast_path_are_silent)
{
	fast_expect("lock-same", "lock-order-inversion", 0);
}

Test(annotations, locks_named_by_one_thread_nested_both_ways_by_another_report_inversion)
{
	fast_expect("thread-abba", "lock-order-inversion", 1);
}

Test(annotations, locks_named_by_one_thread_nested_one_way_by_another_are_silent)
{
	fast_expect("thread-same", "lock-order-inversion", 0);
}

Test(annotations, lock_before_a_fast_ww_transaction_that_takes_it_inside_is_inversion)
{
	fast_expect("ww-abba", "lock-order-inversion", 1);
}

Test(annotations, lock_always_inside_fast_ww_transactions_is_silent)
{
	fast_expect("ww-same", "lock-order-inversion", 0);
}

Test(annotations, locking_on_after_edeadlk_in_a_fast_ww_transaction_is_a_violation)
{
	fast_expect("ww-edeadlk", "ww-protocol-violation", 1);
}

Test(annotations, backing_off_after_edeadlk_in_a_fast_ww_transaction_is_silent)
{
	fast_expect("ww-backoff", "ww-protocol-violation", 0);
}

Test(annotations, allocation_in_a_fast_spinning_section_is_invalid_wait_context)
{
	fast_expect("alloc-spin", "invalid-wait-context", 1);
}

Test(annotations, allocation_after_a_fast_spinning_section_is_silent)
{
	fast_expect("alloc-clean", "invalid-wait-context", 0);
}

Test(annotations, assertion_after_release_fails_after_ones_that_held)
{
	fast_expect("assert-held", "assertion-failed", 1);
}

Test(annotations, assertions_while_held_are_silent)
{
	fast_expect("assert-clean", "assertion-failed", 0);
}
