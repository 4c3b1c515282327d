/*
 * harness.h - run a program under the preloaded runtime and read what it
 * reported.  Shared by the criterion suites in tests/.
 *
 * The runtime library is found through $FENCEDEP_LIBRARY and test programs
 * through $FDEP_TEST_BINDIR (both set by tests/local.mk).
 */
#ifndef FDEP_TEST_HARNESS_H
#define FDEP_TEST_HARNESS_H

#include <stddef.h>

struct harness_run {
	int status;    /* exit status, or 128 + signal number */
	char *json;    /* every per-process JSON report, concatenated ("" if none) */
	char *log;     /* the text report (log_path), "" if none */
	char *out;     /* the program's stdout */
	char *err;     /* the program's stderr */
	int nreports;  /* how many PATH.<pid>.json files were written */
};

/*
 * Run argv[0] (a path, or a name under $FDEP_TEST_BINDIR) with argv under
 * LD_PRELOAD=libfencedep.so and FENCEDEP_OPTIONS set to
 * "json_path=<tmp>/r:log_path=<tmp>/log" followed by ":" opts when opts is
 * not NULL or empty.  Pass preload = 0 to run natively (no runtime at all).
 * Returns 0, or -1 when the program could not be started.
 */
int harness_run_opts(int preload, const char *opts, char *const argv[], struct harness_run *r);
#define harness_run(opts, argv, r) harness_run_opts(1, (opts), (argv), (r))

/* When above zero, a program still running after this many seconds is
 * killed (status 128 + SIGKILL); its reports are collected all the same. */
extern double harness_timeout_s;

/* When not NULL, a library preloaded after the runtime (LD_PRELOAD is
 * "runtime extra"), e.g. another malloc. */
extern const char *harness_extra_preload;

/* Number of findings of that kind in r->json ("kind": "<kind>"). */
int harness_count(const char *json, const char *kind);
/* Number of findings of any kind. */
int harness_findings(const char *json);
void harness_free(struct harness_run *r);
/* Path of a test program: $FDEP_TEST_BINDIR/name (static buffer). */
const char *harness_prog(const char *name);

#endif
