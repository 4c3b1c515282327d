/*
 * report_json.c - the JSON report (schema 1) of each process.
 *
 * Each file is rewritten whole through a temporary file and rename(), so
 * that it is a valid report at every moment, whatever kills the process.
 * What a rewrite costs is bounded: a finding is rendered once, and a file
 * holds at most JSON_CHUNK findings - the next ones go to a new file,
 * PATH.<pid>.<n>.json (report_create), itself a whole report.  At exit the
 * findings are joined into the first file and the others removed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "finding.h"

_Atomic uint64_t stats_acquisitions_done, stats_chain_hits_done;

/* A stack as JSON frames; without file and line when brief (see
 * stack_symbolize_brief: the graph's stacks are written so). */
/* "%#lx" of v, as printf writes it ("0" for 0), without vsnprintf: a
 * report's graph has two for every frame of every edge (a glib test's
 * JSON report spent half its instructions formatting them). */
static void buf_hex(struct rt_buf *b, unsigned long v)
{
	char s[2 + 2 * sizeof(v) + 1], *p = s + sizeof(s);

	*--p = '\0';
	do
		*--p = "0123456789abcdef"[v & 15];
	while (v >>= 4);
	if (p[0] != '0') {
		*--p = 'x';
		*--p = '0';
	}
	buf_puts(b, p);
}

static void json_frames_as(struct rt_buf *b, uint32_t stack, bool brief)
{
	uintptr_t pcs[STACK_MAX];
	uint32_t n = stack_get(stack, pcs, STACK_MAX);
	struct frame f;
	/* the module of the frame before, as written: a stack's frames are
	 * mostly in a module or two, whose path is escaped once */
	char mod[256], mod_json[256];
	bool have_mod = false;

	buf_puts(b, "[");
	for (uint32_t i = 0; i < n; i++) {
		if (brief)
			stack_symbolize_brief(pcs[i], &f);
		else
			stack_symbolize(pcs[i], &f);
		buf_puts(b, i ? ", {\"pc\": \"" : "{\"pc\": \"");
		buf_hex(b, (unsigned long)f.pc);
		buf_puts(b, "\", \"module\": ");
		const char *m = f.module ? f.module : "";
		if (have_mod && !strcmp(m, mod)) {
			buf_puts(b, mod_json);
		} else {
			size_t at = b->len, mlen = strlen(m);
			buf_json_str(b, m);
			have_mod = mlen < sizeof(mod) && b->len >= at && b->len - at < sizeof(mod_json);
			if (have_mod) {
				memcpy(mod, m, mlen + 1);
				memcpy(mod_json, b->data + at, b->len - at);
				mod_json[b->len - at] = '\0';
			}
		}
		buf_puts(b, ", \"offset\": \"");
		buf_hex(b, (unsigned long)f.offset);
		buf_puts(b, "\"");
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

static void json_frames(struct rt_buf *b, uint32_t stack)
{
	json_frames_as(b, stack, false);
}

/* The finding's text but for its count, which goes at *count_at. */
static void json_finding(struct rt_buf *b, const struct finding *f, size_t *count_at)
{
	buf_puts(b, "    {\"kind\": ");
	buf_json_str(b, finding_kind_name(f->kind));
	buf_puts(b, ", \"title\": ");
	buf_json_str(b, f->title);
	buf_printf(b, ", \"fingerprint\": \"%s\", \"count\": ", f->fingerprint);
	*count_at = b->len;
	buf_puts(b, ",\n");
	buf_printf(b, "     \"thread\": {\"tid\": %d, \"name\": ", (int)f->tid);
	buf_json_str(b, f->thread_name);
	if (f->thread_site) {
		struct frame fr;
		stack_symbolize(f->thread_site, &fr);
		buf_puts(b, ", \"created_at\": ");
		buf_json_str(b, fr.function ? fr.function : "??");
		if (fr.file) {
			buf_puts(b, ", \"created_file\": ");
			buf_json_str(b, fr.file);
			buf_printf(b, ", \"created_line\": %d", fr.line);
		}
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
		buf_printf(b, ", \"mode\": \"%s\", ", hold_mode_name(f->held[i].mode));
		/* what the text report says of it, in brackets */
		const char *role = (f->held[i].flags & HF_PATH)	      ? "signalling path"
				   : (f->held[i].flags & HF_SECTION) ? "signalling section"
				   : (f->held[i].flags & HF_RECLAIM) ? "in reclaim"
				   : (f->held[i].flags & HF_TRY)     ? "trylock"
								     : NULL;
		if (role)
			buf_printf(b, "\"role\": \"%s\", ", role);
		buf_puts(b, "\"stack\": ");
		struct frame fr;
		stack_symbolize(f->held[i].ip, &fr);
		buf_printf(b, "[{\"pc\": \"%#lx\", \"module\": ", (unsigned long)fr.pc);
		buf_json_str(b, fr.module ? fr.module : "");
		buf_printf(b, ", \"offset\": \"%#lx\"", (unsigned long)fr.offset);
		if (fr.function) {
			buf_puts(b, ", \"function\": ");
			buf_json_str(b, fr.function);
		}
		if (fr.file) {
			buf_puts(b, ", \"file\": ");
			buf_json_str(b, fr.file);
			buf_printf(b, ", \"line\": %d", fr.line);
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

	/* the site graph is the runtime's own prediction: not for merging */
	if (e->from->shadow || e->to->shadow)
		return;

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

	if (!name || c->dead || c->shadow)
		return; /* never part of an edge, gone with its lock, or of the site graph */
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
			json_frames_as(b, s.e[i].stack[edge_type_index(bit)], true);
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
	graph_readers_enter(); /* the class records stay while they are read */
	json_edges(&edges);
	buf_puts(b, " ],\n \"classes\": [");
	class_for_each(json_class, b);
	graph_readers_leave();
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

static bool graph_due(void)
{
	return !graph_part.data || graph_part.failed ||
	       rt_now_ns() - graph_part_at >= 10 * graph_part_cost;
}

static const struct rt_buf *graph_rendered(bool final)
{
	uint64_t now = rt_now_ns();

	/* out of memory: the last rendering, or none (json_write_file) */
	if ((final || graph_due()) && !(rt_memory_out() && graph_part.data && !graph_part.failed)) {
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

/* The document around the findings and the graph part: head (up to the
 * findings) and tail (the statistics). */
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

/* ---- the files ---- */

#define JSON_CHUNK 32

/* One file of the report: the findings from first, n of them. */
struct json_file {
	char *path;
	size_t path_size;
	struct finding *first;
	size_t n;
	struct json_file *next;
};

static struct json_file *files, *current; /* all, in order; the one growing */
static bool json_warned;
/* A finding that is not in the report on disk: its write failed, and no
 * whole write since.  The exit status says so (init.c). */
static bool json_lost;

bool report_json_lost(void)
{
	return json_lost;
}

static void json_warn(const char *what, const char *path)
{
	/* rewritten on every finding: said once per process */
	if (!json_warned)
		rt_warn("cannot write the JSON report '%s': %s: %s", path, what, strerror(errno));
	json_warned = true;
}

/* A new file of the report, created empty; NULL when it cannot be. */
static struct json_file *json_file_new(void)
{
	struct json_file *jf = rt_alloc(sizeof(*jf));
	int fd;

	if (!jf)
		return NULL;
	fd = report_create(rt_opt.json_path, ".json", &jf->path, &jf->path_size);
	if (fd < 0) {
		rt_free(jf, sizeof(*jf));
		return NULL;
	}
	close(fd);
	struct json_file **tail = &files;
	while (*tail)
		tail = &(*tail)->next;
	*tail = jf;
	return jf;
}

/* The finding's text, rendered once and kept (rendered each time when
 * memory is short). */
static bool json_text(struct finding *f, struct rt_buf *tmp, const char **text, size_t *len,
		      size_t *count_at)
{
	if (!f->json) {
		tmp->len = 0;
		json_finding(tmp, f, count_at);
		if (tmp->failed || !tmp->data)
			return false;
		f->json = rt_alloc(tmp->len);
		if (!f->json) {
			*text = tmp->data;
			*len = tmp->len;
			return true;
		}
		memcpy(f->json, tmp->data, tmp->len);
		f->json_len = tmp->len;
		f->json_count_at = *count_at;
	}
	*text = f->json;
	*len = f->json_len;
	*count_at = f->json_count_at;
	return true;
}

/* Write n findings from first into fd, as the findings array's items. */
static bool json_write_findings(int fd, struct finding *first, size_t n)
{
	struct rt_buf tmp = { 0 };
	bool ok = true;
	size_t i = 0;

	for (struct finding *f = first; f && i < n && ok; f = f->next, i++) {
		const char *text;
		size_t len, at;
		char count[24];

		if (!json_text(f, &tmp, &text, &len, &at)) {
			ok = false;
			break;
		}
		int cn = snprintf(count, sizeof(count), "%u", f->count);
		ok = write_all(fd, text, at) && write_all(fd, count, (size_t)cn) &&
		     write_all(fd, text + at, len - at) &&
		     write_all(fd, i + 1 < n && f->next ? ",\n" : "\n", i + 1 < n && f->next ? 2 : 1);
	}
	buf_release(&tmp);
	return ok;
}

/*
 * Write the file jf whole, with n findings from first: a temporary file
 * of a name no one else has (O_EXCL), renamed over jf's.  The file there
 * is then ours whatever was put at the name in between.
 */
static bool json_write_file(struct json_file *jf, struct finding *first, size_t n, bool final)
{
	static const struct rt_buf no_graph = {
		.data = (char *)" ],\n \"classes\": [],\n \"edges\": [",
		.len = sizeof(" ],\n \"classes\": [],\n \"edges\": [") - 1,
	};
	struct rt_buf head = { 0 }, tail = { 0 };
	size_t size = jf->path_size + 32;
	char *tmp = rt_alloc(size);
	int fd = -1;
	bool ok = false;
	/* the graph and the statistics are the first file's */
	bool first_file = jf == files;

	json_head(&head);
	const struct rt_buf *graph = first_file ? graph_rendered(final) : &no_graph;
	/* a graph that could not be rendered (out of memory) is left out:
	 * the findings are what must be written */
	if (graph->failed || !graph->data)
		graph = &no_graph;
	if (first_file)
		json_tail(&tail);
	else
		buf_puts(&tail, "],\n \"stats\": {\"classes\": 0, \"edges\": 0, \"chains\": 0, "
				"\"acquisitions\": 0, \"chain_hits\": 0}}\n");
	if (!tmp || head.failed || !head.data || tail.failed || !tail.data) {
		errno = ENOMEM;
		json_warn("out of memory", jf->path);
		goto out;
	}
	for (unsigned k = 0; k < 100 && fd < 0; k++) {
		snprintf(tmp, size, k ? "%s.%u.tmp" : "%s.tmp", jf->path, k);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
			  0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		json_warn("cannot create a temporary file beside it", jf->path);
		goto out;
	}
	ok = write_all(fd, head.data, head.len) && json_write_findings(fd, first, n) &&
	     write_all(fd, graph->data, graph->len) && write_all(fd, tail.data, tail.len);
	close(fd);
	if (!ok) {
		json_warn("cannot write", jf->path);
		unlink(tmp);
	} else if (rename(tmp, jf->path)) {
		json_warn("cannot rename the temporary file over it", jf->path);
		unlink(tmp);
		ok = false;
	}
out:
	rt_free(tmp, size);
	buf_release(&head);
	buf_release(&tail);
	return ok;
}

void report_json_init(void)
{
	if (!rt_opt.json_path || !rt_opt.json_path[0])
		return;
	current = json_file_new();
	if (!current)
		rt_fatal_config("json_path: cannot create '%s.%d.json': %s", rt_opt.json_path,
				(int)getpid(), strerror(errno));
	if (!json_write_file(current, NULL, 0, false))
		rt_fatal_config("json_path: cannot write '%s'", current->path);
}

void report_json_fork_child(void)
{
	/* the parent's files are the parent's: the lists stay with it */
	files = current = NULL;
	json_warned = false;
	json_lost = false;
}

/*
 * Called with report_lock held: at each new finding (the last on the
 * list), and at exit (final).
 */
void report_write_json(bool final)
{
	struct finding *last = NULL;

	if (!rt_opt.json_path || !rt_opt.json_path[0])
		return;
	for (struct finding *f = findings_head; f; f = f->next)
		last = f;
	if (final) {
		/* every finding into the first file, the others removed */
		size_t n = 0;
		for (struct finding *f = findings_head; f; f = f->next)
			n++;
		if (!files && !json_file_new()) {
			json_warn("cannot create it", rt_opt.json_path);
			json_lost = n > 0;
			return;
		}
		if (!json_write_file(files, findings_head, n, true))
			return; /* what was written at each finding stays */
		json_lost = false; /* every finding is in it now */
		for (struct json_file *jf = files->next; jf; jf = jf->next)
			unlink(jf->path);
		files->next = NULL;
		files->first = findings_head;
		files->n = n;
		current = files;
		return;
	}
	if (!last)
		return;
	if (!current || current->n >= JSON_CHUNK) {
		struct json_file *jf = json_file_new();
		if (!jf) {
			json_warn("cannot create it", rt_opt.json_path);
			json_lost = true;
			return;
		}
		current = jf;
	}
	if (!current->n)
		current->first = last;
	current->n++;
	if (!json_write_file(current, current->first, current->n, false))
		json_lost = true;
	/* the graph grows too: the first file again when its time is due */
	if (current != files && files && graph_due())
		json_write_file(files, files->first, files->n, false);
}
