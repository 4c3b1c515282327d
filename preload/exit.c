/*
 * exit.c - a process that ends by _exit(), _Exit() or quick_exit() skips
 * the destructors, where the runtime writes its last report and sets the
 * exit status of a process that reported something (init.c).  A CI gate
 * would then pass a program that reported a deadlock and left by _exit(0).
 * So these end through the same pass: the last JSON write and statistics,
 * then the status (`exitcode` after a finding), without the checks of what
 * an orderly exit must not leave behind (init.c).  Nothing is flushed that
 * the program did not flush: _exit() leaves stdio alone, and so does this.
 * quick_exit() calls the C library's _exit() from inside it, which no
 * interposer sees: a handler registered with at_quick_exit() first, so that
 * it runs last, takes that path instead.
 */
#include <stdlib.h>
#include <unistd.h>

#include "preload.h"
#include "rawsys.h"

/* The end of the process, without libc's _exit(), which is the interposer
 * itself to every caller in this library. */
static _Noreturn void exit_now(int status)
{
	for (;;) {
#ifdef RT_RAW_SYSCALL
		rt_syscall6(SYS_exit_group, status, 0, 0, 0, 0, 0);
		rt_syscall6(SYS_exit, status, 0, 0, 0, 0, 0);
#else
		syscall(SYS_exit_group, status);
		syscall(SYS_exit, status);
#endif
	}
}

RT_EXPORT _Noreturn void _exit(int status)
{
	exit_now(rt_exit_status(status, false));
}

RT_EXPORT _Noreturn void _Exit(int status)
{
	exit_now(rt_exit_status(status, false));
}

/* Last of the quick_exit() handlers: registered before the program's. */
static void quick_exit_pass(void)
{
	int s = rt_exit_status(-1, false);

	if (s >= 0)
		exit_now(s);
}

/* after the runtime's own constructor (init.c), before the program's */
__attribute__((constructor(102))) static void exit_init(void)
{
	at_quick_exit(quick_exit_pass);
}
