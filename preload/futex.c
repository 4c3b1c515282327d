/*
 * futex.c - a program's own futexes, behind futex=1 (fencedep(7), "Waits
 * and events"): syscall(SYS_futex, word, FUTEX_WAIT, ...) with no timeout
 * is a wait for the word's event (held -> event), FUTEX_WAKE on the word
 * its signal (event -> what the waker holds, less what it held already at
 * its own last wait for the word: a word used as a lock).  The bitset
 * variants are the same; requeue and priority-inheritance operations are
 * passed through unseen, as are futexes made without syscall() (inline
 * code, libgomp, Rust, Go).
 *
 * syscall() itself goes straight to the kernel (rawsys.h), and the
 * runtime's own system calls never come here.
 */
#include <linux/futex.h>
#include <stdarg.h>

#include "preload.h"
#include "rawsys.h"

#ifdef RT_RAW_SYSCALL

static void futex_wait(const void *word, uintptr_t ip)
{
	struct rt_thread *t = thread_peek();

	if (likely(t) && !t->depth && !t->nctx)
		return;
	if (!(t = thread_enter()))
		return;
	if ((t->depth || t->nctx) && !event_wait_own(t, word))
		event_wait(t, event_class(t, word, IT_EVENT, ip), ip);
	if (t->depth)
		event_waited(t, word, false);
	thread_leave();
}

static void futex_wake(const void *word, uintptr_t ip)
{
	struct rt_thread *t = thread_peek();

	if (likely(t) && !t->depth)
		return;
	if (!(t = thread_enter()))
		return;
	uint32_t skip = event_signal_skip(t, word, false);
	event_signal(t, t->depth > skip ? event_class(t, word, IT_EVENT, ip) : NULL, word, skip,
		     ip);
	thread_leave();
}

RT_EXPORT long syscall(long n, ...)
{
	va_list ap;

	va_start(ap, n);
	long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long);
	long d = va_arg(ap, long), e = va_arg(ap, long), f = va_arg(ap, long);
	va_end(ap);
	if (n == SYS_futex && unlikely(rt_opt.futex) && !tls_busy) {
		int cmd = (int)b & FUTEX_CMD_MASK;
		/* a timed wait cannot block forever: it records nothing */
		if ((cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET) && !d)
			futex_wait((const void *)a, RT_CALLER);
		else if (cmd == FUTEX_WAKE || cmd == FUTEX_WAKE_BITSET)
			futex_wake((const void *)a, RT_CALLER);
	}
	return rt_syscall6(n, a, b, c, d, e, f);
}

#endif
