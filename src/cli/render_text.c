/*
 * render_text.c - the lockdep-style text report.
 */
#include "render.h"

#include <string.h>

#include "frames.h"
#include "sanitize.h"
#include "textcolor.h"

#include <stdlib.h>
#include <unistd.h>

void frame_describe(const struct rframe *f, char *buf, size_t len)
{
	size_t n;

	n = snprintf(buf, len, "%s", f->function ? text_safe(f->function) : "??");
	if (n < len && f->module)
		n += snprintf(buf + n, len - n, " (%s+%s)", text_safe(f->module),
			      f->offset ? text_safe(f->offset) : "0x0");
	else if (n < len && f->pc)
		n += snprintf(buf + n, len - n, " (%s)", text_safe(f->pc));
	if (n < len && f->file && f->line > 0)
		n += snprintf(buf + n, len - n, " %s:%ld", text_safe(f->file), f->line);
	else if (n < len && f->file)
		snprintf(buf + n, len - n, " %s", text_safe(f->file));
}

void proc_describe(const struct rproc *p, char *buf, size_t len)
{
	size_t n, i;

	if (!p) {
		snprintf(buf, len, "several processes");
		return;
	}
	n = snprintf(buf, len, "pid %ld", p->pid);
	for (i = 0; i < p->argc && n < len; i++)
		n += snprintf(buf + n, len - n, "%s%s", i ? " " : " (",
			      text_safe(p->argv[i]));
	if (p->argc && n < len)
		n += snprintf(buf + n, len - n, ")");
	if (n < len)
		snprintf(buf + n, len - n, " in %s", text_safe(p->path));
}

bool frame_hidden(const struct rframe *f)
{
	return frame_is_start(f->module, f->function);
}

static bool frame_in_program(const struct rframe *f)
{
	return !frame_is_runtime(f->module) && !frame_is_libc(f->module) &&
	       !frame_is_start(f->module, f->function);
}

const struct rframe *stack_site(const struct rstack *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (frame_in_program(&s->frames[i]) && s->frames[i].file &&
		    s->frames[i].line > 0)
			return &s->frames[i];
	for (i = 0; i < s->n; i++)
		if (frame_in_program(&s->frames[i]) && s->frames[i].function)
			return &s->frames[i];
	for (i = 0; i < s->n; i++)
		if (s->frames[i].file && s->frames[i].line > 0)
			return &s->frames[i];
	for (i = 0; i < s->n; i++)
		if (s->frames[i].function)
			return &s->frames[i];
	return NULL;
}

static bool verbose;

static void put_stack(FILE *out, const struct rstack *s, const char *indent)
{
	char buf[1024];
	size_t i;

	if (!s->n)
		fprintf(out, "%s(no stack)\n", indent);
	for (i = 0; i < s->n; i++) {
		if (!verbose && frame_hidden(&s->frames[i]))
			continue;
		frame_describe(&s->frames[i], buf, sizeof(buf));
		fprintf(out, "%s#%zu %s\n", indent, i, buf);
	}
}

static void put_cycle(FILE *out, const struct rfinding *f)
{
	char buf[512];
	size_t i;

	if (f->ncycle >= 3) {
		fputs("\n  Chain exists of:\n    ", out);
		for (i = 0; i < f->ncycle; i++)
			fprintf(out, "%s --> ", text_safe(f->cycle[i].from));
		fprintf(out, "%s\n", text_safe(f->cycle[0].from));
	}
	fprintf(out, "\n  the dependency cycle:\n");
	fputs("  (A -(XY)-> B: B taken while A held; X how A is held, E exclusive or "
	      "S shared;\n   Y how B is taken, R recursive read or N otherwise)\n", out);
	for (i = 0; i < f->ncycle; i++) {
		const struct redge *e = &f->cycle[i];

		fprintf(out, "\n    %s -(%s)-> %s%s\n", text_safe(e->from), e->type,
			text_safe(e->to),
			e->primed ? "   [primed]" : "");
		if (f->merged && e->proc) {
			proc_describe(e->proc, buf, sizeof(buf));
			fprintf(out, "    recorded by %s\n", buf);
		}
		put_stack(out, &e->stack, "      ");
	}
}

static void put_held(FILE *out, const struct rfinding *f)
{
	size_t i;

	if (!f->nheld)
		return;
	fprintf(out, "\n  locks held:\n");
	for (i = 0; i < f->nheld; i++) {
		fprintf(out, "    #%zu: %s (%s)\n", i, text_safe(f->held[i].cls),
			f->held[i].mode ? text_safe(f->held[i].mode) : "exclusive");
		if (f->held[i].stack.n)
			put_stack(out, &f->held[i].stack, "      ");
	}
}

static void put_origin(FILE *out, const struct rfinding *f)
{
	char buf[512];

	if (f->merged) {
		fprintf(out, "  found by merging the graphs of %zu processes; "
			     "no single process saw this cycle\n", f->nprocs);
		return;
	}
	proc_describe(f->proc, buf, sizeof(buf));
	fprintf(out, "  reported by %s", buf);
	if (f->nprocs > 1)
		fprintf(out, " and %zu more processes", f->nprocs - 1);
	if (f->has_thread)
		fprintf(out, ", thread %ld%s%s%s", f->tid,
			f->thread_name ? " \"" : "",
			f->thread_name ? text_safe(f->thread_name) : "",
			f->thread_name ? "\"" : "");
	fputc('\n', out);
}

void finding_summary(const struct rfinding *f, char *buf, size_t len)
{
	const struct rframe *site = stack_site(finding_site_stack(f));
	size_t n, i;

	n = snprintf(buf, len, "SUMMARY: fencedep: %s", text_safe(f->kind));
	for (i = 0; i < f->ncycle && n < len; i++)
		n += snprintf(buf + n, len - n, " %s ->", text_safe(f->cycle[i].from));
	if (f->ncycle && n < len)
		n += snprintf(buf + n, len - n, " %s", text_safe(f->cycle[0].from));
	else if (!f->ncycle && f->nheld && n < len)
		n += snprintf(buf + n, len - n, " %s", text_safe(f->held[0].cls));
	if (site && site->file && site->line > 0 && n < len)
		n += snprintf(buf + n, len - n, " %s:%ld", text_safe(site->file), site->line);
	else if (site && site->module && n < len)
		n += snprintf(buf + n, len - n, " (%s+%s)", text_safe(site->module),
			      site->offset ? text_safe(site->offset) : "0x0");
	if (site && site->function && n < len)
		snprintf(buf + n, len - n, " in %s", text_safe(site->function));
}

static void put_finding(FILE *out, const struct rfinding *f)
{
	char summary[2048];

	fprintf(out, "fencedep: %s: %s\n", text_safe(f->kind), text_safe(f->title));
	fprintf(out, "  fingerprint %s, seen %ld time%s, %s\n", f->fp, f->count,
		f->count == 1 ? "" : "s",
		f->baselined ? "in the baseline" : "new");
	put_origin(out, f);
	if (f->ncycle)
		put_cycle(out, f);
	put_held(out, f);
	if (f->stack.n && !f->merged) {
		fprintf(out, "\n  stack:\n");
		put_stack(out, &f->stack, "    ");
	}
	finding_summary(f, summary, sizeof(summary));
	fprintf(out, "\n%s\nsuppress it with the line: %s:fingerprint:%s\n\n",
		summary, text_safe(f->kind), f->fp);
}

static int render_plain(FILE *out, const struct report *r);

/* --color=auto: a terminal whose TERM is set and not "dumb". */
static bool use_color(FILE *out, int color)
{
	const char *term = getenv("TERM");

	if (color)
		return color == 1;
	return isatty(fileno(out)) && term && *term && strcmp(term, "dumb");
}

/*
 * The text is rendered plain (every string from input sanitised), then
 * coloured line by line as the runtime colours its own.
 */
int render_text(FILE *out, const struct report *r, const struct render_opts *o)
{
	char *text = NULL, *p, *nl;
	size_t len = 0;
	const char *c;
	FILE *mem;
	int ret;

	verbose = o->verbose;
	if (!use_color(out, o->color))
		return render_plain(out, r);
	mem = open_memstream(&text, &len);
	if (!mem)
		return render_plain(out, r);
	ret = render_plain(mem, r);
	if (fclose(mem) || ret) {
		free(text);
		return -1;
	}
	for (p = text; p < text + len; p = nl + 1) {
		nl = memchr(p, '\n', text + len - p);
		if (!nl)
			nl = text + len;
		c = text_line_color(p, nl - p);
		fputs(c ? c : "", out);
		fwrite(p, 1, nl - p, out);
		fputs(c ? TEXT_COLOR_OFF : "", out);
		if (nl < text + len)
			fputc('\n', out);
	}
	free(text);
	return ferror(out) ? -1 : 0;
}

static int render_plain(FILE *out, const struct report *r)
{
	size_t i;

	for (i = 0; i < r->nfindings; i++)
		if (finding_shown(&r->findings[i]))
			put_finding(out, &r->findings[i]);
	fprintf(out, "fencedep report: %zu finding%s (%zu new, %zu in the baseline, "
		     "%zu suppressed) from %zu report%s; graph of %zu classes and "
		     "%zu dependencies\n",
		r->nfindings, r->nfindings == 1 ? "" : "s", r->nnew,
		r->nbaselined, r->nsuppressed, r->nprocs,
		r->nprocs == 1 ? "" : "s", r->graph.nclasses, r->graph.nedges);
	return ferror(out) ? -1 : 0;
}
