/*
 * hot.h - the fast paths, inline: every interposed lock, unlock and
 * allocation runs through these, and on a chain the cache has seen they
 * are all there is.  Whatever they cannot decide goes to the *_slow
 * function of the same event, which does the whole work.
 */
#ifndef FDEP_HOT_H
#define FDEP_HOT_H

/* The thread's state for one event, or NULL to pass through untracked. */
static inline struct rt_thread *thread_enter(void)
{
	struct rt_thread *t = tls_thread;

	/* a thread past its end keeps tls_busy set (init.c) */
	if (likely(t && !tls_busy &&
		   atomic_load_explicit(&rt_state, memory_order_relaxed) == RT_READY)) {
		tls_busy = 1;
		return t;
	}
	return thread_enter_slow();
}

/*
 * The thread's state when an event can be handled inline without entering
 * the runtime (fast paths ready, not inside the runtime), else NULL.  What
 * runs then touches no runtime lock, so a signal handler that interrupts
 * it does no harm; a held-stack push still sets tls_busy around itself.
 */
static inline struct rt_thread *thread_peek(void)
{
	struct rt_thread *t = tls_thread;

	if (likely(t && !tls_busy && atomic_load_explicit(&rt_fast, memory_order_relaxed)))
		return t;
	return NULL;
}

static inline void thread_leave(void)
{
	tls_busy = 0;
}

/*
 * The top entry of the held stack (held[-1] when it is empty), for the
 * unlock fast paths: on x86-64 the array's address is added from memory,
 * where the compiler would load it aside and form the entry's address with
 * one more instruction.
 */
static inline __attribute__((always_inline)) struct held *held_top(const struct rt_thread *t)
{
	uintptr_t top = (uintptr_t)t->depth * sizeof(struct held);

#if defined(__x86_64__)
	__asm__("addq %1, %0" : "+r"(top) : "m"(t->held));
#else
	top += (uintptr_t)t->held;
#endif
	return (struct held *)top - 1;
}

/* The chain key of the held stack: its top entry's, or on an empty stack
 * the entry below the bottom's (the signal and event contexts' base, 0
 * without either). */
static inline __attribute__((always_inline)) uint64_t held_key(const struct rt_thread *t)
{
	return held_top(t)->key;
}

/*
 * One step of the chain key: the held entry's class, mode and trylock.  The
 * class enters by its address, not its id, which would be one more load on
 * every lock: both are reused only after class_release(), which takes
 * classes that never had an edge, or dead ones once every chain cache was
 * emptied since they died (graph.c), so a reused address stands for no
 * chain that was checked with edges.  Class records are 8-byte aligned, which
 * leaves the low three bits to the mode and the trylock flag.
 */
static inline uint64_t chain_step(uint64_t key, const struct lock_class *c, int mode,
				  unsigned hflags)
{
	uint64_t v = (uint64_t)(uintptr_t)c | ((uint64_t)mode << 1) | !!(hflags & HF_TRY);

	/* one multiply, whose high half depends on every bit of its input,
	 * rotated into the low half that indexes the caches and the table
	 * (chain.c); a step is a bijection of key ^ v, so two stacks collide
	 * only by that xor, with odds of 2^-64.  The odd multiplier fits an
	 * instruction's 32-bit immediate: no register to load it into. */
	key = (key ^ v) * 0x6c8e9cf5ull;
	return (key << 32) | (key >> 32);
}

static inline uint64_t chain_key_nonzero(uint64_t key)
{
	return key ? key : 1;
}

/* What an empty slot i of the chain cache holds: its low bits are not i,
 * so no key that indexes slot i equals it, zero included. */
static inline uint64_t ccache_empty(unsigned i)
{
	return (uint64_t)i ^ 1;
}

/* Has this chain been validated?  Lock-free. */
static inline __attribute__((always_inline)) bool chain_lookup(uint64_t key)
{
	struct chain_table *t = atomic_load_explicit(&chain_table, memory_order_acquire);

	if (unlikely(!t))
		return false;
	key = chain_key_nonzero(key);
	for (uint64_t i = key & t->mask;; i = (i + 1) & t->mask) {
		uint64_t k = atomic_load_explicit(&t->keys[i], memory_order_relaxed);
		if (k == key)
			return true;
		if (!k)
			return false;
	}
}

/*
 * The thread's chain cache: two ways of CCACHE_SIZE slots, the key's low
 * byte picks the set.  The fast paths probe way 0 alone, with one load;
 * a key found in way 1 trades places with way 0's, so the one used last
 * is where they look.
 */
static inline __attribute__((always_inline)) bool ccache_way0(const struct rt_thread *t,
							      uint64_t key)
{
	return t->ccache[key & (CCACHE_SIZE - 1)] == key;
}

/* A key found in the shared table (or validated), into way 0, whose key
 * goes to way 1 (the older of the set's two goes). */
static inline void ccache_put(struct rt_thread *t, uint64_t key)
{
	unsigned i = key & (CCACHE_SIZE - 1);

	t->ccache2[i] = t->ccache[i];
	t->ccache[i] = key;
}

/* Way 1: a key there trades places with way 0's. */
static inline bool ccache_way1(struct rt_thread *t, uint64_t key)
{
	unsigned i = key & (CCACHE_SIZE - 1);

	if (t->ccache2[i] != key)
		return false;
	t->ccache2[i] = t->ccache[i];
	t->ccache[i] = key;
	return true;
}

/* chain_seen() past a miss in way 0 of the thread's cache. */
static inline __attribute__((always_inline)) bool chain_seen_missed(struct rt_thread *t,
								     uint64_t key)
{
	/* the misses inline too: a call would cost every lock saved
	 * registers */
	if (ccache_way1(t, key))
		return true;
	if (!chain_lookup(key))
		return false;
	/* the set again, not kept across the probe: a register held over it
	 * would cost every lock a saved register */
	uint64_t k = key;
	__asm__("" : "+r"(k));
	ccache_put(t, k);
	return true;
}

/*
 * Has this chain been validated?  The thread's own cache of chains it found
 * lately answers with one load, where the shared table takes three that
 * depend on each other.  A key once found in the shared table is true for
 * good, in any thread and after fork, even after the full table let it go
 * (chain.c): keys are only ever evicted, never made wrong.
 */
static inline __attribute__((always_inline)) bool chain_seen(struct rt_thread *t, uint64_t key)
{
	/* an empty slot holds ccache_empty(), which no key indexing it equals */
	if (likely(ccache_way0(t, key)))
		return true;
	return chain_seen_missed(t, key);
}

/* Nonzero when the thread holds a spinning lock or a path entry: spin_depth
 * and npath in one load (runtime.h keeps them side by side). */
static inline uint32_t held_special(const struct rt_thread *t)
{
	uint32_t w;

	__builtin_memcpy(&w, &t->spin_depth, sizeof(w));
	return w;
}

/* The depth, plus 2^32 times that word: the depth when the thread holds
 * neither a spinning lock nor a path entry, else more than any cap. */
static inline uint64_t held_word(const struct rt_thread *t)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t w;

	__builtin_memcpy(&w, &t->depth, sizeof(w));
	return w;
#else
	return t->depth | (uint64_t)held_special(t) << 32;
#endif
}

/* On a signalling path, and a fence signalled since the thread last swept
 * its path entries (held_sweep_paths)? */
static inline bool paths_stale(const struct rt_thread *t)
{
	return t->npath &&
	       (t->path_epoch != atomic_load_explicit(&fence_signal_epoch, memory_order_relaxed) ||
		t->pmail_seen != atomic_load_explicit(&path_mail[t->pslot].n, memory_order_relaxed));
}

/*
 * The slot of the thread's instance cache for a lock at addr, as the byte
 * offset of its pointer in t->icache.  One slot per 4-byte unit: two
 * 4-byte locks side by side (spinlocks, futex words, OpenMP locks) each
 * have their own, where one per 8 bytes made them evict each other on
 * every alternation.  The masked address is the offset halved, which x86
 * addressing scales back for free: no shift on the fast paths.
 */
static inline uintptr_t icache_slot_half(const void *addr)
{
	return (uintptr_t)addr & ((ICACHE_SIZE - 1) << 2);
}

static inline struct instance **icache_slot(struct rt_thread *t, const void *addr)
{
	return (struct instance **)((char *)t->icache + icache_slot_half(addr) * 2);
}

/* The instance at addr if the thread's small cache has it, else NULL. */
static inline struct instance *icache_peek(struct rt_thread *t, const void *addr)
{
	struct instance *in = *icache_slot(t, addr);

	/* an instance another address shares the slot with, or one freed
	 * (rt_free writes its free-list link over addr), is not addr's; an
	 * empty slot holds icache_none, which is no object's */
	if (likely(in->addr == addr))
		return in;
	return NULL;
}

/* The instance at addr, from the thread's small cache when it can.  A
 * cached record of another kind of pthread lock than `type` is one whose
 * memory the program reused without a destroy: instance_get_slow decides. */
static inline struct instance *instance_get(struct rt_thread *t, const void *addr, int type,
					    uintptr_t site)
{
	struct instance *in = t ? icache_peek(t, addr) : NULL;
	int k = type & ~IT_FROM_INIT;

	if (likely(in) && likely(k < IT_MUTEX || k > IT_SPIN || in->type == k))
		return in;
	return instance_get_slow(addr, type, site);
}

/* Nonzero when the entry cannot simply be popped: a recursive hold
 * (refs), a spin or a path entry.  flags and refs in one load (runtime.h
 * keeps them in one word); the mask takes the top bit of `zero` as well,
 * which makes it a sign-extended 32-bit immediate: one test instruction,
 * no 64-bit constant to load first. */
static inline uint64_t held_pop_word(const struct held *h)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t w;

	__builtin_memcpy(&w, &h->flags, sizeof(w));
	return w & (0xffffffff80000000ull | HF_PATH | HF_SPIN);
#else
	return h->refs | (h->flags & (HF_PATH | HF_SPIN));
#endif
}

/* flags, mode, zero and refs = 0 of a new entry, with one store when it
 * can. */
static inline void held_set_word(struct held *h, int mode, unsigned hflags)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t w = (uint8_t)hflags | (uint64_t)(uint8_t)mode << 8;

	__builtin_memcpy(&h->flags, &w, sizeof(w));
#else
	h->flags = (uint8_t)hflags;
	h->mode = (uint8_t)mode;
	h->zero = 0;
	h->refs = 0;
#endif
}

/*
 * One more or one less entry on the fast paths: on x86-64 one instruction
 * on the field in memory, where the compiler keeps the depth it loaded to
 * find the entry and stores that plus or minus one (a copy, an add and a
 * store).  No atomicity is needed: only the thread itself changes its
 * depth, and a signal handler that interrupts leaves it as it found it.
 */
static inline __attribute__((always_inline)) void held_depth_add(struct rt_thread *t, int delta)
{
#if defined(__x86_64__)
	__asm__("addl %1, %0" : "+m"(t->depth) : "ri"(delta));
#else
	t->depth += (uint32_t)delta;
#endif
}

/*
 * Push an entry whose chain, `key`, is known to be validated (or is one
 * lock) at h, the slot above the top; there is room (depth < cap).  fence
 * and fence_serial are left for the caller: they matter only with HF_PATH.
 */
static inline __attribute__((always_inline)) struct held *
held_push_at(struct rt_thread *t, struct held *h, struct lock_class *c, const void *inst,
	     int mode, unsigned hflags, uintptr_t ip, uint64_t key)
{
	held_depth_add(t, 1);

	h->cls = c;
	h->instance = inst;
	h->nest = NULL;
	h->ip = ip;
	h->key = key;
	held_set_word(h, mode, hflags);
	t->fast_hits++;
	return h;
}

static inline __attribute__((always_inline)) struct held *
held_push_checked(struct rt_thread *t, struct lock_class *c, const void *inst, int mode,
		  unsigned hflags, uintptr_t ip, uint64_t key)
{
	return held_push_at(t, &t->held[t->depth], c, inst, mode, hflags, ip, key);
}

/*
 * An entry moved one down, field by field but for its key: the entry
 * above was most likely pushed a moment ago by eight-byte stores, and a
 * copy in wider loads that straddle them would wait for those stores to
 * reach the cache.
 */
static inline void held_move(struct held *to, const struct held *from)
{
	to->cls = from->cls;
	to->instance = from->instance;
	to->nest = from->nest;
	to->ip = from->ip;
	to->fence_serial = from->fence_serial;
	to->fence = from->fence;
	to->refs = from->refs;
	to->mode = from->mode;
	to->flags = from->flags;
}

/*
 * A lone lock's chain missing from the thread's cache (pushed out by other
 * chains): nothing held and no context (key 0), no handler running and no
 * signal with a handler deliverable, as of the handlers installed now (a
 * handler installed since makes rt_acquire_slow look at the thread's mask
 * again), and a class: what rt_acquire_slow would do is then the push
 * alone (its chain adds no edge), so it is done here.  Tested only after
 * the cache missed: a hit costs nothing more.
 */
static inline __attribute__((always_inline)) bool lone_push_ok(const struct rt_thread *t,
							      const struct lock_class *c,
							      uint64_t prev)
{
	return !prev && c && !(t->sig_in | t->sig_deliv) &&
	       t->sig_gen == atomic_load_explicit(&sig_handled_gen, memory_order_relaxed);
}

/*
 * The push of an acquisition that needs no check: no spinning lock held, no
 * signalling path to sweep, no spin or path entry pushed, and the chain seen
 * before.  False: nothing done, the caller
 * goes to rt_acquire_slow.
 *
 * probe_table: a key missing from way 0 of the thread's cache is looked
 * for in way 1 and the shared table too.  probe_empty: a chain of one lock
 * is looked for as well, see rt_push_fast_seen().
 */
static inline __attribute__((always_inline)) bool
rt_push_fast_probe(struct rt_thread *t, struct lock_class *c, const void *inst, int mode,
		   unsigned hflags, uintptr_t ip, bool probe_table, bool probe_empty)
{
	/* the depth, and past fast_cap as well when a spinning lock or a path
	 * entry is held: one test for the three */
	uint64_t depth = held_word(t);
	if (unlikely(depth >= t->fast_cap)) {
		/* fast_cap loaded again: kept in a register, the test above
		 * would cost an instruction more */
		__asm__ volatile("" ::: "memory");
		if ((uint32_t)depth >= t->fast_cap || t->spin_depth || paths_stale(t))
			return false;
		depth = (uint32_t)depth;
	}
	/* the slot above the top, and below it the top (or held[-1]) */
	struct held *h = t->held + depth;
	uint64_t prev = h[-1].key;
	uint64_t key = chain_step(prev, c, mode, hflags);
	/* a chain of one lock has nothing to validate, unless it starts from
	 * a signal context (preload/signal.c): then the usage bits do.  The key
	 * of a held stack is 0 when it is empty and no signal context (nor event
	 * context, event.c) is set
	 * (and otherwise 0 only with odds of 2^-64): testing it, already in a
	 * register, costs less than testing depth did */
	if ((probe_empty || prev) && unlikely(!ccache_way0(t, key))) {
		/* the slot and the key below it again, not kept over the
		 * probe of way 0: registers held over it would cost every lock
		 * an instruction or a saved register */
		__asm__ volatile("" ::: "memory");
		/* a lone lock's chain goes back to way 0, as the slow path
		 * puts it there: the next acquisition hits */
		if (probe_empty && lone_push_ok(t, c, held_key(t)))
			ccache_put(t, key);
		else if (!(probe_table && chain_seen_missed(t, key)))
			return false;
		__asm__ volatile("" ::: "memory");
		h = t->held + t->depth;
	}
	held_push_at(t, h, c, inst, mode, hflags, ip, key);
	return true;
}

static inline __attribute__((always_inline)) bool
rt_push_fast(struct rt_thread *t, struct lock_class *c, const void *inst, int mode, unsigned hflags,
	     uintptr_t ip)
{
	return rt_push_fast_probe(t, c, inst, mode, hflags, ip, true, false);
}

/*
 * rt_push_fast() that looks up every chain, a lone lock's too, and so may
 * be given the class of an instance without testing it: no chain of a
 * null class is ever validated (the slow paths track no lock without a
 * class), so its key is in no cache, but with odds of 2^-64 (the key of
 * a null class on an empty stack is 0, which no empty slot holds and no
 * chain has).  The lock fast paths (preload/libfast.h) save the test of
 * the class and that of an empty stack: two each, where the probe of a
 * lone lock's chain costs three; a lone lock's chain is in the shared
 * table from its first acquisition on the slow path (validate_chain).
 */
static inline __attribute__((always_inline)) bool
rt_push_fast_seen(struct rt_thread *t, struct lock_class *c, const void *inst, int mode,
		  unsigned hflags, uintptr_t ip)
{
	return rt_push_fast_probe(t, c, inst, mode, hflags, ip, true, true);
}

/*
 * rt_push_fast_seen() that leaves a chain missing from way 0 of the
 * thread's cache to the slow path (which puts it there): the probe of the
 * shared table needs registers that a push with a variable mode (an
 * rwlock's) would otherwise save and restore on every call.
 */
static inline __attribute__((always_inline)) bool
rt_push_fast_cached(struct rt_thread *t, struct lock_class *c, const void *inst, int mode,
		    unsigned hflags, uintptr_t ip)
{
	return rt_push_fast_probe(t, c, inst, mode, hflags, ip, false, true);
}

/* Acquire: a seen chain is a push; anything else is rt_acquire_slow.  A
 * lone lock's chain too, which the slow path validates and caches once:
 * the lock fast paths (rt_push_fast_seen) find it there after the first
 * acquisition, which comes here. */
static inline void rt_acquire(struct rt_thread *t, struct lock_class *c, const void *inst,
			      int mode, unsigned hflags, const void *nest, uintptr_t ip)
{
	if (likely(!nest && !(hflags & (HF_SPIN | HF_PATH))) &&
	    rt_push_fast_seen(t, c, inst, mode, hflags, ip))
		return;
	rt_acquire_slow(t, c, inst, mode, hflags, nest, ip);
}

/*
 * An allocation with something held: done here when the chain "held stack,
 * then fs_reclaim" was seen before, or the thread is in reclaim or a
 * no-reclaim scope; false sends it to rt_allocation.
 */
static inline __attribute__((always_inline)) bool rt_allocation_fast(struct rt_thread *t)
{
	if (t->reclaim_depth | t->noreclaim)
		return true;
	if (held_special(t) | t->dead)
		return false;
	if (!chain_seen(t, chain_step(held_key(t), cls_fs_reclaim, HM_EXCLUSIVE, 0)))
		return false;
	t->fast_hits++;
	return true;
}


/*
 * The pop alone, for the unlock fast path, which does not enter the thread:
 * nothing here calls out, and a signal handler that interrupts it pushes
 * and pops above the entry being popped, leaving it as it was.
 */
static inline bool rt_release_top(struct rt_thread *t, const void *inst)
{
	/* on an empty stack, the entry below the bottom, which never pops
	 * (held.c) */
	struct held *h = held_top(t);

	if (likely(h->instance == inst && !held_pop_word(h))) {
		held_depth_add(t, -1);
		return true;
	}
	return false;
}

/* Release: the top entry is a pop; anything else is rt_release_slow. */
static inline bool rt_release(struct rt_thread *t, const void *inst, uintptr_t ip)
{
	return rt_release_top(t, inst) || rt_release_slow(t, inst, ip);
}

/* The first marked line in [l, last], or last + 1: a word of the bitmap,
 * 64 lines, at a time. */
static inline uintptr_t instance_next_marked(uintptr_t l, uintptr_t last)
{
	while (l <= last) {
		uint64_t bit = l & (INSTANCE_BLOOM_BITS - 1);
		uint64_t w = atomic_load_explicit(&instance_bloom[bit / 64], memory_order_relaxed) >>
			     (bit % 64);
		if (w) {
			uintptr_t next = l + (uintptr_t)__builtin_ctzll(w);
			return next <= last ? next : last + 1;
		}
		l += 64 - bit % 64;
	}
	return last + 1;
}

/*
 * May [p, p+len) contain a lock instance or a fence?  A cheap, conservative
 * test on every free(): a block within one 64-line run of the bitmap is one
 * or two masked words.
 */
static inline bool instance_may_contain(const void *p, size_t len)
{
	uintptr_t first = (uintptr_t)p >> INSTANCE_LINE_SHIFT;
	uintptr_t last = ((uintptr_t)p + (len ? len - 1 : 0)) >> INSTANCE_LINE_SHIFT;

	if (last - first >= 64)
		return instance_may_contain_slow(p, len);
	uint64_t b0 = first & (INSTANCE_BLOOM_BITS - 1), b1 = last & (INSTANCE_BLOOM_BITS - 1);
	uint64_t w0 = atomic_load_explicit(&instance_bloom[b0 / 64], memory_order_relaxed);
	/* the common answer: no object anywhere in the (one or two) words
	 * that cover the block */
	if (likely(!(w0 | atomic_load_explicit(&instance_bloom[b1 / 64], memory_order_relaxed))))
		return false;
	if (b0 / 64 == b1 / 64 && b0 <= b1) {
		uint64_t n = b1 - b0 + 1;
		uint64_t mask = (n == 64 ? ~0ull : ((1ull << n) - 1)) << (b0 % 64);
		return w0 & mask;
	}
	return instance_may_contain_slow(p, len);
}

/* The stack of a call site this thread has captured lately, without
 * unwinding again: fence publish and signal sites. */
static inline uint32_t stack_capture_site(struct rt_thread *t, uintptr_t ip)
{
	unsigned k = scache_slot(ip);

	if (likely(t && t->scache[k].ip == ip && t->scache[k].stack))
		return t->scache[k].stack;
	return stack_capture_site_slow(t, ip);
}

#endif /* FDEP_HOT_H */
