/*
 * render_json.c - the merged report as JSON, schema 1, readable again by
 * `fencedep report`.  Beyond the runtime's fields it adds, per finding,
 * "new", "merged" and "processes", per edge "pid", and the list of
 * "inputs" (one per process read).
 */
#include "render.h"
#include "sanitize.h"

#include <string.h>

void json_put_string(FILE *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	unsigned cp;
	size_t k;

	fputc('"', out);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			fputc('\\', out);
			fputc(c, out);
		} else if (c == '\n') {
			fputs("\\n", out);
		} else if (c == '\t') {
			fputs("\\t", out);
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(out, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
		} else if (c < 0x80) {
			fputc(c, out);
		} else if ((k = utf8_seq(s, &cp))) {
			fwrite(s, 1, k, out);
			s += k - 1;
		} else {
			fputs("\\ufffd", out);	/* not UTF-8: the replacement character */
		}
	}
	fputc('"', out);
}

static void put_key_str(FILE *out, const char *key, const char *value,
			bool comma)
{
	if (!value)
		return;
	fprintf(out, "%s\"%s\": ", comma ? ", " : "", key);
	json_put_string(out, value);
}

static void put_frame(FILE *out, const struct rframe *f)
{
	bool any = false;

	fputc('{', out);
	if (f->pc) {
		put_key_str(out, "pc", f->pc, any);
		any = true;
	}
	if (f->module) {
		put_key_str(out, "module", f->module, any);
		any = true;
	}
	if (f->offset) {
		put_key_str(out, "offset", f->offset, any);
		any = true;
	}
	if (f->function) {
		put_key_str(out, "function", f->function, any);
		any = true;
	}
	if (f->file) {
		put_key_str(out, "file", f->file, any);
		any = true;
	}
	if (f->line > 0)
		fprintf(out, "%s\"line\": %ld", any ? ", " : "", f->line);
	fputc('}', out);
}

static void put_stack(FILE *out, const struct rstack *s)
{
	size_t i;

	fputs("\"stack\": [", out);
	for (i = 0; i < s->n; i++) {
		if (i)
			fputs(", ", out);
		put_frame(out, &s->frames[i]);
	}
	fputc(']', out);
}

static void put_edge(FILE *out, const struct redge *e, const char *type)
{
	fputs("{", out);
	put_key_str(out, "from", e->from, false);
	put_key_str(out, "to", e->to, true);
	put_key_str(out, "type", type, true);
	fprintf(out, ", \"primed\": %s, ", e->primed ? "true" : "false");
	if (e->proc)
		fprintf(out, "\"pid\": %ld, ", e->proc->pid);
	put_stack(out, &e->stack);
	fputc('}', out);
}

static void put_held(FILE *out, const struct rfinding *f)
{
	size_t i;

	fputs(",\n      \"held\": [", out);
	for (i = 0; i < f->nheld; i++) {
		fputs(i ? ", {" : "{", out);
		put_key_str(out, "class", f->held[i].cls, false);
		put_key_str(out, "mode", f->held[i].mode, true);
		fputs(", ", out);
		put_stack(out, &f->held[i].stack);
		fputc('}', out);
	}
	fputc(']', out);
}

static void put_cycle(FILE *out, const struct rfinding *f)
{
	size_t i;

	fputs(",\n      \"cycle\": [", out);
	for (i = 0; i < f->ncycle; i++) {
		fputs(i ? ",\n        " : "\n        ", out);
		put_edge(out, &f->cycle[i], f->cycle[i].type);
	}
	fputc(']', out);
}

static void put_finding(FILE *out, const struct rfinding *f)
{
	fputs("    {", out);
	put_key_str(out, "kind", f->kind, false);
	put_key_str(out, "title", f->title, true);
	put_key_str(out, "fingerprint", f->fp, true);
	fprintf(out, ", \"count\": %ld, \"new\": %s, \"merged\": %s, \"processes\": %zu",
		f->count, f->baselined ? "false" : "true",
		f->merged ? "true" : "false", f->nprocs);
	if (f->has_thread) {
		fprintf(out, ",\n      \"thread\": {\"tid\": %ld", f->tid);
		put_key_str(out, "name", f->thread_name, true);
		fputc('}', out);
	}
	if (f->has_cycle)
		put_cycle(out, f);
	put_held(out, f);
	fputs(",\n      ", out);
	put_stack(out, &f->stack);
	fputc('}', out);
}

static void put_inputs(FILE *out, const struct report *r)
{
	size_t i, k;

	fputs("  \"inputs\": [", out);
	for (i = 0; i < r->nprocs; i++) {
		const struct rproc *p = r->procs[i];

		fputs(i ? ",\n    {" : "\n    {", out);
		put_key_str(out, "file", p->path, false);
		fprintf(out, ", \"pid\": %ld, \"argv\": [", p->pid);
		for (k = 0; k < p->argc; k++) {
			if (k)
				fputs(", ", out);
			json_put_string(out, p->argv[k]);
		}
		fputs("]}", out);
	}
	fputs("],\n", out);
}

static void put_graph(FILE *out, const struct report *r)
{
	const struct mgraph *g = &r->graph;
	static const char *const types[4] = { "EN", "ER", "SN", "SR" };
	bool first = true;
	size_t i;
	unsigned bit;

	fputs("  \"classes\": [", out);
	for (i = 0; i < g->nclasses; i++) {
		fputs(i ? ",\n    {" : "\n    {", out);
		put_key_str(out, "name", g->classes[i].name, false);
		put_key_str(out, "kind", class_kind(r, g->classes[i].name), true);
		fputc('}', out);
	}
	fputs("],\n  \"edges\": [", out);
	for (i = 0; i < g->nedges; i++) {
		for (bit = 0; bit < 4; bit++) {
			if (!(g->edges[i].types & 1u << bit))
				continue;
			fputs(first ? "\n    " : ",\n    ", out);
			first = false;
			put_edge(out, g->edges[i].first[bit], types[bit]);
		}
	}
	fputs("],\n", out);
}

static void put_stats(FILE *out, const struct report *r)
{
	int i;

	fprintf(out, "  \"stats\": {\"classes\": %zu, \"edges\": %zu",
		r->graph.nclasses, r->graph.nedges);
	for (i = STAT_CHAINS; i < NSTATS; i++)
		fprintf(out, ", \"%s\": %ld", report_stat_names[i], r->stats[i]);
	fputs("}\n", out);
}

int render_json(FILE *out, const struct report *r, const struct render_opts *o)
{
	bool first = true;
	size_t i;

	fprintf(out, "{\n  \"tool\": \"fencedep\", \"schema\": 1, \"version\": \"%s\", "
		     "\"pid\": 0, \"argv\": [],\n", PACKAGE_VERSION);
	put_inputs(out, r);
	fputs("  \"findings\": [", out);
	for (i = 0; i < r->nfindings; i++) {
		if (!finding_shown(&r->findings[i]))
			continue;
		fputs(first ? "\n" : ",\n", out);
		first = false;
		put_finding(out, &r->findings[i]);
	}
	fputs("],\n", out);
	put_graph(out, r);
	put_stats(out, r);
	fputs("}\n", out);
	return ferror(out) ? -1 : 0;
}
