/*
 * sigusage.c - lockdep's usage bits, for signals (fencedep(7), "Signal
 * handlers").
 *
 * A class is IN-S when it was taken in a handler for signal S, and S-ON
 * when it was taken, or held while another lock was taken, with S
 * deliverable (a handler installed and S not blocked in the thread).  Both
 * on one class is lockdep's "inconsistent lock state": S arriving while
 * the lock is held runs a handler that waits for it on the thread that
 * holds it.  An IN-S class from which an S-ON class can be reached in the
 * graph is the same bug one step removed: the handler's lock is held while
 * the other one is awaited, and the other one's holder is interrupted by S.
 *
 * The bits are set where chains are validated (held.c), which a chain key
 * that starts from the signal context (preload/signal.c) makes happen once
 * per context; they change under graph_lock.
 */
#include <string.h>

#include "runtime.h"

_Atomic uint64_t sig_in_any;
static _Atomic uint64_t sig_on_any;

/*
 * The bits of a class, kept aside (a class record has no room to spare):
 * signals in whose handler it was taken, signals deliverable while it was
 * taken or held, and where each bit was first set.  Found by the class's
 * address and id (an id is never reused).
 */
struct usage {
	const struct lock_class *c;
	uint32_t id;
	uint64_t in, on;
	uint32_t stacks[128];
	struct usage *next;
};
#define USAGE_BUCKETS 1024
static struct usage *usage_table[USAGE_BUCKETS];

static struct usage *usage_of(const struct lock_class *c, bool create)
{
	struct usage **b = &usage_table[((uintptr_t)c >> 4) % USAGE_BUCKETS];

	for (struct usage *u = *b; u; u = u->next)
		if (u->c == c && u->id == c->id)
			return u;
	if (!create)
		return NULL;
	struct usage *u = rt_alloc(sizeof(*u));
	if (!u)
		return NULL;
	u->c = c;
	u->id = c->id;
	u->next = *b;
	*b = u;
	return u;
}

void sig_usage_forget(const struct lock_class *c)
{
	struct usage **b = &usage_table[((uintptr_t)c >> 4) % USAGE_BUCKETS];

	for (struct usage *u; (u = *b); b = &u->next)
		if (u->c == c && u->id == c->id) {
			*b = u->next;
			rt_free(u, sizeof(*u));
			return;
		}
}

static uint64_t bits_in(const struct lock_class *c)
{
	struct usage *u = usage_of(c, false);

	return u ? u->in : 0;
}

static uint64_t bits_on(const struct lock_class *c)
{
	struct usage *u = usage_of(c, false);

	return u ? u->on : 0;
}

static uint32_t stack_of(const struct lock_class *c, bool in, int sig)
{
	struct usage *u = usage_of(c, false);

	return u ? u->stacks[(in ? 0 : 64) + sig - 1] : 0;
}

/* The breadth-first walks below visit at most this many classes. */
#define WALK_MAX 4096
static struct walk_node {
	struct lock_class *c;
	struct edge *via;  /* the edge it was reached by */
	int32_t parent;
} walk_q[WALK_MAX];
static struct {
	struct lock_class *c;
	uint32_t gen;
} walk_seen[WALK_MAX * 2];
static uint32_t walk_gen;

static bool seen_add(struct lock_class *c)
{
	uint32_t i = (uint32_t)(((uintptr_t)c >> 3) * 0x9e3779b1u) & (WALK_MAX * 2 - 1);

	while (walk_seen[i].gen == walk_gen) {
		if (walk_seen[i].c == c)
			return false;
		i = (i + 1) & (WALK_MAX * 2 - 1);
	}
	walk_seen[i].c = c;
	walk_seen[i].gen = walk_gen;
	return true;
}

/*
 * From c (itself included), forward over out-edges or backward over
 * in-edges: the nearest class with a bit of `mask` in sig_in (want_in) or
 * sig_on.  Its path from c is left in walk_q; *end is its index there.
 */
static struct lock_class *walk(struct lock_class *c, bool forward, uint64_t mask, bool want_in,
			       int32_t *end, uint64_t *union_out)
{
	uint32_t head = 0, tail = 0;

	if (++walk_gen == 0)
		walk_gen = 1, memset(walk_seen, 0, sizeof(walk_seen));
	seen_add(c);
	walk_q[tail++] = (struct walk_node){ c, NULL, -1 };
	while (head < tail) {
		struct walk_node *n = &walk_q[head];
		uint64_t bits = want_in ? bits_in(n->c) : bits_on(n->c);
		if (union_out)
			*union_out |= bits;
		if ((bits & mask) && !union_out) {
			*end = (int32_t)head;
			return n->c;
		}
		for (struct edge *e = forward ? n->c->out : n->c->in; e;
		     e = forward ? e->next_out : e->next_in) {
			struct lock_class *w = forward ? e->to : e->from;
			if (!e->types || w->dead || tail == WALK_MAX || !seen_add(w))
				continue;
			walk_q[tail++] = (struct walk_node){ w, e, (int32_t)head };
		}
		head++;
	}
	return NULL;
}

/* The path walk() found, as edges from its start outwards. */
static uint32_t walk_path(int32_t end, struct edge **out, uint32_t max)
{
	uint32_t n = 0;

	for (int32_t i = end; i >= 0 && walk_q[i].via; i = walk_q[i].parent)
		n++;
	uint32_t k = n;
	for (int32_t i = end; i >= 0 && walk_q[i].via; i = walk_q[i].parent)
		if (--k < max)
			out[k] = walk_q[i].via;
	return n < max ? n : max;
}

static int lowest_sig(uint64_t bits)
{
	return __builtin_ctzll(bits) + 1;
}

static void finding_direct(struct lock_class *c, uint64_t bits, struct sig_finding *out)
{
	int sig = lowest_sig(bits);

	if (out->found)
		return;
	out->found = true;
	out->indirect = false;
	out->sig = sig;
	out->in_cls = out->on_cls = c;
	out->in_stack = stack_of(c, true, sig);
	out->on_stack = stack_of(c, false, sig);
	out->path_stack = 0;
	out->path.n = out->path.total = 0;
}

/* A path in -> ... -> on (edges, in order) proves the indirect case. */
static void finding_path(struct lock_class *in, struct lock_class *on, int sig,
			 struct edge *const *edges, uint32_t n, struct sig_finding *out)
{
	if (out->found)
		return;
	out->found = true;
	out->indirect = true;
	out->sig = sig;
	out->in_cls = in;
	out->on_cls = on;
	out->in_stack = stack_of(in, true, sig);
	out->on_stack = stack_of(on, false, sig);
	out->path_stack = n ? edges[0]->stack : 0;
	out->path.n = out->path.total = 0;
	for (uint32_t i = 0; i < n && i < CYCLE_MAX; i++) {
		out->path.e[i].from = edges[i]->from;
		out->path.e[i].to = edges[i]->to;
		out->path.e[i].type = edges[i]->types;
		out->path.e[i].primed = edges[i]->primed;
		out->path.e[i].stack = edges[i]->stack;
		out->path.n++;
	}
	out->path.total = n;
}

/* An S-safe class reaches an S-unsafe one: from -> to is on the way, or
 * c is either end (from == to == c). */
static void check_through(struct lock_class *from, struct lock_class *to, uint64_t mask,
			  struct sig_finding *out)
{
	uint64_t in_bits = 0;
	int32_t end;
	struct edge *back[CYCLE_MAX], *fwd[CYCLE_MAX], *all[CYCLE_MAX];

	if (out->found)
		return;
	walk(from, false, ~0ull, true, &end, &in_bits);
	in_bits &= mask;
	if (!in_bits)
		return;
	struct lock_class *on = walk(to, true, in_bits, false, &end, NULL);
	if (!on)
		return;
	int sig = lowest_sig(bits_on(on) & in_bits);
	uint32_t nf = walk_path(end, fwd, CYCLE_MAX);
	struct lock_class *in = walk(from, false, SIG_BIT(sig), true, &end, NULL);
	if (!in)
		return;
	uint32_t nb = walk_path(end, back, CYCLE_MAX);
	/* back[] runs from `from` towards `in`: reversed, it leads to from */
	uint32_t n = 0;
	for (uint32_t i = nb; i-- > 0 && n < CYCLE_MAX;)
		all[n++] = back[i];
	if (from != to && n < CYCLE_MAX) {
		for (struct edge *e = from->out; e; e = e->next_out)
			if (e->to == to && e->types) {
				all[n++] = e;
				break;
			}
	}
	for (uint32_t i = 0; i < nf && n < CYCLE_MAX; i++)
		all[n++] = fwd[i];
	if (in == on)
		finding_direct(in, SIG_BIT(sig), out);
	else
		finding_path(in, on, sig, all, n, out);
}

/* Set usage bits on c; a new bit is checked against the other kind. */
static void mark(struct lock_class *c, uint64_t in, uint64_t on, uint32_t stack,
		 struct sig_finding *out)
{
	struct usage *u = usage_of(c, true);

	if (!u)
		return;
	uint64_t new_in = in & ~u->in, new_on = on & ~u->on;
	if (!(new_in | new_on))
		return;
	for (uint64_t b = new_in; b; b &= b - 1)
		u->stacks[__builtin_ctzll(b)] = stack;
	for (uint64_t b = new_on; b; b &= b - 1)
		u->stacks[64 + __builtin_ctzll(b)] = stack;
	u->in |= new_in;
	u->on |= new_on;
	if (new_in)
		atomic_fetch_or(&sig_in_any, new_in);
	if (new_on)
		atomic_fetch_or(&sig_on_any, new_on);
	uint64_t both = u->in & u->on & (new_in | new_on);
	if (both) {
		finding_direct(c, both, out);
		return;
	}
	if (new_in & atomic_load(&sig_on_any))
		check_through(c, c, new_in, out);
	if (new_on & atomic_load(&sig_in_any))
		check_through(c, c, new_on, out);
}

/* Whether a class's usage has the bits already: mark() would keep no stack. */
static bool known(const struct lock_class *c, uint64_t in, uint64_t on)
{
	const struct usage *u = usage_of(c, false);

	return u && !(in & ~u->in) && !(on & ~u->on);
}

/* Whether sig_usage_acquire(t, c, ...) would keep no stack (graph_lock held). */
bool sig_usage_acquire_known(const struct rt_thread *t, const struct lock_class *c)
{
	uint64_t in = t->sig_in ? SIG_BIT(t->sig_in) : 0;
	uint64_t on = t->sig_deliv;

	if (!(in | on) || c->kind == CK_RECLAIM || c->kind == CK_FENCE ||
	    c->kind == CK_MMU_NOTIFIER)
		return true;
	if (!known(c, in, on))
		return false;
	for (uint32_t i = t->sig_floor; on && i < t->depth; i++) {
		const struct held *h = &t->held[i];
		if (!(h->flags & (HF_PATH | HF_SECTION | HF_RECLAIM | HF_WWCTX)) &&
		    !known(h->cls, 0, on))
			return false;
	}
	return true;
}

void sig_usage_acquire(struct rt_thread *t, struct lock_class *c, uint32_t stack,
		       struct sig_finding *out)
{
	uint64_t in = t->sig_in ? SIG_BIT(t->sig_in) : 0;
	uint64_t on = t->sig_deliv;

	if (!(in | on))
		return;
	if (c->kind == CK_RECLAIM || c->kind == CK_FENCE || c->kind == CK_MMU_NOTIFIER)
		return;
	mark(c, in, on, stack, out);
	for (uint32_t i = t->sig_floor; on && i < t->depth; i++) {
		struct held *h = &t->held[i];
		if (!(h->flags & (HF_PATH | HF_SECTION | HF_RECLAIM | HF_WWCTX)))
			mark(h->cls, 0, on, stack, out);
	}
}

void sig_usage_edge(struct lock_class *from, struct lock_class *to, struct sig_finding *out)
{
	uint64_t in_any = atomic_load_explicit(&sig_in_any, memory_order_relaxed);

	if (!in_any || !(atomic_load_explicit(&sig_on_any, memory_order_relaxed) & in_any))
		return;
	check_through(from, to, in_any, out);
}

void sig_usage_held(struct rt_thread *t, uint64_t newly, uintptr_t ip)
{
	struct sig_finding sf = { 0 };
	uint32_t stack = 0;

	for (uint32_t i = t->sig_floor; i < t->depth; i++) {
		struct held *h = &t->held[i];
		if (h->flags & (HF_PATH | HF_SECTION | HF_RECLAIM | HF_WWCTX))
			continue;
		rt_lock(&graph_lock);
		uint64_t on = bits_on(h->cls);
		rt_unlock(&graph_lock);
		if (!(newly & ~on))
			continue;
		if (!stack)
			stack = stack_capture(ip ? ip : h->ip);
		rt_lock(&graph_lock);
		mark(h->cls, 0, newly, stack, &sf);
		rt_unlock(&graph_lock);
	}
	if (sf.found)
		sig_report(t, &sf);
}

/* Strings that live as long as the process, one set per signal. */
struct sig_text {
	const char *title_direct, *title_indirect, *in_label, *on_label, *path_label;
};

static const char *text_make(int sig, const char *a, const char *b, const char *c)
{
	char buf[200];
	const char *abbrev = sigabbrev_np(sig);
	size_t n = name_cat(buf, sizeof(buf), 0, a);

	n = name_cat(buf, sizeof(buf), n, "SIG");
	n = name_cat(buf, sizeof(buf), n, abbrev ? abbrev : "?");
	n = name_cat(buf, sizeof(buf), n, b);
	if (c) {
		n = name_cat(buf, sizeof(buf), n, "SIG");
		n = name_cat(buf, sizeof(buf), n, abbrev ? abbrev : "?");
		name_cat(buf, sizeof(buf), n, c);
	}
	const char *s = rt_strdup(buf);
	return s ? s : "signal-unsafe lock";
}

static const struct sig_text *sig_text(int sig)
{
	static struct sig_text texts[65];
	static struct rt_lock lock = RT_LOCK_INIT;
	struct sig_text *x = &texts[sig];

	rt_lock(&lock);
	if (!x->title_direct) {
		x->title_indirect = text_make(sig, "inconsistent lock state: a lock taken in a ",
					      " handler is held while taking one taken with ",
					      " deliverable");
		x->in_label = text_make(sig, "taken in a handler for ", " (IN-", ")");
		x->on_label = text_make(sig, "taken or held with ", " deliverable (", "-ON)");
		x->path_label = text_make(sig, "the handler's lock held while taking the other (", ")",
					  NULL);
		x->title_direct = text_make(sig, "inconsistent lock state: taken in a ",
					    " handler and with ", " deliverable");
	}
	rt_unlock(&lock);
	return x;
}

void sig_report(struct rt_thread *t, const struct sig_finding *sf)
{
	const struct sig_text *x = sig_text(sf->sig);
	struct finding_in f = {
		.kind = FK_SIGNAL_UNSAFE_LOCK,
		.title = sf->indirect ? x->title_indirect : x->title_direct,
		.detail = sf->indirect
				  ? "the lock a handler takes is held while another is taken, and that one "
				    "is taken elsewhere where the signal can arrive"
				  : "a lock a handler takes is also taken where the signal can arrive",
		.subject = { sf->in_cls, sf->indirect ? sf->on_cls : NULL },
		.sig = sf->sig,
		.stack = sf->on_stack ? sf->on_stack : sf->in_stack,
	};

	f.notes[f.nnotes++] = (typeof(f.notes[0])){ x->in_label, sf->in_stack };
	f.notes[f.nnotes++] = (typeof(f.notes[0])){ x->on_label, sf->on_stack };
	if (sf->indirect && sf->path_stack)
		f.notes[f.nnotes++] = (typeof(f.notes[0])){ x->path_label, sf->path_stack };
	report_finding(t, &f);
}
