/*
 * runtime.h - what the files of the checker engine share.
 *
 * The words are those of fencedep(7): a class is a node of the dependency
 * graph, an instance is one lock (or fence) at one address, the held stack
 * is what a thread holds in order, the chain key hashes the held stack, and
 * an edge A -> B says "B was acquired while A was held".
 *
 * Data flows one way: an interposer or an annotation calls one rt_* event;
 * held.c decides with the chain cache (chain.c) whether anything is new;
 * only a new chain reaches the graph (graph.c); only a cycle or a misuse
 * reaches the reports (report.c).
 */
#ifndef FDEP_RUNTIME_H
#define FDEP_RUNTIME_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <sys/types.h>

#define FDEP_NO_WRAPPERS
#include "fencedep.h"

#define RT_EXPORT __attribute__((visibility("default")))
#define RT_HIDDEN __attribute__((visibility("hidden")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* ------------------------------------------------------------------ */
/* Internal locks and memory (alloc.c, rtlock.c): nothing interposed.  */

/* A futex mutex: 0 free, 1 taken, 2 taken with waiters. */
struct rt_lock {
	_Atomic int state;
};
#define RT_LOCK_INIT { 0 }
void rt_lock(struct rt_lock *l);
bool rt_trylock(struct rt_lock *l);
void rt_unlock(struct rt_lock *l);

/* fork(): every runtime lock is taken before, released after in the parent,
 * and reset in the child, in one fixed order (init.c). */
enum { FORK_PREPARE, FORK_PARENT, FORK_CHILD };
void rt_lock_fork(struct rt_lock *l, int phase);
void alloc_fork(int phase);
void class_fork(int phase);
void instance_fork(int phase);
void fence_fork(int phase);
void stack_fork(int phase);
void prime_fork(int phase);
void report_fork(int phase);
void report_fork_child(void);
/* Findings the earlier images of this process reported before they exec'd
 * this one (preload/exec.c passes them in RT_EXEC_FINDINGS_ENV): they set
 * the exit status as this image's own do. */
#define RT_EXEC_FINDINGS_ENV "FENCEDEP_EXEC_FINDINGS"
extern size_t rt_exec_findings;
/*
 * The runtime's own calls that are cancellation points (open, read, write
 * and close of reports and thread names, libdw's reads of debugging
 * information) must not end a thread the program cancelled while the
 * runtime works for it, half-way through with its locks held: a deferred
 * cancellation is held off around them, and acted on at the program's next
 * cancellation point.
 */
static inline int rt_cancel_off(void)
{
	int old = PTHREAD_CANCEL_DISABLE;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	return old;
}

static inline void rt_cancel_restore(int old)
{
	int ignored;

	if (old != PTHREAD_CANCEL_DISABLE)
		pthread_setcancelstate(old, &ignored);
}

/* The last pass over an ending process; the status it must end with. */
int rt_exit_status(int status, bool checks);

void *rt_alloc(size_t size);  /* zeroed; NULL once memory has run out */
void rt_free(void *p, size_t size);
void *rt_realloc_array(void *p, size_t old_n, size_t new_n, size_t elem);
char *rt_strdup(const char *s);
/* Is p in runtime memory? */
bool rt_owns(const void *p);
/* The private heap of what the runtime's libraries allocate (alloc.c). */
void *rt_private_alloc(size_t n, size_t align);
void rt_private_free(void *p);
size_t rt_private_size(void *p);

/*
 * The runtime's thread-local words, in one block so that a fast path reads
 * them all from one thread-pointer offset (held.c).
 *   thread          per-thread state, or NULL when the event must pass
 *                   through untracked (runtime not ready, re-entered from
 *                   the runtime itself, thread ending)
 *   busy            the runtime is running on this thread
 *   private_heap    allocations go to the private heap (stack.c)
 *   resolving       dlsym is resolving a real function (preload/resolve.c)
 *   fast            what the lock fast paths read: thread, or while that is
 *                   NULL a record on which every fast path fails (held.c's
 *                   dead_thread, whose instance cache is empty and whose
 *                   held stack is only its bottom): never NULL, so that
 *                   they need not test it
 */
struct rt_thread;
struct rt_tls {
	struct rt_thread *thread;
	int busy;
	int private_heap;
	int resolving;
	const void *parked; /* a slow path waits in the real lock at this address */
	struct rt_thread *fast;
};
extern __thread struct rt_tls rt_tls __attribute__((tls_model("initial-exec")));
#define tls_thread (rt_tls.thread)
#define tls_busy (rt_tls.busy)
#define tls_fast (rt_tls.fast)
#define tls_private_heap (rt_tls.private_heap)
/* Or'ed into private_heap while a signal handler runs (signal.c): the
 * allocator's fast paths test the word for zero anyway, so the slow path
 * alone tells a handler's allocation from the private heap's count. */
#define PH_SIGNAL 0x40000000
#define tls_private_heap_count (rt_tls.private_heap & ~PH_SIGNAL)
/* The lowest usable address of this thread's stack when it was created
 * with a small one (preload/thread.c), else 0: stack_capture() does not
 * unwind with less than STACK_CAPTURE_ROOM left, where libunwind's own
 * frames would run off the end. */
extern __thread uintptr_t tls_stack_lo __attribute__((tls_model("initial-exec")));
#define STACK_SMALL (256 * 1024)
#define STACK_CAPTURE_ROOM (12 * 1024)
/* Call fn(arg) with the stack pointer at the top of stack[size] (x86-64;
 * elsewhere, and when already on it, where it is). */
void stack_call_on(char *stack, size_t size, void (*fn)(void *), void *arg);
void rt_out_of_memory(const char *what);
/* The reserve (alloc.c): mapped at start; inside enter/leave, this
 * thread's allocations that the system refuses come from it, so that a
 * finding made as memory runs out is still written. */
void rt_reserve_init(void);
void rt_reserve_enter(void);
void rt_reserve_leave(void);
bool rt_memory_out(void); /* the runtime ran out of memory */
/* Double a chained hash table (table.c); returns the buckets to use. */
void **table_grow(void **buckets, uint64_t *size, uint64_t first_size, size_t next_off,
		  uint64_t (*hash)(const void *node));

/* A growable byte buffer (report rendering). */
struct rt_buf {
	char *data;
	size_t len, cap;
	bool failed;
	bool fixed; /* data is the caller's storage: truncate, never grow */
};
void buf_puts(struct rt_buf *b, const char *s);
void buf_printf(struct rt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_json_str(struct rt_buf *b, const char *s);
void buf_put_text(struct rt_buf *b, const char *s, size_t n);
void buf_release(struct rt_buf *b);

/* ------------------------------------------------------------------ */
/* Options (options.c, generated from options.def).                    */

enum opt_classes { CLASSES_INSTANCE, CLASSES_SITE, CLASSES_EXACT };
enum opt_signal_context { SIGCTX_HELD, SIGCTX_WAIT, SIGCTX_WINDOW };

struct rt_options {
#define OPT_STRING(name, def, help) const char *name;
#define OPT_INT(name, def, lo, hi, help) long name;
#define OPT_BOOL(name, def, help) bool name;
#define OPT_ENUM(name, def, choices, help) int name;
#include "options.def"
#undef OPT_STRING
#undef OPT_INT
#undef OPT_BOOL
#undef OPT_ENUM
};
extern struct rt_options rt_opt;
/* Parse "k=v:k=v" into rt_opt; on error fill err and return -1. */
int options_parse(const char *text, char *err, size_t errlen);
/* help=1: every option, its meaning and default, and its value now, to fd. */
void options_help(int fd);
/* log_path and json_path made absolute against the current directory. */
void options_paths_absolute(void);
/* What one option's range cannot say (dump_signal must be a signal the
 * runtime can take); -1 with err set. */
int options_check(char *err, size_t errlen);
/* The whole of a file the options name (suppressions, prime), NUL-ended,
 * in runtime memory (free with rt_free(p, *cap)); NULL with errno set. */
char *rt_read_file(const char *path, size_t *len, size_t *cap);
void options_defaults(void);
/* select.c: only= and exclude= against this program; the command's handshake. */
bool rt_program_selected(void);
void rt_ack_command(void);

/* ------------------------------------------------------------------ */
/* Classes (class.c).                                                   */

enum class_kind {
	CK_MUTEX,
	CK_RWLOCK,
	CK_SPIN,
	CK_WW,
	CK_MAP,
	CK_FENCE,
	CK_RECLAIM,
	CK_MMU_NOTIFIER,
	/* events (event.c): what one thread blocks for and another makes happen */
	CK_COND,
	CK_SEM,
	CK_THREAD,
	CK_BARRIER,
	CK_ONCE,
	CK_EVENT,
};
const char *class_kind_name(int kind);
static inline bool class_kind_is_event(int kind)
{
	return kind >= CK_COND && kind <= CK_EVENT;
}

struct edge;

struct lock_class {
	uint32_t id;
	uint8_t kind;
	uint8_t subclass;
	bool named;     /* an identity given by name (annotation, built-in) */
	bool primed;    /* built-in order applied (fence classes) */
	_Atomic(const char *) name; /* lazily computed for instance/site classes */
	union {
		const void *addr;         /* instance class: the lock, for its name */
		struct lock_class *hnext; /* named class: name hash chain */
	};
	uintptr_t site;             /* init (or first-use) site, for naming */
	uint32_t site_seq;          /* #n of instances from that site */
	uint32_t ord;               /* graph.c: position in a topological order */
	struct edge *out;           /* edges out of this class */
	struct edge *in;            /* edges into it */
	uint16_t bfs_mark[2];       /* graph.c: visited generation per state */
	bool dead;                  /* its only instance was freed or destroyed */
	bool compact;               /* graph.c: on the list of classes with dead edges */
	_Atomic bool unprimed;      /* named, its primed edges not yet recorded */
	/* set when the class is made, read-only after: */
	uint8_t addr_static : 1;    /* addr is in a module's static storage (has a symbol) */
	uint8_t site_init : 1;      /* a heap lock's class, its site an init call's */
	uint8_t shadow : 1;         /* the site class of the site graph (class_shadow) */
};

struct lock_class *class_get(uint32_t id);
uint32_t class_count(void); /* ids handed out: bound of class_get */
uint32_t class_live(void);
/* The named class name[/subclass], created on first use with that kind. */
struct lock_class *class_intern(const char *name, unsigned subclass, int kind);
/* The thread's name cache learns that name (no subclass) stands for c, a
 * named class whose name the caller compared equal. */
void class_name_cache(const char *name, struct lock_class *c);
/* The named class, or NULL when nothing has used that name yet. */
struct lock_class *class_find(const char *name);
/* Free a class nothing refers to any more (its id is not reused). */
void class_release(struct lock_class *c);
/* Visit every class in id order (for reports), fn under class_lock. */
void class_for_each(void (*fn)(struct lock_class *, void *), void *arg);
/* An anonymous class for one instance (classes=instance) or init site. */
struct lock_class *class_for_instance(const void *addr, uintptr_t site, int kind, bool by_site,
				      bool addr_static, bool from_init);
/* The class of c in the site graph (classes=instance): the class of its
 * init site for a heap lock made by an init call, c itself otherwise. */
struct lock_class *class_shadow(struct lock_class *c);
/* c, a heap lock's class, was made by thread tid while it held `under`;
 * and the question of it (held.c: an order of initialisation). */
void class_born_under(struct lock_class *c, const struct lock_class *under, pid_t tid);
bool class_made_under(const struct lock_class *c, const struct lock_class *under, pid_t tid);
/* The class's name, computing it (symbol, init site) when needed. */
const char *class_name(struct lock_class *c);
/* The same, or NULL when naming would wait (from inside a lock event). */
const char *class_name_try(struct lock_class *c);
/* Append s, or v in decimal, to the name at buf[n], truncated to size;
 * return the new length. */
size_t name_cat(char *buf, size_t size, size_t n, const char *s);
size_t name_cat_uint(char *buf, size_t size, size_t n, uint32_t v);
extern struct lock_class *cls_fs_reclaim, *cls_mmu_notifier, *cls_dma_fence;

/* ------------------------------------------------------------------ */
/* Instances: lock address -> class (instance.c).                      */

enum inst_type { IT_ANNOTATED, IT_MUTEX, IT_RWLOCK, IT_SPIN, IT_WWCTX,
		 IT_COND, IT_SEM, IT_BARRIER, IT_ONCE, IT_EVENT };
/* Or'ed into the type: the site is an init call's (pthread_*_init), so
 * with classes=site the instance joins its site's class. */
#define IT_FROM_INIT 0x80
/* Or'ed into IT_ANNOTATED: a lock annotated by its address alone
 * (fdep_acquire(lock, NULL)), the program's own: a pthread lock's record
 * there is stale (memory reused without a destroy). */
#define IT_OWN 0x40

struct instance {
	const void *addr;
	struct lock_class *cls;
	struct instance *hnext;
	uint8_t type;
	union {
		uint8_t mutex_kind; /* PTHREAD_MUTEX_* for IT_MUTEX */
		uint8_t sem_role;   /* IT_SEM: an event, or a lock (pylock.c) */
	};
	bool recursive_readers; /* rwlock readers may recurse (reader-preferring) */
	uint8_t read_mode;      /* rwlock: the hold mode of a read lock */
	bool known;             /* type read from the object */
	bool plain;             /* known, and no relock rules: the fast path */
	bool nofail;            /* plain, and the real lock cannot fail (no robust,
				 * priority or error-checking kind): tail-called */
	bool in_static;         /* in a module's static storage */
};

/* Look up addr, creating the instance (class by `classes=`) if absent. */
struct instance *instance_get_slow(const void *addr, int type, uintptr_t site);
struct instance *instance_find(const void *addr);
/* Forget every instance (and fence) in [start, start+len); reports
 * held-lock-freed for those the calling thread holds. */
void instance_forget_range(const void *start, size_t len, uintptr_t ip);
extern _Atomic size_t instance_live;
/* Instances outside static storage, and fences (fence.c counts them in),
 * and the threads whose free() must look at each block for another reason
 * (a private heap open, a signal handler run: preload/malloc.c): while it
 * is zero, free(), realloc() and munmap() have nothing to forget. */
extern RT_HIDDEN _Atomic size_t release_watch;
/* Raise release_watch for an object that lasts, or a reason that does
 * (a signal handler): from the first on, free() looks at every block with
 * no test of the count (preload/malloc.c). */
extern RT_HIDDEN _Atomic bool free_watching, free_private_seen;
void free_watch_start(void);
/* A private heap opens: free() leaves glibc's own entry for good. */
void free_private_start(void);

static inline void release_watch_raise(void)
{
	if (unlikely(!atomic_load_explicit(&free_watching, memory_order_relaxed)))
		free_watch_start();
	atomic_fetch_add(&release_watch, 1);
}
/* One bit per 64-byte line (modulo the bitmap size), set while the line
 * (or one that shares its bit) holds an instance or a fence; it is cleared
 * when the last object of its lines goes (instance.c). */
#define INSTANCE_LINE_SHIFT 6
#define INSTANCE_BLOOM_BITS (1u << 24)
extern RT_HIDDEN _Atomic uint64_t instance_bloom[INSTANCE_BLOOM_BITS / 64];
bool instance_may_contain_slow(const void *p, size_t len);
/* The object at addr is made (its table shard's lock held), or is gone:
 * one count moves.  Lines stay in the bitmap and the free window when
 * their objects go; the allocator lets them go lazily (instance.c:
 * line_state). */
void instance_mark_line(const void *addr);
void instance_unmark_line(const void *addr);
/* The hash of a line in the instance and fence tables: the line's bit
 * alone, so that all objects of one bit are in one bucket of each. */
static inline uint64_t object_line_hash(uintptr_t line)
{
	return (uint64_t)(line & (INSTANCE_BLOOM_BITS - 1)) * 0x9e3779b97f4a7c15ull;
}
/* Memory given back whose bitmap bits are set: true when an object may
 * be live in it (the caller forgets them, then calls again); else its
 * counted lines with no object are let go lazily. */
bool free_window_block(const void *start, size_t len);
/* Let line's bit go if no fence nor instance is on it (fence.c, then
 * instance.c under the fence shard's lock). */
void fence_line_release(uintptr_t line);
void instance_line_release(uintptr_t line);
/* The free window (instance.c): per line, how many of the next
 * FREE_WINDOW_LINES lines, itself first, hold an object.  free_window
 * points at one count that is never zero until free_window_open() (glibc's
 * heap, preload/malloc.c), then at the table; free_window_mask is what a
 * thread's tls_free_mask may be from then on. */
#define FREE_WINDOW_LINES 64
extern RT_HIDDEN _Atomic(const uint8_t *) free_window;
extern RT_HIDDEN _Atomic uintptr_t free_window_mask;
void free_window_open(void);

/* ------------------------------------------------------------------ */
/* Threads and the held stack (held.c).                                */

enum hold_mode { HM_EXCLUSIVE = 0, HM_SHARED = 1, HM_RECURSIVE = 2 };

enum held_flags {
	HF_TRY = 1 << 0,     /* trylock: no edge into it */
	HF_SPIN = 1 << 1,    /* nothing may block under it */
	HF_PATH = 1 << 2,    /* on a fence's signalling path */
	HF_SECTION = 1 << 3, /* fdep_signalling_begin section */
	HF_RECLAIM = 1 << 4, /* fdep_reclaim_begin */
	HF_MERGED = 1 << 5,  /* same class under a nest lock: no chain step */
	HF_WWCTX = 1 << 6,   /* a ww acquire context */
	HF_EVENTCTX = 1 << 7, /* running a once routine (event.c): its context */
};

struct fence;

struct held {
	struct lock_class *cls;
	const void *instance;
	const void *nest;
	uintptr_t ip;
	/* the chain key of the stack up to and including this entry; the
	 * entry below the bottom (held[-1], held.c) holds the empty stack's */
	uint64_t key;
	uint64_t fence_serial; /* HF_PATH: which life of the fence at `instance` */
	struct fence *fence;   /* HF_PATH: its record, read without a lock */
	/* flags and refs in one aligned eight-byte word, which the unlock
	 * fast path tests with one load (held_pop_word, hot.h) */
	uint8_t flags;
	uint8_t mode;
	/* always 0: the top bit of the word's low half, which the unlock fast
	 * path's test takes with refs (a 32-bit immediate) */
	uint16_t zero;
	uint32_t refs;   /* recursive mutex depth beyond the first */
};
_Static_assert(offsetof(struct held, flags) % 8 == 0 &&
		       offsetof(struct held, zero) == offsetof(struct held, flags) + 2 &&
		       offsetof(struct held, refs) == offsetof(struct held, flags) + 4,
	       "held_pop_word (hot.h) reads flags and refs as one word");

struct ww_ctx {
	const void *ctx;
	struct lock_class *cls;   /* the ww class of its locks */
	const void *contended;    /* lock that returned -EDEADLK, or NULL */
	uintptr_t ip;
	bool done;                /* fdep_ww_done: no more locks in it */
	uint32_t inject_countdown; /* ww_inject: acquisitions to the next -EDEADLK */
	uint32_t inject_interval;
};

/* slots of the instance cache, one per 4-byte unit of a 2 KiB window
 * (icache_slot, hot.h) */
#define ICACHE_SIZE 512
#define NCACHE_SIZE 32
#define SCACHE_SIZE 64
#define FCACHE_SIZE 128
#define ROCACHE_SIZE 16
#define CCACHE_SIZE 256
#define EVENT_CTX_MAX 8
#define WAITHOLD_MAX 8
#define SIGHOLD_DEPTH 4
#define SIGNAL_RING 8
#define SIGNAL_BARE UINT32_MAX
#define PENDING_EDGES 32

struct rt_thread {
	/* the first cache line: what every fast path reads or writes */
	struct held *held;
	/* the held stack's chain key is its top entry's (held_key, hot.h) */
	/* the depth, and above it, in one aligned eight-byte word, the counts
	 * of spinning and path entries (at most HELD_MAX, the depth's bound):
	 * the acquire fast path compares the word with fast_cap, which either
	 * count makes it exceed (hot.h) */
	uint32_t depth;
	uint16_t spin_depth;      /* HF_SPIN entries held */
	uint16_t npath;           /* HF_PATH entries held */
	/* cap, or 0 when acquisitions must not be pushed inline (a watchdog
	 * notes each blocking lock): rt_push_fast tests the depth against it,
	 * so that the mutex and rwlock fast paths need not read rt_fast */
	uint64_t fast_cap;
	uint32_t cap;
	uint32_t reclaim_depth;   /* in reclaim (as PF_MEMALLOC) */
	uint32_t noreclaim;       /* fdep_noreclaim_save scopes */
	uint32_t pslot;           /* this thread's path_mail slot */
	/* counted by every push on the fast paths: in the first line too,
	 * which is then the only line of the record a lock+unlock touches */
	uint64_t fast_hits;       /* acquisitions decided in hot.h */
	uint64_t path_epoch;      /* fence signal epoch last swept */
	uint64_t pmail_seen;      /* path_mail[pslot] last swept */
	pid_t tid;
	uint64_t serial_next, serial_end; /* fence serials this thread may give */
	struct ww_ctx *ww;
	uint32_t nww, capww;
	const void *ww_finished[4]; /* contexts finished lately (finished twice?) */
	uint32_t ww_finished_next;
	uint64_t ccache[CCACHE_SIZE]; /* hot.h: chain keys seen lately (chain_seen), */
	uint64_t ccache2[CCACHE_SIZE]; /* way 0 and way 1 */
	/* instance.c: instances used lately, by address; an entry is checked
	 * by the instance's own addr, which rt_free overwrites */
	struct instance *icache[ICACHE_SIZE]; /* empty: &icache_none */
	struct {
		const char *name; /* a name pointer the program passed */
		unsigned subclass;
		struct lock_class *cls;
		uint64_t gen;     /* rt_unload_gen when name was found read-only, or 0 */
	} ncache[NCACHE_SIZE];   /* class.c: names interned lately */
	/* ww.c: the classes of the ww class name used last, when a literal
	 * (ww_gen_last: rt_unload_gen then) */
	const char *ww_name_last;
	uint64_t ww_gen_last;
	struct lock_class *ww_cls_last, *ww_ctx_cls_last;
	struct {
		uintptr_t ip;
		uint32_t stack;
	} scache[SCACHE_SIZE];   /* stack.c: stacks of frequent call sites */
	struct {
		const void *addr;
		struct fence *f;
	} fcache[FCACHE_SIZE];   /* fence.c: records of fences used lately */
	struct {
		const char *name;
		uint64_t gen;    /* rt_unload_gen when it was found read-only */
		struct lock_class *cls; /* the fence class it names, or NULL */
	} rocache[ROCACHE_SIZE]; /* fence.c: class names seen to be literals */
	uint64_t acquisitions, chain_hits; /* counted by the slow paths */
	/* what the thread is blocked in, for hang reports (watchdog.c) */
	_Atomic(const void *) wait_obj;
	uint8_t wait_kind;
	bool wait_reported;
	uint64_t wait_start_ns;
	/* a fence waited for (fdep_fence_wait) whose wait then blocks in an
	 * event wait, e.g. the condition that implements the fence */
	_Atomic(const void *) wait_fence;
	struct lock_class *wait_cls;  /* the class of an event waited for */
	uintptr_t wait_ip;            /* where the wait was called */
	uintptr_t create_site;
	bool dead;
	/* signal context (signal.c): entries below sig_floor belong to the code
	 * a handler interrupted; sig_in is that handler's signal (0: none);
	 * sig_deliv the signals with a handler that are not blocked here */
	uint32_t sig_floor;
	uint8_t sig_in;
	uint64_t sig_deliv;
	uint64_t sig_gen; /* sig_handled_gen when sig_deliv was computed */
	struct rt_thread *next, *prev;
	/* event.c: the event contexts the thread is in (its own life, barriers
	 * it takes part in): virtual recursive-read holders under the bottom of
	 * the held stack, folded into `seed`, the chain key of an empty stack */
	struct lock_class *ctx[EVENT_CTX_MAX];
	uint32_t nctx;
	uint32_t ctx_deferred; /* bit i: ctx[i]'s edges wait for its next event */
	uint64_t seed;
	/* edges of deferred contexts, committed when the event happens */
	struct {
		struct lock_class *ctx, *to;
		uint32_t id;    /* to's, to see it is still the same class */
		uint32_t stack;
		uint8_t type;
	} pending[PENDING_EDGES];
	uint32_t npending;
	/* the events this thread waited for lately, and what it held then: its
	 * own signal of one of them under the same locks does not need them
	 * (a binary semaphore used as a lock, a lock made of a cv) */
	struct {
		const void *obj;
		uint32_t depth;   /* held entries below the wait */
		uint64_t key;     /* chain key at that depth */
	} waithold[WAITHOLD_MAX];
	uint32_t nwaithold;
	/* the events it signalled lately, for "last signalled by" in dumps, and
	 * for event_wait_own what each signal was made under (event.c): the
	 * bottom locks held and the contexts' seed, or SIGNAL_BARE for a
	 * signal holding nothing outside any context, or a post used up */
	struct {
		const void *obj;
		uintptr_t ip;
		uint64_t ns;
		uint64_t seed;
		uint32_t depth;
		struct lock_class *cls[SIGHOLD_DEPTH];
	} signals[SIGNAL_RING];
	uint32_t nsignals;
};
_Static_assert(offsetof(struct rt_thread, fast_hits) + sizeof(uint64_t) <= 64,
	       "the fields of the lock fast paths share the record's first cache line");
_Static_assert(offsetof(struct rt_thread, npath) == offsetof(struct rt_thread, spin_depth) + 2 &&
		       offsetof(struct rt_thread, spin_depth) == offsetof(struct rt_thread, depth) + 4 &&
		       offsetof(struct rt_thread, depth) % 8 == 0,
	       "held_special and held_word (hot.h) read depth, spin_depth and npath as words");
/* The most entries a held stack has (the counts of spin_depth and npath
 * stay below 2^16): a push past it is not tracked (held.c). */
#define HELD_MAX 32768

/*
 * The allocator's own thread words (instance.c), kept apart from rt_tls so
 * that each fast path reads one: malloc() passes straight through while
 * the word tls_alloc_gate points at is zero - the depth of the thread's
 * held stack, a zero when it has no state, a one while its allocations go
 * elsewhere (private heap, signal handler); free() indexes the free window
 * with its address masked by tls_free_mask, zero (index 0, which never
 * passes) until the thread's first look at the window and while its
 * allocations go elsewhere.  Both follow tls_thread and tls_private_heap:
 * whatever changes those calls alloc_state_refresh() after, and before the
 * thread record a gate points into is freed.
 */
extern __thread const uint32_t *tls_alloc_gate __attribute__((tls_model("initial-exec")));
extern __thread uintptr_t tls_free_mask __attribute__((tls_model("initial-exec")));
extern RT_HIDDEN const uint32_t alloc_gate_open, alloc_gate_shut;

static inline void alloc_state_refresh(void)
{
	struct rt_thread *t = tls_thread;

	if (tls_private_heap) {
		if (unlikely(!atomic_load_explicit(&free_private_seen, memory_order_relaxed)))
			free_private_start(); /* free() off glibc's own entry */
		tls_alloc_gate = &alloc_gate_shut;
		tls_free_mask = 0;
		return;
	}
	tls_alloc_gate = t ? &t->depth : &alloc_gate_open;
	tls_free_mask = atomic_load_explicit(&free_window_mask, memory_order_acquire);
}

/* What an empty icache slot points to: an instance at an address no
 * object has (held.c). */
extern struct instance icache_none;
struct rt_thread *thread_enter_slow(void);
void thread_exit_check(struct rt_thread *t);
void thread_forget(struct rt_thread *t);
void rt_thread_registered(struct rt_thread *t);
void thread_fork_child(void);
extern _Atomic uint64_t stats_acquisitions_done, stats_chain_hits_done;
extern struct rt_lock threads_lock;
extern struct rt_thread *threads_list;

/* Events (held.c). */
void rt_acquire_slow(struct rt_thread *t, struct lock_class *c, const void *inst, int mode,
		     unsigned hflags, const void *nest, uintptr_t ip);
bool rt_release_slow(struct rt_thread *t, const void *inst, uintptr_t ip);
/* An acquire+release of class c with nothing pushed (allocation, wait).
 * skip: a class whose own entries are set aside first (fence wait). */
void rt_check_acquire(struct rt_thread *t, struct lock_class *c, int mode,
		      struct lock_class *skip, uintptr_t ip);
struct cycle;
/* Report a cycle the graph found, with the kind of what it goes through. */
void rt_report_cycle(struct rt_thread *t, const struct cycle *cyc, uint32_t stack);
/* Before blocking for event e: held -> e, with no gate locks. */
void rt_check_wait(struct rt_thread *t, struct lock_class *e, uintptr_t ip);
/* Event e happens: e -> what is held above the `skip` bottom entries. */
void rt_check_signal(struct rt_thread *t, struct lock_class *e, uint32_t skip, uintptr_t ip);
void rt_push_try_unchecked(struct rt_thread *t, struct lock_class *c, const void *inst, int mode,
			   unsigned hflags, uintptr_t ip);
struct held *held_find(struct rt_thread *t, const void *inst);
void rt_allocation(struct rt_thread *t, uintptr_t ip);
void rt_report_bad_unlock(struct rt_thread *t, const void *lock, uintptr_t ip);
void held_remove(struct rt_thread *t, struct held *h);
void held_sweep_paths(struct rt_thread *t);
bool rt_blocking_allowed(struct rt_thread *t, const char *what, uintptr_t ip);

/* ------------------------------------------------------------------ */
/* Waits and events (event.c): cross-release for user-space waits.      */

/* The event class of the object at obj (a cv, a semaphore, ...), by its
 * instance (or init site under classes=site); itype is an IT_* event type. */
struct lock_class *event_class(struct rt_thread *t, const void *obj, int itype, uintptr_t site);
/* The class of a thread's exit, an event: the thread's own, named after
 * its creation site (key: a unique address while it is made), or its
 * site's under classes=site.  Gone once the thread is joined, or ends
 * detached; and the thread leaves its contexts as it ends. */
struct lock_class *event_thread_class(const void *key, uintptr_t site);
void event_thread_gone(struct lock_class *c);
void event_context_leave_all(struct rt_thread *t);
/* Before blocking for e: every held lock (and context) -> e. */
void event_wait(struct rt_thread *t, struct lock_class *e, uintptr_t ip);
/* e happens: e -> every lock held, but the `skip` bottom entries. */
void event_signal(struct rt_thread *t, struct lock_class *e, const void *obj, uint32_t skip,
		  uintptr_t ip);
/* The thread enters the context of event e for the rest of its life.
 * Deferred: its edges are kept back until the thread's next
 * event_context_commit(e) (a barrier's next arrival), and dropped if none
 * comes: what follows the last arrival leads to no arrival. */
void event_context_enter(struct rt_thread *t, struct lock_class *e, bool deferred);
void event_context_commit(struct rt_thread *t, struct lock_class *e);
void event_context_leave(struct rt_thread *t, struct lock_class *e);
/* signal_context=wait|window: a wait for (or a signal of) obj opens its
 * window, a signal of it by the same thread commits what was acquired in it */
void event_window_open(struct rt_thread *t, const void *obj, int itype, uintptr_t ip);
void event_window_signal(struct rt_thread *t, const void *obj, int itype, uintptr_t ip);
/* a signal by t with nothing held has nothing to do but be remembered */
static inline bool event_signal_idle(const struct rt_thread *t)
{
	return !t->depth && (rt_opt.signal_context == SIGCTX_HELD ||
			     (rt_opt.signal_context == SIGCTX_WAIT && !t->nctx));
}
/* validate_chain (held.c): an edge from a deferred context, kept back. */
void event_context_defer(struct rt_thread *t, struct lock_class *ctx, struct lock_class *to,
			 int type, uint32_t stack);
/* A wait for obj (a semaphore's: counted, one record per wait), and the
 * held entries a signal of obj by the same thread leaves out: those it held
 * at its wait and still holds (a post consumes a semaphore's record). */
void event_waited(struct rt_thread *t, const void *obj, bool counted);
uint32_t event_signal_skip(struct rt_thread *t, const void *obj, bool consume);
/* Does t hold, for a wait for obj, only what it held at its own last signal
 * of obj (the bottom of that stack, the same), or, holding nothing, is it in
 * the contexts it signalled obj in?  Then the wait adds nothing. */
bool event_wait_own(const struct rt_thread *t, const void *obj);
/* A semaphore's wait took a post: this thread's own last one, if any, is
 * used up. */
void event_own_consumed(struct rt_thread *t, const void *obj);
/* The thread that signalled obj last, and where: for dumps. */
bool event_last_signal(const void *obj, pid_t *tid, uintptr_t *ip, uint64_t *ns);


/* ------------------------------------------------------------------ */
/* Chain cache (chain.c): lock-free lookup, insert under graph_lock.    */

struct chain_table {
	uint64_t mask;
	_Atomic uint64_t keys[];
};
extern RT_HIDDEN _Atomic(struct chain_table *) chain_table;
void chain_insert(uint64_t key);
size_t chain_count(void); /* chains validated and cached, ever */
/* Empty the shared table (graph_lock held). */
void chain_flush(void);

/* ------------------------------------------------------------------ */
/* The dependency graph (graph.c).                                     */

enum edge_type_bits { ET_ER = 1, ET_EN = 2, ET_SR = 4, ET_SN = 8 };

struct edge {
	struct lock_class *from, *to;
	struct edge *next_out;
	struct edge *next_in;
	struct edge *hnext;
	uint32_t stack;   /* where `to` was first acquired with `from` held */
	uint32_t type_stack[4]; /* the same, per type (edge_type_index): a
				 * cycle shows the stack that proves the type
				 * it uses (a read acquisition cannot prove
				 * -(EN)->) */
	uint8_t types;    /* ET_* seen */
	bool primed;
	bool reported;    /* closed a reported cycle: later cycles through it repeat it */
	uint16_t ngates;  /* exclusive locks held under every observation */
	uint32_t *gates;
};

#define CYCLE_MAX 64
struct cycle {
	uint32_t n;     /* edges kept: the first CYCLE_MAX from the new one */
	uint32_t total; /* edges in the whole cycle */
	struct {
		struct lock_class *from, *to;
		uint8_t type;
		bool primed;
		uint32_t stack;
	} e[CYCLE_MAX];
};

extern struct rt_lock graph_lock;
/* The finding kind of a cycle, by the classes it goes through (held.c). */
int cycle_kind(const struct cycle *cyc);
/* prev -> next of type known already: adding it keeps no stack (graph_lock held) */
bool graph_edge_known(struct lock_class *prev, struct lock_class *next, int type);
/* Add (or refresh) prev -> next of the given type; gates are the class ids
 * held exclusively under it.  Returns true and fills *cyc when the edge
 * closes a strong cycle that no common gate lock serialises. */
bool graph_add_edge(struct lock_class *prev, struct lock_class *next, int type,
		    uint32_t stack, const uint32_t *gates, uint16_t ngates, bool primed,
		    struct cycle *cyc);
size_t graph_edge_count(void);
/* The class's instance is gone: its edges leave the graph (the memory is
 * reclaimed in batches).  Takes graph_lock. */
void graph_class_dead(struct lock_class *c);
/* Report writers that read class records outside graph_lock: no dead
 * class is freed between enter and leave. */
void graph_readers_enter(void);
void graph_readers_leave(void);
void graph_fork_child(void);
/* True, and the class is out of the graph's reach, when it has no edge. */
bool graph_class_unused(struct lock_class *c);
/* Visit every edge (graph_lock held by the caller). */
void graph_for_each_edge(void (*fn)(struct edge *, void *), void *arg);
int edge_type(int holder_mode, int acquirer_mode);
/* ET_ER, ET_EN, ET_SR, ET_SN as 0..3. */
static inline unsigned edge_type_index(int type_bit)
{
	return (unsigned)__builtin_ctz((unsigned)type_bit);
}
const char *edge_type_name(int type_bit);

/* ------------------------------------------------------------------ */
/* Priming (prime.c).                                                   */

void prime_init(void);
void prime_pair(const char *first, const char *second, bool builtin);
void prime_class_created(struct lock_class *c);
int prime_load_file(const char *path, char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* Fences (fence.c) and ww contexts (ww.c).                             */

enum fence_state { FS_INIT, FS_PUBLISHED, FS_SIGNALLED };

/*
 * A fence record.  Records are kept for fences alone (a freed one goes to
 * fence.c's free list with addr NULL), so a thread's cache may read one
 * without a lock: a record whose addr is not the fence's is not its.
 */
#define FENCE_PATH_SLOTS 4
struct fence {
	_Atomic(const void *) addr;
	struct lock_class *cls;
	const char *cls_name;    /* the name cls was given by, at the last init */
	uint64_t name_gen;       /* rt_unload_gen when cls_name was seen read-only, or 0 */
	_Atomic uint64_t serial; /* one per life of the fence at addr */
	_Atomic uint8_t state;
	bool adopted;            /* a thread besides the publisher joined the path */
	_Atomic uint16_t pub_slot; /* path_mail slot + 1 of its publisher, 0 for none */
	uint32_t publish_stack, signal_stack;
	pid_t publisher;
	/* path_mail slots + 1 of the other threads put on the path in this
	 * life, 0 for one not written yet; npslots past FENCE_PATH_SLOTS: too
	 * many */
	_Atomic uint16_t pslots[FENCE_PATH_SLOTS];
	_Atomic uint32_t npslots;
	struct fence *hnext;
};
extern RT_HIDDEN _Atomic uint64_t fence_signal_epoch;
/*
 * Per-thread signal mail: a fence records the slots of the threads on its
 * path (publisher and adopters, FENCE_PATH_SLOTS at most) and its signal or
 * destruction bumps their slots alone, so that threads on the paths of
 * different fences write no common line.  A fence with more threads on its
 * path, or a range of memory forgotten, moves fence_signal_epoch for all.
 * Slots are shared past PATH_SLOTS threads: a bump then costs a neighbour a
 * useless sweep, never a missed one.
 */
#define PATH_SLOTS 256
struct path_mail {
	_Atomic uint64_t n;
} __attribute__((aligned(64)));
extern RT_HIDDEN struct path_mail path_mail[PATH_SLOTS];
/* Path slots handed out so far (held.c): past PATH_SLOTS, threads share. */
extern RT_HIDDEN _Atomic uint32_t pslot_next;
/* A slot of a fence's path whose thread left it (fdep_fence_handoff). */
#define PSLOT_GONE 0xffffu
extern _Atomic bool fences_made; /* a fence was ever tracked */
/* Is the fence at addr, in its life `serial`, still unsignalled?  Reads
 * the record without a lock: runtime memory is never unmapped, and a
 * record reused for another life has another serial. */
static inline bool fence_path_live(const struct fence *f, const void *addr, uint64_t serial)
{
	return f && atomic_load(&f->serial) == serial && f->addr == addr &&
	       atomic_load(&f->state) != FS_SIGNALLED;
}
bool fence_pending(const void *addr);
/* The class of the fence at addr, NULL when none is known there. */
struct lock_class *fence_class_at(const void *addr);
void fence_forget_range(const void *start, size_t len);
void fence_exit_check(void);
void fence_dump(struct rt_buf *b, bool in_signal);

void ww_acquire_check(struct rt_thread *t, const void *nest, struct lock_class *c,
		      const void *lock, uintptr_t ip);
bool ww_push_fast(struct rt_thread *t, struct lock_class *c, const void *lock, int mode,
		  unsigned hflags, const void *nest, uintptr_t ip);
void ww_exit_check(struct rt_thread *t);

/* ------------------------------------------------------------------ */
/* Hangs and state dumps (watchdog.c).                                  */

enum wait_kind { WAIT_MUTEX = 1, WAIT_RWLOCK, WAIT_SPIN, WAIT_COND, WAIT_FENCE,
		 WAIT_SEM, WAIT_JOIN, WAIT_BARRIER, WAIT_ONCE, WAIT_EVENT };
extern uint64_t rt_watchdog_ns; /* 0: no watchdog */
void watchdog_init(void);
void watchdog_fork_child(void);
void wait_begin(struct rt_thread *t, const void *obj, int kind);
/* The same for an event: its class (NULL: the object's) and wait site. */
void wait_begin_at(struct rt_thread *t, const void *obj, int kind, struct lock_class *cls,
		   uintptr_t ip);
static inline void wait_end(struct rt_thread *t)
{
	if (t)
		atomic_store_explicit(&t->wait_obj, NULL, memory_order_relaxed);
}
/* Every thread's held locks, waits and signalling paths, and every pending
 * fence; in_signal: from a signal handler (trylocks, raw addresses). */
void dump_state(struct rt_buf *b, bool in_signal);

/* ------------------------------------------------------------------ */
/* Stacks (stack.c).                                                    */

#define STACK_MAX 64
uint32_t stack_capture(uintptr_t ip);  /* 0 when none */
/* The stack of the first event from call site ip in this thread: for
 * events as frequent as fence publication, where a full unwind each time
 * would cost more than the event. */
uint32_t stack_capture_site_slow(struct rt_thread *t, uintptr_t ip);
static inline unsigned scache_slot(uintptr_t ip)
{
	return (unsigned)((ip >> 2) % SCACHE_SIZE);
}
uint32_t stack_get(uint32_t id, uintptr_t *pcs, uint32_t max);

struct frame {
	uintptr_t pc;
	const char *module;
	uintptr_t offset;
	const char *function; /* C++ names demangled, with their parameters */
	const char *name;     /* the function without parameters (class names) */
	uintptr_t fn_offset; /* pc - the function's start */
	const char *file;
	int line;
};
/* Symbolise pc (cached; strings live as long as the process). */
void stack_symbolize(uintptr_t pc, struct frame *f);
/* The same without file and line: no line table read. */
void stack_symbolize_brief(uintptr_t pc, struct frame *f);
/* Name of a static object at addr ("queue_lock", or "object@prog+0x4010"
 * in a stripped module; the _try form says the kind), or NULL. */
const char *stack_object_name(const void *addr);
/* With try set, these return -1 at once when another thread symbolises. */
int stack_function_try(uintptr_t pc, const char **function, bool try);
int stack_object_name_try(const void *addr, const char *kind, const char **out, bool try);
bool stack_pc_in_runtime(uintptr_t pc);
/* The code at pc as a class names it ("fn:line", "fn+0x1c", "prog+0x1234");
 * reads line tables: from report writers, never from a lock event. */
size_t stack_site_name(uintptr_t pc, char *buf, size_t size);
/* The init site of a lock whose init call returns to pc: pc, or, when pc
 * is in a function that wraps lock creation (its name says mutex or lock),
 * the first call site outside such wrappers, a few frames up at most. */
uintptr_t stack_init_site(uintptr_t pc);
/* Is addr in a loaded module's static storage (.data, .bss)? */
bool stack_addr_is_static(const void *addr);
/* In a read-only segment of a loaded module (a string literal)? */
bool stack_addr_is_readonly(const void *addr);
/* Moved by every dlclose(): what was read-only may be gone. */
extern _Atomic uint64_t rt_unload_gen;
void stack_init(void);

/* ------------------------------------------------------------------ */
/* Findings and reports (report.c, report_text.c, report_json.c).      */

enum finding_kind {
	FK_LOCK_ORDER_INVERSION,
	FK_ALLOC_IN_SIGNALLING_PATH,
	FK_FENCE_LOCK_INVERSION,
	FK_RECLAIM_LOCK_INVERSION,
	FK_RECURSIVE_LOCKING,
	FK_FENCE_SELF_WAIT,
	FK_UNPUBLISHED_FENCE_WAIT,
	FK_FENCE_DOUBLE_SIGNAL,
	FK_FENCE_NEVER_SIGNALLED,
	FK_INVALID_WAIT_CONTEXT,
	FK_WW_PROTOCOL_VIOLATION,
	FK_BAD_UNLOCK_BALANCE,
	FK_HELD_LOCK_FREED,
	FK_LOCK_HELD_AT_THREAD_EXIT,
	FK_ASSERTION_FAILED,
	FK_HANG,
	FK_SIGNAL_UNSAFE_LOCK,
	FK_SIGNAL_UNSAFE_CALL,
	FK_EVENT_LOCK_INVERSION,
	FK_COUNT
};
const char *finding_kind_name(int kind);

#define FINDING_HELD_MAX 32
#define FINDING_NOTES_MAX 4

/* A finding as the engine describes it; report.c fills the rest. */
struct finding_in {
	int kind;
	const char *title;
	const char *detail;            /* one line naming what happened */
	struct lock_class *subject[2]; /* classes that identify it */
	const struct cycle *cycle;
	uint32_t stack;                /* where it was found */
	struct {
		const char *label;
		uint32_t stack;
	} notes[FINDING_NOTES_MAX];    /* e.g. publish / signal stacks */
	uint32_t nnotes;
	const char *dump;              /* hang: the state of every thread */
	int sig;                       /* signal-unsafe-*: the signal */
};

/* Report a finding the moment it is found (text + JSON), once per
 * fingerprint; t may be NULL. */
void report_finding(struct rt_thread *t, const struct finding_in *in);
size_t report_unsuppressed(void);
/* A finding did not reach a report file (a full disk): the JSON report
 * lacks it, or its text is not in the log file. */
bool report_lost(void);
bool report_json_lost(void);
/* Rewrite the JSON report; final: at exit, with the graph as it is now
 * (between findings the graph part may be one rendered a moment ago). */
void report_write_json(bool final);
/* Write all n bytes (again after EINTR); false on an error or no progress. */
bool write_all(int fd, const char *p, size_t n);
/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t rt_now_ns(void);
void report_init(void);
void report_stats_line(void);
/* print_suppressions=1: the rules that hid findings, with counts. */
void report_suppressions_used(void);
/* Create a new report file PREFIX.<pid>[.<n>]EXT with O_EXCL (report.c). */
int report_create(const char *prefix, const char *ext, char **name, size_t *name_size);
/* The JSON report's first file, created at start; a fork child's files
 * are its own (report_json.c). */
void report_json_init(void);
void report_json_fork_child(void);

/* ------------------------------------------------------------------ */
/* Process life (init.c).                                              */

enum rt_state { RT_UNINIT, RT_INITIALIZING, RT_READY, RT_DISABLED };
extern RT_HIDDEN _Atomic int rt_state;
/* The runtime turned itself off for want of memory (alloc.c): the findings
 * made before still set the exit status (init.c). */
extern _Atomic bool rt_oom_disabled;
/* The inline fast paths may run: RT_READY, and no watchdog to tell. */
extern RT_HIDDEN _Atomic bool rt_fast;
void rt_init(void);
extern pid_t rt_pid;
extern const char *rt_argv0;
extern char **rt_argv;
extern int rt_argc;
uintptr_t rt_caller(void);
void rt_fatal_config(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void rt_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
pid_t rt_gettid(void);

#define RT_CALLER ((uintptr_t)__builtin_return_address(0))

/* ------------------------------------------------------------------ */
/* Signal handlers (preload/signal.c, sigusage.c).                      */

/* Signals with a program handler installed, and a count of its changes. */
extern _Atomic uint64_t sig_handled;
extern _Atomic uint64_t sig_handled_gen;
#define SIG_BIT(s) (1ull << ((s) - 1))
/* Recompute the thread's deliverable signals after sig_handled changed. */
void sig_refresh(struct rt_thread *t);
/* The runtime's own signal calls, past the interposers. */
int rt_sigaction(int sig, const struct sigaction *act, struct sigaction *old);
int rt_sigmask(int how, const sigset_t *set, sigset_t *old);
/* validate_chain (graph_lock held): usage bits of c being taken with the
 * held entries from[] (those above the floor); a finding goes to *out. */
struct sig_finding {
	bool found;
	bool indirect;
	int sig;
	struct lock_class *in_cls, *on_cls;
	uint32_t in_stack, on_stack, path_stack;
	struct cycle path;
};
/* Whether sig_usage_acquire(t, c, ...) would mark nothing new: no stack kept (graph_lock held). */
bool sig_usage_acquire_known(const struct rt_thread *t, const struct lock_class *c);
void sig_usage_acquire(struct rt_thread *t, struct lock_class *c, uint32_t stack,
		       struct sig_finding *out);
/* New edges were added (graph_lock held): an S-safe class may now reach an
 * S-unsafe one. */
void sig_usage_edge(struct lock_class *from, struct lock_class *to, struct sig_finding *out);
/* Signals became deliverable with locks held (takes graph_lock). */
void sig_usage_held(struct rt_thread *t, uint64_t newly, uintptr_t ip);
void sig_report(struct rt_thread *t, const struct sig_finding *sf);
/* c is about to be freed: its usage bits go (graph_lock held). */
void sig_usage_forget(const struct lock_class *c);
/* Anything but an async-signal-safe call in a handler: reported. */
void sig_unsafe_call(const char *what, uintptr_t ip);
/* Drop handler frames the thread is no longer running on top of. */
void sig_frames_check(struct rt_thread *t);
extern _Atomic uint64_t sig_in_any;

/* ------------------------------------------------------------------ */
/* Signals of events remembered (event.c), inline for the fast paths.   */

/*
 * Remember a signal of obj, thread-local: for dumps ("last signalled by")
 * and event_wait_own; its slot in the ring, marked as a signal holding
 * nothing outside any context.  Its time only under a watchdog: a clock
 * read per signal cost as much as the rest of a signal, and a dump on
 * demand without a watchdog names the signaller and the site without it.
 * The inline fast paths run only without a watchdog (rt_fast).
 */
static inline uint32_t event_note_signal_at(struct rt_thread *t, const void *obj, uintptr_t ip,
					    uint64_t ns)
{
	uint32_t i = t->nsignals++ % SIGNAL_RING;

	t->signals[i].obj = obj;
	t->signals[i].ip = ip;
	t->signals[i].ns = ns;
	t->signals[i].depth = SIGNAL_BARE;
	return i;
}

/* The time a signal is remembered with: 0 without a watchdog. */
static inline uint64_t event_signal_time(void)
{
	return unlikely(rt_watchdog_ns) ? rt_now_ns() : 0;
}

static inline uint32_t event_note_signal(struct rt_thread *t, const void *obj, uintptr_t ip)
{
	return event_note_signal_at(t, obj, ip, event_signal_time());
}

/* The chain key salt of a signal's check (rt_check_signal, held.c): the
 * same text here and there, or the compiler says it is redefined. */
#define SIGNAL_SALT 0x5be1c0de5a17ull

/* event_note_held() on the signal fast paths: something held, no
 * watchdog (rt_fast), so that ns is 0, as every signal noted leaves it. */
static inline __attribute__((always_inline)) void event_note_held_fast(struct rt_thread *t,
								       const void *obj,
								       uintptr_t ip)
{
	uint32_t i = t->nsignals++ % SIGNAL_RING, depth = t->depth;
	const struct held *h = t->held;

	t->signals[i].obj = obj;
	t->signals[i].ip = ip;
	t->signals[i].depth = depth;
	t->signals[i].seed = t->seed;
	t->signals[i].cls[0] = h[0].cls;
	for (uint32_t d = 1; d < depth && d < SIGHOLD_DEPTH; d++)
		t->signals[i].cls[d] = h[d].cls;
}

/* The same, with what the signal is made under, for event_wait_own: the
 * bottom held classes and the contexts' seed. */
static inline void event_note_held(struct rt_thread *t, const void *obj, uintptr_t ip, uint64_t ns)
{
	uint32_t i = t->nsignals++ % SIGNAL_RING, depth = t->depth;

	t->signals[i].obj = obj;
	t->signals[i].ip = ip;
	t->signals[i].ns = ns;
	t->signals[i].depth = depth || t->nctx ? depth : SIGNAL_BARE;
	t->signals[i].seed = t->seed;
	for (uint32_t d = 0; d < depth && d < SIGHOLD_DEPTH; d++)
		t->signals[i].cls[d] = t->held[d].cls;
}

#include "hot.h"

#endif /* FDEP_RUNTIME_H */
