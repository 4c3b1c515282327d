/*
 * report.c - `fencedep report [OPTIONS] FILE...`: read per-process JSON
 * reports, merge their graphs, apply suppressions and the baseline, render
 * the result, and say by the exit status whether anything is new.
 */
#include "report.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "render.h"
#include "report_model.h"
#include "suppress.h"

#define EXIT_CLEAN 0
#define EXIT_NEW 1
#define EXIT_BAD 2

struct report_args {
	render_fn render;
	const char *output;
	const char *baseline;
	const char *write_baseline;
	const char **suppressions;
	size_t nsuppressions;
	struct render_opts opts;
	bool exit_zero;
	char **files;
	size_t nfiles;
};

static const struct {
	const char *name;
	render_fn fn;
} formats[] = {
	{ "text", render_text }, { "json", render_json },
	{ "sarif", render_sarif }, { "html", render_html },
	{ "dot", render_dot }, { "github", render_github },
};

static void usage(FILE *out)
{
	fputs("usage: fencedep report [OPTIONS] FILE...\n"
	      "Merge the JSON reports of fencedep runs (one per process), find\n"
	      "the cycles no single process saw, and render the findings.\n"
	      "\n"
	      "  -f, --format FORMAT       text (default), json, sarif, html, dot or github\n"
	      "  -o, --output FILE         write there instead of standard output\n"
	      "      --baseline FILE       findings whose fingerprint is listed (or that a\n"
	      "                            JSON report lists) are not new\n"
	      "      --write-baseline FILE write the fingerprints of the findings shown\n"
	      "      --suppressions FILE   hide findings matching kind:pattern rules\n"
	      "      --cycles-only         dot: only the edges of reported cycles\n"
	      "      --srcroot DIR         sarif, github: file paths relative to DIR\n"
	      "      --source-url TEMPLATE html: link each frame's file under --srcroot\n"
	      "                            (or relative) to TEMPLATE, with {path} and\n"
	      "                            {line} replaced, e.g.\n"
	      "                            https://host/repo/blob/main/{path}#L{line}\n"
	      "      --color WHEN          text: auto (a terminal), always or never\n"
	      "      --exit-zero           exit 0 even when findings are new (bad input\n"
	      "                            still exits 2)\n"
	      "  -v, --verbose             text, html: also the thread start frames\n"
	      "                            of the runtime and libc\n"
	      "  -h, --help                show this help\n"
	      "  -V, --version             show the version\n"
	      "\n"
	      "FILE may be - for standard input.  Exit status: 0 nothing new,\n"
	      "1 new findings, 2 bad usage or input.\n", out);
}

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("fencedep report: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'fencedep report --help'.\n", stderr);
	return EXIT_BAD;
}

static int set_format(struct report_args *a, const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		if (!strcmp(formats[i].name, name)) {
			a->render = formats[i].fn;
			return 0;
		}
	}
	return usage_error("unknown format '%s' (text, json, sarif, html, dot or github)", name);
}

static int add_suppressions(struct report_args *a, const char *path)
{
	const char **s = realloc(a->suppressions,
				 (a->nsuppressions + 1) * sizeof(*s));

	if (!s)
		return usage_error("out of memory");
	s[a->nsuppressions++] = path;
	a->suppressions = s;
	return 0;
}

enum { OPT_BASELINE = 256, OPT_WRITE_BASELINE, OPT_SUPPRESSIONS,
	OPT_CYCLES_ONLY, OPT_SRCROOT, OPT_COLOR, OPT_EXIT_ZERO, OPT_SOURCE_URL };

static const struct option long_options[] = {
	{ "format", required_argument, NULL, 'f' },
	{ "output", required_argument, NULL, 'o' },
	{ "baseline", required_argument, NULL, OPT_BASELINE },
	{ "write-baseline", required_argument, NULL, OPT_WRITE_BASELINE },
	{ "suppressions", required_argument, NULL, OPT_SUPPRESSIONS },
	{ "cycles-only", no_argument, NULL, OPT_CYCLES_ONLY },
	{ "srcroot", required_argument, NULL, OPT_SRCROOT },
	{ "source-url", required_argument, NULL, OPT_SOURCE_URL },
	{ "verbose", no_argument, NULL, 'v' },
	{ "color", required_argument, NULL, OPT_COLOR },
	{ "colour", required_argument, NULL, OPT_COLOR },
	{ "exit-zero", no_argument, NULL, OPT_EXIT_ZERO },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static char **opt_argv;

/* The option getopt_long just refused, as written. */
static const char *optopt_name(void)
{
	static char shortopt[3] = "-?";

	if (optopt > 0 && optopt < 256) {
		shortopt[1] = (char)optopt;
		return shortopt;
	}
	return opt_argv[optind - 1];
}

/* Returns -1 to stop with status 0 (--help), else 0 or EXIT_BAD. */
static int parse_option(struct report_args *a, int c)
{
	switch (c) {
	case 'f':
		return set_format(a, optarg);
	case 'o':
		a->output = optarg;
		return 0;
	case OPT_BASELINE:
		a->baseline = optarg;
		return 0;
	case OPT_WRITE_BASELINE:
		a->write_baseline = optarg;
		return 0;
	case OPT_SUPPRESSIONS:
		return add_suppressions(a, optarg);
	case OPT_CYCLES_ONLY:
		a->opts.cycles_only = true;
		return 0;
	case OPT_SRCROOT:
		a->opts.srcroot = optarg;
		return 0;
	case OPT_SOURCE_URL:
		/* a link people follow: a web address, with the file in it */
		if (strncmp(optarg, "https://", 8) && strncmp(optarg, "http://", 7) &&
		    strncmp(optarg, "file://", 7))
			return usage_error("--source-url: '%s' is not an http://, https:// or "
					   "file:// address", optarg);
		if (!strstr(optarg, "{path}"))
			return usage_error("--source-url: '%s' has no {path}", optarg);
		a->opts.source_url = optarg;
		return 0;
	case 'v':
		a->opts.verbose = true;
		return 0;
	case OPT_COLOR:
		if (!strcmp(optarg, "auto"))
			a->opts.color = 0;
		else if (!strcmp(optarg, "always"))
			a->opts.color = 1;
		else if (!strcmp(optarg, "never"))
			a->opts.color = 2;
		else
			return usage_error("--color: '%s' is not auto, always or never", optarg);
		return 0;
	case OPT_EXIT_ZERO:
		a->exit_zero = true;
		return 0;
	case 'h':
		usage(stdout);
		return -1;
	case 'V':
		printf("fencedep report %s\n", PACKAGE_VERSION);
		return -1;
	case ':':
		return usage_error("option '%s' needs an argument", optopt_name());
	default:
		return usage_error("unknown option '%s'", optopt_name());
	}
}

static int parse_args(struct report_args *a, int argc, char **argv)
{
	int c, ret;

	memset(a, 0, sizeof(*a));
	a->render = render_text;
	optind = 0;		/* restart getopt: report_main may run twice */
	opterr = 0;
	opt_argv = argv;
	while ((c = getopt_long(argc, argv, ":f:o:hvV", long_options, NULL)) != -1) {
		ret = parse_option(a, c);
		if (ret)
			return ret;
	}
	a->files = argv + optind;
	a->nfiles = argc - optind;
	if (!a->nfiles)
		return usage_error("no report files given");
	return 0;
}

/* ---- input files ---- */

/* A file's bytes: mapped, or read into the heap. */
struct input {
	char *buf;
	size_t len;
	bool mapped;
};

static int read_all(FILE *f, char **buf, size_t *len)
{
	size_t cap = 65536, n = 0, got;
	char *b = malloc(cap), *nb;

	while (b && (got = fread(b + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			nb = realloc(b, cap *= 2);
			if (!nb)
				free(b);
			b = nb;
		}
	}
	if (!b || ferror(f)) {
		free(b);
		return -1;
	}
	*buf = b;
	*len = n;
	return 0;
}

/*
 * The whole of path ("-": standard input); prints the error itself.  A
 * regular file is mapped, not copied: a 100 MB report costs no 100 MB of
 * heap.  Release with unload_file.
 */
static int load_file(const char *path, struct input *in)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	struct stat st;
	void *map;
	int ret;

	if (!f) {
		fprintf(stderr, "fencedep report: %s: cannot open: %s\n", path,
			strerror(errno));
		return -1;
	}
	if (f != stdin && !fstat(fileno(f), &st) && S_ISREG(st.st_mode) &&
	    st.st_size > 0 && (uintmax_t)st.st_size < SIZE_MAX) {
		map = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fileno(f), 0);
		if (map != MAP_FAILED) {
			fclose(f);
			in->buf = map;
			in->len = (size_t)st.st_size;
			in->mapped = true;
			return 0;
		}
	}
	in->mapped = false;
	ret = read_all(f, &in->buf, &in->len);
	if (ret)
		fprintf(stderr, "fencedep report: %s: cannot read: %s\n", path,
			strerror(errno ? errno : EIO));
	if (f != stdin)
		fclose(f);
	return ret;
}

static void unload_file(struct input *in)
{
	if (in->mapped)
		munmap(in->buf, in->len);
	else
		free(in->buf);
}

static void print_read_error(const char *path, const struct read_error *err)
{
	if (err->line)
		fprintf(stderr, "fencedep report: %s:%u:%u: %s\n", path,
			err->line, err->col, err->msg);
	else
		fprintf(stderr, "fencedep report: %s: %s\n", path, err->msg);
}

static int read_reports(struct report *r, const struct report_args *a)
{
	struct read_error err;
	struct input in;
	size_t i;
	int ret;

	for (i = 0; i < a->nfiles; i++) {
		if (load_file(a->files[i], &in))
			return -1;
		ret = report_read_buf(r, a->files[i], in.buf, in.len, &err);
		unload_file(&in);
		if (ret) {
			print_read_error(a->files[i], &err);
			return -1;
		}
	}
	return 0;
}

/* ---- suppressions and baseline ---- */

/* What gates the findings, read before any report. */
struct gate {
	struct suppress_set *sets;
	size_t nsets;
	struct strtab baseline;
	bool have_baseline;
};

static void *alloc_plain(size_t size)
{
	return malloc(size);
}

static int load_suppressions(struct gate *g, const char *path)
{
	struct suppress_error err;
	struct input in;
	int ret;

	if (load_file(path, &in))
		return -1;
	ret = suppress_parse(in.buf, in.len, alloc_plain, &g->sets[g->nsets], &err);
	unload_file(&in);
	if (!ret) {
		g->nsets++;
		return 0;
	}
	if (err.line)
		fprintf(stderr, "fencedep report: %s:%u: %s\n", path, err.line,
			err.msg);
	else
		fprintf(stderr, "fencedep report: %s: %s\n", path, err.msg);
	return -1;
}

/*
 * A baseline given as JSON reports (say, `fencedep report -f json` of the
 * main branch): every finding in them, merged cycles included, is known.
 */
static int baseline_from_reports(struct gate *g, const char *path,
				 const char *buf, size_t len)
{
	struct read_error err;
	struct report base;
	size_t i;
	int ret;

	report_init(&base);
	ret = report_read_buf(&base, path, buf, len, &err);
	if (ret)
		print_read_error(path, &err);
	else if ((ret = report_merge(&base)))
		fprintf(stderr, "fencedep report: %s: out of memory\n", path);
	for (i = 0; !ret && i < base.nfindings; i++)
		ret = strtab_put(&g->baseline, base.findings[i].fp, 16, 0);
	report_free(&base);
	return ret;
}

static bool looks_like_json(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len && strchr(" \t\r\n", buf[i]) && buf[i]; i++)
		;
	return i < len && buf[i] == '{';
}

static int load_baseline(struct gate *g, const char *path)
{
	struct read_error err;
	struct input in;
	int ret;

	if (load_file(path, &in))
		return -1;
	if (looks_like_json(in.buf, in.len)) {
		ret = baseline_from_reports(g, path, in.buf, in.len);
	} else {
		ret = baseline_parse(in.buf, in.len, &g->baseline, &err);
		if (ret)
			print_read_error(path, &err);
	}
	unload_file(&in);
	g->have_baseline = true;
	return ret;
}

static int gate_load(struct gate *g, const struct report_args *a)
{
	size_t i;

	g->sets = calloc(a->nsuppressions + 1, sizeof(*g->sets));
	if (!g->sets)
		return -1;
	for (i = 0; i < a->nsuppressions; i++)
		if (load_suppressions(g, a->suppressions[i]))
			return -1;
	return a->baseline ? load_baseline(g, a->baseline) : 0;
}

static void gate_apply(struct report *r, const struct gate *g)
{
	size_t i;

	for (i = 0; i < g->nsets; i++)
		report_suppress(r, &g->sets[i]);
	if (g->have_baseline)
		report_apply_baseline(r, &g->baseline);
	report_count(r);
}

static void gate_free(struct gate *g)
{
	size_t i;

	for (i = 0; i < g->nsets; i++)
		free(g->sets[i].mem);
	free(g->sets);
	strtab_free(&g->baseline);
}

/* ---- output ---- */

static int write_output(const char *path, const struct report *r,
			const struct report_args *a, bool baseline)
{
	FILE *out = path ? fopen(path, "w") : stdout;
	int ret;

	if (!out) {
		fprintf(stderr, "fencedep report: %s: cannot create: %s\n", path,
			strerror(errno));
		return -1;
	}
	ret = baseline ? baseline_write(out, r) : a->render(out, r, &a->opts);
	if (out != stdout)
		ret |= fclose(out);
	else
		ret |= fflush(out);
	if (ret)
		fprintf(stderr, "fencedep report: %s: write error\n",
			path ? path : "standard output");
	return ret ? -1 : 0;
}

static int run(struct report *r, const struct report_args *a,
	       struct gate *g)
{
	if (gate_load(g, a) || read_reports(r, a))
		return EXIT_BAD;
	if (report_merge(r)) {
		fputs("fencedep report: out of memory\n", stderr);
		return EXIT_BAD;
	}
	if (r->search_cut)
		fputs("fencedep report: warning: the merged graph is too tangled to "
		      "search whole; some cycles may be missing\n", stderr);
	gate_apply(r, g);
	if (write_output(a->output, r, a, false))
		return EXIT_BAD;
	if (a->write_baseline) {
		if (write_output(a->write_baseline, r, a, true))
			return EXIT_BAD;
		return EXIT_CLEAN;
	}
	return r->nnew && !a->exit_zero ? EXIT_NEW : EXIT_CLEAN;
}

int report_main(int argc, char **argv)
{
	struct report_args a;
	struct report r;
	struct gate g = { 0 };
	int ret;

	ret = parse_args(&a, argc, argv);
	if (ret) {
		free(a.suppressions);
		return ret < 0 ? EXIT_CLEAN : ret;
	}
	report_init(&r);
	strtab_init(&g.baseline);
	ret = run(&r, &a, &g);
	gate_free(&g);
	report_free(&r);
	free(a.suppressions);
	return ret;
}
