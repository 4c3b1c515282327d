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

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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
	      "  --library=PATH      the runtime library to preload (default: the installed one)\n"
	      "  --suppressions=FILE hide the findings matching the kind:pattern rules of FILE\n"
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

/*
 * Is this the command of the build tree (not an installed copy)?  Only
 * then may it preload the build tree's runtime: an installed command that
 * looked for a library relative to itself would preload whatever anyone
 * who can write there put there.  The build tree's own paths are compiled
 * in; a copy of the command anywhere else is not the build tree's.
 */
static int in_build_tree(void)
{
#ifdef FDEP_BUILD_EXE
	char self[PATH_MAX], built[PATH_MAX];

	return realpath("/proc/self/exe", self) && realpath(FDEP_BUILD_EXE, built) &&
	       strcmp(self, built) == 0;
#else
	return 0;
#endif
}

/* The runtime: --library, $FENCEDEP_LIBRARY, the build tree's for the
 * build tree's command, or the installed one. */
static const char *library_path(const char *option)
{
	const char *env = getenv("FENCEDEP_LIBRARY");

	if (option)
		return option;
	if (env && *env)
		return env;
#ifdef FDEP_BUILD_LIBRARY
	if (in_build_tree())
		return FDEP_BUILD_LIBRARY;
#endif
	return FDEP_LIBDIR "/libfencedep.so";
}

/* FENCEDEP_OPTIONS as it grows: any length. */
struct opts {
	char *s;
	size_t len;
};

static void opts_add(struct opts *o, const char *item)
{
	size_t n = strlen(item);
	char *s;

	if (!n)
		return;
	s = realloc(o->s, o->len + n + 2);
	if (!s) {
		fprintf(stderr, "fencedep: out of memory\n");
		exit(2);
	}
	if (o->len)
		s[o->len++] = ':';
	memcpy(s + o->len, item, n + 1);
	o->len += n;
	o->s = s;
}

/* key=value into the options; a value with ':' cannot travel there. */
static int opts_add_value(struct opts *o, const char *flag, const char *key, const char *v)
{
	char *item;

	if (strchr(v, ':')) {
		fprintf(stderr, "fencedep: %s: '%s' contains ':', which FENCEDEP_OPTIONS cannot pass\n",
			flag, v);
		return -1;
	}
	if (asprintf(&item, "%s=%s", key, v) < 0) {
		fprintf(stderr, "fencedep: out of memory\n");
		return -1;
	}
	opts_add(o, item);
	free(item);
	return 0;
}

static const char *value_of(const char *arg, const char *flag)
{
	size_t n = strlen(flag);

	return strncmp(arg, flag, n) == 0 && arg[n] == '=' ? arg + n + 1 : NULL;
}

/* The file execvp would run for name, in path (NULL: not found). */
static const char *find_program(const char *name, char *path, size_t len)
{
	const char *dirs = getenv("PATH");

	if (strchr(name, '/'))
		return snprintf(path, len, "%s", name) < (int)len ? path : NULL;
	if (!dirs)
		dirs = "/bin:/usr/bin";
	for (const char *d = dirs;; d++) {
		size_t n = strcspn(d, ":");
		snprintf(path, len, "%.*s%s%s", (int)n, d, n ? "/" : "", name);
		if (access(path, X_OK) == 0)
			return path;
		d += n;
		if (!*d)
			return NULL;
	}
}

/* An ELF executable without an interpreter: the loader, which does the
 * preloading, never runs for it. */
static int statically_linked(const char *path)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int fd = open(path, O_RDONLY | O_CLOEXEC), interp = 0;

	if (fd < 0)
		return 0;
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(ph)) {
		close(fd);
		return 0;
	}
	for (unsigned i = 0; i < eh.e_phnum && !interp; i++) {
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (Elf64_Off)i * sizeof(ph))) !=
		    sizeof(ph))
			break;
		interp = ph.p_type == PT_INTERP;
	}
	close(fd);
	return !interp;
}

/* Why the runtime may not get into the program, as far as the file says. */
static const char *likely_reason(const char *prog)
{
	char path[PATH_MAX];
	struct stat st;

	if (!find_program(prog, path, sizeof(path)) || stat(path, &st))
		return "";
	if (((st.st_mode & S_ISUID) && st.st_uid != geteuid()) ||
	    ((st.st_mode & S_ISGID) && st.st_gid != getegid()))
		return ": it is setuid or setgid, and the loader ignores LD_PRELOAD for it";
	if (statically_linked(path))
		return ": it is statically linked";
	return " (it cleared LD_PRELOAD, or the loader refused the runtime)";
}

/*
 * Warn when the runtime does not get into the program.  The program keeps
 * this process (its pid, signals and exit status are its own), so the
 * watching is done by a grandchild, which the program never sees as its
 * child: it holds the read end of a pipe whose write end the program
 * inherits, named in FENCEDEP_ACK.  The runtime writes one byte there and
 * closes it as it starts (select.c); when the pipe closes without it (the
 * program and whatever inherited the pipe are gone), the program ran
 * unchecked and the watcher says so, once, on standard error.  Returns the
 * write end, or -1 when the watching cannot be set up (then nothing warns).
 */
static int watch_for_runtime(const char *prog)
{
	int p[2];
	struct stat st;
	char env[128];

	if (pipe(p))
		return -1;
	if (fcntl(p[0], F_SETFD, FD_CLOEXEC) || fstat(p[1], &st))
		goto fail;
	snprintf(env, sizeof(env), "%d:%llu:%llu", p[1], (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	const char *reason = likely_reason(prog);
	pid_t child = fork();
	if (child < 0)
		goto fail;
	if (child == 0) {
		if (fork() != 0)
			_exit(0);
		/* the watcher: no stdin or stdout of the program's kept open */
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
		}
		close(p[1]);
		signal(SIGPIPE, SIG_IGN);
		char c = 0;
		ssize_t n;
		while ((n = read(p[0], &c, 1)) < 0 && errno == EINTR)
			;
		if (n == 0)
			fprintf(stderr, "fencedep: warning: %s ran without the checker%s; "
					"nothing was checked\n", prog, reason);
		_exit(0);
	}
	close(p[0]);
	while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
	setenv("FENCEDEP_ACK", env, 1);
	return p[1];
fail:
	close(p[0]);
	close(p[1]);
	return -1;
}

int main(int argc, char **argv)
{
	struct opts opts = { 0 };
	const char *libopt = NULL;
	int gdb = 0, i;
	const char *v;

	if (argc > 1 && strcmp(argv[1], "report") == 0)
		return report_main(argc - 1, argv + 1);
	const char *env = getenv("FENCEDEP_OPTIONS");
	if (env)
		opts_add(&opts, env);
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
			if (opts_add_value(&opts, "--error-exitcode", "exitcode", v))
				return 2;
		} else if ((v = value_of(a, "--log-path"))) {
			if (opts_add_value(&opts, "--log-path", "log_path", v))
				return 2;
		} else if ((v = value_of(a, "--json-path"))) {
			if (opts_add_value(&opts, "--json-path", "json_path", v))
				return 2;
		} else if ((v = value_of(a, "--suppressions")) ||
			   (!strcmp(a, "--suppressions") && i + 1 < argc && (v = argv[++i]))) {
			if (opts_add_value(&opts, "--suppressions", "suppressions", v))
				return 2;
		} else if ((v = value_of(a, "--library"))) {
			libopt = v;
		} else if ((v = value_of(a, "--options"))) {
			opts_add(&opts, v);
		} else {
			fprintf(stderr, "fencedep: unknown option '%s' (see fencedep --help)\n", a);
			return 2;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "fencedep: no program to run (see fencedep --help)\n");
		return 2;
	}
	const char *lib = library_path(libopt);
	if (!exists(lib)) {
		fprintf(stderr, "fencedep: runtime library '%s' not found (set FENCEDEP_LIBRARY)\n", lib);
		return 2;
	}
	if (strpbrk(lib, ": \t")) {
		/* LD_PRELOAD separates its entries with these */
		fprintf(stderr, "fencedep: runtime library '%s': a path with ':' or a blank cannot be "
				"preloaded\n", lib);
		return 2;
	}
	if (gdb)
		opts_add(&opts, "abort_on_report=1");
	if (setenv("FENCEDEP_OPTIONS", opts.s ? opts.s : "", 1)) {
		fprintf(stderr, "fencedep: cannot set FENCEDEP_OPTIONS: %s\n", strerror(errno));
		return 2;
	}
	if (gdb) {
		/* the runtime goes into the program only, not into gdb */
		char *item;
		if (asprintf(&item, "set environment LD_PRELOAD=%s", lib) < 0)
			return 2;
		char **args = calloc((size_t)(argc - i + 8), sizeof(*args));
		if (!args)
			return 2;
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
	char *preload = NULL;
	if (pre && *pre ? asprintf(&preload, "%s:%s", lib, pre) < 0 : !(preload = strdup(lib))) {
		fprintf(stderr, "fencedep: out of memory\n");
		return 2;
	}
	if (setenv("LD_PRELOAD", preload, 1)) {
		fprintf(stderr, "fencedep: cannot set LD_PRELOAD: %s\n", strerror(errno));
		return 2;
	}
	int ack = watch_for_runtime(argv[i]);
	execvp(argv[i], argv + i);
	int err = errno;
	if (ack >= 0 && write(ack, "x", 1) < 0) {
		/* the watcher is gone */
	}
	fprintf(stderr, "fencedep: cannot run '%s': %s\n", argv[i], strerror(err));
	return err == ENOENT ? 127 : 126;
}
