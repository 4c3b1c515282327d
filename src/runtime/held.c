/*
 * held.c - per-thread state, the held stack, and the acquire/release events.
 *
 * Every event lands here first.  The chain key of the held stack plus the
 * class being acquired is looked up in the chain cache; a hit means the
 * same sequence was validated before and costs nothing more.  A miss is
 * validated: recursion, then the edges from the top of the held stack down
 * to (and including) the first entry that is not a trylock, as lockdep adds
 * them - the ones further down are implied through that entry.
 */
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rawsys.h"
#include "runtime.h"

static struct rt_thread dead_thread;
__thread struct rt_tls rt_tls __attribute__((tls_model("initial-exec"))) = {
	.fast = &dead_thread,
};

struct rt_lock threads_lock = RT_LOCK_INIT;
struct rt_thread *threads_list;
/*
 * A held stack has one entry below its bottom, held[-1], that never pops
 * (HF_SPIN): the unlock fast path (hot.h) looks at the top entry without
 * testing the depth first.
 */
static struct held dead_held[1] = { { .flags = HF_SPIN } };
struct instance icache_none = { .addr = (const void *)1 };
static struct rt_thread dead_thread = {
	.dead = true,
	.held = dead_held + 1,
	.icache = { [0 ... ICACHE_SIZE - 1] = &icache_none },
};

/* What rt_push_fast may fill of the held stack: with a watchdog, which
 * notes every blocking lock (set before any thread has a record), nothing. */
static uint32_t held_fast_cap(const struct rt_thread *t)
{
	return rt_watchdog_ns ? 0 : t->cap;
}

static struct held *held_array_new(uint32_t cap)
{
	struct held *a = rt_alloc((cap + 1) * sizeof(*a));

	if (!a)
		return NULL;
	a[0].flags = HF_SPIN;
	a[0].key = 0; /* the empty stack's chain key */
	return a + 1;
}

static void held_array_free(struct held *held, uint32_t cap)
{
	rt_free(held - 1, (cap + 1) * sizeof(*held));
}
struct path_mail path_mail[PATH_SLOTS];
_Atomic uint32_t pslot_next;

pid_t rt_gettid(void)
{
	return (pid_t)rt_syscall6(SYS_gettid, 0, 0, 0, 0, 0, 0);
}

static struct rt_thread *thread_new(void)
{
	struct rt_thread *t = rt_alloc(sizeof(*t));

	if (!t)
		return NULL;
	for (unsigned i = 0; i < CCACHE_SIZE; i++)
		t->ccache[i] = t->ccache2[i] = ccache_empty(i);
	for (unsigned i = 0; i < ICACHE_SIZE; i++)
		t->icache[i] = &icache_none;
	t->cap = 16;
	t->held = held_array_new(t->cap);
	t->fast_cap = held_fast_cap(t);
	if (!t->held) {
		rt_free(t, sizeof(*t));
		return NULL;
	}
	t->tid = rt_gettid();
	t->path_epoch = atomic_load(&fence_signal_epoch);
	t->pslot = atomic_fetch_add(&pslot_next, 1) % PATH_SLOTS;
	t->pmail_seen = atomic_load(&path_mail[t->pslot].n);
	rt_lock(&threads_lock);
	t->next = threads_list;
	if (threads_list)
		threads_list->prev = t;
	threads_list = t;
	rt_unlock(&threads_lock);
	tls_thread = t;
	tls_fast = t;
	alloc_state_refresh();
	rt_thread_registered(t);
	return t;
}

struct rt_thread *thread_enter_slow(void)
{
	struct rt_thread *t;

	if (unlikely(tls_busy))
		return NULL;
	t = tls_thread;
	if (likely(t && atomic_load_explicit(&rt_state, memory_order_relaxed) == RT_READY)) {
		if (unlikely(t->dead))
			return NULL;
		tls_busy = 1;
		return t;
	}
	if (atomic_load(&rt_state) == RT_UNINIT) {
		tls_busy = 1;
		rt_init();
		tls_busy = 0;
	}
	if (atomic_load(&rt_state) != RT_READY || (t && t->dead))
		return NULL;
	tls_busy = 1;
	t = thread_new();
	if (!t)
		tls_busy = 0;
	else if (atomic_load_explicit(&sig_handled, memory_order_relaxed))
		sig_refresh(t); /* signals with handlers: where its keys start */
	return t;
}

void thread_forget(struct rt_thread *t)
{
	if (!t || t->dead)
		return;
	rt_lock(&threads_lock);
	if (t->prev)
		t->prev->next = t->next;
	else if (threads_list == t)
		threads_list = t->next;
	if (t->next)
		t->next->prev = t->prev;
	rt_unlock(&threads_lock);
	tls_thread = &dead_thread;
	tls_fast = &dead_thread;
	alloc_state_refresh(); /* malloc() no longer reads t->depth */
	atomic_fetch_add(&stats_acquisitions_done, t->acquisitions + t->fast_hits);
	atomic_fetch_add(&stats_chain_hits_done, t->chain_hits + t->fast_hits);
	held_array_free(t->held, t->cap);
	rt_free(t->ww, t->capww * sizeof(*t->ww));
	rt_free(t, sizeof(*t));
}

/* After fork: the child's only thread is the one that forked. */
void thread_fork_child(void)
{
	struct rt_thread *self = tls_thread;

	threads_lock = (struct rt_lock)RT_LOCK_INIT;
	threads_list = NULL;
	if (self && !self->dead) {
		self->next = self->prev = NULL;
		self->tid = rt_gettid();
		threads_list = self;
	}
}

struct held *held_find(struct rt_thread *t, const void *inst)
{
	for (uint32_t i = t->depth; i-- > 0;)
		if (t->held[i].instance == inst && !(t->held[i].flags & HF_PATH))
			return &t->held[i];
	return NULL;
}

static void held_count(struct rt_thread *t, const struct held *h, int delta)
{
	if (h->flags & HF_SPIN)
		t->spin_depth += (uint32_t)delta;
	if (h->flags & HF_PATH)
		t->npath += (uint32_t)delta;
}

/* Remove one entry; the entries above move down, their chain keys
 * replayed. */
__attribute__((optimize("no-tree-slp-vectorize"))) void held_remove(struct rt_thread *t, struct held *h)
{
	uint32_t i = (uint32_t)(h - t->held), n = t->depth - 1;
	uint64_t key = h[-1].key;

	held_count(t, h, -1);
	for (; i < n; i++) {
		struct held *e = &t->held[i];
		held_move(e, &e[1]);
		if (!(e->flags & HF_MERGED))
			key = chain_step(key, e->cls, e->mode, e->flags);
		e->key = key;
	}
	t->depth = n;
}

void held_sweep_paths(struct rt_thread *t)
{
	t->path_epoch = atomic_load(&fence_signal_epoch);
	t->pmail_seen = atomic_load(&path_mail[t->pslot].n);
	for (uint32_t i = t->depth; i-- > 0;) {
		struct held *h = &t->held[i];
		if ((h->flags & HF_PATH) && !fence_path_live(h->fence, h->instance, h->fence_serial))
			held_remove(t, h);
	}
}

static bool held_push(struct rt_thread *t, const struct held *h)
{
	if (t->depth == t->cap) {
		/* past HELD_MAX the counts beside the depth would wrap (runtime.h):
		 * a table that cannot grow, said once, and checking stops */
		if (t->cap >= HELD_MAX) {
			rt_out_of_memory("a held stack of more than 32768 locks");
			return false;
		}
		struct held *n = rt_realloc_array(t->held - 1, t->cap + 1, t->cap * 2 + 1, sizeof(*n));
		if (!n)
			return false;
		t->held = n + 1; /* held[-1] came with the copy */
		t->cap *= 2;
		t->fast_cap = held_fast_cap(t);
	}
	t->held[t->depth++] = *h;
	held_count(t, h, 1);
	return true;
}

bool rt_blocking_allowed(struct rt_thread *t, const char *what, uintptr_t ip)
{
	if (likely(!t->spin_depth))
		return true;
	struct lock_class *spin = NULL;
	for (uint32_t i = t->depth; i-- > 0 && !spin;)
		if (t->held[i].flags & HF_SPIN)
			spin = t->held[i].cls;
	struct finding_in f = {
		.kind = FK_INVALID_WAIT_CONTEXT,
		.title = "invalid wait context: blocking under a spinning lock",
		.detail = what,
		.subject = { spin },
		.stack = stack_capture(ip),
	};
	report_finding(t, &f);
	return false;
}

/* Classify a cycle by what it goes through (fencedep(7), "Finding kinds"):
 * fs_reclaim and mmu_notifier count as reclaim, fence classes as fences,
 * and a cycle through an event with neither is an event-lock inversion. */
/* What a cycle goes through: CK_* bits of its classes. */
static unsigned cycle_contents(const struct cycle *cyc)
{
	unsigned kinds = 0, all = 0;

	for (uint32_t i = 0; i < cyc->n; i++) {
		kinds |= 1u << cyc->e[i].from->kind;
		all |= 1u << cyc->e[i].to->kind;
	}
	return kinds | all;
}

/* Allocation (fs_reclaim) with a fence is an allocation on a signalling
 * path; a fence without it (through the mmu_notifier context or not) is a
 * wait on a signalling path; fs_reclaim or the notifier context alone is
 * reclaim. */
int cycle_kind(const struct cycle *cyc)
{
	unsigned k = cycle_contents(cyc);
	bool fence = k & (1u << CK_FENCE), alloc = k & (1u << CK_RECLAIM);

	if (fence && alloc)
		return FK_ALLOC_IN_SIGNALLING_PATH;
	if (fence)
		return FK_FENCE_LOCK_INVERSION;
	if (alloc || (k & (1u << CK_MMU_NOTIFIER)))
		return FK_RECLAIM_LOCK_INVERSION;
	if (k & ((1u << CK_COND) | (1u << CK_SEM) | (1u << CK_THREAD) | (1u << CK_BARRIER) |
		 (1u << CK_ONCE) | (1u << CK_EVENT)))
		return FK_EVENT_LOCK_INVERSION;
	return FK_LOCK_ORDER_INVERSION;
}

/* The title says what the cycle holds, and what its new edge did. */
static const char *cycle_title(const struct cycle *cyc, int kind)
{
	unsigned k = cycle_contents(cyc);
	int to = cyc->n ? cyc->e[0].to->kind : -1;
	int from = cyc->n ? cyc->e[0].from->kind : -1;

	switch (kind) {
	case FK_ALLOC_IN_SIGNALLING_PATH:
		if (to == CK_RECLAIM)
			return "memory allocated on a fence signalling path";
		return "lock taken on a fence signalling path is held while memory is allocated";
	case FK_FENCE_LOCK_INVERSION:
		if (k & (1u << CK_MMU_NOTIFIER))
			return "waiting for mmu notifier invalidations on a fence signalling path, "
			       "while invalidations wait for fences";
		if (k == (1u << CK_FENCE))
			return "a fence signalling path waits for a fence that waits for it";
		return "lock taken on a fence signalling path is held while waiting for fences";
	case FK_RECLAIM_LOCK_INVERSION:
		if (to == CK_RECLAIM && from == CK_MMU_NOTIFIER)
			return "memory allocated in the mmu notifier context, which reclaim waits for";
		return "lock held across allocation is taken in reclaim";
	case FK_EVENT_LOCK_INVERSION:
		return "lock held while waiting for an event whose signaller needs it";
	default:
		return "possible circular locking dependency";
	}
}

void rt_report_cycle(struct rt_thread *t, const struct cycle *cyc, uint32_t stack)
{
	int kind = cycle_kind(cyc);
	bool by_site = false;
	for (uint32_t i = 0; i < cyc->n; i++)
		by_site |= cyc->e[i].from->shadow;
	struct finding_in f = {
		.kind = kind,
		.title = cycle_title(cyc, kind),
		.detail = by_site ? "predicted across objects: locks made at these init sites "
				    "were taken in these orders by different objects"
				  : NULL,
		.cycle = cyc,
		.stack = stack,
	};

	report_finding(t, &f);
}

static void report_recursion(struct rt_thread *t, struct lock_class *c, unsigned hflags,
			     uint32_t stack)
{
	struct finding_in f = {
		.kind = (hflags & HF_WWCTX) ? FK_WW_PROTOCOL_VIOLATION : FK_RECURSIVE_LOCKING,
		.title = (hflags & HF_WWCTX) ? "second acquire context of one ww class in a thread"
					     : "possible recursive locking",
		.detail = "acquiring a class this thread already holds",
		.subject = { c },
		.stack = stack,
	};

	report_finding(t, &f);
}

/* Does taking c (mode) on top of held entry h deadlock on itself? */
static bool same_class_ok(const struct held *h, int mode, unsigned hflags, const void *nest)
{
	if (nest && h->nest == nest)
		return true;
	if (hflags & HF_TRY)
		return true;
	return h->mode != HM_EXCLUSIVE && mode == HM_RECURSIVE;
}

#define PENDING_MAX 64

/* Whether every edge validate_chain adds is in the graph with its type
 * already, the same edges as its two loops (graph_lock held). */
static bool edges_known(struct lock_class *const *from, const uint8_t *types, uint32_t nfrom,
			struct lock_class *c, struct lock_class *const *sfrom, struct lock_class *sc,
			const bool *made_under, bool by_site)
{
	for (uint32_t i = 0; i < nfrom; i++)
		if (!graph_edge_known(from[i], c, types[i]))
			return false;
	for (uint32_t i = 0; by_site && i < nfrom; i++) {
		if (sfrom[i] == sc || (sfrom[i] == from[i] && sc == c) || made_under[i])
			continue;
		if (!graph_edge_known(sfrom[i], sc, types[i]))
			return false;
	}
	return true;
}

/*
 * Validate a chain the cache has not seen: the held stack (less the entries
 * of class `skip`) followed by c.  Below the bottom of the stack are the
 * thread's event contexts (event.c), recursive-read holders of their event
 * classes: a walk that reaches the bottom through trylocks alone adds an
 * edge from each of them too.  A wait for an event (`wait`) has no gate
 * locks: holding the gate while waiting for the event is itself what keeps
 * the signaller out.
 */
static void validate_chain(struct rt_thread *t, struct lock_class *c, int mode, unsigned hflags,
			   const void *nest, uintptr_t ip, uint64_t key, struct lock_class *skip,
			   bool wait)
{
	struct lock_class *from[PENDING_MAX];
	uint8_t types[PENDING_MAX];
	uint32_t gates[PENDING_MAX];
	uint16_t ngates = 0;
	uint32_t nfrom = 0;
	bool recursion = false, deferred = false;
	/* the acquisition's stack, captured only when something keeps it: a
	 * new edge, a finding, a deferred edge, a signal context's usage.  A
	 * chain whose edges are all known keeps none (node -e 0: a quarter of
	 * its chains), and an unwind through a large binary costs more than
	 * the rest of the check. */
	uint32_t stack = 0;

	/* names are given while the lock's module is surely loaded; a name that
	 * cannot be had now without waiting is given when a report needs it */
	class_name_try(c);
	/* entries below the floor belong to the code a signal handler
	 * interrupted: the handler's locks do not nest inside them */
	for (uint32_t i = t->depth; i-- > t->sig_floor;) {
		struct held *h = &t->held[i];
		if (h->cls == skip)
			continue;
		if (h->cls == c && !same_class_ok(h, mode, hflags, nest))
			recursion = true;
		/* a ww acquire context serialises nothing: each transaction has
		 * its own, so it is never a gate */
		if (h->mode == HM_EXCLUSIVE && !(h->flags & (HF_TRY | HF_WWCTX)) &&
		    ngates < PENDING_MAX && !wait)
			gates[ngates++] = h->cls->id;
	}
	if (!(hflags & HF_TRY) && !recursion) {
		bool bottom = true;
		for (uint32_t i = t->depth; i-- > t->sig_floor && nfrom < PENDING_MAX;) {
			struct held *h = &t->held[i];
			if (h->cls == skip || (h->flags & HF_MERGED))
				continue;
			/* a ww acquire context keeps no other thread out: nothing
			 * that happens elsewhere waits for it */
			if (wait && (h->flags & HF_WWCTX))
				continue;
			if (h->cls != c) {
				class_name_try(h->cls);
				from[nfrom] = h->cls;
				types[nfrom++] = (uint8_t)edge_type(h->mode, mode);
			}
			if (!(h->flags & HF_TRY)) {
				bottom = false;
				/* a recursive read hold does not carry the locks below
				 * it to c: a path into a recursive reader and out of a
				 * reader is no dependency (graph.c), so A, R read, B
				 * gives A -> B of its own, which B -> A then closes */
				if (h->mode != HM_RECURSIVE)
					break;
			}
		}
		/* contexts hold off neither fences nor reclaim (fencedep(7)) */
		bool ctx_ok = c->kind != CK_FENCE && c->kind != CK_RECLAIM &&
			      c->kind != CK_MMU_NOTIFIER;
		for (uint32_t i = 0; bottom && ctx_ok && i < t->nctx && nfrom < PENDING_MAX; i++) {
			if (t->ctx[i] == c)
				continue;
			int type = edge_type(HM_RECURSIVE, mode);
			if (t->ctx_deferred & (1u << i)) {
				if (!stack)
					stack = stack_capture(ip);
				event_context_defer(t, t->ctx[i], c, type, stack);
				deferred = true;
				continue;
			}
			class_name_try(t->ctx[i]);
			from[nfrom] = t->ctx[i];
			types[nfrom++] = (uint8_t)type;
		}
	}
	if (recursion) {
		report_recursion(t, c, hflags, stack ? stack : stack_capture(ip));
		return;
	}

	/* the same dependencies between init sites (class_shadow) */
	struct lock_class *sfrom[PENDING_MAX], *sc = c;
	uint32_t sgates[PENDING_MAX];
	bool made_under[PENDING_MAX];
	bool by_site = rt_opt.classes == CLASSES_INSTANCE && nfrom && !class_kind_is_event(c->kind);
	/* events are matched by instance only: their signals have no site edges */
	for (uint32_t i = 0; by_site && i < nfrom; i++)
		by_site = !class_kind_is_event(from[i]->kind);
	if (by_site) {
		sc = class_shadow(c);
		for (uint32_t i = 0; i < nfrom; i++)
			sfrom[i] = class_shadow(from[i]);
		for (uint16_t j = 0; j < ngates; j++) {
			struct lock_class *g = class_get(gates[j]);
			sgates[j] = g ? class_shadow(g)->id : gates[j];
		}
		for (uint32_t i = 0; i < nfrom; i++)
			made_under[i] = sc != c && class_made_under(c, from[i], t->tid);
	}

	struct cycle cyc, spare;
	struct sig_finding sf;
	bool found = false;
	sf.found = false;
	rt_lock(&graph_lock);
	/* never captured under graph_lock: libunwind may wait for the
	 * loader's lock, whose holder may be taking a lock */
	if (!stack && (!edges_known(from, types, nfrom, c, sfrom, sc, made_under, by_site) ||
		       (unlikely(t->sig_in || t->sig_deliv) && !sig_usage_acquire_known(t, c)))) {
		rt_unlock(&graph_lock);
		stack = stack_capture(ip);
		rt_lock(&graph_lock);
	}
	for (uint32_t i = 0; i < nfrom; i++) {
		/* the gates of an edge are the other exclusive holders */
		uint32_t g[PENDING_MAX];
		uint16_t ng = 0;
		for (uint16_t j = 0; j < ngates; j++)
			if (gates[j] != from[i]->id)
				g[ng++] = gates[j];
		if (graph_add_edge(from[i], c, types[i], stack, g, ng, false, found ? &spare : &cyc))
			found = true;
	}
	/* site to site; two locks of one site nested (parent and child, two
	 * objects in address order) are no dependency between sites, nor is a
	 * lock taken under the lock its thread held when it made it: an order
	 * of initialisation (libdbus makes its global locks under its init
	 * lock and takes one there), in which the new lock is no other
	 * object of its site that another thread may hold.  A cycle of the
	 * instances themselves, found above, is the one shown. */
	for (uint32_t i = 0; by_site && i < nfrom; i++) {
		if (sfrom[i] == sc || (sfrom[i] == from[i] && sc == c))
			continue;
		if (made_under[i])
			continue;
		uint32_t g[PENDING_MAX];
		uint16_t ng = 0;
		for (uint16_t j = 0; j < ngates; j++)
			if (sgates[j] != sfrom[i]->id && sgates[j] != sc->id)
				g[ng++] = sgates[j];
		if (graph_add_edge(sfrom[i], sc, types[i], stack, g, ng, false, found ? &spare : &cyc))
			found = true;
	}
	if (unlikely(t->sig_in || t->sig_deliv))
		sig_usage_acquire(t, c, stack, &sf);
	for (uint32_t i = 0; i < nfrom && unlikely(atomic_load_explicit(&sig_in_any, memory_order_relaxed)); i++)
		sig_usage_edge(from[i], c, &sf);
	/* a chain with edges kept back is this thread's alone: another thread
	 * in the same contexts keeps back edges of its own */
	if (deferred)
		ccache_put(t, key);
	else
		chain_insert(key);
	rt_unlock(&graph_lock);
	if (found)
		rt_report_cycle(t, &cyc, stack);
	if (unlikely(sf.found))
		sig_report(t, &sf);
}

void rt_acquire_slow(struct rt_thread *t, struct lock_class *c, const void *inst, int mode,
		     unsigned hflags, const void *nest, uintptr_t ip)
{
	struct held h = {
		.cls = c, .instance = inst, .nest = nest, .ip = ip,
		.mode = (uint8_t)mode, .flags = (uint8_t)hflags,
	};

	t->acquisitions++;
	if (unlikely(t->sig_in))
		sig_frames_check(t);
	if (unlikely(t->sig_gen != atomic_load_explicit(&sig_handled_gen, memory_order_relaxed)))
		sig_refresh(t);
	if (unlikely(paths_stale(t)))
		held_sweep_paths(t);
	uint64_t prev = held_key(t);
	if (unlikely(t->spin_depth) && !(hflags & (HF_SPIN | HF_TRY)))
		rt_blocking_allowed(t, "a sleeping lock is taken while a spinning lock is held", ip);
	if (nest) {
		ww_acquire_check(t, nest, c, inst, ip);
		for (uint32_t i = t->depth; i-- > 0;) {
			if (t->held[i].cls == c && t->held[i].nest == nest) {
				/* same class under the same nest lock: legal, one step */
				h.flags |= HF_MERGED;
				h.key = prev;
				held_push(t, &h);
				return;
			}
		}
	}
	uint64_t key = chain_step(prev, c, mode, hflags);
	/* a lone lock (nothing held, no context: key 0) adds no edge: its
	 * chain goes to the thread's cache alone, where the fast paths look
	 * (rt_push_fast_seen), never into the shared table, which a program
	 * that makes a lock per request would fill with a chain per lock */
	if (!prev && !nest && !(hflags & (HF_SPIN | HF_PATH)) && !t->sig_in && !t->sig_deliv)
		ccache_put(t, key);
	else if (likely(chain_seen(t, key)))
		t->chain_hits++;
	else
		validate_chain(t, c, mode, hflags, nest, ip, key, NULL, false);
	h.key = key;
	held_push(t, &h);
}

void rt_check_acquire(struct rt_thread *t, struct lock_class *c, int mode,
		      struct lock_class *skip, uintptr_t ip)
{
	t->acquisitions++;
	if (unlikely(paths_stale(t)))
		held_sweep_paths(t);
	uint64_t key = held_key(t);
	if (skip) {
		key = t->held[-1].key;
		for (uint32_t i = 0; i < t->depth; i++) {
			struct held *h = &t->held[i];
			if (h->cls != skip && !(h->flags & HF_MERGED))
				key = chain_step(key, h->cls, h->mode, h->flags);
		}
	}
	key = chain_step(key, c, mode, 0);
	if (likely(chain_seen(t, key)))
		t->chain_hits++;
	else
		validate_chain(t, c, mode, 0, NULL, ip, key, skip, false);
}

void rt_check_wait(struct rt_thread *t, struct lock_class *e, uintptr_t ip)
{
	t->acquisitions++;
	if (unlikely(paths_stale(t)))
		held_sweep_paths(t);
	uint64_t key = chain_step(held_key(t), e, HM_EXCLUSIVE, 0);
	if (likely(chain_seen(t, key)))
		t->chain_hits++;
	else
		validate_chain(t, e, HM_EXCLUSIVE, 0, NULL, ip, key, NULL, true);
}

/*
 * Event e happens (event.c): e -> every lock the thread holds, above the
 * `skip` bottom entries, as if each were acquired under e held for reading
 * (the signaller needs them for e to happen).  A trylock holds nothing up,
 * so no edge goes to it.  The chain cache keeps signals already seen under
 * the same held stack, keyed apart from every acquisition.
 */
#define SIGNAL_SALT 0x5be1c0de5a17ull

void rt_check_signal(struct rt_thread *t, struct lock_class *e, uint32_t skip, uintptr_t ip)
{
	if (unlikely(paths_stale(t)))
		held_sweep_paths(t);
	uint64_t key = held_key(t);

	/* a handler's signal does not need what the code it interrupted holds */
	if (skip < t->sig_floor)
		skip = t->sig_floor;
	if (skip > t->depth)
		skip = t->depth;
	if (skip) {
		key = t->held[-1].key; /* the empty stack's */
		for (uint32_t i = skip; i < t->depth; i++)
			if (!(t->held[i].flags & HF_MERGED))
				key = chain_step(key, t->held[i].cls, t->held[i].mode, t->held[i].flags);
	}
	key = chain_step(key ^ SIGNAL_SALT, e, HM_RECURSIVE, HF_TRY);
	if (likely(chain_seen(t, key)))
		return;

	struct lock_class *to[PENDING_MAX];
	uint8_t types[PENDING_MAX];
	uint32_t n = 0;
	for (uint32_t i = skip; i < t->depth && n < PENDING_MAX; i++) {
		struct held *h = &t->held[i];
		if ((h->flags & (HF_TRY | HF_MERGED | HF_WWCTX)) || h->cls == e)
			continue;
		/* a class of many locks: holding one keeps no waiter out */
		if (h->cls->named || !h->cls->addr)
			continue;
		class_name_try(h->cls);
		to[n] = h->cls;
		types[n++] = (uint8_t)edge_type(HM_RECURSIVE, h->mode);
	}
	uint32_t stack = n ? stack_capture(ip) : 0;
	if (n)
		class_name_try(e);
	struct cycle cyc, spare;
	bool found = false;
	rt_lock(&graph_lock);
	for (uint32_t i = 0; i < n; i++)
		if (graph_add_edge(e, to[i], types[i], stack, NULL, 0, false, found ? &spare : &cyc))
			found = true;
	chain_insert(key);
	rt_unlock(&graph_lock);
	if (found)
		rt_report_cycle(t, &cyc, stack);
}

/*
 * Push a trylock entry with no check at all: a trylock adds no edge into
 * itself, and this push must not unwind the stack (a once routine, which
 * must run before anything the unwinder may call does).
 */
void rt_push_try_unchecked(struct rt_thread *t, struct lock_class *c, const void *inst, int mode,
			   unsigned hflags, uintptr_t ip)
{
	struct held h = {
		.cls = c, .instance = inst, .ip = ip,
		.mode = (uint8_t)mode, .flags = (uint8_t)(hflags | HF_TRY),
	};

	h.key = chain_step(held_key(t), c, mode, h.flags);
	held_push(t, &h);
}

bool rt_release_slow(struct rt_thread *t, const void *inst, uintptr_t ip)
{
	struct held *h = held_find(t, inst);

	if (!h)
		return false;
	if (h->refs)
		h->refs--; /* a recursive mutex unlocked once of several times */
	else
		held_remove(t, h);
	return true;
}

/*
 * A robust mutex (PTHREAD_MUTEX_ROBUST) whose owner ends holding it is the
 * designed recovery path: the next locker gets EOWNERDEAD and makes it
 * consistent.  The kind is read from the mutex itself, still alive.
 */
#define GLIBC_MUTEX_ROBUST 16 /* glibc's robust bit of __data.__kind */

static bool held_robust_mutex(const struct held *h)
{
	struct instance *in = instance_find(h->instance);

	return in && in->type == IT_MUTEX &&
	       (((const pthread_mutex_t *)h->instance)->__data.__kind & GLIBC_MUTEX_ROBUST);
}

void thread_exit_check(struct rt_thread *t)
{
	ww_exit_check(t);
	for (uint32_t i = 0; i < t->depth; i++) {
		struct held *h = &t->held[i];
		if (h->flags & (HF_PATH | HF_SECTION | HF_WWCTX | HF_RECLAIM | HF_EVENTCTX))
			continue;
		if (held_robust_mutex(h))
			continue;
		struct finding_in f = {
			.kind = FK_LOCK_HELD_AT_THREAD_EXIT,
			.title = "thread exits while holding locks",
			.detail = "a lock is still held when its thread ends",
			.subject = { h->cls },
			.stack = stack_capture(h->ip),
		};
		report_finding(t, &f);
		break;
	}
}
