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

#include "runtime.h"

__thread struct rt_tls rt_tls __attribute__((tls_model("initial-exec")));

struct rt_lock threads_lock = RT_LOCK_INIT;
struct rt_thread *threads_list;
static struct rt_thread dead_thread = { .dead = true };

pid_t rt_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static struct rt_thread *thread_new(void)
{
	struct rt_thread *t = rt_alloc(sizeof(*t));

	if (!t)
		return NULL;
	t->cap = 16;
	t->held = rt_alloc(t->cap * sizeof(*t->held));
	if (!t->held) {
		rt_free(t, sizeof(*t));
		return NULL;
	}
	t->tid = rt_gettid();
	t->path_epoch = atomic_load(&fence_signal_epoch);
	rt_lock(&threads_lock);
	t->next = threads_list;
	if (threads_list)
		threads_list->prev = t;
	threads_list = t;
	rt_unlock(&threads_lock);
	tls_thread = t;
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
	atomic_fetch_add(&stats_acquisitions_done, t->acquisitions + t->fast_hits);
	atomic_fetch_add(&stats_chain_hits_done, t->chain_hits + t->fast_hits);
	rt_free(t->held, t->cap * sizeof(*t->held));
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
	uint64_t key = h->prev_key;

	held_count(t, h, -1);
	for (; i < n; i++) {
		struct held *e = &t->held[i];
		held_move(e, &e[1]);
		e->prev_key = key;
		if (!(e->flags & HF_MERGED))
			key = chain_step(key, e->cls, e->mode, e->flags);
	}
	t->depth = n;
	t->key = key;
}

void held_sweep_paths(struct rt_thread *t)
{
	t->path_epoch = atomic_load(&fence_signal_epoch);
	for (uint32_t i = t->depth; i-- > 0;) {
		struct held *h = &t->held[i];
		if ((h->flags & HF_PATH) && !fence_path_live(h->fence, h->instance, h->fence_serial))
			held_remove(t, h);
	}
}

static bool held_push(struct rt_thread *t, const struct held *h)
{
	if (t->depth == t->cap) {
		struct held *n = rt_realloc_array(t->held, t->cap, t->cap * 2, sizeof(*n));
		if (!n)
			return false;
		t->held = n;
		t->cap *= 2;
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
 * fs_reclaim and mmu_notifier count as reclaim, fence classes as fences. */
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
	default:
		return "possible circular locking dependency";
	}
}

static void report_cycle(struct rt_thread *t, const struct cycle *cyc, uint32_t stack)
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

/*
 * Validate a chain the cache has not seen: the held stack (less the entries
 * of class `skip`) followed by c.
 */
static void validate_chain(struct rt_thread *t, struct lock_class *c, int mode, unsigned hflags,
			   const void *nest, uintptr_t ip, uint64_t key, struct lock_class *skip)
{
	struct lock_class *from[PENDING_MAX];
	uint8_t types[PENDING_MAX];
	uint32_t gates[PENDING_MAX];
	uint16_t ngates = 0;
	uint32_t nfrom = 0;
	bool recursion = false;
	uint32_t stack = stack_capture(ip);

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
		    ngates < PENDING_MAX)
			gates[ngates++] = h->cls->id;
	}
	if (!(hflags & HF_TRY) && !recursion) {
		for (uint32_t i = t->depth; i-- > t->sig_floor && nfrom < PENDING_MAX;) {
			struct held *h = &t->held[i];
			if (h->cls == skip || (h->flags & HF_MERGED))
				continue;
			if (h->cls != c) {
				class_name_try(h->cls);
				from[nfrom] = h->cls;
				types[nfrom++] = (uint8_t)edge_type(h->mode, mode);
			}
			if (!(h->flags & HF_TRY))
				break;
		}
	}
	if (recursion) {
		report_recursion(t, c, hflags, stack);
		return;
	}

	/* the same dependencies between init sites (class_shadow) */
	struct lock_class *sfrom[PENDING_MAX], *sc = c;
	uint32_t sgates[PENDING_MAX];
	bool by_site = rt_opt.classes == CLASSES_INSTANCE && nfrom;
	if (by_site) {
		sc = class_shadow(c);
		for (uint32_t i = 0; i < nfrom; i++)
			sfrom[i] = class_shadow(from[i]);
		for (uint16_t j = 0; j < ngates; j++) {
			struct lock_class *g = class_get(gates[j]);
			sgates[j] = g ? class_shadow(g)->id : gates[j];
		}
	}

	struct cycle cyc, spare;
	struct sig_finding sf;
	bool found = false;
	sf.found = false;
	rt_lock(&graph_lock);
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
	 * objects in address order) are no dependency between sites.  A cycle
	 * of the instances themselves, found above, is the one shown. */
	for (uint32_t i = 0; by_site && i < nfrom; i++) {
		if (sfrom[i] == sc || (sfrom[i] == from[i] && sc == c))
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
	chain_insert(key);
	rt_unlock(&graph_lock);
	if (found)
		report_cycle(t, &cyc, stack);
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
	h.prev_key = t->key;
	if (unlikely(t->spin_depth) && !(hflags & (HF_SPIN | HF_TRY)))
		rt_blocking_allowed(t, "a sleeping lock is taken while a spinning lock is held", ip);
	if (nest) {
		ww_acquire_check(t, nest, c, inst, ip);
		for (uint32_t i = t->depth; i-- > 0;) {
			if (t->held[i].cls == c && t->held[i].nest == nest) {
				/* same class under the same nest lock: legal, one step */
				h.flags |= HF_MERGED;
				h.prev_key = t->key;
				held_push(t, &h);
				return;
			}
		}
	}
	uint64_t key = chain_step(t->key, c, mode, hflags);
	if (likely(chain_seen(t, key)))
		t->chain_hits++;
	else
		validate_chain(t, c, mode, hflags, nest, ip, key, NULL);
	if (held_push(t, &h))
		t->key = key;
}

void rt_check_acquire(struct rt_thread *t, struct lock_class *c, int mode,
		      struct lock_class *skip, uintptr_t ip)
{
	t->acquisitions++;
	if (unlikely(paths_stale(t)))
		held_sweep_paths(t);
	uint64_t key = t->key;
	if (skip) {
		key = 0;
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
		validate_chain(t, c, mode, 0, NULL, ip, key, skip);
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
		if (h->flags & (HF_PATH | HF_SECTION | HF_WWCTX | HF_RECLAIM))
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
