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

/* One colour per finding, in turn. */
static const char *const palette[] = {
	"#c0392b", "#2471a3", "#7d3c98", "#b9770e", "#117a65", "#a93226",
	"#1f618d", "#6c3483",
};
#define NPALETTE (sizeof(palette) / sizeof(palette[0]))

/* "from\0to" of every edge of every shown finding's cycle -> finding. */
static int index_cycles(const struct report *r, struct strtab *t)
{
	size_t i, k, a, b;
	char *key;

	for (i = 0; i < r->nfindings; i++) {
		const struct rfinding *f = &r->findings[i];

		if (!finding_shown(f))
			continue;
		for (k = 0; k < f->ncycle; k++) {
			a = strlen(f->cycle[k].from);
			b = strlen(f->cycle[k].to);
			key = malloc(a + b + 1);
			if (!key)
				return -1;
			memcpy(key, f->cycle[k].from, a + 1);
			memcpy(key + a + 1, f->cycle[k].to, b);
			if (strtab_put(t, key, a + b + 1, i)) {
				free(key);
				return -1;
			}
			free(key);
		}
	}
	return 0;
}

/* The finding whose cycle has edge e, or false. */
static bool edge_finding(const struct report *r, const struct strtab *t,
			 const struct medge *e, size_t *finding)
{
	const char *from = r->graph.classes[e->from].name;
	const char *to = r->graph.classes[e->to].name;
	size_t a = strlen(from), b = strlen(to);
	char *key = malloc(a + b + 1);
	bool found;

	if (!key)
		return false;
	memcpy(key, from, a + 1);
	memcpy(key + a + 1, to, b);
	found = strtab_get(t, key, a + b + 1, finding);
	free(key);
	return found;
}

static void put_legend(FILE *out)
{
	fputs("  subgraph cluster_legend {\n"
	      "    label=\"legend\"; fontsize=10; color=\"#bbbbbb\";\n"
	      "    legend_lock [label=\"lock\", ", out);
	fputs(kind_shape("mutex"), out);
	fputs("];\n    legend_rwlock [label=\"rwlock\", ", out);
	fputs(kind_shape("rwlock"), out);
	fputs("];\n    legend_fence [label=\"fence\", ", out);
	fputs(kind_shape("fence"), out);
	fputs("];\n    legend_reclaim [label=\"reclaim, notifier\", ", out);
	fputs(kind_shape("reclaim"), out);
	fputs("];\n    legend_edges [shape=plaintext, fontsize=9, label=\""
	      "A -(XY)-> B: B taken while A is held\\l"
	      "X: A held E exclusive or S shared\\l"
	      "Y: B taken R recursive read or N otherwise\\l"
	      "dashed: recursive readers only\\l"
	      "coloured, thick: the cycle of a finding (one colour each)\\l\"];\n"
	      "  }\n", out);
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

/* "file:line in function" of where an edge was first seen. */
static void put_edge_tooltip(FILE *out, const struct medge *e,
			     const struct rfinding *f)
{
	const struct rframe *site = NULL;
	char buf[1024];
	size_t n = 0;
	unsigned bit;

	for (bit = 0; bit < 4 && !site; bit++)
		if (e->first[bit])
			site = stack_site(&e->first[bit]->stack);
	if (f)
		n = snprintf(buf, sizeof(buf), "%s: ", f->kind);
	if (site && site->file && site->line > 0 && n < sizeof(buf))
		n += snprintf(buf + n, sizeof(buf) - n, "%s:%ld", site->file, site->line);
	if (site && site->function && n < sizeof(buf))
		snprintf(buf + n, sizeof(buf) - n, " in %s", site->function);
	else if (!site && n < sizeof(buf))
		snprintf(buf + n, sizeof(buf) - n, "no stack recorded");
	fputs(", tooltip=", out);
	dot_string(out, buf);
}

static void put_edge(FILE *out, const struct report *r, const struct strtab *t,
		     const struct medge *e)
{
	static const char *const types[4] = { "EN", "ER", "SN", "SR" };
	const struct rfinding *f = NULL;
	unsigned bit;
	bool first = true;
	size_t fi;

	fprintf(out, "  n%zu -> n%zu [label=\"", e->from, e->to);
	for (bit = 0; bit < 4; bit++) {
		if (!(e->types & 1u << bit))
			continue;
		fprintf(out, "%s%s", first ? "" : ",", types[bit]);
		first = false;
	}
	fputc('"', out);
	if (e->on_cycle && edge_finding(r, t, e, &fi)) {
		f = &r->findings[fi];
		fprintf(out, ", color=\"%s\", fontcolor=\"%s\", penwidth=2.5",
			palette[fi % NPALETTE], palette[fi % NPALETTE]);
	} else if (e->on_cycle)
		fputs(", color=\"#c0392b\", fontcolor=\"#c0392b\", penwidth=2.5", out);
	else if (e->types == (1u << 1 | 1u << 3) || e->types == 1u << 1 ||
		 e->types == 1u << 3)
		fputs(", style=dashed", out);	/* only recursive readers */
	put_edge_tooltip(out, e, f);
	fputs("];\n", out);
}

int render_dot(FILE *out, const struct report *r, const struct render_opts *o)
{
	const struct mgraph *g = &r->graph;
	struct strtab cycles;
	size_t i;

	strtab_init(&cycles);
	if (index_cycles(r, &cycles)) {
		strtab_free(&cycles);
		return -1;
	}
	fputs("digraph fencedep {\n"
	      "  graph [rankdir=LR, fontname=\"Helvetica\", label=\"fencedep dependency graph\"];\n"
	      "  node [fontname=\"Helvetica\", fontsize=11];\n"
	      "  edge [fontname=\"Helvetica\", fontsize=9];\n", out);
	put_legend(out);
	if (put_nodes(out, r, o->cycles_only)) {
		strtab_free(&cycles);
		return -1;
	}
	for (i = 0; i < g->nedges; i++)
		if (!o->cycles_only || g->edges[i].on_cycle)
			put_edge(out, r, &cycles, &g->edges[i]);
	strtab_free(&cycles);
	fputs("}\n", out);
	return ferror(out) ? -1 : 0;
}
