/*
 * instance.c - lock instances: which class the lock at an address is in.
 *
 * A sharded hash keyed by the 64-byte line of the address, so that freeing
 * memory can find every instance inside the freed range by visiting its
 * lines, and a bitmap over lines that tells cheaply that a freed range
 * holds no instance at all (the common case on every free()).  An address
 * reused after free is a new instance, hence a new class.
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

static inline uint64_t line_hash(uintptr_t line)
{
	return line * 0x9e3779b97f4a7c15ull;
}

static inline struct shard *shard_of(uint64_t h)
{
	return &shards[h >> 58];
}

/*
 * The objects (instances and fences) on each line of the bitmap (lines that
 * share a bit share a count): when the last one goes its bit is cleared, so
 * that the memory around objects that are gone - a freed fence next to live
 * ones - does not keep free() on its slow path.  A mark counts up before it
 * sets its bit; an unmark that takes the count to zero clears the bit, then
 * looks again and sets it back when an object came meanwhile.  A count
 * that reaches its limit stays there, and its bit set, for good.  The
 * counts are untouched (unmapped zero pages) where no object ever was.
 */
#define LINE_COUNT_STUCK UINT8_MAX
static _Atomic uint8_t line_count[INSTANCE_BLOOM_BITS];

static inline uint64_t line_bit(const void *addr)
{
	return ((uintptr_t)addr >> LINE_SHIFT) & (INSTANCE_BLOOM_BITS - 1);
}

/*
 * The free window: one count per line L (modulo the bitmap size), of the
 * lines L .. L + FREE_WINDOW_LINES - 1 that hold an object.  A block of
 * glibc's heap small enough to lie within the window of its first line
 * holds no object when that one count is zero: free()'s fast path reads one
 * byte, where the bitmap would take a size and a range of bits.  A line
 * enters the windows that see it when its object count leaves zero, and
 * leaves them when the count returns to zero; the count of line 0 is held
 * up by one for good once the table is in use, so that free(NULL) and a
 * thread whose mask sends every block to index 0 (preload/malloc.c:
 * free_window_quiet) never pass.  The counts are packed eight to a word and moved with one
 * atomic add a word: a count never goes below zero nor above the window
 * (plus the lines being marked at that moment), so no carry crosses bytes.
 * The table is untouched (zero pages) away from objects.
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

void instance_mark_line(const void *addr)
{
	uint64_t bit = line_bit(addr);
	_Atomic uint64_t *w = &instance_bloom[bit / 64];
	_Atomic uint8_t *c = &line_count[bit];
	uint8_t v = atomic_load_explicit(c, memory_order_relaxed);

	/* the line enters its windows before its count leaves zero: the
	 * unmark that takes it back to zero, ordered after that by the count,
	 * takes it out after it came in */
	while (v != LINE_COUNT_STUCK) {
		if (v) {
			if (atomic_compare_exchange_weak(c, &v, (uint8_t)(v + 1)))
				break;
			continue;
		}
		free_window_add(bit, 1);
		if (atomic_compare_exchange_strong(c, &v, 1))
			break;
		free_window_add(bit, -1);
	}
	if (!(atomic_load(w) & (1ull << (bit % 64))))
		atomic_fetch_or(w, 1ull << (bit % 64));
}

void instance_unmark_line(const void *addr)
{
	uint64_t bit = line_bit(addr);
	_Atomic uint64_t *w = &instance_bloom[bit / 64];
	_Atomic uint8_t *c = &line_count[bit];
	uint8_t v = atomic_load_explicit(c, memory_order_relaxed);

	do {
		if (v == LINE_COUNT_STUCK || v == 0)
			return;
	} while (!atomic_compare_exchange_weak(c, &v, (uint8_t)(v - 1)));
	if (v != 1)
		return;
	free_window_add(bit, -1);
	atomic_fetch_and(w, ~(1ull << (bit % 64)));
	if (atomic_load(c))
		atomic_fetch_or(w, 1ull << (bit % 64));
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
	if (!in->in_static)
		atomic_fetch_sub(&release_watch, 1);
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
 * address?  A record of another kind of pthread lock, or of an event, is a
 * lock the program let go without a destroy or a free the runtime saw (a
 * pool that hands its objects out again, a stack slot, a free in a thread's
 * last key destructor): stale, and the lock there is a new one.  A record
 * fdep_lock_class() named before the lock's first use is the lock's, as is
 * any record for an annotation or an event (event_class turns a record of
 * another kind into its event in place).
 */
static bool instance_stale(struct instance *in, int type)
{
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
		type &= ~IT_FROM_INIT;
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
					release_watch_raise();
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

void instance_fork(int phase)
{
	for (int i = 0; i < SHARDS; i++)
		rt_lock_fork(&shards[i].lock, phase);
}
