/*
 * class.c - lock classes: the nodes of the dependency graph.
 *
 * A class is a kind of lock, not one instance.  Named classes (annotations,
 * built-ins) are interned by name and subclass; anonymous ones stand for one
 * interposed lock instance (classes=instance) or one init site
 * (classes=site).  Their names are computed the first time they are needed:
 * the lock's symbol for a static lock ("queue_lock"), else
 * "<kind>@<init site>#<n>", so names stay the same from run to run.
 */
#include <sched.h>
#include <string.h>

#include "runtime.h"

/* A live interposed mutex costs one class and one instance (classes=instance):
 * together they must stay within the 128 bytes DESIGN.md allows. */
_Static_assert(sizeof(struct lock_class) <= 64, "a class record outgrew 64 bytes");
_Static_assert(sizeof(struct instance) <= 32, "an instance record outgrew 32 bytes");

struct lock_class *cls_fs_reclaim, *cls_mmu_notifier, *cls_dma_fence;

static struct rt_lock class_lock = RT_LOCK_INIT;
static struct lock_class **classes;
static _Atomic uint32_t nclasses; /* ids handed out; some may be free again */
static uint32_t cap_classes;
/* Released classes' ids, each with the place in the topological order the
 * class had (graph.c): a class without edges fits anywhere in the order,
 * and taking over a free place keeps every place held by one class. */
struct free_id {
	uint32_t id, ord;
};
static struct free_id *free_ids;
static uint32_t nfree_ids, cap_free_ids;

static struct lock_class **name_hash;
static uint64_t name_hash_size;
static uint32_t nnamed;

struct site_count {
	uintptr_t site;
	uint32_t kind;
	uint32_t count;
	struct lock_class *cls; /* the site's class, for classes=site */
	struct lock_class *shadow; /* its class in the site graph (classes=instance) */
};
static struct site_count *sites;
static uint32_t sites_size, nsites;

/*
 * The heap locks made while their maker held a lock (class_born_under):
 * their class's id -> the held lock's class id and the maker's tid.  Few
 * locks are made so, and a class record has no room left: a table of its
 * own (class_lock), open addressing, an entry of a released class marked
 * gone (BORN_GONE) until the table is rebuilt.
 */
#define BORN_FREE 0u
#define BORN_GONE UINT32_MAX
struct born {
	uint32_t id, under, tid;
};
static struct born *borns;
static uint32_t borns_size, nborns; /* nborns counts gone entries too */

static uint32_t born_slot(uint32_t id, uint32_t size)
{
	return (uint32_t)((id * 0x9e3779b97f4a7c15ull) >> 32) & (size - 1);
}

/* The entry of id, or NULL (class_lock held). */
static struct born *born_find(uint32_t id)
{
	for (uint32_t i = borns_size ? born_slot(id, borns_size) : 0; borns_size;
	     i = (i + 1) & (borns_size - 1)) {
		if (borns[i].id == id)
			return &borns[i];
		if (borns[i].id == BORN_FREE)
			return NULL;
	}
	return NULL;
}

static void born_put(struct born *tab, uint32_t size, struct born b)
{
	uint32_t i = born_slot(b.id, size);

	while (tab[i].id != BORN_FREE)
		i = (i + 1) & (size - 1);
	tab[i] = b;
}

void class_born_under(struct lock_class *c, const struct lock_class *under, pid_t tid)
{
	if (!c || !under || !c->id)
		return;
	rt_lock(&class_lock);
	if ((nborns + 1) * 2 > borns_size) {
		uint32_t live = 0;
		for (uint32_t i = 0; i < borns_size; i++)
			live += borns[i].id != BORN_FREE && borns[i].id != BORN_GONE;
		uint32_t size = borns_size ? borns_size : 64;
		while ((live + 1) * 2 > size / 2)
			size *= 2;
		struct born *n = rt_alloc(size * sizeof(*n));
		if (!n) {
			rt_unlock(&class_lock);
			return; /* its site order is kept: a prediction too many */
		}
		for (uint32_t i = 0; i < borns_size; i++)
			if (borns[i].id != BORN_FREE && borns[i].id != BORN_GONE)
				born_put(n, size, borns[i]);
		if (borns)
			rt_free(borns, borns_size * sizeof(*borns));
		borns = n;
		borns_size = size;
		nborns = live;
	}
	born_put(borns, borns_size, (struct born){ c->id, under->id, (uint32_t)tid });
	nborns++;
	rt_unlock(&class_lock);
}

bool class_made_under(const struct lock_class *c, const struct lock_class *under, pid_t tid)
{
	bool made = false;

	if (!c->site_init)
		return false;
	rt_lock(&class_lock);
	struct born *b = born_find(c->id);
	made = b && b->under == under->id && b->tid == (uint32_t)tid;
	rt_unlock(&class_lock);
	return made;
}

static const char *const kind_names[] = {
	[CK_MUTEX] = "mutex", [CK_RWLOCK] = "rwlock", [CK_SPIN] = "spin",
	[CK_WW] = "ww", [CK_MAP] = "map", [CK_FENCE] = "fence",
	[CK_RECLAIM] = "reclaim", [CK_MMU_NOTIFIER] = "mmu_notifier",
	[CK_COND] = "cond", [CK_SEM] = "sem", [CK_THREAD] = "thread",
	[CK_BARRIER] = "barrier", [CK_ONCE] = "once", [CK_EVENT] = "event",
};

const char *class_kind_name(int kind)
{
	return kind_names[kind];
}

static uint64_t hash_str(const char *s, unsigned sub)
{
	uint64_t h = 1469598103934665603ull ^ sub;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

struct lock_class *class_get(uint32_t id)
{
	return id < nclasses ? classes[id] : NULL;
}

uint32_t class_count(void)
{
	return atomic_load(&nclasses);
}

uint32_t class_live(void)
{
	return atomic_load(&nclasses) - nfree_ids;
}

/*
 * A new class (class_lock held), with the id and the place in the order
 * of a released one when there is one.  A released class has no edge, and
 * no chain key or gate list that names it is left (graph.c evicts a class
 * that had edges only once the caches are emptied).
 */
static struct lock_class *class_new(int kind)
{
	struct lock_class *c = rt_alloc(sizeof(*c));

	if (!c)
		return NULL;
	if (nfree_ids) {
		nfree_ids--;
		c->id = free_ids[nfree_ids].id;
		c->ord = free_ids[nfree_ids].ord;
	} else {
		if (nclasses == cap_classes) {
			uint32_t cap = cap_classes ? cap_classes * 2 : 1024;
			struct lock_class **n = rt_alloc(cap * sizeof(*n));
			if (!n) {
				rt_free(c, sizeof(*c));
				return NULL;
			}
			/* the old array stays: graph walks may read it without class_lock */
			if (cap_classes)
				memcpy(n, classes, cap_classes * sizeof(*n));
			atomic_thread_fence(memory_order_release);
			classes = n;
			cap_classes = cap;
		}
		c->id = nclasses;
		c->ord = c->id; /* a class without edges fits anywhere in the order */
	}
	c->kind = (uint8_t)kind;
	classes[c->id] = c;
	if (c->id == nclasses)
		atomic_store(&nclasses, c->id + 1);
	return c;
}

static uint64_t class_node_hash(const void *node)
{
	return hash_str(atomic_load(&((const struct lock_class *)node)->name), 0);
}

static void name_hash_grow(void)
{
	name_hash = (struct lock_class **)table_grow((void **)name_hash, &name_hash_size, 256,
						     offsetof(struct lock_class, hnext),
						     class_node_hash);
}

/* The thread's cache of name pointers it interned lately; the name's text
 * is compared too, as a program may reuse one buffer for several names,
 * unless the name is a literal (read-only, its module not unloaded since
 * it was found so): then the same pointer is the same text. */
static inline unsigned ncache_slot(const char *name, unsigned subclass)
{
	return (unsigned)(((uintptr_t)name >> 3) ^ subclass) % NCACHE_SIZE;
}

static struct lock_class *ncache_find(const char *name, unsigned subclass)
{
	struct rt_thread *t = tls_thread;

	if (!t || t->dead)
		return NULL;
	unsigned i = ncache_slot(name, subclass);
	struct lock_class *c = t->ncache[i].cls;
	if (t->ncache[i].name != name || t->ncache[i].subclass != subclass || !c)
		return NULL;
	if (likely(t->ncache[i].gen &&
		   t->ncache[i].gen == atomic_load_explicit(&rt_unload_gen, memory_order_acquire)))
		return c;
	/* the program may have rewritten the name since */
	const char *cn = atomic_load(&c->name);
	size_t n = strlen(name);
	if (!strncmp(cn, name, n) && (cn[n] == 0 || cn[n] == '/'))
		return c;
	return NULL;
}

static void ncache_put(const char *name, unsigned subclass, struct lock_class *c)
{
	struct rt_thread *t = tls_thread;

	if (!t || t->dead)
		return;
	unsigned i = ncache_slot(name, subclass);
	/* the generation first: an unload after it makes the entry stale */
	uint64_t gen = atomic_load_explicit(&rt_unload_gen, memory_order_acquire);
	t->ncache[i].name = name;
	t->ncache[i].subclass = subclass;
	t->ncache[i].cls = c;
	t->ncache[i].gen = stack_addr_is_readonly(name) ? gen : 0;
}

void class_name_cache(const char *name, struct lock_class *c)
{
	ncache_put(name, 0, c);
}

/*
 * A named class is in the table before its primed edges are in the graph;
 * another thread that finds it then waits for them, or an edge it adds at
 * once could close a cycle the long way round (through fs_reclaim, say)
 * instead of through the primed edge: another finding kind.
 */
static struct lock_class *class_primed(struct lock_class *c)
{
	while (unlikely(atomic_load_explicit(&c->unprimed, memory_order_acquire)))
		sched_yield();
	return c;
}

struct lock_class *class_intern(const char *name, unsigned subclass, int kind)
{
	char full[256];
	struct lock_class *c = ncache_find(name, subclass);

	if (c) {
		if (c->kind == CK_MAP && kind != CK_MAP)
			c->kind = (uint8_t)kind;
		return class_primed(c);
	}

	size_t n = name_cat(full, sizeof(full), 0, name);
	if (subclass)
		name_cat_uint(full, sizeof(full), name_cat(full, sizeof(full), n, "/"), subclass);
	rt_lock(&class_lock);
	if (nnamed * 2 >= name_hash_size)
		name_hash_grow();
	uint64_t k = hash_str(full, 0) & (name_hash_size - 1);
	for (c = name_hash[k]; c; c = c->hnext) {
		if (strcmp(atomic_load(&c->name), full) == 0) {
			/* a class first named by a prime line takes the kind of its first use */
			if (c->kind == CK_MAP && kind != CK_MAP)
				c->kind = (uint8_t)kind;
			rt_unlock(&class_lock);
			ncache_put(name, subclass, c);
			return class_primed(c);
		}
	}
	c = class_new(kind);
	if (c) {
		atomic_store_explicit(&c->unprimed, true, memory_order_relaxed);
		c->named = true;
		c->subclass = (uint8_t)subclass;
		atomic_store(&c->name, rt_strdup(full));
		c->hnext = name_hash[k];
		name_hash[k] = c;
		nnamed++;
	}
	rt_unlock(&class_lock);
	if (c) {
		ncache_put(name, subclass, c);
		prime_class_created(c);
		atomic_store_explicit(&c->unprimed, false, memory_order_release);
	}
	return c;
}

struct lock_class *class_find(const char *name)
{
	struct lock_class *c = NULL;

	rt_lock(&class_lock);
	if (name_hash_size)
		for (c = name_hash[hash_str(name, 0) & (name_hash_size - 1)]; c; c = c->hnext)
			if (strcmp(atomic_load(&c->name), name) == 0)
				break;
	rt_unlock(&class_lock);
	return c;
}

/*
 * fn runs with class_lock held: a class whose lock goes meanwhile, with no
 * edge, is freed at once (class_release, not the quarantine of graph.c
 * that report writers hold off), and only after class_lock takes it out of
 * the table.  So fn takes no class_lock, and names no class it is not given.
 */
void class_for_each(void (*fn)(struct lock_class *, void *), void *arg)
{
	uint32_t n = class_count();

	for (uint32_t i = 0; i < n; i++) {
		rt_lock(&class_lock);
		struct lock_class *c = classes[i];
		if (c)
			fn(c, arg);
		rt_unlock(&class_lock);
	}
}

void class_release(struct lock_class *c)
{
	rt_lock(&class_lock);
	if (nfree_ids == cap_free_ids) {
		uint32_t cap = cap_free_ids ? cap_free_ids * 2 : 256;
		struct free_id *n = rt_realloc_array(free_ids, cap_free_ids, cap, sizeof(*n));
		if (!n) {
			rt_unlock(&class_lock);
			return; /* kept: a class too many is harmless */
		}
		free_ids = n;
		cap_free_ids = cap;
	}
	classes[c->id] = NULL;
	free_ids[nfree_ids++] = (struct free_id){ c->id, c->ord };
	struct born *b = c->site_init ? born_find(c->id) : NULL;
	if (b)
		b->id = BORN_GONE;
	rt_unlock(&class_lock);
	rt_free(c, sizeof(*c)); /* its name, if it had one, may be in a finding: kept */
}

/* The record of one init site (class_lock held). */
static struct site_count *site_get(uintptr_t site, int kind)
{
	if (nsites * 2 >= sites_size) {
		uint32_t size = sites_size ? sites_size * 2 : 256;
		struct site_count *n = rt_alloc(size * sizeof(*n));
		if (!n)
			return NULL;
		for (uint32_t i = 0; i < sites_size; i++) {
			if (!sites[i].site)
				continue;
			uint32_t j = (uint32_t)(sites[i].site * 0x9e3779b97f4a7c15ull >> 40) & (size - 1);
			while (n[j].site)
				j = (j + 1) & (size - 1);
			n[j] = sites[i];
		}
		rt_free(sites, sites_size * sizeof(*sites));
		sites = n;
		sites_size = size;
	}
	uint32_t j = (uint32_t)(site * 0x9e3779b97f4a7c15ull >> 40) & (sites_size - 1);
	while (sites[j].site && (sites[j].site != site || sites[j].kind != (uint32_t)kind))
		j = (j + 1) & (sites_size - 1);
	if (!sites[j].site) {
		sites[j].site = site;
		sites[j].kind = (uint32_t)kind;
		nsites++;
	}
	return &sites[j];
}

struct lock_class *class_for_instance(const void *addr, uintptr_t site, int kind, bool by_site,
				      bool addr_static, bool from_init)
{
	struct lock_class *c = NULL;

	rt_lock(&class_lock);
	struct site_count *sc = site_get(site, kind);
	if (by_site && sc && sc->cls) {
		c = sc->cls;
	} else {
		c = class_new(kind);
		if (c) {
			c->addr = by_site ? NULL : addr;
			c->addr_static = !by_site && addr_static;
			c->site_init = !by_site && !addr_static && from_init;
			c->site = site;
			c->site_seq = sc ? ++sc->count : 0;
			if (by_site && sc)
				sc->cls = c;
		}
	}
	rt_unlock(&class_lock);
	return c;
}

/*
 * The site graph (fencedep(7), CLASSES OF INTERPOSED LOCKS): under
 * classes=instance every dependency between two heap locks is also recorded
 * between the classes of their init sites, as kernel lockdep records it,
 * so that two objects of one type locked a->b in one and b->a in the other
 * are predicted to deadlock.  A site class stands for all the locks made
 * at its site; static locks, named classes and locks never initialised by
 * a call are their own class there.
 */
struct lock_class *class_shadow(struct lock_class *c)
{
	struct lock_class *s = NULL;

	if (!c->site_init)
		return c;
	rt_lock(&class_lock);
	struct site_count *sc = site_get(c->site, c->kind);
	if (sc && !sc->shadow && (sc->shadow = class_new(c->kind))) {
		sc->shadow->site = c->site;
		sc->shadow->shadow = 1;
	}
	s = sc ? sc->shadow : NULL;
	rt_unlock(&class_lock);
	return s ? s : c;
}

/*
 * Names are built by hand, truncated to fit (buf[n] stays a terminator):
 * every heap lock's class is named when it first nests, and named classes
 * are interned on lock events, where printf would be most of the cost.
 */
size_t name_cat(char *buf, size_t size, size_t n, const char *s)
{
	for (; *s && n + 1 < size; s++)
		buf[n++] = *s;
	buf[n] = 0;
	return n;
}

size_t name_cat_uint(char *buf, size_t size, size_t n, uint32_t v)
{
	char digits[12];
	int nd = 0;

	do {
		digits[nd++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (nd && n + 1 < size)
		buf[n++] = digits[--nd];
	buf[n] = 0;
	return n;
}

/* "kind@where", and "#seq" after it when seq is not 0. */
static void name_site(char *buf, size_t size, const char *kind, const char *where,
		      uint32_t seq)
{
	size_t n = name_cat(buf, size, 0, kind);

	n = name_cat(buf, size, n, "@");
	n = name_cat(buf, size, n, where);
	if (seq)
		name_cat_uint(buf, size, name_cat(buf, size, n, "#"), seq);
}

/*
 * A class's name: a static lock's symbol (or module and offset), else
 * "kind@site" under classes=site and "kind@site#n" for the n-th lock made
 * at that site under classes=instance.  A site is named with its line
 * (stack_site_name), read from line tables, which only report writers
 * read: a lock event (try) names only static locks, and leaves the rest to
 * the first report that needs the name.
 */
static const char *class_name_mode(struct lock_class *c, bool try)
{
	const char *name = atomic_load(&c->name);
	const char *sym = NULL;
	char buf[512], where[400];

	if (name)
		return name;
	/* only static storage has symbols: a heap lock is named by its site */
	if (c->addr && c->addr_static && stack_object_name_try(c->addr, kind_names[c->kind], &sym, try) < 0)
		return NULL;
	if (!sym) {
		if (try)
			return NULL;
		stack_site_name(c->site, where, sizeof(where));
		name_site(buf, sizeof(buf), kind_names[c->kind], where, c->addr ? c->site_seq : 0);
	}
	/* the symbol comes in runtime memory already */
	char *n = sym ? (char *)sym : rt_strdup(buf);
	const char *expected = NULL;
	if (!n)
		return "?";
	if (!atomic_compare_exchange_strong(&c->name, &expected, n)) {
		rt_free(n, strlen(n) + 1);
		return expected;
	}
	return n;
}

const char *class_name(struct lock_class *c)
{
	return class_name_mode(c, false);
}

const char *class_name_try(struct lock_class *c)
{
	return class_name_mode(c, true);
}

void class_fork(int phase)
{
	rt_lock_fork(&class_lock, phase);
	/* a thread that was priming a class is gone in the child: no one would
	 * ever mark it, and class_intern would wait for ever.  Only named
	 * classes are primed, and only a marked one is written: a store to
	 * every class record copied each of their pages in every child (a
	 * program that forks often, with many locks, spent most of its time
	 * there) */
	if (phase != FORK_CHILD)
		return;
	for (uint64_t k = 0; k < name_hash_size; k++)
		for (struct lock_class *c = name_hash[k]; c; c = c->hnext)
			if (atomic_load_explicit(&c->unprimed, memory_order_relaxed))
				atomic_store(&c->unprimed, false);
}
