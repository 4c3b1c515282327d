/*
 * instance.c - lock instances: which class the lock at an address is in.
 *
 * A sharded hash keyed by the 64-byte line of the address, so that freeing
 * memory can find every instance inside the freed range by visiting its
 * lines, and a bitmap over lines, with the free window over it, that tells
 * cheaply that a freed range holds no instance nor fence at all (the
 * common case on every free()).  An address reused after free is a new
 * instance, hence a new class.
 */
#include <string.h>

#include "runtime.h"

#define SHARDS 64
#define LINE_SHIFT INSTANCE_LINE_SHIFT

struct shard {
	struct rt_lock lock;
	struct instance **buckets;
	uint64_t nbuckets, count;
} __attribute__((aligned(64)));

static struct shard shards[SHARDS];
_Atomic uint64_t instance_bloom[INSTANCE_BLOOM_BITS / 64];
_Atomic size_t instance_live;
_Atomic size_t release_watch;

/*
 * The first instance outside static storage holds release_watch up for
 * good: free() looks at blocks from then on anyway (free_watch_start), and
 * a count moved by every lock made and destroyed would be a line written
 * by all threads.
 */
static _Atomic bool heap_instances;

static void heap_instances_watched(void)
{
	if (likely(atomic_load_explicit(&heap_instances, memory_order_relaxed)))
		return;
	if (!atomic_exchange(&heap_instances, true))
		release_watch_raise();
}

static inline uint64_t line_hash(uintptr_t line)
{
	return object_line_hash(line);
}

static inline struct shard *shard_of(uint64_t h)
{
	return &shards[h >> 58];
}

/*
 * Each line (modulo the bitmap size: a "bit") has two bytes here.
 *
 * line_count[bit]: the objects (instances and fences) on the bit, exactly:
 * one atomic add when one is made, one when it goes (the low 6 bits; the
 * top two count the frees that met the bit empty: LINE_MET).  A count that
 * reaches its limit stays there for good.
 *
 * line_state[bit]: 1 while the bit is counted - its bit set in the bitmap,
 * and it is in the free windows that see it.  That is kept lazily: a bit
 * is counted when an object is made on it and is not counted yet, and it
 * stays counted when its objects go, so that making and destroying objects
 * on lines counted already moves no word of the bitmap nor of the window.
 * A free() that meets a counted bit whose count is zero (free_watched in
 * preload/malloc.c) lets the block go all the same, having read that one
 * byte, and may let the bit go (free_window_block).
 *
 * Why no free of a live object is ever waved through:
 *  - Every object is made under the lock of its table's shard (instance
 *    shards here, fence shards in fence.c), both tables hashing a line by
 *    its bit alone (object_line_hash), so that every object of one bit is
 *    made under one lock of each table.  instance_mark_line() runs under
 *    that lock: it raises the count first, then reads the state (acquire)
 *    and writes nothing more when the bit is counted; else it adds the bit
 *    to its windows and sets its bit, then moves the state 0 -> 1, taking
 *    its adds back when the other table's maker did that first (the only
 *    other writer that can run meanwhile: one of the same table waits for
 *    the shard lock).  The state reads 1 only after the window and the
 *    bitmap have the bit.
 *  - Only instance_line_release() clears a bit, holding the fence shard's
 *    lock and then the instance shard's (the order of fork_all), and only
 *    when the count is zero: then no object of the bit exists, and none can
 *    be made until both locks are let go, by which time the bit is out of
 *    the windows, the bitmap and the state alike; the next maker finds the
 *    state 0 and counts the bit again.
 *  - An object's count comes down only after it is out of its table, and
 *    its maker's raise is ordered before any free of its memory by the
 *    program: a free that reads a zero count for every bit of its block
 *    holds no live object.
 * So from the moment a maker returns until its object is forgotten, the
 * bit is counted and its count is not zero: a free() of the object's
 * memory sees it in the window, the bitmap and the count, and goes to the
 * slow path that forgets it.
 */
#define LINE_COUNT_STUCK 0x3f
#define LINE_MET 0x40 /* see free_window_block */
#define LINE_MET_LIMIT 0x80
static _Atomic uint8_t line_count[INSTANCE_BLOOM_BITS];
static _Atomic uint8_t line_state[INSTANCE_BLOOM_BITS];

static inline uint64_t line_bit(const void *addr)
{
	return ((uintptr_t)addr >> LINE_SHIFT) & (INSTANCE_BLOOM_BITS - 1);
}

/*
 * The free window: one count per line L (modulo the bitmap size), of the
 * lines L .. L + FREE_WINDOW_LINES - 1 that are counted.  A block of
 * glibc's heap small enough to lie within the window of its first line
 * holds no object when that one count is zero: free()'s fast path reads one
 * byte, where the bitmap would take a size and a range of bits.  A line
 * enters the windows that see it when it is counted, and leaves them when
 * it is let go; the count of line 0 is held up by one for good once the
 * table is in use, so that free(NULL) and a thread whose mask sends every
 * block to index 0 (preload/malloc.c: free_window_quiet) never pass.  The
 * counts are packed eight to a word and moved with one atomic add a word:
 * a count never goes below zero nor above twice the window (a line being
 * counted by the makers of both tables at once, one of which takes its
 * adds back), so no carry crosses bytes.  The table is untouched (zero
 * pages) away from objects.
 */
static _Alignas(64) _Atomic uint64_t free_window_words[INSTANCE_BLOOM_BITS / 8];
static const uint8_t free_window_closed = 1;
_Atomic(const uint8_t *) free_window = &free_window_closed;
_Atomic uintptr_t free_window_mask;
__thread const uint32_t *tls_alloc_gate __attribute__((tls_model("initial-exec"))) =
	&alloc_gate_open;
__thread uintptr_t tls_free_mask __attribute__((tls_model("initial-exec")));
const uint32_t alloc_gate_open = 0, alloc_gate_shut = 1;

/* Add delta to the counts of lines [lo, lo + n), n <= 64, no wrap. */
static void free_window_add_run(uint64_t lo, uint64_t n, int delta)
{
	while (n) {
		uint64_t w = lo / 8, first = lo % 8, k = 8 - first < n ? 8 - first : n;
		uint64_t ones = (k == 8 ? ~0ull : ((1ull << (8 * k)) - 1)) & 0x0101010101010101ull;
		ones <<= 8 * first;
		if (delta > 0)
			atomic_fetch_add(&free_window_words[w], ones);
		else
			atomic_fetch_sub(&free_window_words[w], ones);
		lo += k;
		n -= k;
	}
}

/* Line `bit` enters (delta 1) or leaves (-1) the windows that see it: those
 * of the lines up to FREE_WINDOW_LINES - 1 below it, wrapping at 0. */
static void free_window_add(uint64_t bit, int delta)
{
	uint64_t below = FREE_WINDOW_LINES - 1;

	if (bit >= below) {
		free_window_add_run(bit - below, FREE_WINDOW_LINES, delta);
		return;
	}
	free_window_add_run(0, bit + 1, delta);
	free_window_add_run(INSTANCE_BLOOM_BITS - (below - bit), below - bit, delta);
}

void free_window_open(void)
{
	if (atomic_load(&free_window_mask))
		return;
	free_window_add_run(0, 1, 1); /* line 0 never passes */
	atomic_store_explicit(&free_window, (const uint8_t *)free_window_words,
			      memory_order_release);
	atomic_store_explicit(&free_window_mask, INSTANCE_BLOOM_BITS - 1, memory_order_release);
}

/* The object at addr is in its table; the lock of its shard held. */
void instance_mark_line(const void *addr)
{
	uint64_t bit = line_bit(addr);
	_Atomic uint8_t *c = &line_count[bit], *st = &line_state[bit];
	uint8_t v = atomic_load_explicit(c, memory_order_relaxed);

	/* the count up, LINE_MET off */
	while ((v & LINE_COUNT_STUCK) != LINE_COUNT_STUCK &&
	       !atomic_compare_exchange_weak(c, &v, (uint8_t)((v & LINE_COUNT_STUCK) + 1)))
		;
	if (likely(atomic_load_explicit(st, memory_order_acquire)))
		return; /* counted already: no word of the window to move */
	free_window_add(bit, 1);
	atomic_fetch_or(&instance_bloom[bit / 64], 1ull << (bit % 64));
	v = 0;
	if (!atomic_compare_exchange_strong(st, &v, 1))
		free_window_add(bit, -1); /* the other table's maker counted it */
}

/* The object at addr is out of its table: its bit stays counted. */
void instance_unmark_line(const void *addr)
{
	_Atomic uint8_t *c = &line_count[line_bit(addr)];
	uint8_t v = atomic_load_explicit(c, memory_order_relaxed);

	do {
		if (v == LINE_COUNT_STUCK || !(v & LINE_COUNT_STUCK))
			return;
	} while (!atomic_compare_exchange_weak(c, &v, (uint8_t)(v - 1)));
}

bool instance_may_contain_slow(const void *p, size_t len)
{
	uintptr_t first = (uintptr_t)p >> LINE_SHIFT;
	uintptr_t last = ((uintptr_t)p + (len ? len - 1 : 0)) >> LINE_SHIFT;

	return instance_next_marked(first, last) <= last;
}

/* Grow a shard's bucket array (its lock held). */
static uint64_t instance_node_hash(const void *node)
{
	return line_hash((uintptr_t)((const struct instance *)node)->addr >> LINE_SHIFT);
}

static void shard_grow(struct shard *s)
{
	s->buckets = (struct instance **)table_grow((void **)s->buckets, &s->nbuckets, 64,
						    offsetof(struct instance, hnext),
						    instance_node_hash);
}

static struct instance *shard_find(struct shard *s, uint64_t h, const void *addr)
{
	if (!s->nbuckets)
		return NULL;
	for (struct instance *in = s->buckets[h & (s->nbuckets - 1)]; in; in = in->hnext)
		if (in->addr == addr)
			return in;
	return NULL;
}

struct instance *instance_find(const void *addr)
{
	uint64_t h = line_hash((uintptr_t)addr >> LINE_SHIFT);
	struct shard *s = shard_of(h);

	rt_lock(&s->lock);
	struct instance *in = shard_find(s, h, addr);
	rt_unlock(&s->lock);
	return in;
}

static int kind_of_type(int type)
{
	switch (type) {
	case IT_MUTEX:
		return CK_MUTEX;
	case IT_RWLOCK:
		return CK_RWLOCK;
	case IT_SPIN:
		return CK_SPIN;
	case IT_COND:
		return CK_COND;
	case IT_SEM:
		return CK_SEM;
	case IT_BARRIER:
		return CK_BARRIER;
	case IT_ONCE:
		return CK_ONCE;
	case IT_EVENT:
		return CK_EVENT;
	default:
		return CK_MAP;
	}
}

/* Take in out of its shard (the shard's lock held). */
static void shard_unlink(struct shard *s, uint64_t h, struct instance *in)
{
	for (struct instance **pp = &s->buckets[h & (s->nbuckets - 1)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == in) {
			*pp = in->hnext;
			s->count--;
			return;
		}
	}
}

/*
 * An instance taken out of its shard goes: its counts, its line's mark, a
 * class of its own, its record.  A lock the thread holds there is reported
 * as freed, or, when `quiet`, dropped from its held stack without a word.
 * Another thread's cache may still point at the record: rt_free writes its
 * free-list link over addr, and a record made again from it is the
 * instance at its new addr, so that cache finds no lock there that is not.
 */
static void instance_drop(struct rt_thread *t, struct instance *in, uintptr_t ip, bool quiet)
{
	atomic_fetch_sub(&instance_live, 1);
	instance_unmark_line(in->addr);
	struct held *hd = t && !t->dead ? held_find(t, in->addr) : NULL;
	if (hd && !quiet) {
		struct finding_in f = {
			.kind = FK_HELD_LOCK_FREED,
			.title = "held lock freed",
			.detail = "memory holding a lock this thread holds is freed or destroyed",
			.subject = { hd->cls },
			.stack = stack_capture(ip),
		};
		report_finding(t, &f);
	}
	if (hd)
		held_remove(t, hd);
	/* a class of this instance alone goes with it */
	if (in->cls && !in->cls->named && in->cls->addr == in->addr) {
		if (graph_class_unused(in->cls))
			class_release(in->cls);
		else
			graph_class_dead(in->cls);
	}
	rt_free(in, sizeof(*in));
}

/*
 * Can the record in stand for a lock of `type` (no IT_FROM_INIT) at its
 * address?  A pthread lock's record cannot stand for a lock the program
 * annotates by its address alone (IT_OWN).  A record of another kind of pthread lock, or of an event, is a
 * lock the program let go without a destroy or a free the runtime saw (a
 * pool that hands its objects out again, a stack slot, a free in a thread's
 * last key destructor): stale, and the lock there is a new one.  A record
 * fdep_lock_class() named before the lock's first use is the lock's, as is
 * any record for an annotation or an event (event_class turns a record of
 * another kind into its event in place).
 */
static bool instance_stale(struct instance *in, int type)
{
	if (type == (IT_ANNOTATED | IT_OWN))
		return in->type >= IT_MUTEX && in->type <= IT_SPIN && !(in->cls && in->cls->named);
	if (type < IT_MUTEX || type > IT_SPIN || in->type == type)
		return false;
	if (in->type == IT_ANNOTATED && in->cls && in->cls->named) {
		in->type = (uint8_t)type; /* the lock the name was given to */
		return false;
	}
	return true;
}

struct instance *instance_get_slow(const void *addr, int type, uintptr_t site)
{
	struct rt_thread *t = tls_thread;
	uint64_t h = line_hash((uintptr_t)addr >> LINE_SHIFT);
	struct shard *s = shard_of(h);
	struct instance *stale = NULL;
	rt_lock(&s->lock);
	struct instance *in = shard_find(s, h, addr);
	if (in && instance_stale(in, type & ~IT_FROM_INIT)) {
		shard_unlink(s, h, in);
		stale = in;
		in = NULL;
	}
	rt_unlock(&s->lock);
	if (stale)
		instance_drop(t, stale, site, true);
	if (!in) {
		/* a lock never initialised (statically) is its own class even by site */
		bool by_site = rt_opt.classes == CLASSES_SITE && (type & IT_FROM_INIT) && site;
		bool from_init = (type & IT_FROM_INIT) && site;
		/* the site of an init call, or of the first lock of a lock never
		 * initialised (C++'s std::mutex), is the first caller outside
		 * wrappers: the program's function, not __gthread_mutex_lock */
		if (site)
			site = stack_init_site(site);
		type &= ~(IT_FROM_INIT | IT_OWN);
		bool in_static = stack_addr_is_static(addr);
		struct lock_class *c = type == IT_ANNOTATED || type == IT_WWCTX
					       ? NULL
					       : class_for_instance(addr, site, kind_of_type(type),
								    by_site, in_static, from_init);
		/* a heap lock made while its maker holds a lock: the order of an
		 * initialisation (held.c, site edges) */
		if (c && c->site_init && t && t->depth && !t->dead)
			class_born_under(c, t->held[t->depth - 1].cls, t->tid);
		struct instance *n = rt_alloc(sizeof(*n));
		if (!n)
			return NULL;
		n->addr = addr;
		n->cls = c;
		n->type = (uint8_t)type;
		n->in_static = in_static;
		rt_lock(&s->lock);
		in = shard_find(s, h, addr);
		if (!in) {
			if (s->count >= 2 * s->nbuckets)
				shard_grow(s);
			if (s->nbuckets) {
				uint64_t k = h & (s->nbuckets - 1);
				n->hnext = s->buckets[k];
				s->buckets[k] = n;
				s->count++;
				in = n;
				n = NULL;
				atomic_fetch_add(&instance_live, 1);
				if (!in->in_static)
					heap_instances_watched();
				instance_mark_line(addr);
			}
		}
		rt_unlock(&s->lock);
		if (n)
			rt_free(n, sizeof(*n));
	}
	if (t && in)
		*icache_slot(t, addr) = in;
	return in;
}

/* Unlink the instances of one line that lie in [lo, hi); returns a list. */
static struct instance *shard_take_range(uintptr_t line, uintptr_t lo, uintptr_t hi)
{
	uint64_t h = line_hash(line);
	struct shard *s = shard_of(h);
	struct instance *taken = NULL;

	rt_lock(&s->lock);
	if (s->nbuckets) {
		struct instance **pp = &s->buckets[h & (s->nbuckets - 1)];
		while (*pp) {
			struct instance *in = *pp;
			uintptr_t a = (uintptr_t)in->addr;
			if (a >= lo && a < hi) {
				*pp = in->hnext;
				in->hnext = taken;
				taken = in;
				s->count--;
				continue;
			}
			pp = &in->hnext;
		}
	}
	rt_unlock(&s->lock);
	return taken;
}

void instance_forget_range(const void *start, size_t len, uintptr_t ip)
{
	uintptr_t lo = (uintptr_t)start, hi = lo + len;
	struct rt_thread *t = tls_thread;

	if (!len)
		return;
	uintptr_t last = (hi - 1) >> LINE_SHIFT;
	for (uintptr_t l = instance_next_marked(lo >> LINE_SHIFT, last); l <= last;
	     l = instance_next_marked(l + 1, last)) {
		struct instance *in = shard_take_range(l, lo, hi), *next;
		for (; in; in = next) {
			next = in->hnext;
			instance_drop(t, in, ip, false);
		}
	}
	if (atomic_load_explicit(&fences_made, memory_order_relaxed))
		fence_forget_range(start, len);
}

/*
 * Let line's bit go if no object is on it (see line_state), the fence
 * shard of the line held by the caller (fence_line_release).
 */
void instance_line_release(uintptr_t line)
{
	uint64_t bit = line & (INSTANCE_BLOOM_BITS - 1);
	struct shard *s = shard_of(line_hash(line));

	rt_lock(&s->lock);
	if (atomic_load_explicit(&line_state[bit], memory_order_relaxed) &&
	    !(atomic_load_explicit(&line_count[bit], memory_order_relaxed) & LINE_COUNT_STUCK)) {
		free_window_add(bit, -1);
		atomic_fetch_and(&instance_bloom[bit / 64], ~(1ull << (bit % 64)));
		atomic_store_explicit(&line_state[bit], 0, memory_order_release);
	}
	rt_unlock(&s->lock);
}

/*
 * Memory the program gave back (free, realloc, munmap...) holding no live
 * object: its counted bits with no object are let go - but not at once.
 * Memory that held a fence or a lock mostly gets one again at the same
 * address (a fence's block freed after its destroy, handed out again for
 * the next one), and a bit still counted then costs its maker no word of
 * the window.  So the frees that meet a bit empty count that (LINE_MET),
 * the next object made on the bit clears their count with its own, and
 * the third free in a row to meet it empty lets it go: the memory went to
 * other uses, whose frees would each read the count.  (Letting go at the
 * second meeting: 525 instructions of line work per vmbind-stress GPU
 * job; at the third: 490.)
 * The locks are taken inside the runtime (thread_enter): a signal handler
 * that came in while its thread held one does not wait for it, it leaves
 * the bit counted.
 */
static void line_let_go(uintptr_t line)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	fence_line_release(line);
	thread_leave();
}

bool free_window_block(const void *start, size_t len)
{
	uintptr_t lo = (uintptr_t)start;
	uintptr_t last = (lo + (len ? len - 1 : 0)) >> LINE_SHIFT;

	for (uintptr_t l = instance_next_marked(lo >> LINE_SHIFT, last); l <= last;
	     l = instance_next_marked(l + 1, last)) {
		_Atomic uint8_t *c = &line_count[l & (INSTANCE_BLOOM_BITS - 1)];
		uint8_t v = atomic_load_explicit(c, memory_order_relaxed);
		if (v & LINE_COUNT_STUCK)
			return true;
		if (v >= LINE_MET_LIMIT)
			line_let_go(l);
		else
			atomic_compare_exchange_strong(c, &v, (uint8_t)(v + LINE_MET));
	}
	return false;
}

void instance_fork(int phase)
{
	for (int i = 0; i < SHARDS; i++)
		rt_lock_fork(&shards[i].lock, phase);
}
