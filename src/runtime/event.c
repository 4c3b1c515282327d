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
#include <time.h>

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

void event_signal(struct rt_thread *t, struct lock_class *e, const void *obj, uint32_t skip,
		  uintptr_t ip)
{
	event_note_signal(t, obj, ip);
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
	uint64_t key = (t->depth ? t->held[0].prev_key : t->key) ^ old_seed ^ t->seed;

	for (uint32_t i = 0; i < t->depth; i++) {
		struct held *h = &t->held[i];
		h->prev_key = key;
		if (!(h->flags & HF_MERGED))
			key = chain_step(key, h->cls, h->mode, h->flags);
	}
	t->key = key;
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
	rt_lock(&graph_lock);
	for (uint32_t i = 0; i < t->npending; i++) {
		if (t->pending[i].ctx != e) {
			t->pending[n++] = t->pending[i];
			continue;
		}
		/* a lock freed since is out of the graph: so is its edge */
		if (class_get(t->pending[i].id) != t->pending[i].to || t->pending[i].to->dead)
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
	t->waithold[i].key = t->key;
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
		uint64_t key = d < t->depth ? t->held[d].prev_key : t->key;
		bool same = d <= t->depth && key == t->waithold[i].key;
		if (consume) {
			for (uint32_t j = i + 1; j < t->nwaithold; j++)
				t->waithold[j - 1] = t->waithold[j];
			t->nwaithold--;
		}
		return same ? d : 0;
	}
	return 0;
}

void event_note_signal(struct rt_thread *t, const void *obj, uintptr_t ip)
{
	struct timespec ts;
	uint32_t i = t->nsignals++ % SIGNAL_RING;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	t->signals[i].obj = obj;
	t->signals[i].ip = ip;
	t->signals[i].ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* threads_lock held by the caller (a dump). */
bool event_last_signal(const void *obj, pid_t *tid, uintptr_t *ip, uint64_t *ns)
{
	bool found = false;

	for (struct rt_thread *t = threads_list; t; t = t->next) {
		for (uint32_t i = 0; i < SIGNAL_RING; i++) {
			if (t->signals[i].obj != obj || !obj)
				continue;
			if (!found || t->signals[i].ns > *ns) {
				*tid = t->tid;
				*ip = t->signals[i].ip;
				*ns = t->signals[i].ns;
				found = true;
			}
		}
	}
	return found;
}
