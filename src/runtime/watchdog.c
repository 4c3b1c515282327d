/*
 * watchdog.c - hang reports and state dumps.
 *
 * With watchdog=SECONDS, every tracked wait (mutex, rwlock, spinlock,
 * condition, fence) records what it waits for and since when; a monitor
 * thread of the runtime, which takes no tracked lock, looks every quarter
 * second and reports a `hang` carrying the state of every thread.  A real
 * deadlock thus ends in a report rather than silence.  The dump signal
 * (dump_signal, SIGUSR1 by default) writes the same state to the log at
 * any time without stopping the program.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "finding.h"

uint64_t rt_watchdog_ns;
static pthread_t monitor;
static bool monitor_running;

uint64_t rt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void wait_begin(struct rt_thread *t, const void *obj, int kind)
{
	/* the waits that follow a fence wait (a lock, the condition that
	 * stands for the fence) are part of it until the fence signals */
	if (kind == WAIT_FENCE)
		atomic_store_explicit(&t->wait_fence, obj, memory_order_relaxed);
	t->wait_kind = (uint8_t)kind;
	t->wait_start_ns = rt_now_ns();
	t->wait_reported = false;
	atomic_store_explicit(&t->wait_obj, obj, memory_order_release);
}

void wait_begin_at(struct rt_thread *t, const void *obj, int kind, struct lock_class *cls,
		   uintptr_t ip)
{
	t->wait_cls = cls;
	t->wait_ip = ip;
	wait_begin(t, obj, kind);
}

static const char *const wait_names[] = {
	[WAIT_MUTEX] = "mutex", [WAIT_RWLOCK] = "rwlock", [WAIT_SPIN] = "spinlock",
	[WAIT_COND] = "condition variable", [WAIT_FENCE] = "fence",
	[WAIT_SEM] = "semaphore", [WAIT_JOIN] = "thread to exit (join)",
	[WAIT_BARRIER] = "barrier", [WAIT_ONCE] = "once routine", [WAIT_EVENT] = "event",
};

/* A class name without symbolising (signal handlers) or with. */
static const char *name_of(struct lock_class *c, bool in_signal)
{
	const char *n = c ? atomic_load(&c->name) : NULL;

	if (n || !c)
		return n ? n : "?";
	return in_signal ? "(unnamed)" : class_name(c);
}

static void dump_pc(struct rt_buf *b, uintptr_t pc, bool in_signal)
{
	struct frame f;

	if (in_signal) {
		buf_printf(b, "%#lx", (unsigned long)pc);
		return;
	}
	stack_symbolize(pc, &f);
	buf_printf(b, "%s", f.function ? f.function : "??");
	if (f.file)
		buf_printf(b, " %s:%d", f.file, f.line);
}

static void dump_thread(struct rt_buf *b, struct rt_thread *t, bool in_signal, uint64_t now)
{
	char comm[32] = "";
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d/comm", (int)t->tid);
	if (!in_signal) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t n = read(fd, comm, sizeof(comm) - 1);
			close(fd);
			comm[n > 0 ? n : 0] = 0;
			char *nl = strchr(comm, '\n');
			if (nl)
				*nl = 0;
		}
	}
	buf_printf(b, "  thread %d \"%s\"", (int)t->tid, comm);
	if (t->create_site) {
		buf_puts(b, ", created at ");
		dump_pc(b, t->create_site, in_signal);
	}
	buf_puts(b, "\n");
	const void *w = atomic_load(&t->wait_obj);
	if (w) {
		bool event = t->wait_kind >= WAIT_COND && t->wait_kind != WAIT_FENCE;
		struct lock_class *cls = event ? t->wait_cls : NULL;
		if (!cls && !in_signal) {
			struct instance *in = instance_find(w);
			cls = in ? in->cls : NULL;
		}
		buf_printf(b, "    waiting for %s %s%s%p for %.1f s\n", wait_names[t->wait_kind],
			   cls ? name_of(cls, in_signal) : "", cls ? " " : "", w,
			   (double)(now > t->wait_start_ns ? now - t->wait_start_ns : 0) / 1e9);
		if (event && t->wait_ip) {
			buf_puts(b, "      waiting at ");
			dump_pc(b, t->wait_ip, in_signal);
			buf_puts(b, "\n");
		}
		pid_t by;
		uintptr_t at;
		uint64_t when;
		if (event && t->wait_kind != WAIT_JOIN && event_last_signal(w, &by, &at, &when)) {
			if (when)
				buf_printf(b, "      last signalled by thread %d, %.1f s ago, at ",
					   (int)by, now > when ? (double)(now - when) / 1e9 : 0.0);
			else /* untimed without a watchdog (event_note_signal) */
				buf_printf(b, "      last signalled by thread %d at ", (int)by);
			dump_pc(b, at, in_signal);
			buf_puts(b, "\n");
		} else if (event && t->wait_kind != WAIT_JOIN) {
			buf_puts(b, "      no live thread signalled it lately\n");
		}
	}
	if (!t->depth)
		buf_puts(b, "    holds nothing\n");
	for (uint32_t i = 0; i < t->depth && i < 64; i++) {
		struct held *h = &t->held[i];
		/* a blocking lock is pushed before the thread blocks in it */
		bool acquiring = w && h->instance == w && i + 1 == t->depth;
		const char *what = acquiring		     ? "is acquiring"
				   : (h->flags & HF_PATH)    ? "on the signalling path of fence"
				   : (h->flags & HF_SECTION) ? "in a signalling section of"
				   : (h->flags & HF_RECLAIM) ? "in reclaim:"
				   : (h->flags & HF_EVENTCTX) ? "running the routine of"
							     : "holds";
		buf_printf(b, "    %s %s (%s) %p, taken at ", what, name_of(h->cls, in_signal),
			   hold_mode_name(h->mode), h->instance);
		dump_pc(b, h->ip, in_signal);
		buf_puts(b, "\n");
	}
}

void dump_state(struct rt_buf *b, bool in_signal)
{
	uint64_t now = rt_now_ns();

	buf_printf(b, "fencedep: state of process %d\n", (int)getpid());
	if (in_signal ? !rt_trylock(&threads_lock) : (rt_lock(&threads_lock), false)) {
		buf_puts(b, "  (threads are changing; send the signal again)\n");
		return;
	}
	for (struct rt_thread *t = threads_list; t; t = t->next)
		dump_thread(b, t, in_signal, now);
	rt_unlock(&threads_lock);
	fence_dump(b, in_signal);
}

/* The class of what a thread waits for, or NULL (a condition variable). */
static struct lock_class *waited_class(const void *obj, int kind)
{
	if (kind == WAIT_FENCE)
		return fence_class_at(obj);
	struct instance *in = instance_find(obj);
	return in ? in->cls : NULL;
}

/*
 * How long t has waited so far.  The clock is read after the start: a
 * wait that began while this check walked the threads has waited 0, never
 * a negative time wrapped to 584 years.
 */
static uint64_t waited_ns(const struct rt_thread *t)
{
	uint64_t start = t->wait_start_ns;
	uint64_t now = rt_now_ns();

	return now > start ? now - start : 0;
}

/*
 * Which waits are hangs by themselves past the limit: waiting for a lock
 * or a fence, and any wait of a thread that holds something (a lock, a
 * signalling path, reclaim) while it waits.  A thread that waits for an
 * event (a condition, say) holding nothing is idle: a server's worker
 * waiting for work.  It is a hang only when no thread of the process can
 * run: every one in a tracked wait past the limit (check_hangs).
 */
static bool wait_is_a_hang_alone(struct rt_thread *t)
{
	switch (t->wait_kind) {
	case WAIT_MUTEX:
	case WAIT_RWLOCK:
	case WAIT_SPIN:
	case WAIT_FENCE:
		return true;
	default:
		break;
	}
	if (t->depth > 0)
		return true;
	/* waiting, in the end, for a fence (fdep_fence_wait, then blocked
	 * in the condition that stands for it) */
	const void *f = atomic_load_explicit(&t->wait_fence, memory_order_relaxed);
	if (f && !fence_pending(f)) {
		atomic_store_explicit(&t->wait_fence, NULL, memory_order_relaxed);
		f = NULL;
	}
	return f != NULL;
}

/* The threads of the process, the monitor included (-1 if unknown). */
static int process_threads(void)
{
	char buf[4096];
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	const char *p = strstr(buf, "\nThreads:");
	return p ? atoi(p + 9) : -1;
}

/*
 * A tracked wait past the limit: a hang finding with every thread's state.
 * A hang is identified by what the hung thread waits for (the class of the
 * lock or fence, in its fingerprint): each thread of a deadlock on two
 * mutexes is its own finding, the same ones in every run (grouping the
 * threads that passed the limit at one look was not: under load they pass
 * it at different looks), and a thread that hangs again on the same class
 * is counted.
 */
static void check_hangs(void)
{
	struct rt_thread *hung = NULL, *idle = NULL;
	int nstalled = 0; /* threads in a tracked wait past the limit */
	int nthreads = process_threads(); /* before: one made since may run */

	rt_lock(&threads_lock);
	for (struct rt_thread *t = threads_list; t; t = t->next) {
		const void *w = atomic_load(&t->wait_obj);
		if (t->dead)
			continue;
		/* a fence wait lasts until the fence signals */
		if (w && t->wait_kind == WAIT_FENCE && !fence_pending(w)) {
			atomic_store(&t->wait_obj, NULL);
			w = NULL;
		}
		if (!w)
			continue;
		uint64_t d = waited_ns(t);
		if (d > rt_watchdog_ns)
			nstalled++;
		if (d > rt_watchdog_ns && !t->wait_reported) {
			if (wait_is_a_hang_alone(t)) {
				if (!hung)
					hung = t;
			} else if (!idle && t->wait_kind != WAIT_JOIN) {
				/* a join waits for what its thread waits for:
				 * that thread's wait is the hang, if any */
				idle = t;
			}
		}
	}
	/* an idle waiter is a hang only when nothing else can run either:
	 * every thread of the process but the monitor (threads the runtime
	 * has not met, or that block elsewhere, may still run) */
	if (!hung && idle && nstalled == nthreads - 1)
		hung = idle;
	const void *obj = hung ? atomic_load(&hung->wait_obj) : NULL;
	int kind = hung ? hung->wait_kind : 0;
	if (hung)
		hung->wait_reported = true;
	rt_unlock(&threads_lock);
	if (!hung)
		return;
	struct rt_buf b = { 0 };
	dump_state(&b, false);
	char detail[160];
	snprintf(detail, sizeof(detail), "thread %d waited more than %ld s for a %s",
		 (int)hung->tid, (long)rt_opt.watchdog, wait_names[hung->wait_kind]);
	struct finding_in f = {
		.kind = FK_HANG,
		.title = "a tracked wait lasted longer than the watchdog allows",
		.detail = detail,
		.subject = { obj ? waited_class(obj, kind) : NULL },
		.dump = b.data,
	};
	report_finding(hung, &f);
	buf_release(&b);
}

static void *monitor_main(void *arg)
{
	tls_busy = 1; /* the monitor takes no tracked lock and is never tracked */
	for (;;) {
		struct timespec ts = { 0, 250 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		if (atomic_load(&rt_state) == RT_READY)
			check_hangs();
	}
	return NULL;
}

static void monitor_start(void)
{
	typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
	/* the real one: the interposer would track the monitor as a thread */
	create_fn create = (create_fn)dlsym(RTLD_NEXT, "pthread_create");
	sigset_t all, old;

	/* the monitor must not take the program's signals */
	sigfillset(&all);
	rt_sigmask(SIG_SETMASK, &all, &old);
	monitor_running = create && create(&monitor, NULL, monitor_main, NULL) == 0;
	rt_sigmask(SIG_SETMASK, &old, NULL);
}

static void dump_handler(int sig)
{
	static char storage[1 << 16];
	struct rt_buf b = { .data = storage, .cap = sizeof(storage), .fixed = true };
	int busy = tls_busy;

	tls_busy = 1;
	storage[0] = 0;
	dump_state(&b, true);
	if (b.len && write(report_out(false), b.data, b.len) < 0)
		b.len = 0;
	tls_busy = busy;
}

void watchdog_init(void)
{
	rt_watchdog_ns = (uint64_t)rt_opt.watchdog * 1000000000ull;
	if (rt_opt.dump_signal) {
		struct sigaction sa = { .sa_handler = dump_handler, .sa_flags = SA_RESTART };
		sigemptyset(&sa.sa_mask);
		rt_sigaction((int)rt_opt.dump_signal, &sa, NULL);
	}
	if (rt_watchdog_ns)
		monitor_start();
}

void watchdog_fork_child(void)
{
	if (rt_watchdog_ns)
		monitor_start();
}
