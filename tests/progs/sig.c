/*
 * sig - signal handlers and the locks they take (fencedep(7), "Signal
 * handlers").  Each mode prints one line and exits 0 natively.
 *
 *   direct            a SIGUSR2 handler takes L; main takes L with SIGUSR2
 *                     deliverable (before the handler first runs)
 *   direct-late       the same, main taking L after the handler ran
 *   blocked           clean twin: main blocks SIGUSR2 around L
 *   indirect          the handler takes L; a thread with SIGUSR2 blocked
 *                     holds L while taking M; main takes M with SIGUSR2
 *                     deliverable
 *   indirect-blocked  clean twin: main takes M with SIGUSR2 blocked
 *   inherit           clean: a thread created with SIGUSR2 blocked (by
 *                     inheritance) takes L; the handler takes L
 *   flag              clean: handlers set a volatile sig_atomic_t or post a
 *                     semaphore (and write), while main locks and allocates
 *   sigwait           clean: SIGUSR2 blocked everywhere and consumed by a
 *                     thread in sigwait, which then takes L, as main does;
 *                     a handler that takes L is installed but never runs
 *   segv              clean: a SIGSEGV handler siglongjmps out of faults,
 *                     between locks taken in one order; main allocates
 *                     after (nothing of the handler is left)
 *   sigsuspend        clean: SIGUSR2 is blocked but while main waits in
 *                     sigsuspend(), where the handler runs and takes L; main
 *                     takes L between waits (a daemon's safe pattern)
 *   nested            a SIGWINCH handler, running on top of a SIGUSR2
 *                     handler that holds M, takes L; main takes L with
 *                     SIGWINCH deliverable: signal-unsafe-lock
 *   escape            clean: a handler leaves by setcontext(), which the
 *                     runtime does not interpose; main then allocates
 *   malloc            a SIGUSR2 handler allocates: signal-unsafe-call
 *   free              a SIGUSR2 handler frees a block main allocated, and
 *                     allocates nothing: signal-unsafe-call
 *   free-heaplock     the same, with a mutex alive in heap memory (free()
 *                     looks at every block then): signal-unsafe-call
 *   longjmp-busy      a SIGALRM handler siglongjmps out of a thread blocked
 *                     in pthread_mutex_lock; the thread then takes A, B in
 *                     the opposite order to another thread: one inversion
 *   vfork             a vfork() child resets SIGUSR2 to SIG_DFL before it
 *                     exits, as Python's subprocess does before exec: the
 *                     parent's handler still runs
 *   usr1              SIGUSR1 (the runtime's dump_signal) looks as it does
 *                     natively: SIG_DFL, then the program's own handler
 *   usr1-dump         the program's SIGUSR1 handler and then SIG_DFL again:
 *                     under the runtime, raise(SIGUSR1) dumps its state
 *   longjmp-linger    the same jump (after 1 s), then 6 s of sleep: under a
 *                     3 s watchdog, the abandoned wait is no hang
 *   late-elsewhere    main takes L alone, then thousands of chains of a few
 *                     locks, which push L's chain out of its chain cache
 *                     (not L out of its instance cache); a thread installs
 *                     a handler that takes L and raises; main then takes L
 *                     with SIGUSR2 deliverable: signal-unsafe-lock (main
 *                     learns of the handler on that lock, whose chain its
 *                     cache no longer has)
 *   late-elsewhere-blocked  clean twin: main has SIGUSR2 blocked
 *   api               the program sees its own handlers: old handlers,
 *                     signal(), SA_SIGINFO, SA_RESETHAND, SA_NODEFER,
 *                     SIG_IGN, SIG_DFL
 */
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

static pthread_mutex_t L = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t M = PTHREAD_MUTEX_INITIALIZER;
static volatile sig_atomic_t hits;
static sem_t sem;

static void install(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static void block(int sig, int how)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, sig);
	pthread_sigmask(how, &s, NULL);
}

static void take(pthread_mutex_t *m)
{
	pthread_mutex_lock(m);
	hits = hits + 0;
	pthread_mutex_unlock(m);
}

static void on_lock_L(int sig)
{
	(void)sig;
	take(&L);
	hits = hits + 1;
}

static void *hold_L_take_M(void *arg)
{
	(void)arg;
	block(SIGUSR2, SIG_BLOCK);
	pthread_mutex_lock(&L);
	take(&M);
	pthread_mutex_unlock(&L);
	return NULL;
}

static void *take_L(void *arg)
{
	(void)arg;
	take(&L);
	return NULL;
}

/* late-elsewhere: more chains than the thread's chain cache holds, of a
 * few locks (which its cache of lock records keeps, as it keeps L): every
 * set of two to five of Z's locks, taken in index order */
#define NZ 16
static pthread_mutex_t Z[NZ];

static void take_chains(void)
{
	for (unsigned set = 0; set < 1u << NZ; set++) {
		int n = __builtin_popcount(set);
		if (n < 2 || n > 5)
			continue;
		for (int i = 0; i < NZ; i++)
			if (set & 1u << i)
				pthread_mutex_lock(&Z[i]);
		for (int i = NZ; i-- > 0;)
			if (set & 1u << i)
				pthread_mutex_unlock(&Z[i]);
	}
}

/* late-elsewhere: a thread of its own installs the handler and raises */
static void *install_and_raise(void *arg)
{
	(void)arg;
	block(SIGUSR2, SIG_UNBLOCK);
	install(SIGUSR2, on_lock_L, 0);
	raise(SIGUSR2);
	return NULL;
}

static void on_flag(int sig)
{
	(void)sig;
	hits = hits + 1;
}

static void on_post(int sig)
{
	(void)sig;
	sem_post(&sem);
	if (write(-1, "", 0) < 0)
		hits = hits + 1;
}

/* holds M while a SIGWINCH handler runs on top */
static void on_usr2_nest(int sig)
{
	(void)sig;
	pthread_mutex_lock(&M);
	raise(SIGWINCH);
	pthread_mutex_unlock(&M);
}

static ucontext_t back;
static volatile sig_atomic_t escaped;

static void on_escape(int sig)
{
	(void)sig;
	setcontext(&back);
}

static void on_malloc(int sig)
{
	(void)sig;
	char *volatile p = malloc(64);
	free(p);
	hits = hits + 1;
}

static void *volatile to_free;

static void on_free(int sig)
{
	(void)sig;
	free(to_free);
	hits = hits + 1;
}

static sigjmp_buf env;
/* a page nothing is mapped at: writing there faults */
static volatile int *volatile fault_at = (volatile int *)(uintptr_t)8;

static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(env, 1);
}

static void *sigwaiter(void *arg)
{
	sigset_t s;
	int got, n = *(int *)arg;

	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	for (int i = 0; i < n; i++) {
		if (sigwait(&s, &got) == 0 && got == SIGUSR2) {
			take(&L);
			hits = hits + 1;
		}
	}
	return NULL;
}

static pthread_mutex_t A = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t B = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t held_elsewhere = PTHREAD_MUTEX_INITIALIZER;
static sem_t holding, release;

static void *holder(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&held_elsewhere);
	sem_post(&holding);
	sem_wait(&release);
	pthread_mutex_unlock(&held_elsewhere);
	return NULL;
}

static void *a_then_b(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&A);
	pthread_mutex_lock(&B);
	pthread_mutex_unlock(&B);
	pthread_mutex_unlock(&A);
	return NULL;
}

static void on_alarm_jump(int sig)
{
	(void)sig;
	siglongjmp(env, 1);
}

static void h1(int sig) { (void)sig; hits = hits + 1; }
static void h2(int sig) { (void)sig; hits = hits + 10; }
static void h3(int sig) { (void)sig; hits = hits + 100; }
static volatile sig_atomic_t info_ok, nested;
static void h_info(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	info_ok = sig == SIGUSR2 && si && si->si_signo == SIGUSR2 && si->si_value.sival_int == 42;
}
static void h_nodefer(int sig)
{
	if (nested++ == 0)
		raise(sig); /* runs at once, nested, with SA_NODEFER */
}

static int api(void)
{
	struct sigaction sa, old, cur;
	int bad = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = h1;
	sigaction(SIGUSR2, &sa, NULL);
	sa.sa_handler = h2;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR2, &sa, &old);
	bad |= old.sa_handler != h1;
	bad |= (signal(SIGUSR2, h3) != h2) << 1;
	sigaction(SIGUSR2, NULL, &cur);
	bad |= (cur.sa_handler != h3) << 2;
	raise(SIGUSR2);
	bad |= (hits != 100) << 3;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = h_info;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGUSR2, NULL, &cur);
	bad |= (cur.sa_sigaction != h_info || !(cur.sa_flags & SA_SIGINFO)) << 4;
	sigqueue(getpid(), SIGUSR2, (union sigval){ .sival_int = 42 });
	bad |= !info_ok << 5;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = h1;
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGWINCH, &sa, NULL);
	hits = 0;
	raise(SIGWINCH);
	sigaction(SIGWINCH, NULL, &cur);
	bad |= (hits != 1 || cur.sa_handler != SIG_DFL) << 6;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = h_nodefer;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGUSR2, &sa, NULL);
	raise(SIGUSR2);
	bad |= (nested != 2) << 7;

	signal(SIGUSR2, SIG_IGN);
	raise(SIGUSR2);
	bad |= (signal(SIGUSR2, SIG_DFL) != SIG_IGN) << 8;
	bad |= (signal(SIGUSR2, h1) != SIG_DFL) << 9;
	sigaction(SIGUSR2, NULL, &cur);
	bad |= (cur.sa_handler != h1) << 10;

	/* pthread_sigmask reports the mask as the kernel has it */
	sigset_t s, got;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	pthread_sigmask(SIG_BLOCK, NULL, &got);
	bad |= !sigismember(&got, SIGUSR2) << 11;
	sigprocmask(SIG_UNBLOCK, &s, &got);
	bad |= !sigismember(&got, SIGUSR2) << 12;
	printf("api %s %#x\n", bad ? "bad" : "ok", bad);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc == 2 ? argv[1] : "";
	pthread_t t;

	sem_init(&sem, 0, 0);
	if (!strcmp(mode, "direct") || !strcmp(mode, "direct-late")) {
		install(SIGUSR2, on_lock_L, 0);
		if (!strcmp(mode, "direct"))
			take(&L);
		raise(SIGUSR2);
		if (strcmp(mode, "direct"))
			take(&L);
	} else if (!strcmp(mode, "late-elsewhere") || !strcmp(mode, "late-elsewhere-blocked")) {
		/* main, whose held stack's key is 0 with nothing held (another
		 * thread's is its life's context) */
		for (int i = 0; i < NZ; i++)
			pthread_mutex_init(&Z[i], NULL);
		if (strcmp(mode, "late-elsewhere"))
			block(SIGUSR2, SIG_BLOCK);
		take(&L);
		take(&L);
		/* validated, then found again: the chains fill the cache */
		take_chains();
		take_chains();
		pthread_create(&t, NULL, install_and_raise, NULL);
		pthread_join(t, NULL);
		take(&L);
	} else if (!strcmp(mode, "blocked")) {
		install(SIGUSR2, on_lock_L, 0);
		for (int i = 0; i < 3; i++) {
			block(SIGUSR2, SIG_BLOCK);
			take(&L);
			block(SIGUSR2, SIG_UNBLOCK);
			raise(SIGUSR2);
		}
	} else if (!strcmp(mode, "indirect") || !strcmp(mode, "indirect-blocked")) {
		install(SIGUSR2, on_lock_L, 0);
		raise(SIGUSR2);
		pthread_create(&t, NULL, hold_L_take_M, NULL);
		pthread_join(t, NULL);
		if (!strcmp(mode, "indirect-blocked"))
			block(SIGUSR2, SIG_BLOCK);
		take(&M);
	} else if (!strcmp(mode, "inherit")) {
		install(SIGUSR2, on_lock_L, 0);
		block(SIGUSR2, SIG_BLOCK);
		pthread_create(&t, NULL, take_L, NULL);
		pthread_join(t, NULL);
		block(SIGUSR2, SIG_UNBLOCK);
		raise(SIGUSR2);
	} else if (!strcmp(mode, "flag")) {
		install(SIGUSR2, on_flag, SA_RESTART);
		install(SIGWINCH, on_post, SA_RESTART);
		for (int i = 0; i < 1000; i++) {
			pthread_mutex_lock(&L);
			char *p = malloc(16 + i % 100);
			pthread_mutex_lock(&M);
			if (i % 10 == 0)
				raise(i % 20 ? SIGUSR2 : SIGWINCH);
			pthread_mutex_unlock(&M);
			free(p);
			pthread_mutex_unlock(&L);
		}
		hits = 100;
	} else if (!strcmp(mode, "sigwait")) {
		int n = 20;
		block(SIGUSR2, SIG_BLOCK);
		install(SIGUSR2, on_lock_L, 0);
		pthread_create(&t, NULL, sigwaiter, &n);
		for (int i = 0; i < n; i++) {
			take(&L);
			pthread_kill(t, SIGUSR2);
			while (hits <= i)
				usleep(100);
		}
		pthread_join(t, NULL);
	} else if (!strcmp(mode, "segv")) {
		install(SIGSEGV, on_segv, SA_NODEFER);
		for (volatile int i = 0; i < 50; i++) {
			pthread_mutex_lock(&L);
			if (sigsetjmp(env, 1) == 0) {
				pthread_mutex_lock(&M);
				pthread_mutex_unlock(&M);
				*fault_at = 1;
			}
			hits = hits + 1;
			pthread_mutex_unlock(&L);
		}
		pthread_mutex_lock(&L);
		pthread_mutex_lock(&M);
		char *volatile p = malloc(32);
		free(p);
		pthread_mutex_unlock(&M);
		pthread_mutex_unlock(&L);
	} else if (!strcmp(mode, "sigsuspend")) {
		sigset_t orig;
		install(SIGUSR2, on_lock_L, 0);
		block(SIGUSR2, SIG_BLOCK);
		pthread_sigmask(SIG_BLOCK, NULL, &orig);
		sigdelset(&orig, SIGUSR2);
		for (int i = 0; i < 5; i++) {
			take(&L);
			kill(getpid(), SIGUSR2); /* pending until sigsuspend */
			sigsuspend(&orig);
		}
	} else if (!strcmp(mode, "nested")) {
		install(SIGUSR2, on_usr2_nest, 0);
		install(SIGWINCH, on_lock_L, 0);
		raise(SIGUSR2);
		take(&L);
	} else if (!strcmp(mode, "escape")) {
		install(SIGUSR2, on_escape, 0);
		getcontext(&back);
		if (!escaped) {
			escaped = 1;
			raise(SIGUSR2);
		}
		char *volatile p = malloc(48);
		free(p);
		take(&L);
		hits = 1;
	} else if (!strcmp(mode, "malloc")) {
		install(SIGUSR2, on_malloc, 0);
		raise(SIGUSR2);
	} else if (!strcmp(mode, "free") || !strcmp(mode, "free-heaplock")) {
		pthread_mutex_t *volatile heap_lock = NULL;
		if (!strcmp(mode, "free-heaplock")) {
			heap_lock = malloc(sizeof(*heap_lock));
			pthread_mutex_init(heap_lock, NULL);
			take(heap_lock);
		}
		to_free = malloc(40);
		install(SIGUSR2, on_free, 0);
		raise(SIGUSR2);
		free(heap_lock);
	} else if (!strcmp(mode, "longjmp-busy") || !strcmp(mode, "longjmp-linger")) {
		pthread_t h, o;
		sem_init(&holding, 0, 0);
		sem_init(&release, 0, 0);
		pthread_create(&h, NULL, holder, NULL);
		sem_wait(&holding);
		install(SIGALRM, on_alarm_jump, 0);
		if (sigsetjmp(env, 1) == 0) {
			alarm(1);
			pthread_mutex_lock(&held_elsewhere); /* blocks until the alarm */
			puts("not interrupted");
			return 1;
		}
		sem_post(&release);
		pthread_join(h, NULL);
		if (!strcmp(mode, "longjmp-linger")) {
			sleep(6);
			puts("lingered");
			return 0;
		}
		pthread_create(&o, NULL, a_then_b, NULL);
		pthread_join(o, NULL);
		pthread_mutex_lock(&B);
		pthread_mutex_lock(&A);
		pthread_mutex_unlock(&A);
		pthread_mutex_unlock(&B);
		hits = 1;
	} else if (!strcmp(mode, "vfork")) {
		install(SIGUSR2, on_flag, 0);
		pid_t p = vfork();
		if (p == 0) {
			struct sigaction dfl;
			memset(&dfl, 0, sizeof(dfl));
			dfl.sa_handler = SIG_DFL;
			sigaction(SIGUSR2, &dfl, NULL);
			_exit(0);
		}
		waitpid(p, NULL, 0);
		raise(SIGUSR2);
	} else if (!strcmp(mode, "usr1") || !strcmp(mode, "usr1-dump")) {
		struct sigaction cur;
		sigaction(SIGUSR1, NULL, &cur);
		printf("usr1 %s\n", cur.sa_handler == SIG_DFL ? "default" : "not default");
		install(SIGUSR1, on_flag, 0);
		raise(SIGUSR1);
		sigaction(SIGUSR1, NULL, &cur);
		printf("usr1 %s\n", cur.sa_handler == on_flag ? "own" : "not own");
		if (signal(SIGUSR1, SIG_DFL) != on_flag)
			puts("usr1 old handler lost");
		if (!strcmp(mode, "usr1-dump"))
			raise(SIGUSR1);
	} else if (!strcmp(mode, "api")) {
		return api();
	} else {
		fprintf(stderr, "usage: sig MODE (see the source)\n");
		return 2;
	}
	printf("%s %s\n", mode, hits > 0 ? "handled" : "not handled");
	return 0;
}
