/*
 * stack.c - stacks: captured with libunwind when something new is seen,
 * stored once (deduplicated), symbolised only when a report needs them.
 *
 * Symbols come from elfutils' libdwfl reading /proc/self/maps and the ELF
 * files, never from dladdr(): the loader lock is never taken here, so a
 * thread inside dlopen() can always get through the runtime.  libdwfl's
 * own allocations pass through the interposers untracked (tls_busy).
 */

#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <libiberty/demangle.h>
#include <dlfcn.h>
#include <link.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "frames.h"
#include "runtime.h"

struct stack_rec {
	uint64_t hash;
	uint32_t n;
	struct stack_rec *hnext;
	uintptr_t pcs[];
};

static struct rt_lock stack_lock = RT_LOCK_INIT;
static struct stack_rec **recs;       /* by id - 1 */
static uint32_t nrecs, cap_recs;
static struct stack_rec **stack_hash;
static uint32_t stack_hash_size;

static uintptr_t self_lo[8], self_hi[8];
static int nself;

static int find_self(struct dl_phdr_info *info, size_t size, void *arg)
{
	uintptr_t probe = (uintptr_t)arg;

	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && probe >= lo && probe < lo + ph->p_memsz) {
			for (int j = 0; j < info->dlpi_phnum && nself < 8; j++) {
				const ElfW(Phdr) *q = &info->dlpi_phdr[j];
				if (q->p_type != PT_LOAD || !(q->p_flags & PF_X))
					continue;
				self_lo[nself] = info->dlpi_addr + q->p_vaddr;
				self_hi[nself++] = info->dlpi_addr + q->p_vaddr + q->p_memsz;
			}
			return 1;
		}
	}
	return 0;
}

/* The main program's path, for frames named without libdw. */
static char exe_path[512];

void stack_init(void)
{
	ssize_t n = readlink("/proc/self/exe", exe_path, sizeof(exe_path) - 1);
	exe_path[n > 0 ? n : 0] = 0;
	dl_iterate_phdr(find_self, (void *)(uintptr_t)stack_init);
}

/*
 * Static storage: the writable segments of every loaded module.  A lock
 * there is never released by free(), so free() need not look for it.  The
 * read-only segments are kept beside them: a string there (a literal) keeps
 * its text until its module is unloaded.
 */
#define STATIC_MAX 256
static struct rt_lock static_lock = RT_LOCK_INIT;
static uintptr_t static_lo[STATIC_MAX], static_hi[STATIC_MAX];
static int nstatic;
static uintptr_t ro_lo[STATIC_MAX], ro_hi[STATIC_MAX];
static int nro;
static unsigned long long static_adds = ~0ull, static_subs = ~0ull;

static int collect_static(struct dl_phdr_info *info, size_t size, void *arg)
{
	if (*(bool *)arg) {
		*(bool *)arg = false;
		if (info->dlpi_adds == static_adds && info->dlpi_subs == static_subs)
			return 1; /* nothing loaded or unloaded since */
		static_adds = info->dlpi_adds;
		static_subs = info->dlpi_subs;
		nstatic = nro = 0;
	}
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
		if (ph->p_type != PT_LOAD)
			continue;
		if ((ph->p_flags & PF_W) && nstatic < STATIC_MAX) {
			static_lo[nstatic] = lo;
			static_hi[nstatic++] = hi;
		} else if (!(ph->p_flags & PF_W) && nro < STATIC_MAX) {
			ro_lo[nro] = lo;
			ro_hi[nro++] = hi;
		}
	}
	return 0;
}

static bool in_ranges(uintptr_t a, const uintptr_t *lo, const uintptr_t *hi, int n)
{
	for (int i = 0; i < n; i++)
		if (a >= lo[i] && a < hi[i])
			return true;
	return false;
}

/* Is addr in one of the ranges, the module list read again when the
 * loader's counts moved and it is in none? */
static bool in_segments(const void *addr, bool readonly)
{
	uintptr_t a = (uintptr_t)addr;
	bool first = true, found;

#ifdef HAVE__DL_FIND_OBJECT
	/* the heap, without the loader's lock: in no module at all */
	struct dl_find_object dlfo;
	if (_dl_find_object((void *)addr, &dlfo) != 0)
		return false;
#endif
	rt_lock(&static_lock);
	found = readonly ? in_ranges(a, ro_lo, ro_hi, nro) : in_ranges(a, static_lo, static_hi, nstatic);
	if (!found) {
		dl_iterate_phdr(collect_static, &first);
		found = readonly ? in_ranges(a, ro_lo, ro_hi, nro)
				 : in_ranges(a, static_lo, static_hi, nstatic);
	}
	rt_unlock(&static_lock);
	return found;
}

bool stack_addr_is_static(const void *addr)
{
	return in_segments(addr, false);
}

bool stack_addr_is_readonly(const void *addr)
{
	return in_segments(addr, true);
}

bool stack_pc_in_runtime(uintptr_t pc)
{
	for (int i = 0; i < nself; i++)
		if (pc >= self_lo[i] && pc < self_hi[i])
			return true;
	return false;
}

static uint64_t hash_pcs(const uintptr_t *pcs, uint32_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (uint32_t i = 0; i < n; i++)
		h = (h ^ pcs[i]) * 0x100000001b3ull;
	return h ^ n;
}

/* Store pcs once; returns its id (stack_lock held). */
static uint32_t stack_intern(const uintptr_t *pcs, uint32_t n)
{
	uint64_t h = hash_pcs(pcs, n);

	if (stack_hash_size) {
		for (struct stack_rec *r = stack_hash[h & (stack_hash_size - 1)]; r; r = r->hnext)
			if (r->hash == h && r->n == n && !memcmp(r->pcs, pcs, n * sizeof(*pcs)))
				return (uint32_t)r->pcs[n]; /* its id, stored after the pcs */
	}
	if (nrecs == cap_recs) {
		uint32_t cap = cap_recs ? cap_recs * 2 : 1024;
		struct stack_rec **nr = rt_realloc_array(recs, cap_recs, cap, sizeof(*nr));
		if (!nr)
			return 0;
		recs = nr;
		cap_recs = cap;
	}
	if (nrecs * 2 >= stack_hash_size) {
		uint32_t size = stack_hash_size ? stack_hash_size * 2 : 1024;
		struct stack_rec **nh = rt_alloc(size * sizeof(*nh));
		if (!nh)
			return 0;
		for (uint32_t i = 0; i < nrecs; i++) {
			struct stack_rec *r = recs[i];
			r->hnext = nh[r->hash & (size - 1)];
			nh[r->hash & (size - 1)] = r;
		}
		rt_free(stack_hash, stack_hash_size * sizeof(*nh));
		stack_hash = nh;
		stack_hash_size = size;
	}
	struct stack_rec *r = rt_alloc(sizeof(*r) + (n + 1) * sizeof(uintptr_t));
	if (!r)
		return 0;
	r->hash = h;
	r->n = n;
	memcpy(r->pcs, pcs, n * sizeof(*pcs));
	recs[nrecs++] = r;
	r->pcs[n] = nrecs; /* its id */
	r->hnext = stack_hash[h & (stack_hash_size - 1)];
	stack_hash[h & (stack_hash_size - 1)] = r;
	return nrecs;
}

/*
 * libunwind locks its own caches while it unwinds.  A fork while another
 * thread is inside it would leave them locked in the child, whose first
 * unwind would then wait forever: so fork waits until no thread is
 * unwinding, and no unwind starts while a fork is being prepared.
 */
static _Atomic int unwinders;
static _Atomic bool unwind_closed;

static void unwind_enter(void)
{
	for (;;) {
		while (atomic_load(&unwind_closed))
			sched_yield();
		atomic_fetch_add(&unwinders, 1);
		if (!atomic_load(&unwind_closed))
			return;
		atomic_fetch_sub(&unwinders, 1);
	}
}

static void unwind_fork(int phase)
{
	if (phase == FORK_PREPARE) {
		atomic_store(&unwind_closed, true);
		while (atomic_load(&unwinders))
			sched_yield();
		return;
	}
	if (phase == FORK_CHILD)
		atomic_store(&unwinders, 0); /* the other threads are gone */
	atomic_store(&unwind_closed, false);
}

/*
 * While libdw allocates from the private heap, signals are held: a
 * handler's own malloc() in that window would get runtime memory, and its
 * free() later, outside the window, would hand that to the real allocator.
 * The two system calls are nothing next to symbolising.
 */
static void private_heap_enter(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	rt_sigmask(SIG_BLOCK, &all, old);
	tls_private_heap++;
}

static void private_heap_leave(const sigset_t *old)
{
	tls_private_heap--;
	rt_sigmask(SIG_SETMASK, old, NULL);
}

uint32_t stack_capture(uintptr_t ip)
{
	void *raw[STACK_MAX + 16];
	uintptr_t pcs[STACK_MAX];
	uint32_t n = 0;
	int depth = (int)rt_opt.stack_depth;

	/* no private heap here: unw_backtrace() does not allocate (libunwind
	 * keeps its caches in pools it maps itself), and a window around it,
	 * open on every new edge, would need signals held to be safe (two
	 * system calls, as much as the rest of a per-request lock) */
	/* libunwind checks the memory it reads by read() from a pipe: a
	 * cancellation point (rt_cancel_off) */
	int cancel = rt_cancel_off();
	unwind_enter();
	int got = unw_backtrace(raw, depth + 16);
	atomic_fetch_sub(&unwinders, 1);
	rt_cancel_restore(cancel);
	int i = 0;
	while (i < got && stack_pc_in_runtime((uintptr_t)raw[i]))
		i++;
	for (; i < got && n < (uint32_t)depth; i++)
		pcs[n++] = (uintptr_t)raw[i];
	if (!n && ip)
		pcs[n++] = ip;
	if (!n)
		return 0;
	rt_lock(&stack_lock);
	uint32_t id = stack_intern(pcs, n);
	rt_unlock(&stack_lock);
	return id;
}

uint32_t stack_capture_site_slow(struct rt_thread *t, uintptr_t ip)
{
	unsigned k = scache_slot(ip);

	if (!t)
		return stack_capture(ip);
	uint32_t id = stack_capture(ip);
	t->scache[k].ip = ip;
	t->scache[k].stack = id;
	return id;
}

/*
 * Init sites behind wrappers (fencedep(7), CLASSES OF INTERPOSED LOCKS).
 * Many programs create every lock through one function of their own
 * (sqlite's mutex allocator, uv_mutex_init, glib's g_rec_mutex_impl_new):
 * the caller of pthread_mutex_init is then the same for all of them, and
 * a class by site would put unrelated locks together.  A function whose
 * name says it makes locks is a wrapper; the site is the first call site
 * outside wrappers, at most SITE_WRAPPERS frames up.  Which functions are
 * wrappers is decided once per code address and kept in a table read
 * without a lock.
 */
#define SITE_WRAPPERS 4
/* a program has tens of init sites: the table's pages, each touched by a
 * random slot, are memory of every process (1024 slots: 16 KB) */
#define WRAP_BITS 10
#define WRAP_SLOTS (1u << WRAP_BITS)
enum { WRAP_UNKNOWN, WRAP_NO, WRAP_YES };
static struct {
	_Atomic uintptr_t pc;
	_Atomic uint64_t word; /* (rt_unload_gen + 1) << 2 | the WRAP_ state, when decided */
} wrap[WRAP_SLOTS];

static bool has_word(const char *s, const char *w)
{
	size_t n = strlen(w);

	for (const char *p = s; *p; p++) {
		if (strncasecmp(p, w, n))
			continue;
		/* "lock" in block, clock, flock is not a lock */
		if (!strcmp(w, "lock") && p > s && strchr("bcfBCF", p[-1]))
			continue;
		return true;
	}
	return false;
}

static bool name_makes_locks(const char *fn)
{
	/* and a run-once helper (pthread_once, V8's CallOnce, C++ call_once):
	 * the lazy initialisation of a static lock is made in its caller */
	return fn && (has_word(fn, "mutex") || has_word(fn, "lock") || has_word(fn, "mtx") ||
		      has_word(fn, "spin") || has_word(fn, "once"));
}

static int wrap_lookup(uintptr_t pc)
{
	unsigned k = (unsigned)((pc * 0x9e3779b97f4a7c15ull) >> (64 - WRAP_BITS));
	uint64_t gen = atomic_load(&rt_unload_gen) + 1;
	int state = WRAP_UNKNOWN;

	for (unsigned i = 0; i < 8; i++, k = (k + 1) % WRAP_SLOTS) {
		uintptr_t p = atomic_load(&wrap[k].pc);
		if (p == pc) {
			uint64_t w = atomic_load(&wrap[k].word);
			if (w >> 2 == gen)
				return (int)(w & 3);
			break;
		}
		if (!p)
			break;
	}
	const char *fn = NULL;
	/* a lock event may not wait for the symbol lock (stack_function_try) */
	for (int tries = 0; tries < 64; tries++) {
		if (stack_function_try(pc, &fn, true) == 0) {
			state = name_makes_locks(fn) ? WRAP_YES : WRAP_NO;
			break;
		}
		sched_yield();
	}
	if (state == WRAP_UNKNOWN)
		return WRAP_NO; /* undecided: not kept, asked again next time */
	k = (unsigned)((pc * 0x9e3779b97f4a7c15ull) >> (64 - WRAP_BITS));
	for (unsigned i = 0; i < 8; i++, k = (k + 1) % WRAP_SLOTS) {
		uintptr_t expected = 0;
		if (atomic_load(&wrap[k].pc) == pc ||
		    atomic_compare_exchange_strong(&wrap[k].pc, &expected, pc)) {
			atomic_store(&wrap[k].word, gen << 2 | (uint64_t)state);
			break;
		}
	}
	return state;
}

uintptr_t stack_init_site(uintptr_t pc)
{
	void *raw[SITE_WRAPPERS + 32];

	if (!pc || wrap_lookup(pc) != WRAP_YES)
		return pc;
	int cancel = rt_cancel_off(); /* as in stack_capture */
	unwind_enter();
	int got = unw_backtrace(raw, (int)(sizeof(raw) / sizeof(raw[0])));
	atomic_fetch_sub(&unwinders, 1);
	rt_cancel_restore(cancel);
	int i = 0;
	while (i < got && (uintptr_t)raw[i] != pc)
		i++;
	uintptr_t site = pc;
	for (int d = 1; d <= SITE_WRAPPERS && i + d < got; d++) {
		site = (uintptr_t)raw[i + d];
		if (wrap_lookup(site) != WRAP_YES)
			break;
	}
	return site;
}

uint32_t stack_get(uint32_t id, uintptr_t *pcs, uint32_t max)
{
	uint32_t n = 0;

	rt_lock(&stack_lock);
	if (id && id <= nrecs) {
		struct stack_rec *r = recs[id - 1];
		n = r->n < max ? r->n : max;
		memcpy(pcs, r->pcs, n * sizeof(*pcs));
	}
	rt_unlock(&stack_lock);
	return n;
}

/* ---- symbolisation ---- */

struct sym_entry {
	struct frame f;
	bool lines; /* f's file and line looked up */
	struct sym_entry *hnext;
};

static struct rt_lock sym_lock = RT_LOCK_INIT;
static Dwfl *dwfl;
/* 1024 chains: a page a random bucket touches is memory of every process */
#define SYM_HASH_BITS 10
static struct sym_entry *sym_hash[1u << SYM_HASH_BITS];

/* Function names alone, by pc (stack_function_try), while no module was
 * unloaded since (rt_unload_gen). */
struct fn_entry {
	uintptr_t pc;
	const char *function;
	uint64_t gen;
	struct fn_entry *hnext;
};
static struct fn_entry *fn_hash[1024];

/*
 * Separate debug files are looked up by build ID only.  The standard lookup
 * falls back to debuginfod, whose client initialises libcurl and its TLS
 * libraries inside the checked process: in a program that exports its own
 * OpenSSL (node) those calls land in the program's library, already torn
 * down when the last report is written at exit, and crash it.
 */
static int find_debuginfo_local(Dwfl_Module *mod, void **userdata, const char *modname,
				Dwarf_Addr base, const char *file_name,
				const char *debuglink_file, GElf_Word debuglink_crc,
				char **debuginfo_file_name)
{
	return dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file_name,
					    debuglink_file, debuglink_crc, debuginfo_file_name);
}

static const Dwfl_Callbacks dwfl_callbacks = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = find_debuginfo_local,
};

static void sym_index_drop_all(void);

/* (Re)read the process's modules (sym_lock held). */
static void dwfl_refresh(void)
{
	if (!dwfl)
		dwfl = dwfl_begin(&dwfl_callbacks);
	if (!dwfl)
		return;
	sym_index_drop_all();
	dwfl_report_begin(dwfl);
	dwfl_linux_proc_report(dwfl, getpid());
	dwfl_report_end(dwfl, NULL, NULL);
}

/*
 * The symbol at an address.  libdw answers by walking the module's whole
 * symbol table (dwfl_module_addrinfo reads every symbol, twice for a miss
 * among the globals): in node, about 100,000 symbols for each lock init
 * site that names a class, 4 s of start-up.  So a large module's symbols
 * are read once into an array sorted by address and searched by bisection;
 * a small one is left to libdw.  The choice follows libdw's: of the sized
 * symbols that contain the address, the one that starts closest to it, a
 * global before a weak before a local, then the smallest; a global before
 * any local whatever their starts; failing all, the closest sizeless label
 * above every sized symbol's end.  The arrays go when the module list is
 * read again (dwfl_refresh), as libdw's modules may.
 */
#ifndef SYM_INDEX_MIN
#define SYM_INDEX_MIN 512 /* symbols: below this, libdw's walk is cheap */
#endif
#define SYM_INDEX_SCAN 64 /* entries looked at below the bisection's */

/* 16 bytes a symbol (node has 110,000): addresses from the index's base */
struct sym_ix_ent {
	uint32_t lo;
	uint32_t maxend; /* the highest end of this entry and all below it */
	uint32_t size;
	uint32_t ndx;
};

/*
 * The symbol table as it lies in the file, when what libdw makes of an
 * entry can be told from the entry alone (sym_raw_open): libdw's
 * dwfl_module_getsym_info costs some 270 instructions a symbol, most of
 * the index's building, and a look-up or two in a large module (the
 * C library's 10,000 symbols, for the two frames under main() in the JSON
 * report's graph) is cheaper as one pass over the table than as an index
 * of it (160 KB).
 */
struct sym_raw {
	Elf *elf;        /* the file the table is in */
	const Elf64_Sym *syms;
	size_t n;
	size_t strsize;  /* a name offset past it: libdw has no symbol */
	GElf_Addr bias;  /* added to a value in an allocated section */
	uint8_t *alloc;  /* by section index: 1 allocated, 2 not, 0 not looked */
	size_t nsec;
	bool ok;         /* the whole table can be read so */
	bool indexable;  /* no symbol too large, no spread over 4 GiB */
};

struct sym_index {
	Dwfl_Module *m;
	struct sym_ix_ent *ents; /* NULL: left to libdw (or to the pass, below) */
	size_t n, bytes;
	GElf_Addr base; /* the lowest symbol's address */
	struct sym_raw raw;
	size_t scans;   /* look-ups made by a pass over the table */
	bool built;     /* the index was made (or found not to be possible) */
	struct sym_index *next;
};

/* a module's look-ups by a pass over its table before it is indexed: at
 * most 8 (an index costs a few passes' work), and in all no more entries
 * read than 2^17 (node's 110,000 symbols: once) */
#define SYM_SCAN_MAX 8
#define SYM_SCAN_BUDGET ((size_t)1 << 17)

static struct sym_index *sym_indexes; /* under sym_lock */

static void sym_index_drop_all(void)
{
	while (sym_indexes) {
		struct sym_index *x = sym_indexes;
		sym_indexes = x->next;
		rt_free(x->ents, x->bytes);
		rt_free(x->raw.alloc, x->raw.nsec);
		rt_free(x, sizeof(*x));
	}
}

static void sym_ix_sift(struct sym_ix_ent *a, size_t i, size_t n)
{
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			return;
		if (c + 1 < n && a[c + 1].lo > a[c].lo)
			c++;
		if (a[c].lo <= a[i].lo)
			return;
		struct sym_ix_ent t = a[i];
		a[i] = a[c];
		a[c] = t;
		i = c;
	}
}

static void sym_ix_heapsort(struct sym_ix_ent *a, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sym_ix_sift(a, i, n);
	for (size_t end = n; end-- > 1;) {
		struct sym_ix_ent t = a[0];
		a[0] = a[end];
		a[end] = t;
		sym_ix_sift(a, 0, end);
	}
}

static void sym_ix_insertion(struct sym_ix_ent *a, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct sym_ix_ent t = a[i];
		size_t j = i;
		while (j > 0 && a[j - 1].lo > t.lo) {
			a[j] = a[j - 1];
			j--;
		}
		a[j] = t;
	}
}

/*
 * By address, in place, without recursion or allocation: quicksort on
 * the median of three, the smaller part first and the larger one looped
 * on, short runs by insertion, and a heap sort for a part that recursed
 * too deep (an adversarial order).  A symbol table of 10,000 entries (the
 * C library's, from its debug file) took 3.8 M instructions by heap sort
 * alone, a tenth of a short process's start-up; this takes a fraction.
 */
#define SYM_IX_RUN 16
static void sym_ix_sort(struct sym_ix_ent *a, size_t n)
{
	struct {
		size_t lo, n;
		unsigned depth;
	} todo[64];
	unsigned ntodo = 0, depth = 0;

	for (size_t m = n; m; m >>= 1)
		depth += 2;
	size_t lo = 0;
	for (;;) {
		while (n > SYM_IX_RUN) {
			struct sym_ix_ent *p = a + lo;
			if (!depth) {
				sym_ix_heapsort(p, n);
				n = 0;
				break;
			}
			depth--;
			/* the median of the first, middle and last at p[0] */
			size_t mid = n / 2, last = n - 1;
			struct sym_ix_ent t;
			if (p[mid].lo < p[0].lo)
				t = p[mid], p[mid] = p[0], p[0] = t;
			if (p[last].lo < p[mid].lo) {
				t = p[last], p[last] = p[mid], p[mid] = t;
				if (p[mid].lo < p[0].lo)
					t = p[mid], p[mid] = p[0], p[0] = t;
			}
			t = p[0], p[0] = p[mid], p[mid] = t;
			uint32_t pivot = p[0].lo;
			size_t i = 0, j = n;
			for (;;) {
				do
					i++;
				while (i < n && p[i].lo < pivot);
				do
					j--;
				while (p[j].lo > pivot);
				if (i >= j)
					break;
				t = p[i], p[i] = p[j], p[j] = t;
			}
			t = p[0], p[0] = p[j], p[j] = t;
			/* p[0..j) <= pivot == p[j] <= p(j..n) */
			size_t left = j, right = n - j - 1;
			if (ntodo == sizeof(todo) / sizeof(todo[0])) {
				/* cannot happen: the larger part waits, so at most
				 * log2(n) do */
				sym_ix_heapsort(p, n);
				n = 0;
				break;
			}
			if (left < right) {
				todo[ntodo++] = (typeof(todo[0])){ lo + j + 1, right, depth };
				n = left;
			} else {
				todo[ntodo++] = (typeof(todo[0])){ lo, left, depth };
				lo += j + 1;
				n = right;
			}
		}
		if (n > 1)
			sym_ix_insertion(a + lo, n);
		if (!ntodo)
			return;
		ntodo--;
		lo = todo[ntodo].lo;
		n = todo[ntodo].n;
		depth = todo[ntodo].depth;
	}
}

static bool sym_ix_usable(const char *name, const GElf_Sym *sym)
{
	int type = GELF_ST_TYPE(sym->st_info);

	return name && name[0] && sym->st_shndx != SHN_UNDEF && type != STT_SECTION &&
	       type != STT_FILE && type != STT_TLS;
}

/*
 * The same test without reading the name: a symbol without one has
 * st_name 0 (the ELF rule for "no name").  The string table is the
 * largest part of a symbol table (7.5 MB in node, 130 KB in the C
 * library's debug file) and read through a mapping, so that reading every
 * name's first byte made the process's memory grow by the whole table.
 * Only the few candidates of a look-up have their names read, and one
 * whose name is empty all the same is passed over there.  (Such a symbol,
 * which no linker makes, could still end the search for a label early.)
 */
static bool sym_ix_maybe_usable(const char *name, const GElf_Sym *sym)
{
	int type = GELF_ST_TYPE(sym->st_info);

	return name && sym->st_name && sym->st_shndx != SHN_UNDEF && type != STT_SECTION &&
	       type != STT_FILE && type != STT_TLS;
}

/* Whether section ndx is allocated, as libdw decides it (no header: yes). */
static bool sym_raw_allocated(struct sym_raw *r, Elf *elf, size_t ndx)
{
	if (ndx < r->nsec && r->alloc[ndx])
		return r->alloc[ndx] == 1;
	GElf_Shdr sh;
	GElf_Shdr *shp = gelf_getshdr(elf_getscn(elf, ndx), &sh);
	bool alloc = !shp || (shp->sh_flags & SHF_ALLOC);
	if (ndx < r->nsec)
		r->alloc[ndx] = alloc ? 1 : 2;
	return alloc;
}

/* The address libdw gives the entry (never SHN_XINDEX: see sym_raw_open). */
static GElf_Addr sym_raw_addr(struct sym_raw *r, Elf *elf, const Elf64_Sym *e)
{
	if (e->st_shndx == SHN_UNDEF || e->st_shndx >= SHN_LORESERVE)
		return e->st_value; /* absolute, common */
	return sym_raw_allocated(r, elf, e->st_shndx) ? e->st_value + r->bias : e->st_value;
}

/* sym_ix_maybe_usable, of a raw entry. */
static bool sym_raw_maybe_usable(const struct sym_raw *r, const Elf64_Sym *e)
{
	int type = ELF64_ST_TYPE(e->st_info);

	return e->st_name && e->st_name < r->strsize && e->st_shndx != SHN_UNDEF &&
	       type != STT_SECTION && type != STT_FILE && type != STT_TLS;
}

/*
 * Read the table as libdw would: the symbols come from one ELF file (no
 * minidebuginfo table merged in), 64-bit, a shared object or executable
 * (no relocatable file), its .symtab (else .dynsym) having exactly the
 * count libdw gives, no extended section index; and a sample of entries
 * read both ways must agree, else the module is left to libdw.
 */
static void sym_raw_open(Dwfl_Module *m, int total, struct sym_raw *r)
{
	GElf_Sym s1;
	GElf_Addr a1;
	Elf *elf = NULL;
	Dwarf_Addr bias = 0;
	GElf_Ehdr eh;
	size_t nsec = 0;

	if (total < 2 || !dwfl_module_getsym_info(m, 1, &s1, &a1, NULL, &elf, &bias) || !elf ||
	    !gelf_getehdr(elf, &eh) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || (eh.e_type != ET_DYN && eh.e_type != ET_EXEC) ||
	    elf_getshdrnum(elf, &nsec) != 0)
		return;
	Elf_Scn *found = NULL;
	GElf_Shdr fsh;
	for (int pass = 0; pass < 2 && !found; pass++) {
		Elf_Scn *scn = NULL;
		while ((scn = elf_nextscn(elf, scn))) {
			GElf_Shdr sh;
			if (gelf_getshdr(scn, &sh) &&
			    sh.sh_type == (pass ? SHT_DYNSYM : SHT_SYMTAB) &&
			    sh.sh_entsize == sizeof(Elf64_Sym) &&
			    sh.sh_size / sizeof(Elf64_Sym) == (size_t)total) {
				found = scn;
				fsh = sh;
				break;
			}
		}
	}
	if (!found)
		return;
	Elf_Data *d = elf_getdata(found, NULL);
	GElf_Shdr ssh;
	if (!d || d->d_type != ELF_T_SYM || d->d_size < (size_t)total * sizeof(Elf64_Sym) ||
	    !gelf_getshdr(elf_getscn(elf, fsh.sh_link), &ssh))
		return;
	r->elf = elf;
	r->syms = d->d_buf;
	r->n = (size_t)total;
	r->strsize = ssh.sh_size;
	r->bias = bias;
	r->nsec = nsec;
	if (!(r->alloc = rt_alloc(nsec ? nsec : 1)))
		return;
	/* one pass: what the index needs to hold every entry */
	GElf_Addr lo = ~(GElf_Addr)0, hi = 0;
	bool indexable = true;
	for (size_t i = 1; i < r->n; i++) {
		const Elf64_Sym *e = &r->syms[i];
		if (e->st_shndx == SHN_XINDEX)
			return;
		if (!sym_raw_maybe_usable(r, e))
			continue;
		GElf_Addr a = sym_raw_addr(r, elf, e);
		if (e->st_size > UINT32_MAX)
			indexable = false;
		if (a < lo)
			lo = a;
		if (a + e->st_size > hi)
			hi = a + e->st_size;
	}
	if (lo <= hi && hi - lo > UINT32_MAX)
		indexable = false;
	/* a sample read both ways */
	size_t step = r->n / 61 + 1;
	for (size_t i = 1; i < r->n; i += step) {
		GElf_Sym sym;
		GElf_Addr addr;
		Elf *selfelf = NULL;
		const Elf64_Sym *e = &r->syms[i];
		const char *name = dwfl_module_getsym_info(m, (int)i, &sym, &addr, NULL, &selfelf, NULL);
		if (!name != !(e->st_name < r->strsize) || selfelf != elf ||
		    (name && (sym.st_name != e->st_name || sym.st_info != e->st_info ||
			      sym.st_shndx != e->st_shndx || sym.st_size != e->st_size ||
			      (e->st_shndx != SHN_UNDEF && addr != sym_raw_addr(r, elf, e)))))
			return;
	}
	r->indexable = indexable;
	r->ok = true;
}

static struct sym_index *sym_index_of(Dwfl_Module *m)
{
	struct sym_index *x;

	for (x = sym_indexes; x; x = x->next)
		if (x->m == m)
			return x;
	if (!(x = rt_alloc(sizeof(*x))))
		return NULL;
	x->m = m;
	x->next = sym_indexes;
	sym_indexes = x;
	int total = dwfl_module_getsymtab(m);
	if (total < SYM_INDEX_MIN)
		x->built = true; /* left to libdw */
	else
		sym_raw_open(m, total, &x->raw);
	return x;
}

static void sym_index_build(struct sym_index *x)
{
	Dwfl_Module *m = x->m;
	struct sym_raw *r = &x->raw;

	x->built = true;
	int total = dwfl_module_getsymtab(m);
	if (total < SYM_INDEX_MIN)
		return;
	x->bytes = (size_t)total * sizeof(*x->ents);
	if (!(x->ents = rt_alloc(x->bytes)))
		return;
	for (int i = 1; i < total; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		if (r->ok) {
			const Elf64_Sym *e = &r->syms[i];
			if (!sym_raw_maybe_usable(r, e))
				continue;
			addr = sym_raw_addr(r, r->elf, e);
			sym.st_size = e->st_size;
		} else {
			const char *name = dwfl_module_getsym_info(m, i, &sym, &addr, NULL, NULL, NULL);
			if (!sym_ix_maybe_usable(name, &sym))
				continue;
		}
		if (sym.st_size > UINT32_MAX) {
			/* outside what an entry holds: the module is left to libdw */
			rt_free(x->ents, x->bytes);
			x->ents = NULL;
			return;
		}
		/* the whole address until the base is known: in lo and maxend */
		x->ents[x->n++] = (struct sym_ix_ent){ (uint32_t)addr, (uint32_t)(addr >> 32),
						       (uint32_t)sym.st_size, (uint32_t)i };
	}
	GElf_Addr base = ~(GElf_Addr)0, top = 0;
	for (size_t i = 0; i < x->n; i++) {
		GElf_Addr a = (GElf_Addr)x->ents[i].maxend << 32 | x->ents[i].lo;
		if (a < base)
			base = a;
		if (a + x->ents[i].size > top)
			top = a + x->ents[i].size;
	}
	if (x->n && top - base > UINT32_MAX) {
		/* symbols spread over more than 4 GiB: the module is left to libdw */
		rt_free(x->ents, x->bytes);
		x->ents = NULL;
		return;
	}
	x->base = base;
	for (size_t i = 0; i < x->n; i++) {
		GElf_Addr a = (GElf_Addr)x->ents[i].maxend << 32 | x->ents[i].lo;
		x->ents[i].lo = (uint32_t)(a - base);
	}
	sym_ix_sort(x->ents, x->n);
	uint32_t maxend = 0;
	for (size_t i = 0; i < x->n; i++) {
		uint32_t end = x->ents[i].lo + x->ents[i].size; /* at most top - base */
		if (end > maxend)
			maxend = end;
		x->ents[i].maxend = maxend;
	}
}

static int sym_bind_rank(const GElf_Sym *s)
{
	switch (GELF_ST_BIND(s->st_info)) {
	case STB_GLOBAL:
		return 3;
	case STB_WEAK:
		return 2;
	case STB_LOCAL:
		return 1;
	default:
		return 0;
	}
}

/* Whether candidate c (value cv) beats the best so far b (value bv). */
static bool sym_better(const GElf_Sym *c, GElf_Addr cv, uint32_t cn, const GElf_Sym *b,
		       GElf_Addr bv, uint32_t bn)
{
	bool cg = GELF_ST_BIND(c->st_info) != STB_LOCAL, bg = GELF_ST_BIND(b->st_info) != STB_LOCAL;

	if (cg != bg)
		return cg;
	if (cv != bv)
		return cv > bv;
	if (sym_bind_rank(c) != sym_bind_rank(b))
		return sym_bind_rank(c) > sym_bind_rank(b);
	if (c->st_size != b->st_size)
		return c->st_size < b->st_size;
	return cn < bn; /* aliases: the first in the table, as libdw */
}

/*
 * sym_at_ix's answer by one pass over the raw table: of the sized symbols
 * that contain at, the best as sym_better ranks them; failing that, the
 * best sizeless label at the highest start at or below at, unless a sized
 * symbol starts there or one below it ends above it.
 */
static const char *sym_at_scan(Dwfl_Module *m, struct sym_raw *r, GElf_Addr at, GElf_Off *off,
			       GElf_Sym *out)
{
	Elf *elf = r->elf;
	const char *best = NULL;
	GElf_Sym bsym, sym;
	GElf_Addr bval = 0, addr, top = 0;
	uint32_t bndx = 0;
	bool any = false;

	for (size_t i = 1; i < r->n; i++) {
		const Elf64_Sym *e = &r->syms[i];
		if (!sym_raw_maybe_usable(r, e))
			continue;
		GElf_Addr a = sym_raw_addr(r, elf, e);
		if (a > at)
			continue;
		if (!any || a > top)
			top = a;
		any = true;
		if (!e->st_size || at - a >= e->st_size)
			continue;
		const char *name = dwfl_module_getsym_info(m, (int)i, &sym, &addr, NULL, NULL, NULL);
		if (sym_ix_usable(name, &sym) &&
		    (!best || sym_better(&sym, addr, (uint32_t)i, &bsym, bval, bndx))) {
			best = name;
			bsym = sym;
			bval = addr;
			bndx = (uint32_t)i;
		}
	}
	if (!best) {
		if (!any)
			return NULL;
		for (size_t i = 1; i < r->n; i++) {
			const Elf64_Sym *e = &r->syms[i];
			if (!sym_raw_maybe_usable(r, e) || !e->st_size)
				continue;
			GElf_Addr a = sym_raw_addr(r, elf, e);
			if (a == top || (a < top && a + e->st_size > top))
				return NULL;
		}
		for (size_t i = 1; i < r->n; i++) {
			const Elf64_Sym *e = &r->syms[i];
			if (!sym_raw_maybe_usable(r, e) || sym_raw_addr(r, elf, e) != top)
				continue;
			const char *name = dwfl_module_getsym_info(m, (int)i, &sym, &addr, NULL, NULL, NULL);
			if (sym_ix_usable(name, &sym) &&
			    (!best || sym_bind_rank(&sym) > sym_bind_rank(&bsym) ||
			     (sym_bind_rank(&sym) == sym_bind_rank(&bsym) && (uint32_t)i < bndx))) {
				best = name;
				bsym = sym;
				bval = addr;
				bndx = (uint32_t)i;
			}
		}
		if (!best)
			return NULL;
	}
	*off = at - bval;
	*out = bsym;
	return best;
}

/* dwfl_module_addrinfo(m, at, off, sym, NULL, NULL, NULL), by the index. */
static const char *sym_at_ix(Dwfl_Module *m, GElf_Addr at, GElf_Off *off, GElf_Sym *out)
{
	struct sym_index *x = sym_index_of(m);

	/* a module that cannot be indexed (the C library's debug file: its
	 * absolute symbols at 0, the rest where it is loaded, more than 4 GiB
	 * apart) is always passed over: some 20 times less work than libdw's
	 * own walk */
	if (x && !x->built && x->raw.ok &&
	    (!x->raw.indexable ||
	     (x->scans < SYM_SCAN_MAX && x->scans * x->raw.n < SYM_SCAN_BUDGET))) {
		x->scans++;
		return sym_at_scan(m, &x->raw, at, off, out);
	}
	if (x && !x->built)
		sym_index_build(x);
	if (!x || !x->ents || !x->n)
		return dwfl_module_addrinfo(m, at, off, out, NULL, NULL, NULL);
	if (at < x->base)
		return NULL; /* below every symbol */
	GElf_Addr rel = at - x->base; /* what the entries hold; may pass 32 bits */
	size_t lo = 0, hi = x->n;     /* the first entry above at */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (x->ents[mid].lo <= rel)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	const char *best = NULL;
	GElf_Sym bsym, sym;
	GElf_Addr bval = 0, addr;
	uint32_t bndx = 0;
	unsigned looked = 0;
	for (size_t j = lo; j-- > 0;) {
		const struct sym_ix_ent *e = &x->ents[j];
		if (e->maxend <= rel)
			break; /* nothing at or below j contains at */
		if (looked++ == SYM_INDEX_SCAN)
			return dwfl_module_addrinfo(m, at, off, out, NULL, NULL, NULL);
		if (!e->size || rel - e->lo >= e->size)
			continue;
		const char *name = dwfl_module_getsym_info(m, (int)e->ndx, &sym, &addr, NULL, NULL, NULL);
		if (sym_ix_usable(name, &sym) &&
		    (!best || sym_better(&sym, addr, e->ndx, &bsym, bval, bndx))) {
			best = name;
			bsym = sym;
			bval = addr;
			bndx = e->ndx;
		}
	}
	if (!best) {
		/* a sizeless label: the highest start at or below at, if no
		 * sized symbol from there down ends above it */
		size_t k = lo;
		uint32_t top = x->ents[lo - 1].lo;
		while (k > 0 && x->ents[k - 1].lo == top)
			k--;
		if (k && x->ents[k - 1].maxend > top)
			return NULL;
		for (size_t i = k; i < lo; i++) {
			if (x->ents[i].size)
				return NULL;
			const char *name = dwfl_module_getsym_info(m, (int)x->ents[i].ndx, &sym, &addr,
								   NULL, NULL, NULL);
			if (sym_ix_usable(name, &sym) &&
			    (!best || sym_bind_rank(&sym) > sym_bind_rank(&bsym) ||
			     (sym_bind_rank(&sym) == sym_bind_rank(&bsym) && x->ents[i].ndx < bndx))) {
				best = name;
				bsym = sym;
				bval = addr;
				bndx = x->ents[i].ndx;
			}
		}
		if (!best)
			return NULL;
	}
	*off = at - bval;
	*out = bsym;
	return best;
}

#ifdef SYM_INDEX_CHECK
static const char *sym_at(Dwfl_Module *m, GElf_Addr at, GElf_Off *off, GElf_Sym *out)
{
	GElf_Off o2 = 0;
	GElf_Sym s2;
	const char *a = sym_at_ix(m, at, off, out);
	const char *b = dwfl_module_addrinfo(m, at, &o2, &s2, NULL, NULL, NULL);
	if ((a == NULL) != (b == NULL) || (a && (strcmp(a, b) || *off != o2))) {
		char msg[512];
		int n = snprintf(msg, sizeof(msg), "SYMCHECK %#lx: index %s+%#lx libdw %s+%#lx\n",
				 (unsigned long)at, a ? a : "-", a ? (unsigned long)*off : 0UL,
				 b ? b : "-", b ? (unsigned long)o2 : 0UL);
		(void)!write(2, msg, (size_t)n);
	}
	return a;
}
#else
#define sym_at sym_at_ix
#endif

static unsigned long long dwfl_adds, dwfl_subs;

static int modules_changed(struct dl_phdr_info *info, size_t size, void *arg)
{
	bool *changed = arg;

	*changed = info->dlpi_adds != dwfl_adds || info->dlpi_subs != dwfl_subs;
	dwfl_adds = info->dlpi_adds;
	dwfl_subs = info->dlpi_subs;
	return 1; /* the counters are the same in every entry */
}

/*
 * The module at addr.  The module list is read again only when the
 * loader's counts of loaded and unloaded objects moved: an address in no
 * module (the heap) costs a look at two counters, not a read of the maps.
 */
/* Under sym_lock: the window in which libdw allocates from runtime memory,
 * opened by the first call into libdw and closed by sym_leave(); lookups
 * the runtime's own caches answer open none. */
static sigset_t sym_sigs;
static bool sym_in_libdw;

/*
 * Out of memory, libdw does not fail cleanly: its line-table reader was
 * seen to crash (SIGSEGV in dwarf_getsrclines under ulimit -v), and where
 * it checks, its default answer to a failed allocation is to exit the
 * process.  So before a window into libdw opens, the runtime makes sure
 * that SYM_HEADROOM of address space can still be had (a mapping that
 * reserves nothing, made and unmade at once); when it cannot, the window
 * stays shut and frames are named by module and offset alone (sym_short),
 * from the loader's list, until memory is back.
 */
#define SYM_HEADROOM ((size_t)64 << 20)
static bool sym_short;

static bool sym_headroom(void)
{
	long r = syscall(SYS_mmap, NULL, SYM_HEADROOM, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (r < 0 && r > -4096)
		return false;
	syscall(SYS_munmap, (void *)r, SYM_HEADROOM);
	return true;
}

static Dwfl_Module *module_of(uintptr_t addr)
{
	bool changed = false;
	Dwfl_Module *m = NULL;

	if (!sym_in_libdw) {
		sym_short = !sym_headroom() || atomic_load(&rt_oom_disabled);
		if (sym_short)
			return NULL;
		sym_in_libdw = true;
		private_heap_enter(&sym_sigs);
	}

	if (!dwfl) {
		dl_iterate_phdr(modules_changed, &changed);
		dwfl_refresh();
	}
	if (dwfl)
		m = dwfl_addrmodule(dwfl, addr);
	if (!m && dwfl) {
		dl_iterate_phdr(modules_changed, &changed);
		if (changed) {
			dwfl_refresh();
			m = dwfl_addrmodule(dwfl, addr);
		}
	}
	return m;
}

static const char *intern_str(const char *s)
{
	return s ? rt_strdup(s) : NULL;
}

/*
 * C++ names, demangled by libiberty's callback demangler: it allocates
 * nothing (its work space is on this stack, about 64 bytes a character of
 * the mangled name, so names longer than DEMANGLE_MAX stay mangled) and
 * hands the text out in pieces, gathered here into a fixed buffer.  A
 * symbol version ("@@GLIBCXX_3.4") is kept after the demangled name.
 */
#define DEMANGLE_MAX 512
struct demangled {
	char *out;
	size_t size, len;
	bool overflow;
};

static void demangle_put(const char *s, size_t n, void *arg)
{
	struct demangled *d = arg;

	if (d->overflow || d->len + n >= d->size) {
		d->overflow = true;
		return;
	}
	memcpy(d->out + d->len, s, n);
	d->len += n;
}

static const char *demangle(const char *name, bool params, char *out, size_t size)
{
	char mangled[DEMANGLE_MAX + 1];
	struct demangled d = { out, size, 0, false };

	if (!name || strncmp(name, "_Z", 2))
		return name;
	size_t n = strcspn(name, "@");
	if (n > DEMANGLE_MAX)
		return name;
	memcpy(mangled, name, n);
	mangled[n] = '\0';
	if (!cplus_demangle_v3_callback(mangled, DMGL_ANSI | (params ? DMGL_PARAMS : 0),
					demangle_put, &d))
		return name;
	demangle_put(name + n, strlen(name + n), &d);
	if (d.overflow)
		return name;
	out[d.len] = '\0';
	return out;
}

/* The function's name as a report shows it (when function is not NULL),
 * and without its parameters (name). */
static void function_names(const char *sym, const char **function, const char **name)
{
	char buf[1024];
	const char *full = NULL;

	if (function)
		*function = full = intern_str(demangle(sym, true, buf, sizeof(buf)));
	if (full && strncmp(sym, "_Z", 2)) {
		*name = full; /* a C name: the same */
		return;
	}
	*name = intern_str(demangle(sym, false, buf, sizeof(buf)));
}

/*
 * DWARF records a file as the compiler was given it, relative to the
 * directory it ran in (../src/x.c for an out-of-tree build): join the two
 * and drop "." and "dir/.." so that the path names the file wherever the
 * report is read.  The result goes to out (size n); file itself when it
 * is absolute or the directory is unknown.
 */
static const char *join_comp_dir(const char *dir, const char *file, char *out, size_t n)
{
	size_t len = 0, seg;
	const char *p;

	if (!file || file[0] == '/' || !dir || dir[0] != '/')
		return file;
	if (strlen(dir) + strlen(file) + 2 > n)
		return file;
	/* out holds a normalised absolute path without the trailing "/" */
	for (int part = 0; part < 2; part++) {
		for (p = part ? file : dir; *p; p += seg) {
			while (*p == '/')
				p++;
			seg = strcspn(p, "/");
			if (!seg || (seg == 1 && p[0] == '.'))
				continue;
			if (seg == 2 && p[0] == '.' && p[1] == '.') {
				while (len && out[len - 1] != '/')
					len--;
				if (len)
					len--;
				continue;
			}
			out[len++] = '/';
			memcpy(out + len, p, seg);
			len += seg;
		}
	}
	out[len] = '\0';
	return len ? out : file;
}

/* A function's name in DWARF: its linkage name, else its plain name. */
static const char *die_name(Dwarf_Die *d)
{
	Dwarf_Attribute a;
	const char *n = dwarf_formstring(dwarf_attr_integrate(d, DW_AT_linkage_name, &a));

	if (!n)
		n = dwarf_formstring(dwarf_attr_integrate(d, DW_AT_MIPS_linkage_name, &a));
	if (!n)
		n = dwarf_formstring(dwarf_attr_integrate(d, DW_AT_name, &a));
	return n;
}

#define system_header frame_in_system_header

/*
 * Code inlined into the function at pc - std::mutex::lock() and its
 * __gthread_mutex_lock, at -O2 the program's own methods and lambdas too -
 * has the line of the innermost inlined function, often a library header.
 * The frame is the program's: of the functions inlined there, innermost
 * first, the first whose place (the line, then each call site outward) is
 * not in a system header; the function symbol's when that is the
 * outermost one.  *file and *lineno come in as the line table's and go
 * out as that place; *inlined is the inlined function's name, or stays
 * NULL.  libdw's scope list is allocated and freed inside the
 * private-heap window.
 */
static void program_frame(Dwfl_Module *m, uintptr_t at, const char **file, int *lineno,
			  const char **inlined)
{
	Dwarf_Addr bias = 0;
	Dwarf_Die *cu = dwfl_module_addrdie(m, at, &bias);
	Dwarf_Die *scopes = NULL;
	Dwarf_Files *files = NULL;
	size_t nfiles = 0;
	const char *where = *file;
	int line = *lineno;

	if (!cu || !system_header(where))
		return;
	int n = dwarf_getscopes(cu, at - bias, &scopes);
	/* that list goes on with the scopes of the innermost inlined
	 * function's abstract definition: the chain it was inlined in is
	 * its DIE's own */
	if (n > 0 && dwarf_tag(&scopes[0]) == DW_TAG_inlined_subroutine) {
		Dwarf_Die inner = scopes[0];
		free(scopes);
		scopes = NULL;
		n = dwarf_getscopes_die(&inner, &scopes);
	}
	if (n <= 0 || dwarf_getsrcfiles(cu, &files, &nfiles) != 0) {
		free(scopes);
		return;
	}
	for (int i = 0; i < n; i++) {
		int tag = dwarf_tag(&scopes[i]);
		Dwarf_Attribute attr;
		Dwarf_Word fileno, callline;

		if (tag == DW_TAG_subprogram) {
			if (!system_header(where)) {
				*file = where;
				*lineno = line;
			}
			break;
		}
		if (tag != DW_TAG_inlined_subroutine)
			continue;
		if (!system_header(where)) {
			const char *name = die_name(&scopes[i]);
			if (name) {
				*file = where;
				*lineno = line;
				*inlined = name;
			}
			break;
		}
		/* out to the place that called this inlined function */
		if (dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_file, &attr), &fileno) ||
		    dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_line, &attr), &callline) ||
		    fileno >= nfiles || !(where = dwarf_filesrc(files, fileno, NULL, NULL)))
			break;
		line = (int)callline;
	}
	free(scopes);
}

struct module_base {
	uintptr_t addr;
	uintptr_t bias;
	const char *name;
};

static int module_base_one(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct module_base *mb = arg;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && mb->addr >= lo && mb->addr < lo + ph->p_memsz) {
			mb->bias = info->dlpi_addr;
			mb->name = info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : exe_path;
			return 1;
		}
	}
	return 0;
}

/* The frame at pc by module and offset alone, from the loader's list. */
static void symbolize_short(uintptr_t pc, uintptr_t at, struct frame *f)
{
	struct module_base mb = { at, 0, NULL };

	dl_iterate_phdr(module_base_one, &mb);
	if (!mb.name)
		return;
	f->module = mb.name[0] ? intern_str(mb.name) : NULL;
	f->offset = pc - mb.bias;
}

static void symbolize_locked(uintptr_t pc, struct frame *f, bool lines)
{
	uintptr_t at = pc ? pc - 1 : 0; /* return addresses point past the call */
	Dwfl_Module *m = module_of(at);

	memset(f, 0, sizeof(*f));
	f->pc = pc;
	if (!m && sym_short)
		symbolize_short(pc, at, f);
	if (!m)
		return;
	Dwarf_Addr base = 0;
	const char *modname = dwfl_module_info(m, NULL, &base, NULL, NULL, NULL, NULL, NULL);
	f->module = intern_str(modname);
	f->offset = pc - base;
	GElf_Off off;
	GElf_Sym sym;
	const char *name = sym_at(m, at, &off, &sym);
	f->fn_offset = name ? off + (pc - at) : 0;
	Dwfl_Line *line = lines ? dwfl_module_getsrc(m, at) : NULL;
	if (line) {
		int lineno = 0;
		const char *file = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);
		const char *inlined = NULL;
		char path[4096];
		program_frame(m, at, &file, &lineno, &inlined);
		if (inlined)
			name = inlined;
		f->file = intern_str(join_comp_dir(dwfl_line_comp_dir(line), file, path,
						   sizeof(path)));
		f->line = lineno;
	}
	function_names(name, &f->function, &f->name);
}

/*
 * Taking sym_lock from inside a lock event may wait for a thread that is
 * inside libdw, itself waiting in the program's allocator for a lock the
 * event's thread holds (a preloaded jemalloc's internal locks do that).
 * Lock events therefore only try it: see class_name_try().
 */

static int sym_cancel; /* the holder's cancelability (sym_lock) */

static bool sym_enter(bool try)
{
	int old = rt_cancel_off();

	if (try ? !rt_trylock(&sym_lock) : (rt_lock(&sym_lock), false)) {
		rt_cancel_restore(old);
		return false;
	}
	sym_cancel = old;
	return true;
}

static void sym_leave(void)
{
	int old = sym_cancel;

	if (sym_in_libdw) {
		sym_in_libdw = false;
		private_heap_leave(&sym_sigs);
	}
	rt_unlock(&sym_lock);
	rt_cancel_restore(old);
}

/*
 * The frame at pc; with its file and line when `lines` is set.  Reading a
 * module's line table reads (and inflates) its whole DWARF, which for a
 * library with installed debug info (libc6-dbg) costs more than a short
 * process's whole run: the graph of a JSON report does without.  An entry
 * made without lines is made again, whole, when they are asked for (the
 * function may then be an inlined one).
 */
static void symbolize(uintptr_t pc, struct frame *f, bool lines)
{
	unsigned k = (unsigned)((pc * 0x9e3779b97f4a7c15ull) >> (64 - SYM_HASH_BITS));
	struct sym_entry *e;

	sym_enter(false);
	for (e = sym_hash[k]; e; e = e->hnext)
		if (e->f.pc == pc)
			break;
	if (e && lines && !e->lines) {
		struct frame whole;
		symbolize_locked(pc, &whole, true);
		if (!sym_short) {
			e->f = whole;
			e->lines = true;
		} /* else named without libdw: the entry stays as it was */
	} else if (!e && (e = rt_alloc(sizeof(*e)))) {
		symbolize_locked(pc, &e->f, lines);
		e->lines = lines;
		if (sym_short) {
			/* named without libdw: named again once memory is back */
			*f = e->f;
			rt_free(e, sizeof(*e));
			e = NULL;
			goto out;
		}
		e->hnext = sym_hash[k];
		sym_hash[k] = e;
	} else if (!e) {
		symbolize_locked(pc, f, lines);
	}
	if (e)
		*f = e->f;
out:
	sym_leave();
	if (!lines) {
		f->file = NULL; /* the same output whatever was asked before */
		f->line = 0;
	}
}

void stack_symbolize(uintptr_t pc, struct frame *f)
{
	symbolize(pc, f, true);
}

void stack_symbolize_brief(uintptr_t pc, struct frame *f)
{
	symbolize(pc, f, false);
}

/*
 * The function at pc alone, for naming a class: the symbol table only, no
 * line tables.  Lock events name classes from any of the program's threads,
 * and libdw's line-table reader (its per-thread memory) is kept to the few
 * threads that write reports.
 */
int stack_function_try(uintptr_t pc, const char **function, bool try)
{
	unsigned k = (unsigned)((pc * 0x9e3779b97f4a7c15ull) >> (64 - SYM_HASH_BITS));
	uintptr_t at = pc ? pc - 1 : 0;

	if (!sym_enter(try))
		return -1;
	*function = NULL;
	for (struct sym_entry *e = sym_hash[k]; e; e = e->hnext) {
		if (e->f.pc == pc) {
			*function = e->f.name;
			sym_leave();
			return 0;
		}
	}
	/* the init site of many heap locks: looked up once */
	uint64_t gen = atomic_load(&rt_unload_gen);
	unsigned fk = k & (sizeof(fn_hash) / sizeof(fn_hash[0]) - 1);
	struct fn_entry *fe = fn_hash[fk];
	while (fe && fe->pc != pc)
		fe = fe->hnext;
	if (fe && fe->gen == gen) {
		*function = fe->function;
		sym_leave();
		return 0;
	}
	Dwfl_Module *m = module_of(at);
	if (m) {
		GElf_Off off;
		GElf_Sym sym;
		function_names(sym_at(m, at, &off, &sym), NULL,
			       function);
	}
	if (!fe && (fe = rt_alloc(sizeof(*fe)))) {
		fe->pc = pc;
		fe->hnext = fn_hash[fk];
		fn_hash[fk] = fe;
	}
	if (fe) {
		fe->function = *function; /* an older name stays allocated: classes hold it */
		fe->gen = gen;
	}
	sym_leave();
	return 0;
}


/* The base name of a module's path. */
static const char *path_base(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return slash ? slash + 1 : path;
}

/*
 * The name of a static lock: its symbol ("queue_lock", "devices+0x40"),
 * or, in a module without one (stripped), its kind, the module and the
 * offset in it ("mutex@prog+0x4010"): the same from run to run, and never
 * the same in two different modules.
 */
/* The first mapped address of the module whose segments hold addr. */
struct module_find {
	uintptr_t addr, start;
};

static int module_find_one(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct module_find *mf = arg;
	uintptr_t first = 0;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type != PT_LOAD)
			continue;
		if (!first)
			first = lo;
		if (mf->addr >= lo && mf->addr < lo + ph->p_memsz) {
			mf->start = first;
			return 1;
		}
	}
	return 0;
}

int stack_object_name_try(const void *addr, const char *kind, const char **out, bool try)
{
	const char *result = NULL;
	char buf[512];

	if (!sym_enter(try))
		return -1;
	Dwfl_Module *m = module_of((uintptr_t)addr);
	if (!m) {
		/* libdw's module ends with the last file-backed page: the rest
		 * of a .bss longer than that is the module's all the same */
		struct module_find mf = { (uintptr_t)addr, 0 };
		dl_iterate_phdr(module_find_one, &mf);
		if (mf.start)
			m = module_of(mf.start);
	}
	if (m) {
		GElf_Off off;
		GElf_Sym sym;
		Dwarf_Addr start = 0;
		const char *modname = dwfl_module_info(m, NULL, &start, NULL, NULL, NULL, NULL, NULL);
		const char *name = sym_at(m, (GElf_Addr)(uintptr_t)addr, &off, &sym);
		char plain[1024];
		if (name && GELF_ST_TYPE(sym.st_info) == STT_OBJECT) {
			name = demangle(name, false, plain, sizeof(plain));
			if (off)
				snprintf(buf, sizeof(buf), "%s+%#lx", name, (unsigned long)off);
			else
				snprintf(buf, sizeof(buf), "%s", name);
			result = rt_strdup(buf);
		} else if (modname) {
			snprintf(buf, sizeof(buf), "%s@%s+%#lx", kind, path_base(modname),
				 (unsigned long)((uintptr_t)addr - start));
			result = rt_strdup(buf);
		}
	}
	sym_leave();
	*out = result;
	return 0;
}

/*
 * Where the code at pc is, for the name of a class made there: "fn:line"
 * with line tables, "fn+0xoff" with a symbol alone, "module+0xoff" in a
 * stripped module; never an address, which moves from run to run.
 */
size_t stack_site_name(uintptr_t pc, char *buf, size_t size)
{
	struct frame f;
	char num[32];
	size_t n;

	stack_symbolize(pc, &f);
	if (f.name && f.line > 0) {
		n = name_cat(buf, size, 0, f.name);
		return name_cat_uint(buf, size, name_cat(buf, size, n, ":"), (uint32_t)f.line);
	}
	if (f.name) {
		snprintf(num, sizeof(num), "+%#lx", (unsigned long)f.fn_offset);
		return name_cat(buf, size, name_cat(buf, size, 0, f.name), num);
	}
	if (f.module) {
		snprintf(num, sizeof(num), "+%#lx", (unsigned long)f.offset);
		return name_cat(buf, size, name_cat(buf, size, 0, path_base(f.module)), num);
	}
	return name_cat(buf, size, 0, "?");
}

const char *stack_object_name(const void *addr)
{
	const char *name = NULL;

	stack_object_name_try(addr, "object", &name, false);
	return name;
}

void stack_fork(int phase)
{
	rt_lock_fork(&static_lock, phase);
	unwind_fork(phase);
	rt_lock_fork(&stack_lock, phase);
	rt_lock_fork(&sym_lock, phase);
}
