/*
 * report_json.c - the JSON report (schema 1), one file per process,
 * PATH.<pid>.json, rewritten whole through a temporary file and rename() on
 * every new finding and at exit, so it is valid at every moment.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "finding.h"

_Atomic uint64_t stats_acquisitions_done, stats_chain_hits_done;

static void json_frames(struct rt_buf *b, uint32_t stack)
{
	uintptr_t pcs[STACK_MAX];
	uint32_t n = stack_get(stack, pcs, STACK_MAX);
	struct frame f;

	buf_puts(b, "[");
	for (uint32_t i = 0; i < n; i++) {
		stack_symbolize(pcs[i], &f);
		buf_printf(b, "%s{\"pc\": \"%#lx\", \"module\": ", i ? ", " : "", (unsigned long)f.pc);
		buf_json_str(b, f.module ? f.module : "");
		buf_printf(b, ", \"offset\": \"%#lx\"", (unsigned long)f.offset);
		if (f.function) {
			buf_puts(b, ", \"function\": ");
			buf_json_str(b, f.function);
		}
		if (f.file) {
			buf_puts(b, ", \"file\": ");
			buf_json_str(b, f.file);
			buf_printf(b, ", \"line\": %d", f.line);
		}
		buf_puts(b, "}");
	}
	buf_puts(b, "]");
}

static void json_finding(struct rt_buf *b, const struct finding *f)
{
	buf_puts(b, "    {\"kind\": ");
	buf_json_str(b, finding_kind_name(f->kind));
	buf_puts(b, ", \"title\": ");
	buf_json_str(b, f->title);
	buf_printf(b, ", \"fingerprint\": \"%s\", \"count\": %u,\n", f->fingerprint, f->count);
	buf_printf(b, "     \"thread\": {\"tid\": %d, \"name\": ", (int)f->tid);
	buf_json_str(b, f->thread_name);
	if (f->thread_site) {
		struct frame fr;
		stack_symbolize(f->thread_site, &fr);
		buf_puts(b, ", \"created_at\": ");
		buf_json_str(b, fr.function ? fr.function : "??");
	}
	buf_puts(b, "}");
	if (f->detail) {
		buf_puts(b, ", \"detail\": ");
		buf_json_str(b, f->detail);
	}
	if (f->subject[0]) {
		buf_puts(b, ", \"class\": ");
		buf_json_str(b, f->subject[0]);
	}
	if (f->ncycle) {
		buf_printf(b, ", \"cycle_length\": %u", f->cycle_total);
		buf_puts(b, ",\n     \"cycle\": [");
		for (uint32_t i = 0; i < f->ncycle; i++) {
			buf_puts(b, i ? ",\n       {\"from\": " : "\n       {\"from\": ");
			buf_json_str(b, f->cycle[i].from);
			buf_puts(b, ", \"to\": ");
			buf_json_str(b, f->cycle[i].to);
			buf_printf(b, ", \"type\": \"%s\", \"primed\": %s, \"stack\": ",
				   edge_type_name(f->cycle[i].type), f->cycle[i].primed ? "true" : "false");
			json_frames(b, f->cycle[i].stack);
			buf_puts(b, "}");
		}
		buf_puts(b, "]");
	}
	buf_puts(b, ",\n     \"held\": [");
	for (uint32_t i = 0; i < f->nheld; i++) {
		buf_puts(b, i ? ", {\"class\": " : "{\"class\": ");
		buf_json_str(b, f->held[i].cls);
		buf_printf(b, ", \"mode\": \"%s\", \"stack\": ", hold_mode_name(f->held[i].mode));
		struct frame fr;
		stack_symbolize(f->held[i].ip, &fr);
		buf_printf(b, "[{\"pc\": \"%#lx\", \"module\": ", (unsigned long)fr.pc);
		buf_json_str(b, fr.module ? fr.module : "");
		buf_printf(b, ", \"offset\": \"%#lx\"", (unsigned long)fr.offset);
		if (fr.function) {
			buf_puts(b, ", \"function\": ");
			buf_json_str(b, fr.function);
		}
		buf_puts(b, "}]}");
	}
	buf_puts(b, "],\n     \"stack\": ");
	json_frames(b, f->stack);
	if (f->dump) {
		buf_puts(b, ",\n     \"dump\": ");
		buf_json_str(b, f->dump);
	}
	for (uint32_t i = 0; i < f->nnotes; i++) {
		buf_puts(b, i ? ", " : ",\n     \"notes\": [");
		buf_puts(b, "{\"label\": ");
		buf_json_str(b, f->notes[i].label);
		buf_puts(b, ", \"stack\": ");
		json_frames(b, f->notes[i].stack);
		buf_puts(b, "}");
		if (i + 1 == f->nnotes)
			buf_puts(b, "]");
	}
	buf_puts(b, "}");
}

struct edge_snap {
	struct lock_class *from, *to;
	uint8_t types;
	bool primed;
	uint32_t stack[4]; /* per type */
};

struct snap {
	struct edge_snap *e;
	size_t n, cap;
};

static void snap_edge(struct edge *e, void *arg)
{
	struct snap *s = arg;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct edge_snap *n = rt_realloc_array(s->e, s->cap, cap, sizeof(*n));
		if (!n)
			return;
		s->e = n;
		s->cap = cap;
	}
	s->e[s->n] = (struct edge_snap){ e->from, e->to, e->types, e->primed, { 0 } };
	memcpy(s->e[s->n++].stack, e->type_stack, sizeof(e->type_stack));
}

/* The classes and edges the graph part lists, for the statistics, which
 * must agree with the lists (as of the same rendering). */
static size_t listed_classes, listed_edges;

static void json_class(struct lock_class *c, void *arg)
{
	struct rt_buf *b = arg;
	const char *name = atomic_load(&c->name);

	if (!name || c->dead)
		return; /* never part of an edge, or gone with its lock */
	listed_classes++;
	buf_puts(b, b->data[b->len - 1] == '[' ? "\n    {\"name\": " : ",\n    {\"name\": ");
	buf_json_str(b, name);
	buf_printf(b, ", \"kind\": \"%s\"}", class_kind_name(c->kind));
}

static void json_edges(struct rt_buf *b)
{
	struct snap s = { 0 };
	bool first = true;

	rt_lock(&graph_lock);
	graph_for_each_edge(snap_edge, &s);
	rt_unlock(&graph_lock);
	for (size_t i = 0; i < s.n; i++) {
		for (int bit = 1; bit <= ET_SN; bit <<= 1) {
			if (!(s.e[i].types & bit))
				continue;
			buf_puts(b, first ? "\n    {\"from\": " : ",\n    {\"from\": ");
			first = false;
			listed_edges++;
			/* named here if the lock event could not name it then */
			buf_json_str(b, class_name(s.e[i].from));
			buf_puts(b, ", \"to\": ");
			buf_json_str(b, class_name(s.e[i].to));
			buf_printf(b, ", \"type\": \"%s\", \"primed\": %s, \"stack\": ",
				   edge_type_name(bit), s.e[i].primed ? "true" : "false");
			json_frames(b, s.e[i].stack[edge_type_index(bit)]);
			buf_puts(b, "}");
		}
	}
	rt_free(s.e, s.cap * sizeof(*s.e));
}

/*
 * The graph part of the document: classes and edges, the edges rendered
 * first, as rendering them names every class they touch.
 */
static void json_graph(struct rt_buf *b)
{
	struct rt_buf edges = { 0 };

	listed_classes = listed_edges = 0;
	json_edges(&edges);
	buf_puts(b, " ],\n \"classes\": [");
	class_for_each(json_class, b);
	buf_puts(b, "],\n \"edges\": [");
	if (edges.data)
		buf_puts(b, edges.data);
	if (edges.failed)
		b->failed = true;
	buf_release(&edges);
}

/*
 * The graph part as last rendered.  A finding rewrites the whole document,
 * and a large graph takes long to render (its edges' stacks); between
 * findings it is rendered again only once ten times its rendering time has
 * passed, so that rendering takes at most about a tenth of the time of a
 * program that reports often.  Findings are always written at once; the
 * final document at exit has the graph as it is then.
 */
static struct rt_buf graph_part;
static uint64_t graph_part_at, graph_part_cost;

static const struct rt_buf *graph_rendered(bool final)
{
	uint64_t now = rt_now_ns();

	if (final || !graph_part.data || graph_part.failed ||
	    now - graph_part_at >= 10 * graph_part_cost) {
		buf_release(&graph_part);
		json_graph(&graph_part);
		graph_part_at = rt_now_ns();
		graph_part_cost = graph_part_at - now;
	}
	return &graph_part;
}

void report_listed_counts(size_t *classes, size_t *edges)
{
	/* without a JSON report the graph was never listed: list it now */
	if (!rt_opt.json_path || !rt_opt.json_path[0]) {
		struct rt_buf scratch = { 0 };
		json_graph(&scratch);
		buf_release(&scratch);
	}
	*classes = listed_classes;
	*edges = listed_edges;
}

/* The document around the graph part: head (up to the findings' end) and
 * tail (the statistics). */
static void json_head(struct rt_buf *b)
{
	buf_printf(b, "{\"tool\": \"fencedep\", \"schema\": 1, \"version\": \"%s\", \"pid\": %d,\n",
		   PACKAGE_VERSION, (int)getpid());
	buf_puts(b, " \"argv\": [");
	for (int i = 0; rt_argv && i < rt_argc; i++) {
		if (i)
			buf_puts(b, ", ");
		buf_json_str(b, rt_argv[i]);
	}
	buf_puts(b, "],\n \"findings\": [\n");
	for (struct finding *f = findings_head; f; f = f->next) {
		json_finding(b, f);
		buf_puts(b, f->next ? ",\n" : "\n");
	}
}

static void json_tail(struct rt_buf *b)
{
	uint64_t acq = atomic_load(&stats_acquisitions_done), hits = atomic_load(&stats_chain_hits_done);

	rt_lock(&threads_lock);
	for (struct rt_thread *t = threads_list; t; t = t->next) {
		acq += t->acquisitions + t->fast_hits;
		hits += t->chain_hits + t->fast_hits;
	}
	rt_unlock(&threads_lock);
	/* classes and edges as listed: an edge once per type it was seen with */
	buf_printf(b,
		   "],\n \"stats\": {\"classes\": %zu, \"edges\": %zu, \"chains\": %zu, "
		   "\"acquisitions\": %llu, \"chain_hits\": %llu}}\n",
		   listed_classes, listed_edges, chain_count(), (unsigned long long)acq,
		   (unsigned long long)hits);
}

/* Called with report_lock held. */
void report_write_json(bool final)
{
	char path[4096], tmp[4200];
	struct rt_buf head = { 0 }, tail = { 0 };

	if (!rt_opt.json_path || !rt_opt.json_path[0])
		return;
	snprintf(path, sizeof(path), "%s.%d.json", rt_opt.json_path, (int)getpid());
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	json_head(&head);
	const struct rt_buf *graph = graph_rendered(final);
	json_tail(&tail);
	if (head.failed || !head.data || graph->failed || !graph->data || tail.failed || !tail.data)
		goto out;
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		/* rewritten on every finding: say it once per process */
		static bool warned;
		if (!warned)
			rt_warn("cannot write the JSON report '%s': %s", path, strerror(errno));
		warned = true;
		goto out;
	}
	bool whole = write_all(fd, head.data, head.len) && write_all(fd, graph->data, graph->len) &&
		     write_all(fd, tail.data, tail.len);
	close(fd);
	if (whole)
		rename(tmp, path);
	else
		unlink(tmp);
out:
	buf_release(&head);
	buf_release(&tail);
}
