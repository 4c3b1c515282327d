/*
 * report_gate.c - decide which findings count: suppressions hide findings,
 * the baseline marks the ones already known, and what is left is new.
 *
 * A baseline file holds one fingerprint a line; "#" starts a comment that
 * runs to the end of the line, blank lines are ignored.  The comment line
 * "# fencedep baseline version 2" says its fingerprints are of version 2
 * (fingerprint.h); a file without it is of version 1, whose lines are
 * matched against the version-1 fingerprint of each finding, and the
 * command says how many matched and that the file should be written again.
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

/* Version-1 lines are kept under "v1" + fingerprint, and their number
 * under V1_COUNT. */
#define V1_COUNT "version-1 lines"

void report_apply_baseline(struct report *r, const struct strtab *baseline)
{
	size_t i, nv1 = 0, matched = 0;
	char key[2 + FDEP_FINGERPRINT_LEN + 1] = "v1";

	strtab_get(baseline, V1_COUNT, strlen(V1_COUNT), &nv1);
	for (i = 0; i < r->nfindings; i++) {
		struct rfinding *f = &r->findings[i];

		f->baselined = strtab_get(baseline, f->fp, 16, NULL);
		if (f->baselined || !nv1)
			continue;
		finding_fingerprint_v1(f, key + 2);
		f->baselined = strtab_get(baseline, key, sizeof(key) - 1, NULL);
		matched += f->baselined;
	}
	if (nv1)
		fprintf(stderr,
			"fencedep report: the baseline has %zu version-1 fingerprint%s (written "
			"before fingerprints named the functions that prove a finding); %zu "
			"finding%s matched by class names alone: write it again with "
			"--write-baseline\n",
			nv1, nv1 == 1 ? "" : "s", matched, matched == 1 ? "" : "s");
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

#define VERSION_LINE "# fencedep baseline version "

int baseline_parse(const char *buf, size_t len, struct strtab *fps,
		   struct read_error *err)
{
	size_t pos = 0, end, a, b, nv1 = 0;
	unsigned line = 0, version = 1;
	char key[2 + FDEP_FINGERPRINT_LEN] = "v1";

	memset(err, 0, sizeof(*err));
	for (pos = 0; pos < len; pos = end + 1) {
		for (end = pos; end < len && buf[end] != '\n'; end++)
			;
		line++;
		if (end - pos > strlen(VERSION_LINE) &&
		    !memcmp(buf + pos, VERSION_LINE, strlen(VERSION_LINE))) {
			version = (unsigned)strtoul(buf + pos + strlen(VERSION_LINE), NULL, 10);
			if (version < 1 || version > FDEP_FINGERPRINT_VERSION) {
				err->line = line;
				err->col = (unsigned)strlen(VERSION_LINE) + 1;
				snprintf(err->msg, sizeof(err->msg),
					 "baseline version %u: this fencedep reads versions 1 to %d",
					 version, FDEP_FINGERPRINT_VERSION);
				return -1;
			}
		}
	}
	line = 0;
	for (pos = 0; pos < len; pos = end + 1) {
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
		if (version == 1)
			memcpy(key + 2, buf + a, FDEP_FINGERPRINT_LEN);
		if (version == 1 ? strtab_put(fps, key, sizeof(key), 0)
				 : strtab_put(fps, buf + a, 16, 0)) {
			snprintf(err->msg, sizeof(err->msg), "out of memory");
			return -1;
		}
		nv1 += version == 1;
	}
	if (nv1) {
		size_t old = 0;

		strtab_get(fps, V1_COUNT, strlen(V1_COUNT), &old);
		if (strtab_put(fps, V1_COUNT, strlen(V1_COUNT), old + nv1)) {
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
		     "# Findings listed here do not fail `fencedep report --baseline`.\n"
		     VERSION_LINE "%d\n", FDEP_FINGERPRINT_VERSION);
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
