/*
 * report_text.c - the text report, lockdep-style: what happened, the cycle
 * edge by edge with where each edge was first seen, the thread and what it
 * held, and for a cycle the possible unsafe scenario, two columns wide.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "explain.h"
#include "finding.h"
#include "frames.h"
#include "textcolor.h"

/*
 * buf_printf for the text report.  Every %s argument is a name that comes
 * from the program (a class, a symbol, a path, a thread's name, an
 * assertion's message) or text built from them, and a newline in one
 * would start a report line of its own: a forged SUMMARY or suppression
 * line.  Such a newline is written as \x0a, the way buf_put_text writes
 * every other control character; the report's own newlines are in the
 * formats.
 */
static void text_printf(struct rt_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void text_printf(struct rt_buf *b, const char *fmt, ...)
{
	va_list ap;
	const char *p = fmt;
	char spec[16];

	va_start(ap, fmt);
	while (*p) {
		size_t lit = strcspn(p, "%");
		if (lit)
			buf_printf(b, "%.*s", (int)lit, p);
		p += lit;
		if (!*p)
			break;
		size_t n = 1 + strspn(p + 1, "-+ #0123456789.");
		bool is_long = false, is_size = false;
		for (; p[n] == 'l' || p[n] == 'z'; n++)
			is_long |= p[n] == 'l', is_size |= p[n] == 'z';
		char conv = p[n];
		if (!conv || n + 2 > sizeof(spec))
			break; /* not a format this file writes */
		memcpy(spec, p, n + 1);
		spec[n + 1] = '\0';
		p += n + 1;
		if (conv == '%') {
			buf_puts(b, "%");
		} else if (conv == 's') {
			const char *arg = va_arg(ap, const char *);
			struct rt_buf one = { 0 };
			if (arg && strchr(arg, '\n')) {
				for (const char *q = arg; *q;) {
					size_t run = strcspn(q, "\n");
					buf_printf(&one, "%.*s", (int)run, q);
					q += run;
					if (*q == '\n') {
						buf_puts(&one, "\\x0a");
						q++;
					}
				}
				arg = one.data ? one.data : "";
			}
			buf_printf(b, spec, arg);
			buf_release(&one);
		} else if (conv == 'c' || conv == 'd' || conv == 'i' || conv == 'u' ||
			   conv == 'x' || conv == 'X') {
			if (is_size)
				buf_printf(b, spec, va_arg(ap, size_t));
			else if (is_long)
				buf_printf(b, spec, va_arg(ap, long));
			else
				buf_printf(b, spec, va_arg(ap, int));
		} else {
			break;
		}
	}
	va_end(ap);
}
#pragma GCC diagnostic pop

/* The name of choice i of "a|b|c" (a static copy, for help=1). */
static const char *enum_name(const char *choices, long i)
{
	static char name[64];
	const char *p = choices;
	size_t n;

	while (i-- > 0 && (p = strchr(p, '|')))
		p++;
	if (!p)
		return "?";
	n = strcspn(p, "|");
	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, p, n);
	name[n] = '\0';
	return name;
}

/* The runtime's and libc's thread start frames are shown at verbosity=3. */
static bool frame_shown(const struct frame *f)
{
	return rt_opt.verbosity >= 3 || !frame_is_start(f->module, f->function);
}

void report_frames_text(struct rt_buf *b, uint32_t stack, const char *indent)
{
	uintptr_t pcs[STACK_MAX];
	uint32_t n = stack_get(stack, pcs, STACK_MAX);
	struct frame f;

	if (!n) {
		text_printf(b, "%s(no stack)\n", indent);
		return;
	}
	/* the stack's start: named, or the C library's nameless frames */
	uint32_t tail = n;
	while (rt_opt.verbosity < 3 && tail > 0) {
		stack_symbolize(pcs[tail - 1], &f);
		if (!frame_is_start_tail(f.module, f.function))
			break;
		tail--;
	}
	for (uint32_t i = 0; i < tail; i++) {
		stack_symbolize(pcs[i], &f);
		if (!frame_shown(&f))
			continue;
		text_printf(b, "%s#%u %s (%s+%#lx)", indent, i, f.function ? f.function : "??",
			   f.module ? f.module : "??", (unsigned long)f.offset);
		if (f.file)
			text_printf(b, " %s:%d", f.file, f.line);
		buf_puts(b, "\n");
	}
}

static void frame_one(struct rt_buf *b, uintptr_t pc)
{
	struct frame f;

	stack_symbolize(pc, &f);
	text_printf(b, "%s", f.function ? f.function : "??");
	if (f.file)
		text_printf(b, " %s:%d", f.file, f.line);
	else
		text_printf(b, " (%s+%#lx)", f.module ? f.module : "??", (unsigned long)f.offset);
}

static void text_held(struct rt_buf *b, const struct finding *f)
{
	if (!f->nheld) {
		buf_puts(b, "  it held nothing.\n");
		return;
	}
	text_printf(b, "  it held %u:\n", f->nheld);
	for (uint32_t i = 0; i < f->nheld; i++) {
		const char *what = (f->held[i].flags & HF_PATH)	     ? " [signalling path]"
				   : (f->held[i].flags & HF_SECTION) ? " [signalling section]"
				   : (f->held[i].flags & HF_RECLAIM) ? " [in reclaim]"
				   : (f->held[i].flags & HF_TRY)     ? " [trylock]"
								     : "";
		text_printf(b, "   %u: %s (%s)%s, taken at ", i, f->held[i].cls,
			   hold_mode_name(f->held[i].mode), what);
		frame_one(b, f->held[i].ip);
		buf_puts(b, "\n");
	}
}

/* What taking a class means, in the model's words. */
static void verb(struct rt_buf *b, const char *name, int kind, bool holding)
{
	if (kind == CK_FENCE)
		text_printf(b, holding ? "signal path of %s" : "wait for %s", name);
	else if (kind == CK_RECLAIM)
		text_printf(b, holding ? "reclaim (%s)" : "allocate (%s)", name);
	else if (kind == CK_THREAD)
		text_printf(b, holding ? "run %s, until it exits" : "join(%s)", name);
	else if (class_kind_is_event(kind))
		text_printf(b, holding ? "on the way to signal(%s)" : "wait(%s)", name);
	else
		text_printf(b, "lock(%s)", name);
}

static void scenario_line(struct rt_buf *b, int column, const char *name, int kind, bool holding)
{
	struct rt_buf w = { 0 };

	verb(&w, name, kind, holding);
	if (column == 0)
		text_printf(b, "   %s;\n", w.data ? w.data : "");
	else
		text_printf(b, "   %-36s%s;\n", "", w.data ? w.data : "");
	buf_release(&w);
}

/*
 * Two columns: this thread holds the first edge's source and takes its
 * target; another holds the target and, through the rest of the cycle,
 * comes back to the source.
 */
static void text_scenario(struct rt_buf *b, const struct finding *f)
{
	const typeof(f->cycle[0]) *e0 = &f->cycle[0], *last = &f->cycle[f->ncycle - 1];

	buf_puts(b, "\n  possible unsafe scenario:\n\n");
	text_printf(b, "   %-36s%s\n", "this thread", "another thread");
	text_printf(b, "   %-36s%s\n", "-----------", "--------------");
	scenario_line(b, 0, e0->from, e0->from_kind, true);
	scenario_line(b, 1, e0->to, e0->to_kind, true);
	if (f->cycle_total > 2) {
		text_printf(b, "   %-36s... %u more step(s) ...\n", "", f->cycle_total - 2);
		scenario_line(b, 1, last->from, last->from_kind, true);
	}
	scenario_line(b, 1, e0->from, e0->from_kind, false);
	scenario_line(b, 0, e0->to, e0->to_kind, false);
	buf_puts(b, "\n   *** DEADLOCK ***\n");
}


/*
 * lockdep's scenario for an inconsistent lock state: one thread, the
 * signal arriving while it holds the lock; or, one step removed, a thread
 * that holds the handler's lock while taking the other.
 */
static void text_signal_scenario(struct rt_buf *b, const struct finding *f)
{
	const char *abbrev = f->sig > 0 ? sigabbrev_np(f->sig) : NULL;
	char sig[24];

	snprintf(sig, sizeof(sig), "SIG%s", abbrev ? abbrev : "?");
	buf_puts(b, "\n  possible unsafe scenario:\n\n");
	if (!f->subject[1]) {
		text_printf(b, "   %s\n", "this thread");
		text_printf(b, "   %s\n", "-----------");
		text_printf(b, "   lock(%s);\n", f->subject[0]);
		text_printf(b, "   <%s>\n", sig);
		text_printf(b, "     lock(%s);\n", f->subject[0]);
	} else {
		text_printf(b, "   %-36s%s\n", "this thread", "another thread");
		text_printf(b, "   %-36s%s\n", "-----------", "--------------");
		struct rt_buf w = { 0 };
		text_printf(&w, "lock(%s);", f->subject[1]);
		text_printf(b, "   %s\n", w.data ? w.data : "");
		buf_release(&w);
		text_printf(b, "   %-36slock(%s);\n", "", f->subject[0]);
		text_printf(b, "   %-36slock(%s);\n", "", f->subject[1]);
		text_printf(b, "   <%s>\n", sig);
		text_printf(b, "     lock(%s);\n", f->subject[0]);
	}
	buf_puts(b, "\n   *** DEADLOCK ***\n");
}

/*
 * What a finding is about and where, for its first line and its SUMMARY,
 * the two lines a person greps: the classes of the cycle (or the class),
 * and the first frame in the program - not the runtime's, not libc's,
 * with a file not in a system header when there is one - of the
 * acquisition that closed it.
 */
static void text_what(struct rt_buf *b, const struct finding *f, const char *at)
{
	uintptr_t pcs[STACK_MAX];
	uint32_t n = stack_get(f->ncycle ? f->cycle[0].stack : f->stack, pcs, STACK_MAX);
	struct frame fr, site = { 0 };
	bool found = false;

	for (uint32_t i = 0; i < n && !found; i++) {
		stack_symbolize(pcs[i], &fr);
		if (frame_is_runtime(fr.module) || frame_is_libc(fr.module))
			continue;
		if (!site.pc)
			site = fr;
		if (fr.file && !frame_in_system_header(fr.file)) {
			site = fr;
			found = true;
		}
	}
	if (f->ncycle) {
		for (uint32_t i = 0; i < f->ncycle; i++)
			text_printf(b, " %s ->", f->cycle[i].from);
		text_printf(b, " %s", f->cycle[0].from);
	} else if (f->subject[0]) {
		text_printf(b, " %s", f->subject[0]);
	}
	if (site.pc)
		buf_puts(b, at);
	if (site.file)
		text_printf(b, " %s:%d", site.file, site.line);
	else if (site.pc)
		text_printf(b, " (%s+%#lx)", site.module ? site.module : "??",
			    (unsigned long)site.offset);
	if (site.function)
		text_printf(b, " in %s", site.function);
}

/*
 * The closing lines, as sanitizers end theirs: the SUMMARY line, and the
 * suppression that hides this finding, ready to paste.
 */
static void text_summary(struct rt_buf *b, const struct finding *f)
{
	text_printf(b, "\nSUMMARY: fencedep: %s", finding_kind_name(f->kind));
	text_what(b, f, "");
	text_printf(b, "\nsuppress it with the line: %s:fingerprint:%s\n",
		    finding_kind_name(f->kind), f->fingerprint);
}

/* lockdep's "Chain exists of:" for a cycle of three locks or more. */
static void text_chain(struct rt_buf *b, const struct finding *f)
{
	if (f->ncycle < 3)
		return;
	buf_puts(b, "\n  Chain exists of:\n    ");
	for (uint32_t i = 0; i < f->ncycle; i++)
		text_printf(b, "%s --> ", f->cycle[i].from);
	text_printf(b, "%s\n", f->cycle[0].from);
}

static void text_raw(struct rt_buf *b, const struct finding *f)
{
	buf_puts(b, "\n======================================================\n");
	text_printf(b, "fencedep: %s: %s:", finding_kind_name(f->kind), f->title);
	text_what(b, f, " at");
	buf_puts(b, "\n");
	buf_puts(b, "------------------------------------------------------\n");
	text_printf(b, "  process %d, thread %d \"%s\"", (int)getpid(), (int)f->tid, f->thread_name);
	if (f->subject[0])
		text_printf(b, ", class %s", f->subject[0]);
	buf_puts(b, "\n");
	if (f->thread_site) {
		buf_puts(b, "  the thread was created at ");
		frame_one(b, f->thread_site);
		buf_puts(b, "\n");
	}
	if (f->detail)
		text_printf(b, "  %s\n", f->detail);
	if (kind_explanation(finding_kind_name(f->kind))) {
		/* the report's own text, several lines */
		buf_puts(b, "  ");
		buf_puts(b, kind_explanation(finding_kind_name(f->kind)));
		buf_puts(b, "\n");
	}
	if (f->ncycle) {
		text_chain(b, f);
		text_printf(b, "\n  the cycle (%u edges", f->cycle_total);
		if (f->cycle_total > f->ncycle)
			text_printf(b, "; the first %u shown", f->ncycle);
		buf_puts(b, "):\n");
		buf_puts(b, "  (A -(XY)-> B: B taken while A held; X how A is held, E exclusive or "
			    "S shared;\n   Y how B is taken, R recursive read or N otherwise)\n");
		for (uint32_t i = 0; i < f->ncycle; i++) {
			text_printf(b, "\n  %s -(%s)-> %s", f->cycle[i].from,
				   edge_type_name(f->cycle[i].type), f->cycle[i].to);
			if (f->cycle[i].primed) {
				buf_puts(b, "   [primed: documented order");
				if (f->cycle[i].from_kind == CK_MMU_NOTIFIER ||
				    f->cycle[i].from_kind == CK_RECLAIM)
					buf_puts(b, "; reclaim may wait for fences");
				buf_puts(b, "]\n");
				continue;
			}
			buf_puts(b, i == 0 ? ", being taken now:\n" : ", first seen at:\n");
			report_frames_text(b, f->cycle[i].stack, "    ");
		}
	} else if (f->stack || !f->dump) {
		buf_puts(b, "\n  at:\n");
		report_frames_text(b, f->stack, "    ");
	}
	for (uint32_t i = 0; i < f->nnotes; i++) {
		text_printf(b, "\n  %s:\n", f->notes[i].label);
		report_frames_text(b, f->notes[i].stack, "    ");
	}
	buf_puts(b, "\n");
	if (f->dump) {
		/* the state dump's lines, made by watchdog.c */
		buf_puts(b, f->dump);
		buf_puts(b, "\n");
	}
	else
		text_held(b, f);
	if (f->ncycle >= 2)
		text_scenario(b, f);
	if (f->kind == FK_SIGNAL_UNSAFE_LOCK && f->subject[0])
		text_signal_scenario(b, f);
	text_printf(b, "\n  fingerprint %s\n", f->fingerprint);
	text_summary(b, f);
	buf_puts(b, "======================================================\n");
}

/*
 * The finding as text, made safe at the point of output: names come from
 * the program (class names, symbols, paths, thread names) and may hold
 * escape sequences or bytes that are not UTF-8.
 */
void report_text(struct rt_buf *b, const struct finding *f)
{
	struct rt_buf raw = { 0 }, safe = { 0 };

	text_raw(&raw, f);
	if (raw.data)
		buf_put_text(report_colored() ? &safe : b, raw.data, raw.len);
	if (safe.data)
		report_colorize(b, safe.data, safe.len);
	buf_release(&raw);
	buf_release(&safe);
}

/*
 * color=auto: colour when the log is the terminal (stderr or stdout, not
 * a file) and TERM is set and not "dumb", as the sanitizers decide.
 */
bool report_colored(void)
{
	const char *term;
	int fd;

	if (rt_opt.color == 1)
		return true;
	if (rt_opt.color == 2)
		return false;
	if (!strcmp(rt_opt.log_path, "stderr"))
		fd = 2;
	else if (!strcmp(rt_opt.log_path, "stdout"))
		fd = 1;
	else
		return false;
	term = getenv("TERM");
	return isatty(fd) && term && *term && strcmp(term, "dumb");
}

/*
 * Colour whole lines of text that buf_put_text has made safe: it holds
 * no escape of its own, so these are the only ones.
 */
void report_colorize(struct rt_buf *b, const char *s, size_t n)
{
	size_t i = 0, e;
	const char *c;

	while (i < n) {
		const char *nl = memchr(s + i, '\n', n - i);

		e = nl ? (size_t)(nl - s) : n;
		c = text_line_color(s + i, e - i);
		if (c)
			buf_puts(b, c);
		buf_put_text(b, s + i, e - i);
		if (c)
			buf_puts(b, TEXT_COLOR_OFF);
		if (nl)
			buf_puts(b, "\n");
		i = e + 1;
	}
}

void options_help(int fd)
{
	struct rt_buf b = { 0 };

	buf_puts(&b, "fencedep: runtime options (FENCEDEP_OPTIONS=key=value:key=value):\n");
#define OPT_STRING(n, d, h) \
	buf_printf(&b, "  %-16s %s (default \"%s\", now \"%s\")\n", #n, h, d, rt_opt.n);
#define OPT_INT(n, d, lo, hi, h) \
	buf_printf(&b, "  %-16s %s (default %d, now %ld)\n", #n, h, d, rt_opt.n);
#define OPT_BOOL(n, d, h) \
	buf_printf(&b, "  %-16s %s (default %d, now %d)\n", #n, h, d, (int)rt_opt.n);
#define OPT_ENUM(n, d, c, h) \
	buf_printf(&b, "  %-16s %s: %s (default %s, now %s)\n", #n, h, c, d, \
		   enum_name(c, rt_opt.n));
#include "options.def"
#undef OPT_STRING
#undef OPT_INT
#undef OPT_BOOL
#undef OPT_ENUM
	if (b.data) {
		const char *p = b.data;
		size_t left = b.len;

		while (left) {
			ssize_t w = write(fd, p, left);

			if (w <= 0)
				break;
			p += w;
			left -= (size_t)w;
		}
	}
	buf_release(&b);
}
