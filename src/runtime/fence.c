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
_Atomic size_t fence_live;
/* serials are handed to threads in blocks; 0 is no serial */
#define SERIAL_BLOCK 4096
static _Atomic uint64_t fence_serial_next = 1;
static struct rt_lock fence_lock = RT_LOCK_INIT;
static struct fence **fence_hash;
static uint64_t fence_hash_size;
static struct fence *fence_free_list; /* under fence_lock */
static char section_marker; /* instance of kernel-style signalling sections */

static inline uint64_t fence_key(const void *addr)
{
	return ((uintptr_t)addr >> LINE_SHIFT) * 0x9e3779b97f4a7c15ull;
}

static uint64_t fence_node_hash(const void *node)
{
	return fence_key(((const struct fence *)node)->addr);
}

static void fence_hash_grow(void)
{
	fence_hash = (struct fence **)table_grow((void **)fence_hash, &fence_hash_size, 1024,
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

/* The record of the fence at addr (fence_lock held). */
static struct fence *fence_find(const void *addr)
{
	if (!fence_hash_size)
		return NULL;
	for (struct fence *f = fence_hash[fence_key(addr) & (fence_hash_size - 1)]; f; f = f->hnext)
		if (f->addr == addr)
			return f;
	return NULL;
}

static struct fence *fence_create(struct rt_thread *t, const void *addr, struct lock_class *cls)
{
	if (atomic_load(&fence_live) >= fence_hash_size)
		fence_hash_grow();
	if (!fence_hash_size)
		return NULL;
	struct fence *f = fence_free_list;
	if (f) {
		fence_free_list = f->hnext;
		*f = (struct fence){ 0 };
	} else if (!(f = rt_alloc(sizeof(*f)))) {
		return NULL;
	}
	f->cls = cls;
	atomic_store_explicit(&f->serial, fence_serial_new(t), memory_order_release);
	atomic_store_explicit(&f->addr, addr, memory_order_release);
	uint64_t k = fence_key(addr) & (fence_hash_size - 1);
	f->hnext = fence_hash[k];
	fence_hash[k] = f;
	atomic_fetch_add(&fence_live, 1);
	atomic_fetch_add(&release_watch, 1);
	instance_mark_line(addr);
	return f;
}

/* Fences in an array of structures land in distinct slots. */
static inline unsigned fcache_slot(const void *addr)
{
	return (unsigned)((uintptr_t)addr >> 4) & (FCACHE_SIZE - 1);
}

static __attribute__((noinline)) struct fence *fence_get_slow(struct rt_thread *t,
							      const void *addr,
							      struct lock_class *create)
{
	rt_lock(&fence_lock);
	struct fence *f = fence_find(addr);
	if (!f && create)
		f = fence_create(t, addr, create);
	rt_unlock(&fence_lock);
	if (f) {
		unsigned k = fcache_slot(addr);
		t->fcache[k].addr = addr;
		t->fcache[k].f = f;
	}
	return f;
}

/*
 * The record of the fence at addr: from the thread's cache, without a lock,
 * else from the table under fence_lock; a new one of class `create` when
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
	rt_lock(&fence_lock);
	struct fence *f = fence_find(addr);
	bool pending = f && f->state == FS_PUBLISHED;
	rt_unlock(&fence_lock);
	return pending;
}

struct lock_class *fence_class_at(const void *addr)
{
	rt_lock(&fence_lock);
	struct fence *f = fence_find(addr);
	struct lock_class *c = f ? f->cls : NULL;
	rt_unlock(&fence_lock);
	return c;
}

static void fence_unlink(struct fence *victim)
{
	struct fence **pp = &fence_hash[fence_key(victim->addr) & (fence_hash_size - 1)];

	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == victim) {
			*pp = victim->hnext;
			atomic_fetch_sub(&fence_live, 1);
			instance_unmark_line(victim->addr);
			atomic_fetch_sub(&release_watch, 1);
			atomic_store_explicit(&victim->addr, NULL, memory_order_release);
			victim->hnext = fence_free_list;
			fence_free_list = victim;
			return;
		}
	}
}

void fence_forget_range(const void *start, size_t len)
{
	uintptr_t lo = (uintptr_t)start, hi = lo + len;
	bool any = false;

	rt_lock(&fence_lock);
	uintptr_t last = (hi - 1) >> LINE_SHIFT;
	/* fence_create marked the line of each fence */
	for (uintptr_t l = instance_next_marked(lo >> LINE_SHIFT, last); fence_hash_size && l <= last;
	     l = instance_next_marked(l + 1, last)) {
		struct fence *f = fence_hash[(l * 0x9e3779b97f4a7c15ull) & (fence_hash_size - 1)];
		while (f) {
			struct fence *next = f->hnext;
			if ((uintptr_t)f->addr >= lo && (uintptr_t)f->addr < hi) {
				fence_unlink(f);
				any = true;
			}
			f = next;
		}
	}
	rt_unlock(&fence_lock);
	if (any)
		atomic_fetch_add(&fence_signal_epoch, 1);
}

static struct lock_class *fence_class(const char *name)
{
	return class_intern(name ? name : "dma_fence", 0, CK_FENCE);
}

/* The record's part of fence_begin. */
static inline __attribute__((always_inline)) void
fence_restart(struct rt_thread *t, struct fence *f, struct lock_class *cls, int state,
	      uint32_t stack)
{
	uint8_t old = atomic_load_explicit(&f->state, memory_order_acquire);
	if (old == FS_SIGNALLED || (state == FS_INIT && old == FS_INIT)) {
		atomic_store_explicit(&f->serial, fence_serial_new(t), memory_order_release);
		f->signal_stack = 0;
		f->adopted = false;
	}
	if (cls)
		f->cls = cls;
	if (state == FS_PUBLISHED && old != FS_PUBLISHED) {
		f->publish_stack = stack;
		f->publisher = t->tid;
	} else if (state == FS_PUBLISHED && f->publisher != t->tid) {
		f->adopted = true; /* published again by another thread, on the path too */
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

/* Put the thread on the signalling path of f (the fence at `fence`). */
static void path_join(struct rt_thread *t, const void *fence, struct fence *f, uintptr_t ip)
{
	uint64_t serial = atomic_load_explicit(&f->serial, memory_order_acquire);
	struct lock_class *cls = f->cls;

	for (uint32_t i = 0; t->npath && i < t->depth; i++)
		if ((t->held[i].flags & HF_PATH) && t->held[i].instance == fence &&
		    t->held[i].fence_serial == serial)
			return;
	/* the slow path counts the entry in held_push; the fast one does not */
	if (likely(rt_push_fast(t, cls, fence, HM_RECURSIVE, HF_PATH | HF_TRY, ip)))
		t->npath++;
	else
		rt_acquire_slow(t, cls, fence, HM_RECURSIVE, HF_PATH | HF_TRY, NULL, ip);
	if (t->depth && t->held[t->depth - 1].instance == fence) {
		t->held[t->depth - 1].fence_serial = serial;
		t->held[t->depth - 1].fence = f;
	}
}

static void path_leave(struct rt_thread *t, const void *fence)
{
	for (uint32_t i = t->depth; t->npath && i-- > 0;)
		if ((t->held[i].flags & HF_PATH) && t->held[i].instance == fence)
			held_remove(t, &t->held[i]);
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

/* rt_unload_gen if name is a literal, else 0; the thread remembers the
 * literals it has seen. */
static uint64_t name_literal_gen(struct rt_thread *t, const char *name)
{
	uint64_t gen = atomic_load_explicit(&rt_unload_gen, memory_order_acquire);
	unsigned k = (unsigned)((uintptr_t)name >> 3) & (ROCACHE_SIZE - 1);

	if (t->rocache[k].name == name && t->rocache[k].gen == gen)
		return gen;
	if (!stack_addr_is_readonly(name))
		return 0;
	t->rocache[k].name = name;
	t->rocache[k].gen = gen;
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
	f = fence_get(t, fence, NULL);
	cls = init_class(f, fence_class_name);
	if (!cls)
		cls = fence_class(fence_class_name);
	f = fence_begin(t, fence, cls, FS_INIT, 0);
	if (f) {
		f->cls_name = fence_class_name;
		f->name_gen = fence_class_name ? name_literal_gen(t, fence_class_name) : 0;
	}
	thread_leave();
}

RT_EXPORT void fdep_fence_init(const void *fence, const char *fence_class_name)
{
	struct rt_thread *t = thread_peek();
	struct fence *f;
	struct lock_class *cls;

	/* a fence re-initialised as in its last life: its record alone */
	if (likely(t) && (f = fence_peek(t, fence)) && (cls = init_class(f, fence_class_name))) {
		fence_restart(t, f, cls, FS_INIT, 0);
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
 * The publication of a fence the thread knows, not published yet, by a
 * thread on no signalling path: the record restarted and the path entry
 * pushed, as fence_begin and path_join would.  False: nothing done.
 */
static inline __attribute__((always_inline)) bool publish_fast(struct rt_thread *t,
								const void *fence, uintptr_t ip)
{
	struct fence *f = fence_peek(t, fence);

	if (unlikely(!f || t->npath || t->spin_depth || t->depth >= t->cap))
		return false;
	uint8_t old = atomic_load_explicit(&f->state, memory_order_acquire);
	struct lock_class *cls = f->cls;
	uint32_t stack = scache_peek(t, ip);
	if (unlikely(old == FS_PUBLISHED || !stack || !cls))
		return false;
	uint64_t key = chain_step(t->key, cls, HM_RECURSIVE, HF_PATH | HF_TRY);
	if (t->depth && !chain_seen(t, key))
		return false;
	tls_busy = 1;
	fence_restart(t, f, NULL, FS_PUBLISHED, stack);
	struct held *h = held_push_checked(t, cls, fence, HM_RECURSIVE, HF_PATH | HF_TRY, ip, key);
	h->fence_serial = atomic_load_explicit(&f->serial, memory_order_relaxed);
	h->fence = f;
	t->npath = 1;
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
	struct rt_thread *t = thread_peek();

	if (likely(t) && publish_fast(t, fence, RT_CALLER))
		return;
	fence_publish_slow(fence, RT_CALLER);
}

RT_EXPORT void fdep_fence_handoff(const void *fence)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	path_leave(t, fence);
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
	if (f && atomic_load_explicit(&f->state, memory_order_acquire) != FS_SIGNALLED) {
		f->adopted = true; /* its signal must reach this thread */
		path_join(t, fence, f, RT_CALLER);
	}
	thread_leave();
}

/*
 * The signal of a fence its own publisher signals, the one fence whose path
 * it is on, its entry on top of the held stack or just below a lock: the
 * record marked and the entry removed, as the slow path would.  No other
 * thread can be on the path (it was not adopted), so the epoch stays.
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
	uint64_t key = h->prev_key;
	if (h != top) {
		held_move(h, top);
		h->prev_key = key;
		key = chain_step(key, h->cls, h->mode, h->flags);
	}
	t->depth--;
	t->key = key;
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
	bool others = true;
	if (f) {
		cls = f->cls;
		twice = atomic_load_explicit(&f->state, memory_order_acquire) == FS_SIGNALLED;
		first_signal = f->signal_stack;
		if (!twice) {
			others = f->adopted || f->publisher != t->tid;
			f->signal_stack = stack;
			atomic_store_explicit(&f->state, FS_SIGNALLED, memory_order_release);
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
			atomic_fetch_add(&fence_signal_epoch, 1);
		path_leave(t, fence);
	}
	thread_leave();
}

RT_EXPORT void fdep_fence_signal(const void *fence)
{
	struct rt_thread *t = thread_peek();

	if (likely(t) && signal_fast(t, fence, RT_CALLER))
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
		for (uint32_t i = 0; i < t->depth; i++) {
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
	struct rt_thread *t = thread_peek();

	/* nothing held and a fence known to be published: nothing to check */
	if (likely(t) && !t->depth) {
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
	rt_lock(&fence_lock);
	struct fence *f = fence_find(fence);
	if (f)
		fence_unlink(f);
	rt_unlock(&fence_lock);
	if (f) {
		atomic_fetch_add(&fence_signal_epoch, 1);
		path_leave(t, fence);
	}
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
				held_remove(t, &t->held[i]);
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

	rt_lock(&fence_lock);
	for (uint64_t i = 0; i < fence_hash_size && n < 64; i++)
		for (struct fence *f = fence_hash[i]; f && n < 64; f = f->hnext)
			if (f->state == FS_PUBLISHED) {
				cls[n] = f->cls;
				stacks[n++] = f->publish_stack;
			}
	rt_unlock(&fence_lock);
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
	rt_lock_fork(&fence_lock, phase);
}

void fence_dump(struct rt_buf *b, bool in_signal)
{
	if (in_signal ? !rt_trylock(&fence_lock) : (rt_lock(&fence_lock), false)) {
		buf_puts(b, "  (fences are changing)\n");
		return;
	}
	size_t n = 0;
	for (uint64_t i = 0; i < fence_hash_size; i++) {
		for (struct fence *f = fence_hash[i]; f; f = f->hnext) {
			if (f->state != FS_PUBLISHED)
				continue;
			if (!n++)
				buf_puts(b, "  published fences not yet signalled:\n");
			const char *name = atomic_load(&f->cls->name);
			buf_printf(b, "    %s %p, published by thread %d\n", name ? name : "?", f->addr,
				   (int)f->publisher);
		}
	}
	if (!n)
		buf_puts(b, "  no published fence is pending\n");
	rt_unlock(&fence_lock);
}
