/*
 * explain.h - the paragraph a text report prints under a finding's first
 * lines, by kind name: one text for the runtime's report and for
 * `fencedep report`'s, which lay a finding out the same way.
 */
#ifndef FDEP_EXPLAIN_H
#define FDEP_EXPLAIN_H

#include <stddef.h>
#include <string.h>

/* Lines after the first are indented by two spaces; NULL: none. */
static inline const char *kind_explanation(const char *kind)
{
	static const struct {
		const char *kind, *text;
	} texts[] = {
		{ "alloc-in-signalling-path",
		  "memory is allocated on the path that must run for a published fence to\n"
		  "  signal; the allocation may enter reclaim, and reclaim (a shrinker, an mmu\n"
		  "  notifier) may wait for that very fence, so neither can finish." },
		{ "fence-lock-inversion",
		  "a lock taken on a fence's signalling path is also held while waiting for\n"
		  "  fences of that class: the waiter holds what the signaller needs." },
		{ "reclaim-lock-inversion",
		  "a lock held across an allocation is also taken in reclaim: the allocation\n"
		  "  may enter reclaim, which then waits for the lock its own caller holds." },
		{ "signal-unsafe-lock",
		  "a lock is taken in a signal handler, and is also taken (or held) where\n"
		  "  that signal can arrive - lockdep's inconsistent lock state: if the signal\n"
		  "  lands on a thread that holds the lock, the handler waits for a lock its own\n"
		  "  thread holds, and that thread never runs again." },
		{ "signal-unsafe-call",
		  "a signal handler called a function that POSIX does not list as\n"
		  "  async-signal-safe: if the signal interrupted that function's own work (the\n"
		  "  allocator holding its arena lock), the handler deadlocks or corrupts it." },
		{ "event-lock-inversion",
		  "a thread waits for an event (a condition variable, a semaphore, a thread's\n"
		  "  exit, a barrier, a once routine) while holding a lock that the thread\n"
		  "  which makes the event happen needs first: neither can go on." },
		{ "lock-order-inversion",
		  "these locks are taken in opposite orders by different code paths; two\n"
		  "  threads running them at once can each hold what the other waits for." },
	};

	for (size_t i = 0; kind && i < sizeof(texts) / sizeof(texts[0]); i++)
		if (!strcmp(texts[i].kind, kind))
			return texts[i].text;
	return NULL;
}

#endif
