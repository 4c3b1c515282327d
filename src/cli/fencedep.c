/*
 * fencedep.c - the fencedep command: run a program under the checker, or
 * (fencedep report) merge, render and gate reports.
 *
 * Running a program means preloading libfencedep.so and passing options in
 * FENCEDEP_OPTIONS; the program is exec'd, so its exit status, signals and
 * output are its own - except that the runtime exits with `exitcode` (66)
 * when it reported a finding.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"

#ifndef FDEP_LIBDIR
#define FDEP_LIBDIR "/usr/local/lib"
#endif

static void usage(FILE *out)
{
	fputs("usage: fencedep [OPTIONS] [--] PROGRAM [ARGS...]\n"
	      "       fencedep report [OPTIONS] FILE...   (see fencedep report --help)\n\n"
	      "Run PROGRAM under the fencedep checker.\n\n"
	      "  --error-exitcode=N  exit status when a finding was reported (default 66, 0: off)\n"
	      "  --log-path=PATH     text report to PATH.<pid>.log (default stderr)\n"
	      "  --json-path=PATH    JSON report to PATH.<pid>.json\n"
	      "  --options=STRING    more runtime options, key=value:key=value\n"
	      "  --gdb               run PROGRAM under gdb, stopping at the first finding\n"
	      "  --help, --version\n\n"
	      "Runtime options (FENCEDEP_OPTIONS=key=value:key=value):\n",
	      out);
#define OPT_STRING(n, d, h) fprintf(out, "  %-16s %s (default \"%s\")\n", #n, h, d);
#define OPT_INT(n, d, lo, hi, h) fprintf(out, "  %-16s %s (default %d)\n", #n, h, d);
#define OPT_BOOL(n, d, h) fprintf(out, "  %-16s %s (default %d)\n", #n, h, d);
#define OPT_ENUM(n, d, c, h) fprintf(out, "  %-16s %s: %s (default %s)\n", #n, h, c, d);
#include "options.def"
#undef OPT_STRING
#undef OPT_INT
#undef OPT_BOOL
#undef OPT_ENUM
}

/* The option list of fencedep(1), in roff, from the same table. */
static void man_options(void)
{
	puts(".SS Runtime option list");
#define OPT_STRING(n, d, h) printf(".TP\n.BI %s= path\n%s (default \\(lq%s\\(rq).\n", #n, h, d);
#define OPT_INT(n, d, lo, hi, h) \
	printf(".TP\n.BI %s= N\n%s (default %d, from %d to %d).\n", #n, h, d, lo, hi);
#define OPT_BOOL(n, d, h) printf(".TP\n.BR %s= 0|1\n%s (default %d).\n", #n, h, d);
#define OPT_ENUM(n, d, c, h) printf(".TP\n.BR %s= %s\n%s (default %s).\n", #n, c, h, d);
#include "options.def"
#undef OPT_STRING
#undef OPT_INT
#undef OPT_BOOL
#undef OPT_ENUM
}

static int exists(const char *p)
{
	return access(p, R_OK) == 0;
}

/* The runtime: $FENCEDEP_LIBRARY, the build tree beside this command, or
 * the installed one. */
static const char *library_path(void)
{
	static char path[PATH_MAX + 64];
	char exe[PATH_MAX];
	const char *env = getenv("FENCEDEP_LIBRARY");

	if (env && *env)
		return env;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = 0;
		snprintf(path, sizeof(path), "%s/../../.libs/libfencedep.so", exe);
		if (exists(path))
			return path;
		snprintf(path, sizeof(path), "%s/../lib/libfencedep.so", exe);
		if (exists(path))
			return path;
	}
	return FDEP_LIBDIR "/libfencedep.so";
}

static void append(char *buf, size_t len, const char *item)
{
	size_t used = strlen(buf);

	snprintf(buf + used, len - used, "%s%s", used ? ":" : "", item);
}

static const char *value_of(const char *arg, const char *flag)
{
	size_t n = strlen(flag);

	return strncmp(arg, flag, n) == 0 && arg[n] == '=' ? arg + n + 1 : NULL;
}

int main(int argc, char **argv)
{
	char opts[8192] = "", item[4200];
	int gdb = 0, i;
	const char *v;

	if (argc > 1 && strcmp(argv[1], "report") == 0)
		return report_main(argc - 1, argv + 1);
	const char *env = getenv("FENCEDEP_OPTIONS");
	if (env)
		snprintf(opts, sizeof(opts), "%s", env);
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			i++;
			break;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--version")) {
			puts("fencedep " PACKAGE_VERSION);
			return 0;
		} else if (!strcmp(a, "--print-man-options")) {
			man_options();
			return 0;
		} else if (!strcmp(a, "--gdb")) {
			gdb = 1;
		} else if ((v = value_of(a, "--error-exitcode"))) {
			char *end;
			long n = strtol(v, &end, 10);
			if (!*v || *end || n < 0 || n > 255) {
				fprintf(stderr, "fencedep: --error-exitcode: '%s' is not 0..255\n", v);
				return 2;
			}
			snprintf(item, sizeof(item), "exitcode=%ld", n);
			append(opts, sizeof(opts), item);
		} else if ((v = value_of(a, "--log-path"))) {
			snprintf(item, sizeof(item), "log_path=%s", v);
			append(opts, sizeof(opts), item);
		} else if ((v = value_of(a, "--json-path"))) {
			snprintf(item, sizeof(item), "json_path=%s", v);
			append(opts, sizeof(opts), item);
		} else if ((v = value_of(a, "--options"))) {
			append(opts, sizeof(opts), v);
		} else {
			fprintf(stderr, "fencedep: unknown option '%s' (see fencedep --help)\n", a);
			return 2;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "fencedep: no program to run (see fencedep --help)\n");
		return 2;
	}
	const char *lib = library_path();
	if (!exists(lib)) {
		fprintf(stderr, "fencedep: runtime library '%s' not found (set FENCEDEP_LIBRARY)\n", lib);
		return 2;
	}
	if (gdb)
		append(opts, sizeof(opts), "abort_on_report=1");
	setenv("FENCEDEP_OPTIONS", opts, 1);
	if (gdb) {
		/* the runtime goes into the program only, not into gdb */
		snprintf(item, sizeof(item), "set environment LD_PRELOAD=%s", lib);
		char **args = calloc((size_t)(argc - i + 8), sizeof(*args));
		int k = 0;
		args[k++] = "gdb";
		args[k++] = "-q";
		args[k++] = "-ex";
		args[k++] = item;
		args[k++] = "-ex";
		args[k++] = "run";
		args[k++] = "--args";
		for (int j = i; j < argc; j++)
			args[k++] = argv[j];
		execvp("gdb", args);
		fprintf(stderr, "fencedep: cannot run gdb: %s\n", strerror(errno));
		return 127;
	}
	const char *pre = getenv("LD_PRELOAD");
	if (pre && *pre) {
		snprintf(item, sizeof(item), "%s:%s", lib, pre);
		setenv("LD_PRELOAD", item, 1);
	} else {
		setenv("LD_PRELOAD", lib, 1);
	}
	execvp(argv[i], argv + i);
	fprintf(stderr, "fencedep: cannot run '%s': %s\n", argv[i], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
