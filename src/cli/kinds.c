/*
 * kinds.c - titles and help for each finding kind (see kinds.h).
 */
#include "kinds.h"

#include <string.h>

const struct kind_info kind_table[] = {
	{ "lock-order-inversion", "possible circular locking dependency",
	  "Two or more locks are taken in opposite orders on different paths: "
	  "threads running those paths at once can deadlock.",
	  "error",
	  "Take the locks in one order everywhere (document it, or nest them "
	  "under one outer lock), or release the first before taking the second." },
	{ "alloc-in-signalling-path", "memory allocation on a fence signalling path",
	  "Memory is allocated where a published fence must still be signalled, "
	  "while memory reclaim may wait for that fence.",
	  "error",
	  "Allocate before publishing the fence (reserve ahead), or allocate "
	  "without reclaim (GFP_NOWAIT, a mempool)." },
	{ "fence-lock-inversion",
	  "lock taken on a fence signalling path is held while waiting for a fence",
	  "A lock is taken on the path that signals a fence, and elsewhere held while "
	  "waiting for such a fence.",
	  "error",
	  "Do not take the lock on the signalling path, or do not wait for fences "
	  "while holding it." },
	{ "reclaim-lock-inversion", "lock held across allocation is taken in reclaim",
	  "A lock held while allocating memory is also taken by reclaim (a shrinker "
	  "or notifier), which the allocation may enter.",
	  "error",
	  "Allocate outside the lock (or without reclaim), or only trylock it in "
	  "reclaim." },
	{ "recursive-locking", "possible recursive locking",
	  "A class already held is acquired again without a subclass or nest lock.",
	  "error",
	  "If these are two different locks of one class, give the inner one a "
	  "subclass or take both under a nest lock; if it is the same lock, do not "
	  "take it again (or make it recursive)." },
	{ "fence-self-wait", "waiting for a fence on its own signalling path",
	  "The waiter must itself signal the fence it waits for: it waits forever.",
	  "error",
	  "Wait outside the signalling section, or hand the signalling to another "
	  "thread." },
	{ "unpublished-fence-wait", "waiting for a fence that was never published",
	  "Nothing has promised to signal this fence yet (a future fence).",
	  "error",
	  "Publish the fence (commit to signalling it) before anyone waits for it." },
	{ "fence-double-signal", "fence signalled twice",
	  "A fence was signalled a second time.", "warning",
	  "Signal each fence once: check who else signals it (a timeout, an error "
	  "path)." },
	{ "fence-never-signalled", "published fence never signalled",
	  "A published fence was still unsignalled when the process exited.",
	  "warning",
	  "Signal every published fence, with an error status on failure paths." },
	{ "invalid-wait-context", "blocking in an atomic context",
	  "A sleeping lock, fence wait or reclaiming allocation under a spinlock or "
	  "no-block section.",
	  "error",
	  "Move the blocking call out of the spinlock or no-block section, or use "
	  "a non-blocking form (trylock, GFP_ATOMIC)." },
	{ "ww-protocol-violation", "wound/wait protocol violation",
	  "Locking on after -EDEADLK without backing off, slow-locking the wrong "
	  "lock, or a missing fini.",
	  "error",
	  "On -EDEADLK release every lock of the context, slow-lock the contended "
	  "one, then retake the rest; end every context with fini." },
	{ "bad-unlock-balance", "bad unlock balance",
	  "Releasing a lock this thread does not hold.", "warning",
	  "Release only what this thread took, once; a lock handed to another "
	  "thread needs a lock that allows it (a semaphore)." },
	{ "held-lock-freed", "held lock freed",
	  "Memory holding a held lock was freed, unmapped or destroyed.", "error",
	  "Release the lock before freeing or destroying what holds it." },
	{ "lock-held-at-thread-exit", "lock held when the thread exited",
	  "A thread ended holding locks.", "warning",
	  "Release the lock on every path out of the thread, including "
	  "pthread_exit() and cancellation (a cleanup handler)." },
	{ "assertion-failed", "lock assertion failed",
	  "fdep_assert_held() or fdep_assert_not_held() failed.", "error",
	  "Take (or release) the lock the assertion names before this point, or "
	  "correct the assertion." },
	{ "hang", "a tracked wait did not finish",
	  "A wait lasted longer than the watchdog allows.", "error",
	  "Read the state dump: which thread holds what the waiter needs, and what "
	  "that thread waits for." },
	{ "signal-unsafe-lock", "inconsistent lock state: lock taken in a signal handler",
	  "A lock taken in a signal handler is also taken, or held while taking "
	  "another, where that signal is deliverable: the signal arriving there runs "
	  "a handler that waits for its own thread.",
	  "error",
	  "Block the signal around the lock, or do only async-signal-safe work in "
	  "the handler." },
	{ "signal-unsafe-call", "call not async-signal-safe in a signal handler",
	  "A signal handler allocates or calls another function POSIX does not list "
	  "as async-signal-safe.",
	  "error",
	  "Set a flag or post a semaphore in the handler and do the work elsewhere." },
	{ "event-lock-inversion",
	  "lock held while waiting for an event whose signaller needs it",
	  "A thread holds a lock while it waits for an event (a condition variable, "
	  "a semaphore, a thread's exit, a barrier, a once routine) that the thread "
	  "making it happen can only reach by taking that lock.",
	  "error",
	  "Release the lock before waiting, or signal without it." },
};

const size_t kind_count = sizeof(kind_table) / sizeof(kind_table[0]);

const struct kind_info *kind_lookup(const char *kind)
{
	size_t i;

	for (i = 0; i < kind_count; i++)
		if (!strcmp(kind_table[i].kind, kind))
			return &kind_table[i];
	return NULL;
}
