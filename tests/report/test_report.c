/*
 * test_report.c - `fencedep report`: merging reports across processes, the
 * strong-path rule, every output format, baseline, suppressions, and every
 * way input can be bad.
 *
 * The fixtures in tests/report/data are per-process reports as the runtime
 * writes them.  Each test runs report_main() as the command would, with the
 * output in a file and standard error captured.
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "fingerprint.h"
#include "report.h"
#include "suppress.h"

#ifndef FDEP_REPORT_DATA
#define FDEP_REPORT_DATA "tests/report/data"
#endif

struct run {
	int status;
	char *out;		/* what -o FILE received */
	char *err;		/* standard error */
	json_t *json;		/* out, parsed, for the JSON formats */
};

static char tmpdir[] = "/tmp/fdep-report-test-XXXXXX";

static void setup(void)
{
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd))
		cr_log_warn("could not remove %s", tmpdir);
}

TestSuite(report, .init = setup, .fini = teardown);

static const char *data(const char *name)
{
	static char bufs[8][512];
	static int i;
	char *b = bufs[i++ % 8];

	snprintf(b, 512, "%s/%s", FDEP_REPORT_DATA, name);
	return b;
}

static const char *tmp(const char *name)
{
	static char bufs[8][512];
	static int i;
	char *b = bufs[i++ % 8];

	snprintf(b, 512, "%s/%s", tmpdir, name);
	return b;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return strdup("");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, n + 1);
	cr_assert_eq(fread(buf, 1, n, f), (size_t)n);
	fclose(f);
	return buf;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "cannot write %s", path);
	fputs(text, f);
	fclose(f);
}

/*
 * Run `fencedep report -o OUT ARGS...` (NULL-terminated) and collect what
 * it wrote; with a JSON format, parse the output too.
 */
static struct run report(const char *arg, ...)
{
	const char *argv[64] = { "report", "-o", tmp("out") };
	const char *errpath = tmp("err");
	json_error_t jerr;
	struct run r = { 0 };
	int argc = 3, saved, fd;
	va_list ap;

	va_start(ap, arg);
	for (; arg && argc < 63; arg = va_arg(ap, const char *))
		argv[argc++] = arg;
	va_end(ap);
	unlink(tmp("out"));
	fflush(stderr);
	saved = dup(2);
	fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	close(fd);
	r.status = report_main(argc, (char **)argv);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	r.out = slurp(tmp("out"));
	r.err = slurp(errpath);
	if (r.out[0] == '{')
		r.json = json_loads(r.out, 0, &jerr);
	return r;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
	json_decref(r->json);
}

/* ---- walking JSON output ---- */

static json_t *path(json_t *v, const char *p)
{
	char key[64];
	size_t n;

	while (v && *p) {
		if (*p == '.')
			p++;
		if (*p == '[') {
			unsigned long i = strtoul(p + 1, (char **)&p, 10);

			p++;
			v = json_array_get(v, i);
			continue;
		}
		n = strcspn(p, ".[");
		snprintf(key, sizeof(key), "%.*s", (int)n, p);
		v = json_object_get(v, key);
		p += n;
	}
	return v;
}

static const char *str_at(json_t *v, const char *p)
{
	json_t *s = path(v, p);

	cr_assert(json_is_string(s), "no string at %s", p);
	return json_string_value(s);
}

static long long num_at(json_t *v, const char *p)
{
	json_t *s = path(v, p);

	cr_assert(json_is_integer(s), "no integer at %s", p);
	return json_integer_value(s);
}

static size_t len_at(json_t *v, const char *p)
{
	json_t *s = path(v, p);

	cr_assert(json_is_array(s), "no array at %s", p);
	return json_array_size(s);
}

static bool bool_at(json_t *v, const char *p)
{
	json_t *s = path(v, p);

	cr_assert(json_is_boolean(s), "no boolean at %s", p);
	return json_is_true(s);
}

/* The fingerprint of the cycle a -> b -> a whose dependencies were taken
 * in functions fa and fb. */
static void fingerprint_of(const char *kind, const char *a, const char *fa, const char *b,
			   const char *fb, char out[17])
{
	struct fdep_fp_item items[2] = {
		{ .name = a, .funcs = { fa }, .nfuncs = 1 },
		{ .name = b, .funcs = { fb }, .nfuncs = 1 },
	};

	fdep_fingerprint(kind, items, 2, true, out);
}

/* ---- merging across processes ---- */

Test(report, abba_across_two_processes_is_lock_order_inversion)
{
	struct run r = report("-f", "json", data("abba_a.json"),
			      data("abba_b.json"), NULL);
	char fp[17];

	fingerprint_of("lock-order-inversion", "ledger_lock", "audit", "accounts_lock", "transfer", fp);
	cr_assert_eq(r.status, 1, "stderr: %s", r.err);
	cr_assert_not_null(r.json);
	cr_assert_eq(len_at(r.json, "findings"), 1);
	cr_assert_str_eq(str_at(r.json, "findings[0].kind"), "lock-order-inversion");
	cr_assert_str_eq(str_at(r.json, "findings[0].fingerprint"), fp);
	cr_assert_str_eq(fp, "9af88dfb8550776e");
	cr_assert(bool_at(r.json, "findings[0].merged"));
	cr_assert_eq(len_at(r.json, "findings[0].cycle"), 2);
	cr_assert_str_eq(str_at(r.json, "findings[0].cycle[0].from"), "accounts_lock");
	cr_assert_str_eq(str_at(r.json, "findings[0].cycle[0].to"), "ledger_lock");
	cr_assert_eq(num_at(r.json, "findings[0].cycle[0].pid"), 1001);
	cr_assert_eq(num_at(r.json, "findings[0].cycle[1].pid"), 1002);
	cr_assert_str_eq(str_at(r.json, "findings[0].cycle[1].stack[1].function"), "audit");
	run_free(&r);
}

Test(report, one_half_of_abba_alone_is_silent)
{
	struct run r = report("-f", "json", data("abba_a.json"), NULL);

	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_eq(len_at(r.json, "findings"), 0);
	run_free(&r);
}

Test(report, fence_and_reclaim_across_processes_is_alloc_in_signalling_path)
{
	struct run r = report("-f", "json", data("fence_a.json"),
			      data("fence_b.json"), NULL);

	cr_assert_eq(r.status, 1, "stderr: %s", r.err);
	cr_assert_eq(len_at(r.json, "findings"), 1);
	cr_assert_str_eq(str_at(r.json, "findings[0].kind"), "alloc-in-signalling-path");
	cr_assert_eq(len_at(r.json, "findings[0].cycle"), 4);
	/* shown closed by the recorded allocation, not by a primed order */
	cr_assert_str_eq(str_at(r.json, "findings[0].cycle[3].from"), "job_lock");
	cr_assert_str_eq(str_at(r.json, "findings[0].cycle[3].to"), "fs_reclaim");
	run_free(&r);
}

Test(report, fence_wait_across_processes_is_fence_lock_inversion)
{
	struct run r = report("-f", "json", data("fence_a.json"),
			      data("fence_wait.json"), NULL);

	cr_assert_eq(r.status, 1, "stderr: %s", r.err);
	cr_assert_eq(len_at(r.json, "findings"), 1);
	cr_assert_str_eq(str_at(r.json, "findings[0].kind"), "fence-lock-inversion");
	run_free(&r);
}

Test(report, reclaim_across_processes_is_reclaim_lock_inversion)
{
	struct run r = report("-f", "json", data("reclaim_a.json"),
			      data("reclaim_b.json"), NULL);

	cr_assert_eq(r.status, 1, "stderr: %s", r.err);
	cr_assert_eq(len_at(r.json, "findings"), 1);
	cr_assert_str_eq(str_at(r.json, "findings[0].kind"), "reclaim-lock-inversion");
	run_free(&r);
}

Test(report, merged_graph_without_cycle_is_silent)
{
	struct run r = report("-f", "json", data("chain_a.json"),
			      data("chain_b.json"), NULL);

	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_eq(len_at(r.json, "findings"), 0);
	cr_assert_eq(len_at(r.json, "classes"), 3);
	cr_assert_eq(len_at(r.json, "edges"), 2);
	run_free(&r);
}

Test(report, two_recursive_reader_edges_make_no_cycle)
{
	/* A -(ER)-> B then B -(SR)-> A: the R of the first meets the S of the
	 * second, so the path is not strong. */
	struct run r = report("-f", "json", data("rr_a.json"), data("rr_b.json"), NULL);

	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_eq(len_at(r.json, "findings"), 0);
	run_free(&r);
}

Test(report, recursive_reader_against_writer_is_a_cycle)
{
	struct run r = report("-f", "json", data("rr_a.json"), data("rr_c.json"), NULL);

	cr_assert_eq(r.status, 1, "stderr: %s", r.err);
	cr_assert_eq(len_at(r.json, "findings"), 1);
	cr_assert_str_eq(str_at(r.json, "findings[0].kind"), "lock-order-inversion");
	run_free(&r);
}

Test(report, strong_rule_wraps_around_the_cycle)
{
	/* A -(SN)-> B -(ER)-> A: the joint that breaks it is the wrap-around,
	 * the R of the last edge meeting the S of the first. */
	write_file(tmp("w1.json"), "{\"tool\":\"fencedep\",\"schema\":1,\"pid\":1,"
		   "\"edges\":[{\"from\":\"A\",\"to\":\"B\",\"type\":\"SN\"}]}");
	write_file(tmp("w2.json"), "{\"tool\":\"fencedep\",\"schema\":1,\"pid\":2,"
		   "\"edges\":[{\"from\":\"B\",\"to\":\"A\",\"type\":\"ER\"}]}");
	write_file(tmp("w3.json"), "{\"tool\":\"fencedep\",\"schema\":1,\"pid\":3,"
		   "\"edges\":[{\"from\":\"B\",\"to\":\"A\",\"type\":\"EN\"}]}");
	struct run r = report("-f", "json", tmp("w1.json"), tmp("w2.json"), NULL);
	struct run s = report("-f", "json", tmp("w1.json"), tmp("w3.json"), NULL);

	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_eq(len_at(r.json, "findings"), 0);
	cr_assert_eq(s.status, 1, "stderr: %s", s.err);
	cr_assert_eq(len_at(s.json, "findings"), 1);
	run_free(&r);
	run_free(&s);
}

Test(report, shortest_cycle_is_reported)
{
	/* A->B->A and A->B->C->A: the two-edge cycle through A->B is shown for
	 * that edge, the three-edge one only as its own cycle. */
	write_file(tmp("s1.json"), "{\"tool\":\"fencedep\",\"schema\":1,\"pid\":1,\"edges\":["
		   "{\"from\":\"A\",\"to\":\"B\",\"type\":\"EN\"},"
		   "{\"from\":\"B\",\"to\":\"C\",\"type\":\"EN\"}]}");
	write_file(tmp("s2.json"), "{\"tool\":\"fencedep\",\"schema\":1,\"pid\":2,\"edges\":["
		   "{\"from\":\"B\",\"to\":\"A\",\"type\":\"EN\"}]}");
	struct run r = report("-f", "json", tmp("s1.json"), tmp("s2.json"), NULL);

	cr_assert_eq(r.status, 1, "stderr: %s", r.err);
	cr_assert_eq(len_at(r.json, "findings"), 1);
	cr_assert_eq(len_at(r.json, "findings[0].cycle"), 2);
	run_free(&r);
}

Test(report, cycle_one_process_saw_whole_is_left_to_it)
{
	/* Both edges in one process that reported nothing (say, taken under a
	 * common gate lock): the merge does not second-guess it. */
	write_file(tmp("one.json"), "{\"tool\":\"fencedep\",\"schema\":1,\"pid\":1,\"edges\":["
		   "{\"from\":\"A\",\"to\":\"B\",\"type\":\"EN\"},"
		   "{\"from\":\"B\",\"to\":\"A\",\"type\":\"EN\"}]}");
	struct run r = report("-f", "json", tmp("one.json"), data("chain_b.json"), NULL);

	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_eq(len_at(r.json, "findings"), 0);
	run_free(&r);
}

Test(report, findings_read_are_deduplicated_and_counted)
{
	struct run r = report("-f", "json", data("legacy.json"),
			      data("legacy2.json"), NULL);

	cr_assert_eq(r.status, 1, "stderr: %s", r.err);
	cr_assert_eq(len_at(r.json, "findings"), 1);
	cr_assert_str_eq(str_at(r.json, "findings[0].fingerprint"), "8dbc7a7f0d96aa0c");
	cr_assert_eq(num_at(r.json, "findings[0].count"), 5);
	cr_assert_eq(num_at(r.json, "findings[0].processes"), 2);
	cr_assert_not(bool_at(r.json, "findings[0].merged"));
	cr_assert_str_eq(str_at(r.json, "findings[0].thread.name"), "worker");
	run_free(&r);
}

Test(report, json_output_reads_back)
{
	struct run r = report("-f", "json", data("abba_a.json"), data("abba_b.json"), NULL);
	struct run s;

	write_file(tmp("merged.json"), r.out);
	s = report("-f", "json", tmp("merged.json"), NULL);
	cr_assert_eq(s.status, 1, "stderr: %s", s.err);
	cr_assert_eq(len_at(s.json, "findings"), 1);
	cr_assert_str_eq(str_at(s.json, "findings[0].fingerprint"), "9af88dfb8550776e");
	run_free(&r);
	run_free(&s);
}

/* ---- formats ---- */

Test(report, text_is_lockdep_style)
{
	struct run r = report(data("abba_a.json"), data("abba_b.json"), NULL);

	cr_assert_eq(r.status, 1);
	/* the runtime's layout: a rule, then the line to grep */
	static const char first[] = "\n======================================================\n"
				    "fencedep: lock-order-inversion: possible circular locking "
				    "dependency: accounts_lock -> ledger_lock -> accounts_lock at "
				    "ledger.c:77 in audit\n";

	cr_assert(!strncmp(r.out, first, strlen(first)), "got: %.300s", r.out);
	cr_assert_not_null(strstr(r.out, "accounts_lock -(EN)-> ledger_lock"));
	cr_assert_not_null(strstr(r.out, "#1 transfer (/build/test_accounts+0x112a) accounts.c:42\n"));
	cr_assert_not_null(strstr(r.out, "#1 audit (/build/test_ledger+0x114d) ledger.c:77\n"));
	cr_assert_not_null(strstr(r.out, "pid 1002 (./test_ledger)"));
	run_free(&r);
}

static bool has_key(json_t *v, const char *key)
{
	return json_object_get(v, key) != NULL;
}

/* The properties SARIF 2.1.0 requires of a log, a run, a tool and a result. */
static void check_sarif_required(json_t *log)
{
	json_t *run, *driver, *results, *res;
	size_t i;

	cr_assert(json_is_object(log));
	cr_assert_str_eq(str_at(log, "version"), "2.1.0");
	cr_assert_not_null(strstr(str_at(log, "$schema"), "sarif"));
	cr_assert_geq(len_at(log, "runs"), 1);
	run = path(log, "runs[0]");
	driver = path(run, "tool.driver");
	cr_assert_not_null(driver, "runs[0].tool.driver is required");
	cr_assert_str_eq(str_at(driver, "name"), "fencedep");
	cr_assert(has_key(driver, "rules"), "one rule per finding kind");
	results = path(run, "results");
	cr_assert(results && json_is_array(results));
	for (i = 0; i < json_array_size(results); i++) {
		res = json_array_get(results, i);
		cr_assert(has_key(res, "message"), "result.message is required");
		cr_assert_gt(strlen(str_at(res, "message.text")), 0);
		cr_assert(has_key(res, "ruleId"));
	}
}

Test(report, sarif_has_the_required_structure)
{
	struct run r = report("-f", "sarif", data("abba_a.json"),
			      data("abba_b.json"), NULL);
	json_t *rules, *res;
	size_t i, rule;

	cr_assert_eq(r.status, 1, "stderr: %s", r.err);
	cr_assert_not_null(r.json, "SARIF is not JSON: %.200s", r.out);
	check_sarif_required(r.json);
	rules = path(r.json, "runs[0].tool.driver.rules");
	cr_assert(rules && json_is_array(rules));
	cr_assert_geq(json_array_size(rules), 16);
	for (i = 0; i < json_array_size(rules); i++)
		cr_assert(has_key(json_array_get(rules, i), "id"));
	cr_assert_eq(len_at(r.json, "runs[0].results"), 1);
	res = path(r.json, "runs[0].results[0]");
	cr_assert_str_eq(str_at(res, "ruleId"), "lock-order-inversion");
	rule = num_at(res, "ruleIndex");
	cr_assert_str_eq(str_at(json_array_get(rules, rule), "id"), "lock-order-inversion");
	cr_assert_str_eq(str_at(res, "level"), "error");
	cr_assert_str_eq(str_at(res, "partialFingerprints.fencedep/v2"), "9af88dfb8550776e");
	cr_assert_str_eq(str_at(res, "baselineState"), "new");
	/* located at the acquisition that closed the cycle */
	cr_assert_str_eq(str_at(res, "locations[0].physicalLocation.artifactLocation.uri"),
			 "ledger.c");
	cr_assert_eq(num_at(res, "locations[0].physicalLocation.region.startLine"), 77);
	cr_assert_eq(len_at(res, "codeFlows[0].threadFlows[0].locations"), 2);
	cr_assert_eq(num_at(res, "codeFlows[0].threadFlows[0].locations[0].location."
			    "physicalLocation.region.startLine"), 42);
	run_free(&r);
}

Test(report, sarif_without_file_uses_a_logical_location)
{
	write_file(tmp("l1.json"), "{\"tool\":\"fencedep\",\"schema\":1,\"pid\":1,\"edges\":["
		   "{\"from\":\"A\",\"to\":\"B\",\"type\":\"EN\",\"stack\":[{\"pc\":\"0x1\","
		   "\"module\":\"/lib/a.so\",\"offset\":\"0x1\",\"function\":\"take_ab\"}]}]}");
	write_file(tmp("l2.json"), "{\"tool\":\"fencedep\",\"schema\":1,\"pid\":2,\"edges\":["
		   "{\"from\":\"B\",\"to\":\"A\",\"type\":\"EN\",\"stack\":[{\"pc\":\"0x2\","
		   "\"module\":\"/lib/b.so\",\"offset\":\"0x2\",\"function\":\"take_ba\"}]}]}");
	struct run r = report("-f", "sarif", tmp("l1.json"), tmp("l2.json"), NULL);
	json_t *loc;

	cr_assert_eq(r.status, 1, "stderr: %s", r.err);
	check_sarif_required(r.json);
	loc = path(r.json, "runs[0].results[0].locations[0]");
	cr_assert_null(json_object_get(loc, "physicalLocation"));
	cr_assert_str_eq(str_at(loc, "logicalLocations[0].name"), "take_ba");
	run_free(&r);
}

Test(report, sarif_srcroot_makes_paths_relative)
{
	write_file(tmp("p1.json"), "{\"tool\":\"fencedep\",\"schema\":1,\"pid\":1,\"edges\":["
		   "{\"from\":\"A\",\"to\":\"B\",\"stack\":[{\"function\":\"f\","
		   "\"file\":\"/src/proj/lib/a b.c\",\"line\":3}]}]}");
	write_file(tmp("p2.json"), "{\"tool\":\"fencedep\",\"schema\":1,\"pid\":2,\"edges\":["
		   "{\"from\":\"B\",\"to\":\"A\",\"stack\":[{\"function\":\"g\","
		   "\"file\":\"/src/proj/lib/a b.c\",\"line\":9}]}]}");
	struct run r = report("-f", "sarif", "--srcroot", "/src/proj", tmp("p1.json"),
			      tmp("p2.json"), NULL);
	json_t *art;

	cr_assert_eq(r.status, 1, "stderr: %s", r.err);
	art = path(r.json, "runs[0].results[0].locations[0].physicalLocation.artifactLocation");
	cr_assert_str_eq(str_at(art, "uri"), "lib/a%20b.c");
	cr_assert_str_eq(str_at(art, "uriBaseId"), "%SRCROOT%");
	run_free(&r);
}

Test(report, html_escapes_every_string)
{
	struct run r = report("-f", "html", data("escape_a.json"),
			      data("escape_b.json"), NULL);

	cr_assert_eq(r.status, 1, "stderr: %s", r.err);
	cr_assert(!strncmp(r.out, "<!DOCTYPE html>", 15));
	cr_assert_not_null(strstr(r.out, "lock-order-inversion"));
	cr_assert_not_null(strstr(r.out, "&lt;b&gt;x&amp;y&lt;/b&gt;"));
	cr_assert_not_null(strstr(r.out, "f&lt;script&gt;alert(1)&lt;/script&gt;"));
	cr_assert_not_null(strstr(r.out, "q&quot;&#39;"));
	cr_assert_null(strstr(r.out, "<script"));
	cr_assert_null(strstr(r.out, "<b>x"));
	run_free(&r);
}

Test(report, html_is_self_contained_with_a_drawn_cycle)
{
	struct run r = report("-f", "html", data("fence_a.json"),
			      data("fence_b.json"), NULL);
	const char *p;
	int circles = 0;

	cr_assert_eq(r.status, 1, "stderr: %s", r.err);
	cr_assert_not_null(strstr(r.out, "alloc-in-signalling-path"));
	cr_assert_not_null(strstr(r.out, "<style>"));
	cr_assert_not_null(strstr(r.out, "<svg"));
	for (p = r.out; (p = strstr(p, "<circle")); p++)
		circles++;
	cr_assert_eq(circles, 4, "one circle per class of the cycle");
	cr_assert_not_null(strstr(r.out, "queue_job"));
	cr_assert_null(strstr(r.out, "<link"));
	cr_assert_null(strstr(r.out, "src="));
	cr_assert_null(strstr(r.out, "@import"));
	run_free(&r);
}

static bool have_chromium(void)
{
	return !system("command -v chromium >/dev/null 2>&1");
}

/* Width and height from the IHDR chunk of a PNG file. */
static bool png_size(const char *file, unsigned *w, unsigned *h)
{
	unsigned char b[24];
	FILE *f = fopen(file, "rb");
	bool ok;

	if (!f)
		return false;
	ok = fread(b, 1, 24, f) == 24 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8);
	fclose(f);
	*w = (unsigned)b[16] << 24 | b[17] << 16 | b[18] << 8 | b[19];
	*h = (unsigned)b[20] << 24 | b[21] << 16 | b[22] << 8 | b[23];
	return ok;
}

Test(report, html_renders_in_a_headless_browser, .timeout = 120)
{
	char cmd[2048];
	struct stat st;
	unsigned w = 0, h = 0;
	struct run r;

	if (!have_chromium())
		cr_skip("chromium is not installed");
	r = report("-f", "html", data("fence_a.json"), data("fence_b.json"),
		   data("legacy.json"), NULL);
	cr_assert_eq(r.status, 1, "stderr: %s", r.err);
	write_file(tmp("page.html"), r.out);
	mkdir(tmp("profile"), 0700);
	snprintf(cmd, sizeof(cmd),
		 "timeout 90 chromium --headless --no-sandbox --disable-gpu "
		 "--disable-quic --no-first-run --disable-background-networking "
		 "--disable-component-update --disable-sync --user-data-dir=%s "
		 "--screenshot=%s --window-size=1200,900 file://%s >/dev/null 2>&1",
		 tmp("profile"), tmp("shot.png"), tmp("page.html"));
	cr_assert_eq(system(cmd), 0, "chromium failed: %s", cmd);
	cr_assert_eq(stat(tmp("shot.png"), &st), 0);
	cr_assert(png_size(tmp("shot.png"), &w, &h));
	cr_assert_eq(w, 1200);
	cr_assert_eq(h, 900);
	/* a blank page compresses to a few kilobytes; this one has content */
	cr_assert_gt(st.st_size, 20000, "screenshot only %ld bytes", (long)st.st_size);
	run_free(&r);
}

Test(report, dot_highlights_the_cycle_edges)
{
	struct run r = report("-f", "dot", data("abba_a.json"), data("abba_b.json"),
			      data("chain_a.json"), NULL);
	struct run c = report("-f", "dot", "--cycles-only", data("abba_a.json"),
			      data("abba_b.json"), data("chain_a.json"), NULL);

	cr_assert_eq(r.status, 1, "stderr: %s", r.err);
	cr_assert(!strncmp(r.out, "digraph fencedep {", 18));
	cr_assert_not_null(strstr(r.out, "label=\"accounts_lock\""));
	cr_assert_not_null(strstr(r.out, "label=\"A\""));
	cr_assert_not_null(strstr(r.out, "[label=\"EN\", color=\"#c0392b\""));
	cr_assert_not_null(strstr(r.out, "[label=\"EN\", tooltip="), "the A->B edge, plain");
	cr_assert_null(strstr(c.out, "label=\"A\""));
	cr_assert_not_null(strstr(c.out, "label=\"ledger_lock\""));
	run_free(&r);
	run_free(&c);
}

/* ---- baseline ---- */

Test(report, baseline_write_and_read_round_trip)
{
	struct run w = report("--write-baseline", tmp("base.txt"), data("abba_a.json"),
			      data("abba_b.json"), data("legacy.json"), NULL);
	struct run same, more;
	char *base;

	cr_assert_eq(w.status, 0, "stderr: %s", w.err);
	base = slurp(tmp("base.txt"));
	cr_assert_not_null(strstr(base, "\n9af88dfb8550776e\n"));
	cr_assert_not_null(strstr(base, "\n8dbc7a7f0d96aa0c\n"));
	cr_assert_not_null(strstr(base, "# lock-order-inversion: possible circular locking dependency"));
	same = report("--baseline", tmp("base.txt"), data("abba_a.json"),
		      data("abba_b.json"), data("legacy.json"), NULL);
	cr_assert_eq(same.status, 0, "known findings pass: %s", same.err);
	cr_assert_not_null(strstr(same.out, "(0 new, 2 in the baseline, 0 suppressed)"));
	more = report("--baseline", tmp("base.txt"), data("abba_a.json"),
		      data("abba_b.json"), data("fence_a.json"), data("fence_b.json"), NULL);
	cr_assert_eq(more.status, 1, "a new finding fails");
	cr_assert_not_null(strstr(more.out, "(1 new, 1 in the baseline"));
	free(base);
	run_free(&w);
	run_free(&same);
	run_free(&more);
}

Test(report, baseline_in_sarif_marks_unchanged)
{
	struct run r;

	write_file(tmp("b.txt"), "# known\n# fencedep baseline version 2\n9af88dfb8550776e  # abba\n");
	r = report("-f", "sarif", "--baseline", tmp("b.txt"), data("abba_a.json"),
		   data("abba_b.json"), NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_str_eq(r.err, "");
	cr_assert_str_eq(str_at(r.json, "runs[0].results[0].baselineState"), "unchanged");
	run_free(&r);
}

Test(report, version_1_baseline_matches_by_class_names_and_says_so)
{
	struct run r, other;

	/* written before version 2: no version line, the kind-and-names hash */
	write_file(tmp("b1.txt"), "# known\nc206ab949bcf149a  # abba\n\n");
	r = report("--baseline", tmp("b1.txt"), data("abba_a.json"), data("abba_b.json"), NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert(strstr(r.err, "1 version-1 fingerprint") && strstr(r.err, "1 finding matched") &&
		  strstr(r.err, "--write-baseline"), "stderr: %s", r.err);
	/* the same line read as version 2 matches nothing */
	write_file(tmp("b2.txt"), "# fencedep baseline version 2\nc206ab949bcf149a\n");
	other = report("--baseline", tmp("b2.txt"), data("abba_a.json"), data("abba_b.json"), NULL);
	cr_assert_eq(other.status, 1, "stderr: %s", other.err);
	run_free(&r);
	run_free(&other);
}

Test(report, baseline_of_a_later_version_is_an_error)
{
	struct run r;

	write_file(tmp("b3.txt"), "# fencedep baseline version 3\n9af88dfb8550776e\n");
	r = report("--baseline", tmp("b3.txt"), data("abba_a.json"), NULL);
	cr_assert_eq(r.status, 2);
	cr_assert(strstr(r.err, ":1:") && strstr(r.err, "baseline version 3"), "stderr: %s", r.err);
	run_free(&r);
}

Test(report, baseline_may_be_a_json_report)
{
	struct run main_branch = report("-f", "json", data("abba_a.json"),
					data("abba_b.json"), NULL);
	struct run same, more;

	write_file(tmp("main.json"), main_branch.out);
	same = report("--baseline", tmp("main.json"), data("abba_a.json"),
		      data("abba_b.json"), NULL);
	more = report("--baseline", tmp("main.json"), data("abba_a.json"),
		      data("abba_b.json"), data("legacy.json"), NULL);
	cr_assert_eq(same.status, 0, "stderr: %s", same.err);
	cr_assert_eq(more.status, 1, "stderr: %s", more.err);
	run_free(&main_branch);
	run_free(&same);
	run_free(&more);
}

Test(report, bad_baseline_line_is_an_error)
{
	struct run r;
	char want[600];

	write_file(tmp("bad.txt"), "# ok\nc206ab949bcf149a\nnot-a-fingerprint\n");
	r = report("--baseline", tmp("bad.txt"), data("abba_a.json"), NULL);
	cr_assert_eq(r.status, 2);
	snprintf(want, sizeof(want), "fencedep report: %s:3:1: ", tmp("bad.txt"));
	cr_assert(!strncmp(r.err, want, strlen(want)), "got: %s", r.err);
	run_free(&r);
}

/* ---- suppressions ---- */

Test(report, suppression_by_a_deep_frame)
{
	struct run hit, miss;

	/* legacy_setup is frame #2 of the closing stack, not the top one */
	write_file(tmp("sup"), "# legacy code, fixed upstream\n\n"
		   "lock-order-inversion:legacy_set*\n");
	write_file(tmp("nosup"), "lock-order-inversion:unrelated_*\n");
	hit = report("--suppressions", tmp("sup"), data("legacy.json"), NULL);
	miss = report("--suppressions", tmp("nosup"), data("legacy.json"), NULL);
	cr_assert_eq(hit.status, 0, "stderr: %s", hit.err);
	cr_assert_not_null(strstr(hit.out, "(0 new, 0 in the baseline, 1 suppressed)"));
	cr_assert_null(strstr(hit.out, "fencedep: lock-order-inversion"));
	cr_assert_eq(miss.status, 1);
	run_free(&hit);
	run_free(&miss);
}

Test(report, suppression_by_class_name_and_any_kind)
{
	struct run any, other;

	write_file(tmp("sup"), "  * :  ledger_?ock  \n");
	write_file(tmp("other"), "fence-lock-inversion:ledger_lock\n");
	any = report("--suppressions", tmp("sup"), data("abba_a.json"),
		     data("abba_b.json"), NULL);
	other = report("--suppressions", tmp("other"), data("abba_a.json"),
		       data("abba_b.json"), NULL);
	cr_assert_eq(any.status, 0, "stderr: %s", any.err);
	cr_assert_eq(other.status, 1, "a rule of another kind does not apply");
	run_free(&any);
	run_free(&other);
}

Test(report, suppression_by_module_basename_and_file)
{
	struct run mod, file;

	write_file(tmp("mod"), "lock-order-inversion:test_ledger\n");
	write_file(tmp("file"), "lock-order-inversion:*/ledger.c\nlock-order-inversion:ledger.[ch]\n");
	mod = report("--suppressions", tmp("mod"), data("abba_a.json"),
		     data("abba_b.json"), NULL);
	file = report("--suppressions", tmp("file"), data("abba_a.json"),
		      data("abba_b.json"), NULL);
	cr_assert_eq(mod.status, 0, "stderr: %s", mod.err);
	cr_assert_eq(file.status, 0, "stderr: %s", file.err);
	run_free(&mod);
	run_free(&file);
}

/* ---- bad input: exit 2, file and position named ---- */

static void expect_error(struct run *r, const char *prefix)
{
	cr_assert_eq(r->status, 2, "status %d, stderr: %s", r->status, r->err);
	cr_assert(!strncmp(r->err, prefix, strlen(prefix)),
		  "expected '%s...', got '%s'", prefix, r->err);
	cr_assert_eq(strchr(r->err, '\n'), r->err + strlen(r->err) - 1,
		     "one line: %s", r->err);
}

static void expect_input_error(const char *name, const char *text,
			       const char *where, const char *what)
{
	char want[700];
	struct run r;

	write_file(tmp(name), text);
	r = report(data("abba_a.json"), tmp(name), NULL);
	snprintf(want, sizeof(want), "fencedep report: %s:%s: %s", tmp(name), where, what);
	expect_error(&r, want);
	run_free(&r);
}

Test(report, truncated_json_is_an_error_at_its_end)
{
	expect_input_error("t.json", "{\"tool\": \"fencedep\", \"schema\": 1,\n"
			   "  \"findings\": [{\"kind\": \"hang\"", "2:31",
			   "'}' expected near end of file");
}

Test(report, foreign_json_is_an_error)
{
	expect_input_error("f.json", "{\"tool\": \"eslint\", \"schema\": 1}", "1:10",
			   "not a fencedep report");
	expect_input_error("g.json", "{\"version\": 1}", "1:1", "not a fencedep report");
	expect_input_error("h.json", "[\"fencedep\"]", "1:1", "not a fencedep report");
}

Test(report, wrong_schema_is_an_error)
{
	expect_input_error("s.json", "{\n  \"tool\": \"fencedep\",\n  \"schema\": 2\n}", "3:13",
			   "unsupported schema");
}

Test(report, malformed_fields_are_errors)
{
	expect_input_error("e.json", "{\"tool\":\"fencedep\",\"schema\":1,\"edges\":"
			   "[{\"from\":\"A\",\"to\":\"B\",\"type\":\"XY\"}]}", "1:68",
			   "edges[0].type:");
	expect_input_error("k.json", "{\"tool\":\"fencedep\",\"schema\":1,\"findings\":"
			   "[{\"title\":\"x\"}]}", "1:43", "findings[0]: missing \"kind\"");
	expect_input_error("n.json", "{\"tool\":\"fencedep\",\"schema\":1,\"findings\":"
			   "[{\"kind\":\"hang\",\"stack\":[{\"line\":\"12\"}]}]}", "1:75",
			   "findings[0].stack[0].line: expected a number, found a string");
	expect_input_error("x.json", "{\"tool\":\"fencedep\",\"schema\":1} x", "1:32",
			   "invalid token near 'x'");
	expect_input_error("z.json", "", "1:1", "empty input");
	expect_input_error("w.json", " \n\t", "2:2", "empty input");
}

Test(report, missing_file_is_an_error)
{
	struct run r = report(data("abba_a.json"), tmp("no-such.json"), NULL);
	char want[600];

	snprintf(want, sizeof(want), "fencedep report: %s: cannot open: ", tmp("no-such.json"));
	expect_error(&r, want);
	run_free(&r);
}

Test(report, bad_suppression_line_is_an_error)
{
	struct run r;
	char want[600];

	write_file(tmp("sup"), "# fine\nlock-order-inversion:ok\n\nno colon here\n");
	r = report("--suppressions", tmp("sup"), data("abba_a.json"), NULL);
	snprintf(want, sizeof(want), "fencedep report: %s:4: expected kind:pattern", tmp("sup"));
	expect_error(&r, want);
	run_free(&r);
}

Test(report, unknown_kind_in_suppressions_is_an_error)
{
	struct run r;
	char want[600];

	write_file(tmp("sup"), "lock-order-invertion:foo\n");
	r = report("--suppressions", tmp("sup"), data("abba_a.json"), NULL);
	snprintf(want, sizeof(want),
		 "fencedep report: %s:1: unknown finding kind 'lock-order-invertion'", tmp("sup"));
	expect_error(&r, want);
	run_free(&r);
}

Test(report, usage_errors_exit_2_and_help_exits_0)
{
	struct run none = report(NULL);
	struct run fmt = report("-f", "xml", data("abba_a.json"), NULL);
	struct run help = report("--help", NULL);

	cr_assert_eq(none.status, 2);
	cr_assert_not_null(strstr(none.err, "no report files"));
	cr_assert_eq(fmt.status, 2);
	cr_assert_not_null(strstr(fmt.err, "unknown format 'xml'"));
	cr_assert_eq(help.status, 0);
	run_free(&none);
	run_free(&fmt);
	run_free(&help);
}

Test(report, the_fencedep_command_dispatches_report)
{
	const char *cli = getenv("FDEP_CLI");
	char cmd[2048];
	int status;

	if (!cli || access(cli, X_OK))
		cr_skip("FDEP_CLI is not set to the built fencedep command");
	snprintf(cmd, sizeof(cmd), "'%s' report '%s' '%s' >/dev/null 2>&1", cli,
		 data("abba_a.json"), data("abba_b.json"));
	status = system(cmd);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d", status);
	snprintf(cmd, sizeof(cmd), "'%s' report '%s' >/dev/null 2>&1", cli,
		 data("abba_a.json"));
	status = system(cmd);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
	snprintf(cmd, sizeof(cmd), "'%s' report '%s' >/dev/null 2>&1", cli, tmp("none.json"));
	status = system(cmd);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 2, "status %d", status);
}

/* ---- the pure pieces the runtime shares ---- */

Test(report, fingerprint_is_rotation_invariant_fnv1a)
{
	const char *abc[] = { "b", "c", "a" }, *rot[] = { "a", "b", "c" };
	const char *rev[] = { "a", "c", "b" };
	char x[17], y[17], z[17];

	fdep_fingerprint_v1("lock-order-inversion", abc, 3, x);
	fdep_fingerprint_v1("lock-order-inversion", rot, 3, y);
	fdep_fingerprint_v1("lock-order-inversion", rev, 3, z);
	cr_assert_str_eq(x, y);
	cr_assert_str_neq(x, z, "direction matters");
	/* FNV-1a 64 of "hang\n": no names */
	fdep_fingerprint_v1("hang", NULL, 0, x);
	cr_assert_str_eq(x, "81bee369305804e9");
}

static void fp2(const char *a, const char *fa, const char *b, const char *fb, char out[17])
{
	struct fdep_fp_item it[2] = {
		{ .name = a, .funcs = { fa }, .nfuncs = fa != NULL },
		{ .name = b, .funcs = { fb }, .nfuncs = fb != NULL },
	};

	fdep_fingerprint("lock-order-inversion", it, 2, true, out);
}

Test(report, fingerprint_v2_keeps_functions_drops_lines_offsets_ranks)
{
	char x[17], y[17];

	/* a rotation is the same cycle */
	fp2("a", "f", "b", "g", x);
	fp2("b", "g", "a", "f", y);
	cr_assert_str_eq(x, y);
	/* where in the source or the binary moves with a rebuild: not kept */
	fp2("mutex@init:12#3", "f", "cache_lock+0x40", "g", x);
	fp2("mutex@init+0x1c#1", "f", "cache_lock", "g", y);
	cr_assert_str_eq(x, y);
	/* nor the compiler's clone suffixes or symbol versions */
	fp2("a", "f.constprop.0", "b", "g@@GLIBC_2.34", y);
	fp2("a", "f", "b", "g", x);
	cr_assert_str_eq(x, y);
	/* another function proving an edge is another bug */
	fp2("a", "f", "b", "h", y);
	cr_assert_str_neq(x, y);
	/* as is a stripped program's module in a class name */
	fp2("mutex@prog-a+0x4010", NULL, "b", NULL, x);
	fp2("mutex@prog-b+0x4010", NULL, "b", NULL, y);
	cr_assert_str_neq(x, y);
	/* a name that only looks like a suffix keeps what is not one */
	char n[FDEP_FP_NAME_MAX];
	fdep_fp_name("queue:lock", n);
	cr_assert_str_eq(n, "queue:lock");
	fdep_fp_name("mutex@main:42#7", n);
	cr_assert_str_eq(n, "mutex@main");
}

Test(report, glob_matches_like_fnmatch)
{
	cr_assert(suppress_glob("*", ""));
	cr_assert(suppress_glob("a*c", "abbbc"));
	cr_assert(suppress_glob("a?c", "abc"));
	cr_assert_not(suppress_glob("a?c", "ac"));
	cr_assert(suppress_glob("[a-c]x", "bx"));
	cr_assert_not(suppress_glob("[!a-c]x", "bx"));
	cr_assert(suppress_glob("[]]", "]"));
	cr_assert(suppress_glob("\\*", "*"));
	cr_assert_not(suppress_glob("\\*", "x"));
	cr_assert(suppress_glob("*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaab"));
	cr_assert_not(suppress_glob("*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaa"));
	cr_assert_not(suppress_glob("fo[o", "foo"));
}

static void *alloc_plain(size_t n)
{
	return malloc(n);
}

Test(report, suppression_parser_reads_rules_and_matches_any_string)
{
	const char text[] = "# c\n\n  lock-order-inversion : *legacy*  \n*:dma_*\r\n";
	const char *strs[] = { "A", "B", NULL, "/usr/lib/liblegacy.so" };
	const char *fence[] = { "dma_fence" };
	struct suppress_set set;
	struct suppress_error err;
	const struct suppress_rule *rule;

	cr_assert_eq(suppress_parse(text, strlen(text), alloc_plain, &set, &err), 0, "%s", err.msg);
	cr_assert_eq(set.n, 2);
	cr_assert_str_eq(set.rules[0].kind, "lock-order-inversion");
	cr_assert_str_eq(set.rules[0].pattern, "*legacy*");
	cr_assert_eq(set.rules[0].line, 3);
	cr_assert_null(set.rules[1].kind);
	rule = suppress_match(&set, "lock-order-inversion", strs, 4);
	cr_assert_eq(rule, &set.rules[0]);
	cr_assert_null(suppress_match(&set, "hang", strs, 4));
	cr_assert_eq(suppress_match(&set, "hang", fence, 1), &set.rules[1]);
	free(set.mem);
}

/* ---- the JSON reader (jansson): errors at a line and column ---- */

Test(report, json_reader_decodes_escapes_and_surrogate_pairs)
{
	write_file(tmp("u1.json"), "{\"tool\":\"fencedep\",\"schema\":1,\"pid\":1,\"edges\":"
		   "[{\"from\":\"a\\n\\t\\\"\\\\\\/\\u00e9\\ud83d\\ude00\",\"to\":\"B\"}]}");
	write_file(tmp("u2.json"), "{\"tool\":\"fencedep\",\"schema\":1,\"pid\":2,\"edges\":"
		   "[{\"from\":\"B\",\"to\":\"a\\n\\t\\\"\\\\/\\u00e9\\ud83d\\ude00\"}]}");
	struct run r = report("-f", "json", tmp("u1.json"), tmp("u2.json"), NULL);

	cr_assert_eq(r.status, 1, "stderr: %s", r.err);
	cr_assert_not_null(r.json, "%s", r.out);
	cr_assert_str_eq(str_at(r.json, "findings[0].cycle[0].to"),
			 "a\n\t\"\\/\xc3\xa9\xf0\x9f\x98\x80");
	run_free(&r);
}

Test(report, json_syntax_errors_have_line_and_column)
{
	/* the second document of the file, on its third line */
	expect_input_error("c.json", "{\"tool\":\"fencedep\",\"schema\":1}\n"
			   "{\"tool\":\"fencedep\",\n  \"schema\":1,\n  \"argv\": [1,\n   2,]\n}",
			   "5:6", "unexpected token");
	expect_input_error("s.json", "{\"tool\":\"fencedep\",\"schema\":1,\"pid\":\"\\ud800x\"}",
			   "1:45", "invalid Unicode");
	expect_input_error("u.json", "{\"tool\":\"fencedep\",\"schema\":1,\"pid\":\"\xff\"}",
			   "1:37", "unable to decode byte 0xff");
	expect_input_error("b.json", "{\"tool\":\"fencedep\",\"schema\":1,\"pid\":1e999}",
			   "1:41", "real number overflow");
	expect_input_error("i.json", "{\"tool\":\"fencedep\",\"schema\":1,\"pid\":99999999999999999999}",
			   "1:56", "too big integer");
}

Test(report, json_reader_handles_deep_nesting)
{
	size_t n = 100000, i;
	char *deep = malloc(n + 1);

	for (i = 0; i < n; i++)
		deep[i] = '[';
	deep[n] = '\0';
	write_file(tmp("deep.json"), deep);
	free(deep);
	struct run r = report(tmp("deep.json"), NULL);

	cr_assert_eq(r.status, 2, "stderr: %s", r.err);
	cr_assert_not_null(strstr(r.err, "deep.json:1:"), "%s", r.err);
	run_free(&r);
}

/* ---- long inputs: linear time, bounded memory ---- */

struct cost {
	int status;
	double cpu;		/* seconds, user + system */
	long grew_kb;		/* peak RSS above the parent's */
};

/* Run `fencedep report -o /dev/null ARGS` in a child and measure it. */
static struct cost measure(const char *file)
{
	const char *argv[] = { "report", "-o", "/dev/null", file, NULL };
	struct rusage self, child;
	struct cost c = { 0 };
	int status;
	pid_t pid;

	getrusage(RUSAGE_SELF, &self);
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (!pid)
		_exit(report_main(4, (char **)argv));
	cr_assert_eq(wait4(pid, &status, 0, &child), pid);
	c.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	c.cpu = child.ru_utime.tv_sec + child.ru_utime.tv_usec / 1e6 +
		child.ru_stime.tv_sec + child.ru_stime.tv_usec / 1e6;
	c.grew_kb = child.ru_maxrss - self.ru_maxrss;
	return c;
}

Test(report, forty_thousand_concatenated_reports_read_in_linear_time,
     .timeout = 120)
{
	char *one = slurp(data("abba_a.json"));
	FILE *f = fopen(tmp("many.json"), "w");
	struct cost c;
	int i;

	cr_assert_not_null(f);
	for (i = 0; i < 40000; i++)
		fputs(one, f);
	fclose(f);
	free(one);
	c = measure(tmp("many.json"));
	cr_assert_eq(c.status, 0);
	/* 38 s when each report re-scanned the text before it; ~1 s now */
	cr_assert_lt(c.cpu, 15.0, "%.1f s of CPU", c.cpu);
	cr_assert_lt(c.grew_kb, 200 * 1024, "%ld KB", c.grew_kb);
}

Test(report, a_long_report_is_read_in_bounded_memory, .timeout = 120)
{
	FILE *f = fopen(tmp("long.json"), "w");
	long size = 0, i;
	struct cost c;

	cr_assert_not_null(f);
	fputs("{\"tool\":\"fencedep\",\"schema\":1,\"pid\":7,\"edges\":[", f);
	for (i = 0; size < 40L << 20; i++) {
		int n = fprintf(f, "%s{\"from\":\"class_%ld\",\"to\":\"class_%ld\",\"type\":\"EN\","
				"\"stack\":[{\"pc\":\"0x%lx\",\"module\":\"/usr/lib/libm%ld.so\","
				"\"offset\":\"0x%lx\",\"function\":\"function_%ld\","
				"\"file\":\"/src/file%ld.c\",\"line\":%ld},"
				"{\"pc\":\"0x1\",\"module\":\"/usr/lib/libc.so.6\",\"offset\":\"0x1\","
				"\"function\":\"start_thread\"}]}",
				i ? "," : "", i % 3000, 3000 + (i * 7) % 3000, i, i % 7,
				i, i % 500, i % 50, i % 1000);
		size += n;
	}
	fputs("]}", f);
	fclose(f);
	c = measure(tmp("long.json"));
	cr_assert_eq(c.status, 0);
	/*
	 * 40 MB of edges: the text is mapped (40 MB), the model is ~15 MB;
	 * a parse tree of the whole document took ~300 MB.
	 */
	cr_assert_lt(c.grew_kb, 120 * 1024, "%ld KB", c.grew_kb);
}

/* ---- input that attacks its reader ---- */

/* A two-process cycle whose names and class kind are hostile. */
static void write_hostile(void)
{
	static const char a[] = "\"A\\u001b]8;;http://evil/\\u0007x\\u001b[2J\"";
	static const char b[] = "\"B\\u009b31m\\\"><script>alert(1)</script>\"";
	static const char kind[] = "\"mutex\\\", URL=\\\"javascript:alert(1)\\\" x=\\\"<img src=x onerror=alert(2)>\"";
	char buf[2048];

	snprintf(buf, sizeof(buf), "{\"tool\":\"fencedep\",\"schema\":1,\"pid\":1,"
		 "\"classes\":[{\"name\":%s,\"kind\":%s},{\"name\":%s,\"kind\":%s}],"
		 "\"edges\":[{\"from\":%s,\"to\":%s,\"stack\":[{\"function\":\"f\\u001b[1m\","
		 "\"file\":\"a.c\",\"line\":1}]}]}", a, kind, b, kind, a, b);
	write_file(tmp("h1.json"), buf);
	snprintf(buf, sizeof(buf), "{\"tool\":\"fencedep\",\"schema\":1,\"pid\":2,"
		 "\"edges\":[{\"from\":%s,\"to\":%s,\"stack\":[{\"function\":\"g\","
		 "\"file\":\"b.c\",\"line\":2}]}]}", b, a);
	write_file(tmp("h2.json"), buf);
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\n') || *s == 0x7f ||
		    ((unsigned char)s[0] == 0xc2 && (unsigned char)s[1] >= 0x80 &&
		     (unsigned char)s[1] <= 0x9f))
			return true;
	return false;
}

Test(report, hostile_names_reach_no_terminal_raw)
{
	struct run r;

	write_hostile();
	r = report(tmp("h1.json"), tmp("h2.json"), NULL);
	cr_assert_eq(r.status, 1, "stderr: %s", r.err);
	cr_assert_not(has_control(r.out), "a control character in: %s", r.out);
	cr_assert_not_null(strstr(r.out, "A\\x1b]8;;http://evil/\\x07x\\x1b[2J"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "B\\xc2\\x9b31m"), "%s", r.out);
	run_free(&r);
}

Test(report, hostile_names_are_escaped_in_html_and_dot)
{
	struct run html, dot;
	const char *p;

	write_hostile();
	html = report("-f", "html", tmp("h1.json"), tmp("h2.json"), NULL);
	dot = report("-f", "dot", tmp("h1.json"), tmp("h2.json"), NULL);
	cr_assert_eq(html.status, 1, "stderr: %s", html.err);
	cr_assert_null(strstr(html.out, "<script"));
	cr_assert_null(strstr(html.out, "<img"));
	cr_assert_not(has_control(html.out));
	cr_assert_not_null(strstr(html.out, "&lt;img src=x onerror=alert(2)&gt;"));
	cr_assert_eq(dot.status, 1, "stderr: %s", dot.err);
	cr_assert_null(strstr(dot.out, "URL=\"javascript"), "%s", dot.out);
	cr_assert_not_null(strstr(dot.out, "tooltip=\"mutex\\\", URL=\\\"javascript"), "%s", dot.out);
	cr_assert_not(has_control(dot.out));
	/* every string in DOT is closed where it should be: quotes balance per line */
	for (p = dot.out; *p; p = strchr(p, '\n') + 1) {
		const char *q, *end = strchr(p, '\n');
		int n = 0;

		for (q = p; q < end; q++)
			if (*q == '"' && q[-1] != '\\')
				n++;
		cr_assert_eq(n % 2, 0, "unbalanced: %.*s", (int)(end - p), p);
	}
	run_free(&html);
	run_free(&dot);
}

Test(report, hostile_names_keep_json_and_sarif_valid)
{
	struct run json, sarif;

	write_hostile();
	json = report("-f", "json", tmp("h1.json"), tmp("h2.json"), NULL);
	sarif = report("-f", "sarif", tmp("h1.json"), tmp("h2.json"), NULL);
	cr_assert_not_null(json.json, "%s", json.out);
	cr_assert_not_null(sarif.json, "%s", sarif.out);
	cr_assert_str_eq(str_at(json.json, "findings[0].cycle[0].to"),
			 "B\xc2\x9b" "31m\"><script>alert(1)</script>");
	run_free(&json);
	run_free(&sarif);
}

Test(report, counts_saturate_when_merged)
{
	const char *fmt = "{\"tool\":\"fencedep\",\"schema\":1,\"pid\":%d,\"findings\":"
			  "[{\"kind\":\"hang\",\"fingerprint\":\"0123456789abcdef\",\"count\":%ld}],"
			  "\"stats\":{\"acquisitions\":%ld}}";
	char buf[512];
	struct run text, json, again;

	snprintf(buf, sizeof(buf), fmt, 1, LONG_MAX - 1, LONG_MAX);
	write_file(tmp("c1.json"), buf);
	snprintf(buf, sizeof(buf), fmt, 2, 5L, 5L);
	write_file(tmp("c2.json"), buf);
	text = report(tmp("c1.json"), tmp("c2.json"), NULL);
	cr_assert_not_null(strstr(text.out, "seen 9223372036854775807 times"), "%s", text.out);
	cr_assert_null(strstr(text.out, "seen -"));
	json = report("-f", "json", tmp("c1.json"), tmp("c2.json"), NULL);
	cr_assert_eq(num_at(json.json, "findings[0].count"), LONG_MAX);
	write_file(tmp("merged.json"), json.out);
	again = report(tmp("merged.json"), tmp("c2.json"), NULL);
	cr_assert_eq(again.status, 1, "the output reads again: %s", again.err);
	run_free(&text);
	run_free(&json);
	run_free(&again);
}

Test(report, sarif_rules_of_many_unknown_kinds_in_linear_time, .timeout = 120)
{
	FILE *f = fopen(tmp("kinds.json"), "w");
	const char *argv[] = { "report", "-f", "sarif", "-o", tmp("kinds.sarif"),
			       tmp("kinds.json"), NULL };
	struct rusage ru;
	double cpu;
	pid_t pid;
	int i, status;
	char *out;
	json_t *log;

	cr_assert_not_null(f);
	fputs("{\"tool\":\"fencedep\",\"schema\":1,\"findings\":[", f);
	for (i = 0; i < 3000; i++)
		fprintf(f, "%s{\"kind\":\"future-kind-%d\"}", i ? "," : "", i);
	fputs("]}", f);
	fclose(f);
	fflush(NULL);
	pid = fork();
	if (!pid)
		_exit(report_main(6, (char **)argv));
	cr_assert_eq(wait4(pid, &status, 0, &ru), pid);
	cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	/* one rule lookup was a scan of all findings before it: ~10^10 steps */
	cr_assert_lt(cpu, 10.0, "%.1f s", cpu);
	out = slurp(tmp("kinds.sarif"));
	log = json_loads(out, 0, NULL);
	cr_assert_not_null(log);
	cr_assert_str_eq(str_at(log, "runs[0].results[2999].ruleId"), "future-kind-2999");
	cr_assert_str_eq(str_at(json_array_get(path(log, "runs[0].tool.driver.rules"),
					       num_at(log, "runs[0].results[2999].ruleIndex")),
				"id"), "future-kind-2999");
	json_decref(log);
	free(out);
}

Test(report, glob_is_linear_on_a_long_name, .timeout = 60)
{
	char *name = malloc(200001), pat[200];
	struct rusage a, b;
	int i, n = 0;

	memset(name, 'a', 200000);
	name[200000] = '\0';
	for (i = 0; i < 40; i++) {
		pat[n++] = '*';
		pat[n++] = 'a';
	}
	pat[n++] = '*';
	pat[n++] = 'b';
	pat[n] = '\0';
	getrusage(RUSAGE_SELF, &a);
	cr_assert_not(suppress_glob(pat, name));
	name[199999] = 'b';
	cr_assert(suppress_glob(pat, name));
	getrusage(RUSAGE_SELF, &b);
	cr_assert_lt(b.ru_utime.tv_sec - a.ru_utime.tv_sec, 2);
	free(name);
}

/* ---- reading the report: summary, frames shown, closing edge ---- */

/* A process that saw the whole cycle, closing edge first; its stacks end
 * in the runtime's and libc's thread start. */
static void write_closed_cycle(void)
{
	static const char start[] =
		"{\"pc\":\"0x7f01\",\"module\":\"/usr/lib/libfencedep.so.0\",\"offset\":\"0x1f0c\","
		"\"function\":\"thread_start\",\"file\":\"/src/fencedep/preload/thread.c\",\"line\":48},"
		"{\"pc\":\"0x7f02\",\"module\":\"/usr/lib/x86_64-linux-gnu/libc.so.6\",\"offset\":\"0x891f5\","
		"\"function\":\"start_thread\",\"file\":\"./nptl/pthread_create.c\",\"line\":442},"
		"{\"pc\":\"0x7f03\",\"module\":\"/usr/lib/x86_64-linux-gnu/libc.so.6\",\"offset\":\"0x1098ec\","
		"\"function\":\"__clone3\"}";
	char buf[4096];

	snprintf(buf, sizeof(buf),
		 "{\"tool\":\"fencedep\",\"schema\":1,\"pid\":5,\"argv\":[\"./bank\"],"
		 "\"findings\":[{\"kind\":\"lock-order-inversion\",\"title\":\"possible circular "
		 "locking dependency\",\"fingerprint\":\"00112233aabbccdd\",\"count\":1,"
		 "\"cycle\":[{\"from\":\"B\",\"to\":\"A\",\"type\":\"EN\",\"stack\":["
		 "{\"pc\":\"0x1\",\"module\":\"/bin/bank\",\"offset\":\"0x1\",\"function\":\"backward\","
		 "\"file\":\"/src/bank.c\",\"line\":44},%s]},"
		 "{\"from\":\"A\",\"to\":\"C\",\"type\":\"EN\",\"stack\":["
		 "{\"pc\":\"0x2\",\"module\":\"/bin/bank\",\"offset\":\"0x2\",\"function\":\"forward\","
		 "\"file\":\"/src/bank.c\",\"line\":37},%s]},"
		 "{\"from\":\"C\",\"to\":\"B\",\"type\":\"SR\",\"stack\":["
		 "{\"pc\":\"0x3\",\"module\":\"/bin/bank\",\"offset\":\"0x3\",\"function\":\"audit\","
		 "\"file\":\"/src/bank.c\",\"line\":51},%s]}],"
		 "\"stack\":[{\"pc\":\"0x1\",\"module\":\"/bin/bank\",\"offset\":\"0x1\","
		 "\"function\":\"backward\",\"file\":\"/src/bank.c\",\"line\":44},%s]}]}",
		 start, start, start, start);
	write_file(tmp("closed.json"), buf);
}

/*
 * HTML: --source-url links each frame under --srcroot (the path
 * percent-encoded, the whole address escaped in the attribute), not a
 * frame outside it; library frames (a system header's, libstdc++'s) fold
 * below the program's; the scenario and the kind's fix hint are there.
 */
Test(report, html_links_sources_folds_library_frames_with_scenario_and_fix)
{
	static const char json[] =
		"{\"tool\":\"fencedep\",\"schema\":1,\"pid\":7,\"argv\":[\"./bank\"],"
		"\"classes\":[{\"name\":\"A\",\"kind\":\"mutex\"},{\"name\":\"B\",\"kind\":\"mutex\"}],"
		"\"findings\":[{\"kind\":\"lock-order-inversion\",\"fingerprint\":\"0123456789abcdef\","
		"\"count\":1,\"cycle\":[{\"from\":\"B\",\"to\":\"A\",\"type\":\"EN\",\"stack\":["
		"{\"pc\":\"0x1\",\"module\":\"/bin/bank\",\"offset\":\"0x1\","
		"\"function\":\"std::mutex::lock()\",\"file\":\"/usr/include/c++/12/bits/std_mutex.h\","
		"\"line\":100},"
		"{\"pc\":\"0x2\",\"module\":\"/bin/bank\",\"offset\":\"0x2\","
		"\"function\":\"bank::Ledger::debit()\",\"file\":\"/src/bank/my ledger#1.cc\",\"line\":44},"
		"{\"pc\":\"0x3\",\"module\":\"/usr/lib/x86_64-linux-gnu/libstdc++.so.6\","
		"\"offset\":\"0xd44a3\"}]},"
		"{\"from\":\"A\",\"to\":\"B\",\"type\":\"EN\",\"stack\":["
		"{\"pc\":\"0x4\",\"module\":\"/bin/bank\",\"offset\":\"0x4\","
		"\"function\":\"bank::Ledger::credit()\",\"file\":\"/other/x.cc\",\"line\":9}]}],"
		"\"held\":[],\"stack\":[]}]}";
	struct run r, bad, nopath;

	write_file(tmp("lib.json"), json);
	r = report("-f", "html", "--srcroot=/src", "--source-url",
		   "https://git.example/r/blob/main/{path}?x=1&y=\"#L{line}", tmp("lib.json"), NULL);
	cr_assert_eq(r.status, 1, "stderr: %s", r.err);
	cr_assert_not_null(strstr(r.out, "<a class=\"src\" href=\"https://git.example/r/blob/main/"
					 "bank/my%20ledger%231.cc?x=1&amp;y=&quot;#L44\">"
					 "/src/bank/my ledger#1.cc:44</a>"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "<span class=\"src\">/other/x.cc:9</span>"),
			   "outside --srcroot: no link");
	cr_assert_not_null(strstr(r.out, "<details class=\"lib\"><summary>2 library and thread "
					 "start frames</summary>"), "%s", r.out);
	cr_assert(strstr(r.out, "std::mutex::lock()") > strstr(r.out, "bank::Ledger::debit()"),
		  "the system header's frame is folded below the program's");
	cr_assert_not_null(strstr(r.out, "<pre class=\"scenario\">   this thread"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "   *** DEADLOCK ***\n</pre>"));
	cr_assert_not_null(strstr(r.out, "<p class=\"fix\"><b>How to fix:</b> Take the locks in one "
					 "order everywhere"));
	bad = report("-f", "html", "--source-url=javascript:alert(1)//{path}", tmp("lib.json"), NULL);
	cr_assert_eq(bad.status, 2);
	cr_assert_not_null(strstr(bad.err, "--source-url: 'javascript:alert(1)//{path}' is not an "
					   "http://, https:// or file:// address"), "%s", bad.err);
	nopath = report("-f", "html", "--source-url=https://x/", tmp("lib.json"), NULL);
	cr_assert_eq(nopath.status, 2);
	cr_assert_not_null(strstr(nopath.err, "has no {path}"), "%s", nopath.err);
	run_free(&r);
	run_free(&bad);
	run_free(&nopath);
}

Test(report, text_ends_each_finding_with_summary_and_suppression)
{
	struct run r, sup;

	write_closed_cycle();
	r = report(tmp("closed.json"), NULL);
	cr_assert_eq(r.status, 1, "stderr: %s", r.err);
	cr_assert_not_null(strstr(r.out, "\nSUMMARY: fencedep: lock-order-inversion B -> A -> C -> B "
				  "/src/bank.c:44 in backward\n"
				  "suppress it with the line: lock-order-inversion:fingerprint:"
				  "00112233aabbccdd\n"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "Chain exists of:\n    B --> A --> C --> B\n"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "X how A is held, E exclusive or S shared"));
	/* the suppression line given works as it is */
	write_file(tmp("sup"), "lock-order-inversion:fingerprint:00112233aabbccdd\n");
	sup = report("--suppressions", tmp("sup"), tmp("closed.json"), NULL);
	cr_assert_eq(sup.status, 0, "%s", sup.out);
	run_free(&r);
	run_free(&sup);
}

Test(report, thread_start_frames_are_hidden_unless_verbose)
{
	struct run r, v;

	write_closed_cycle();
	r = report(tmp("closed.json"), NULL);
	v = report("-v", tmp("closed.json"), NULL);
	cr_assert_not_null(strstr(r.out, "#0 backward"));
	cr_assert_null(strstr(r.out, "thread_start"), "%s", r.out);
	cr_assert_null(strstr(r.out, "start_thread"));
	cr_assert_null(strstr(r.out, "__clone3"));
	cr_assert_not_null(strstr(v.out, "#1 thread_start"), "%s", v.out);
	cr_assert_not_null(strstr(v.out, "#2 start_thread"));
	cr_assert_not_null(strstr(v.out, "#3 __clone3"));
	run_free(&r);
	run_free(&v);
}

Test(report, html_marks_the_closing_edge_and_folds_thread_start)
{
	struct run r, merged, reclaim;
	const char *closing, *first;

	write_closed_cycle();
	r = report("-f", "html", tmp("closed.json"), NULL);
	closing = strstr(r.out, "<div class=\"dep closing\"><h3>");
	first = strstr(r.out, "<div class=\"dep");
	cr_assert_not_null(closing, "%s", r.out);
	cr_assert_eq(closing, first, "the first dependency closed the cycle");
	cr_assert(!strncmp(closing + strlen("<div class=\"dep closing\"><h3>"), "B -(EN)-&gt; A", 14));
	cr_assert_null(strstr(strstr(r.out, "closes the cycle") + 1, "closes the cycle"),
		       "only one dependency closes the cycle");
	cr_assert_not_null(strstr(r.out, "<details class=\"lib\"><summary>3 thread start frames"));
	cr_assert_not_null(strstr(r.out, "SUMMARY: fencedep: lock-order-inversion B -&gt; A"));
	cr_assert_not_null(strstr(r.out, "Two or more locks are taken in opposite orders"),
			   "the kind's fix hint");
	cr_assert_not_null(strstr(r.out, "class=\"legend\""));
	cr_assert_not_null(strstr(r.out, "acquisitions 0"), "per-process statistics");
	/* a cycle found by merging was closed by no one */
	merged = report("-f", "html", data("abba_a.json"), data("abba_b.json"), NULL);
	cr_assert_null(strstr(merged.out, "closes the cycle"));
	cr_assert_null(strstr(merged.out, "dep closing"));
	reclaim = report("-f", "html", data("fence_a.json"), data("fence_b.json"), NULL);
	cr_assert_null(strstr(reclaim.out, "dep closing"));
	run_free(&r);
	run_free(&merged);
	run_free(&reclaim);
}

Test(report, sarif_locates_in_the_program_not_the_runtime_or_libc)
{
	write_file(tmp("s1.json"), "{\"tool\":\"fencedep\",\"schema\":1,\"pid\":1,\"findings\":[{"
		   "\"kind\":\"lock-held-at-thread-exit\",\"held\":[{\"class\":\"A\"}],\"stack\":["
		   "{\"pc\":\"0x1\",\"module\":\"/usr/lib/libfencedep.so.0\",\"offset\":\"0x1\","
		   "\"function\":\"thread_start\",\"file\":\"preload/thread.c\",\"line\":48},"
		   "{\"pc\":\"0x2\",\"module\":\"/usr/lib/x86_64-linux-gnu/libc.so.6\",\"offset\":\"0x2\","
		   "\"function\":\"start_thread\",\"file\":\"./nptl/pthread_create.c\",\"line\":442},"
		   "{\"pc\":\"0x3\",\"module\":\"/usr/bin/stripped\",\"offset\":\"0x3\","
		   "\"function\":\"worker\"}]}]}");
	struct run r = report("-f", "sarif", tmp("s1.json"), NULL);
	json_t *loc;

	cr_assert_eq(r.status, 1, "stderr: %s", r.err);
	loc = path(r.json, "runs[0].results[0].locations[0]");
	cr_assert_null(json_object_get(loc, "physicalLocation"), "not preload/thread.c");
	cr_assert_str_eq(str_at(loc, "logicalLocations[0].name"), "worker");
	run_free(&r);
}

Test(report, version_option)
{
	struct run r = report("--version", NULL);

	cr_assert_eq(r.status, 0);
	run_free(&r);
}

/* ---- DOT and colour ---- */

Test(report, dot_has_a_legend_a_colour_per_finding_and_tooltips)
{
	struct run r = report("-f", "dot", data("abba_a.json"), data("abba_b.json"),
			      data("fence_a.json"), data("fence_b.json"), NULL);

	cr_assert_eq(r.status, 1, "stderr: %s", r.err);
	cr_assert_not_null(strstr(r.out, "subgraph cluster_legend {"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "legend_fence [label=\"fence\", shape=octagon"));
	cr_assert_not_null(strstr(r.out, "color=\"#c0392b\""), "the first finding's colour");
	cr_assert_not_null(strstr(r.out, "color=\"#2471a3\""), "the second finding's colour");
	cr_assert_not_null(strstr(r.out, "tooltip=\"lock-order-inversion: ledger.c:77 in audit\""),
			   "%s", r.out);
	cr_assert_not_null(strstr(r.out, "tooltip=\"mutex\""));
	run_free(&r);
}

Test(report, text_colour_only_when_asked_or_on_a_terminal)
{
	struct run always = report("--color=always", data("abba_a.json"), data("abba_b.json"), NULL);
	struct run never = report("--color=never", data("abba_a.json"), data("abba_b.json"), NULL);
	struct run file = report(data("abba_a.json"), data("abba_b.json"), NULL);
	struct run bad = report("--color=sometimes", data("abba_a.json"), NULL);

	cr_assert_not_null(strstr(always.out, "\033[1;31mfencedep: lock-order-inversion:"),
			   "%s", always.out);
	cr_assert_not_null(strstr(always.out, "\033[1mSUMMARY: fencedep:"));
	cr_assert_null(strchr(never.out, '\033'));
	cr_assert_null(strchr(file.out, '\033'), "auto: a file gets no colour");
	cr_assert_eq(bad.status, 2);
	run_free(&always);
	run_free(&never);
	run_free(&file);
	run_free(&bad);
}
