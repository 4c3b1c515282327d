/*
 * bugs.c - the catalogue of injectable locking mistakes.
 *
 * Each entry reproduces one real driver mistake; the code that makes it is
 * next to the correct code, under vmb_bug(), so a reader sees both.  The
 * expected report is the checker's finding kind (fencedep(7)), or the
 * model's own stale-page error for a race no lock order reveals.
 */
#include <string.h>

#include "vmbind.h"

enum vmb_bug vmb_active_bug = BUG_NONE;

const struct vmb_bug_desc vmb_bugs[BUG_COUNT] = {
#define BUG(id, n, m, e, r, ...) \
	[id] = { .name = n, .mistake = m, .expect = e, .rule = r, __VA_ARGS__ }
	BUG(BUG_NONE, "none", "no mistake", "nothing", ""),
	BUG(BUG_GUP_UNDER_RESV, "gup-under-resv",
	    "get_user_pages (mmap_lock) inside exec after locking the VM resv",
	    "lock-order-inversion", "mmap_lock is taken before any dma_resv: no GUP under a resv"),
	BUG(BUG_RESV_IN_NOTIFIER, "resv-in-notifier", "the userptr notifier locks the VM resv",
	    "reclaim-lock-inversion",
	    "the notifier may run from reclaim: it takes no dma_resv (their holders allocate)"),
	BUG(BUG_VM_LOCK_IN_NOTIFIER, "vm-lock-in-notifier", "the userptr notifier takes gpu_vm->lock",
	    "reclaim-lock-inversion",
	    "the notifier takes no gpu_vm->lock (its holders allocate and call read_begin)",
	    .gated = true),
	BUG(BUG_ALLOC_IN_RUN_JOB, "alloc-in-run-job",
	    "the scheduler's run_job allocates the hardware fence", "alloc-in-signalling-path",
	    "no GFP_KERNEL allocation on a signalling path: reclaim may wait for the fence"),
	BUG(BUG_LATE_RESERVE_FENCES, "late-reserve-fences",
	    "fence slots reserved after the job fence is published", "alloc-in-signalling-path",
	    "dma_resv_reserve_fences allocates: it belongs before the fence is published"),
	BUG(BUG_LATE_BEGIN_SIGNALLING, "late-begin-signalling",
	    "the annotated section starts after an allocation that follows publication",
	    "alloc-in-signalling-path",
	    "the signalling path runs from the fence's publication, whatever is annotated"),
	BUG(BUG_RESV_IN_RUN_JOB, "resv-in-run-job", "run_job locks a BO's resv to unpin it",
	    "fence-lock-inversion",
	    "dma_fence_wait is allowed under dma_resv_lock: the path that signals takes no resv"),
	BUG(BUG_NOTIFIER_LOCK_IN_RUN_JOB, "notifier-lock-in-run-job",
	    "a bind job takes userptr_notifier_lock while the notifier waits for fences under it",
	    "fence-lock-inversion",
	    "the notifier waits for the VM's fences holding userptr_notifier_lock in write mode",
	    .gated = true),
	BUG(BUG_ALLOC_UNDER_NOTIFIER_LOCK, "alloc-under-notifier-lock",
	    "allocating while holding userptr_notifier_lock", "reclaim-lock-inversion",
	    "reclaim/mmu_notifier comes before userptr_notifier_lock: no allocation under it"),
	BUG(BUG_BLOCKING_RESV_IN_SHRINKER, "blocking-resv-in-shrinker",
	    "the shrinker blocks on a resv instead of trylocking", "reclaim-lock-inversion",
	    "a shrinker only trylocks a dma_resv: the resv holders allocate"),
	BUG(BUG_PREEMPT_FENCE_TAKES_VM_LOCK, "preempt-fence-takes-vm-lock",
	    "the preempt-fence worker of a long-running VM takes gpu_vm->lock",
	    "fence-lock-inversion",
	    "a preempt fence is a dma_fence: signalling it takes no lock held while waiting",
	    .gated = true),
	BUG(BUG_MOVE_NOTIFY_TAKES_VM_LOCK, "move-notify-takes-vm-lock",
	    "the importer's move_notify takes its gpu_vm->lock under the exporter's resv",
	    "lock-order-inversion", "gpu_vm->lock is outermost: never taken under a dma_resv"),
	BUG(BUG_RESV_UNDER_SPINLOCK, "resv-under-spinlock",
	    "a resv locked under the evict-list spinlock", "invalid-wait-context",
	    "list spinlocks are innermost: no sleeping lock under them (still_in_list walk)"),
	BUG(BUG_IGNORE_EDEADLK, "ignore-edeadlk", "the transaction keeps locking after -EDEADLK",
	    "ww-protocol-violation",
	    "on -EDEADLK drop every lock of the context, then lock the contended one first"),
	BUG(BUG_UNLOCKED_USERPTR_LIST, "unlocked-userptr-list",
	    "the invalidated userptr list walked without gpu_vm->lock", "assertion-failed",
	    "the userptr list and the repin loop are protected by gpu_vm->lock"),
	BUG(BUG_EXTOBJ_EVICT_NO_RESV, "extobj-evict-no-resv",
	    "external-object eviction puts the vm_bo on the VM's evict list without the VM resv",
	    "assertion-failed",
	    "the VM's evict list is protected by the VM resv: external eviction only flags"),
	BUG(BUG_UNLOCKED_SEQ_CHECK, "unlocked-seq-check",
	    "the final userptr sequence check done without userptr_notifier_lock",
	    "assertion-failed",
	    "the final seq check and fence publication are atomic under userptr_notifier_lock"),
	BUG(BUG_ALLOC_IN_SCHED_MAIN, "alloc-in-sched-main",
	    "the scheduler's main loop allocates between taking a job and calling run_job",
	    "alloc-in-signalling-path",
	    "the whole drm_sched main loop is a signalling section: it does not allocate"),
	BUG(BUG_ALLOC_IN_NOTIFIER, "alloc-in-notifier",
	    "the userptr invalidation callback allocates", "reclaim-lock-inversion",
	    "reclaim waits for mmu notifiers: an invalidation callback does not allocate"),
	BUG(BUG_READ_BEGIN_IN_RUN_JOB, "read-begin-in-run-job",
	    "run_job calls mmu_interval_read_begin, which waits for invalidations that wait for fences",
	    "fence-lock-inversion",
	    "invalidations wait for fences: read_begin (which waits for them) is not on a signalling path"),
	BUG(BUG_MUTEX_IN_FENCE_CALLBACK, "mutex-in-fence-callback",
	    "a fence callback (atomic context in the kernel) takes a sleeping mutex",
	    "invalid-wait-context",
	    "fence callbacks run under the fence's spinlock: they must not sleep"),
	BUG(BUG_BIND_EXEC_FENCE_CYCLE, "bind-exec-fence-cycle",
	    "a bind job waits for an exec job's fence while that job depends on the bind fence",
	    "fence-lock-inversion",
	    "exec jobs wait for the binds that map their memory: a bind waits for no exec fence"),
	BUG(BUG_ALLOC_IN_EVICT_JOB, "alloc-in-evict-job",
	    "the eviction job allocates after its eviction fence is published",
	    "alloc-in-signalling-path",
	    "an eviction fence is a dma_fence: its job allocates nothing once it is published"),
#undef BUG
};

int vmb_bug_lookup(const char *name)
{
	for (int i = 1; i < BUG_COUNT; i++) {
		if (!strcmp(vmb_bugs[i].name, name))
			return i;
	}
	return -1;
}

/*
 * A gate lets an injected mistake block where it can deadlock without the
 * run deadlocking: the side that makes the mistake closes the gate, which
 * parks the other side between two operations, holding nothing.  The
 * blocking acquisition the checker must see then happens for real, and the
 * deadlock it makes possible stays a prediction.  The gate is two atomic
 * flags (Dekker-style), invisible to the checker; while no mistake is
 * injected no one closes it.
 */
void vmb_gate_enter(struct vmb_gate *g)
{
	for (;;) {
		atomic_store(&g->busy, 1);
		if (!atomic_load(&g->pause))
			return;
		atomic_store(&g->busy, 0);
		while (atomic_load(&g->pause))
			vmb_sleep_us(20);
	}
}

void vmb_gate_exit(struct vmb_gate *g)
{
	atomic_store(&g->busy, 0);
}

/* Waits up to 5 ms for the other side to park; false if it did not (it
 * may be waiting for the caller). */
atomic_ullong vmb_gated_hits;

bool vmb_gate_close(struct vmb_gate *g)
{
	atomic_store(&g->pause, 1);
	for (int i = 0; i < 250; i++) {
		if (!atomic_load(&g->busy)) {
			atomic_fetch_add(&vmb_gated_hits, 1);
			return true;
		}
		vmb_sleep_us(20);
	}
	atomic_store(&g->pause, 0);
	return false;
}

void vmb_gate_open(struct vmb_gate *g)
{
	atomic_store(&g->pause, 0);
}
