/*
 * report_gate.c - decide which findings count: suppressions hide findings,
 * the baseline marks the ones already known, and what is left is new.
 *
 * A baseline file holds one fingerprint a line; "#" starts a comment that
 * runs to the end of the line, blank lines are ignored.
 */
#include "report_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fingerprint.h"
#include "suppress.h"

struct strlist {
	const char **s;
	size_t n, cap;
};

static void push(struct strlist *l, const char *s)
{
	const char **ns;

	if (!s || !*s)
		return;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 32;
		ns = realloc(l->s, l->cap * sizeof(*ns));
		if (!ns) {
			l->cap = l->n;
			return;
		}
		l->s = ns;
	}
	l->s[l->n++] = s;
}

static void push_stack(struct strlist *l, const struct rstack *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		push(l, s->frames[i].function);
		push(l, s->frames[i].file);
		push(l, s->frames[i].module);
	}
}

size_t finding_strings(const struct rfinding *f, const char ***out)
{
	/* valid until the next call: the callers match and drop the list */
	static char fp[32];
	struct strlist l = { 0 };
	size_t i;

	snprintf(fp, sizeof(fp), "fingerprint:%s", f->fp);
	push(&l, fp);
	for (i = 0; i < f->ncycle; i++) {
		push(&l, f->cycle[i].from);
		push(&l, f->cycle[i].to);
	}
	for (i = 0; i < f->nheld; i++)
		push(&l, f->held[i].cls);
	for (i = 0; i < f->ncycle; i++)
		push_stack(&l, &f->cycle[i].stack);
	for (i = 0; i < f->nheld; i++)
		push_stack(&l, &f->held[i].stack);
	push_stack(&l, &f->stack);
	*out = l.s;
	return l.n;
}

void report_suppress(struct report *r, const struct suppress_set *set)
{
	const struct suppress_rule *rule;
	const char **strings;
	size_t i, n;

	for (i = 0; i < r->nfindings; i++) {
		struct rfinding *f = &r->findings[i];

		n = finding_strings(f, &strings);
		rule = suppress_match(set, f->kind, strings, n);
		free(strings);
		if (rule)
			f->suppressed = true;
	}
}

void report_apply_baseline(struct report *r, const struct strtab *baseline)
{
	size_t i;

	for (i = 0; i < r->nfindings; i++)
		r->findings[i].baselined =
			strtab_get(baseline, r->findings[i].fp, 16, NULL);
}

void report_count(struct report *r)
{
	size_t i;

	r->nnew = r->nbaselined = r->nsuppressed = 0;
	for (i = 0; i < r->nfindings; i++) {
		const struct rfinding *f = &r->findings[i];

		if (f->suppressed)
			r->nsuppressed++;
		else if (f->baselined)
			r->nbaselined++;
		else
			r->nnew++;
	}
}

/* ---- baseline files ---- */

static bool is_hex_fp(const char *s, size_t len)
{
	size_t i;

	if (len != FDEP_FINGERPRINT_LEN)
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

int baseline_parse(const char *buf, size_t len, struct strtab *fps,
		   struct read_error *err)
{
	size_t pos = 0, end, a, b;
	unsigned line = 0;

	memset(err, 0, sizeof(*err));
	for (; pos < len; pos = end + 1) {
		for (end = pos; end < len && buf[end] != '\n'; end++)
			;
		line++;
		for (a = pos; a < end && blank(buf[a]); a++)
			;
		for (b = a; b < end && buf[b] != '#' && !blank(buf[b]); b++)
			;
		if (a == b)
			continue;	/* blank or comment */
		if (!is_hex_fp(buf + a, b - a))
			goto bad;
		for (; b < end && blank(buf[b]); b++)
			;
		if (b < end && buf[b] != '#')
			goto bad;
		if (strtab_put(fps, buf + a, 16, 0)) {
			snprintf(err->msg, sizeof(err->msg), "out of memory");
			return -1;
		}
	}
	return 0;
bad:
	err->line = line;
	err->col = (unsigned)(a - pos + 1);
	snprintf(err->msg, sizeof(err->msg),
		 "expected a fingerprint (16 lowercase hex digits) or a # comment");
	return -1;
}

/* A class name or title on one comment line: no line breaks. */
static void put_comment_text(FILE *out, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 ? ' ' : *s, out);
}

int baseline_write(FILE *out, const struct report *r)
{
	size_t i;

	fprintf(out, "# fencedep baseline: one finding fingerprint a line.\n"
		     "# Findings listed here do not fail `fencedep report --baseline`.\n");
	for (i = 0; i < r->nfindings; i++) {
		const struct rfinding *f = &r->findings[i];

		if (f->suppressed)
			continue;
		fputs("# ", out);
		put_comment_text(out, f->kind);
		fputs(": ", out);
		put_comment_text(out, f->title);
		if (f->ncycle) {
			size_t k;

			fputs(" (", out);
			for (k = 0; k < f->ncycle; k++) {
				put_comment_text(out, f->cycle[k].from);
				fputs(" -> ", out);
			}
			put_comment_text(out, f->cycle[0].from);
			fputs(")", out);
		}
		fprintf(out, "\n%s\n", f->fp);
	}
	return ferror(out) ? -1 : 0;
}
