/*
 * merge.c - one dependency graph out of every process's, and the cycles in
 * it that no single process saw.
 *
 * Classes are identified by name across processes.  A deadlock is a closed
 * strong path (lockdep-design.rst, "Recursive read locks"): edges are typed
 * -(XY)-> with X the holder (E exclusive, S shared) and Y the acquirer (R
 * recursive reader, N otherwise), and a path is strong when no -(*R)-> edge
 * is followed by an -(S*)-> edge, the last edge followed by the first one
 * included.  The search walks states (class, arrived by *R), so that two
 * recursive readers never make a cycle, and reports the shortest strong
 * cycle through each edge.
 */
#include "report_model.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fingerprint.h"
#include "kinds.h"

#define MAX_MERGED_FINDINGS 1000
/*
 * Out-edges the search may examine in all.  Real lock graphs have small
 * strongly connected components and stay far below it; a pathological one
 * is searched this far and the report says the search was cut short.
 */
#define SEARCH_BUDGET 50000000u

static const char *const type_names[4] = { "EN", "ER", "SN", "SR" };

static bool holder_shared(unsigned bit)
{
	return bit & 2;
}

static bool acquirer_recursive(unsigned bit)
{
	return bit & 1;
}

bool edge_type_valid(const char *type)
{
	return (type[0] == 'E' || type[0] == 'S') &&
	       (type[1] == 'R' || type[1] == 'N') && type[2] == '\0';
}

unsigned edge_type_bit(const char type[2])
{
	return (type[0] == 'S' ? 2 : 0) | (type[1] == 'R' ? 1 : 0);
}

/* ---- the graph ---- */

/*
 * Which names merge across processes (fencedep(7), LIMITS): a name given by
 * the program (fdep_lock_class, a fence class, a built-in), a static lock's
 * symbol or module and offset, and an init site (classes=site) mean the
 * same lock or code in every process.  The rank of a heap lock among those
 * made at one site ("mutex@queue_init:42#3") does not, nor does a site that
 * could not be named ("@?"): such a class stays its process's own.
 */
bool class_name_global(const char *name)
{
	const char *hash = strrchr(name, '#');

	if (strstr(name, "@?"))
		return false;
	if (!hash || !hash[1] || !strchr(name, '@'))
		return true;
	for (hash++; *hash; hash++)
		if (*hash < '0' || *hash > '9')
			return true;
	return false;
}

/*
 * The key of a class in the merged graph: its name, followed, for a name
 * that is its process's own, by a NUL and the process.  Returns its length.
 */
static size_t class_key(const char *name, const struct rproc **proc, char *buf,
			size_t size, const char **key)
{
	size_t len = strlen(name);

	if (class_name_global(name) || len + 1 + sizeof(*proc) > size) {
		*proc = NULL;
		*key = name;
		return len;
	}
	memcpy(buf, name, len);
	buf[len] = '\0';
	memcpy(buf + len + 1, proc, sizeof(*proc));
	*key = buf;
	return len + 1 + sizeof(*proc);
}

static int intern_class(struct mgraph *g, const char *name, const char *kind,
			const struct rproc *proc, size_t *idx)
{
	struct rclass *c;
	char buf[512];
	const char *key;
	size_t len = class_key(name, &proc, buf, sizeof(buf), &key);

	if (strtab_get(&g->class_index, key, len, idx)) {
		if (kind && !g->classes[*idx].kind)
			g->classes[*idx].kind = kind;
		return 0;
	}
	if (g->nclasses == g->capclasses) {
		size_t cap = g->capclasses ? g->capclasses * 2 : 16;

		c = realloc(g->classes, cap * sizeof(*c));
		if (!c)
			return -1;
		g->classes = c;
		g->capclasses = cap;
	}
	*idx = g->nclasses;
	g->classes[*idx].name = name;
	g->classes[*idx].kind = kind;
	g->classes[*idx].proc = proc;
	if (strtab_put(&g->class_index, key, len, *idx))
		return -1;
	g->nclasses++;
	return 0;
}

/* The merged class of a name as one process used it. */
static bool find_class(const struct mgraph *g, const char *name, const struct rproc *proc,
		       size_t *idx)
{
	char buf[512];
	const char *key;
	size_t len = class_key(name, &proc, buf, sizeof(buf), &key);

	return strtab_get(&g->class_index, key, len, idx);
}

static bool find_medge(const struct mgraph *g, size_t from, size_t to,
		       size_t *idx)
{
	uint64_t key[2] = { from, to };

	return strtab_get(&g->edge_index, key, sizeof(key), idx);
}

static struct medge *new_medge(struct mgraph *g, size_t from, size_t to)
{
	uint64_t key[2] = { from, to };
	struct medge *e;

	if (g->nedges == g->capedges) {
		size_t cap = g->capedges ? g->capedges * 2 : 16;

		e = realloc(g->edges, cap * sizeof(*e));
		if (!e)
			return NULL;
		g->edges = e;
		g->capedges = cap;
	}
	if (strtab_put(&g->edge_index, key, sizeof(key), g->nedges))
		return NULL;
	e = &g->edges[g->nedges++];
	memset(e, 0, sizeof(*e));
	e->from = from;
	e->to = to;
	return e;
}

static int add_occurrence(struct mgraph *g, const struct redge *re)
{
	size_t from, to, idx;
	struct medge *e;
	unsigned bit;

	if (intern_class(g, re->from, NULL, re->proc, &from) ||
	    intern_class(g, re->to, NULL, re->proc, &to))
		return -1;
	if (find_medge(g, from, to, &idx))
		e = &g->edges[idx];
	else if (!(e = new_medge(g, from, to)))
		return -1;
	if (e->nocc == e->capocc) {
		size_t cap = e->capocc ? e->capocc * 2 : 4;
		const struct redge **occ = realloc(e->occ, cap * sizeof(*occ));

		if (!occ)
			return -1;
		e->occ = occ;
		e->capocc = cap;
	}
	e->occ[e->nocc++] = re;
	bit = edge_type_bit(re->type);
	if (!(e->types & 1u << bit))
		e->first[bit] = re;
	e->types |= 1u << bit;
	return 0;
}

static int build_adjacency(struct mgraph *g)
{
	size_t i;

	g->out = calloc(g->nclasses + 1, sizeof(*g->out));
	g->nout = calloc(g->nclasses + 1, sizeof(*g->nout));
	if (!g->out || !g->nout)
		return -1;
	for (i = 0; i < g->nedges; i++)
		g->nout[g->edges[i].from]++;
	for (i = 0; i < g->nclasses; i++) {
		g->out[i] = malloc((g->nout[i] + 1) * sizeof(**g->out));
		if (!g->out[i])
			return -1;
		g->nout[i] = 0;
	}
	for (i = 0; i < g->nedges; i++) {
		size_t f = g->edges[i].from;

		g->out[f][g->nout[f]++] = i;
	}
	return 0;
}

static int build_graph(struct report *r)
{
	struct mgraph *g = &r->graph;
	size_t i, k, idx;

	for (i = 0; i < r->nclasses; i++)
		if (intern_class(g, r->classes[i].name, r->classes[i].kind, r->classes[i].proc,
				 &idx))
			return -1;
	for (i = 0; i < r->nedges; i++)
		if (add_occurrence(g, &r->edges[i]))
			return -1;
	for (i = 0; i < r->nfindings; i++)
		for (k = 0; k < r->findings[i].ncycle; k++)
			if (add_occurrence(g, &r->findings[i].cycle[k]))
				return -1;
	return build_adjacency(g);
}

/* ---- kinds of classes and cycles ---- */

const char *class_kind(const struct report *r, const char *name)
{
	const struct mgraph *g = &r->graph;
	size_t idx;

	if (strtab_get(&g->class_index, name, strlen(name), &idx) &&
	    g->classes[idx].kind)
		return g->classes[idx].kind;
	if (!strcmp(name, "fs_reclaim"))
		return "reclaim";
	if (!strcmp(name, "dma_fence"))
		return "fence";
	if (!strcmp(name, "mmu_notifier"))
		return "mmu_notifier";
	/* a class of one process only is keyed by process: its kind is in
	 * its name */
	if (!strncmp(name, "rwlock@", 7))
		return "rwlock";
	if (!strncmp(name, "spin@", 5))
		return "spin";
	return "mutex";
}

const char *cycle_kind(const struct report *r, const char *const *names, size_t n)
{
	static const char *const events[] = { "cond", "sem", "thread", "barrier", "once", "event" };
	bool fence = false, reclaim = false, notifier = false, event = false;
	size_t i, j;

	for (i = 0; i < n; i++) {
		const char *kind = class_kind(r, names[i]);

		fence |= !strcmp(kind, "fence");
		reclaim |= !strcmp(kind, "reclaim") || !strcmp(names[i], "fs_reclaim");
		notifier |= !strcmp(kind, "mmu_notifier");
		for (j = 0; j < sizeof(events) / sizeof(events[0]); j++)
			event |= !strcmp(kind, events[j]);
	}
	/* as the runtime (held.c): the notifier context without fs_reclaim
	 * is reclaim, but not an allocation on a signalling path */
	if (fence && reclaim)
		return "alloc-in-signalling-path";
	if (fence)
		return "fence-lock-inversion";
	if (reclaim || notifier)
		return "reclaim-lock-inversion";
	if (event)
		return "event-lock-inversion";
	return "lock-order-inversion";
}

const char *kind_title(const char *kind)
{
	const struct kind_info *k = kind_lookup(kind);

	return k ? k->title : kind;
}

/*
 * A finding's own stack is where the acquisition that closed it happened;
 * a merged cycle has none, so take the last dependency with a stack.
 */
const struct rstack *finding_site_stack(const struct rfinding *f)
{
	size_t i;

	if (f->stack.n)
		return &f->stack;
	for (i = f->ncycle; i > 0; i--)
		if (f->cycle[i - 1].stack.n)
			return &f->cycle[i - 1].stack;
	return &f->stack;
}

/* ---- fingerprints, the runtime's way (fingerprint.h) ---- */

static void fp_item(struct fdep_fp_item *it, const struct redge *e)
{
	size_t i;

	memset(it, 0, sizeof(*it));
	it->name = e->from;
	for (i = 0; i < e->stack.n && it->nfuncs < FDEP_FP_FRAMES; i++)
		if (fdep_fp_module_counts(e->stack.frames[i].module))
			fdep_fp_add_function(it, e->stack.frames[i].function);
}

void cycle_fingerprint(const char *kind, const struct redge *edges,
		       const struct redge *const *ptrs, size_t n, char fp[17])
{
	struct fdep_fp_item items[64];
	size_t i;

	if (n > 64)
		n = 64;
	for (i = 0; i < n; i++)
		fp_item(&items[i], ptrs ? ptrs[i] : &edges[i]);
	/* one item (a finding of one place) has one rotation */
	fdep_fingerprint(kind, items, n, true, fp);
}

void finding_fingerprint_v1(const struct rfinding *f, char fp[17])
{
	const char *names[64];
	size_t n = 0, i;

	for (i = 0; i < f->ncycle && n < 64; i++)
		names[n++] = f->cycle[i].from;
	if (!n)
		names[n++] = f->subject ? f->subject : "?";
	fdep_fingerprint_v1(f->kind, names, n, fp);
}

/* ---- findings read: one per fingerprint ---- */

static bool same_proc_seen(const struct rfinding *keep, const struct rfinding *dup)
{
	return keep->proc == dup->proc;
}

static void free_carried(struct rfinding *f)
{
	size_t i;

	for (i = 0; i < f->ncycle; i++)
		free(f->cycle[i].stack.frames);
	for (i = 0; i < f->nheld; i++)
		free(f->held[i].stack.frames);
	for (i = 0; i < f->nnotes; i++)
		free(f->notes[i].stack.frames);
	free(f->cycle);
	free(f->held);
	free(f->notes);
	free(f->stack.frames);
}

/*
 * Keep the first finding of each fingerprint and add the others' counts to
 * it.  The fingerprints kept also stop the cycle search from reporting a
 * cycle again that a process already reported.
 */
static int dedup_findings(struct report *r, struct strtab *seen)
{
	size_t i, n = 0, idx;

	for (i = 0; i < r->nfindings; i++) {
		struct rfinding *f = &r->findings[i];

		if (strtab_get(seen, f->fp, 16, &idx)) {
			struct rfinding *keep = &r->findings[idx];

			keep->count = count_add(keep->count, f->count);
			if (!same_proc_seen(keep, f))
				keep->nprocs++;
			free_carried(f);
			continue;
		}
		if (strtab_put(seen, f->fp, 16, n))
			return -1;
		if (n != i)
			r->findings[n] = *f;
		n++;
	}
	r->nfindings = r->ncarried = n;
	return 0;
}

/* ---- strongly connected components (Tarjan, without recursion) ---- */

struct scc {
	size_t *index, *low, *comp, *stack, *call, *iter;
	bool *on_stack;
	size_t next_index, sp, ncomp;
};

static void scc_pop_component(struct scc *s, size_t v)
{
	size_t w;

	do {
		w = s->stack[--s->sp];
		s->on_stack[w] = false;
		s->comp[w] = s->ncomp;
	} while (w != v);
	s->ncomp++;
}

static void scc_visit(const struct mgraph *g, struct scc *s, size_t root)
{
	size_t depth = 0, v, w;

	s->call[depth++] = root;
	s->index[root] = s->low[root] = ++s->next_index;
	s->stack[s->sp++] = root;
	s->on_stack[root] = true;
	s->iter[root] = 0;
	while (depth) {
		v = s->call[depth - 1];
		if (s->iter[v] < g->nout[v]) {
			w = g->edges[g->out[v][s->iter[v]++]].to;
			if (!s->index[w]) {
				s->index[w] = s->low[w] = ++s->next_index;
				s->stack[s->sp++] = w;
				s->on_stack[w] = true;
				s->iter[w] = 0;
				s->call[depth++] = w;
			} else if (s->on_stack[w] && s->index[w] < s->low[v]) {
				s->low[v] = s->index[w];
			}
			continue;
		}
		if (s->low[v] == s->index[v])
			scc_pop_component(s, v);
		if (--depth) {
			w = s->call[depth - 1];
			if (s->low[v] < s->low[w])
				s->low[w] = s->low[v];
		}
	}
}

/* comp[i]: the component of class i.  Returns NULL when out of memory. */
static size_t *scc_components(const struct mgraph *g)
{
	size_t n = g->nclasses + 1, i;
	struct scc s = { 0 };

	s.index = calloc(n, sizeof(size_t));
	s.low = calloc(n, sizeof(size_t));
	s.comp = calloc(n, sizeof(size_t));
	s.stack = calloc(n, sizeof(size_t));
	s.call = calloc(n, sizeof(size_t));
	s.iter = calloc(n, sizeof(size_t));
	s.on_stack = calloc(n, sizeof(bool));
	if (s.index && s.low && s.comp && s.stack && s.call && s.iter && s.on_stack)
		for (i = 0; i < g->nclasses; i++)
			if (!s.index[i])
				scc_visit(g, &s, i);
	free(s.index);
	free(s.low);
	free(s.stack);
	free(s.call);
	free(s.iter);
	if (!s.on_stack) {
		free(s.comp);
		s.comp = NULL;
	}
	free(s.on_stack);
	return s.comp;
}

/* ---- the strong-path search ---- */

/* A search state: a class and whether it was reached by an -(*R)-> edge. */
struct bfs {
	size_t *queue;		/* states: class * 2 + arrived_by_R */
	size_t *prev;		/* the state before, SIZE_MAX at the start */
	size_t *via;		/* the medge taken into the state */
	unsigned *via_bit;	/* and its type */
	unsigned *seen;		/* generation stamp per state */
	unsigned gen;
	const size_t *comp;
	size_t steps;		/* out-edges examined, against SEARCH_BUDGET */
};

/* A cycle of any length: a shortest path visits each state once, so cap
 * (two states per class, and the closing edge) always holds it. */
struct cycle {
	size_t *edges;		/* medge indices, in order */
	unsigned *bits;		/* their types */
	size_t n, cap;
};

static bool bfs_alloc(struct bfs *b, size_t nclasses)
{
	size_t n = 2 * nclasses + 2;

	b->queue = malloc(n * sizeof(size_t));
	b->prev = malloc(n * sizeof(size_t));
	b->via = malloc(n * sizeof(size_t));
	b->via_bit = malloc(n * sizeof(unsigned));
	b->seen = calloc(n, sizeof(unsigned));
	b->gen = 0;
	return b->queue && b->prev && b->via && b->via_bit && b->seen;
}

static void bfs_free(struct bfs *b)
{
	free(b->queue);
	free(b->prev);
	free(b->via);
	free(b->via_bit);
	free(b->seen);
}

/* Follow prev from state back to the start, then append the closing edge. */
static bool bfs_path(const struct bfs *b, size_t state, size_t closing,
		     unsigned closing_bit, struct cycle *c)
{
	size_t len = 0, s, i;

	for (s = state; b->prev[s] != SIZE_MAX; s = b->prev[s])
		len++;
	if (len + 1 > c->cap)
		return false;
	c->n = len + 1;
	c->edges[0] = closing;
	c->bits[0] = closing_bit;
	for (s = state, i = len; b->prev[s] != SIZE_MAX; s = b->prev[s], i--) {
		c->edges[i] = b->via[s];
		c->bits[i] = b->via_bit[s];
	}
	return true;
}

static void bfs_expand(const struct mgraph *g, struct bfs *b, size_t state,
		       size_t *tail)
{
	size_t x = state / 2, k;
	bool by_r = state & 1;
	unsigned bit;

	b->steps += g->nout[x];
	for (k = 0; k < g->nout[x]; k++) {
		const struct medge *e = &g->edges[g->out[x][k]];

		if (e->from == e->to || b->comp[e->to] != b->comp[x])
			continue;
		for (bit = 0; bit < 4; bit++) {
			size_t next = e->to * 2 + acquirer_recursive(bit);

			if (!(e->types & 1u << bit) || (by_r && holder_shared(bit)))
				continue;
			if (b->seen[next] == b->gen)
				continue;
			b->seen[next] = b->gen;
			b->prev[next] = state;
			b->via[next] = g->out[x][k];
			b->via_bit[next] = bit;
			b->queue[(*tail)++] = next;
		}
	}
}

/*
 * The shortest strong cycle that starts with medge ei taken as type bit:
 * a path from its target back to its source that respects the strong rule
 * at every joint, including the one back into ei.
 */
static bool shortest_cycle(const struct mgraph *g, struct bfs *b, size_t ei,
			   unsigned bit, struct cycle *c)
{
	const struct medge *e = &g->edges[ei];
	size_t head = 0, tail = 0, state;

	b->gen++;
	state = e->to * 2 + acquirer_recursive(bit);
	b->seen[state] = b->gen;
	b->prev[state] = SIZE_MAX;
	b->queue[tail++] = state;
	while (head < tail && b->steps < SEARCH_BUDGET) {
		state = b->queue[head++];
		if (state / 2 == e->from && !((state & 1) && holder_shared(bit)))
			return bfs_path(b, state, ei, bit, c);
		bfs_expand(g, b, state, &tail);
	}
	return false;
}

/* ---- cycles into findings ---- */

static void cycle_names(const struct mgraph *g, const struct cycle *c,
			const char **names)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		names[i] = g->classes[g->edges[c->edges[i]].from].name;
}

static bool proc_has(const struct medge *e, const struct rproc *p, unsigned bit)
{
	size_t i;

	for (i = 0; i < e->nocc; i++)
		if (e->occ[i]->proc == p && edge_type_bit(e->occ[i]->type) == bit)
			return true;
	return false;
}

/* Did one process record every edge of the cycle, with its type? */
static bool single_process(const struct mgraph *g, const struct cycle *c)
{
	const struct medge *first = &g->edges[c->edges[0]];
	size_t o, i;

	for (o = 0; o < first->nocc; o++) {
		const struct rproc *p = first->occ[o]->proc;

		if (edge_type_bit(first->occ[o]->type) != c->bits[0])
			continue;
		for (i = 1; i < c->n; i++)
			if (!proc_has(&g->edges[c->edges[i]], p, c->bits[i]))
				break;
		if (i == c->n)
			return true;
	}
	return false;
}

static bool closes_visibly(const struct mgraph *g, const struct cycle *c, size_t i)
{
	const struct redge *e = g->edges[c->edges[i]].first[c->bits[i]];

	return !e->primed && e->stack.n;
}

/*
 * Rotate the cycle into the order it is shown in: from its smallest class
 * name, then on until the last edge, the one shown as closing the cycle,
 * is a recorded acquisition (with a stack, not a primed order).
 */
static void cycle_reverse(struct cycle *c, size_t from, size_t to)
{
	for (; from + 1 < to; from++, to--) {
		size_t e = c->edges[from];
		unsigned b = c->bits[from];

		c->edges[from] = c->edges[to - 1];
		c->bits[from] = c->bits[to - 1];
		c->edges[to - 1] = e;
		c->bits[to - 1] = b;
	}
}

/* Make edge k the first, keeping the order (in place, any length). */
static void cycle_rotate_to(struct cycle *c, size_t k)
{
	if (k == 0 || k >= c->n)
		return;
	cycle_reverse(c, 0, k);
	cycle_reverse(c, k, c->n);
	cycle_reverse(c, 0, c->n);
}

static void cycle_rotate(const struct mgraph *g, struct cycle *c)
{
	size_t best = 0, i, j;

	for (i = 1; i < c->n; i++)
		if (strcmp(g->classes[g->edges[c->edges[i]].from].name,
			   g->classes[g->edges[c->edges[best]].from].name) < 0)
			best = i;
	cycle_rotate_to(c, best);
	for (j = c->n; j > 0 && !closes_visibly(g, c, j - 1); j--)
		;
	if (j == 0 || j == c->n)
		return;
	cycle_rotate_to(c, j);
}

static size_t count_procs(const struct redge *cycle, size_t n)
{
	size_t i, k, procs = 0;

	for (i = 0; i < n; i++) {
		for (k = 0; k < i; k++)
			if (cycle[k].proc == cycle[i].proc)
				break;
		procs += k == i;
	}
	return procs;
}

static int add_merged(struct report *r, const struct cycle *c,
		      const char *kind, const char *fp)
{
	const struct mgraph *g = &r->graph;
	struct rfinding *f;
	size_t i;

	if (r->nfindings == r->capfindings) {
		size_t cap = r->capfindings ? r->capfindings * 2 : 8;

		f = realloc(r->findings, cap * sizeof(*f));
		if (!f)
			return -1;
		r->findings = f;
		r->capfindings = cap;
	}
	f = &r->findings[r->nfindings];
	memset(f, 0, sizeof(*f));
	f->cycle = calloc(c->n, sizeof(*f->cycle));
	if (!f->cycle)
		return -1;
	r->nfindings++;
	for (i = 0; i < c->n; i++) {
		f->cycle[i] = *g->edges[c->edges[i]].first[c->bits[i]];
		memcpy(f->cycle[i].type, type_names[c->bits[i]], 3);
	}
	f->ncycle = c->n;
	f->has_cycle = f->merged = true;
	f->kind = kind;
	f->title = kind_title(kind);
	memcpy(f->fp, fp, 17);
	f->count = 1;
	f->stack = *finding_site_stack(f);
	f->nprocs = count_procs(f->cycle, f->ncycle);
	return 0;
}

static int consider_cycle(struct report *r, struct cycle *c, struct strtab *seen)
{
	const char **names = malloc(c->n * sizeof(*names)), *kind;
	const struct redge **proof = malloc(c->n * sizeof(*proof));
	char fp[17];
	size_t i;

	if (!names || !proof) {
		free(names);
		free(proof);
		return -1;
	}
	for (i = 0; i < c->n; i++)
		r->graph.edges[c->edges[i]].explained = true;
	cycle_rotate(&r->graph, c);
	cycle_names(&r->graph, c, names);
	kind = cycle_kind(r, names, c->n);
	for (i = 0; i < c->n; i++)
		proof[i] = r->graph.edges[c->edges[i]].first[c->bits[i]];
	cycle_fingerprint(kind, NULL, proof, c->n, fp);
	free(names);
	free(proof);
	if (strtab_get(seen, fp, 16, NULL))
		return 0;
	if (strtab_put(seen, fp, 16, r->nfindings))
		return -1;
	if (single_process(&r->graph, c))
		return 0;
	return add_merged(r, c, kind, fp);
}

static int find_cycles(struct report *r, const size_t *comp, struct strtab *seen)
{
	const struct mgraph *g = &r->graph;
	struct bfs b = { .comp = comp };
	size_t ei, found = 0;
	struct cycle c = { .cap = 2 * g->nclasses + 2 };
	unsigned bit;
	int ret = 0;

	c.edges = malloc(c.cap * sizeof(*c.edges));
	c.bits = malloc(c.cap * sizeof(*c.bits));
	if (!bfs_alloc(&b, g->nclasses) || !c.edges || !c.bits) {
		bfs_free(&b);
		free(c.edges);
		free(c.bits);
		return -1;
	}
	for (ei = 0; ei < g->nedges && !ret && found < MAX_MERGED_FINDINGS &&
		     b.steps < SEARCH_BUDGET; ei++) {
		const struct medge *e = &g->edges[ei];

		/* an edge already on a cycle found is explained by it */
		if (e->explained || e->from == e->to || comp[e->from] != comp[e->to])
			continue;
		for (bit = 0; bit < 4 && !ret && !e->explained; bit++) {
			if (!(e->types & 1u << bit) || !shortest_cycle(g, &b, ei, bit, &c))
				continue;
			ret = consider_cycle(r, &c, seen);
			found = r->nfindings - r->ncarried;
		}
	}
	r->search_cut = b.steps >= SEARCH_BUDGET;
	bfs_free(&b);
	free(c.edges);
	free(c.bits);
	return ret;
}

/* Mark the graph edges of every finding's cycle, for the renderers. */
static void mark_cycle_edges(struct report *r)
{
	struct mgraph *g = &r->graph;
	size_t i, k, from, to, idx;

	for (i = 0; i < r->nfindings; i++) {
		for (k = 0; k < r->findings[i].ncycle; k++) {
			const struct redge *e = &r->findings[i].cycle[k];

			if (find_class(g, e->from, e->proc, &from) &&
			    find_class(g, e->to, e->proc, &to) && find_medge(g, from, to, &idx))
				g->edges[idx].on_cycle = g->edges[idx].explained = true;
		}
	}
}

int report_merge(struct report *r)
{
	struct strtab seen;
	size_t *comp = NULL;
	int ret = -1;

	strtab_init(&seen);
	if (dedup_findings(r, &seen) || build_graph(r))
		goto out;
	comp = scc_components(&r->graph);
	mark_cycle_edges(r);
	if (!comp || find_cycles(r, comp, &seen))
		goto out;
	mark_cycle_edges(r);
	ret = 0;
out:
	free(comp);
	strtab_free(&seen);
	return ret;
}
