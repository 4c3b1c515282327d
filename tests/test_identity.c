/*
 * test_identity.c - what names a lock and a finding: class names by init
 * site (line, module and offset), the names `fencedep report` merges across
 * processes, init sites behind wrappers, fingerprints, and the prediction
 * across objects of one type.  Each scenario against its clean twin.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define ARGV(...) ((char *const[]){ __VA_ARGS__, NULL })

static void run(const char *opts, char *const argv[], struct harness_run *r)
{
	harness_timeout_s = 30;
	int rc = harness_run(opts, argv, r);
	harness_timeout_s = 0;
	cr_assert_eq(rc, 0, "cannot start %s", argv[0]);
	cr_assert_neq(r->status, 128 + SIGKILL, "%s hung", argv[0]);
}

/* Exactly n findings, all of kind. */
static void expect_findings(const struct harness_run *r, const char *kind, int n)
{
	cr_expect_eq(harness_count(r->json, kind), n, "expected %d %s, got %d\n%s", n, kind,
		     harness_count(r->json, kind), r->log);
	cr_expect_eq(harness_findings(r->json), n, "expected %d findings in all\n%s", n, r->log);
	cr_expect_eq(r->status, n ? 66 : 0, "exit status %d\nstderr: %s", r->status, r->err);
}

/* The n-th fingerprint in json (16 hex digits), into fp. */
static void fingerprint_at(const char *json, int n, char fp[17])
{
	const char *p = json;

	for (int i = 0; i <= n; i++) {
		p = strstr(p, "\"fingerprint\": \"");
		cr_assert(p, "no finding %d in\n%s", n, json);
		p += 16;
	}
	memcpy(fp, p, 16);
	fp[16] = 0;
}

/* The names of the classes section, one per "name": entry, counted. */
static int count_str(const char *s, const char *what)
{
	int n = 0;

	for (const char *p = s; (p = strstr(p, what)); p++)
		n++;
	return n;
}

/* ---- 1: a name per init site ---- */

Test(identity, locks_made_at_different_lines_of_one_function_are_two_findings)
{
	struct harness_run r;
	char a[17], b[17];

	/* a, b, c, d made at four lines of main: a-b inverted, then c-d */
	run("classes=site", ARGV("sites", "two"), &r);
	expect_findings(&r, "lock-order-inversion", 2);
	cr_expect(!strstr(r.json, "\"count\": 2"), "two findings, not one counted twice\n%s", r.log);
	fingerprint_at(r.json, 0, a);
	fingerprint_at(r.json, 1, b);
	cr_expect_str_neq(a, b);
	/* the name says the line: unique per site, the same from run to run */
	cr_expect_eq(count_str(r.json, "{\"name\": \"mutex@main:"), 4, "%s", r.json);
	harness_free(&r);

	run(NULL, ARGV("sites", "two"), &r);
	expect_findings(&r, "lock-order-inversion", 2);
	cr_expect_eq(count_str(r.json, "{\"name\": \"mutex@main:"), 4, "%s", r.json);
	cr_expect(strstr(r.json, "#1\""), "a rank after the line: %s", r.json);
	harness_free(&r);
}

Test(identity, locks_made_at_different_lines_in_one_order_are_silent)
{
	struct harness_run r;

	run("classes=site", ARGV("sites", "two-clean"), &r);
	expect_findings(&r, "lock-order-inversion", 0);
	harness_free(&r);
}

/* ---- 2: stripped programs ---- */

/* The name of the first class that is not a built-in or primed one. */
static void class_names(const char *json, char *out, size_t len)
{
	const char *p = strstr(json, "\"classes\": [");
	size_t n = 0;

	out[0] = 0;
	while (p && (p = strstr(p, "{\"name\": \""))) {
		p += 10;
		const char *e = strchr(p, '"');
		if (!e)
			break;
		if (n + (size_t)(e - p) + 2 < len) {
			memcpy(out + n, p, (size_t)(e - p));
			n += (size_t)(e - p);
			out[n++] = ' ';
			out[n] = 0;
		}
	}
}

Test(identity, stripped_static_locks_are_named_by_module_and_offset)
{
	struct harness_run s1, s2;
	char n1[512], n2[512], f1[17], f2[17];

	/* one source, two stripped programs */
	run(NULL, ARGV("static-locks-s1", "bug"), &s1);
	run(NULL, ARGV("static-locks-s2", "bug"), &s2);
	expect_findings(&s1, "lock-order-inversion", 1);
	expect_findings(&s2, "lock-order-inversion", 1);
	class_names(s1.json, n1, sizeof(n1));
	class_names(s2.json, n2, sizeof(n2));
	cr_expect(strstr(n1, "mutex@static-locks-s1+0x"), "%s", n1);
	cr_expect(!strstr(n1, "?"), "never '?': %s", n1);
	cr_expect(strstr(n2, "mutex@static-locks-s2+0x"), "%s", n2);
	fingerprint_at(s1.json, 0, f1);
	fingerprint_at(s2.json, 0, f2);
	cr_expect_str_neq(f1, f2, "two programs, two fingerprints");
	harness_free(&s1);
	harness_free(&s2);
}

Test(identity, stripped_static_locks_in_one_order_are_silent)
{
	struct harness_run r;

	run(NULL, ARGV("static-locks-s1", "clean"), &r);
	expect_findings(&r, "lock-order-inversion", 0);
	harness_free(&r);
}

/* ---- 4: what `fencedep report` merges ---- */

/* `fencedep report -f json` over the reports of two runs; its status. */
static int merge_two(const struct harness_run *a, const struct harness_run *b, char **out)
{
	char dir[] = "/tmp/fdep-identity-XXXXXX", path[128], cmd[512];
	const char *cli = getenv("FDEP_CLI");
	FILE *f;

	cr_assert(cli && mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/both.json", dir);
	f = fopen(path, "w");
	cr_assert(f);
	fputs(a->json, f);
	fputs(b->json, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "'%s' report -f json '%s' 2>&1", cli, path);
	FILE *p = popen(cmd, "r");
	cr_assert(p);
	size_t cap = 1 << 20, n = 0;
	char *buf = malloc(cap);
	size_t got;
	while ((got = fread(buf + n, 1, cap - n - 1, p)) > 0)
		n += got;
	buf[n] = 0;
	int status = pclose(p);
	unlink(path);
	rmdir(dir);
	*out = buf;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(identity, report_does_not_merge_ranks_or_lines_into_a_false_cycle)
{
	struct harness_run a, b;
	char *out;

	/* x -> f in one process, f -> y in the other; x, y made in one function */
	run("classes=site", ARGV("sites", "xf"), &a);
	run("classes=site", ARGV("sites", "fy"), &b);
	expect_findings(&a, "lock-order-inversion", 0);
	expect_findings(&b, "lock-order-inversion", 0);
	cr_expect_eq(merge_two(&a, &b, &out), 0, "no cycle: %s", out);
	cr_expect(!strstr(out, "\"merged\": true"), "%s", out);
	free(out);
	harness_free(&a);
	harness_free(&b);

	/* two locks of one site, taken in creation order in one process and
	 * the other way in another: their ranks name no lock across processes */
	run(NULL, ARGV("sites", "rank-fwd"), &a);
	run(NULL, ARGV("sites", "rank-back"), &b);
	cr_expect_eq(merge_two(&a, &b, &out), 0, "no cycle: %s", out);
	cr_expect(!strstr(out, "\"merged\": true"), "%s", out);
	free(out);
	harness_free(&a);
	harness_free(&b);
}

Test(identity, report_still_finds_a_cycle_across_processes_through_stable_names)
{
	struct harness_run a, b;
	char *out;

	/* static locks: their symbols are the same locks in both processes */
	run(NULL, ARGV("sites", "static-fwd"), &a);
	run(NULL, ARGV("sites", "static-back"), &b);
	cr_expect_eq(merge_two(&a, &b, &out), 1, "a cycle: %s", out);
	cr_expect(strstr(out, "\"merged\": true") && strstr(out, "\"from\": \"s1\""), "%s", out);
	free(out);
	harness_free(&a);
	harness_free(&b);

	/* init sites under classes=site: the same code in both processes */
	run("classes=site", ARGV("sites", "xf"), &a);
	run("classes=site", ARGV("sites", "fx"), &b);
	cr_expect_eq(merge_two(&a, &b, &out), 1, "a cycle: %s", out);
	cr_expect(strstr(out, "\"merged\": true") && strstr(out, "mutex@make_xy:"), "%s", out);
	free(out);
	harness_free(&a);
	harness_free(&b);
}

/* ---- 5: init sites behind wrappers ---- */

Test(identity, locks_made_through_a_wrapper_are_classed_by_the_wrappers_caller)
{
	struct harness_run r;

	/* my_mutex_new() called at two lines: two sites, nested: no recursion */
	run("classes=site", ARGV("sites", "wrapped"), &r);
	expect_findings(&r, "recursive-locking", 0);
	cr_expect_eq(count_str(r.json, "{\"name\": \"mutex@main:"), 2, "%s", r.json);
	cr_expect(!strstr(r.json, "my_mutex_new"), "%s", r.json);
	harness_free(&r);
}

Test(identity, locks_of_one_wrapper_call_site_nested_are_recursion_by_site)
{
	struct harness_run r;

	/* obj_init makes a and b at its own two lines: a site each; two nodes
	 * of node_init's one site nested: recursion, as lockdep has it */
	run("classes=site", ARGV("sites", "parent-child"), &r);
	expect_findings(&r, "recursive-locking", 1);
	cr_expect(strstr(r.json, "\"class\": \"mutex@node_init:"), "%s", r.json);
	harness_free(&r);
}

/* ---- fingerprints ---- */

static const char *stress(void)
{
	static char path[4096];
	const char *dir = getenv("FDEP_TEST_BINDIR");

	snprintf(path, sizeof(path), "%s/../../src/vmbind/vmbind-stress", dir ? dir : "tests/progs");
	return path;
}

/* The fingerprint of the first finding of kind in json. */
static void fingerprint_of_kind(const char *json, const char *kind, char fp[17])
{
	char key[80];
	const char *p;

	snprintf(key, sizeof(key), "{\"kind\": \"%s\"", kind);
	p = strstr(json, key);
	cr_assert(p, "no %s in\n%s", kind, json);
	p = strstr(p, "\"fingerprint\": \"");
	cr_assert(p);
	memcpy(fp, p + 16, 16);
	fp[16] = 0;
}

static void vmbind_bug_fingerprint(const char *bug, char fp[17])
{
	struct harness_run r;

	run(NULL, ARGV((char *)stress(), "--threads", "2", "--iterations", "50", "--seed", "1",
		       "--bug", (char *)bug), &r);
	fingerprint_of_kind(r.json, "alloc-in-signalling-path", fp);
	harness_free(&r);
}

Test(identity, three_vm_bind_allocation_bugs_have_three_fingerprints, .timeout = 120)
{
	char run_job[17], reserve[17], begin[17], again[17];

	/* one kind, one cycle of classes (dma_fence -> fs_reclaim -> ...):
	 * the functions that allocate tell them apart */
	vmbind_bug_fingerprint("alloc-in-run-job", run_job);
	vmbind_bug_fingerprint("late-reserve-fences", reserve);
	vmbind_bug_fingerprint("late-begin-signalling", begin);
	vmbind_bug_fingerprint("alloc-in-run-job", again);
	cr_expect_str_neq(run_job, reserve);
	cr_expect_str_neq(run_job, begin);
	cr_expect_str_neq(reserve, begin);
	cr_expect_str_eq(run_job, again, "the same bug, the same fingerprint");
}

Test(identity, heap_lock_inversions_keep_their_fingerprints_across_runs_and_rebuilds)
{
	struct harness_run a, b, c;
	char fa[17], fb[17], fc[17];

	/* named by line in one build, by function and offset in a build
	 * without debug information: the fingerprint keeps neither */
	run("classes=site", ARGV("sites", "objs"), &a);
	run("classes=site", ARGV("sites", "objs"), &b);
	run("classes=site", ARGV("sites-g0", "objs"), &c);
	cr_expect(strstr(a.json, "mutex@obj_init:"), "%s", a.json);
	cr_expect(strstr(c.json, "mutex@obj_init+0x"), "%s", c.json);
	fingerprint_at(a.json, 0, fa);
	fingerprint_at(b.json, 0, fb);
	fingerprint_at(c.json, 0, fc);
	cr_expect_str_eq(fa, fb);
	cr_expect_str_eq(fa, fc, "rebuilt: %s", c.log);
	harness_free(&a);
	harness_free(&b);
	harness_free(&c);
}

/* ---- 7: the report's own numbers ---- */

Test(identity, report_argv_is_the_command_as_started)
{
	struct harness_run r;

	/* the program clears its arguments before the report is written */
	run(NULL, ARGV("sites", "argv-rewrite"), &r);
	expect_findings(&r, "lock-order-inversion", 0);
	cr_expect(strstr(r.json, "sites\", \"argv-rewrite\"],"), "%s", r.json);
	harness_free(&r);
}

/* The number after key in the "stats" object of json. */
static long stat_of(const char *json, const char *key)
{
	char k[64];
	const char *p = strstr(json, "\"stats\": {");

	snprintf(k, sizeof(k), "\"%s\": ", key);
	p = p ? strstr(p, k) : NULL;
	cr_assert(p, "no stats.%s in %s", key, json);
	return strtol(p + strlen(k), NULL, 10);
}

Test(identity, stats_agree_with_the_lists_and_the_stats_line)
{
	struct harness_run r;
	char want[128];

	run("verbosity=2", ARGV("sites", "objs-clean"), &r);
	expect_findings(&r, "lock-order-inversion", 0);
	const char *classes = strstr(r.json, "\"classes\": [");
	const char *edges = strstr(r.json, "\"edges\": [");
	const char *stats = strstr(r.json, "\"stats\": {");
	cr_assert(classes && edges && stats);
	int nclasses = 0, nedges = 0;
	for (const char *p = classes; (p = strstr(p, "{\"name\": ")) && p < edges; p++)
		nclasses++;
	for (const char *p = edges; (p = strstr(p, "{\"from\": ")) && p < stats; p++)
		nedges++;
	cr_expect_eq(stat_of(r.json, "classes"), nclasses, "%s", r.json);
	cr_expect_eq(stat_of(r.json, "edges"), nedges, "%s", r.json);
	/* the line of fencedep(1), with the same numbers */
	snprintf(want, sizeof(want),
		 "fencedep: stats: findings=0 suppressed=0 classes=%d edges=%d chains=%ld ",
		 nclasses, nedges, stat_of(r.json, "chains"));
	cr_expect(strstr(r.log, want), "want '%s' in\n%s", want, r.log);
	harness_free(&r);
}

/* ---- 12, 13: mutexes whose holder is gone ---- */

Test(identity, robust_mutex_whose_owner_died_is_the_recovery_path)
{
	struct harness_run r;

	run(NULL, ARGV("mutex-life", "robust-died"), &r);
	expect_findings(&r, "lock-held-at-thread-exit", 0);
	cr_expect_str_eq(r.out, "lock after its owner died: EOWNERDEAD\n");
	harness_free(&r);
}

Test(identity, default_mutex_held_at_thread_exit_is_still_reported)
{
	struct harness_run r;

	run(NULL, ARGV("mutex-life", "normal-died"), &r);
	expect_findings(&r, "lock-held-at-thread-exit", 1);
	harness_free(&r);
}

Test(identity, new_mutex_in_a_stack_slot_of_an_abandoned_locked_one_is_no_recursion)
{
	struct harness_run r;

	/* the mutex's own lock word says it is not locked: a new object */
	run(NULL, ARGV("mutex-life", "stack-reuse"), &r);
	cr_assert_str_eq(r.out, "slot reused\n", "the premise: one stack slot");
	expect_findings(&r, "recursive-locking", 0);
	harness_free(&r);
}

/* ---- 6: the stack that proves each type ---- */

Test(identity, a_cycle_shows_the_write_that_proves_its_exclusive_edge)
{
	struct harness_run r;

	/* proof_rw -> proof_m was first seen under a read lock, later under a
	 * write lock; only the write makes the cycle with a reader */
	run(NULL, ARGV("sites", "rw-proof"), &r);
	expect_findings(&r, "lock-order-inversion", 1);
	const char *e = strstr(r.json, "{\"from\": \"proof_rw\", \"to\": \"proof_m\", \"type\": \"EN\"");
	cr_assert(e, "%s", r.log);
	const char *end = strstr(e, "}]}");
	cr_assert(end);
	const char *w = strstr(e, "writer_then_m"), *rd = strstr(e, "reader_then_m");
	cr_expect(w && w < end, "the write's stack: %s", r.log);
	cr_expect(!rd || rd > end, "not the read's: %s", r.log);
	harness_free(&r);
}

Test(identity, readers_under_a_lock_and_around_it_make_no_cycle)
{
	struct harness_run r;

	run(NULL, ARGV("sites", "rw-readers"), &r);
	expect_findings(&r, "lock-order-inversion", 0);
	harness_free(&r);
}

/* ---- 3: two objects of one type, by default ---- */

Test(identity, two_objects_of_one_type_locked_both_ways_are_predicted_by_default)
{
	struct harness_run r;

	/* object 1 takes a then b, object 2 b then a: no one pair of instances
	 * showed both orders, the two init sites did */
	run(NULL, ARGV("sites", "objs"), &r);
	expect_findings(&r, "lock-order-inversion", 1);
	cr_expect(strstr(r.json, "predicted across objects"), "%s", r.log);
	cr_expect(strstr(r.json, "\"from\": \"mutex@obj_init:"), "%s", r.log);
	harness_free(&r);
}

/*
 * Locks made under an init lock and one of them taken there at once (as
 * libdbus's dbus_threads_init does): an order of initialisation, not two
 * objects of one type locked both ways; the same locks made before the
 * init lock is taken are still predicted.
 */
Test(identity, lock_made_and_taken_under_an_init_lock_is_no_site_order)
{
	struct harness_run r;

	run(NULL, ARGV("sites", "init-under"), &r);
	expect_findings(&r, "lock-order-inversion", 0);
	harness_free(&r);
}

Test(identity, locks_made_before_the_init_lock_are_still_predicted)
{
	struct harness_run r;

	run(NULL, ARGV("sites", "init-outside"), &r);
	expect_findings(&r, "lock-order-inversion", 1);
	cr_expect(strstr(r.json, "predicted across objects"), "%s", r.log);
	harness_free(&r);
}

Test(identity, objects_of_one_type_in_one_order_parent_child_or_address_order_are_silent)
{
	const char *modes[] = { "objs-clean", "parent-child", "addr-order", "two-clean" };
	struct harness_run r;

	for (int i = 0; i < 4; i++) {
		run(NULL, ARGV("sites", (char *)modes[i]), &r);
		expect_findings(&r, "lock-order-inversion", 0);
		expect_findings(&r, "recursive-locking", 0);
		harness_free(&r);
	}
}

Test(identity, classes_exact_checks_instances_alone)
{
	struct harness_run r;

	run("classes=exact", ARGV("sites", "objs"), &r);
	expect_findings(&r, "lock-order-inversion", 0);
	harness_free(&r);
}

/* ---- names in a large symbol table (the runtime's sorted index) ---- */

Test(identity, names_in_a_module_of_a_thousand_functions_are_its_functions_and_objects)
{
	struct harness_run r;

	run(NULL, ARGV("many-syms", "inverted"), &r);
	expect_findings(&r, "lock-order-inversion", 2);
	/* heap locks by the function that made them, static ones by symbol */
	cr_expect(strstr(r.json, "\"mutex@make_alpha:"), "%s", r.json);
	cr_expect(strstr(r.json, "\"mutex@make_beta:"), "%s", r.json);
	cr_expect(strstr(r.json, "\"name\": \"alpha_lock\""), "%s", r.json);
	cr_expect(strstr(r.json, "\"name\": \"beta_lock\""), "%s", r.json);
	/* the frames: the function that took the locks the other way */
	cr_expect(strstr(r.log, " take_beta_then_alpha"), "%s", r.log);
	cr_expect(strstr(r.log, "many-syms.c:"), "frames without file and line: %s", r.log);
	cr_expect(!strstr(r.json, "pad_"), "a frame named after a neighbour: %s", r.json);
	harness_free(&r);
}

Test(identity, names_in_a_module_of_a_thousand_functions_in_one_order_are_silent)
{
	struct harness_run r;

	run(NULL, ARGV("many-syms", "clean"), &r);
	expect_findings(&r, "lock-order-inversion", 0);
	harness_free(&r);
}

/*
 * The graph's frames of a clean run, named at exit: the program's own
 * (a large table: a pass over it, then its index) and the C library's (its
 * debug file's table, when installed, has absolute symbols at 0 and cannot
 * be indexed: always a pass; else its dynamic table).
 */
Test(identity, frames_of_a_clean_run_are_named_in_large_tables_and_the_c_library)
{
	struct harness_run r;

	run(NULL, ARGV("many-syms", "clean"), &r);
	expect_findings(&r, "lock-order-inversion", 0);
	cr_expect(strstr(r.json, "\"function\": \"take_in_order\""), "%s", r.json);
	cr_expect(strstr(r.json, "\"function\": \"main\""), "%s", r.json);
	cr_expect(strstr(r.json, "\"function\": \"__libc_start_main"), "%s", r.json);
	cr_expect(!strstr(r.json, "pad_"), "a frame named after a neighbour: %s", r.json);
	harness_free(&r);
}
