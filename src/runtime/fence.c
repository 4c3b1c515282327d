/*
 * fence.c - fences and their signalling paths.
 *
 * A fence is tracked by address.  From fdep_fence_publish() until it hands
 * the fence off or the fence signals, a thread is on the fence's signalling
 * path: it holds the fence's class as a recursive-read trylock, so whatever
 * it acquires there becomes an edge out of the class, and nothing gets an
 * edge into it.  fdep_fence_adopt() puts another thread on the path;
 * signalling takes every thread off it (each thread drops its entry the next
 * time it acquires anything, seeing the signal epoch move).  Waiting is an
 * exclusive acquire+release of the class with the waiter's own read holds of
 * it set aside, as the kernel's __dma_fence_might_wait() does.
 */
#include <string.h>

#include "runtime.h"

#define LINE_SHIFT INSTANCE_LINE_SHIFT /* fence_forget_range reads the instance line marks */

_Atomic uint64_t fence_signal_epoch = 1;
_Atomic uint64_t rt_unload_gen = 1;
_Atomic bool fences_made;
/* serials are handed to threads in blocks; 0 is no serial */
#define SERIAL_BLOCK 4096
static _Atomic uint64_t fence_serial_next = 1;
static char section_marker; /* instance of kernel-style signalling sections */

/*
 * The records, in a table sharded by the address's line as the instance
 * table is: a shard has its own lock, buckets, count and free records, on
 * lines of their own, so that threads creating and forgetting different
 * fences meet on no lock and write no common line.  The line's hash picks
 * the shard by its top bits and the bucket by its low ones, so that
 * fence_forget_range finds a line's fences from the line alone.
 */
#define FSHARDS 64

struct fshard {
	struct rt_lock lock;
	struct fence **buckets;
	uint64_t nbuckets, count;
	struct fence *free_list;
} __attribute__((aligned(64)));

static struct fshard fshards[FSHARDS];

static inline uint64_t line_key(uintptr_t line)
{
	return object_line_hash(line); /* instance.c: line_state */
}

static inline uint64_t fence_key(const void *addr)
{
	return line_key((uintptr_t)addr >> LINE_SHIFT);
}

static inline struct fshard *fshard_of(uint64_t key)
{
	return &fshards[key >> 58];
}

static uint64_t fence_node_hash(const void *node)
{
	return fence_key(((const struct fence *)node)->addr);
}

static void fshard_grow(struct fshard *s)
{
	s->buckets = (struct fence **)table_grow((void **)s->buckets, &s->nbuckets, 64,
						 offsetof(struct fence, hnext), fence_node_hash);
}

/* A serial no other life of any fence has had. */
static uint64_t fence_serial_new(struct rt_thread *t)
{
	if (unlikely(t->serial_next == t->serial_end)) {
		t->serial_next = atomic_fetch_add(&fence_serial_next, SERIAL_BLOCK);
		t->serial_end = t->serial_next + SERIAL_BLOCK;
	}
	return t->serial_next++;
}

/* The record of the fence at addr (its shard's lock held). */
static struct fence *fshard_find(struct fshard *s, uint64_t key, const void *addr)
{
	if (!s->nbuckets)
		return NULL;
	for (struct fence *f = s->buckets[key & (s->nbuckets - 1)]; f; f = f->hnext)
		if (f->addr == addr)
			return f;
	return NULL;
}

static struct fence *fence_create(struct rt_thread *t, struct fshard *s, uint64_t key,
				  const void *addr, struct lock_class *cls)
{
	if (s->count >= s->nbuckets)
		fshard_grow(s);
	if (!s->nbuckets)
		return NULL;
	struct fence *f = s->free_list;
	if (f) {
		s->free_list = f->hnext;
		*f = (struct fence){ 0 };
	} else if (!(f = rt_alloc(sizeof(*f)))) {
		return NULL;
	}
	f->cls = cls;
	atomic_store_explicit(&f->serial, fence_serial_new(t), memory_order_release);
	atomic_store_explicit(&f->addr, addr, memory_order_release);
	uint64_t k = key & (s->nbuckets - 1);
	f->hnext = s->buckets[k];
	s->buckets[k] = f;
	s->count++;
	/* from the first fence on, free() looks for fences in what it frees:
	 * one write for the life of the process, none per fence */
	if (unlikely(!atomic_load_explicit(&fences_made, memory_order_relaxed)) &&
	    !atomic_exchange(&fences_made, true))
		release_watch_raise();
	instance_mark_line(addr);
	return f;
}

/* Fences in an array of structures land in distinct slots. */
static inline unsigned fcache_slot(const void *addr)
{
	return (unsigned)((uintptr_t)addr >> 4) & (FCACHE_SIZE - 1);
}

/* The record from the table (made of class `create` when there is none and
 * create is set; *made then says so), put in the thread's cache. */
static struct fence *fence_lookup(struct rt_thread *t, const void *addr,
				  struct lock_class *create, bool *made)
{
	uint64_t key = fence_key(addr);
	struct fshard *s = fshard_of(key);

	rt_lock(&s->lock);
	struct fence *f = fshard_find(s, key, addr);
	if (!f && create) {
		f = fence_create(t, s, key, addr, create);
		*made = f != NULL;
	}
	rt_unlock(&s->lock);
	if (f) {
		unsigned k = fcache_slot(addr);
		t->fcache[k].addr = addr;
		t->fcache[k].f = f;
	}
	return f;
}

static __attribute__((noinline)) struct fence *fence_get_slow(struct rt_thread *t,
							      const void *addr,
							      struct lock_class *create)
{
	bool made = false;

	return fence_lookup(t, addr, create, &made);
}

/*
 * The record of the fence at addr: from the thread's cache, without a lock,
 * else from the table under its shard's lock; a new one of class `create` when
 * there is none and create is set.  A program's own ordering of a fence's
 * init, publish and signal orders the writes to its record.
 */
/* The record of the fence at addr if the thread's cache has it, else NULL. */
static inline struct fence *fence_peek(struct rt_thread *t, const void *addr)
{
	unsigned k = fcache_slot(addr);
	struct fence *f = t->fcache[k].f;

	if (likely(f && t->fcache[k].addr == addr &&
		   atomic_load_explicit(&f->addr, memory_order_acquire) == addr))
		return f;
	return NULL;
}

static inline struct fence *fence_get(struct rt_thread *t, const void *addr,
				      struct lock_class *create)
{
	struct fence *f = fence_peek(t, addr);

	return likely(f) ? f : fence_get_slow(t, addr, create);
}

bool fence_pending(const void *addr)
{
	uint64_t key = fence_key(addr);
	struct fshard *s = fshard_of(key);

	rt_lock(&s->lock);
	struct fence *f = fshard_find(s, key, addr);
	bool pending = f && f->state == FS_PUBLISHED;
	rt_unlock(&s->lock);
	return pending;
}

struct lock_class *fence_class_at(const void *addr)
{
	uint64_t key = fence_key(addr);
	struct fshard *s = fshard_of(key);

	rt_lock(&s->lock);
	struct fence *f = fshard_find(s, key, addr);
	struct lock_class *c = f ? f->cls : NULL;
	rt_unlock(&s->lock);
	return c;
}

/* Note that the thread with path_mail slot `slot`, not f's publisher, is on
 * f's path. */
static inline void path_slot_add(struct fence *f, uint32_t slot)
{
	uint32_t n = atomic_load_explicit(&f->npslots, memory_order_acquire);

	if (atomic_load_explicit(&f->pub_slot, memory_order_relaxed) == slot + 1)
		return;
	for (uint32_t i = 0; i < n && i < FENCE_PATH_SLOTS; i++)
		if (atomic_load_explicit(&f->pslots[i], memory_order_relaxed) == slot + 1)
			return;
	if (n > FENCE_PATH_SLOTS)
		return; /* too many already: signals go to everyone */
	n = atomic_fetch_add(&f->npslots, 1);
	if (n < FENCE_PATH_SLOTS)
		atomic_store_explicit(&f->pslots[n], (uint16_t)(slot + 1), memory_order_release);
}

/* The slots of the threads on a fence's path, as read at one moment: the
 * publisher's, then the others'. */
struct path_slots {
	uint32_t n, np; /* slots in s; of them, from pslots */
	bool pub;       /* the publisher's read */
	uint16_t s[FENCE_PATH_SLOTS + 1];
};

/* Read f's slots into ps, the publisher's once and the others' from the
 * np-th on; false when one is not known (too many threads, or a slot being
 * written).  A publisher is set before the fence can be signalled by the
 * program's own order (publish, then signal), so it is read once. */
static bool path_slots_read(const struct fence *f, struct path_slots *ps)
{
	if (!ps->pub) {
		uint16_t p = atomic_load_explicit(&f->pub_slot, memory_order_acquire);
		if (p && p != PSLOT_GONE)
			ps->s[ps->n++] = p;
		ps->pub = true;
	}
	uint32_t n = atomic_load(&f->npslots);

	if (n > FENCE_PATH_SLOTS)
		return false;
	for (; ps->np < n; ps->np++) {
		uint16_t v = atomic_load_explicit(&f->pslots[ps->np], memory_order_acquire);
		if (!v)
			return false;
		if (v != PSLOT_GONE) /* a thread that handed the fence off */
			ps->s[ps->n++] = v;
	}
	return true;
}

/*
 * The thread has left f's path (fdep_fence_handoff): its slots there go, so
 * that the signal, which it no longer waits for, does not send it mail that
 * makes it sweep its held stack.  Only while no two threads share a slot
 * (PATH_SLOTS threads made at most): a shared slot may stand for another
 * thread still on the path.  A signal that read the slot before still
 * bumps it: a useless sweep, never a missed one.
 */
static void path_slots_leave(struct fence *f, const struct rt_thread *t)
{
	uint16_t me = (uint16_t)(t->pslot + 1);

	if (atomic_load_explicit(&pslot_next, memory_order_relaxed) > PATH_SLOTS)
		return;
	if (atomic_load_explicit(&f->pub_slot, memory_order_relaxed) == me)
		atomic_store_explicit(&f->pub_slot, PSLOT_GONE, memory_order_release);
	uint32_t n = atomic_load_explicit(&f->npslots, memory_order_acquire);
	for (uint32_t i = 0; i < n && i < FENCE_PATH_SLOTS; i++)
		if (atomic_load_explicit(&f->pslots[i], memory_order_relaxed) == me)
			atomic_store_explicit(&f->pslots[i], PSLOT_GONE, memory_order_release);
}

/*
 * Tell the threads of ps but `self` that their fence signalled or went: a
 * bump of each one's mail slot, or, when a slot is not known, of the epoch
 * every thread reads.
 */
static void path_notify(const struct path_slots *ps, bool known, const struct rt_thread *self)
{
	if (!known) {
		atomic_fetch_add(&fence_signal_epoch, 1);
		return;
	}
	for (uint32_t i = 0; i < ps->n; i++)
		if (!self || ps->s[i] - 1u != self->pslot)
			atomic_fetch_add(&path_mail[ps->s[i] - 1].n, 1);
}

/* The same for a record that cannot change meanwhile (its shard's lock held). */
static void path_notify_all(const struct fence *f, const struct rt_thread *self)
{
	struct path_slots ps = { 0 };

	path_notify(&ps, path_slots_read(f, &ps), self);
}

/* Take victim out of its shard (the shard's lock held) into its free list. */
static void fence_unlink(struct fshard *s, uint64_t key, struct fence *victim)
{
	struct fence **pp = &s->buckets[key & (s->nbuckets - 1)];

	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == victim) {
			*pp = victim->hnext;
			s->count--;
			instance_unmark_line(victim->addr);
			atomic_store_explicit(&victim->addr, NULL, memory_order_release);
			victim->hnext = s->free_list;
			s->free_list = victim;
			return;
		}
	}
}

void fence_forget_range(const void *start, size_t len)
{
	uintptr_t lo = (uintptr_t)start, hi = lo + len;

	if (!len)
		return;
	uintptr_t last = (hi - 1) >> LINE_SHIFT;
	/* fence_create marked the line of each fence */
	for (uintptr_t l = instance_next_marked(lo >> LINE_SHIFT, last); l <= last;
	     l = instance_next_marked(l + 1, last)) {
		uint64_t key = line_key(l);
		struct fshard *s = fshard_of(key);
		rt_lock(&s->lock);
		struct fence *f = s->nbuckets ? s->buckets[key & (s->nbuckets - 1)] : NULL;
		while (f) {
			struct fence *next = f->hnext;
			if ((uintptr_t)f->addr >= lo && (uintptr_t)f->addr < hi) {
				if (atomic_load(&f->state) != FS_SIGNALLED)
					path_notify_all(f, NULL);
				fence_unlink(s, key, f);
			}
			f = next;
		}
		rt_unlock(&s->lock);
	}
}

/* The free window lets line's bit go if no object is on it: no fence of
 * the bit can be made while this shard's lock is held (instance.c:
 * line_state). */
void fence_line_release(uintptr_t line)
{
	struct fshard *s = fshard_of(line_key(line));

	rt_lock(&s->lock);
	instance_line_release(line);
	rt_unlock(&s->lock);
}

static struct lock_class *fence_class(const char *name)
{
	return class_intern(name ? name : "dma_fence", 0, CK_FENCE);
}

/* A new life of the record: a new serial, no signal, nobody on its path. */
static inline __attribute__((always_inline)) void fence_renew(struct rt_thread *t,
							       struct fence *f)
{
	atomic_store_explicit(&f->serial, fence_serial_new(t), memory_order_release);
	f->signal_stack = 0;
	f->adopted = false;
	atomic_store_explicit(&f->pub_slot, 0, memory_order_relaxed);
	atomic_store_explicit(&f->npslots, 0, memory_order_relaxed);
}

/* The record's part of fence_begin. */
static inline __attribute__((always_inline)) void
fence_restart(struct rt_thread *t, struct fence *f, struct lock_class *cls, int state,
	      uint32_t stack)
{
	uint8_t old = atomic_load_explicit(&f->state, memory_order_acquire);
	if (old == FS_SIGNALLED || (state == FS_INIT && old == FS_INIT))
		fence_renew(t, f);
	if (cls)
		f->cls = cls;
	if (state == FS_PUBLISHED && old != FS_PUBLISHED) {
		f->publish_stack = stack;
		f->publisher = t->tid;
		/* its own field, no atomic add: the adopters' slots are apart */
		atomic_store_explicit(&f->pub_slot, (uint16_t)(t->pslot + 1), memory_order_relaxed);
	} else if (state == FS_PUBLISHED &&
		   (f->publisher != t->tid ||
		    atomic_load_explicit(&f->pub_slot, memory_order_relaxed) == PSLOT_GONE)) {
		/* published again by another thread, or by its publisher after
		 * it handed it off: on the path too */
		f->adopted = true;
		path_slot_add(f, t->pslot);
	}
	if (old != state)
		atomic_store_explicit(&f->state, (uint8_t)state, memory_order_release);
}

/* Start a new life of the fence at addr, published or just initialised;
 * its record, or NULL when memory has run out. */
static inline __attribute__((always_inline)) struct fence *
fence_begin(struct rt_thread *t, const void *addr, struct lock_class *cls, int state,
	    uint32_t stack)
{
	struct fence *f = fence_get(t, addr, cls ? cls : cls_dma_fence);

	if (!f)
		return NULL;
	fence_restart(t, f, cls, state, stack);
	return f;
}

/*
 * Put the thread on the signalling path of f (the fence at `fence`); the
 * thread entered.  The entry needs no chain validation (see publish_fast),
 * but inside a signal handler, or for a class that is no fence class.
 */
static void path_join(struct rt_thread *t, const void *fence, struct fence *f, uintptr_t ip)
{
	uint64_t serial = atomic_load_explicit(&f->serial, memory_order_acquire);
	struct lock_class *cls = f->cls;

	if (unlikely(paths_stale(t)))
		held_sweep_paths(t);
	/* the path entries only, from the top, down to the last of them */
	for (uint32_t i = t->depth, left = t->npath; left && i-- > 0;) {
		if (!(t->held[i].flags & HF_PATH))
			continue;
		left--;
		if (t->held[i].instance == fence && t->held[i].fence_serial == serial)
			return;
	}
	if (likely(cls && cls->kind == CK_FENCE && !t->sig_in && t->depth < t->cap)) {
		/* the fast push counts no entry; held_push in the slow path does */
		held_push_checked(t, cls, fence, HM_RECURSIVE, HF_PATH | HF_TRY, ip,
				  chain_step(held_key(t), cls, HM_RECURSIVE, HF_PATH | HF_TRY));
		t->npath++;
	} else {
		rt_acquire_slow(t, cls, fence, HM_RECURSIVE, HF_PATH | HF_TRY, NULL, ip);
	}
	if (t->depth && t->held[t->depth - 1].instance == fence) {
		t->held[t->depth - 1].fence_serial = serial;
		t->held[t->depth - 1].fence = f;
	}
}

/*
 * The entry `from`, not a path entry, one down over `to`, but for its
 * key: the fields that matter without HF_PATH (fence and
 * fence_serial do not), field by field (see held_move, hot.h), flags, mode
 * and refs in their one word.
 */
static inline void held_lower(struct held *to, const struct held *from)
{
	uint64_t w;

	to->cls = from->cls;
	to->instance = from->instance;
	to->nest = from->nest;
	to->ip = from->ip;
	memcpy(&w, &from->flags, sizeof(w));
	memcpy(&to->flags, &w, sizeof(w));
}

/*
 * Remove the path or section entry h: popped on top; just below the top,
 * the entry above moved down over it, as signal_fast does (a path or
 * merged entry above takes held_remove, which keeps all of its fields and
 * keys).
 */
static inline void path_entry_remove(struct rt_thread *t, struct held *h)
{
	struct held *top = &t->held[t->depth - 1];
	bool path = h->flags & HF_PATH;

	if (h == top - 1 && !(top->flags & (HF_PATH | HF_MERGED))) {
		held_lower(h, top);
		h->key = chain_step(h[-1].key, h->cls, h->mode, h->flags);
	} else if (h != top) {
		held_remove(t, h);
		return;
	}
	t->depth--;
	if (path)
		t->npath--;
}

/* The thread's entries on the path of the fence at `fence` go (any life):
 * the path entries only, from the top, down to the last of them. */
static void path_leave(struct rt_thread *t, const void *fence)
{
	uint32_t left = t->npath;

	for (uint32_t i = t->depth; left && i-- > 0;) {
		if (!(t->held[i].flags & HF_PATH))
			continue;
		left--;
		if (t->held[i].instance == fence)
			path_entry_remove(t, &t->held[i]);
	}
}

/*
 * The class a fence is initialised with: the class of its last life when
 * the name is the same, without interning it again.  The same pointer is
 * the same text when it was a literal (read-only, its module not unloaded
 * since); another pointer, or one to writable memory, has its text
 * compared.
 */
static inline struct lock_class *init_class(struct fence *f, const char *name)
{
	if (!name)
		return cls_dma_fence;
	if (!f || f->cls_name != name || !f->cls)
		return NULL;
	if (likely(f->name_gen == atomic_load_explicit(&rt_unload_gen, memory_order_acquire)) ||
	    !strcmp(atomic_load(&f->cls->name), name))
		return f->cls;
	return NULL;
}

static inline unsigned rocache_slot(const char *name)
{
	return (unsigned)((uintptr_t)name >> 3) & (ROCACHE_SIZE - 1);
}

/* The class a literal name gave lately in this thread, or NULL: the text
 * of a literal cannot change while no module is unloaded. */
static inline struct lock_class *literal_class(struct rt_thread *t, const char *name)
{
	unsigned k = rocache_slot(name);

	if (t->rocache[k].name == name &&
	    t->rocache[k].gen == atomic_load_explicit(&rt_unload_gen, memory_order_acquire))
		return t->rocache[k].cls;
	return NULL;
}

/* rt_unload_gen if name is a literal, else 0; the thread remembers the
 * literals it has seen, and the class each one named. */
static uint64_t name_literal_gen(struct rt_thread *t, const char *name, struct lock_class *cls)
{
	uint64_t gen = atomic_load_explicit(&rt_unload_gen, memory_order_acquire);
	unsigned k = rocache_slot(name);

	if (t->rocache[k].name == name && t->rocache[k].gen == gen) {
		t->rocache[k].cls = cls;
		return gen;
	}
	if (!stack_addr_is_readonly(name))
		return 0;
	t->rocache[k].name = name;
	t->rocache[k].gen = gen;
	t->rocache[k].cls = cls;
	return gen;
}

static __attribute__((noinline)) void fence_init_slow(const void *fence,
						      const char *fence_class_name)
{
	struct rt_thread *t = thread_enter();
	struct fence *f;
	struct lock_class *cls;

	if (!t)
		return;
	/* the class of the cached record's last life, or of the literal the
	 * thread saw last, or the name's (a thread-cached lookup): then one
	 * look in the table, which makes the record of a new fence in the
	 * same step */
	f = fence_peek(t, fence);
	cls = init_class(f, fence_class_name);
	if (!cls && fence_class_name)
		cls = literal_class(t, fence_class_name);
	if (!cls)
		cls = fence_class(fence_class_name);
	if (f) {
		fence_restart(t, f, cls, FS_INIT, 0);
	} else {
		/* a record just made is a new life already */
		bool made = false;
		f = fence_lookup(t, fence, cls, &made);
		if (f && !made)
			fence_restart(t, f, cls, FS_INIT, 0);
	}
	if (f) {
		f->cls_name = fence_class_name;
		f->name_gen = fence_class_name ? name_literal_gen(t, fence_class_name, cls) : 0;
	}
	thread_leave();
}

/*
 * The inline fence paths run outside the runtime only (tls_busy clear), on
 * the thread word the lock fast paths read: never null, the record of the
 * thread or, until it has one, a record whose fence cache is empty, on
 * which each of them fails into its slow path at its first look.  rt_fast
 * is not read: publish, signal and init note nothing for a watchdog (a
 * wait tests fast_cap, 0 under one), and once checking has stopped what
 * they do changes the thread's own record and the fence's, and reports
 * nothing, as a lock fast path's push.
 */
static inline __attribute__((always_inline)) bool fence_inline_ok(void)
{
	return likely(!tls_busy);
}

RT_EXPORT void fdep_fence_init(const void *fence, const char *fence_class_name)
{
	struct rt_thread *t = tls_fast;
	struct fence *f;

	/* a fence re-initialised as in its last life, signalled or never
	 * published, its class named by the same literal: its record alone */
	if (fence_inline_ok() && (f = fence_peek(t, fence)) && f->cls_name == fence_class_name &&
	    likely(f->name_gen == atomic_load_explicit(&rt_unload_gen, memory_order_acquire)) &&
	    atomic_load_explicit(&f->state, memory_order_relaxed) != FS_PUBLISHED) {
		fence_renew(t, f);
		atomic_store_explicit(&f->state, FS_INIT, memory_order_release);
		return;
	}
	fence_init_slow(fence, fence_class_name);
}

/* The stack of a call site the thread captured lately, or 0. */
static inline uint32_t scache_peek(struct rt_thread *t, uintptr_t ip)
{
	unsigned k = scache_slot(ip);

	return t->scache[k].ip == ip ? t->scache[k].stack : 0;
}

/*
 * The publication of a fence the thread knows, initialised and not yet
 * published: the record restarted and the path entry pushed, as
 * fence_begin and path_join would, whatever the thread holds, on other
 * paths too.  The entry is a recursive-read trylock of a fence class: it
 * adds no edge into the class, recurses on nothing, and a fence class takes
 * no signal-context usage (sigusage.c), so validate_chain() would find
 * nothing to check; what the thread acquires above it is checked as
 * always, its chain key being new.  Not inside a signal handler (its frames
 * are checked first), nor with path entries to sweep first.  False: nothing
 * done.
 */
static inline __attribute__((always_inline)) bool publish_fast(struct rt_thread *t,
								const void *fence, uintptr_t ip)
{
	struct fence *f = fence_peek(t, fence);

	if (unlikely(!f || t->depth >= t->cap || t->sig_in))
		return false;
	if (unlikely(t->npath) && paths_stale(t))
		return false;
	uint8_t old = atomic_load_explicit(&f->state, memory_order_acquire);
	struct lock_class *cls = f->cls;
	uint32_t stack = scache_peek(t, ip);
	/* initialised (a signalled one starts a new life: the whole path),
	 * nobody on its path yet (an adopter of an unpublished fence) */
	if (unlikely(old != FS_INIT || !stack || !cls || f->adopted || cls->kind != CK_FENCE))
		return false;
	uint64_t key = chain_step(held_key(t), cls, HM_RECURSIVE, HF_PATH | HF_TRY);
	tls_busy = 1;
	f->publish_stack = stack;
	f->publisher = t->tid;
	atomic_store_explicit(&f->pub_slot, (uint16_t)(t->pslot + 1), memory_order_relaxed);
	atomic_store_explicit(&f->state, FS_PUBLISHED, memory_order_release);
	struct held *h = held_push_checked(t, cls, fence, HM_RECURSIVE, HF_PATH | HF_TRY, ip, key);
	h->fence_serial = atomic_load_explicit(&f->serial, memory_order_relaxed);
	h->fence = f;
	t->npath++;
	tls_busy = 0;
	return true;
}

static __attribute__((noinline)) void fence_publish_slow(const void *fence, uintptr_t ip)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	struct fence *f = fence_begin(t, fence, NULL, FS_PUBLISHED, stack_capture_site(t, ip));
	if (f)
		path_join(t, fence, f, ip);
	thread_leave();
}

RT_EXPORT void fdep_fence_publish(const void *fence)
{
	if (fence_inline_ok() && publish_fast(tls_fast, fence, RT_CALLER))
		return;
	fence_publish_slow(fence, RT_CALLER);
}

RT_EXPORT void fdep_fence_handoff(const void *fence)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	path_leave(t, fence);
	/* a fence the thread knows: its signal need not tell it */
	struct fence *f = fence_peek(t, fence);
	if (f)
		path_slots_leave(f, t);
	thread_leave();
}

RT_EXPORT void fdep_fence_adopt(const void *fence)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	struct fence *f = fence_get(t, fence, NULL);
	if (!f)
		f = fence_begin(t, fence, NULL, FS_INIT, 0);
	/* the slot first, then the state, against a signal's store of the
	 * state then read of the slots: one of the two sees the other */
	if (f)
		path_slot_add(f, t->pslot);
	if (f && atomic_load(&f->state) != FS_SIGNALLED) {
		f->adopted = true; /* its signal must reach this thread */
		path_join(t, fence, f, RT_CALLER);
	}
	thread_leave();
}

/*
 * The signal of a fence its own publisher signals, the one fence whose path
 * it is on, its entry on top of the held stack or just below a lock: the
 * record marked and the entry removed, as the slow path would.  No other
 * thread can be on the path (it was not adopted): nobody is told.
 */
static inline __attribute__((always_inline)) bool signal_fast(struct rt_thread *t,
							       const void *fence, uintptr_t ip)
{
	struct fence *f = fence_peek(t, fence);

	if (unlikely(!f || t->npath != 1 || t->spin_depth || !t->depth))
		return false;
	if (unlikely(atomic_load_explicit(&f->state, memory_order_acquire) != FS_PUBLISHED ||
		     f->adopted || f->publisher != t->tid))
		return false;
	uint32_t stack = scache_peek(t, ip);
	if (unlikely(!stack))
		return false;
	struct held *top = &t->held[t->depth - 1], *h = top;
	if (!(top->flags & HF_PATH)) {
		if (t->depth < 2 || (top->flags & HF_MERGED))
			return false;
		h = top - 1;
	}
	if (unlikely(!(h->flags & HF_PATH) || h->instance != fence))
		return false;
	tls_busy = 1;
	f->signal_stack = stack;
	atomic_store_explicit(&f->state, FS_SIGNALLED, memory_order_release);
	if (h != top) {
		held_lower(h, top);
		h->key = chain_step(h[-1].key, h->cls, h->mode, h->flags);
	}
	t->depth--;
	t->npath = 0;
	tls_busy = 0;
	return true;
}

static __attribute__((noinline)) void fence_signal_slow(const void *fence, uintptr_t ip)
{
	struct rt_thread *t = thread_enter();
	uint32_t first_signal = 0;
	struct lock_class *cls = NULL;
	bool twice = false;

	if (!t)
		return;
	uint32_t stack = stack_capture_site(t, ip);
	struct fence *f = fence_get(t, fence, cls_dma_fence);
	/* other threads on the path see the epoch move; the signaller leaves
	 * its own entry below */
	bool others = true, known = false;
	struct path_slots ps = { 0 };
	if (f) {
		cls = f->cls;
		twice = atomic_load_explicit(&f->state, memory_order_acquire) == FS_SIGNALLED;
		first_signal = f->signal_stack;
		if (!twice) {
			others = f->adopted || f->publisher != t->tid;
			f->signal_stack = stack;
			/* the slots of this life before the signal lets a new life
			 * begin, and again after it for an adopter just come (see
			 * fdep_fence_adopt: slot first, then state) */
			if (others)
				known = path_slots_read(f, &ps);
			atomic_store(&f->state, FS_SIGNALLED);
			if (others)
				known = known && path_slots_read(f, &ps);
		}
	}
	if (twice) {
		struct finding_in fi = {
			.kind = FK_FENCE_DOUBLE_SIGNAL,
			.title = "fence signalled twice",
			.detail = "a fence that already signalled is signalled again",
			.subject = { cls },
			.stack = stack,
			.notes = { { "first signalled at", first_signal } },
			.nnotes = 1,
		};
		report_finding(t, &fi);
	} else {
		if (others)
			path_notify(&ps, known, t);
		path_leave(t, fence);
	}
	thread_leave();
}

RT_EXPORT void fdep_fence_signal(const void *fence)
{
	if (fence_inline_ok() && signal_fast(tls_fast, fence, RT_CALLER))
		return;
	fence_signal_slow(fence, RT_CALLER);
}

static __attribute__((noinline)) void fence_wait_slow(const void *fence, uintptr_t ip)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	struct fence *f = fence_get(t, fence, NULL);
	uint8_t state = f ? atomic_load_explicit(&f->state, memory_order_acquire) : FS_INIT;
	struct lock_class *cls = f && f->cls ? f->cls : cls_dma_fence;
	if (state == FS_INIT) {
		struct finding_in fi = {
			.kind = FK_UNPUBLISHED_FENCE_WAIT,
			.title = "waiting for a fence that was never published",
			.detail = "a future fence: nothing guarantees it will ever signal",
			.subject = { cls },
			.stack = stack_capture(ip),
		};
		report_finding(t, &fi);
		thread_leave();
		return;
	}
	/* with nothing held, the wait has nothing to be checked against */
	if (t->depth) {
		uint64_t serial = atomic_load_explicit(&f->serial, memory_order_acquire);
		if (paths_stale(t))
			held_sweep_paths(t);
		for (uint32_t i = 0; t->npath && i < t->depth; i++) {
			struct held *h = &t->held[i];
			if ((h->flags & HF_PATH) && h->instance == fence && h->fence_serial == serial) {
				struct finding_in fi = {
					.kind = FK_FENCE_SELF_WAIT,
					.title = "waiting for a fence on its own signalling path",
					.detail = "this thread must run for the fence to signal, and it waits for it",
					.subject = { cls },
					.stack = stack_capture(ip),
					.notes = { { "published at", f->publish_stack } },
					.nnotes = 1,
				};
				report_finding(t, &fi);
				thread_leave();
				return;
			}
		}
		rt_blocking_allowed(t, "a fence wait while a spinning lock is held", ip);
		rt_check_acquire(t, cls, HM_EXCLUSIVE, cls, ip);
	}
	if (unlikely(rt_watchdog_ns) && state == FS_PUBLISHED)
		wait_begin(t, fence, WAIT_FENCE); /* until it signals (watchdog.c) */
	thread_leave();
}

RT_EXPORT void fdep_fence_wait(const void *fence)
{
	struct rt_thread *t = tls_fast;

	/* nothing held and a fence known to be published: nothing to check,
	 * but for a watchdog (fast_cap 0), which notes a wait that may block */
	if (fence_inline_ok() && !t->depth && t->fast_cap) {
		struct fence *f = fence_peek(t, fence);
		if (f && atomic_load_explicit(&f->state, memory_order_acquire) != FS_INIT)
			return;
	}
	fence_wait_slow(fence, RT_CALLER);
}

RT_EXPORT void fdep_fence_destroy(const void *fence)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	uint64_t key = fence_key(fence);
	struct fshard *s = fshard_of(key);
	rt_lock(&s->lock);
	struct fence *f = fshard_find(s, key, fence);
	if (f) {
		/* before the record can live again; a signal told everyone
		 * on the path already (a signalled life is over for good) */
		if (atomic_load(&f->state) != FS_SIGNALLED)
			path_notify_all(f, t);
		fence_unlink(s, key, f);
	}
	rt_unlock(&s->lock);
	if (f)
		path_leave(t, fence);
	thread_leave();
}

RT_EXPORT bool fdep_signalling_begin(void)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return true;
	for (uint32_t i = 0; i < t->depth; i++) {
		if (t->held[i].cls == cls_dma_fence && t->held[i].mode == HM_RECURSIVE) {
			thread_leave();
			return true; /* already inside: the cookie says so */
		}
	}
	rt_acquire(t, cls_dma_fence, &section_marker, HM_RECURSIVE, HF_SECTION | HF_TRY, NULL,
		   RT_CALLER);
	thread_leave();
	return false;
}

RT_EXPORT void fdep_signalling_end(bool cookie)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	if (!cookie) {
		for (uint32_t i = t->depth; i-- > 0;) {
			if (t->held[i].flags & HF_SECTION) {
				path_entry_remove(t, &t->held[i]);
				break;
			}
		}
	}
	thread_leave();
}

void fence_exit_check(void)
{
	struct lock_class *cls[64];
	uint32_t stacks[64], n = 0;

	for (unsigned i = 0; i < FSHARDS && n < 64; i++) {
		struct fshard *s = &fshards[i];
		rt_lock(&s->lock);
		for (uint64_t b = 0; b < s->nbuckets && n < 64; b++)
			for (struct fence *f = s->buckets[b]; f && n < 64; f = f->hnext)
				if (f->state == FS_PUBLISHED) {
					cls[n] = f->cls;
					stacks[n++] = f->publish_stack;
				}
		rt_unlock(&s->lock);
	}
	for (uint32_t i = 0; i < n; i++) {
		struct finding_in fi = {
			.kind = FK_FENCE_NEVER_SIGNALLED,
			.title = "published fence never signalled",
			.detail = "a fence was published and was still unsignalled at exit",
			.subject = { cls[i] },
			.stack = stacks[i],
		};
		report_finding(tls_thread, &fi);
	}
}

void fence_fork(int phase)
{
	for (unsigned i = 0; i < FSHARDS; i++)
		rt_lock_fork(&fshards[i].lock, phase);
}

void fence_dump(struct rt_buf *b, bool in_signal)
{
	size_t n = 0;
	bool changing = false;

	for (unsigned i = 0; i < FSHARDS; i++) {
		struct fshard *s = &fshards[i];
		if (in_signal ? !rt_trylock(&s->lock) : (rt_lock(&s->lock), false)) {
			changing = true; /* a handler never waits for a lock its thread may hold */
			continue;
		}
		for (uint64_t k = 0; k < s->nbuckets; k++) {
			for (struct fence *f = s->buckets[k]; f; f = f->hnext) {
				if (f->state != FS_PUBLISHED)
					continue;
				if (!n++)
					buf_puts(b, "  published fences not yet signalled:\n");
				const char *name = atomic_load(&f->cls->name);
				buf_printf(b, "    %s %p, published by thread %d\n",
					   name ? name : "?", f->addr, (int)f->publisher);
			}
		}
		rt_unlock(&s->lock);
	}
	if (changing)
		buf_puts(b, "  (some fences are changing)\n");
	else if (!n)
		buf_puts(b, "  no published fence is pending\n");
}
