/*
 * render_text.c - the lockdep-style text report.
 */
#include "render.h"

#include <string.h>

#include "explain.h"
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
		    s->frames[i].line > 0 && !frame_in_system_header(s->frames[i].file))
			return &s->frames[i];
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

/*
 * The finding laid out as the runtime lays it out in its log
 * (report_text.c), from what the JSON carries; what it does not carry
 * (the signal of signal-unsafe-lock's scenario) is left out.  After the fingerprint comes one
 * line of the command's own: how often and where it was seen, and whether
 * it is new.
 */
#define RULE "======================================================\n"

static void put_frame_one(FILE *out, const struct rframe *f)
{
	fputs(f->function ? text_safe(f->function) : "??", out);
	if (f->file)
		fprintf(out, " %s:%ld", text_safe(f->file), f->line);
	else
		fprintf(out, " (%s+%s)", f->module ? text_safe(f->module) : "??",
			f->offset ? text_safe(f->offset) : "0x0");
}

static void put_stack(FILE *out, const struct rstack *s, const char *indent)
{
	size_t i;

	if (!s->n)
		fprintf(out, "%s(no stack)\n", indent);
	/* the stack's start: named, or the C library's nameless frames */
	size_t tail = s->n;
	while (!verbose && tail > 0 &&
	       frame_is_start_tail(s->frames[tail - 1].module, s->frames[tail - 1].function))
		tail--;
	for (i = 0; i < tail; i++) {
		const struct rframe *f = &s->frames[i];

		if (!verbose && frame_hidden(f))
			continue;
		fprintf(out, "%s#%zu %s (%s+%s)", indent, i,
			f->function ? text_safe(f->function) : "??",
			f->module ? text_safe(f->module) : "??",
			f->offset ? text_safe(f->offset) : "0x0");
		if (f->file)
			fprintf(out, " %s:%ld", text_safe(f->file), f->line);
		fputc('\n', out);
	}
}

/* The stack of the acquisition that closed the finding, as the runtime
 * takes it: the first dependency's, else the finding's own; a merged
 * cycle, closed by no acquisition, has the one the other formats show. */
static const struct rstack *closing_stack(const struct rfinding *f)
{
	if (!f->merged && f->ncycle && f->cycle[0].stack.n)
		return &f->cycle[0].stack;
	return finding_site_stack(f);
}

/* The classes and the first frame in the program (text_what). */
static void put_what(FILE *out, const struct rfinding *f, const char *at)
{
	const struct rstack *s = closing_stack(f);
	const struct rframe *site = NULL;
	size_t i;

	for (i = 0; i < s->n; i++) {
		const struct rframe *fr = &s->frames[i];

		if (frame_is_runtime(fr->module) || frame_is_libc(fr->module))
			continue;
		if (!site)
			site = fr;
		if (fr->file && !frame_in_system_header(fr->file)) {
			site = fr;
			break;
		}
	}
	if (f->ncycle) {
		for (i = 0; i < f->ncycle; i++)
			fprintf(out, " %s ->", text_safe(f->cycle[i].from));
		fprintf(out, " %s", text_safe(f->cycle[0].from));
	} else if (f->subject) {
		fprintf(out, " %s", text_safe(f->subject));
	}
	if (!site)
		return;
	fputs(at, out);
	if (site->file)
		fprintf(out, " %s:%ld", text_safe(site->file), site->line);
	else
		fprintf(out, " (%s+%s)", site->module ? text_safe(site->module) : "??",
			site->offset ? text_safe(site->offset) : "0x0");
	if (site->function)
		fprintf(out, " in %s", text_safe(site->function));
}

static bool kind_is_event(const char *k)
{
	return k && (!strcmp(k, "cond") || !strcmp(k, "sem") || !strcmp(k, "barrier") ||
		     !strcmp(k, "once") || !strcmp(k, "event"));
}

/* What taking a class means, in the model's words (the runtime's verb). */
static void put_verb(FILE *out, const struct report *r, const char *name, bool holding,
		     int column)
{
	const char *k = class_kind(r, name);
	const char *fmt = holding ? "lock(%s);" : "lock(%s);";
	char line[1024];

	if (k && !strcmp(k, "fence"))
		fmt = holding ? "signal path of %s;" : "wait for %s;";
	else if (k && !strcmp(k, "reclaim"))
		fmt = holding ? "reclaim (%s);" : "allocate (%s);";
	else if (k && !strcmp(k, "thread"))
		fmt = holding ? "run %s, until it exits;" : "join(%s);";
	else if (kind_is_event(k))
		fmt = holding ? "on the way to signal(%s);" : "wait(%s);";
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(line, sizeof(line), fmt, text_safe(name));
#pragma GCC diagnostic pop
	if (column == 0)
		fprintf(out, "   %s\n", line);
	else
		fprintf(out, "   %-36s%s\n", "", line);
}

static void put_scenario(FILE *out, const struct report *r, const struct rfinding *f,
			 long total)
{
	if (f->ncycle < 2)
		return;
	const struct redge *e0 = &f->cycle[0], *last = &f->cycle[f->ncycle - 1];

	fputs("\n  possible unsafe scenario:\n\n", out);
	fprintf(out, "   %-36s%s\n", "this thread", "another thread");
	fprintf(out, "   %-36s%s\n", "-----------", "--------------");
	put_verb(out, r, e0->from, true, 0);
	put_verb(out, r, e0->to, true, 1);
	if (total > 2) {
		fprintf(out, "   %-36s... %ld more step(s) ...\n", "", total - 2);
		put_verb(out, r, last->from, true, 1);
	}
	put_verb(out, r, e0->from, false, 1);
	put_verb(out, r, e0->to, false, 0);
	fputs("\n   *** DEADLOCK ***\n", out);
}

void text_scenario(FILE *out, const struct report *r, const struct rfinding *f)
{
	put_scenario(out, r, f, f->cycle_length > (long)f->ncycle ? f->cycle_length
								   : (long)f->ncycle);
}

static void put_cycle(FILE *out, const struct report *r, const struct rfinding *f, long total)
{
	char buf[512];
	size_t i;

	if (f->ncycle >= 3) {
		fputs("\n  Chain exists of:\n    ", out);
		for (i = 0; i < f->ncycle; i++)
			fprintf(out, "%s --> ", text_safe(f->cycle[i].from));
		fprintf(out, "%s\n", text_safe(f->cycle[0].from));
	}
	fprintf(out, "\n  the cycle (%ld edges", total);
	if ((size_t)total > f->ncycle)
		fprintf(out, "; the first %zu shown", f->ncycle);
	fputs("):\n", out);
	fputs("  (A -(XY)-> B: B taken while A held; X how A is held, E exclusive or "
	      "S shared;\n   Y how B is taken, R recursive read or N otherwise)\n", out);
	for (i = 0; i < f->ncycle; i++) {
		const struct redge *e = &f->cycle[i];

		fprintf(out, "\n  %s -(%s)-> %s", text_safe(e->from), e->type, text_safe(e->to));
		if (e->primed) {
			const char *k = class_kind(r, e->from);
			fputs("   [primed: documented order", out);
			if (k && (!strcmp(k, "mmu_notifier") || !strcmp(k, "reclaim")))
				fputs("; reclaim may wait for fences", out);
			fputs("]\n", out);
			continue;
		}
		fputs(i == 0 && !f->merged ? ", being taken now:\n" : ", first seen at:\n", out);
		if (f->merged && e->proc) {
			proc_describe(e->proc, buf, sizeof(buf));
			fprintf(out, "    recorded by %s\n", buf);
		}
		put_stack(out, &e->stack, "    ");
	}
}

static void put_held(FILE *out, const struct rfinding *f)
{
	size_t i;

	if (!f->nheld) {
		fputs("  it held nothing.\n", out);
		return;
	}
	fprintf(out, "  it held %zu:\n", f->nheld);
	for (i = 0; i < f->nheld; i++) {
		fprintf(out, "   %zu: %s (%s)", i, text_safe(f->held[i].cls),
			f->held[i].mode ? text_safe(f->held[i].mode) : "exclusive");
		if (f->held[i].role)
			fprintf(out, " [%s]", text_safe(f->held[i].role));
		fputs(", taken at ", out);
		if (f->held[i].stack.n)
			put_frame_one(out, &f->held[i].stack.frames[0]);
		else
			fputs("??", out);
		fputc('\n', out);
	}
}

/* The runtime's "process ..." line, or how a merged cycle was found. */
static void put_origin(FILE *out, const struct rfinding *f)
{
	if (f->merged) {
		fprintf(out, "  found by merging the graphs of %zu processes; "
			     "no single process saw this cycle\n", f->nprocs);
		return;
	}
	fprintf(out, "  process %ld", f->proc ? f->proc->pid : 0L);
	if (f->has_thread)
		fprintf(out, ", thread %ld \"%s\"", f->tid,
			f->thread_name ? text_safe(f->thread_name) : "");
	if (f->subject)
		fprintf(out, ", class %s", text_safe(f->subject));
	fputc('\n', out);
	if (f->created_at) {
		fprintf(out, "  the thread was created at %s", text_safe(f->created_at));
		if (f->created_file)
			fprintf(out, " %s:%ld", text_safe(f->created_file), f->created_line);
		fputc('\n', out);
	}
}

/* Text of several lines (a hang's dump), each made safe, then a newline. */
static void put_lines(FILE *out, const char *s)
{
	char *copy = strdup(s), *line, *nl;

	if (!copy)
		return;
	for (line = copy; line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		fprintf(out, "%s%s", text_safe(line), nl ? "\n" : "");
	}
	fputc('\n', out);
	free(copy);
}

/* The command's own line: how often, where, and new or known. */
static void put_seen(FILE *out, const struct rfinding *f)
{
	char buf[512];

	fprintf(out, "  seen %ld time%s, %s", f->count, f->count == 1 ? "" : "s",
		f->baselined ? "in the baseline" : "new");
	if (!f->merged) {
		proc_describe(f->proc, buf, sizeof(buf));
		fprintf(out, "; reported by %s", buf);
		if (f->nprocs > 1)
			fprintf(out, " and %zu more processes", f->nprocs - 1);
	}
	fputc('\n', out);
}

void finding_summary(const struct rfinding *f, char *buf, size_t len)
{
	char *text = NULL;
	size_t n = 0;
	FILE *mem = open_memstream(&text, &n);

	if (!mem) {
		snprintf(buf, len, "SUMMARY: fencedep: %s", text_safe(f->kind));
		return;
	}
	fprintf(mem, "SUMMARY: fencedep: %s", text_safe(f->kind));
	put_what(mem, f, "");
	if (fclose(mem) || !text)
		snprintf(buf, len, "SUMMARY: fencedep: %s", text_safe(f->kind));
	else
		snprintf(buf, len, "%s", text);
	free(text);
}

static void put_finding(FILE *out, const struct report *r, const struct rfinding *f)
{
	const char *explain = kind_explanation(f->kind);
	long total = f->cycle_length > (long)f->ncycle ? f->cycle_length : (long)f->ncycle;
	size_t i;

	fputs("\n" RULE, out);
	fprintf(out, "fencedep: %s: %s:", text_safe(f->kind), text_safe(f->title));
	put_what(out, f, " at");
	fputs("\n------------------------------------------------------\n", out);
	put_origin(out, f);
	if (f->detail)
		fprintf(out, "  %s\n", text_safe(f->detail));
	if (explain)
		fprintf(out, "  %s\n", explain);
	if (f->ncycle)
		put_cycle(out, r, f, total);
	else if (f->stack.n || !f->dump) {
		fputs("\n  at:\n", out);
		put_stack(out, &f->stack, "    ");
	}
	for (i = 0; i < f->nnotes; i++) {
		fprintf(out, "\n  %s:\n", text_safe(f->notes[i].label));
		put_stack(out, &f->notes[i].stack, "    ");
	}
	if (f->dump) {
		fputc('\n', out);
		put_lines(out, f->dump);
	} else if (!f->merged) {
		fputc('\n', out);
		put_held(out, f);
	}
	if (f->ncycle >= 2)
		put_scenario(out, r, f, total);
	fprintf(out, "\n  fingerprint %s\n", f->fp);
	put_seen(out, f);
	fprintf(out, "\nSUMMARY: fencedep: %s", text_safe(f->kind));
	put_what(out, f, "");
	fprintf(out, "\nsuppress it with the line: %s:fingerprint:%s\n", text_safe(f->kind),
		f->fp);
	fputs(RULE, out);
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
			put_finding(out, r, &r->findings[i]);
	fprintf(out, "fencedep report: %zu finding%s (%zu new, %zu in the baseline, "
		     "%zu suppressed) from %zu report%s; graph of %zu classes and "
		     "%zu dependencies\n",
		r->nfindings, r->nfindings == 1 ? "" : "s", r->nnew,
		r->nbaselined, r->nsuppressed, r->nprocs,
		r->nprocs == 1 ? "" : "s", r->graph.nclasses, r->graph.nedges);
	return ferror(out) ? -1 : 0;
}
