/*
 * render_dot.c - the merged dependency graph for Graphviz: one node per
 * class, shaped by its kind, one edge per class pair labelled with its
 * lockdep types; the edges of reported cycles in red.  --cycles-only keeps
 * just those edges and their classes.
 */
#include "render.h"

#include <stdlib.h>
#include <string.h>

#include "sanitize.h"

/*
 * A quoted DOT string of text from input: quotes and backslashes escaped
 * (so no escString sequence and no end of the string), control
 * characters and malformed UTF-8 as U+FFFD.
 */
static void dot_string(FILE *out, const char *s)
{
	unsigned cp;
	size_t k;

	fputc('"', out);
	for (; s && *s; s += k) {
		k = utf8_seq(s, &cp);
		if (!k || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f)) {
			fputs("\xef\xbf\xbd", out);
			k = k ? k : 1;
			continue;
		}
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		fwrite(s, 1, k, out);
	}
	fputc('"', out);
}

static const char *kind_shape(const char *kind)
{
	if (!strcmp(kind, "fence"))
		return "shape=octagon, style=filled, fillcolor=\"#fde8c8\"";
	if (!strcmp(kind, "reclaim") || !strcmp(kind, "mmu_notifier"))
		return "shape=hexagon, style=filled, fillcolor=\"#d8ecf8\"";
	if (!strcmp(kind, "rwlock"))
		return "shape=box, style=\"rounded,filled\", fillcolor=\"#eeeeee\"";
	return "shape=box, style=filled, fillcolor=\"#f6f6f6\"";
}

static void put_node(FILE *out, const struct report *r, size_t i)
{
	const char *name = r->graph.classes[i].name;
	const char *kind = class_kind(r, name);

	fprintf(out, "  n%zu [label=", i);
	dot_string(out, name);
	fputs(", tooltip=", out);
	dot_string(out, kind);
	fprintf(out, ", %s];\n", kind_shape(kind));
}

/* Every class, or with cycles_only those on a reported cycle. */
static int put_nodes(FILE *out, const struct report *r, bool cycles_only)
{
	const struct mgraph *g = &r->graph;
	bool *on = calloc(g->nclasses + 1, sizeof(*on));
	size_t i;

	if (!on)
		return -1;
	for (i = 0; i < g->nedges; i++)
		if (g->edges[i].on_cycle || !cycles_only)
			on[g->edges[i].from] = on[g->edges[i].to] = true;
	for (i = 0; i < g->nclasses; i++)
		if (on[i] || !cycles_only)
			put_node(out, r, i);
	free(on);
	return 0;
}

static void put_edge(FILE *out, const struct medge *e)
{
	static const char *const types[4] = { "EN", "ER", "SN", "SR" };
	unsigned bit;
	bool first = true;

	fprintf(out, "  n%zu -> n%zu [label=\"", e->from, e->to);
	for (bit = 0; bit < 4; bit++) {
		if (!(e->types & 1u << bit))
			continue;
		fprintf(out, "%s%s", first ? "" : ",", types[bit]);
		first = false;
	}
	fputc('"', out);
	if (e->on_cycle)
		fputs(", color=\"#c0392b\", fontcolor=\"#c0392b\", penwidth=2.5", out);
	else if (e->types == (1u << 1 | 1u << 3) || e->types == 1u << 1 ||
		 e->types == 1u << 3)
		fputs(", style=dashed", out);	/* only recursive readers */
	fputs("];\n", out);
}

int render_dot(FILE *out, const struct report *r, const struct render_opts *o)
{
	const struct mgraph *g = &r->graph;
	size_t i;

	fputs("digraph fencedep {\n"
	      "  graph [rankdir=LR, fontname=\"Helvetica\", label=\"fencedep dependency graph\"];\n"
	      "  node [fontname=\"Helvetica\", fontsize=11];\n"
	      "  edge [fontname=\"Helvetica\", fontsize=9];\n", out);
	if (put_nodes(out, r, o->cycles_only))
		return -1;
	for (i = 0; i < g->nedges; i++)
		if (!o->cycles_only || g->edges[i].on_cycle)
			put_edge(out, &g->edges[i]);
	fputs("}\n", out);
	return ferror(out) ? -1 : 0;
}
