/*
 * options.c - FENCEDEP_OPTIONS: "key=value" pairs separated by ':'.
 *
 * The table is options.def.  A bad key or value is an error that names it:
 * the runtime prints it on one line and exits with status 2, never guesses.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime.h"

struct rt_options rt_opt;

enum opt_type { OT_STRING, OT_INT, OT_BOOL, OT_ENUM };

struct opt_desc {
	const char *name;
	int type;
	const char *def;
	long lo, hi;
	const char *choices;
	size_t offset;
};

static const struct opt_desc opt_table[] = {
#define OPT_STRING(n, d, h) { #n, OT_STRING, d, 0, 0, NULL, offsetof(struct rt_options, n) },
#define OPT_INT(n, d, l, hi, h) { #n, OT_INT, #d, l, hi, NULL, offsetof(struct rt_options, n) },
#define OPT_BOOL(n, d, h) { #n, OT_BOOL, #d, 0, 1, NULL, offsetof(struct rt_options, n) },
#define OPT_ENUM(n, d, c, h) { #n, OT_ENUM, d, 0, 0, c, offsetof(struct rt_options, n) },
#include "options.def"
#undef OPT_STRING
#undef OPT_INT
#undef OPT_BOOL
#undef OPT_ENUM
};
#define NOPTS (sizeof(opt_table) / sizeof(opt_table[0]))

/* Index of value within "a|b|c", or -1. */
static int enum_index(const char *choices, const char *val, size_t len)
{
	int i = 0;
	const char *p = choices;

	while (*p) {
		size_t n = strcspn(p, "|");
		if (n == len && strncmp(p, val, len) == 0)
			return i;
		p += n;
		if (*p == '|')
			p++;
		i++;
	}
	return -1;
}

/* Store one value; strings are copied into runtime memory. */
static int opt_set(const struct opt_desc *d, const char *val, size_t len, char *err,
		   size_t errlen)
{
	char *base = (char *)&rt_opt + d->offset;
	char tmp[64];

	switch (d->type) {
	case OT_STRING: {
		char *s = rt_alloc(len + 1);
		if (!s) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		memcpy(s, val, len);
		*(const char **)base = s;
		return 0;
	}
	case OT_ENUM: {
		int i = enum_index(d->choices, val, len);
		if (i < 0) {
			snprintf(err, errlen, "option '%s': '%.*s' is not one of %s", d->name,
				 (int)len, val, d->choices);
			return -1;
		}
		*(int *)base = i;
		return 0;
	}
	default:
		break;
	}
	if (len == 0 || len >= sizeof(tmp)) {
		snprintf(err, errlen, "option '%s': bad value '%.*s'", d->name, (int)len, val);
		return -1;
	}
	memcpy(tmp, val, len);
	tmp[len] = 0;
	char *end;
	errno = 0;
	long v = strtol(tmp, &end, 10);
	if (errno || *end || v < d->lo || v > d->hi) {
		snprintf(err, errlen, "option '%s': '%s' is not a whole number from %ld to %ld",
			 d->name, tmp, d->lo, d->hi);
		return -1;
	}
	if (d->type == OT_BOOL)
		*(bool *)base = v != 0;
	else
		*(long *)base = v;
	return 0;
}

void options_defaults(void)
{
	char err[8];

	for (size_t i = 0; i < NOPTS; i++) {
		const struct opt_desc *d = &opt_table[i];
		if (d->type == OT_STRING) {
			*(const char **)((char *)&rt_opt + d->offset) = d->def;
			continue;
		}
		opt_set(d, d->def, strlen(d->def), err, sizeof(err));
	}
}

/* A relative report path, made absolute against the directory the program
 * started in: a program that changes directory later (a daemon's chdir("/"))
 * would otherwise scatter its reports or lose them. */
static void path_absolute(const char **path)
{
	char cwd[4096];
	const char *p = *path;

	if (!p[0] || p[0] == '/' || !strcmp(p, "stderr") || !strcmp(p, "stdout") ||
	    !getcwd(cwd, sizeof(cwd)))
		return;
	size_t lc = strlen(cwd), lp = strlen(p);
	char *abs = rt_alloc(lc + 1 + lp + 1);
	if (!abs)
		return;
	memcpy(abs, cwd, lc);
	abs[lc] = '/';
	memcpy(abs + lc + 1, p, lp + 1);
	*path = abs;
}

void options_paths_absolute(void)
{
	path_absolute(&rt_opt.log_path);
	path_absolute(&rt_opt.json_path);
}

int options_parse(const char *text, char *err, size_t errlen)
{
	const char *p = text;

	while (p && *p) {
		size_t n = strcspn(p, ":");
		const char *eq = memchr(p, '=', n);
		if (n == 0) {
			p++;
			continue;
		}
		if (!eq) {
			snprintf(err, errlen, "'%.*s' is not key=value", (int)n, p);
			return -1;
		}
		size_t klen = (size_t)(eq - p);
		const struct opt_desc *d = NULL;
		for (size_t i = 0; i < NOPTS; i++) {
			if (strlen(opt_table[i].name) == klen &&
			    strncmp(opt_table[i].name, p, klen) == 0)
				d = &opt_table[i];
		}
		if (!d) {
			snprintf(err, errlen, "unknown option '%.*s'", (int)klen, p);
			return -1;
		}
		if (opt_set(d, eq + 1, n - klen - 1, err, errlen))
			return -1;
		p += n;
	}
	return 0;
}

/*
 * The dump signal must be one a handler can take and return from: a
 * synchronous signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS)
 * returns to the faulting instruction and faults again forever, SIGKILL and
 * SIGSTOP cannot be caught, SIGABRT must end the process, and the C
 * library keeps the signals below SIGRTMIN that are not numbered for
 * itself.
 */
int options_check(char *err, size_t errlen)
{
	static const struct {
		int sig;
		const char *name;
	} refused[] = {
		{ SIGSEGV, "SIGSEGV" }, { SIGBUS, "SIGBUS" },	{ SIGILL, "SIGILL" },
		{ SIGFPE, "SIGFPE" },	{ SIGKILL, "SIGKILL" }, { SIGSTOP, "SIGSTOP" },
		{ SIGABRT, "SIGABRT" }, { SIGTRAP, "SIGTRAP" }, { SIGSYS, "SIGSYS" },
	};
	long sig = rt_opt.dump_signal;

	if (!sig)
		return 0;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (sig == refused[i].sig) {
			snprintf(err, errlen,
				 "option 'dump_signal': %ld (%s) is a synchronous or fatal "
				 "signal, not one to dump on",
				 sig, refused[i].name);
			return -1;
		}
	}
	if (sig >= NSIG || (sig > SIGSYS && sig < SIGRTMIN) || sig > SIGRTMAX) {
		snprintf(err, errlen, "option 'dump_signal': %ld is reserved or not a signal", sig);
		return -1;
	}
	return 0;
}
