/*
 * event.c - waits and events: cross-release for user-space waits.
 *
 * An event is what one thread blocks for and another makes happen: a
 * condition variable signalled, a semaphore posted, a thread's exit, a
 * barrier's last arrival, a once routine's return, or a program's own event
 * (fdep_event_*).  Each has a class, like a lock (fencedep(7), "Waits and
 * events"):
 *
 *   wait     blocking for event E while holding H records H -> E, as a
 *            fence wait does (rt_check_wait: an exclusive acquire of E's
 *            class with nothing pushed, and no gate locks);
 *   signal   E -> L for every L the signalling thread holds (rt_check_signal)
 *            and for every L it acquires inside E's context.
 *
 * A context is a stretch of a thread during which everything it acquires
 * leads to the event: a thread's whole life for its exit, a barrier's
 * phases for the barrier, the init routine for a once.  The first two are
 * virtual entries under the bottom of the held stack (t->ctx), folded into
 * t->seed, the chain key of the empty stack: so a chain seen in one context
 * is new in another, and the chain cache, which every acquisition already
 * consults, is what sends the first acquisition of each lock in a context to
 * validate_chain (held.c), which adds the edge from the context.  A once
 * routine's context is a real held entry (waits.c), as a fence's signalling
 * path is.
 *
 * For condition variables, semaphores and user events the context is what
 * the signaller holds when it signals (the rule measured in fencedep(7)).
 *
 * A semaphore the same thread waits for and then posts is a lock, not an
 * event (a binary semaphore used as a mutex), and a condition variable can
 * make a lock too (lock: wait while taken; unlock: broadcast): a signal
 * leaves out the locks the thread held already at its own last wait for
 * the same object, which are outside it, not needed for the signal.  And
 * a signal's edges go to locks that are one lock (an instance class): the
 * signaller holding one lock of a class that stands for many does not keep
 * a waiter that holds another one out.
 */
#include "runtime.h"

static void held_rekey(struct rt_thread *t, uint64_t old_seed);

struct lock_class *event_class(struct rt_thread *t, const void *obj, int itype, uintptr_t site)
{
	struct instance *in = instance_get(t, obj, itype, site);

	if (!in)
		return NULL;
	/* an object first seen as something else (memory reused without a
	 * destroy) is this kind of event now */
	if (in->cls && class_kind_is_event(in->cls->kind))
		return in->cls;
	if (in->type != itype || !in->cls) {
		static const uint8_t kinds[] = {
			[IT_COND] = CK_COND, [IT_SEM] = CK_SEM, [IT_BARRIER] = CK_BARRIER,
			[IT_ONCE] = CK_ONCE, [IT_EVENT] = CK_EVENT,
		};
		int kind = itype < (int)sizeof(kinds) && kinds[itype] ? kinds[itype] : CK_EVENT;
		in->type = (uint8_t)itype;
		in->cls = class_for_instance(obj, site, kind, false, in->in_static, false);
	}
	return in->cls;
}

struct lock_class *event_thread_class(const void *key, uintptr_t site)
{
	if (!site)
		return NULL;
	bool by_site = rt_opt.classes == CLASSES_SITE;
	return class_for_instance(by_site ? NULL : key, site, CK_THREAD, by_site, false, false);
}

void event_thread_gone(struct lock_class *c)
{
	/* a site's class outlives its threads */
	if (!c || c->named || !c->addr)
		return;
	if (graph_class_unused(c))
		class_release(c);
	else
		graph_class_dead(c);
}

void event_context_leave_all(struct rt_thread *t)
{
	t->nctx = 0;
	t->ctx_deferred = 0;
	t->npending = 0;
	uint64_t old = t->seed;
	t->seed = 0;
	held_rekey(t, old);
}

void event_wait(struct rt_thread *t, struct lock_class *e, uintptr_t ip)
{
	if (!e || (!t->depth && !t->nctx))
		return;
	rt_blocking_allowed(t, "a wait for an event while a spinning lock is held", ip);
	rt_check_wait(t, e, ip);
}

/*
 * A thread that signals E holding C and later waits for E holding C (a
 * handshake in which it both posts work and waits for its completion under
 * one outer lock) does not wait for its own signal: the wait adds no edge.
 * Holding nothing, its wait's edges come from its contexts (a barrier's
 * phase, a signal window): after its own signal of E in the same contexts
 * (a thread that posts its own semaphore between two barrier arrivals and
 * then waits for it), the same.  The mirror of event_signal_skip; a miss at
 * worst (another signaller that needs C, or another waiter that took the
 * post), never a false cycle.  Its last signal of E is in the ring of its
 * last SIGNAL_RING signals, or it is too old to count.
 */
bool event_wait_own(const struct rt_thread *t, const void *obj)
{
	if (t->depth > SIGHOLD_DEPTH)
		return false;
	for (uint32_t n = 0; n < SIGNAL_RING && n < t->nsignals; n++) {
		uint32_t i = (t->nsignals - 1 - n) % SIGNAL_RING;
		if (t->signals[i].obj != obj)
			continue;
		uint32_t d = t->signals[i].depth;
		if (d == SIGNAL_BARE)
			return false;
		if (!t->depth)
			return t->nctx && t->signals[i].seed == t->seed;
		if (d < t->depth)
			return false;
		for (d = 0; d < t->depth; d++)
			if (t->signals[i].cls[d] != t->held[d].cls)
				return false;
		return true;
	}
	return false;
}

void event_own_consumed(struct rt_thread *t, const void *obj)
{
	for (uint32_t n = 0; n < SIGNAL_RING && n < t->nsignals; n++) {
		uint32_t i = (t->nsignals - 1 - n) % SIGNAL_RING;
		if (t->signals[i].obj == obj) {
			t->signals[i].depth = SIGNAL_BARE;
			return;
		}
	}
}

void event_signal(struct rt_thread *t, struct lock_class *e, const void *obj, uint32_t skip,
		  uintptr_t ip)
{
	event_note_held(t, obj, ip, event_signal_time());
	if (!e || t->depth <= skip)
		return;
	rt_check_signal(t, e, skip, ip);
}

/*
 * The chain keys of the held stack again, from a new seed: the key of the
 * empty stack is the signal context's base (preload/signal.c) mixed with
 * the seed, so the base is what the old seed leaves of it.  Contexts change
 * outside signal handlers (thread start and end, barrier arrivals).
 */
static void held_rekey(struct rt_thread *t, uint64_t old_seed)
{
	uint64_t key = t->held[-1].key ^ old_seed ^ t->seed;

	t->held[-1].key = key;
	for (uint32_t i = 0; i < t->depth; i++) {
		struct held *h = &t->held[i];
		if (!(h->flags & HF_MERGED))
			key = chain_step(key, h->cls, h->mode, h->flags);
		h->key = key;
	}
}

void event_context_enter(struct rt_thread *t, struct lock_class *e, bool deferred)
{
	if (!e || t->nctx == EVENT_CTX_MAX)
		return;
	for (uint32_t i = 0; i < t->nctx; i++)
		if (t->ctx[i] == e)
			return;
	if (deferred)
		t->ctx_deferred |= 1u << t->nctx;
	t->ctx[t->nctx++] = e;
	/* as if e were held for reading, as a trylock, under the stack */
	uint64_t old = t->seed;
	t->seed = chain_step(old ? old : 0x6576656e74ull, e, HM_RECURSIVE, HF_TRY);
	held_rekey(t, old);
}

void event_context_defer(struct rt_thread *t, struct lock_class *ctx, struct lock_class *to,
			 int type, uint32_t stack)
{
	/* a thread's class goes when it is joined, perhaps before the commit */
	if (to->kind == CK_THREAD)
		return;
	for (uint32_t i = 0; i < t->npending; i++) {
		if (t->pending[i].ctx == ctx && t->pending[i].to == to) {
			t->pending[i].type |= (uint8_t)type;
			return;
		}
	}
	if (t->npending == PENDING_EDGES)
		return; /* lost: a miss, never a false report */
	t->pending[t->npending].ctx = ctx;
	t->pending[t->npending].to = to;
	t->pending[t->npending].id = to->id;
	t->pending[t->npending].stack = stack;
	t->pending[t->npending++].type = (uint8_t)type;
}

/* The next event of a deferred context: its edges kept back go in. */
void event_context_commit(struct rt_thread *t, struct lock_class *e)
{
	struct cycle cyc, spare;
	uint32_t stack = 0, n = 0;
	bool found = false;

	if (!t->npending)
		return;
	bool window = e->kind == CK_COND || e->kind == CK_SEM || e->kind == CK_EVENT;
	rt_lock(&graph_lock);
	for (uint32_t i = 0; i < t->npending; i++) {
		if (t->pending[i].ctx != e) {
			t->pending[n++] = t->pending[i];
			continue;
		}
		/* a lock freed since is out of the graph: so is its edge */
		if (class_get(t->pending[i].id) != t->pending[i].to || t->pending[i].to->dead)
			continue;
		/* a signal window's edges go to one-lock classes only, as a
		 * signal's do (rt_check_signal) */
		if (window && (t->pending[i].to->named || !t->pending[i].to->addr))
			continue;
		for (uint8_t bit = 1; bit <= ET_SN; bit <<= 1) {
			if (!(t->pending[i].type & bit))
				continue;
			if (graph_add_edge(e, t->pending[i].to, bit, t->pending[i].stack, NULL, 0,
					   false, found ? &spare : &cyc)) {
				if (!found)
					stack = t->pending[i].stack;
				found = true;
			}
		}
	}
	t->npending = n;
	rt_unlock(&graph_lock);
	if (found)
		rt_report_cycle(t, &cyc, stack);
}

/*
 * The chain key of the bottom d held entries without the contexts' seed:
 * what a signal compares with its own wait's, whatever windows opened or
 * closed in between (which rekey the stack).
 */
static uint64_t held_key_unseeded(const struct rt_thread *t, uint32_t d)
{
	uint64_t key = t->held[-1].key ^ t->seed;

	for (uint32_t i = 0; i < d && i < t->depth; i++)
		if (!(t->held[i].flags & HF_MERGED))
			key = chain_step(key, t->held[i].cls, t->held[i].mode, t->held[i].flags);
	return key;
}

void event_waited(struct rt_thread *t, const void *obj, bool counted)
{
	uint32_t i = t->nwaithold;

	for (uint32_t j = 0; !counted && j < t->nwaithold; j++)
		if (t->waithold[j].obj == obj)
			i = j;
	if (i == WAITHOLD_MAX) {
		/* the oldest goes: a signal of it counts in full */
		for (uint32_t j = 1; j < WAITHOLD_MAX; j++)
			t->waithold[j - 1] = t->waithold[j];
		i--;
	}
	t->waithold[i].obj = obj;
	t->waithold[i].depth = t->depth;
	t->waithold[i].key = held_key_unseeded(t, t->depth);
	if (i == t->nwaithold)
		t->nwaithold = i + 1;
}

/*
 * A signal of obj by this thread: how many bottom held entries it leaves
 * out.  After the thread's own wait for obj, the locks held then, still
 * held the same (the chain key at that depth unchanged), were taken before
 * the event's resource was, as a lock's are: its release does not need
 * them.
 */
uint32_t event_signal_skip(struct rt_thread *t, const void *obj, bool consume)
{
	for (uint32_t i = t->nwaithold; i-- > 0;) {
		if (t->waithold[i].obj != obj)
			continue;
		uint32_t d = t->waithold[i].depth;
		bool same = d <= t->depth && held_key_unseeded(t, d) == t->waithold[i].key;
		if (consume) {
			for (uint32_t j = i + 1; j < t->nwaithold; j++)
				t->waithold[j - 1] = t->waithold[j];
			t->nwaithold--;
		}
		return same ? d : 0;
	}
	return 0;
}

/*
 * threads_lock held by the caller (a dump).  Each thread's latest signal of
 * obj, and of those the latest by the clock; *ns is 0 when the signals were
 * not timed (no watchdog), and the first thread that signalled it lately is
 * named.
 */
bool event_last_signal(const void *obj, pid_t *tid, uintptr_t *ip, uint64_t *ns)
{
	bool found = false;

	if (!obj)
		return false;
	for (struct rt_thread *t = threads_list; t; t = t->next) {
		uint32_t n = t->nsignals;
		for (uint32_t k = 0; k < SIGNAL_RING && k < n; k++) {
			uint32_t i = (n - 1 - k) % SIGNAL_RING;
			if (t->signals[i].obj != obj)
				continue;
			if (!found || t->signals[i].ns > *ns) {
				*tid = t->tid;
				*ip = t->signals[i].ip;
				*ns = t->signals[i].ns;
				found = true;
			}
			break;
		}
	}
	return found;
}

/* ---- signal windows (signal_context=wait|window) ---- */

static int context_index(const struct rt_thread *t, const struct lock_class *e)
{
	for (uint32_t i = 0; i < t->nctx; i++)
		if (t->ctx[i] == e)
			return (int)i;
	return -1;
}

static void context_drop_pending(struct rt_thread *t, const struct lock_class *e)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < t->npending; i++)
		if (t->pending[i].ctx != e)
			t->pending[n++] = t->pending[i];
	t->npending = n;
}

/* e's context ends here, and what it kept back is dropped. */
void event_context_leave(struct rt_thread *t, struct lock_class *e)
{
	int k = context_index(t, e);

	if (k < 0)
		return;
	context_drop_pending(t, e);
	uint32_t low = t->ctx_deferred & ((1u << k) - 1);
	uint32_t high = (t->ctx_deferred >> (k + 1)) << k;
	t->ctx_deferred = low | high;
	for (uint32_t i = (uint32_t)k + 1; i < t->nctx; i++)
		t->ctx[i - 1] = t->ctx[i];
	t->nctx--;
	/* the seed again, folded over the contexts left in the same order */
	uint64_t old = t->seed, seed = 0;
	for (uint32_t i = 0; i < t->nctx; i++)
		seed = chain_step(seed ? seed : 0x6576656e74ull, t->ctx[i], HM_RECURSIVE, HF_TRY);
	t->seed = seed;
	held_rekey(t, old);
}

/*
 * The window of a signal: from this thread's own wait for obj (wait,
 * window) or its own previous signal of it (window) to its next signal of
 * it.  Everything it acquires with nothing else held in between is kept
 * back as obj -> L (validate_chain, deferred like a barrier's phase), and
 * goes into the graph only if the same thread then signals obj: a window
 * that ends in a wait for obj again starts over, empty.
 */
void event_window_open(struct rt_thread *t, const void *obj, int itype, uintptr_t ip)
{
	if (likely(rt_opt.signal_context == SIGCTX_HELD) || t->sig_in)
		return;
	struct lock_class *e = event_class(t, obj, itype, ip);
	if (!e)
		return;
	if (context_index(t, e) >= 0) {
		context_drop_pending(t, e);
		return;
	}
	/* full: the oldest window goes (a miss, never a false edge) */
	for (uint32_t i = 0; t->nctx == EVENT_CTX_MAX && i < t->nctx; i++) {
		uint8_t k = t->ctx[i]->kind;
		if (k == CK_COND || k == CK_SEM || k == CK_EVENT)
			event_context_leave(t, t->ctx[i]);
	}
	event_context_enter(t, e, true);
}

void event_window_signal(struct rt_thread *t, const void *obj, int itype, uintptr_t ip)
{
	if (likely(rt_opt.signal_context == SIGCTX_HELD) || t->sig_in)
		return;
	struct lock_class *e = t->nctx ? event_class(t, obj, itype, ip) : NULL;
	if (e && context_index(t, e) >= 0) {
		event_context_commit(t, e);
		if (rt_opt.signal_context == SIGCTX_WAIT)
			event_context_leave(t, e);
		return;
	}
	if (rt_opt.signal_context == SIGCTX_WINDOW)
		event_window_open(t, obj, itype, ip);
}
