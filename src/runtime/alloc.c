/*
 * alloc.c - the runtime's own memory, its own locks and its text buffers.
 *
 * The runtime never calls an interposed function for itself: memory comes
 * from the mmap system call directly, carved into power-of-two size classes
 * with free lists; locks are futexes.  When memory runs out the runtime says
 * so once, stops checking, and the program runs on.
 */
#include <linux/futex.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rawsys.h"
#include "runtime.h"
#include "utf8.h"

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

void rt_lock(struct rt_lock *l)
{
	int c = 0;

	if (atomic_compare_exchange_strong(&l->state, &c, 1))
		return;
	/* the runtime's sections are short: spin a little before sleeping */
	for (int i = 0; i < 200; i++) {
		cpu_relax();
		c = 0;
		if (atomic_load_explicit(&l->state, memory_order_relaxed) == 0 &&
		    atomic_compare_exchange_strong(&l->state, &c, 1))
			return;
	}
	c = atomic_load(&l->state);
	if (c != 2)
		c = atomic_exchange(&l->state, 2);
	while (c != 0) {
		rt_syscall6(SYS_futex, (long)&l->state, FUTEX_WAIT_PRIVATE, 2, 0, 0, 0);
		c = atomic_exchange(&l->state, 2);
	}
}

bool rt_trylock(struct rt_lock *l)
{
	int c = 0;

	return atomic_compare_exchange_strong(&l->state, &c, 1);
}

void rt_unlock(struct rt_lock *l)
{
	if (atomic_exchange(&l->state, 0) == 2)
		rt_syscall6(SYS_futex, (long)&l->state, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
}

/*
 * Size classes: multiples of 16 bytes up to 256 (the runtime's records are
 * small and many: a live mutex costs an instance and, by default, a class),
 * then powers of two up to 64 KiB; larger blocks are mapped on their own.
 */
#define SMALL_MAX 256
#define LARGE_MAX_SHIFT 16
#define NCLASSES (SMALL_MAX / 16 + LARGE_MAX_SHIFT - 8 + 1)
#define REGION (1u << 20)

struct free_block {
	struct free_block *next;
};

static struct rt_lock alloc_lock = RT_LOCK_INIT;
static struct free_block *free_lists[NCLASSES];
static char *region_cur, *region_end;
static _Atomic bool out_of_memory;
_Atomic bool rt_oom_disabled;

static void *map_pages(size_t len)
{
	long r = rt_syscall6(SYS_mmap, 0, (long)len, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r < 0 && r > -4096)
		return NULL;
	return (void *)r;
}

/* The size class of a request, or -1 for a block mapped on its own. */
static int size_class(size_t size, size_t *bsize)
{
	if (size <= SMALL_MAX) {
		size_t n = (size + 15) / 16;
		*bsize = (n ? n : 1) * 16;
		return (int)(n ? n : 1) - 1;
	}
	unsigned s = 9;
	while (((size_t)1 << s) < size)
		s++;
	if (s > LARGE_MAX_SHIFT)
		return -1;
	*bsize = (size_t)1 << s;
	return SMALL_MAX / 16 + (int)s - 9;
}

/*
 * Where runtime memory lies: every region and every large block, so that
 * the allocator interposers can tell a block of the private heap below.
 */
#define MAX_MAPS 8192
static uintptr_t map_lo[MAX_MAPS], map_hi[MAX_MAPS];
static _Atomic int nmaps;

static void map_note(void *p, size_t len)
{
	int i = atomic_load(&nmaps);

	if (!p || i >= MAX_MAPS)
		return;
	map_lo[i] = (uintptr_t)p;
	map_hi[i] = (uintptr_t)p + len;
	atomic_store(&nmaps, i + 1);
}

bool rt_owns(const void *p)
{
	int n = atomic_load(&nmaps);

	for (int i = 0; i < n; i++)
		if ((uintptr_t)p >= map_lo[i] && (uintptr_t)p < map_hi[i])
			return true;
	return false;
}

/*
 * The reserve: memory mapped at start for the one finding that may be
 * found as memory runs out.  A finding is reported from this thread inside
 * rt_reserve_enter() ... rt_reserve_leave() (report.c); there, an
 * allocation the system refuses is carved from the reserve instead, so the
 * finding's record, its text and its JSON still get written, and then
 * checking stops as it does out of memory.  libdw's allocations (the
 * private heap) never take from it: symbolisation degrades instead
 * (stack.c).  Its pages are not touched until needed: it costs address
 * space, not memory.
 */
#define RESERVE_SIZE ((size_t)2 << 20)
static char *reserve_cur, *reserve_end;
static __thread int reserve_depth __attribute__((tls_model("initial-exec")));

void rt_reserve_init(void)
{
	rt_lock(&alloc_lock);
	if (!reserve_cur) {
		char *r = map_pages(RESERVE_SIZE);
		if (r) {
			reserve_cur = r;
			reserve_end = r + RESERVE_SIZE;
			map_note(r, RESERVE_SIZE);
		}
	}
	rt_unlock(&alloc_lock);
}

void rt_reserve_enter(void)
{
	reserve_depth++;
}

void rt_reserve_leave(void)
{
	reserve_depth--;
}

/* n bytes of the reserve (alloc_lock held), or NULL. */
static void *reserve_take(size_t n)
{
	if (!reserve_depth || tls_private_heap_count || !reserve_cur ||
	    (size_t)(reserve_end - reserve_cur) < n)
		return NULL;
	void *p = reserve_cur;
	reserve_cur += (n + 15) & ~(size_t)15;
	return p; /* fresh pages: zero, as rt_alloc's are */
}

bool rt_memory_out(void)
{
	return atomic_load(&out_of_memory);
}

void rt_out_of_memory(const char *what)
{
	if (atomic_exchange(&out_of_memory, true))
		return;
	rt_warn("out of memory for %s: checking stops here, the program runs on", what);
	atomic_store(&rt_fast, false);
	atomic_store(&rt_oom_disabled, true);
	atomic_store(&rt_state, RT_DISABLED);
}

void *rt_alloc(size_t size)
{
	size_t bsize;
	int k = size_class(size, &bsize);
	void *p;

	if (k < 0) {
		void *mapped = p = map_pages(size);
		rt_lock(&alloc_lock);
		if (p)
			map_note(p, size);
		else
			p = reserve_take(size); /* its free() unmaps its pages, or fails */
		rt_unlock(&alloc_lock);
		if (!mapped)
			rt_out_of_memory("a large table");
		return p;
	}
	rt_lock(&alloc_lock);
	if (free_lists[k]) {
		p = free_lists[k];
		free_lists[k] = free_lists[k]->next;
		rt_unlock(&alloc_lock);
		memset(p, 0, bsize);
		return p;
	}
	if ((size_t)(region_end - region_cur) < bsize) {
		char *r = map_pages(REGION);
		if (!r) {
			p = reserve_take(bsize);
			rt_unlock(&alloc_lock);
			rt_out_of_memory("its tables");
			return p;
		}
		region_cur = r;
		region_end = r + REGION;
		map_note(r, REGION);
	}
	p = region_cur;
	region_cur += bsize;
	rt_unlock(&alloc_lock);
	return p; /* fresh mapping: already zero */
}

void rt_free(void *p, size_t size)
{
	size_t bsize;
	int k = size_class(size, &bsize);

	if (!p)
		return;
	if (k < 0) {
		rt_syscall6(SYS_munmap, (long)p, (long)size, 0, 0, 0, 0);
		return;
	}
	rt_lock(&alloc_lock);
	((struct free_block *)p)->next = free_lists[k];
	free_lists[k] = p;
	rt_unlock(&alloc_lock);
}

void *rt_realloc_array(void *p, size_t old_n, size_t new_n, size_t elem)
{
	void *q = rt_alloc(new_n * elem);

	if (!q)
		return NULL;
	if (p) {
		memcpy(q, p, (old_n < new_n ? old_n : new_n) * elem);
		rt_free(p, old_n * elem);
	}
	return q;
}

char *rt_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = rt_alloc(n);

	if (d)
		memcpy(d, s, n);
	return d;
}

/* Text buffers: grown in runtime memory, never failing loudly. */
static bool buf_reserve(struct rt_buf *b, size_t more)
{
	if (b->failed)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	if (b->fixed) {
		b->failed = true;
		return false;
	}
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more + 1)
		cap *= 2;
	char *d = rt_realloc_array(b->data, b->cap, cap, 1);
	if (!d) {
		b->failed = true;
		return false;
	}
	b->data = d;
	b->cap = cap;
	return true;
}

void buf_puts(struct rt_buf *b, const char *s)
{
	size_t n = strlen(s);

	if (!buf_reserve(b, n))
		return;
	memcpy(b->data + b->len, s, n + 1);
	b->len += n;
}

static void buf_write(struct rt_buf *b, const char *s, size_t n)
{
	if (!n || !buf_reserve(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void buf_printf(struct rt_buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[512];

	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		buf_puts(b, small);
		return;
	}
	if (!buf_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* A JSON string; bytes that are not UTF-8 become U+FFFD. */
void buf_json_str(struct rt_buf *b, const char *s)
{
	char esc[8];
	unsigned cp;
	size_t k;

	buf_puts(b, "\"");
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		/* a run of characters that stand for themselves, at once: a
		 * report's names and paths are mostly that (node's 580 KB
		 * JSON report spent 27 M instructions here a character at a
		 * time) */
		size_t run = 0;
		while (s[run] && (unsigned char)s[run] >= 0x20 && (unsigned char)s[run] < 0x80 &&
		       s[run] != '"' && s[run] != '\\')
			run++;
		if (run) {
			buf_write(b, s, run);
			s += run - 1;
			continue;
		}
		if (c >= 0x80) {
			k = utf8_seq(s, &cp);
			if (!k) {
				buf_puts(b, "\\ufffd");
				continue;
			}
			memcpy(esc, s, k);
			esc[k] = 0;
			s += k - 1;
		} else if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			esc[2] = 0;
		} else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
		} else {
			esc[0] = (char)c;
			esc[1] = 0;
		}
		buf_puts(b, esc);
	}
	buf_puts(b, "\"");
}

/*
 * Text for a terminal or a log: s[0..n) with its newlines, but control
 * characters (ESC, CSI, OSC...) and bytes that are not UTF-8 as \xNN.
 */
void buf_put_text(struct rt_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char esc[5] = "\\x";
	size_t i, k, j, run = 0;
	unsigned cp;

	for (i = 0; i < n; i += k) {
		k = s[i] ? utf8_seq(s + i, &cp) : 0;
		if (s[i] == '\n' || (k && utf8_printable(cp))) {
			k = k ? k : 1;
			continue;
		}
		/* flush the printable run before s[i] */
		buf_write(b, s + run, i - run);
		k = k ? k : 1;
		for (j = 0; j < k; j++) {
			esc[2] = hex[(unsigned char)s[i + j] >> 4];
			esc[3] = hex[(unsigned char)s[i + j] & 15];
			buf_write(b, esc, 4);
		}
		run = i + k;
	}
	buf_write(b, s + run, n - run);
}

void buf_release(struct rt_buf *b)
{
	rt_free(b->data, b->cap);
	b->data = NULL;
	b->len = b->cap = 0;
}

void rt_lock_fork(struct rt_lock *l, int phase)
{
	if (phase == FORK_PREPARE)
		rt_lock(l);
	else if (phase == FORK_PARENT)
		rt_unlock(l);
	else
		atomic_store(&l->state, 0);
}

void alloc_fork(int phase)
{
	rt_lock_fork(&alloc_lock, phase);
}

/*
 * The private heap: what libdw and libunwind allocate while the runtime
 * symbolises or unwinds (tls_private_heap) comes from runtime memory, never
 * from the program's allocator - which may be the very thing the thread is
 * inside of when its lock event arrives (a preloaded jemalloc).  A block
 * carries its size in front of it.
 */
struct private_hdr {
	size_t size;  /* what was asked for */
	size_t pad;   /* from the start of the runtime block to the data */
	size_t total; /* the runtime block's size */
	size_t unused;
};

void *rt_private_alloc(size_t n, size_t align)
{
	size_t hdr = sizeof(struct private_hdr);
	size_t total = n + hdr + (align > 16 ? align : 0);
	char *raw = rt_alloc(total);

	if (!raw)
		return NULL;
	uintptr_t p = (uintptr_t)raw + hdr;
	if (align > 16)
		p = (p + align - 1) & ~(uintptr_t)(align - 1);
	struct private_hdr *h = (struct private_hdr *)p - 1;
	h->size = n;
	h->pad = p - (uintptr_t)raw;
	h->total = total;
	return (void *)p;
}

void rt_private_free(void *p)
{
	struct private_hdr *h = (struct private_hdr *)p - 1;

	rt_free((char *)p - h->pad, h->total);
}

size_t rt_private_size(void *p)
{
	return ((struct private_hdr *)p - 1)->size;
}
