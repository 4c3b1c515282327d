/*
 * vmbind.h - private header of the VM_BIND reference model.
 *
 * The model follows Documentation/gpu/drm-vm-bind-locking.rst: a gpu_vm
 * with its lock (outermost), its reservation object shared by the local
 * objects, external objects with their own reservation, userptr ranges
 * guarded by an mmu interval notifier and userptr_notifier_lock, and list
 * spinlocks innermost.  Jobs go through a drm_sched-like scheduler thread
 * to a GPU thread that signals the hardware fences and checks every page it
 * touches.  See README in this directory for the map from the document to
 * the files.
 */
#ifndef VMBIND_H
#define VMBIND_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fencedep.h"

/* ---- lists ------------------------------------------------------------ */

struct list_head {
	struct list_head *next, *prev;
};

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#define list_entry(ptr, type, member) container_of(ptr, type, member)
#define list_first_entry(head, type, member) list_entry((head)->next, type, member)
#define list_for_each_entry(pos, head, member)                                   \
	for (pos = list_entry((head)->next, __typeof__(*pos), member);           \
	     &pos->member != (head);                                             \
	     pos = list_entry(pos->member.next, __typeof__(*pos), member))
#define list_for_each_entry_safe(pos, n, head, member)                           \
	for (pos = list_entry((head)->next, __typeof__(*pos), member),           \
	     n = list_entry(pos->member.next, __typeof__(*pos), member);         \
	     &pos->member != (head);                                             \
	     pos = n, n = list_entry(n->member.next, __typeof__(*n), member))

static inline void INIT_LIST_HEAD(struct list_head *h)
{
	h->next = h;
	h->prev = h;
}

static inline bool list_empty(const struct list_head *h)
{
	return h->next == h;
}

static inline void list_add_between(struct list_head *n, struct list_head *prev,
				    struct list_head *next)
{
	next->prev = n;
	n->next = next;
	n->prev = prev;
	prev->next = n;
}

static inline void list_add(struct list_head *n, struct list_head *h)
{
	list_add_between(n, h, h->next);
}

static inline void list_add_tail(struct list_head *n, struct list_head *h)
{
	list_add_between(n, h->prev, h);
}

static inline void list_del_init(struct list_head *e)
{
	e->next->prev = e->prev;
	e->prev->next = e->next;
	INIT_LIST_HEAD(e);
}

static inline void list_move_tail(struct list_head *e, struct list_head *h)
{
	list_del_init(e);
	list_add_tail(e, h);
}

static inline void list_splice_tail_init(struct list_head *from, struct list_head *to)
{
	if (list_empty(from))
		return;
	from->next->prev = to->prev;
	to->prev->next = from->next;
	from->prev->next = to;
	to->prev = from->prev;
	INIT_LIST_HEAD(from);
}

/* ---- bugs (bugs.c) ---------------------------------------------------- */

enum vmb_bug {
	BUG_NONE,
	BUG_GUP_UNDER_RESV,
	BUG_RESV_IN_NOTIFIER,
	BUG_VM_LOCK_IN_NOTIFIER,
	BUG_ALLOC_IN_RUN_JOB,
	BUG_LATE_RESERVE_FENCES,
	BUG_LATE_BEGIN_SIGNALLING,
	BUG_RESV_IN_RUN_JOB,
	BUG_NOTIFIER_LOCK_IN_RUN_JOB,
	BUG_ALLOC_UNDER_NOTIFIER_LOCK,
	BUG_BLOCKING_RESV_IN_SHRINKER,
	BUG_PREEMPT_FENCE_TAKES_VM_LOCK,
	BUG_MOVE_NOTIFY_TAKES_VM_LOCK,
	BUG_RESV_UNDER_SPINLOCK,
	BUG_IGNORE_EDEADLK,
	BUG_UNLOCKED_USERPTR_LIST,
	BUG_EXTOBJ_EVICT_NO_RESV,
	BUG_UNLOCKED_SEQ_CHECK,
	BUG_ALLOC_IN_SCHED_MAIN,
	BUG_ALLOC_IN_NOTIFIER,
	BUG_READ_BEGIN_IN_RUN_JOB,
	BUG_MUTEX_IN_FENCE_CALLBACK,
	BUG_BIND_EXEC_FENCE_CYCLE,
	BUG_ALLOC_IN_EVICT_JOB,
	BUG_COUNT
};

struct vmb_bug_desc {
	const char *name;
	const char *mistake;
	const char *expect;
	const char *rule; /* what the locking document or the dma-fence rules say */
	bool gated; /* made only once the other side parks (vmb_gate_close) */
};

extern enum vmb_bug vmb_active_bug;
extern const struct vmb_bug_desc vmb_bugs[BUG_COUNT];

static inline bool vmb_bug(enum vmb_bug b)
{
	return vmb_active_bug == b;
}

int vmb_bug_lookup(const char *name);

/* A resv taken by an injected mistake gives up after this long. */
#define VMB_BUG_WAIT_MS 50

/* Parks one side while an injected mistake blocks (bugs.c). */
struct vmb_gate {
	atomic_int busy;
	atomic_int pause;
};

void vmb_gate_enter(struct vmb_gate *g);
void vmb_gate_exit(struct vmb_gate *g);
bool vmb_gate_close(struct vmb_gate *g);
/* Gates closed: the mistakes that need the other side parked, made. */
extern atomic_ullong vmb_gated_hits;
void vmb_gate_open(struct vmb_gate *g);

/* ---- fatal model errors ---------------------------------------------- */

void vmb_fatal(int status, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
void *vmb_zalloc(size_t size);
void vmb_sleep_us(unsigned us);
uint64_t vmb_now_us(void);

/* ---- dma_fence (fence.c) -------------------------------------------- */

struct dma_fence;
struct dma_fence_cb;
typedef void (*dma_fence_func_t)(struct dma_fence *f, struct dma_fence_cb *cb);

struct dma_fence_cb {
	struct list_head node;
	dma_fence_func_t func;
};

struct dma_fence_ops {
	const char *name;
	/* the checker's fence class: one per queue (bind, exec, eviction,
	 * preempt), so that waits between queues are checked */
	const char *fence_class;
	/* called once, when someone starts to wait; in atomic context, as the
	 * kernel calls it under the fence's lock */
	void (*enable_signaling)(struct dma_fence *f);
	void (*release)(struct dma_fence *f);
};

/* The fence's address is its identity for the checker: no lock may sit at
 * offset 0, or the checker would take the fence for that lock. */
struct dma_fence {
	atomic_int refcount;
	/* a spinlock, as the kernel's: signalling runs in atomic context (from
	 * other fences' callbacks), so nothing in it may sleep.  A leaf held
	 * for a few instructions: a bare atomic flag the checker does not see
	 * (it would bring no dependency, and cost a lock instance per fence) */
	atomic_flag lock; /* fields below */
	atomic_bool signaled;
	bool signaling_enabled;
	bool signalling;
	bool published;
	int error;
	uint64_t context;
	uint64_t seqno;
	const struct dma_fence_ops *ops;
	struct list_head cb_list;
};

void dma_fence_init(struct dma_fence *f, const struct dma_fence_ops *ops, uint64_t context,
		    uint64_t seqno);
uint64_t dma_fence_context_alloc(unsigned n);
struct dma_fence *dma_fence_get(struct dma_fence *f);
void dma_fence_put(struct dma_fence *f);
void dma_fence_publish(struct dma_fence *f);
bool dma_fence_is_signaled(struct dma_fence *f);
int dma_fence_signal(struct dma_fence *f);
void dma_fence_enable_sw_signaling(struct dma_fence *f);
/* Callbacks run in atomic context (an FDEP_SPIN section): they must not
 * sleep, allocate or wait. */
int dma_fence_add_callback(struct dma_fence *f, struct dma_fence_cb *cb, dma_fence_func_t func);
/* false when the callback already ran or is running */
bool dma_fence_remove_callback(struct dma_fence *f, struct dma_fence_cb *cb);
/* 0 when the timeout expired, 1 when the fence signalled */
int dma_fence_wait_timeout(struct dma_fence *f, unsigned timeout_ms);
void dma_fence_wait(struct dma_fence *f);

/* ---- dma_resv and its ww mutex (resv.c) ------------------------------- */

enum dma_resv_usage {
	DMA_RESV_USAGE_KERNEL,
	DMA_RESV_USAGE_WRITE,
	DMA_RESV_USAGE_READ,
	DMA_RESV_USAGE_BOOKKEEP,
};

struct ww_acquire_ctx {
	uint64_t stamp;
	int acquired;
};

struct dma_resv_slot {
	struct dma_fence *fence;
	enum dma_resv_usage usage;
};

/* The resv's address is the ww mutex for the checker; the internal locks
 * are different ones and must not share that address. */
struct dma_resv {
	bool held;
	/* Leaf: protects the ww state and the slot array, held for a few
	 * instructions, never while allocating, waiting or taking anything
	 * else.  A bare atomic flag the checker does not see, as the kernel's
	 * mutex fast path is an atomic: what it sees is the ww lock itself. */
	atomic_flag lock;
	unsigned waiters; /* (lock) sleeping until an unlock */
	/* the wait queue, used only when the lock is contended */
	pthread_mutex_t sleep_mutex;
	pthread_cond_t cond;
	atomic_uint wake_gen; /* unlocks that found sleepers */
	struct ww_acquire_ctx *ctx;
	/* the holder's tag (vmb_self()), read without the mutex: only the
	 * holder ever finds its own tag there */
	_Atomic(const void *) owner;
	/* slots: written under the ww lock and `lock`; read under either (the
	 * holder's own walks need not take `lock`, as the kernel's locked
	 * dma_resv iterator takes no RCU) */
	struct dma_resv_slot *slots;
	unsigned num;
	unsigned max;
};

void dma_resv_init(struct dma_resv *r);
void dma_resv_fini(struct dma_resv *r);
void ww_acquire_init(struct ww_acquire_ctx *ctx);
void ww_acquire_done(struct ww_acquire_ctx *ctx);
void ww_acquire_fini(struct ww_acquire_ctx *ctx);
int dma_resv_lock(struct dma_resv *r, struct ww_acquire_ctx *ctx);
void dma_resv_lock_slow(struct dma_resv *r, struct ww_acquire_ctx *ctx);
bool dma_resv_trylock(struct dma_resv *r);
bool dma_resv_lock_timeout(struct dma_resv *r, unsigned ms);
void dma_resv_unlock(struct dma_resv *r);
bool dma_resv_is_locked_by_me(struct dma_resv *r);
void dma_resv_assert_held(struct dma_resv *r);
int dma_resv_reserve_fences(struct dma_resv *r, unsigned n);
void dma_resv_add_fence(struct dma_resv *r, struct dma_fence *f, enum dma_resv_usage usage);
/* first unsignalled fence of at most that usage, with a reference; the
 * caller holds the resv (it is asserted) */
struct dma_fence *dma_resv_next_unsignaled(struct dma_resv *r, enum dma_resv_usage usage,
					   unsigned *pos);
void dma_resv_wait(struct dma_resv *r, enum dma_resv_usage usage);

/* ---- drm_exec (exec.c) ------------------------------------------------ */

struct gem_object;

struct drm_exec {
	struct ww_acquire_ctx ctx;
	struct gem_object **objs;
	unsigned num;
	unsigned max;
	struct gem_object *contended;
	struct gem_object *prelocked;
	bool first;
};

void drm_exec_init(struct drm_exec *e);
bool drm_exec_cleanup(struct drm_exec *e);
int drm_exec_lock_obj(struct drm_exec *e, struct gem_object *obj);
int drm_exec_prepare_obj(struct drm_exec *e, struct gem_object *obj, unsigned fences);
void drm_exec_unlock_all(struct drm_exec *e);
void drm_exec_fini(struct drm_exec *e);

/* ---- memory: the page pool and the model's allocator (mem.c) ---------- */

struct pte {
	uint32_t idx;
	uint32_t gen;
};

#define PTE_NONE UINT32_MAX

void mem_init(unsigned total_pages, unsigned budget_pages);
void mem_fini(void);
/* may run direct reclaim when the budget is exceeded */
void mem_alloc_pages(unsigned n, struct pte *out);
void mem_free_pages(unsigned n, struct pte *pages);
bool mem_page_valid(struct pte p);
bool mem_over_budget(unsigned slack);
/* pages queued to an eviction job (+n), freed by it (-n) */
void mem_evicting(int delta);
unsigned mem_in_use(void);

/* ---- core mm (mm.c) --------------------------------------------------- */

struct mmu_interval_notifier;

struct mmu_interval_notifier_ops {
	/* runs as reclaim, in the mmu_notifier context */
	bool (*invalidate)(struct mmu_interval_notifier *sub, unsigned long cur_seq);
};

struct mm_range {
	pthread_mutex_t lock; /* leaf */
	pthread_cond_t cond;
	bool invalidating;
	unsigned long seq;
	struct list_head notifiers;
	unsigned npages;
	struct pte *pages; /* PTE_NONE when not present */
};

struct mm_struct {
	pthread_rwlock_t mmap_lock;
	struct mm_range *ranges;
	unsigned nranges;
};

struct mmu_interval_notifier {
	struct mm_range *range;
	atomic_ulong invalidate_seq;
	const struct mmu_interval_notifier_ops *ops;
	struct list_head link;
};

void mm_init(struct mm_struct *mm, unsigned nranges, unsigned pages_per_range);
void mm_fini(struct mm_struct *mm);
void mmu_interval_notifier_insert(struct mmu_interval_notifier *sub, struct mm_range *range,
				  const struct mmu_interval_notifier_ops *ops);
void mmu_interval_notifier_remove(struct mmu_interval_notifier *sub);
unsigned long mmu_interval_read_begin(struct mmu_interval_notifier *sub);
/* the same, giving up after ms (only the injected mistakes use it) */
unsigned long mmu_interval_read_begin_timeout(struct mmu_interval_notifier *sub, unsigned ms);
bool mmu_interval_read_retry(struct mmu_interval_notifier *sub, unsigned long seq);
void mmu_interval_set_seq(struct mmu_interval_notifier *sub, unsigned long cur_seq);
/* get_user_pages: takes mmap_lock for reading, faults pages in */
void mm_get_user_pages(struct mm_struct *mm, struct mm_range *range, struct pte *out);
void mm_munmap(struct mm_struct *mm, struct mm_range *range);
void mm_page_out(struct mm_struct *mm, struct mm_range *range);

/* ---- scheduler (sched.c) and GPU (gpu.c) ------------------------------ */

struct sched_job;
struct gpu_vm;
struct gpu_vma;

struct sched_entity {
	struct list_head queue; /* sched lock */
	struct list_head link;  /* in sched->entities */
	bool suspended;         /* long-running exec queue preempted */
	struct dma_fence *barrier; /* run nothing before it signals */
	atomic_uint queued;
	uint64_t context;
	atomic_ullong seqno;
};

enum job_kind {
	JOB_EXEC,
	JOB_BIND,
	JOB_UNBIND,
	JOB_CLEAR,
};

struct sched_fence {
	struct dma_fence base;
};

struct sched_job {
	enum job_kind kind;
	struct sched_entity *entity;
	struct gpu_vm *vm;
	struct dma_fence *finished; /* the job's out-fence, a sched_fence */
	struct dma_fence *hw;       /* preallocated at init, published by run_job */
	struct dma_fence **deps; /* deps_inline until more are added */
	unsigned ndeps;
	unsigned maxdeps;
	struct dma_fence *deps_inline[4];
	unsigned dep_idx;
	struct dma_fence *dep_waiting;
	bool armed;
	struct dma_fence_cb dep_cb;
	struct dma_fence_cb hw_cb;
	struct list_head link;
	struct list_head gpu_link; /* gpu ring */
	uint64_t id;
	uint64_t pushed_us;
	/* bind payload: the page-table entries the GPU writes */
	struct gpu_vma *vma;
	struct pte *ptes;
	unsigned nptes;
	/* the object run_job unpins (resv-in-run-job) */
	struct gem_object *pinned;
	/* on the scheduler's done list (pushed from fence callbacks) */
	struct sched_job *done_next;
	/* bind-exec-fence-cycle: the exec fence this bind job waits for */
	struct dma_fence *bug_wait;
};

void sched_init(void);
void sched_fini(void);
void sched_entity_init(struct sched_entity *e);
struct sched_job *sched_job_create(enum job_kind kind, struct sched_entity *e, struct gpu_vm *vm);
struct sched_job *vm_bind_job_create(struct gpu_vm *vm, struct gpu_vma *vma,
				     const struct pte *src);
void sched_job_add_dependency(struct sched_job *job, struct dma_fence *f);
void sched_job_add_resv_dependencies(struct sched_job *job, struct dma_resv *r,
				     enum dma_resv_usage usage);
void sched_job_arm(struct sched_job *job);
void sched_entity_push_job(struct sched_job *job);
void sched_entity_push_jobs(struct sched_job *const *jobs, unsigned n);
void sched_job_abandon(struct sched_job *job);
void sched_entity_suspend(struct sched_entity *e);
void sched_entity_resume(struct sched_entity *e, struct dma_fence *barrier);
unsigned sched_entity_queued(struct sched_entity *e);
void sched_entity_wait_idle(struct sched_entity *e);
/* called by the GPU when a job's hardware fence signalled */
void sched_job_done(struct sched_job *job);
extern atomic_ullong sched_timeouts;

void gpu_init(void);
void gpu_fini(void);
void gpu_submit(struct sched_job *job);
void gpu_wait_vm_idle(struct gpu_vm *vm);
extern atomic_ullong gpu_jobs_run;

/* ---- GEM objects, LRU, eviction (bo.c) --------------------------------- */

struct dma_buf_attachment;

struct dma_buf_attach_ops {
	void (*move_notify)(struct dma_buf_attachment *attach);
};

struct dma_buf_attachment {
	struct gem_object *obj;
	struct gpu_vm *importer;
	const struct dma_buf_attach_ops *ops;
	struct list_head link; /* obj->attachments, obj resv */
};

struct gem_object {
	int id;
	struct dma_resv *resv; /* &own_resv, or the VM's for local objects */
	struct dma_resv own_resv;
	struct gpu_vm *vm;     /* local objects: the VM whose resv they share */
	bool exported;
	unsigned npages;
	struct pte *pages;     /* obj resv */
	bool resident;         /* obj resv */
	struct list_head vm_bo_list;  /* gpuva list, obj resv */
	struct list_head attachments; /* dma-buf importers, obj resv */
	struct list_head lru;  /* lru_lock */
	bool on_lru;
	atomic_int pin_count;
};

void bo_init_lru(void);
struct gem_object *bo_create(int id, unsigned npages, struct gpu_vm *local_vm);
void bo_destroy(struct gem_object *obj);
/* obj resv held; may allocate and run direct reclaim */
void bo_validate(struct gem_object *obj);
/* obj resv held: queue an eviction job (its fence published in the resv)
 * that frees the pages once the GPU is done; tell every gpu_vm_bo */
void bo_evict(struct gem_object *obj);
void evict_init(void);
void evict_fini(void);
extern atomic_ullong evictions_done;
void bo_lru_bump(struct gem_object *obj);
void bo_lru_del(struct gem_object *obj);
/* the LRU's next victim, off the LRU, its resv trylocked (or not, for
 * blocking-resv-in-shrinker) */
struct gem_object *bo_lru_pick(bool trylock);
void bo_attach(struct gem_object *obj, struct gpu_vm *importer);

/* ---- shrinker (shrinker.c) ------------------------------------------- */

/* evicts up to nr objects from the LRU; runs as reclaim */
unsigned shrinker_scan(unsigned nr, bool direct);
void direct_reclaim(void);
extern atomic_ullong shrinker_evictions;

/* ---- gpu_vm, gpu_vm_bo, gpu_vma (vm.c) --------------------------------- */

struct gpu_vm_bo {
	struct gpu_vm *vm;
	struct gem_object *obj;
	bool evicted;               /* obj resv */
	struct list_head obj_link;  /* obj->vm_bo_list, obj resv */
	struct list_head evict_link; /* vm->evict_list: VM resv + list_lock */
	struct list_head extobj_link; /* vm->extobj_list: list_lock */
	struct list_head vmas;      /* gpu_vm->lock + obj resv */
	unsigned nvmas;
};

struct gpu_vma {
	struct gpu_vm *vm;
	struct gpu_vm_bo *vm_bo; /* NULL for userptr */
	unsigned slot;
	unsigned npages;
	/* the first exec job (of the VM's exec timeline) that may use it */
	uint64_t first_exec;
	atomic_int refcount;
	struct list_head vm_link;     /* vm->vmas, gpu_vm->lock */
	struct list_head bo_link;     /* vm_bo->vmas */
	struct list_head rebind_link; /* vm->rebind_list, VM resv */
	/* userptr */
	bool userptr;
	struct mm_range *range;
	struct mmu_interval_notifier notifier;
	unsigned long saved_seq;      /* gpu_vm->lock */
	struct pte *pinned;           /* gpu_vm->lock */
	struct list_head userptr_link;     /* vm->userptr_list, gpu_vm->lock */
	struct list_head invalidated_link; /* vm->invalidated_list, invalidated_lock */
	/* GPU-side page table: touched only by the GPU thread */
	struct pte *gpu_ptes;
	bool gpu_mapped;
	struct list_head gpu_link;
};

struct gpu_vm {
	int id;
	pthread_rwlock_t lock;  /* "gpu_vm->lock": writer-fair rwsem, outermost */
	struct gem_object *root; /* owns the VM resv; local objects share it */
	pthread_rwlock_t userptr_notifier_lock;
	/* each spinlock in eight bytes of its own: fencedep's per-thread cache
	 * of lock instances has a slot per eight-byte unit, so two four-byte
	 * locks side by side would take each other's slot at every alternation
	 * (a lookup in the shared table each time: cost, no change in what is
	 * checked) */
	_Alignas(8) pthread_spinlock_t list_lock;        /* evict and extobj lists */
	_Alignas(8) pthread_spinlock_t invalidated_lock; /* userptr invalidated list */
	struct list_head vmas;
	struct list_head rebind_list;
	struct list_head evict_list;
	struct list_head extobj_list;
	struct list_head userptr_list;
	struct list_head invalidated_list;
	struct mm_struct *mm;
	struct sched_entity exec_entity;
	struct sched_entity bind_entity;
	/* long-running mode */
	bool long_running;
	struct dma_fence *preempt_fence; /* VM resv */
	uint64_t preempt_context;
	atomic_ullong preempt_seqno;
	/* GPU side */
	struct list_head gpu_mapped; /* GPU thread only */
	atomic_int gpu_running;
	/* the client's operations, the notifier's write section */
	struct vmb_gate client_gate;
	struct vmb_gate notifier_gate;
};

struct gpu_vm *vm_create(int id, struct mm_struct *mm, bool long_running);
void vm_destroy(struct gpu_vm *vm);
void vm_free(struct gpu_vm *vm);
struct gpu_vma *vm_bind_bo(struct gpu_vm *vm, struct gem_object *obj, unsigned slot, bool sync);
struct gpu_vma *vm_bind_userptr(struct gpu_vm *vm, struct mm_range *range, unsigned slot);
void vm_unbind(struct gpu_vma *vma, bool sync);
void vma_put(struct gpu_vma *vma);
void vm_userptr_repin(struct gpu_vm *vm);
bool vm_userptr_invalidated(struct gpu_vm *vm);
void vm_bo_add_evicted(struct gpu_vm_bo *vm_bo);
void vm_bo_mark_evicted(struct gpu_vm_bo *vm_bo);
void vm_migrate_imported(struct gem_object *obj);
void vm_add_extobj(struct gpu_vm *vm, struct gpu_vm_bo *vm_bo);
extern const struct dma_buf_attach_ops vm_importer_ops;

/* ---- exec (exec.c) and long-running mode (preempt.c) ------------------- */

int vm_exec(struct gpu_vm *vm, struct dma_fence **out);
void vm_idle(struct gpu_vm *vm);

void preempt_init(void);
void preempt_fini(void);
struct dma_fence *preempt_fence_create(struct gpu_vm *vm);
extern atomic_ullong preempt_count;

/* ---- statistics ------------------------------------------------------ */

extern atomic_ullong stat_repins;
extern atomic_ullong stat_backoffs; /* -EDEADLK returned, real or injected */
extern atomic_ullong stat_invalidations;

#endif /* VMBIND_H */
