/*
 * graph.c - the dependency graph and its cycle search.
 *
 * An edge A -> B records "B acquired while A held", with the set of types
 * seen: the holder was exclusive (E) or shared (S), the acquirer a recursive
 * reader (R) or not (N).  A deadlock is a closed *strong* path: one in which
 * no edge -(xR)-> (into a recursive reader) is followed by an edge -(Sx)->
 * (out of a shared holder), because a recursive reader never waits for
 * another reader.  The search is a breadth-first walk over (class, arrived by
 * -(xR)->) states, so the cycle found is the shortest one.
 *
 * The classes are also kept in a topological order (Pearce and Kelly's
 * dynamic algorithm): an edge that goes forward in the order cannot close a
 * cycle and needs no search at all; one that goes backward is checked only
 * over the classes between its two ends, and the order is repaired.  Once
 * the graph holds a cycle (a reported one, or one of recursive readers that
 * is no deadlock) there is no order to keep, and every new edge is searched.
 *
 * Everything here runs under graph_lock, and only for chains the chain cache
 * has not seen.
 */
#include <sched.h>
#include <string.h>

#include "runtime.h"

struct rt_lock graph_lock = RT_LOCK_INIT;

static struct edge **edge_hash;
static uint64_t edge_hash_size;
static size_t nedges, ndead; /* a dead edge has no types left */

struct bfs_node {
	struct lock_class *c;
	uint32_t parent; /* queue index, UINT32_MAX for the start */
	uint8_t recursive_in;
	struct edge *via;
};
static struct bfs_node *queue;
static size_t queue_cap;
static uint16_t bfs_gen;
static bool unordered; /* the graph has a cycle: no topological order */

/* Scratch of the order repair. */
static struct lock_class **fwd, **bwd, **walk;
static size_t fwd_n, bwd_n, fwd_cap, bwd_cap, walk_cap;
static uint32_t *ords;
static size_t ords_cap;

int edge_type(int holder_mode, int acquirer_mode)
{
	bool s = holder_mode != HM_EXCLUSIVE, r = acquirer_mode == HM_RECURSIVE;

	return s ? (r ? ET_SR : ET_SN) : (r ? ET_ER : ET_EN);
}

const char *edge_type_name(int type_bit)
{
	switch (type_bit) {
	case ET_ER:
		return "ER";
	case ET_EN:
		return "EN";
	case ET_SR:
		return "SR";
	default:
		return "SN";
	}
}

static inline uint64_t edge_key(const struct lock_class *a, const struct lock_class *b)
{
	return (((uint64_t)a->id << 32) | b->id) * 0x9e3779b97f4a7c15ull;
}

static struct edge *edge_find(struct lock_class *a, struct lock_class *b)
{
	if (!edge_hash_size)
		return NULL;
	for (struct edge *e = edge_hash[edge_key(a, b) & (edge_hash_size - 1)]; e; e = e->hnext)
		if (e->from == a && e->to == b)
			return e;
	return NULL;
}

static uint64_t edge_node_hash(const void *node)
{
	const struct edge *e = node;

	return edge_key(e->from, e->to);
}

static void edge_hash_grow(void)
{
	edge_hash = (struct edge **)table_grow((void **)edge_hash, &edge_hash_size, 4096,
					       offsetof(struct edge, hnext), edge_node_hash);
}

static struct edge *edge_new(struct lock_class *a, struct lock_class *b, int type,
			     uint32_t stack, const uint32_t *gates, uint16_t ngates, bool primed)
{
	if (nedges >= edge_hash_size)
		edge_hash_grow();
	if (!edge_hash_size)
		return NULL;
	struct edge *e = rt_alloc(sizeof(*e));
	if (!e)
		return NULL;
	e->from = a;
	e->to = b;
	e->stack = stack;
	e->type_stack[edge_type_index(type)] = stack;
	e->primed = primed;
	if (ngates) {
		e->gates = rt_alloc(ngates * sizeof(uint32_t));
		if (e->gates) {
			memcpy(e->gates, gates, ngates * sizeof(uint32_t));
			e->ngates = ngates;
		}
	}
	uint64_t k = edge_key(a, b) & (edge_hash_size - 1);
	e->hnext = edge_hash[k];
	edge_hash[k] = e;
	e->next_out = a->out;
	a->out = e;
	e->next_in = b->in;
	b->in = e;
	nedges++;
	return e;
}

/* Keep only the gates also held this time. */
static void gates_intersect(struct edge *e, const uint32_t *gates, uint16_t ngates)
{
	uint16_t n = 0;

	for (uint16_t i = 0; i < e->ngates; i++) {
		for (uint16_t j = 0; j < ngates; j++) {
			if (e->gates[i] == gates[j]) {
				e->gates[n++] = e->gates[i];
				break;
			}
		}
	}
	e->ngates = n;
}

static bool queue_reserve(size_t n)
{
	if (n <= queue_cap)
		return true;
	size_t cap = queue_cap ? queue_cap : 1024;
	while (cap < n)
		cap *= 2;
	struct bfs_node *q = rt_realloc_array(queue, queue_cap, cap, sizeof(*q));
	if (!q)
		return false;
	queue = q;
	queue_cap = cap;
	return true;
}

/* A new walk: marks of older walks no longer count (all cleared when the
 * 16-bit generation wraps). */
static void next_generation(void)
{
	if (++bfs_gen)
		return;
	uint32_t n = class_count();
	for (uint32_t i = 0; i < n; i++) {
		struct lock_class *c = class_get(i);
		if (c)
			c->bfs_mark[0] = c->bfs_mark[1] = 0;
	}
	bfs_gen = 1;
}

/* A state is visited; (c, not recursive) makes (c, recursive) redundant. */
static bool visit(struct lock_class *c, bool recursive_in)
{
	if (c->bfs_mark[0] == bfs_gen)
		return false;
	if (recursive_in && c->bfs_mark[1] == bfs_gen)
		return false;
	c->bfs_mark[recursive_in] = bfs_gen;
	return true;
}

/* Walk back from queue index i to the start, filling the cycle after the
 * closing edge prev -> next; a cycle too long to keep whole keeps its
 * first CYCLE_MAX edges, from the new one on. */
static void cycle_fill(struct cycle *cyc, uint32_t i, struct lock_class *prev,
		       struct lock_class *next, int type, uint32_t stack, bool primed)
{
	uint32_t len = 0, keep;

	for (uint32_t j = i; queue[j].parent != UINT32_MAX; j = queue[j].parent)
		len++;
	cyc->total = len + 1;
	keep = len < CYCLE_MAX - 1 ? len : CYCLE_MAX - 1;
	cyc->n = 0;
	cyc->e[cyc->n].from = prev;
	cyc->e[cyc->n].to = next;
	cyc->e[cyc->n].type = (uint8_t)type;
	cyc->e[cyc->n].primed = primed;
	cyc->e[cyc->n].stack = stack;
	cyc->n = 1 + keep;
	/* the walk goes from the end of the path back to its start */
	for (uint32_t pos = len; queue[i].parent != UINT32_MAX; i = queue[i].parent, pos--) {
		if (pos > keep)
			continue;
		struct bfs_node *q = &queue[i];
		struct edge *e = q->via;
		uint8_t t = e->types;
		/* name the type that let the walk through */
		int bit = (t & ET_EN) ? ET_EN : (t & ET_SN) ? ET_SN : (t & ET_ER) ? ET_ER : ET_SR;
		if (q->recursive_in)
			bit = (t & ET_ER) ? ET_ER : ET_SR;
		cyc->e[pos].from = e->from;
		cyc->e[pos].to = e->to;
		cyc->e[pos].type = (uint8_t)bit;
		cyc->e[pos].primed = e->primed;
		cyc->e[pos].stack = e->type_stack[edge_type_index(bit)];
	}
}

/* Is there a strong path next ->* prev that closes with prev -(type)-> next? */
static bool find_cycle(struct lock_class *prev, struct lock_class *next, int type,
		       uint32_t stack, bool primed, struct cycle *cyc)
{
	bool closing_from_shared = type & (ET_SR | ET_SN);
	size_t head = 0, tail = 0;

	if (!queue_reserve(2 * (size_t)class_count() + 2))
		return false;
	next_generation();
	bool r0 = type & (ET_ER | ET_SR);
	visit(next, r0);
	queue[tail++] = (struct bfs_node){ next, UINT32_MAX, r0, NULL };
	while (head < tail) {
		struct bfs_node cur = queue[head];
		uint32_t ci = (uint32_t)head++;
		if (cur.c == prev && !(cur.recursive_in && closing_from_shared)) {
			cycle_fill(cyc, ci, prev, next, type, stack, primed);
			return true;
		}
		for (struct edge *e = cur.c->out; e; e = e->next_out) {
			uint8_t ok = cur.recursive_in ? (e->types & (ET_ER | ET_EN)) : e->types;
			if (!ok)
				continue;
			bool rin = !(ok & (ET_EN | ET_SN));
			if (!visit(e->to, rin))
				continue;
			if (!queue_reserve(tail + 1))
				return false;
			queue[tail++] = (struct bfs_node){ e->to, ci, rin, e };
		}
	}
	return false;
}

/* True when one exclusive lock was held under every edge of the cycle. */
static bool cycle_gated(const struct cycle *cyc, const uint32_t *gates, uint16_t ngates)
{
	for (uint16_t g = 0; g < ngates; g++) {
		bool all = true;
		for (uint32_t i = 1; i < cyc->n && all; i++) {
			struct edge *e = edge_find(cyc->e[i].from, cyc->e[i].to);
			bool has = false;
			for (uint16_t j = 0; e && j < e->ngates; j++)
				has |= e->gates[j] == gates[g];
			all = has;
		}
		if (all)
			return true;
	}
	return false;
}

static bool grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return true;
	size_t n = *cap ? *cap : 256;
	while (n < need)
		n *= 2;
	void *q = rt_realloc_array(*p, *cap, n, elem);
	if (!q)
		return false;
	*p = q;
	*cap = n;
	return true;
}

static bool push(struct lock_class ***arr, size_t *n, size_t *cap, struct lock_class *c)
{
	if (!grow((void **)arr, cap, *n + 1, sizeof(**arr)))
		return false;
	(*arr)[(*n)++] = c;
	return true;
}

/*
 * The classes reachable from `from` whose order is at most `bound`, into
 * fwd (forward) or bwd (backward over in-edges, order at least `bound`).
 * Returns 1 when `target` is reached, -1 when memory ran out.
 */
static int order_walk(struct lock_class *from, uint32_t bound, struct lock_class *target,
		      bool forward)
{
	size_t sp = 0;

	if (!grow((void **)&walk, &walk_cap, 1, sizeof(*walk)))
		return -1;
	from->bfs_mark[0] = bfs_gen;
	walk[sp++] = from;
	while (sp) {
		struct lock_class *c = walk[--sp];
		if (!(forward ? push(&fwd, &fwd_n, &fwd_cap, c) : push(&bwd, &bwd_n, &bwd_cap, c)))
			return -1;
		for (struct edge *e = forward ? c->out : c->in; e;
		     e = forward ? e->next_out : e->next_in) {
			struct lock_class *w = forward ? e->to : e->from;
			if (w == target)
				return 1;
			if (!e->types || w->bfs_mark[0] == bfs_gen ||
			    (forward ? w->ord > bound : w->ord < bound))
				continue;
			w->bfs_mark[0] = bfs_gen;
			if (!grow((void **)&walk, &walk_cap, sp + 1, sizeof(*walk)))
				return -1;
			walk[sp++] = w;
		}
	}
	return 0;
}

static void sort_by_ord(struct lock_class **a, size_t n)
{
	for (size_t gap = n / 2; gap; gap /= 2)
		for (size_t i = gap; i < n; i++)
			for (size_t j = i; j >= gap && a[j - gap]->ord > a[j]->ord; j -= gap) {
				struct lock_class *t = a[j];
				a[j] = a[j - gap];
				a[j - gap] = t;
			}
}

static void sort_u32(uint32_t *a, size_t n)
{
	for (size_t gap = n / 2; gap; gap /= 2)
		for (size_t i = gap; i < n; i++)
			for (size_t j = i; j >= gap && a[j - gap] > a[j]; j -= gap) {
				uint32_t t = a[j];
				a[j] = a[j - gap];
				a[j - gap] = t;
			}
}

/*
 * The new edge prev -> next goes backward in the order.  Returns true when
 * it may close a cycle (next reaches prev); otherwise repairs the order:
 * what reaches prev moves before what next reaches, in the same slots.
 */
static bool order_repair(struct lock_class *prev, struct lock_class *next)
{
	fwd_n = bwd_n = 0;
	next_generation();
	int r = order_walk(next, prev->ord, prev, true);
	if (r)
		return true; /* a cycle, or no memory to tell: search */
	if (order_walk(prev, next->ord, NULL, false) < 0)
		return true;
	if (!grow((void **)&ords, &ords_cap, fwd_n + bwd_n, sizeof(*ords)))
		return true;
	sort_by_ord(bwd, bwd_n);
	sort_by_ord(fwd, fwd_n);
	size_t n = 0;
	for (size_t i = 0; i < bwd_n; i++)
		ords[n++] = bwd[i]->ord;
	for (size_t i = 0; i < fwd_n; i++)
		ords[n++] = fwd[i]->ord;
	sort_u32(ords, n);
	n = 0;
	for (size_t i = 0; i < bwd_n; i++)
		bwd[i]->ord = ords[n++];
	for (size_t i = 0; i < fwd_n; i++)
		fwd[i]->ord = ords[n++];
	return false;
}

/*
 * Does the cycle go through the edge that closed a cycle already reported?
 * Then it is the same mistake seen again (removing that edge breaks both),
 * as lockdep, which stops at its first report, would also have it.
 */
static bool cycle_repeats_report(const struct cycle *cyc)
{
	for (uint32_t i = 1; i < cyc->n; i++) {
		struct edge *e = edge_find(cyc->e[i].from, cyc->e[i].to);
		if (e && e->reported)
			return true;
	}
	return false;
}

/* Whether prev -> next of this type is in the graph already, so that
 * graph_add_edge() would keep no stack for it (graph_lock held). */
bool graph_edge_known(struct lock_class *prev, struct lock_class *next, int type)
{
	struct edge *e = edge_find(prev, next);

	return e && (e->types & type);
}

bool graph_add_edge(struct lock_class *prev, struct lock_class *next, int type,
		    uint32_t stack, const uint32_t *gates, uint16_t ngates, bool primed,
		    struct cycle *cyc)
{
	struct edge *e = edge_find(prev, next);

	if (e) {
		gates_intersect(e, gates, ngates);
		if (e->types & type)
			return false;
		if (!e->types)
			ndead--; /* a dead class taken again by a stale held entry */
		e->types |= (uint8_t)type;
		e->type_stack[edge_type_index(type)] = stack;
	} else {
		e = edge_new(prev, next, type, stack, gates, ngates, primed);
		if (!e)
			return false;
		e->types = (uint8_t)type;
	}
	if (!unordered && (prev->ord < next->ord || !order_repair(prev, next)))
		return false;
	/* next reaches prev: a cycle, perhaps not a strong one */
	unordered = true;
	if (!find_cycle(prev, next, type, stack, primed, cyc))
		return false;
	if (rt_opt.gate_locks && cycle_gated(cyc, gates, ngates))
		return false;
	if (cycle_repeats_report(cyc))
		return false;
	e->reported = true;
	return true;
}

size_t graph_edge_count(void)
{
	return nedges - ndead;
}

static void list_drop_dead(struct edge **pp, bool out)
{
	while (*pp) {
		struct edge *e = *pp;
		if (!e->types)
			*pp = out ? e->next_out : e->next_in;
		else
			pp = out ? &e->next_out : &e->next_in;
	}
}

/*
 * The classes whose lists hold dead edges: a dead class and the other end
 * of each of its edges.  Compaction walks these, not every class there
 * ever was (dead classes that had edges keep their records).  Without
 * memory for the list, every class is walked.
 */
static struct lock_class **compact_list;
static uint32_t ncompact, capcompact;
static bool compact_all;

static void compact_note(struct lock_class *c)
{
	if (c->compact || compact_all)
		return;
	if (ncompact == capcompact) {
		uint32_t cap = capcompact ? capcompact * 2 : 256;
		struct lock_class **n = rt_realloc_array(compact_list, capcompact, cap, sizeof(*n));
		if (!n) {
			compact_all = true;
			return;
		}
		compact_list = n;
		capcompact = cap;
	}
	c->compact = true;
	compact_list[ncompact++] = c;
}

/* Free the dead edges: out of the hash, then out of the lists that hold them. */
static void graph_compact(void)
{
	struct edge *dead = NULL;

	for (uint64_t i = 0; i < edge_hash_size; i++) {
		struct edge **pp = &edge_hash[i];
		while (*pp) {
			struct edge *e = *pp;
			if (e->types) {
				pp = &e->hnext;
				continue;
			}
			*pp = e->hnext;
			e->hnext = dead;
			dead = e;
		}
	}
	uint32_t n = compact_all ? class_count() : ncompact;
	for (uint32_t i = 0; i < n; i++) {
		struct lock_class *c = compact_all ? class_get(i) : compact_list[i];
		if (c) {
			list_drop_dead(&c->out, true);
			list_drop_dead(&c->in, false);
			c->compact = false;
		}
	}
	ncompact = 0;
	compact_all = false;
	while (dead) {
		struct edge *next = dead->hnext;
		rt_free(dead->gates, dead->ngates * sizeof(uint32_t));
		rt_free(dead, sizeof(*dead));
		dead = next;
		nedges--;
		ndead--;
	}
}

bool graph_class_unused(struct lock_class *c)
{
	rt_lock(&graph_lock);
	bool unused = !c->out && !c->in;
	if (unused)
		c->dead = true;
	rt_unlock(&graph_lock);
	return unused;
}

/*
 * Dead classes leave for good.  A class whose lock is gone (classes=
 * instance: freed or destroyed; a joined thread) has its edges dropped at
 * once, but its record stays until nothing can tell it from a class made
 * later at its address and with its id: chain keys hash class addresses
 * (the shared chain cache and each thread's own, hot.h), and edges keep
 * the ids of their gate locks.  So dead classes wait in quarantine; every
 * EVICT_BATCH deaths the dead edges are freed, the chain cache is emptied,
 * shared and per-thread, and the classes that died before the previous
 * emptying, now out of every cache twice over, are freed: record, id and
 * place in the topological order go to the next new class.  A class that
 * took an edge again since it died (a stale held entry), is still on a
 * thread's held stack, or is named by a thread's pending edges, context or
 * wait stays for the next round.  What one dead per-request lock costs is
 * thus bounded by the two batches in quarantine, not by the number that
 * ever died.
 *
 * Report writers read class records outside graph_lock (the graph part of
 * the JSON report, a finding's cycle): graph_readers_enter() keeps the
 * records in place until graph_readers_leave(); a round that finds a
 * reader frees nothing and tries again at the next batch.
 */
#define EVICT_BATCH 8192
static struct lock_class **quarantine[2]; /* [0] before the last emptying, [1] since */
static uint32_t nquarantine[2], capquarantine[2];
static _Atomic int graph_readers;
static _Atomic bool graph_evicting;

void graph_readers_enter(void)
{
	for (;;) {
		atomic_fetch_add(&graph_readers, 1);
		if (!atomic_load(&graph_evicting))
			return;
		atomic_fetch_sub(&graph_readers, 1);
		while (atomic_load(&graph_evicting))
			sched_yield();
	}
}

void graph_readers_leave(void)
{
	atomic_fetch_sub(&graph_readers, 1);
}

/* The child of fork(): the report writers of other threads are gone. */
void graph_fork_child(void)
{
	atomic_store(&graph_readers, 0);
	atomic_store(&graph_evicting, false);
}

static bool quarantine_add(int gen, struct lock_class *c)
{
	if (nquarantine[gen] == capquarantine[gen]) {
		uint32_t cap = capquarantine[gen] ? capquarantine[gen] * 2 : 1024;
		struct lock_class **n =
			rt_realloc_array(quarantine[gen], capquarantine[gen], cap, sizeof(*n));
		if (!n)
			return false; /* kept for good: a class too many is harmless */
		quarantine[gen] = n;
		capquarantine[gen] = cap;
	}
	quarantine[gen][nquarantine[gen]++] = c;
	return true;
}

/*
 * The classes the threads' states name (threads_lock held): held stacks,
 * pending edges, contexts, waits.  Pointers only, never followed: another
 * thread changes its state meanwhile, and a stale pointer only keeps a
 * dead class one more round.  Sorted, n_out of them, in runtime memory of
 * cap_out entries; NULL without memory.
 */
static uintptr_t *named_by_threads(size_t *n_out, size_t *cap_out)
{
	size_t n = 0, cap = 0;
	uintptr_t *a = NULL;

	for (struct rt_thread *t = threads_list; t; t = t->next) {
		if (t->dead)
			continue;
		const struct held *held = t->held;
		uint32_t depth = t->depth, hcap = t->cap, np = t->npending, nc = t->nctx;
		size_t need = n + (depth < hcap ? depth : hcap) + 2 * PENDING_EDGES + EVENT_CTX_MAX + 1;
		if (need > cap) {
			size_t nc2 = cap ? cap : 256;
			while (nc2 < need)
				nc2 *= 2;
			uintptr_t *b = rt_realloc_array(a, cap, nc2, sizeof(*a));
			if (!b) {
				rt_free(a, cap * sizeof(*a));
				return NULL;
			}
			a = b;
			cap = nc2;
		}
		for (uint32_t i = 0; i < depth && i < hcap; i++)
			a[n++] = (uintptr_t)held[i].cls;
		for (uint32_t i = 0; i < np && i < PENDING_EDGES; i++) {
			a[n++] = (uintptr_t)t->pending[i].to;
			a[n++] = (uintptr_t)t->pending[i].ctx;
		}
		for (uint32_t i = 0; i < nc && i < EVENT_CTX_MAX; i++)
			a[n++] = (uintptr_t)t->ctx[i];
		a[n++] = (uintptr_t)t->wait_cls;
	}
	for (size_t gap = n / 2; gap; gap /= 2)
		for (size_t i = gap; i < n; i++)
			for (size_t j = i; j >= gap && a[j - gap] > a[j]; j -= gap) {
				uintptr_t x = a[j];
				a[j] = a[j - gap];
				a[j - gap] = x;
			}
	*n_out = n;
	*cap_out = cap;
	return a ? a : rt_alloc(sizeof(*a)); /* no thread names any: an empty set */
}

static bool named_has(const uintptr_t *a, size_t n, const void *c)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a[mid] == (uintptr_t)c)
			return true;
		if (a[mid] < (uintptr_t)c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static void sort_u32(uint32_t *a, size_t n);

static bool sorted_has(const uint32_t *a, uint32_t n, uint32_t v)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (a[mid] == v)
			return true;
		if (a[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* The ids about to be reused leave every edge's gate list. */
static void gates_forget(uint32_t *ids, uint32_t n)
{
	sort_u32(ids, n);
	for (uint64_t i = 0; i < edge_hash_size; i++)
		for (struct edge *e = edge_hash[i]; e; e = e->hnext) {
			uint16_t k = 0;
			for (uint16_t j = 0; j < e->ngates; j++)
				if (!sorted_has(ids, n, e->gates[j]))
					e->gates[k++] = e->gates[j];
			e->ngates = k;
		}
}

static void graph_compact(void);

/* A round of eviction (graph_lock held). */
static void graph_evict(void)
{
	atomic_store(&graph_evicting, true);
	if (atomic_load(&graph_readers)) {
		atomic_store(&graph_evicting, false);
		return; /* a report is reading classes: the next batch tries again */
	}
	if (ndead)
		graph_compact();
	chain_flush();
	rt_lock(&threads_lock);
	for (struct rt_thread *t = threads_list; t; t = t->next)
		if (!t->dead)
			for (unsigned i = 0; i < CCACHE_SIZE; i++) {
				__atomic_store_n(&t->ccache[i], ccache_empty(i), __ATOMIC_RELAXED);
				__atomic_store_n(&t->ccache2[i], ccache_empty(i), __ATOMIC_RELAXED);
			}
	/* the older batch: out of every cache since the previous round */
	uint32_t nfree = 0, *ids = NULL;
	size_t nnamed = 0, capnamed = 0;
	uintptr_t *named = nquarantine[0] ? named_by_threads(&nnamed, &capnamed) : NULL;
	if (nquarantine[0] && named)
		ids = rt_alloc(nquarantine[0] * sizeof(*ids));
	for (uint32_t i = 0; i < nquarantine[0]; i++) {
		struct lock_class *c = quarantine[0][i];
		/* still in use: took an edge again (a stale held entry), or named */
		if (!ids || c->out || c->in || named_has(named, nnamed, c)) {
			quarantine_add(1, c); /* or kept for good, without memory */
			continue;
		}
		ids[nfree] = c->id;
		quarantine[0][nfree++] = c;
	}
	rt_unlock(&threads_lock);
	rt_free(named, (capnamed ? capnamed : 1) * sizeof(*named));
	if (nfree) {
		gates_forget(ids, nfree);
		for (uint32_t i = 0; i < nfree; i++) {
			sig_usage_forget(quarantine[0][i]);
			class_release(quarantine[0][i]);
		}
	}
	rt_free(ids, nquarantine[0] * sizeof(*ids));
	/* the newer batch waits for the next round */
	struct lock_class **q = quarantine[0];
	uint32_t cap = capquarantine[0];
	quarantine[0] = quarantine[1];
	nquarantine[0] = nquarantine[1];
	capquarantine[0] = capquarantine[1];
	quarantine[1] = q;
	nquarantine[1] = 0;
	capquarantine[1] = cap;
	atomic_store(&graph_evicting, false);
}

void graph_class_dead(struct lock_class *c)
{
	rt_lock(&graph_lock);
	c->dead = true;
	for (struct edge *e = c->out; e; e = e->next_out)
		if (e->types) {
			e->types = 0;
			ndead++;
			compact_note(e->to);
		}
	for (struct edge *e = c->in; e; e = e->next_in)
		if (e->types) {
			e->types = 0;
			ndead++;
			compact_note(e->from);
		}
	if (c->out || c->in)
		compact_note(c);
	if (ndead > 4096 && ndead * 2 > nedges)
		graph_compact();
	if (quarantine_add(1, c) && nquarantine[1] >= EVICT_BATCH)
		graph_evict();
	rt_unlock(&graph_lock);
}

void graph_for_each_edge(void (*fn)(struct edge *, void *), void *arg)
{
	uint32_t n = class_count();

	for (uint32_t i = 0; i < n; i++) {
		struct lock_class *c = class_get(i);
		for (struct edge *e = c ? c->out : NULL; e; e = e->next_out)
			fn(e, arg);
	}
}
