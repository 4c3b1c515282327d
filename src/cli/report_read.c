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
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "fingerprint.h"

#define REPORT_SCHEMA 1

struct reader {
	struct report *r;
	struct rproc *proc;
	struct read_error *err;
};

static int fail(struct reader *rd, const struct json_value *at,
		const char *fmt, ...)
{
	va_list ap;

	rd->err->line = at ? at->line : 0;
	rd->err->col = at ? at->col : 0;
	va_start(ap, fmt);
	vsnprintf(rd->err->msg, sizeof(rd->err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static int oom(struct reader *rd, const struct json_value *at)
{
	return fail(rd, at, "out of memory");
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

/* The member key of obj, NULL if absent or null; -1 if of another type. */
static int field(struct reader *rd, const struct json_value *obj,
		 const char *ctx, const char *key, enum json_type type,
		 bool required, struct json_value **out)
{
	struct json_value *v = json_get(obj, key);

	*out = NULL;
	if (!v || v->type == JSON_NULL) {
		if (required)
			return fail(rd, obj, "%s: missing \"%s\"", ctx, key);
		return 0;
	}
	if (v->type != type)
		return fail(rd, v, "%s.%s: expected %s, found %s", ctx, key,
			    json_type_name(type), json_type_name(v->type));
	*out = v;
	return 0;
}

static int field_str(struct reader *rd, const struct json_value *obj,
		     const char *ctx, const char *key, bool required,
		     const char **out)
{
	struct json_value *v;

	if (field(rd, obj, ctx, key, JSON_STRING, required, &v))
		return -1;
	*out = v ? v->str : NULL;
	return 0;
}

static int field_long(struct reader *rd, const struct json_value *obj,
		      const char *ctx, const char *key, long dflt, long *out)
{
	struct json_value *v;

	if (field(rd, obj, ctx, key, JSON_NUMBER, false, &v))
		return -1;
	*out = dflt;
	if (!v)
		return 0;
	if (!v->integral)
		return fail(rd, v, "%s.%s: expected an integer", ctx, key);
	*out = (long)v->inum;
	return 0;
}

static int field_bool(struct reader *rd, const struct json_value *obj,
		      const char *ctx, const char *key, bool *out)
{
	struct json_value *v;

	if (field(rd, obj, ctx, key, JSON_BOOL, false, &v))
		return -1;
	*out = v ? v->boolean : false;
	return 0;
}

static int expect_object(struct reader *rd, const struct json_value *v,
			 const char *ctx)
{
	if (v->type != JSON_OBJECT)
		return fail(rd, v, "%s: expected an object, found %s", ctx,
			    json_type_name(v->type));
	return 0;
}

/* ---- frames and stacks ---- */

static int read_frame(struct reader *rd, const struct json_value *v,
		      const char *ctx, struct rframe *f)
{
	if (expect_object(rd, v, ctx) ||
	    field_str(rd, v, ctx, "pc", false, &f->pc) ||
	    field_str(rd, v, ctx, "module", false, &f->module) ||
	    field_str(rd, v, ctx, "offset", false, &f->offset) ||
	    field_str(rd, v, ctx, "function", false, &f->function) ||
	    field_str(rd, v, ctx, "file", false, &f->file) ||
	    field_long(rd, v, ctx, "line", 0, &f->line))
		return -1;
	if (f->line < 0)
		return fail(rd, json_get(v, "line"), "%s.line: negative", ctx);
	return 0;
}

static int read_stack(struct reader *rd, const struct json_value *obj,
		      const char *ctx, struct rstack *s)
{
	struct json_value *a;
	char sub[160];
	size_t i;

	s->frames = NULL;
	s->n = 0;
	if (field(rd, obj, ctx, "stack", JSON_ARRAY, false, &a))
		return -1;
	if (!a || !a->array.n)
		return 0;
	s->frames = calloc(a->array.n, sizeof(*s->frames));
	if (!s->frames)
		return oom(rd, a);
	s->n = a->array.n;
	for (i = 0; i < a->array.n; i++) {
		snprintf(sub, sizeof(sub), "%s.stack[%zu]", ctx, i);
		if (read_frame(rd, a->array.items[i], sub, &s->frames[i]))
			return -1;
	}
	return 0;
}

/* ---- edges ---- */

static int read_edge(struct reader *rd, const struct json_value *v,
		     const char *ctx, struct redge *e)
{
	const char *type;

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
		return fail(rd, json_get(v, "type"),
			    "%s.type: \"%s\" is no edge type (EN, ER, SN or SR)",
			    ctx, type);
	memcpy(e->type, type, 3);
	return 0;
}

static int read_edges(struct reader *rd, const struct json_value *doc)
{
	struct report *r = rd->r;
	struct json_value *a;
	char ctx[64];
	size_t i;

	if (field(rd, doc, "report", "edges", JSON_ARRAY, false, &a))
		return -1;
	for (i = 0; a && i < a->array.n; i++) {
		r->edges = grow_array(r->edges, r->nedges, &r->capedges,
				      sizeof(*r->edges));
		if (!r->edges)
			return oom(rd, a);
		snprintf(ctx, sizeof(ctx), "edges[%zu]", i);
		r->nedges++;
		if (read_edge(rd, a->array.items[i], ctx, &r->edges[r->nedges - 1]))
			return -1;
	}
	return 0;
}

static int read_classes(struct reader *rd, const struct json_value *doc)
{
	struct report *r = rd->r;
	struct json_value *a, *v;
	struct rclass *c;
	char ctx[64];
	size_t i;

	if (field(rd, doc, "report", "classes", JSON_ARRAY, false, &a))
		return -1;
	for (i = 0; a && i < a->array.n; i++) {
		v = a->array.items[i];
		snprintf(ctx, sizeof(ctx), "classes[%zu]", i);
		r->classes = grow_array(r->classes, r->nclasses, &r->capclasses,
					sizeof(*r->classes));
		if (!r->classes)
			return oom(rd, a);
		c = &r->classes[r->nclasses];
		if (expect_object(rd, v, ctx) ||
		    field_str(rd, v, ctx, "name", true, &c->name) ||
		    field_str(rd, v, ctx, "kind", false, &c->kind))
			return -1;
		r->nclasses++;
	}
	return 0;
}

/* ---- findings ---- */

static int read_cycle(struct reader *rd, const struct json_value *v,
		      const char *ctx, struct rfinding *f)
{
	struct json_value *a;
	char sub[96];
	size_t i;

	if (field(rd, v, ctx, "cycle", JSON_ARRAY, false, &a))
		return -1;
	if (!a)
		return 0;
	f->has_cycle = true;
	f->cycle = calloc(a->array.n + 1, sizeof(*f->cycle));
	if (!f->cycle)
		return oom(rd, a);
	for (i = 0; i < a->array.n; i++) {
		snprintf(sub, sizeof(sub), "%s.cycle[%zu]", ctx, i);
		f->ncycle++;
		if (read_edge(rd, a->array.items[i], sub, &f->cycle[i]))
			return -1;
	}
	return 0;
}

static int read_held(struct reader *rd, const struct json_value *v,
		     const char *ctx, struct rfinding *f)
{
	struct json_value *a, *h;
	char sub[96];
	size_t i;

	if (field(rd, v, ctx, "held", JSON_ARRAY, false, &a))
		return -1;
	if (!a || !a->array.n)
		return 0;
	f->held = calloc(a->array.n, sizeof(*f->held));
	if (!f->held)
		return oom(rd, a);
	for (i = 0; i < a->array.n; i++) {
		h = a->array.items[i];
		snprintf(sub, sizeof(sub), "%s.held[%zu]", ctx, i);
		f->nheld++;
		if (expect_object(rd, h, sub) ||
		    field_str(rd, h, sub, "class", true, &f->held[i].cls) ||
		    field_str(rd, h, sub, "mode", false, &f->held[i].mode) ||
		    read_stack(rd, h, sub, &f->held[i].stack))
			return -1;
	}
	return 0;
}

static int read_thread(struct reader *rd, const struct json_value *v,
		       const char *ctx, struct rfinding *f)
{
	struct json_value *t;
	char sub[96];

	if (field(rd, v, ctx, "thread", JSON_OBJECT, false, &t))
		return -1;
	if (!t)
		return 0;
	snprintf(sub, sizeof(sub), "%s.thread", ctx);
	f->has_thread = true;
	return field_long(rd, t, sub, "tid", 0, &f->tid) ||
	       field_str(rd, t, sub, "name", false, &f->thread_name);
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
 * A finding without a fingerprint gets one the runtime's way: its kind and
 * the class names of its cycle, else of its held locks.
 */
static void default_fingerprint(struct rfinding *f)
{
	const char *names[64];
	size_t n = 0, i;

	for (i = 0; i < f->ncycle && n < 64; i++)
		names[n++] = f->cycle[i].from;
	for (i = 0; !f->ncycle && i < f->nheld && n < 64; i++)
		names[n++] = f->held[i].cls;
	if (!n && f->stack.n && f->stack.frames[0].function)
		names[n++] = f->stack.frames[0].function;
	fdep_fingerprint(f->kind, names, n, f->fp);
}

static int read_finding_fields(struct reader *rd, const struct json_value *v,
			       const char *ctx, struct rfinding *f)
{
	const char *fp;

	if (expect_object(rd, v, ctx) ||
	    field_str(rd, v, ctx, "kind", true, &f->kind) ||
	    field_str(rd, v, ctx, "title", false, &f->title) ||
	    field_str(rd, v, ctx, "fingerprint", false, &fp) ||
	    field_long(rd, v, ctx, "count", 1, &f->count) ||
	    read_thread(rd, v, ctx, f) || read_cycle(rd, v, ctx, f) ||
	    read_held(rd, v, ctx, f) || read_stack(rd, v, ctx, &f->stack))
		return -1;
	if (!*f->kind)
		return fail(rd, json_get(v, "kind"), "%s.kind: empty", ctx);
	if (f->count < 1)
		return fail(rd, json_get(v, "count"), "%s.count: %ld is not positive",
			    ctx, f->count);
	if (fp && !fingerprint_valid(fp))
		return fail(rd, json_get(v, "fingerprint"),
			    "%s.fingerprint: 16 lowercase hex digits expected", ctx);
	if (fp)
		memcpy(f->fp, fp, sizeof(f->fp));
	else
		default_fingerprint(f);
	if (!f->title)
		f->title = kind_title(f->kind);
	return 0;
}

static int read_findings(struct reader *rd, const struct json_value *doc)
{
	struct report *r = rd->r;
	struct json_value *a;
	struct rfinding *f;
	char ctx[64];
	size_t i;

	if (field(rd, doc, "report", "findings", JSON_ARRAY, false, &a))
		return -1;
	for (i = 0; a && i < a->array.n; i++) {
		r->findings = grow_array(r->findings, r->nfindings,
					 &r->capfindings, sizeof(*r->findings));
		if (!r->findings)
			return oom(rd, a);
		f = &r->findings[r->nfindings++];
		memset(f, 0, sizeof(*f));
		f->proc = rd->proc;
		f->nprocs = 1;
		snprintf(ctx, sizeof(ctx), "findings[%zu]", i);
		if (read_finding_fields(rd, a->array.items[i], ctx, f))
			return -1;
	}
	r->ncarried = r->nfindings;
	return 0;
}

/* ---- the document ---- */

const char *const report_stat_names[NSTATS] = {
	"classes", "edges", "chains", "acquisitions", "chain_hits",
};

static int read_stats(struct reader *rd, const struct json_value *doc)
{
	struct json_value *s;
	long v;
	int i;

	if (field(rd, doc, "report", "stats", JSON_OBJECT, false, &s))
		return -1;
	for (i = 0; s && i < NSTATS; i++) {
		if (field_long(rd, s, "stats", report_stat_names[i], 0, &v))
			return -1;
		rd->r->stats[i] += v;
	}
	return 0;
}

/* Is this a fencedep report of a schema this reader knows? */
static int check_header(struct reader *rd, const struct json_value *doc)
{
	struct json_value *tool, *schema;

	if (doc->type != JSON_OBJECT)
		return fail(rd, doc, "not a fencedep report: expected an object, found %s",
			    json_type_name(doc->type));
	tool = json_get(doc, "tool");
	if (!tool)
		return fail(rd, doc, "not a fencedep report: no \"tool\" field");
	if (tool->type != JSON_STRING || strcmp(tool->str, "fencedep"))
		return fail(rd, tool, "not a fencedep report: \"tool\" is not \"fencedep\"");
	schema = json_get(doc, "schema");
	if (!schema)
		return fail(rd, doc, "no \"schema\" field");
	if (schema->type != JSON_NUMBER || !schema->integral ||
	    schema->inum != REPORT_SCHEMA)
		return fail(rd, schema, "unsupported schema (this fencedep reads schema %d)",
			    REPORT_SCHEMA);
	return 0;
}

static int read_argv(struct reader *rd, const struct json_value *doc)
{
	struct json_value *a;
	const char **argv;
	size_t i;

	if (field(rd, doc, "report", "argv", JSON_ARRAY, false, &a))
		return -1;
	if (!a || !a->array.n)
		return 0;
	argv = calloc(a->array.n, sizeof(*argv));
	if (!argv)
		return oom(rd, a);
	rd->proc->argv = argv;
	for (i = 0; i < a->array.n; i++) {
		if (a->array.items[i]->type != JSON_STRING)
			return fail(rd, a->array.items[i],
				    "argv[%zu]: expected a string, found %s", i,
				    json_type_name(a->array.items[i]->type));
		argv[i] = a->array.items[i]->str;
		rd->proc->argc++;
	}
	return 0;
}

static int add_proc(struct reader *rd, const char *path)
{
	struct report *r = rd->r;
	struct rproc **procs;

	procs = realloc(r->procs, (r->nprocs + 1) * sizeof(*procs));
	if (!procs)
		return oom(rd, NULL);
	r->procs = procs;
	rd->proc = calloc(1, sizeof(*rd->proc));
	if (!rd->proc)
		return oom(rd, NULL);
	rd->proc->path = path;
	r->procs[r->nprocs++] = rd->proc;
	return 0;
}

static int keep_doc(struct reader *rd, struct json_value *doc)
{
	struct report *r = rd->r;
	struct json_value **docs;

	docs = realloc(r->docs, (r->ndocs + 1) * sizeof(*docs));
	if (!docs) {
		json_free(doc);
		return oom(rd, NULL);
	}
	r->docs = docs;
	r->docs[r->ndocs++] = doc;
	return 0;
}

static int read_doc(struct reader *rd, const struct json_value *doc,
		    const char *path)
{
	if (check_header(rd, doc) || add_proc(rd, path) ||
	    field_long(rd, doc, "report", "pid", 0, &rd->proc->pid) ||
	    read_argv(rd, doc) || read_classes(rd, doc) ||
	    read_edges(rd, doc) || read_findings(rd, doc) ||
	    read_stats(rd, doc))
		return -1;
	return 0;
}

int report_read_buf(struct report *r, const char *path, const char *buf,
		    size_t len, struct read_error *err)
{
	struct reader rd = { .r = r, .err = err };
	struct json_error jerr;
	struct json_value *doc;
	size_t pos = 0;

	memset(err, 0, sizeof(*err));
	do {
		doc = json_parse_next(buf, len, &pos, &jerr);
		if (!doc) {
			err->line = jerr.line;
			err->col = jerr.col;
			snprintf(err->msg, sizeof(err->msg), "%s", jerr.msg);
			return -1;
		}
		if (keep_doc(&rd, doc) || read_doc(&rd, doc, path))
			return -1;
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
	free(f->cycle);
	free(f->held);
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
	for (i = 0; i < r->ndocs; i++)
		json_free(r->docs[i]);
	free_graph(&r->graph);
	free(r->findings);
	free(r->edges);
	free(r->classes);
	free(r->procs);
	free(r->docs);
	report_init(r);
}
