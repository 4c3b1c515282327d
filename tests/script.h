/*
 * script.h - run one fdep-script scenario (see tests/progs/fdep-script.c)
 * under the checker, for the suites that pin the model down.
 */
#ifndef FDEP_TEST_SCRIPT_H
#define FDEP_TEST_SCRIPT_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* Split script on spaces and run fdep-script with it; opts as harness_run. */
static inline struct harness_run script_opts(int preload, const char *opts, const char *script)
{
	static char buf[65536];
	char *argv[4096];
	int n = 0;
	struct harness_run r;

	snprintf(buf, sizeof(buf), "%s", script);
	argv[n++] = "fdep-script";
	for (char *tok = strtok(buf, " "); tok && n < 4095; tok = strtok(NULL, " "))
		argv[n++] = tok;
	argv[n] = NULL;
	/* a scenario takes milliseconds: one that hangs is killed and fails */
	double limit = harness_timeout_s;
	if (!limit)
		harness_timeout_s = 60;
	if (harness_run_opts(preload, opts, argv, &r))
		memset(&r, 0, sizeof(r));
	harness_timeout_s = limit;
	return r;
}

#define script(s) script_opts(1, NULL, (s))

/* Run the scenario and expect exactly n findings, all of that kind, and
 * the exit status that goes with them. */
static inline void script_expect(const char *opts, const char *s, const char *kind, int n)
{
	struct harness_run r = script_opts(1, opts, s);

	cr_assert_str_eq(r.out, "done\n", "the scenario ran: %s", r.err);
	cr_expect_eq(harness_count(r.json, kind), n, "%s: %d x %s expected in\n%s", s, n, kind,
		     r.log);
	cr_expect_eq(harness_findings(r.json), n, "%s: only %s expected in\n%s", s, kind, r.log);
	cr_expect_eq(r.status, n ? 66 : 0, "%s", s);
	harness_free(&r);
}

#define expect(s, kind, n) script_expect(NULL, (s), (kind), (n))

/* A number from the JSON stats, e.g. json_stat(json, "chain_hits"). */
static inline long json_stat(const char *json, const char *key)
{
	char needle[64];

	snprintf(needle, sizeof(needle), "\"%s\": ", key);
	const char *p = json ? strstr(json, "\"stats\"") : NULL;
	p = p ? strstr(p, needle) : NULL;
	return p ? strtol(p + strlen(needle), NULL, 10) : -1;
}

#endif
