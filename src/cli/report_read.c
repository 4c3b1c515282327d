/*
 * report_read.c - read per-process JSON reports (schema 1) into the model.
 *
 * Every field is checked for its type; any surprise is an error naming the
 * field and the line and column of the offending value, so that a truncated
 * or foreign file is reported, never half-read.  Unknown fields are ignored
 * (later versions may add fields); absent optional fields take defaults.
 */
#include "report_model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fingerprint.h"

#define REPORT_SCHEMA 1

/*
 * Where the reader is: the text of the current document and where it
 * starts in its file.  Errors name a value by its path from the document
 * ("findings[0].count", "" for the document itself); the path is followed
 * again in the text, only on error, to give the value's line and column.
 */
struct reader {
	struct report *r;
	struct rproc *proc;
	struct read_error *err;
	const char *text;		/* the current document */
	size_t len;
	unsigned line0, col0;		/* where text starts in its file */
};

/* ---- a value's position, in text jansson has accepted ---- */

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_blank(const char *t, size_t len, size_t i)
{
	while (i < len && blank(t[i]))
		i++;
	return i;
}

/* i at a '"': the index after the closing one. */
static size_t skip_string(const char *t, size_t len, size_t i)
{
	for (i++; i < len && t[i] != '"'; i++)
		if (t[i] == '\\')
			i++;
	return i < len ? i + 1 : len;
}

/* i at a value: the index after it. */
static size_t skip_value(const char *t, size_t len, size_t i)
{
	size_t depth = 0;

	if (i < len && t[i] == '"')
		return skip_string(t, len, i);
	for (; i < len; i++) {
		if (t[i] == '"') {
			i = skip_string(t, len, i) - 1;
		} else if (t[i] == '{' || t[i] == '[') {
			depth++;
		} else if (t[i] == '}' || t[i] == ']') {
			if (!depth)
				return i;
			if (!--depth)
				return i + 1;
		} else if (!depth && (t[i] == ',' || blank(t[i]))) {
			return i;
		}
	}
	return len;
}

/* i at '{': the value of member key[0..n), or len. */
static size_t member_at(const char *t, size_t len, size_t i, const char *key,
			size_t n)
{
	size_t k, end;

	if (i >= len || t[i] != '{')
		return len;
	i = skip_blank(t, len, i + 1);
	while (i < len && t[i] == '"') {
		end = skip_string(t, len, i);
		k = i + 1;
		i = skip_blank(t, len, skip_blank(t, len, end) + 1);
		if (end - 1 - k == n && !memcmp(t + k, key, n))
			return i;
		i = skip_blank(t, len, skip_value(t, len, i));
		if (i < len && t[i] == ',')
			i = skip_blank(t, len, i + 1);
	}
	return len;
}

/* i at '[': item n, or len. */
static size_t item_at(const char *t, size_t len, size_t i, size_t n)
{
	if (i >= len || t[i] != '[')
		return len;
	i = skip_blank(t, len, i + 1);
	while (n-- && i < len && t[i] != ']') {
		i = skip_blank(t, len, skip_value(t, len, i));
		if (i < len && t[i] == ',')
			i = skip_blank(t, len, i + 1);
	}
	return i < len && t[i] != ']' ? i : len;
}

/* The offset of the value at path ("a[2].b"), or of the deepest found. */
static size_t locate(const char *t, size_t len, const char *path)
{
	size_t at = skip_blank(t, len, 0), next, n;
	const char *p = path;

	while (*p) {
		if (*p == '[') {
			next = item_at(t, len, at, strtoul(p + 1, NULL, 10));
			p = strchr(p, ']');
			p = p ? p + 1 : "";
		} else {
			if (*p == '.')
				p++;
			n = strcspn(p, ".[");
			next = member_at(t, len, at, p, n);
			p += n;
		}
		if (next >= len)
			break;
		at = next;
	}
	return at;
}

/* Line and column (from 1) of text offset off in the file. */
static void position(const struct reader *rd, size_t off, unsigned *line,
		     unsigned *col)
{
	size_t i, bol = 0;
	unsigned l = 0;

	for (i = 0; i < off && i < rd->len; i++) {
		if (rd->text[i] == '\n') {
			l++;
			bol = i + 1;
		}
	}
	*line = rd->line0 + l;
	*col = (unsigned)(off - bol) + 1 + (l ? 0 : rd->col0 - 1);
}

/* An error about the value at path (NULL: about no position). */
static int fail(struct reader *rd, const char *path, const char *fmt, ...)
{
	va_list ap;

	rd->err->line = rd->err->col = 0;
	if (path)
		position(rd, locate(rd->text, rd->len, path), &rd->err->line,
			 &rd->err->col);
	va_start(ap, fmt);
	vsnprintf(rd->err->msg, sizeof(rd->err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static int oom(struct reader *rd)
{
	return fail(rd, NULL, "out of memory");
}

static void *grow_array(void *items, size_t n, size_t *cap, size_t size)
{
	void *ni;
	size_t ncap;

	if (n < *cap)
		return items;
	ncap = *cap ? *cap * 2 : 8;
	ni = realloc(items, ncap * size);
	if (ni)
		*cap = ncap;
	return ni;
}

/* ---- typed field access ---- */

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER:
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

static bool of_type(const json_t *v, const char *want)
{
	return !strcmp(type_name(v), want);
}

/* ctx.key as a path; ctx "" is the document. */
static const char *join(char *buf, size_t size, const char *ctx,
			const char *key)
{
	if (snprintf(buf, size, "%s%s%s", ctx, *ctx ? "." : "", key) >= (int)size)
		return ctx;		/* too deep to name: its container */
	return buf;
}

/* How an error names ctx: "report" for the document. */
static const char *shown(const char *ctx)
{
	return *ctx ? ctx : "report";
}

/* The member key of obj, NULL if absent or null; -1 if of another type. */
static int field(struct reader *rd, const json_t *obj, const char *ctx,
		 const char *key, const char *type, bool required,
		 json_t **out)
{
	json_t *v = json_object_get(obj, key);
	char path[200];

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (required)
			return fail(rd, ctx, "%s: missing \"%s\"", shown(ctx), key);
		return 0;
	}
	if (!of_type(v, type))
		return fail(rd, join(path, sizeof(path), ctx, key),
			    "%s.%s: expected %s, found %s", shown(ctx), key,
			    type, type_name(v));
	*out = v;
	return 0;
}

/* Every string read is kept once, in the report's string table. */
static const char *intern(struct reader *rd, const json_t *s)
{
	return strtab_intern(&rd->r->strings, json_string_value(s),
			     json_string_length(s));
}

static int field_str(struct reader *rd, const json_t *obj, const char *ctx,
		     const char *key, bool required, const char **out)
{
	json_t *v;

	*out = NULL;
	if (field(rd, obj, ctx, key, "a string", required, &v))
		return -1;
	if (v && !(*out = intern(rd, v)))
		return oom(rd);
	return 0;
}

static int field_long(struct reader *rd, const json_t *obj, const char *ctx,
		      const char *key, long dflt, long *out)
{
	json_t *v;
	char path[200];

	*out = dflt;
	if (field(rd, obj, ctx, key, "a number", false, &v))
		return -1;
	if (!v)
		return 0;
	if (!json_is_integer(v))
		return fail(rd, join(path, sizeof(path), ctx, key),
			    "%s.%s: expected an integer", shown(ctx), key);
	*out = (long)json_integer_value(v);
	return 0;
}

static int field_bool(struct reader *rd, const json_t *obj, const char *ctx,
		      const char *key, bool *out)
{
	json_t *v;

	if (field(rd, obj, ctx, key, "a boolean", false, &v))
		return -1;
	*out = v ? json_is_true(v) : false;
	return 0;
}

static int expect_object(struct reader *rd, const json_t *v, const char *ctx)
{
	if (!json_is_object(v))
		return fail(rd, ctx, "%s: expected an object, found %s",
			    shown(ctx), type_name(v));
	return 0;
}

/* ---- frames and stacks ---- */

static int read_frame(struct reader *rd, const json_t *v, const char *ctx,
		      struct rframe *f)
{
	char path[200];

	if (expect_object(rd, v, ctx) ||
	    field_str(rd, v, ctx, "pc", false, &f->pc) ||
	    field_str(rd, v, ctx, "module", false, &f->module) ||
	    field_str(rd, v, ctx, "offset", false, &f->offset) ||
	    field_str(rd, v, ctx, "function", false, &f->function) ||
	    field_str(rd, v, ctx, "file", false, &f->file) ||
	    field_long(rd, v, ctx, "line", 0, &f->line))
		return -1;
	if (f->line < 0)
		return fail(rd, join(path, sizeof(path), ctx, "line"),
			    "%s.line: negative", ctx);
	return 0;
}

static int read_stack(struct reader *rd, const json_t *obj, const char *ctx,
		      struct rstack *s)
{
	json_t *a;
	char sub[200];
	size_t i, n;

	s->frames = NULL;
	s->n = 0;
	if (field(rd, obj, ctx, "stack", "an array", false, &a))
		return -1;
	n = a ? json_array_size(a) : 0;
	if (!n)
		return 0;
	s->frames = calloc(n, sizeof(*s->frames));
	if (!s->frames)
		return oom(rd);
	s->n = n;
	for (i = 0; i < n; i++) {
		snprintf(sub, sizeof(sub), "%s%sstack[%zu]", ctx, *ctx ? "." : "", i);
		if (read_frame(rd, json_array_get(a, i), sub, &s->frames[i]))
			return -1;
	}
	return 0;
}

/* ---- edges ---- */

static int read_edge(struct reader *rd, const json_t *v, const char *ctx,
		     struct redge *e)
{
	const char *type;
	char path[200];

	memset(e, 0, sizeof(*e));
	e->proc = rd->proc;
	if (expect_object(rd, v, ctx) ||
	    field_str(rd, v, ctx, "from", true, &e->from) ||
	    field_str(rd, v, ctx, "to", true, &e->to) ||
	    field_str(rd, v, ctx, "type", false, &type) ||
	    field_bool(rd, v, ctx, "primed", &e->primed) ||
	    read_stack(rd, v, ctx, &e->stack))
		return -1;
	if (!type)
		type = "EN";
	if (!edge_type_valid(type))
		return fail(rd, join(path, sizeof(path), ctx, "type"),
			    "%s.type: not an edge type (EN, ER, SN or SR)", ctx);
	memcpy(e->type, type, 3);
	return 0;
}

static int read_edge_item(struct reader *rd, const json_t *v, size_t i)
{
	struct report *r = rd->r;
	char ctx[64];

	r->edges = grow_array(r->edges, r->nedges, &r->capedges,
			      sizeof(*r->edges));
	if (!r->edges)
		return oom(rd);
	snprintf(ctx, sizeof(ctx), "edges[%zu]", i);
	r->nedges++;
	return read_edge(rd, v, ctx, &r->edges[r->nedges - 1]);
}

static int read_class_item(struct reader *rd, const json_t *v, size_t i)
{
	struct report *r = rd->r;
	struct rclass *c;
	char ctx[64];

	snprintf(ctx, sizeof(ctx), "classes[%zu]", i);
	r->classes = grow_array(r->classes, r->nclasses, &r->capclasses,
				sizeof(*r->classes));
	if (!r->classes)
		return oom(rd);
	c = &r->classes[r->nclasses];
	c->proc = rd->proc;
	if (expect_object(rd, v, ctx) ||
	    field_str(rd, v, ctx, "name", true, &c->name) ||
	    field_str(rd, v, ctx, "kind", false, &c->kind))
		return -1;
	r->nclasses++;
	return 0;
}

/* ---- findings ---- */

static int read_cycle(struct reader *rd, const json_t *v, const char *ctx,
		      struct rfinding *f)
{
	json_t *a;
	char sub[96];
	size_t i, n;

	if (field(rd, v, ctx, "cycle", "an array", false, &a))
		return -1;
	if (!a)
		return 0;
	n = json_array_size(a);
	f->has_cycle = true;
	f->cycle = calloc(n + 1, sizeof(*f->cycle));
	if (!f->cycle)
		return oom(rd);
	for (i = 0; i < n; i++) {
		snprintf(sub, sizeof(sub), "%s.cycle[%zu]", ctx, i);
		f->ncycle++;
		if (read_edge(rd, json_array_get(a, i), sub, &f->cycle[i]))
			return -1;
	}
	return 0;
}

static int read_held(struct reader *rd, const json_t *v, const char *ctx,
		     struct rfinding *f)
{
	json_t *a, *h;
	char sub[96];
	size_t i, n;

	if (field(rd, v, ctx, "held", "an array", false, &a))
		return -1;
	n = a ? json_array_size(a) : 0;
	if (!n)
		return 0;
	f->held = calloc(n, sizeof(*f->held));
	if (!f->held)
		return oom(rd);
	for (i = 0; i < n; i++) {
		h = json_array_get(a, i);
		snprintf(sub, sizeof(sub), "%s.held[%zu]", ctx, i);
		f->nheld++;
		if (expect_object(rd, h, sub) ||
		    field_str(rd, h, sub, "class", true, &f->held[i].cls) ||
		    field_str(rd, h, sub, "mode", false, &f->held[i].mode) ||
		    field_str(rd, h, sub, "role", false, &f->held[i].role) ||
		    read_stack(rd, h, sub, &f->held[i].stack))
			return -1;
	}
	return 0;
}

static int read_thread(struct reader *rd, const json_t *v, const char *ctx,
		       struct rfinding *f)
{
	json_t *t;
	char sub[96];

	if (field(rd, v, ctx, "thread", "an object", false, &t))
		return -1;
	if (!t)
		return 0;
	snprintf(sub, sizeof(sub), "%s.thread", ctx);
	f->has_thread = true;
	return field_long(rd, t, sub, "tid", 0, &f->tid) ||
	       field_str(rd, t, sub, "name", false, &f->thread_name) ||
	       field_str(rd, t, sub, "created_at", false, &f->created_at) ||
	       field_str(rd, t, sub, "created_file", false, &f->created_file) ||
	       field_long(rd, t, sub, "created_line", 0, &f->created_line);
}

static int read_notes(struct reader *rd, const json_t *v, const char *ctx,
		      struct rfinding *f)
{
	json_t *a, *h;
	char sub[96];
	size_t i, n;

	if (field(rd, v, ctx, "notes", "an array", false, &a))
		return -1;
	n = a ? json_array_size(a) : 0;
	if (!n)
		return 0;
	f->notes = calloc(n, sizeof(*f->notes));
	if (!f->notes)
		return oom(rd);
	for (i = 0; i < n; i++) {
		h = json_array_get(a, i);
		snprintf(sub, sizeof(sub), "%s.notes[%zu]", ctx, i);
		f->nnotes++;
		if (expect_object(rd, h, sub) ||
		    field_str(rd, h, sub, "label", true, &f->notes[i].label) ||
		    read_stack(rd, h, sub, &f->notes[i].stack))
			return -1;
	}
	return 0;
}

static bool fingerprint_valid(const char *fp)
{
	size_t i;

	for (i = 0; i < FDEP_FINGERPRINT_LEN; i++)
		if (!((fp[i] >= '0' && fp[i] <= '9') ||
		      (fp[i] >= 'a' && fp[i] <= 'f')))
			return false;
	return fp[i] == '\0';
}

/*
 * A finding without a fingerprint gets one the runtime's way: its kind,
 * its cycle (or its class), and the functions of their stacks.
 */
static void default_fingerprint(struct rfinding *f)
{
	if (f->ncycle) {
		cycle_fingerprint(f->kind, f->cycle, NULL, f->ncycle, f->fp);
		return;
	}
	struct redge one = { .from = f->subject ? f->subject : "?", .stack = f->stack };
	cycle_fingerprint(f->kind, &one, NULL, 1, f->fp);
}

static int read_finding_fields(struct reader *rd, const json_t *v,
			       const char *ctx, struct rfinding *f)
{
	const char *fp;
	char path[200];

	if (expect_object(rd, v, ctx) ||
	    field_str(rd, v, ctx, "kind", true, &f->kind) ||
	    field_str(rd, v, ctx, "title", false, &f->title) ||
	    field_str(rd, v, ctx, "fingerprint", false, &fp) ||
	    field_str(rd, v, ctx, "class", false, &f->subject) ||
	    field_long(rd, v, ctx, "count", 1, &f->count) ||
	    field_str(rd, v, ctx, "detail", false, &f->detail) ||
	    field_str(rd, v, ctx, "dump", false, &f->dump) ||
	    field_long(rd, v, ctx, "cycle_length", 0, &f->cycle_length) ||
	    read_notes(rd, v, ctx, f) ||
	    read_thread(rd, v, ctx, f) || read_cycle(rd, v, ctx, f) ||
	    read_held(rd, v, ctx, f) || read_stack(rd, v, ctx, &f->stack))
		return -1;
	if (!*f->kind)
		return fail(rd, join(path, sizeof(path), ctx, "kind"),
			    "%s.kind: empty", ctx);
	if (f->count < 1)
		return fail(rd, join(path, sizeof(path), ctx, "count"),
			    "%s.count: %ld is not positive", ctx, f->count);
	if (fp && !fingerprint_valid(fp))
		return fail(rd, join(path, sizeof(path), ctx, "fingerprint"),
			    "%s.fingerprint: 16 lowercase hex digits expected", ctx);
	if (fp)
		memcpy(f->fp, fp, sizeof(f->fp));
	else
		default_fingerprint(f);
	if (!f->title)
		f->title = kind_title(f->kind);
	return 0;
}

static int read_finding_item(struct reader *rd, const json_t *v, size_t i)
{
	struct report *r = rd->r;
	struct rfinding *f;
	char ctx[64];

	r->findings = grow_array(r->findings, r->nfindings, &r->capfindings,
				 sizeof(*r->findings));
	if (!r->findings)
		return oom(rd);
	f = &r->findings[r->nfindings++];
	memset(f, 0, sizeof(*f));
	f->proc = rd->proc;
	f->nprocs = 1;
	snprintf(ctx, sizeof(ctx), "findings[%zu]", i);
	r->ncarried = r->nfindings;
	return read_finding_fields(rd, v, ctx, f);
}

/* ---- the document ---- */

const char *const report_stat_names[NSTATS] = {
	"classes", "edges", "chains", "acquisitions", "chain_hits",
};

static int read_stats(struct reader *rd, const json_t *doc)
{
	json_t *s;
	long v;
	int i;

	if (field(rd, doc, "", "stats", "an object", false, &s))
		return -1;
	for (i = 0; s && i < NSTATS; i++) {
		if (field_long(rd, s, "stats", report_stat_names[i], 0, &v))
			return -1;
		rd->proc->stats[i] = v;
		rd->r->stats[i] = count_add(rd->r->stats[i], v);
	}
	return 0;
}

/* Is this a fencedep report of a schema this reader knows? */
static int check_header(struct reader *rd, const json_t *doc)
{
	json_t *tool, *schema;

	if (!json_is_object(doc))
		return fail(rd, "", "not a fencedep report: expected an object, found %s",
			    type_name(doc));
	tool = json_object_get(doc, "tool");
	if (!tool)
		return fail(rd, "", "not a fencedep report: no \"tool\" field");
	if (!json_is_string(tool) || strcmp(json_string_value(tool), "fencedep"))
		return fail(rd, "tool", "not a fencedep report: \"tool\" is not \"fencedep\"");
	schema = json_object_get(doc, "schema");
	if (!schema)
		return fail(rd, "", "no \"schema\" field");
	if (!json_is_integer(schema) || json_integer_value(schema) != REPORT_SCHEMA)
		return fail(rd, "schema", "unsupported schema (this fencedep reads schema %d)",
			    REPORT_SCHEMA);
	return 0;
}

static int read_argv(struct reader *rd, const json_t *doc)
{
	json_t *a, *v;
	const char **argv;
	char path[64];
	size_t i, n;

	if (field(rd, doc, "", "argv", "an array", false, &a))
		return -1;
	n = a ? json_array_size(a) : 0;
	if (!n)
		return 0;
	argv = calloc(n, sizeof(*argv));
	if (!argv)
		return oom(rd);
	rd->proc->argv = argv;
	for (i = 0; i < n; i++) {
		v = json_array_get(a, i);
		snprintf(path, sizeof(path), "argv[%zu]", i);
		if (!json_is_string(v))
			return fail(rd, path, "argv[%zu]: expected a string, found %s",
				    i, type_name(v));
		if (!(argv[i] = intern(rd, v)))
			return oom(rd);
		rd->proc->argc++;
	}
	return 0;
}

static int add_proc(struct reader *rd, const char *path)
{
	struct report *r = rd->r;
	struct rproc **procs;

	procs = grow_array(r->procs, r->nprocs, &r->capprocs, sizeof(*procs));
	if (!procs)
		return oom(rd);
	r->procs = procs;
	rd->proc = calloc(1, sizeof(*rd->proc));
	if (!rd->proc)
		return oom(rd);
	rd->proc->path = strtab_intern(&r->strings, path, strlen(path));
	if (!rd->proc->path) {
		free(rd->proc);
		return oom(rd);
	}
	r->procs[r->nprocs++] = rd->proc;
	return 0;
}

/*
 * A document is read in pieces: its small members into one object, then
 * each item of its long arrays (classes, edges, findings) alone, so that
 * jansson never holds more than one item of a 100 MB report.
 */
static const struct {
	const char *key;
	int (*read)(struct reader *rd, const json_t *v, size_t i);
} streamed[] = {
	{ "classes", read_class_item },
	{ "edges", read_edge_item },
	{ "findings", read_finding_item },
};

static int streamed_index(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(streamed) / sizeof(streamed[0]); i++)
		if (!strcmp(streamed[i].key, key))
			return (int)i;
	return -1;
}

/* A syntax error at text offset off. */
static int syntax_at(struct reader *rd, size_t off, const char *msg)
{
	position(rd, off, &rd->err->line, &rd->err->col);
	snprintf(rd->err->msg, sizeof(rd->err->msg), "%s", msg);
	return -1;
}

/* The value spanning text[at..end), parsed; NULL with the error set. */
static json_t *load_span(struct reader *rd, size_t at, size_t end)
{
	json_error_t jerr;
	json_t *v;
	size_t off;

	v = json_loadb(rd->text + at, end - at, JSON_DECODE_ANY, &jerr);
	if (!v) {
		/* jansson's position is past the offending character */
		off = jerr.position;
		if (off > 0 && !strstr(jerr.text, "end of file"))
			off--;
		syntax_at(rd, at + off, jerr.text);
	}
	return v;
}

/*
 * The items of the array at text[at]: fn(rd, item, index) for each, or
 * with fn NULL only checked for commas; *end past its ']'.
 */
static int walk_array(struct reader *rd, size_t at,
		      int (*fn)(struct reader *rd, const json_t *v, size_t i),
		      size_t *end)
{
	const char *t = rd->text;
	size_t len = rd->len, i = skip_blank(t, len, at + 1), n = 0, e;
	json_t *v;
	int ret;

	if (i < len && t[i] == ']') {
		*end = i + 1;
		return 0;
	}
	for (;;) {
		e = skip_value(t, len, i);
		if (!fn && e >= len) {
			/* cut short: jansson says where */
			if (!(v = load_span(rd, i, e)))
				return -1;
			json_decref(v);
		}
		if (fn) {
			if (!(v = load_span(rd, i, e)))
				return -1;
			ret = fn(rd, v, n);
			json_decref(v);
			if (ret)
				return -1;
		}
		n++;
		i = skip_blank(t, len, e);
		if (i < len && t[i] == ']') {
			*end = i + 1;
			return 0;
		}
		if (i >= len || t[i] != ',')
			return syntax_at(rd, i, i < len ? "',' or ']' expected" :
					 "']' expected near end of file");
		i = skip_blank(t, len, i + 1);
		if (i >= len || t[i] == ']')
			return syntax_at(rd, i, "value expected");
	}
}

/*
 * Pass 1 (stream false): check the object's punctuation and collect its
 * members other than the long arrays into hdr.  Pass 2 (stream true):
 * read the items of the long arrays.  *end: past the closing '}'.
 */
static int walk_doc(struct reader *rd, json_t *hdr, bool stream, size_t *end)
{
	const char *t = rd->text;
	size_t len = rd->len, i = skip_blank(t, len, 1), k, ve;
	const char *key;
	json_t *kv, *v;
	int si, ret;

	if (i < len && t[i] == '}') {
		*end = i + 1;
		return 0;
	}
	for (;;) {
		if (i >= len || t[i] != '"')
			return syntax_at(rd, i, i < len ? "string or '}' expected" :
					 "'}' expected near end of file");
		k = skip_string(t, len, i);
		if (!(kv = load_span(rd, i, k)))
			return -1;
		key = json_string_value(kv);
		i = skip_blank(t, len, k);
		if (i >= len || t[i] != ':') {
			json_decref(kv);
			return syntax_at(rd, i, "':' expected");
		}
		i = skip_blank(t, len, i + 1);
		si = streamed_index(key);
		ret = 0;
		if (si >= 0 && i < len && t[i] == '[') {
			ret = walk_array(rd, i, stream ? streamed[si].read : NULL, &ve);
		} else {
			ve = skip_value(t, len, i);
			if (!stream) {
				v = load_span(rd, i, ve);
				ret = !v || json_object_set_new(hdr, key, v) ? -1 : 0;
			}
		}
		json_decref(kv);
		if (ret)
			return -1;
		i = skip_blank(t, len, ve);
		if (i < len && t[i] == '}') {
			*end = i + 1;
			return 0;
		}
		if (i >= len || t[i] != ',')
			return syntax_at(rd, i, i < len ? "',' or '}' expected" :
					 "'}' expected near end of file");
		i = skip_blank(t, len, i + 1);
	}
}

static int read_header(struct reader *rd, const json_t *doc, const char *path)
{
	json_t *a;
	size_t i;

	if (check_header(rd, doc) || add_proc(rd, path) ||
	    field_long(rd, doc, "", "pid", 0, &rd->proc->pid) ||
	    read_argv(rd, doc) || read_stats(rd, doc))
		return -1;
	/* long arrays of another type than array, for their error */
	for (i = 0; i < sizeof(streamed) / sizeof(streamed[0]); i++)
		if (field(rd, doc, "", streamed[i].key, "an array", false, &a))
			return -1;
	return 0;
}

/* The document at rd->text; rd->len becomes its length. */
static int read_doc(struct reader *rd, const char *path)
{
	json_error_t jerr;
	json_t *doc;
	size_t end;
	int ret;

	if (rd->text[0] != '{') {
		/* no object: jansson's syntax error, or not a report */
		doc = json_loadb(rd->text, rd->len,
				 JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &jerr);
		if (!doc)
			return syntax_at(rd, jerr.position ? jerr.position - 1 : 0,
					 jerr.text);
		ret = check_header(rd, doc);
		json_decref(doc);
		return ret ? ret : -1;
	}
	doc = json_object();
	if (!doc)
		return oom(rd);
	ret = walk_doc(rd, doc, false, &end);
	if (!ret) {
		rd->len = end;
		ret = read_header(rd, doc, path);
	}
	json_decref(doc);
	if (!ret)
		ret = walk_doc(rd, NULL, true, &end);
	return ret;
}

/* Move the reader's file position (line0, col0) past text[0..n). */
static void advance(struct reader *rd, const char *text, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (text[i] == '\n') {
			rd->line0++;
			rd->col0 = 1;
		} else {
			rd->col0++;
		}
	}
}

/*
 * Every report of buf, one document after another, each read in pieces
 * (read_doc): the time is linear in the input and the memory is that of
 * the model, whose strings are interned.
 */
int report_read_buf(struct report *r, const char *path, const char *buf,
		    size_t len, struct read_error *err)
{
	struct reader rd = { .r = r, .err = err, .line0 = 1, .col0 = 1 };
	size_t pos = 0, skip, ndocs = 0;

	memset(err, 0, sizeof(*err));
	do {
		skip = skip_blank(buf, len, pos);
		advance(&rd, buf + pos, skip - pos);
		pos = skip;
		rd.text = buf + pos;
		rd.len = len - pos;
		if (pos == len) {
			if (ndocs)
				break;
			return fail(&rd, "", "empty input");
		}
		if (read_doc(&rd, path))
			return -1;
		ndocs++;
		advance(&rd, rd.text, rd.len);
		pos += rd.len;
	} while (pos < len);
	return 0;
}

/* ---- life ---- */

void report_init(struct report *r)
{
	memset(r, 0, sizeof(*r));
}

static void free_finding(struct rfinding *f)
{
	size_t i;

	for (i = 0; i < f->ncycle; i++)
		if (!f->merged)
			free(f->cycle[i].stack.frames);
	for (i = 0; i < f->nheld; i++)
		free(f->held[i].stack.frames);
	for (i = 0; i < f->nnotes; i++)
		free(f->notes[i].stack.frames);
	free(f->cycle);
	free(f->held);
	free(f->notes);
	if (!f->merged)
		free(f->stack.frames);
}

static void free_graph(struct mgraph *g)
{
	size_t i;

	for (i = 0; i < g->nedges; i++)
		free(g->edges[i].occ);
	for (i = 0; g->out && i < g->nclasses; i++)
		free(g->out[i]);
	free(g->out);
	free(g->nout);
	free(g->edges);
	free(g->classes);
	strtab_free(&g->class_index);
	strtab_free(&g->edge_index);
}

void report_free(struct report *r)
{
	size_t i;

	for (i = 0; i < r->nfindings; i++)
		free_finding(&r->findings[i]);
	for (i = 0; i < r->nedges; i++)
		free(r->edges[i].stack.frames);
	for (i = 0; i < r->nprocs; i++) {
		free((void *)r->procs[i]->argv);
		free(r->procs[i]);
	}
	free_graph(&r->graph);
	free(r->findings);
	free(r->edges);
	free(r->classes);
	free(r->procs);
	strtab_free(&r->strings);
	report_init(r);
}
