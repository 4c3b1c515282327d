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
	[BUG_NONE] = { "none", "no mistake", "nothing" },
	[BUG_GUP_UNDER_RESV] = { "gup-under-resv",
		"get_user_pages (mmap_lock) inside exec after locking the VM resv",
		"lock-order-inversion" },
	[BUG_RESV_IN_NOTIFIER] = { "resv-in-notifier",
		"the userptr notifier locks the VM resv", "reclaim-lock-inversion" },
	[BUG_VM_LOCK_IN_NOTIFIER] = { "vm-lock-in-notifier",
		"the userptr notifier takes gpu_vm->lock", "reclaim-lock-inversion", true },
	[BUG_ALLOC_IN_RUN_JOB] = { "alloc-in-run-job",
		"the scheduler's run_job allocates the hardware fence",
		"alloc-in-signalling-path" },
	[BUG_LATE_RESERVE_FENCES] = { "late-reserve-fences",
		"fence slots reserved after the job fence is published",
		"alloc-in-signalling-path" },
	[BUG_LATE_BEGIN_SIGNALLING] = { "late-begin-signalling",
		"the annotated section starts after an allocation that follows publication",
		"alloc-in-signalling-path" },
	[BUG_RESV_IN_RUN_JOB] = { "resv-in-run-job",
		"run_job locks a BO's resv to unpin it", "fence-lock-inversion" },
	[BUG_NOTIFIER_LOCK_IN_RUN_JOB] = { "notifier-lock-in-run-job",
		"a bind job takes userptr_notifier_lock while the notifier waits for fences under it",
		"fence-lock-inversion", true },
	[BUG_ALLOC_UNDER_NOTIFIER_LOCK] = { "alloc-under-notifier-lock",
		"allocating while holding userptr_notifier_lock", "reclaim-lock-inversion" },
	[BUG_BLOCKING_RESV_IN_SHRINKER] = { "blocking-resv-in-shrinker",
		"the shrinker blocks on a resv instead of trylocking", "reclaim-lock-inversion" },
	[BUG_PREEMPT_FENCE_TAKES_VM_LOCK] = { "preempt-fence-takes-vm-lock",
		"the preempt-fence worker of a long-running VM takes gpu_vm->lock",
		"fence-lock-inversion", true },
	[BUG_MOVE_NOTIFY_TAKES_VM_LOCK] = { "move-notify-takes-vm-lock",
		"the importer's move_notify takes its gpu_vm->lock under the exporter's resv",
		"lock-order-inversion" },
	[BUG_RESV_UNDER_SPINLOCK] = { "resv-under-spinlock",
		"a resv locked under the evict-list spinlock", "invalid-wait-context" },
	[BUG_IGNORE_EDEADLK] = { "ignore-edeadlk",
		"the transaction keeps locking after -EDEADLK", "ww-protocol-violation" },
	[BUG_UNLOCKED_USERPTR_LIST] = { "unlocked-userptr-list",
		"the invalidated userptr list walked without gpu_vm->lock", "assertion-failed" },
	[BUG_EXTOBJ_EVICT_NO_RESV] = { "extobj-evict-no-resv",
		"external-object eviction puts the vm_bo on the VM's evict list without the VM resv",
		"assertion-failed" },
	[BUG_UNLOCKED_SEQ_CHECK] = { "unlocked-seq-check",
		"the final userptr sequence check done without userptr_notifier_lock",
		"stale-page" },
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
