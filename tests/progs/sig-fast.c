/*
 * sig-fast - a signal handler that interrupts a mutex lock call where the
 * runtime pushes the held entry.
 *
 *   sig-fast inside    the signal comes in the middle of the interposed
 *                      pthread_mutex_lock, before the real lock: the
 *                      handler runs unchecked, as one that interrupts the
 *                      runtime (silent)
 *   sig-fast outside   the same signal comes while the thread is elsewhere:
 *                      the handler's lock, also taken with the signal
 *                      deliverable, is signal-unsafe-lock
 *
 * A child process does the locking; this process single-steps it with
 * ptrace into the lock call and sends the signal from there.  It exits
 * with the child's status.  Exit 77: the interrupted address cannot be
 * read on this architecture.
 */
#include <dlfcn.h>
#include <elf.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

/* Instructions of the lock call to run before the signal: past the
 * thread's checks, in the middle of the push. */
#define INSIDE_STEPS 25
#define STEP_LIMIT 200000

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t h = PTHREAD_MUTEX_INITIALIZER;
static volatile sig_atomic_t handled;

static void on_usr2(int sig)
{
	(void)sig;
	pthread_mutex_lock(&h);
	handled++;
	pthread_mutex_unlock(&h);
}

static void child(const char *mode)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR2, &sa, NULL))
		_exit(3);
	/* h taken with SIGUSR2 deliverable */
	pthread_mutex_lock(&h);
	pthread_mutex_unlock(&h);
	/* a's lock call on its fast path from now on */
	for (int i = 0; i < 3; i++) {
		pthread_mutex_lock(&a);
		pthread_mutex_unlock(&a);
	}
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
		_exit(4);
	raise(SIGSTOP);
	pthread_mutex_lock(&a);
	pthread_mutex_unlock(&a);
	printf("%s handled %d\n", mode, (int)handled);
	fflush(stdout);
	exit(0);
}

static int pc_of(pid_t pid, uintptr_t *pc)
{
#if defined(__x86_64__)
	struct user_regs_struct regs;
	if (ptrace(PTRACE_GETREGS, pid, NULL, &regs))
		return -1;
	*pc = (uintptr_t)regs.rip;
	return 0;
#elif defined(__aarch64__)
	struct user_pt_regs regs;
	struct iovec iov = { .iov_base = &regs, .iov_len = sizeof(regs) };
	if (ptrace(PTRACE_GETREGSET, pid, (void *)NT_PRSTATUS, &iov))
		return -1;
	*pc = (uintptr_t)regs.pc;
	return 0;
#else
	(void)pid;
	(void)pc;
	return -1;
#endif
}

int main(int argc, char **argv)
{
	const char *mode = argc == 2 ? argv[1] : "";
	int st;

	if (strcmp(mode, "inside") && strcmp(mode, "outside")) {
		fprintf(stderr, "usage: sig-fast inside|outside\n");
		return 2;
	}
	/* the interposed lock call, whose code the child runs */
	uintptr_t fn = (uintptr_t)dlsym(RTLD_DEFAULT, "pthread_mutex_lock");
	uintptr_t pc;
#if !defined(__x86_64__) && !defined(__aarch64__)
	return 77;
#endif
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return 5;
	if (pid == 0)
		child(mode);
	if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st)) {
		fprintf(stderr, "sig-fast: the child did not stop\n");
		return 6;
	}
	if (!strcmp(mode, "inside")) {
		int inside = 0;
		for (int n = 0; inside < INSIDE_STEPS; n++) {
			if (n == STEP_LIMIT || ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL) ||
			    waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st) || pc_of(pid, &pc)) {
				fprintf(stderr, "sig-fast: stepping into the lock call failed\n");
				kill(pid, SIGKILL);
				return 7;
			}
			if (pc >= fn && pc < fn + 0x100)
				inside++;
			else if (inside)
				break; /* left the call: too short for the test */
		}
		if (inside < INSIDE_STEPS) {
			fprintf(stderr, "sig-fast: the lock call ended after %d steps\n", inside);
			kill(pid, SIGKILL);
			return 8;
		}
	}
	/* the signal, delivered where the child stands */
	if (ptrace(PTRACE_DETACH, pid, NULL, (void *)(uintptr_t)SIGUSR2))
		return 9;
	if (waitpid(pid, &st, 0) != pid)
		return 10;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
