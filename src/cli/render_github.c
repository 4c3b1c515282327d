/*
 * render_github.c - GitHub Actions workflow commands: one annotation per
 * finding shown, for CI hosts where SARIF upload is not available.
 *
 *   ::error file=src/a.c,line=42,title=fencedep lock-order-inversion::MESSAGE
 *
 * The level follows the kind (error or warning); a finding that is in the
 * baseline is a notice.  The place is the acquisition that closed the
 * finding, relative to --srcroot when it is under it (GitHub wants paths
 * relative to the repository).  The message holds the title, the cycle and
 * where each of its edges was taken, one per line.
 *
 * Escaping (the runner's rules): in the message %, CR and LF become %25,
 * %0D and %0A; in a property value also : and , become %3A and %2C.  Other
 * bytes go through as they are.
 */
#include "render.h"

#include <string.h>

#include "kinds.h"

static void put_escaped(FILE *out, const char *s, bool property)
{
	for (; *s; s++) {
		switch (*s) {
		case '%': fputs("%25", out); break;
		case '\r': fputs("%0D", out); break;
		case '\n': fputs("%0A", out); break;
		case ':':
			if (property)
				fputs("%3A", out);
			else
				fputc(':', out);
			break;
		case ',':
			if (property)
				fputs("%2C", out);
			else
				fputc(',', out);
			break;
		default: fputc(*s, out);
		}
	}
}

/* The path relative to srcroot when under it, else as it is. */
static const char *relative(const char *file, const char *root)
{
	size_t n;

	if (!root || !*root)
		return file;
	n = strlen(root);
	while (n > 1 && root[n - 1] == '/')
		n--;
	if (strncmp(file, root, n) || file[n] != '/')
		return file;
	return file + n + 1;
}

static const char *level_of(const struct rfinding *f)
{
	const struct kind_info *k = kind_lookup(f->kind);

	if (f->baselined)
		return "notice";
	return k && !strcmp(k->level, "warning") ? "warning" : "error";
}

static void put_finding(FILE *out, const struct rfinding *f, const struct render_opts *o)
{
	const struct rframe *site = stack_site(finding_site_stack(f));
	char buf[1024];
	size_t i;

	fprintf(out, "::%s ", level_of(f));
	if (site && site->file && site->line > 0) {
		fputs("file=", out);
		put_escaped(out, relative(site->file, o->srcroot), true);
		fprintf(out, ",line=%ld,", site->line);
	}
	fputs("title=", out);
	snprintf(buf, sizeof(buf), "fencedep %s", f->kind);
	put_escaped(out, buf, true);
	fputs("::", out);
	put_escaped(out, f->title, false);
	if (f->ncycle) {
		fputs(": ", out);
		for (i = 0; i < f->ncycle; i++) {
			put_escaped(out, f->cycle[i].from, false);
			fputs(" -> ", out);
		}
		put_escaped(out, f->cycle[0].from, false);
	}
	if (f->merged)
		fputs(" (found by merging the graphs of several processes)", out);
	for (i = 0; i < f->ncycle; i++) {
		const struct redge *e = &f->cycle[i];
		const struct rframe *at = stack_site(&e->stack);

		fputs("%0A", out);
		put_escaped(out, e->to, false);
		fputs(" acquired while holding ", out);
		put_escaped(out, e->from, false);
		if (at) {
			frame_describe(at, buf, sizeof(buf));
			fputs(" at ", out);
			put_escaped(out, buf, false);
		}
		if (e->primed)
			fputs(" (primed)", out);
	}
	fprintf(out, "%%0Afingerprint %s", f->fp);
	if (f->count > 1)
		fprintf(out, ", seen %ld times", f->count);
	fputc('\n', out);
}

int render_github(FILE *out, const struct report *r, const struct render_opts *o)
{
	size_t i;

	for (i = 0; i < r->nfindings; i++)
		if (finding_shown(&r->findings[i]))
			put_finding(out, &r->findings[i], o);
	return ferror(out) ? -1 : 0;
}
