/*
 * malloc.c - the allocator as a reclaim event.
 *
 * Every allocation that may enter reclaim is an acquire+release of
 * fs_reclaim; the fast path - a thread holding nothing - is one thread-local
 * test.  free(), realloc(), munmap(), mremap() and a fixed mmap() forget
 * the lock instances and fences in the memory they release.  While dlsym()
 * resolves the real allocator, its own allocations are served from a small
 * static arena.
 *
 * The allocator itself runs untracked (tls_busy): its internal locks and
 * mmap calls are not the program's, and a preloaded allocator (jemalloc)
 * that calls mmap under its own lock must not see the runtime come back
 * into it.  The call as a whole is the fs_reclaim event.
 */
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>

#include "preload.h"

REAL_DECL(void *, malloc, size_t);
REAL_DECL(void, free, void *);
REAL_DECL(void *, calloc, size_t, size_t);
REAL_DECL(void *, realloc, void *, size_t);
REAL_DECL(void *, reallocarray, void *, size_t, size_t);
REAL_DECL(int, posix_memalign, void **, size_t, size_t);
REAL_DECL(void *, aligned_alloc, size_t, size_t);
REAL_DECL(void *, memalign, size_t, size_t);
REAL_DECL(void *, valloc, size_t);
REAL_DECL(void *, pvalloc, size_t);
REAL_DECL(size_t, malloc_usable_size, void *);
REAL_DECL(void *, mmap, void *, size_t, int, int, int, off_t);
REAL_DECL(int, munmap, void *, size_t);
REAL_DECL(void *, mremap, void *, size_t, size_t, int, ...);

static _Alignas(16) char boot_arena[64 * 1024];
static _Atomic size_t boot_used;

static void *boot_alloc(size_t n)
{
	size_t sz = (n + 15) & ~(size_t)15;
	size_t off = atomic_fetch_add(&boot_used, sz);

	return off + sz <= sizeof(boot_arena) ? boot_arena + off : NULL;
}

static inline bool is_boot(const void *p)
{
	return (const char *)p >= boot_arena && (const char *)p < boot_arena + sizeof(boot_arena);
}

static void release_range_slow(void *p, size_t len, uintptr_t ip);

/* The slow half of the allocation event: the thread holds something. */
static void __attribute__((noinline)) alloc_event(uintptr_t ip)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	if (t->depth)
		rt_allocation(t, ip);
	thread_leave();
}

/*
 * Run the real allocator with the runtime out of the way.  glibc's needs
 * no help (it takes none of the interposed locks); another one, preloaded
 * after the runtime, is told apart when malloc is first resolved.
 */
extern void *__libc_malloc(size_t);
static bool foreign_allocator;

/*
 * Where the fast paths jump: glibc's entry points once the allocator is
 * known to be glibc's, until then (and for any other allocator) back into
 * the slow half, so that the fast paths need not test for it.  free and
 * realloc go straight to glibc only when the bootstrap arena was never
 * used: then no pointer into it can come back, and the fast paths need not
 * test for that either.  (The lock fast paths' FAST_TARGET resolves on
 * first use instead; here what the target may be is only known once the
 * allocator is.)
 */
static void *malloc_via_slow(size_t n);
static void *calloc_via_slow(size_t n, size_t size);
static void free_via_slow(void *p);
static void *realloc_via_slow(void *p, size_t n);
/* glibc's allocator, and no pointer into the bootstrap arena can come
 * back: free() may read a block's size from glibc's chunk header. */
static bool glibc_heap;
static malloc_fn target_malloc = malloc_via_slow;
static calloc_fn target_calloc = calloc_via_slow;
static free_fn target_free = free_via_slow;
static realloc_fn target_realloc = realloc_via_slow;

/*
 * Where free() jumps, each step one way only: free_unwatched(), which tests
 * release_watch, until the allocator is known to be glibc's; then glibc's
 * free() itself, with nothing in between, until the first private-heap
 * window opens (free_private_start), back to free_unwatched() for good;
 * then, once an object is made in memory the program may free (or a fence,
 * or a signal handler runs), for good free_window_entry(), which looks at
 * each block with no test of the count.  The thread that makes an object,
 * or opens a private heap, switches it before the object or the private
 * block exists; a thread that frees the object's memory is ordered after
 * that by the program, and only the thread that opened a private heap
 * frees its blocks.  No switch ever undoes a later one: each is a
 * compare-and-swap from the state before it, but the last, a store.
 */
static void free_unwatched(void *p);
static void free_window_entry(void *p);
static _Atomic(free_fn) free_entry = free_unwatched;
_Atomic bool free_watching, free_private_seen;

void free_watch_start(void)
{
	atomic_store(&free_watching, true);
	atomic_store(&free_entry, free_window_entry);
}

void free_private_start(void)
{
	free_fn direct = real_free;

	atomic_store(&free_private_seen, true);
	atomic_compare_exchange_strong(&free_entry, &direct, free_unwatched);
}

/* glibc's free() for free() itself, unless a private heap was ever open
 * (the opener's flag and this switch are ordered: one of the two sees the
 * other, and free_unwatched stays). */
static void free_direct_start(void)
{
	free_fn from = free_unwatched;

	if (!atomic_compare_exchange_strong(&free_entry, &from, real_free))
		return;
	if (atomic_load(&free_private_seen))
		free_private_start();
}

/*
 * Every real entry the slow paths call is resolved here, at once: resolving
 * one later from inside free() would call dlsym(), which frees a pending
 * dlerror() message through free() again.  Here the first dlsym() consumes
 * that message, and free_slow() drops it while free is not yet resolved.
 */
__attribute__((constructor(101))) static void allocator_resolved(void)
{
	malloc_fn m = REAL(malloc);

	(void)REAL(free);
	(void)REAL(calloc);
	(void)REAL(realloc);
	(void)REAL(malloc_usable_size);
	foreign_allocator = m != __libc_malloc;
	if (foreign_allocator)
		return;
	target_calloc = real_calloc;
	target_malloc = real_malloc;
	if (atomic_load(&boot_used))
		return;
	target_free = real_free;
	target_realloc = real_realloc;
	glibc_heap = true;
	free_window_open();
	free_direct_start();
}

#define IN_ALLOCATOR(call) \
	({ \
		__typeof__(call) r_; \
		if (likely(!foreign_allocator)) { \
			r_ = (call); \
		} else { \
			int busy_ = tls_busy; \
			tls_busy = 1; \
			r_ = (call); \
			tls_busy = busy_; \
		} \
		r_; \
	})

/* No allocation event needed: nothing held, the chain "held stack, then
 * fs_reclaim" seen before, or the runtime itself allocating. */
static inline bool alloc_quiet(void)
{
	struct rt_thread *t = tls_thread;

	if (unlikely(!t))
		return true; /* untracked, or not yet */
	return likely(!t->depth) || tls_busy || rt_allocation_fast(t);
}

static inline void alloc_check(uintptr_t ip)
{
	/* the gate open: no handler runs, and nothing is held */
	if (likely(!*tls_alloc_gate))
		return;
	if (unlikely(tls_private_heap & PH_SIGNAL))
		sig_unsafe_call("malloc", ip);
	if (!alloc_quiet())
		alloc_event(ip);
}

/*
 * The fast paths below read no more than they must and tail-call the real
 * allocator, with no frame: the stores of a frame, ahead of the allocator's
 * own loads, are a large part of what a wrapper costs.  An allocation
 * first reads the word its thread's gate points at (runtime.h): zero, and
 * nothing is held nor does the allocation go elsewhere.  Otherwise anything
 * unusual - the runtime's private heap, dlsym's bootstrap, another
 * allocator, a thread holding locks on a chain not seen before - goes to
 * *_slow.
 */
#define ALLOC_OPEN() likely(!*tls_alloc_gate)
#define ALLOC_PLAIN() likely(!tls_private_heap && alloc_quiet())

/* Forget instances and fences in memory that is being released. */
static inline void release_range(void *p, size_t len, uintptr_t ip)
{
	if (likely(!instance_may_contain(p, len)))
		return;
	if (free_window_block(p, len))
		release_range_slow(p, len, ip);
}

static void __attribute__((noinline)) release_range_slow(void *p, size_t len, uintptr_t ip)
{
	struct rt_thread *t = thread_enter();
	if (!t)
		return;
	instance_forget_range(p, len, ip);
	thread_leave();
	free_window_block(p, len); /* its lines, their objects forgotten */
}

/* Are there instances or fences that freed memory may hold? */
static inline bool releasing_any(void)
{
	return atomic_load_explicit(&release_watch, memory_order_relaxed);
}

static inline bool releasing_tracked(void)
{
	return releasing_any() && !tls_busy;
}

/* What the runtime's own libraries allocate comes from runtime memory. */
static void *private_realloc(void *p, size_t n)
{
	void *q = rt_private_alloc(n, 16);

	if (q && p) {
		size_t old = rt_owns(p) ? rt_private_size(p) : REAL(malloc_usable_size)(p);
		memcpy(q, p, old < n ? old : n);
		if (rt_owns(p))
			rt_private_free(p);
		else
			REAL(free)(p);
	}
	return q;
}

static __attribute__((noinline)) void *malloc_slow(size_t n, uintptr_t ip)
{
	if (unlikely(tls_private_heap_count))
		return rt_private_alloc(n, 16);
	if (unlikely(!real_malloc) && rt_tls.resolving)
		return boot_alloc(n);
	alloc_check(ip);
	return IN_ALLOCATOR(REAL(malloc)(n));
}

RT_EXPORT void *malloc(size_t n)
{
	if (ALLOC_OPEN() || ALLOC_PLAIN())
		return target_malloc(n);
	return malloc_slow(n, RT_CALLER);
}

static void *malloc_via_slow(size_t n)
{
	return malloc_slow(n, RT_CALLER);
}

static __attribute__((noinline)) void *calloc_slow(size_t n, size_t size, uintptr_t ip)
{
	if (unlikely(tls_private_heap_count)) {
		size_t total;
		if (__builtin_mul_overflow(n, size, &total))
			return NULL;
		return rt_private_alloc(total, 16); /* runtime memory comes zeroed */
	}
	if (unlikely(!real_calloc) && rt_tls.resolving)
		return boot_alloc(n * size); /* the arena is zeroed */
	alloc_check(ip);
	return IN_ALLOCATOR(REAL(calloc)(n, size));
}

RT_EXPORT void *calloc(size_t n, size_t size)
{
	if (ALLOC_OPEN() || ALLOC_PLAIN())
		return target_calloc(n, size);
	return calloc_slow(n, size, RT_CALLER);
}

static void *calloc_via_slow(size_t n, size_t size)
{
	return calloc_slow(n, size, RT_CALLER);
}

static __attribute__((noinline)) void free_slow(void *p, uintptr_t ip)
{
	if (unlikely(!p || is_boot(p)))
		return;
	/* dlsym() freeing its last error message while free itself, or
	 * malloc_usable_size, is being resolved: kept, not resolved again */
	if (unlikely(!real_free || !real_malloc_usable_size) && rt_tls.resolving)
		return;
	if (unlikely(tls_private_heap_count) && rt_owns(p)) {
		rt_private_free(p);
		return;
	}
	if (unlikely(tls_private_heap & PH_SIGNAL))
		sig_unsafe_call("free", ip);
	if (unlikely(releasing_tracked()))
		release_range(p, REAL(malloc_usable_size)(p), ip);
	IN_ALLOCATOR((REAL(free)(p), 0)); /* the macro wants a value */
}

/*
 * The bytes a block of glibc's heap may hold, from the size word before
 * it, without a call: malloc_usable_size() without its checks, which read
 * the next chunk's header (another line).  An mmapped chunk (bit 1) has a
 * header of 16 bytes, another one 8, the rest of the word being the next
 * chunk's.  A word no chunk would have (a wild pointer, which glibc's free
 * would reject anyway) gives 0: the slow path then asks glibc.
 */
static inline size_t glibc_block_size(const void *p)
{
	size_t h = ((const size_t *)p)[-1];
	size_t size = h & ~(size_t)7;

	if (unlikely(size < 32 || size > ((size_t)1 << 46)))
		return 0;
	return size - ((h & 2) ? 16 : 8);
}

/*
 * free() once locks or fences live in memory the program may free (most
 * threaded programs), or a thread's blocks may not be glibc's: the block
 * goes straight to glibc when the free window (instance.c) of its first
 * line holds no object and glibc's size word says the block lies within
 * that window - from the line's start, at most 63 bytes before the block,
 * its usable bytes (the size less 8 or more) and the rest of a line.  The
 * thread's mask sends every block to index 0, which never passes, until
 * free_watched() sets it, and while the block may be the private heap's or
 * a signal handler's call: those go to free_slow().  No size is read when
 * the count is not zero, so a null or foreign pointer is never read: its
 * thread's mask is 0 while glibc's heap is not the one.
 */
#define FREE_WINDOW_BYTES ((FREE_WINDOW_LINES - 1) * ((size_t)1 << INSTANCE_LINE_SHIFT))

static inline bool free_window_quiet(const void *p)
{
	uintptr_t line = ((uintptr_t)p >> INSTANCE_LINE_SHIFT) & tls_free_mask;
	const uint8_t *w = atomic_load_explicit(&free_window, memory_order_relaxed);

	if (__atomic_load_n(&w[line], __ATOMIC_RELAXED))
		return false;
	return ((const size_t *)p)[-1] < FREE_WINDOW_BYTES;
}

/* free() when free_window_quiet() could not tell: a glibc block whose own
 * lines the bitmap says hold no object goes to glibc, as does everything
 * while the runtime itself runs (tls_busy: it forgets nothing then). */
static __attribute__((noinline)) void free_watched(void *p, uintptr_t ip)
{
	if (unlikely(tls_private_heap)) {
		free_slow(p, ip);
		return;
	}
	if (unlikely(!tls_free_mask))
		alloc_state_refresh(); /* the thread's first look at the window */
	if (glibc_heap && p) {
		size_t len;
		if (tls_busy || ((len = glibc_block_size(p)) && !instance_may_contain(p, len))) {
			target_free(p);
			return;
		}
		/* lines counted, none with an object left on it */
		if (len && !free_window_block(p, len)) {
			target_free(p);
			return;
		}
	}
	free_slow(p, ip);
}

/* Reached by free()'s jump: the caller's return address is free()'s. */
static void free_window_entry(void *p)
{
	if (likely(free_window_quiet(p)))
		return target_free(p);
	free_watched(p, RT_CALLER);
}

/* Nothing watched for good; a private heap's window may be open. */
static void free_unwatched(void *p)
{
	if (likely(!releasing_any()))
		return target_free(p);
	free_window_entry(p);
}

RT_EXPORT void free(void *p)
{
	atomic_load_explicit(&free_entry, memory_order_relaxed)(p);
}

static void free_via_slow(void *p)
{
	free_slow(p, RT_CALLER);
}

static __attribute__((noinline)) void *realloc_slow(void *p, size_t n, uintptr_t ip)
{
	if (unlikely(tls_private_heap_count))
		return private_realloc(p, n);
	if (unlikely(is_boot(p))) {
		void *q = IN_ALLOCATOR(REAL(malloc)(n));
		if (q)
			memcpy(q, p, n);
		return q;
	}
	alloc_check(ip);
	if (unlikely(!tls_free_mask) && !tls_private_heap)
		alloc_state_refresh(); /* the thread's first look at the window */
	if (p && releasing_tracked()) {
		size_t old = REAL(malloc_usable_size)(p);
		void *q = IN_ALLOCATOR(REAL(realloc)(p, n));
		if (q && q != p)
			release_range(p, old, ip);
		else if (q && n < old)
			release_range((char *)p + n, old - n, ip);
		return q;
	}
	return IN_ALLOCATOR(REAL(realloc)(p, n));
}

/* As free(): a block whose first line's window holds no object has
 * nothing to forget, wherever glibc moves it or however it shrinks. */
RT_EXPORT void *realloc(void *p, size_t n)
{
	if ((ALLOC_OPEN() || ALLOC_PLAIN()) && (!releasing_any() || free_window_quiet(p)))
		return target_realloc(p, n);
	return realloc_slow(p, n, RT_CALLER);
}

static void *realloc_via_slow(void *p, size_t n)
{
	return realloc_slow(p, n, RT_CALLER);
}

RT_EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total))
		return IN_ALLOCATOR(REAL(reallocarray)(p, n, size)); /* let it fail as it does */
	return realloc(p, total);
}

RT_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
	if (unlikely(tls_private_heap_count)) {
		*out = rt_private_alloc(n, align);
		return *out ? 0 : 12; /* ENOMEM */
	}
	alloc_check(RT_CALLER);
	return IN_ALLOCATOR(REAL(posix_memalign)(out, align, n));
}

RT_EXPORT void *aligned_alloc(size_t align, size_t n)
{
	if (unlikely(tls_private_heap_count))
		return rt_private_alloc(n, align);
	alloc_check(RT_CALLER);
	return IN_ALLOCATOR(REAL(aligned_alloc)(align, n));
}

RT_EXPORT void *memalign(size_t align, size_t n)
{
	if (unlikely(tls_private_heap_count))
		return rt_private_alloc(n, align);
	alloc_check(RT_CALLER);
	return IN_ALLOCATOR(REAL(memalign)(align, n));
}

RT_EXPORT void *valloc(size_t n)
{
	alloc_check(RT_CALLER);
	return IN_ALLOCATOR(REAL(valloc)(n));
}

RT_EXPORT void *pvalloc(size_t n)
{
	alloc_check(RT_CALLER);
	return IN_ALLOCATOR(REAL(pvalloc)(n));
}

RT_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (flags & MAP_ANONYMOUS)
		alloc_check(RT_CALLER);
	if ((flags & MAP_FIXED) && releasing_tracked())
		release_range(addr, len, RT_CALLER);
	return REAL(mmap)(addr, len, prot, flags, fd, off);
}

RT_EXPORT int munmap(void *addr, size_t len)
{
	if (releasing_tracked())
		release_range(addr, len, RT_CALLER);
	return REAL(munmap)(addr, len);
}

/*
 * Memory that mremap() moves leaves its locks and fences behind at the old
 * address, as munmap() would; a shrink releases the tail; a fixed target
 * loses what was mapped there.
 */
RT_EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	void *target = NULL;

	if (flags & MREMAP_FIXED) {
		va_list ap;
		va_start(ap, flags);
		target = va_arg(ap, void *);
		va_end(ap);
		if (releasing_tracked())
			release_range(target, new_len, RT_CALLER);
	}
	void *r = REAL(mremap)(old, old_len, new_len, flags, target);
	if (r != MAP_FAILED && releasing_tracked()) {
		if (r != old)
			release_range(old, old_len, RT_CALLER);
		else if (new_len < old_len)
			release_range((char *)old + new_len, old_len - new_len, RT_CALLER);
	}
	return r;
}
