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
#include <fcntl.h>
#include <link.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/auxv.h>
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
 * The return addresses of the calling thread's stack, innermost first,
 * at most max (the first ones the runtime's own).  unw_backtrace() keeps
 * a trace cache for every thread that unwinds: 16,384 entries, 256 KB
 * written at once, worth it for the thread that makes most of a
 * process's stacks.  Another thread (a pool's worker makes a few) steps
 * through its first BACKTRACE_STEPPED stacks frame by frame, which costs
 * more instructions and libunwind's signal-mask calls a frame, and no
 * cache; node -e 0: 500 KB less.
 */
#ifndef BACKTRACE_STEPPED
#define BACKTRACE_STEPPED 8
#endif
static __thread unsigned backtraces; /* stepped by this thread */

static __attribute__((noinline)) int backtrace_pcs(void **pcs, int max)
{
	unw_context_t ctx;
	unw_cursor_t cur;
	int n = 0;

	if (backtraces >= BACKTRACE_STEPPED || !tls_thread || tls_thread->tid == rt_pid)
		return unw_backtrace(pcs, max);
	backtraces++;
	if (unw_getcontext(&ctx) || unw_init_local(&cur, &ctx))
		return 0;
	while (n < max && unw_step(&cur) > 0) {
		unw_word_t ip;
		if (unw_get_reg(&cur, UNW_REG_IP, &ip) || !ip)
			break;
		pcs[n++] = (void *)ip;
	}
	return n;
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
	/* free() looks at every block, this thread's for rt_owns() */
	atomic_fetch_add(&release_watch, 1);
	tls_private_heap++;
	alloc_state_refresh();
}

static void private_heap_leave(const sigset_t *old)
{
	tls_private_heap--;
	alloc_state_refresh();
	atomic_fetch_sub(&release_watch, 1);
	rt_sigmask(SIG_SETMASK, old, NULL);
}

__thread uintptr_t tls_stack_lo __attribute__((tls_model("initial-exec")));

/*
 * How far to unwind: libunwind's work, and the pages of the modules'
 * unwind tables it reads (in node, 2.5 MB of an 80 MB binary), grow with
 * each frame.  A capture keeps stack_depth frames under the runtime's own
 * and a wrapper's site needs SITE_WRAPPERS frames over the init call: a
 * first unwind goes that far with room for STACK_ROOM_FIRST frames of the
 * runtime, a second one as far as before when that was not enough.  The
 * frames kept are the same either way: a shorter unwind gives the first
 * frames of a longer one.
 */
#define STACK_ROOM_FIRST 8

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
	/* on a small stack nearly used up, the caller's frame alone */
	if (tls_stack_lo && (uintptr_t)__builtin_frame_address(0) < tls_stack_lo + STACK_CAPTURE_ROOM)
		depth = 0;
	int cancel = rt_cancel_off();
	unwind_enter();
	/* the runtime's own frames first (8 from a lock wrapper): unwound
	 * with room for 8 of them, again with room for 16 when more came */
	int max = depth + STACK_ROOM_FIRST;
	int got = depth ? backtrace_pcs(raw, max) : 0;
	int i = 0;
	while (i < got && stack_pc_in_runtime((uintptr_t)raw[i]))
		i++;
	if (got == max && got - i < depth) {
		got = backtrace_pcs(raw, depth + 16);
		for (i = 0; i < got && stack_pc_in_runtime((uintptr_t)raw[i]);)
			i++;
	}
	atomic_fetch_sub(&unwinders, 1);
	rt_cancel_restore(cancel);
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
	int max = SITE_WRAPPERS + 1 + STACK_ROOM_FIRST;

	if (!pc || wrap_lookup(pc) != WRAP_YES)
		return pc;
	int cancel = rt_cancel_off(); /* as in stack_capture */
	unwind_enter();
	int got = backtrace_pcs(raw, max);
	int i = 0;
	while (i < got && (uintptr_t)raw[i] != pc)
		i++;
	/* pc or the frames over it past the first unwind: all of them */
	if (got == max && i + SITE_WRAPPERS >= got) {
		got = backtrace_pcs(raw, (int)(sizeof(raw) / sizeof(raw[0])));
		for (i = 0; i < got && (uintptr_t)raw[i] != pc;)
			i++;
	}
	atomic_fetch_sub(&unwinders, 1);
	rt_cancel_restore(cancel);
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

/*
 * The process's modules, read from /proc/self/maps as libdw's
 * dwfl_linux_proc_report reads them (the same names, the same ranges), so
 * that a frame or a lock named from the symbol table alone (sym_file_open)
 * needs no libdw at all: a process that reports nothing needs no line
 * table, and then libdw is never entered (its code, its module list and
 * the signal mask changes of its window are the cost of every process).
 * libdw's own module (dwfl_of) is looked up when a line table is read or a
 * module's symbols are left to libdw.
 */
struct sym_index;
struct rt_mod {
	uintptr_t low, high;
	char *name;
	size_t namesize;
	Dwfl_Module *dm;     /* libdw's, once asked for (dwfl_of) */
	struct sym_index *x; /* its symbols, once looked at */
};
static struct rt_mod *mods; /* by address */
static size_t nmods, cap_mods;
static bool mods_read;

static void sym_index_free(struct sym_index *x);

/* (Re)read the process's modules into libdw (sym_lock held): what was
 * taken from libdw's modules before goes. */
static void dwfl_refresh(void)
{
	if (!dwfl)
		dwfl = dwfl_begin(&dwfl_callbacks);
	if (!dwfl)
		return;
	for (size_t i = 0; i < nmods; i++)
		mods[i].dm = NULL;
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
	bool indexable;  /* no symbol too large, no spread over 4 GiB (as far
			  * as known: see spanned) */
	bool spanned;    /* a pass over the whole table set indexable */
	/* file mode (sym_file_open): the table is read from its file by
	 * pread(), libdw's symbol reading never used for the module */
	bool file;
	bool broken;     /* a read failed: the module goes back to libdw */
	unsigned id;     /* which table the read window (sym_win) holds */
	int fd;          /* open during one look-up, else -1 */
	char *path;      /* the file with the table, pathsize bytes */
	size_t pathsize;
	uint64_t symoff, stroff; /* where the table and its strings start */
};

struct sym_index {
	Dwfl_Module *m;
	struct sym_ix_ent *ents; /* NULL: left to libdw (or to the pass, below) */
	size_t n, bytes;
	GElf_Addr base; /* the lowest symbol's address */
	struct sym_raw raw;
	size_t scans;   /* look-ups made by a pass over the table */
	bool built;     /* the index was made (or found not to be possible) */
};

/* a module's look-ups by a pass over its table before it is indexed: at
 * most 8 (an index costs a few passes' work), and in all no more entries
 * read than 2^17 (node's 110,000 symbols: once) */
#define SYM_SCAN_MAX 8
#define SYM_SCAN_BUDGET ((size_t)1 << 17)

static void sym_index_free(struct sym_index *x)
{
	if (!x)
		return;
	rt_free(x->ents, x->bytes);
	rt_free(x->raw.alloc, x->raw.nsec);
	rt_free(x->raw.path, x->raw.pathsize);
	rt_free(x, sizeof(*x));
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

/*
 * A large table (node: 110,000 symbols, 20 M instructions by the sort
 * above alone) is first spread over SYM_IX_BUCKETS buckets by the top bits
 * of its addresses, in place (each entry swapped straight into its
 * bucket), and each bucket then sorted as above: a tenth of the
 * comparisons.  The order of entries with one address does not matter
 * to a look-up (sym_at_ix1 ranks them all).  sym_lock held: the bucket
 * bounds are static.
 */
#define SYM_IX_BUCKET_BITS 10
#define SYM_IX_BUCKETS (1u << SYM_IX_BUCKET_BITS)
static uint32_t sym_ix_first[SYM_IX_BUCKETS + 1], sym_ix_fill[SYM_IX_BUCKETS];

static void sym_ix_sort_large(struct sym_ix_ent *a, size_t n)
{
	uint32_t max = 0;
	unsigned shift = 0;

	if (n < 4 * SYM_IX_BUCKETS || n > UINT32_MAX) {
		sym_ix_sort(a, n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (a[i].lo > max)
			max = a[i].lo;
	while ((max >> shift) >= SYM_IX_BUCKETS)
		shift++;
	memset(sym_ix_first, 0, sizeof(sym_ix_first));
	for (size_t i = 0; i < n; i++)
		sym_ix_first[(a[i].lo >> shift) + 1]++;
	for (unsigned k = 0; k < SYM_IX_BUCKETS; k++) {
		sym_ix_first[k + 1] += sym_ix_first[k];
		sym_ix_fill[k] = sym_ix_first[k];
	}
	for (unsigned k = 0; k < SYM_IX_BUCKETS; k++) {
		while (sym_ix_fill[k] < sym_ix_first[k + 1]) {
			struct sym_ix_ent e = a[sym_ix_fill[k]];
			unsigned to = e.lo >> shift;
			while (to != k) {
				struct sym_ix_ent t = a[sym_ix_fill[to]];
				a[sym_ix_fill[to]++] = e;
				e = t;
				to = e.lo >> shift;
			}
			a[sym_ix_fill[k]++] = e;
		}
	}
	for (unsigned k = 0; k < SYM_IX_BUCKETS; k++)
		sym_ix_sort(a + sym_ix_first[k], sym_ix_first[k + 1] - sym_ix_first[k]);
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
static inline GElf_Addr sym_raw_addr(struct sym_raw *r, Elf *elf, const Elf64_Sym *e)
{
	if (e->st_shndx == SHN_UNDEF || e->st_shndx >= SHN_LORESERVE)
		return e->st_value; /* absolute, common */
	if (e->st_shndx < r->nsec && r->alloc[e->st_shndx]) /* looked at before */
		return r->alloc[e->st_shndx] == 1 ? e->st_value + r->bias : e->st_value;
	return sym_raw_allocated(r, elf, e->st_shndx) ? e->st_value + r->bias : e->st_value;
}

/* sym_ix_maybe_usable, of a raw entry. */
static bool sym_raw_maybe_usable(const struct sym_raw *r, const Elf64_Sym *e)
{
	int type = ELF64_ST_TYPE(e->st_info);

	return e->st_name && e->st_name < r->strsize && e->st_shndx != SHN_UNDEF &&
	       type != STT_SECTION && type != STT_FILE && type != STT_TLS;
}

/* What an index of a table needs to hold every entry, seen in one pass:
 * the span of the addresses, and whether a symbol is too large. */
struct sym_span {
	GElf_Addr lo, hi;
	bool large;
};

#define SYM_SPAN_INIT { ~(GElf_Addr)0, 0, false }

static inline void sym_span_add(struct sym_span *sp, GElf_Addr a, GElf_Xword size)
{
	if (size > UINT32_MAX)
		sp->large = true;
	if (a < sp->lo)
		sp->lo = a;
	if (a + size > sp->hi)
		sp->hi = a + size;
}

static bool sym_span_indexable(const struct sym_span *sp)
{
	return !sp->large && !(sp->lo <= sp->hi && sp->hi - sp->lo > UINT32_MAX);
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
	struct sym_span sp = SYM_SPAN_INIT;
	for (size_t i = 1; i < r->n; i++) {
		const Elf64_Sym *e = &r->syms[i];
		if (e->st_shndx == SHN_XINDEX)
			return;
		if (sym_raw_maybe_usable(r, e))
			sym_span_add(&sp, sym_raw_addr(r, elf, e), e->st_size);
	}
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
	r->indexable = sym_span_indexable(&sp);
	r->spanned = true;
	r->ok = true;
}

/*
 * File mode.  libdw reads a symbol table through libelf, which maps the
 * whole file and keeps what it touched: in python3, the C library's debug
 * file (488 KB), the C library itself (128 KB) and python's own table
 * (188 KB), each for a name or two; in node, 10 MB of its 98 MB file.  A
 * table whose module is an ordinary ELF file is read here instead, by
 * pread() through a small window, and only the candidates' names are read:
 * the same table libdw would choose (the file's .symtab, else that of the
 * debug file found by build ID, else .dynsym), the same addresses, the
 * same choice among candidates (sym_at_scan, sym_at_ix).  Anything else (a
 * module the loader does not list, a table libdw would merge with a
 * .gnu_debugdata one, a prelinked debug file) is left to libdw.
 */
#define SYM_WIN 1024 /* entries read at once by a pass over a table: 24 KB */
static Elf64_Sym sym_win[SYM_WIN];
static size_t sym_win_lo, sym_win_n;
static unsigned sym_win_id, sym_next_id; /* sym_raw.id of the window's table */
/* two name buffers: the best candidate's name stays in one while the
 * next candidate's is read into the other */
static struct {
	char *p;
	size_t cap;
} sym_names[2];
static unsigned sym_name_cur;

static const Elf64_Sym *sym_raw_read(struct sym_raw *r, size_t i, bool seq);

/* Entry i of r's table; seq: a pass, which reads a window ahead. */
static inline const Elf64_Sym *sym_raw_entry(struct sym_raw *r, size_t i, bool seq)
{
	if (!r->file)
		return &r->syms[i];
	if (sym_win_id == r->id && i - sym_win_lo < sym_win_n)
		return &sym_win[i - sym_win_lo];
	return sym_raw_read(r, i, seq);
}

static __attribute__((noinline)) const Elf64_Sym *sym_raw_read(struct sym_raw *r, size_t i, bool seq)
{
	static const Elf64_Sym none;
	size_t want = seq ? SYM_WIN : 1;
	if (want > r->n - i)
		want = r->n - i;
	ssize_t got = r->fd < 0 ? -1
				: pread(r->fd, sym_win, want * sizeof(Elf64_Sym),
					(off_t)(r->symoff + i * sizeof(Elf64_Sym)));
	if (got != (ssize_t)(want * sizeof(Elf64_Sym))) {
		sym_win_id = 0;
		r->broken = true;
		return &none; /* no name: never a candidate */
	}
	/* an extended section index is not read here: the module goes back
	 * to libdw (sym_at_ix), whose look-ups all read every entry first */
	for (size_t k = 0; k < want; k++)
		if (sym_win[k].st_shndx == SHN_XINDEX) {
			sym_win_id = 0;
			r->broken = true;
			return &none;
		}
	sym_win_id = r->id;
	sym_win_lo = i;
	sym_win_n = want;
	return &sym_win[0];
}

/* The name of entry e, as elf_strptr gives it: NULL past the table or
 * without its terminating NUL. */
static const char *sym_raw_name(struct sym_raw *r, const Elf64_Sym *e)
{
	size_t len = 0, at = e->st_name;

	if (at >= r->strsize)
		return NULL;
	unsigned b = sym_name_cur;
	for (;;) {
		if (len + 256 > sym_names[b].cap) {
			size_t cap = sym_names[b].cap ? sym_names[b].cap * 2 : 512;
			char *p = cap <= ((size_t)1 << 20)
					  ? rt_realloc_array(sym_names[b].p, sym_names[b].cap, cap, 1)
					  : NULL;
			if (!p) {
				r->broken = true;
				return NULL;
			}
			sym_names[b].p = p;
			sym_names[b].cap = cap;
		}
		size_t want = 256;
		if (want > r->strsize - at - len)
			want = r->strsize - at - len;
		if (!want)
			return NULL; /* no NUL before the table's end */
		ssize_t got = r->fd < 0 ? -1 : pread(r->fd, sym_names[b].p + len, want,
						    (off_t)(r->stroff + at + len));
		if (got <= 0) {
			r->broken = true;
			return NULL;
		}
		char *nul = memchr(sym_names[b].p + len, 0, (size_t)got);
		len += (size_t)got;
		if (nul)
			return sym_names[b].p;
	}
}

/* dwfl_module_getsym_info(m, i, sym, addr, NULL, NULL, NULL) for entry e
 * (entry i of r's table). */
static const char *sym_entry_info(Dwfl_Module *m, struct sym_raw *r, size_t i,
				  const Elf64_Sym *e, GElf_Sym *sym, GElf_Addr *addr)
{
	if (!r->file)
		return dwfl_module_getsym_info(m, (int)i, sym, addr, NULL, NULL, NULL);
	*sym = *e;
	*addr = sym_raw_addr(r, NULL, e);
	return sym_raw_name(r, e);
}

/* The name just read is kept: the next is read into the other buffer. */
static void sym_name_keep(void)
{
	sym_name_cur ^= 1;
}

/* What the loader knows of the module at an address. */
struct sym_obj {
	uintptr_t addr;
	bool found;
	GElf_Addr bias;
	GElf_Addr first_vaddr; /* the first PT_LOAD's p_vaddr */
	unsigned char build_id[64];
	size_t build_id_len;
};

/* The GNU build ID among notes [p, p + n) aligned to align, into id. */
static size_t notes_build_id(const unsigned char *p, size_t n, size_t align,
			     unsigned char *id, size_t max)
{
	size_t at = 0;

	while (at + sizeof(Elf64_Nhdr) <= n) {
		Elf64_Nhdr nh;
		memcpy(&nh, p + at, sizeof(nh));
		size_t name = at + sizeof(nh);
		size_t desc = name + ((nh.n_namesz + align - 1) & ~(align - 1));
		size_t next = desc + ((nh.n_descsz + align - 1) & ~(align - 1));
		if (desc < name || next < desc || desc + nh.n_descsz > n)
			return 0;
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && !memcmp(p + name, "GNU", 4)) {
			if (!nh.n_descsz || nh.n_descsz > max)
				return 0;
			memcpy(id, p + desc, nh.n_descsz);
			return nh.n_descsz;
		}
		at = next;
	}
	return 0;
}

static int sym_obj_one(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct sym_obj *o = arg;
	bool in = false, first = true;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type != PT_LOAD)
			continue;
		if (first)
			o->first_vaddr = ph->p_vaddr;
		first = false;
		if (o->addr >= lo && o->addr < lo + ph->p_memsz)
			in = true;
	}
	if (!in)
		return 0;
	o->found = true;
	o->bias = info->dlpi_addr;
	for (int i = 0; i < info->dlpi_phnum && !o->build_id_len; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_NOTE)
			o->build_id_len = notes_build_id(
				(const unsigned char *)(info->dlpi_addr + ph->p_vaddr), ph->p_memsz,
				ph->p_align == 8 ? 8 : 4, o->build_id, sizeof(o->build_id));
	}
	return 1;
}

static bool pread_all(int fd, void *buf, size_t n, uint64_t off)
{
	return pread(fd, buf, n, (off_t)off) == (ssize_t)n;
}

/* An ELF file's header, section headers and first PT_LOAD's p_vaddr;
 * false when it is not one libdw's reading is known for here. */
struct sym_elf {
	int fd;
	Elf64_Ehdr eh;
	Elf64_Shdr *sh;
	size_t nsec;
	GElf_Addr first_vaddr;
};

static void sym_elf_close(struct sym_elf *f)
{
	rt_free(f->sh, f->nsec * sizeof(*f->sh));
	if (f->fd >= 0)
		close(f->fd);
	f->sh = NULL;
	f->fd = -1;
}

static bool sym_elf_open(struct sym_elf *f, const char *path)
{
	memset(f, 0, sizeof(*f));
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return false;
	Elf64_Ehdr *eh = &f->eh;
	if (!pread_all(f->fd, eh, sizeof(*eh), 0) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    (eh->e_type != ET_DYN && eh->e_type != ET_EXEC) ||
	    eh->e_shentsize != sizeof(Elf64_Shdr) || !eh->e_shnum || eh->e_shnum > 4096 ||
	    eh->e_shstrndx == SHN_XINDEX || eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    eh->e_phnum > 256)
		goto fail;
	bool first = true;
	for (size_t i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;
		if (!pread_all(f->fd, &ph, sizeof(ph), eh->e_phoff + i * sizeof(ph)))
			goto fail;
		if (ph.p_type == PT_LOAD && first) {
			f->first_vaddr = ph.p_vaddr;
			first = false;
		}
	}
	if (first)
		goto fail; /* nothing loadable: not a file libdw maps so */
	f->nsec = eh->e_shnum;
	if (!(f->sh = rt_alloc(f->nsec * sizeof(*f->sh))))
		goto fail;
	if (!pread_all(f->fd, f->sh, f->nsec * sizeof(*f->sh), eh->e_shoff))
		goto fail;
	for (size_t i = 0; i < f->nsec; i++)
		if (f->sh[i].sh_type == SHT_SYMTAB_SHNDX)
			goto fail; /* extended section indexes */
	return true;
fail:
	sym_elf_close(f);
	return false;
}

/* The file's section of type `type`, the first one as libdw takes it;
 * -1 when there is none, -2 when it is not one read here. */
static long sym_elf_table(const struct sym_elf *f, unsigned type)
{
	for (size_t i = 0; i < f->nsec; i++) {
		const Elf64_Shdr *s = &f->sh[i];
		if (s->sh_type != type)
			continue;
		if (s->sh_entsize != sizeof(Elf64_Sym) || s->sh_link >= f->nsec ||
		    f->sh[s->sh_link].sh_type != SHT_STRTAB || s->sh_size / sizeof(Elf64_Sym) < 2 ||
		    s->sh_size / sizeof(Elf64_Sym) > INT32_MAX)
			return -2;
		return (long)i;
	}
	return -1;
}

/* Whether the file has a section of that name. */
static bool sym_elf_has_section(const struct sym_elf *f, const char *name)
{
	size_t len = strlen(name) + 1;
	char buf[64];

	if (f->eh.e_shstrndx >= f->nsec || len > sizeof(buf))
		return true; /* cannot tell: as if it had */
	const Elf64_Shdr *strs = &f->sh[f->eh.e_shstrndx];
	for (size_t i = 0; i < f->nsec; i++) {
		if (f->sh[i].sh_name >= strs->sh_size)
			continue;
		size_t n = strs->sh_size - f->sh[i].sh_name < len ? strs->sh_size - f->sh[i].sh_name
								    : len;
		if (!pread_all(f->fd, buf, n, strs->sh_offset + f->sh[i].sh_name))
			return true;
		if (n == len && !memcmp(buf, name, len))
			return true;
	}
	return false;
}

/* The build ID in the file's note sections. */
static size_t sym_elf_build_id(const struct sym_elf *f, unsigned char *id, size_t max)
{
	unsigned char buf[1024];

	for (size_t i = 0; i < f->nsec; i++) {
		const Elf64_Shdr *s = &f->sh[i];
		if (s->sh_type != SHT_NOTE || s->sh_size > sizeof(buf) ||
		    !pread_all(f->fd, buf, s->sh_size, s->sh_offset))
			continue;
		size_t n = notes_build_id(buf, s->sh_size, s->sh_addralign == 8 ? 8 : 4, id, max);
		if (n)
			return n;
	}
	return 0;
}

/*
 * Set r up in file mode for module m, whose code holds at; false leaves
 * the module to libdw.
 */
static bool sym_file_open(const char *modname, GElf_Addr at, struct sym_raw *r)
{
	struct sym_obj o = { .addr = (uintptr_t)at };
	struct sym_elf main, debug, *f = &main;
	char dpath[sizeof("/usr/lib/debug/.build-id/") + 2 * sizeof(o.build_id) + 8];
	bool ok = false;

	if (!modname || modname[0] != '/')
		return false;
	dl_iterate_phdr(sym_obj_one, &o);
	if (!o.found || !sym_elf_open(&main, modname))
		return false;
	debug.fd = -1;
	debug.sh = NULL;
	debug.nsec = 0;
	if (main.first_vaddr != o.first_vaddr)
		goto out; /* not the file the loader mapped there */
	long t = sym_elf_table(&main, SHT_SYMTAB);
	if (t == -2)
		goto out;
	if (t < 0 && o.build_id_len) {
		/* a separate debug file, by build ID, as find_debuginfo_local */
		size_t n = (size_t)snprintf(dpath, sizeof(dpath), "/usr/lib/debug/.build-id/%02x/",
					    o.build_id[0]);
		for (size_t i = 1; i < o.build_id_len; i++)
			n += (size_t)snprintf(dpath + n, sizeof(dpath) - n, "%02x", o.build_id[i]);
		snprintf(dpath + n, sizeof(dpath) - n, ".debug");
		if (sym_elf_open(&debug, dpath)) {
			unsigned char id[sizeof(o.build_id)];
			size_t idlen = sym_elf_build_id(&debug, id, sizeof(id));
			if (idlen != o.build_id_len || memcmp(id, o.build_id, idlen) ||
			    debug.first_vaddr != o.first_vaddr)
				goto out; /* libdw's view of it is not known here */
			t = sym_elf_table(&debug, SHT_SYMTAB);
			if (t == -2)
				goto out;
			if (t >= 0)
				f = &debug;
		} else if (access(dpath, F_OK) == 0) {
			goto out; /* there, but not read here */
		}
	}
	if (t < 0) {
		/* the dynamic table; libdw would add a .gnu_debugdata one */
		if (sym_elf_has_section(&main, ".gnu_debugdata"))
			goto out;
		t = sym_elf_table(&main, SHT_DYNSYM);
		if (t < 0)
			goto out;
	}
	const Elf64_Shdr *s = &f->sh[t], *strs = &f->sh[s->sh_link];
	r->n = s->sh_size / sizeof(Elf64_Sym);
	r->symoff = s->sh_offset;
	r->stroff = strs->sh_offset;
	r->strsize = strs->sh_size;
	r->bias = o.bias;
	r->nsec = f->nsec;
	if (!(r->alloc = rt_alloc(r->nsec)))
		goto out;
	for (size_t i = 0; i < f->nsec; i++)
		r->alloc[i] = (f->sh[i].sh_flags & SHF_ALLOC) ? 1 : 2;
	/* the path of the file read: the module's, or the debug file's */
	const char *path = f == &debug ? dpath : modname;
	r->pathsize = strlen(path) + 1;
	if (!(r->path = rt_alloc(r->pathsize))) {
		rt_free(r->alloc, r->nsec);
		r->alloc = NULL;
		goto out;
	}
	memcpy(r->path, path, r->pathsize);
	r->file = true;
	r->id = ++sym_next_id ? sym_next_id : ++sym_next_id;
	/* no pass over the table here: whether an index can hold it is seen
	 * by the first look-up's pass (sym_at_scan) or when the index is
	 * built, and an entry this reader cannot take sends the module back
	 * to libdw then (sym_raw_read) */
	r->indexable = r->n >= SYM_INDEX_MIN;
	r->spanned = !r->indexable;
	r->ok = true;
	ok = true;
out:
	sym_elf_close(&main);
	sym_elf_close(&debug);
	return ok;
}

static Dwfl_Module *dwfl_of(struct rt_mod *mod);
static bool libdw_enter(void);

/* The module's symbols; NULL when neither here nor libdw can read them. */
static struct sym_index *sym_index_of(struct rt_mod *mod, GElf_Addr at)
{
	struct sym_index *x = mod->x;

	if (x)
		return x;
	if (!(x = rt_alloc(sizeof(*x))))
		return NULL;
	x->raw.fd = -1;
	if (sym_file_open(mod->name, at, &x->raw))
		return mod->x = x;
	/* libdw's module first: a read of its list forgets what was libdw's */
	Dwfl_Module *m = dwfl_of(mod);
	if (!m) {
		rt_free(x, sizeof(*x));
		return NULL;
	}
	x->m = m;
	mod->x = x;
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
	int total = r->file ? (int)r->n : dwfl_module_getsymtab(m);
	if (total < SYM_INDEX_MIN)
		return;
	x->bytes = (size_t)total * sizeof(*x->ents);
	if (!(x->ents = rt_alloc(x->bytes)))
		return;
	for (int i = 1; i < total; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		if (r->ok) {
			const Elf64_Sym *e = sym_raw_entry(r, (size_t)i, true);
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
	sym_ix_sort_large(x->ents, x->n);
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
	struct sym_span sp = SYM_SPAN_INIT;
	bool span = !r->spanned;

	for (size_t i = 1; i < r->n; i++) {
		const Elf64_Sym *e = sym_raw_entry(r, i, true);
		if (!sym_raw_maybe_usable(r, e))
			continue;
		GElf_Addr a = sym_raw_addr(r, elf, e);
		if (span)
			sym_span_add(&sp, a, e->st_size);
		if (a > at)
			continue;
		if (!any || a > top)
			top = a;
		any = true;
		if (!e->st_size || at - a >= e->st_size)
			continue;
		const char *name = sym_entry_info(m, r, i, e, &sym, &addr);
		if (sym_ix_usable(name, &sym) &&
		    (!best || sym_better(&sym, addr, (uint32_t)i, &bsym, bval, bndx))) {
			sym_name_keep();
			best = name;
			bsym = sym;
			bval = addr;
			bndx = (uint32_t)i;
		}
	}
	if (span && !r->broken) {
		r->indexable = sym_span_indexable(&sp);
		r->spanned = true;
	}
	if (!best) {
		if (!any)
			return NULL;
		for (size_t i = 1; i < r->n; i++) {
			const Elf64_Sym *e = sym_raw_entry(r, i, true);
			if (!sym_raw_maybe_usable(r, e) || !e->st_size)
				continue;
			GElf_Addr a = sym_raw_addr(r, elf, e);
			if (a == top || (a < top && a + e->st_size > top))
				return NULL;
		}
		for (size_t i = 1; i < r->n; i++) {
			const Elf64_Sym *e = sym_raw_entry(r, i, true);
			if (!sym_raw_maybe_usable(r, e) || sym_raw_addr(r, elf, e) != top)
				continue;
			const char *name = sym_entry_info(m, r, i, e, &sym, &addr);
			if (sym_ix_usable(name, &sym) &&
			    (!best || sym_bind_rank(&sym) > sym_bind_rank(&bsym) ||
			     (sym_bind_rank(&sym) == sym_bind_rank(&bsym) && (uint32_t)i < bndx))) {
				sym_name_keep();
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
static const char *sym_at_ix1(Dwfl_Module *m, struct sym_index *x, GElf_Addr at, GElf_Off *off,
			      GElf_Sym *out)
{
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
	if (x && x->raw.file && (!x->ents || !x->n))
		return sym_at_scan(m, &x->raw, at, off, out); /* no index could be made */
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
			return x->raw.file ? sym_at_scan(m, &x->raw, at, off, out)
					   : dwfl_module_addrinfo(m, at, off, out, NULL, NULL, NULL);
		if (!e->size || rel - e->lo >= e->size)
			continue;
		const char *name = sym_entry_info(m, &x->raw, e->ndx,
						  sym_raw_entry(&x->raw, e->ndx, false), &sym, &addr);
		if (sym_ix_usable(name, &sym) &&
		    (!best || sym_better(&sym, addr, e->ndx, &bsym, bval, bndx))) {
			sym_name_keep();
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
			const char *name =
				sym_entry_info(m, &x->raw, x->ents[i].ndx,
					       sym_raw_entry(&x->raw, x->ents[i].ndx, false), &sym, &addr);
			if (sym_ix_usable(name, &sym) &&
			    (!best || sym_bind_rank(&sym) > sym_bind_rank(&bsym) ||
			     (sym_bind_rank(&sym) == sym_bind_rank(&bsym) && x->ents[i].ndx < bndx))) {
				sym_name_keep();
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

static const char *sym_at_ix(struct rt_mod *mod, GElf_Addr at, GElf_Off *off, GElf_Sym *out)
{
	struct sym_index *x = sym_index_of(mod, at);

	if (!x)
		return NULL;
	if (!x->raw.file)
		return libdw_enter() ? sym_at_ix1(x->m, x, at, off, out) : NULL;
	struct sym_raw *r = &x->raw;
	r->fd = open(r->path, O_RDONLY | O_CLOEXEC);
	const char *name = sym_at_ix1(NULL, x, at, off, out);
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	if (!r->broken)
		return name;
	/* a read failed (the file is gone, memory is short): libdw from now on */
	mod->x = NULL;
	sym_index_free(x);
	Dwfl_Module *m = dwfl_of(mod);
	return m ? dwfl_module_addrinfo(m, at, off, out, NULL, NULL, NULL) : NULL;
}

#ifdef SYM_INDEX_CHECK
static const char *sym_at(struct rt_mod *mod, GElf_Addr at, GElf_Off *off, GElf_Sym *out)
{
	GElf_Off o2 = 0;
	GElf_Sym s2;
	const char *a = sym_at_ix(mod, at, off, out);
	Dwfl_Module *m = dwfl_of(mod);
	const char *b = m ? dwfl_module_addrinfo(m, at, &o2, &s2, NULL, NULL, NULL) : NULL;
	if ((a == NULL) != (b == NULL) || (a && (strcmp(a, b) || *off != o2))) {
		char msg[512];
		int n = snprintf(msg, sizeof(msg), "SYMCHECK %#lx %s: index %s+%#lx libdw %s+%#lx\n",
				 (unsigned long)at, mod->name, a ? a : "-",
				 a ? (unsigned long)*off : 0UL, b ? b : "-", b ? (unsigned long)o2 : 0UL);
		(void)!write(2, msg, (size_t)n);
	}
	return a;
}
#else
#define sym_at sym_at_ix
#endif

static unsigned long long dwfl_adds, dwfl_subs, mods_adds, mods_subs;

/* Whether the loader's counts moved since *adds, *subs were taken. */
struct dl_counts {
	unsigned long long *adds, *subs;
	bool changed;
};

static int counts_changed(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct dl_counts *c = arg;

	(void)size;
	c->changed = info->dlpi_adds != *c->adds || info->dlpi_subs != *c->subs;
	*c->adds = info->dlpi_adds;
	*c->subs = info->dlpi_subs;
	return 1; /* the counters are the same in every entry */
}

static bool loader_changed(unsigned long long *adds, unsigned long long *subs)
{
	struct dl_counts c = { adds, subs, false };

	dl_iterate_phdr(counts_changed, &c);
	return c.changed;
}

/* Under sym_lock: the window in which libdw allocates from runtime memory,
 * opened by the first call into libdw and closed by sym_leave(); lookups
 * the runtime's own caches or its own reading answer open none. */
static sigset_t sym_sigs;
static bool sym_in_libdw;

/*
 * Out of memory, libdw does not fail cleanly: its line-table reader was
 * seen to crash (SIGSEGV in dwarf_getsrclines under ulimit -v), and where
 * it checks, its default answer to a failed allocation is to exit the
 * process.  So before a window of look-ups opens, the runtime makes sure
 * that SYM_HEADROOM of address space can still be had (a mapping that
 * reserves nothing, made and unmade at once); when it cannot, frames are
 * named by module and offset alone (sym_short), from the loader's list,
 * until memory is back.
 */
#define SYM_HEADROOM ((size_t)64 << 20)
static bool sym_short;
static bool sym_checked; /* sym_short decided for this window */

static bool sym_headroom(void)
{
	long r = syscall(SYS_mmap, NULL, SYM_HEADROOM, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (r < 0 && r > -4096)
		return false;
	syscall(SYS_munmap, (void *)r, SYM_HEADROOM);
	return true;
}

static bool sym_memory_ok(void)
{
	if (!sym_checked) {
		sym_checked = true;
		sym_short = !sym_headroom() || atomic_load(&rt_oom_disabled);
	}
	return !sym_short;
}

static bool libdw_enter(void)
{
	if (!sym_memory_ok())
		return false;
	if (!sym_in_libdw) {
		sym_in_libdw = true;
		private_heap_enter(&sym_sigs);
	}
	return true;
}

static void mods_drop(void)
{
	for (size_t i = 0; i < nmods; i++) {
		sym_index_free(mods[i].x);
		rt_free(mods[i].name, mods[i].namesize);
	}
	nmods = 0;
}

static void mods_add(const char *name, size_t len, uintptr_t low, uintptr_t high)
{
	if (nmods == cap_mods) {
		size_t cap = cap_mods ? cap_mods * 2 : 64;
		struct rt_mod *m = rt_realloc_array(mods, cap_mods, cap, sizeof(*m));
		if (!m)
			return;
		mods = m;
		cap_mods = cap;
	}
	char *copy = rt_alloc(len + 1);
	if (!copy)
		return;
	memcpy(copy, name, len);
	copy[len] = 0;
	mods[nmods++] = (struct rt_mod){ low, high, copy, len + 1, NULL, NULL };
}

/* A hexadecimal (base 16) or decimal number at *p, and what follows it. */
static bool parse_num(char **p, int base, unsigned long long *v)
{
	char *s = *p;
	unsigned long long n = 0;

	for (;; s++) {
		int d;
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			break;
		n = n * (unsigned)base + (unsigned)d;
	}
	if (s == *p)
		return false;
	*p = s;
	*v = n;
	return true;
}

static bool skip(char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

static void skip_blanks(char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
}

/*
 * Read /proc/self/maps as libdw does: a module is a run of lines that map
 * the same file (device and inode), whatever lines without a file come
 * between them; the vDSO is "[vdso: PID]"; a line that cannot be read, or
 * a file whose name changes within a run, ends the list there, the run
 * then being read lost.
 */
static void mods_refresh(void)
{
	size_t len = 0, cap = 0;
	char *buf;

	mods_drop();
	mods_read = true;
	if (!(buf = rt_read_file("/proc/self/maps", &len, &cap)))
		return;
	uintptr_t vdso = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
	const char *last = NULL;
	size_t last_len = 0;
	unsigned long long last_ino = 0, last_maj = 0, last_min = 0;
	uintptr_t low = 0, high = 0;
	for (char *line = buf, *next; *line; line = next) {
		char *nl = strchr(line, '\n');
		next = nl ? nl + 1 : line + strlen(line);
		if (nl)
			*nl = 0;
		unsigned long long start, end, offset, maj, min, ino;
		char *p = line;
		if (!parse_num(&p, 16, &start) || !skip(&p, '-') || !parse_num(&p, 16, &end) ||
		    !skip(&p, ' '))
			break;
		p += strcspn(p, " ");
		skip_blanks(&p);
		if (!parse_num(&p, 16, &offset))
			break;
		skip_blanks(&p);
		if (!parse_num(&p, 16, &maj) || !skip(&p, ':') || !parse_num(&p, 16, &min))
			break;
		skip_blanks(&p);
		if (!parse_num(&p, 10, &ino))
			break;
		skip_blanks(&p);
		if (start == vdso && start) {
			if (last)
				mods_add(last, last_len, low, high);
			char name[32];
			int n = snprintf(name, sizeof(name), "[vdso: %d]", (int)getpid());
			mods_add(name, (size_t)n, (uintptr_t)start, (uintptr_t)end);
			last = NULL;
		}
		if (p[0] != '/' || (!ino && !maj && !min))
			continue;
		if (last && ino == last_ino && maj == last_maj && min == last_min) {
			if (strlen(p) != last_len || memcmp(p, last, last_len)) {
				last = NULL;
				break;
			}
			high = (uintptr_t)end;
			continue;
		}
		if (last)
			mods_add(last, last_len, low, high);
		last = p;
		last_len = strlen(p);
		last_ino = ino, last_maj = maj, last_min = min;
		low = (uintptr_t)start;
		high = (uintptr_t)end;
	}
	if (last)
		mods_add(last, last_len, low, high);
	rt_free(buf, cap);
}

static struct rt_mod *mod_find(uintptr_t addr)
{
	size_t lo = 0, hi = nmods;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (mods[mid].high <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < nmods && mods[lo].low <= addr && addr < mods[lo].high ? &mods[lo] : NULL;
}

/*
 * The module at addr.  The module list is read again only when the
 * loader's counts of loaded and unloaded objects moved: an address in no
 * module (the heap) costs a look at two counters, not a read of the maps.
 */
static struct rt_mod *mod_of(uintptr_t addr)
{
	if (!sym_memory_ok())
		return NULL;
	if (!mods_read) {
		loader_changed(&mods_adds, &mods_subs);
		mods_refresh();
	}
	struct rt_mod *m = mod_find(addr);
	if (!m && loader_changed(&mods_adds, &mods_subs)) {
		mods_refresh();
		m = mod_find(addr);
	}
	return m;
}

static bool dwfl_same(Dwfl_Module *m, const struct rt_mod *mod)
{
	Dwarf_Addr low = 0, high = 0;
	const char *name = m ? dwfl_module_info(m, NULL, &low, &high, NULL, NULL, NULL, NULL) : NULL;

	return name && low == mod->low && high == mod->high && !strcmp(name, mod->name);
}

/* libdw's module for mod, its list read again if it is older than ours. */
static Dwfl_Module *dwfl_of(struct rt_mod *mod)
{
	if (!libdw_enter())
		return NULL; /* every call into libdw is made inside the window */
	if (mod->dm)
		return mod->dm;
	if (!dwfl) {
		loader_changed(&dwfl_adds, &dwfl_subs);
		dwfl_refresh();
	}
	Dwfl_Module *m = dwfl ? dwfl_addrmodule(dwfl, mod->low) : NULL;
	if (!dwfl_same(m, mod) && dwfl && loader_changed(&dwfl_adds, &dwfl_subs)) {
		/* what was libdw's goes with its list: the libdw-read symbols */
		for (size_t i = 0; i < nmods; i++) {
			if (mods[i].x && !mods[i].x->raw.file) {
				sym_index_free(mods[i].x);
				mods[i].x = NULL;
			}
		}
		dwfl_refresh();
		m = dwfl_addrmodule(dwfl, mod->low);
	}
	if (!dwfl_same(m, mod) && dwfl) {
		/* unloaded since our list was read (a class made in a module
		 * that is gone, named at exit): libdw is told of it, and reads
		 * it from its file */
		dwfl_report_begin_add(dwfl);
		m = dwfl_report_module(dwfl, mod->name, mod->low, mod->high);
		dwfl_report_end(dwfl, NULL, NULL);
	}
	if (!dwfl_same(m, mod))
		return NULL;
	return mod->dm = m;
}

static const char *intern_str(const char *s)
{
	return s ? rt_strdup(s) : NULL;
}

/*
 * What symbolising takes of a stack runs on a stack of the runtime's own
 * (sym_lock held, which makes it one for the process): libdw reading a
 * module's line table takes some 160 KiB, and the C++ demangler about 70
 * bytes a character of a mangled name (measured with tests/progs/
 * cxx-longname: a report used 173 KiB of the reporting thread's stack),
 * more than a thread made with a small stack (pthread_attr_setstacksize,
 * a sigaltstack handler) has.  Mapped at first use; only the pages that
 * are touched cost memory.  Elsewhere than x86-64, fn runs where it is.
 */
#define SYM_STACK_SIZE ((size_t)1 << 20)
static char *sym_stack;

void stack_call_on(char *stack, size_t size, void (*fn)(void *), void *arg)
{
#if defined(__x86_64__)
	char here;
	if (stack && (&here < stack || &here >= stack + size)) {
		char *top = stack + size;
		/* rbx keeps the thread's stack pointer across the call: it is
		 * callee-saved, and the clobbers make the compiler save it */
		__asm__ volatile("mov %%rsp, %%rbx\n\t"
				 "mov %[top], %%rsp\n\t"
				 "call *%[fn]\n\t"
				 "mov %%rbx, %%rsp"
				 : "+D"(arg)
				 : [top] "r"(top), [fn] "r"(fn)
				 : "rax", "rbx", "rcx", "rdx", "rsi", "r8", "r9", "r10", "r11",
				   "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
				   "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
				   "xmm15", "memory", "cc");
		return;
	}
#else
	(void)stack;
	(void)size;
#endif
	fn(arg);
}

static void sym_stack_call(void (*fn)(void *), void *arg)
{
	if (!sym_stack)
		sym_stack = rt_alloc(SYM_STACK_SIZE); /* mapped on its own, page-aligned */
	stack_call_on(sym_stack, SYM_STACK_SIZE, fn, arg);
}

/*
 * C++ names, demangled by libiberty's callback demangler: it allocates
 * nothing (its work space is on the stack, about 70 bytes a character of
 * the mangled name: sym_stack_call's, so names longer than DEMANGLE_MAX
 * stay mangled) and hands the text out in pieces, gathered here into a
 * fixed buffer.  A symbol version ("@@GLIBCXX_3.4") is kept after the
 * demangled name.
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

struct demangle_call {
	const char *mangled;
	int options;
	struct demangled *d;
	int ok;
};

static void demangle_work(void *arg)
{
	struct demangle_call *c = arg;

	c->ok = cplus_demangle_v3_callback(c->mangled, c->options, demangle_put, c->d);
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
	struct demangle_call c = { mangled, DMGL_ANSI | (params ? DMGL_PARAMS : 0), &d, 0 };
	sym_stack_call(demangle_work, &c);
	if (!c.ok)
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

static void symbolize_here(uintptr_t pc, struct frame *f, bool lines)
{
	uintptr_t at = pc ? pc - 1 : 0; /* return addresses point past the call */
	struct rt_mod *mod = mod_of(at);

	memset(f, 0, sizeof(*f));
	f->pc = pc;
	if (!mod && sym_short)
		symbolize_short(pc, at, f);
	if (!mod)
		return;
	f->module = intern_str(mod->name);
	f->offset = pc - mod->low;
	GElf_Off off;
	GElf_Sym sym;
	const char *name = sym_at(mod, at, &off, &sym);
	f->fn_offset = name ? off + (pc - at) : 0;
	Dwfl_Module *m = lines ? dwfl_of(mod) : NULL;
	Dwfl_Line *line = m ? dwfl_module_getsrc(m, at) : NULL;
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

struct symbolize_call {
	uintptr_t pc;
	struct frame *f;
	bool lines;
};

static void symbolize_work(void *arg)
{
	struct symbolize_call *c = arg;

	symbolize_here(c->pc, c->f, c->lines);
}

/* The frame at pc (sym_lock held), symbolised on sym_stack_call's stack. */
static void symbolize_locked(uintptr_t pc, struct frame *f, bool lines)
{
	struct symbolize_call c = { pc, f, lines };

	sym_stack_call(symbolize_work, &c);
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
	sym_checked = false;
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
	struct rt_mod *mod = mod_of(at);
	if (mod) {
		GElf_Off off;
		GElf_Sym sym;
		function_names(sym_at(mod, at, &off, &sym), NULL, function);
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

struct object_name_call {
	const void *addr;
	const char *kind;
	const char *result;
};

/* The name of a static object (sym_lock held), on sym_stack_call's stack */
static void object_name_work(void *arg)
{
	struct object_name_call *c = arg;
	const void *addr = c->addr;
	const char *kind = c->kind;
	const char *result = NULL;
	char buf[512];

	struct rt_mod *m = mod_of((uintptr_t)addr);
	if (!m) {
		/* a module ends with the last file-backed page: the rest of a
		 * .bss longer than that is the module's all the same */
		struct module_find mf = { (uintptr_t)addr, 0 };
		dl_iterate_phdr(module_find_one, &mf);
		if (mf.start)
			m = mod_of(mf.start);
	}
	if (m) {
		GElf_Off off;
		GElf_Sym sym;
		uintptr_t start = m->low;
		const char *modname = m->name;
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
	c->result = result;
}

int stack_object_name_try(const void *addr, const char *kind, const char **out, bool try)
{
	struct object_name_call c = { addr, kind, NULL };

	if (!sym_enter(try))
		return -1;
	sym_stack_call(object_name_work, &c);
	sym_leave();
	*out = c.result;
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
