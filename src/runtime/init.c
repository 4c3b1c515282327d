/*
 * init.c - the runtime's life inside the process: start-up (options,
 * suppressions, priming), fork, thread-state teardown and exit, where
 * fences never signalled are reported and the exit status is set.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime.h"
#include "suppress.h"

_Atomic int rt_state = RT_UNINIT;
_Atomic bool rt_fast;
pid_t rt_pid;
char **rt_argv;
int rt_argc;
extern struct suppress_set rt_suppressions;
static pthread_key_t thread_key;

void rt_warn(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(2, "fencedep: ", 10) < 0 || write(2, line, (size_t)n) < 0)
		return;
}

void rt_fatal_config(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	rt_warn("%s", line);
	_exit(2);
}

/*
 * Read a whole file, however long: a rule cut at a buffer's end would be
 * another rule (a pattern cut to "*" suppresses everything).  The file may
 * be a pipe (suppressions=<(...)), so its size is only a first guess.
 */
char *rt_read_file(const char *path, size_t *len, size_t *cap)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0, size = 4096;
	char *buf;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size >= size)
		size = (size_t)st.st_size + 1;
	buf = rt_alloc(size);
	while (buf) {
		if (n + 1 == size) {
			char *more = rt_realloc_array(buf, size, size * 2, 1);
			if (!more) {
				rt_free(buf, size);
				buf = NULL;
				errno = ENOMEM;
				break;
			}
			buf = more;
			size *= 2;
		}
		ssize_t r = read(fd, buf + n, size - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			rt_free(buf, size);
			buf = NULL;
			errno = e;
			break;
		}
		if (r == 0) {
			buf[n] = 0;
			*len = n;
			*cap = size;
			break;
		}
		n += (size_t)r;
	}
	if (!buf && errno == 0)
		errno = ENOMEM;
	close(fd);
	return buf;
}

static void load_suppressions(const char *path)
{
	struct suppress_error err;
	size_t len, cap;
	char *buf = rt_read_file(path, &len, &cap);

	if (!buf)
		rt_fatal_config("suppressions file '%s': %s", path, strerror(errno));
	if (suppress_parse(buf, len, (void *(*)(size_t))rt_alloc, &rt_suppressions, &err))
		rt_fatal_config("suppressions file '%s', line %u: %s", path, err.line, err.msg);
	rt_free(buf, cap);
}

/* What the image before this one reported (preload/exec.c); the variable
 * is removed at once, so that the program and its children never see it. */
static void exec_findings_take(bool secure)
{
	const char *v = getenv(RT_EXEC_FINDINGS_ENV);
	char *end;

	if (!v)
		return;
	long pid = strtol(v, &end, 10);
	if (!secure && *end == ':' && pid == (long)getpid())
		rt_exec_findings = strtoul(end + 1, NULL, 10);
	unsetenv(RT_EXEC_FINDINGS_ENV);
}

static void fork_all(int phase)
{
	/* the order in which the runtime nests its locks */
	report_fork(phase);
	if (phase == FORK_PREPARE)
		rt_lock(&graph_lock);
	class_fork(phase);
	prime_fork(phase);
	rt_lock_fork(&threads_lock, phase);
	fence_fork(phase);
	instance_fork(phase);
	stack_fork(phase);
	alloc_fork(phase);
	if (phase != FORK_PREPARE)
		rt_lock_fork(&graph_lock, phase);
}

/*
 * fork() from a signal handler that interrupted this thread in the runtime
 * (a crash handler that runs a reporter, say) must not wait for the
 * runtime's locks: the thread may hold them itself, half-way through an
 * update.  Then the locks are not taken, and the child, whose copy of the
 * runtime cannot be trusted, runs unchecked.
 */
static __thread bool fork_unlocked;

static void fork_prepare(void)
{
	fork_unlocked = tls_busy;
	tls_busy++;
	if (!fork_unlocked)
		fork_all(FORK_PREPARE);
}

static void fork_parent(void)
{
	if (!fork_unlocked)
		fork_all(FORK_PARENT);
	tls_busy--;
}

static void fork_child(void)
{
	if (fork_unlocked) {
		atomic_store(&rt_fast, false);
		atomic_store(&rt_oom_disabled, false); /* the parent's findings are not its */
		atomic_store(&rt_state, RT_DISABLED);
		tls_busy--;
		return;
	}
	fork_all(FORK_CHILD);
	report_fork_child();
	thread_fork_child();
	graph_fork_child();
	rt_pid = getpid();
	watchdog_fork_child();
	tls_busy--;
}

/* The destructor rounds of an ending thread that this key has seen. */
static __thread unsigned char key_rounds __attribute__((tls_model("initial-exec")));

static void thread_key_destructor(void *arg)
{
	/*
	 * The program's key destructors run in rounds, this one among them:
	 * set again, it comes back in each round, and the thread stays
	 * tracked until the last one, so that what they free (a per-thread
	 * object with a lock in it) is forgotten, not left to be taken for
	 * the lock that the memory holds next.
	 */
	if (++key_rounds < PTHREAD_DESTRUCTOR_ITERATIONS && !tls_busy &&
	    pthread_setspecific(thread_key, arg) == 0)
		return;
	/* what runs after this in the ending thread goes through untracked */
	tls_busy = 1;
	thread_forget(arg);
}

void rt_thread_registered(struct rt_thread *t)
{
	pthread_setspecific(thread_key, t);
}

void rt_init(void)
{
	int expected = RT_UNINIT;
	char err[512];

	if (!atomic_compare_exchange_strong(&rt_state, &expected, RT_INITIALIZING)) {
		while (atomic_load(&rt_state) == RT_INITIALIZING)
			sched_yield();
		return;
	}
	options_defaults();
	const char *env = getauxval(AT_SECURE) ? NULL : getenv("FENCEDEP_OPTIONS");
	exec_findings_take(getauxval(AT_SECURE));
	if (env && options_parse(env, err, sizeof(err)))
		rt_fatal_config("FENCEDEP_OPTIONS: %s", err);
	if (options_check(err, sizeof(err)))
		rt_fatal_config("FENCEDEP_OPTIONS: %s", err);
	if (rt_opt.help)
		options_help(2);
	options_paths_absolute();
	rt_ack_command();
	if (!rt_program_selected()) {
		/* only=/exclude=: this program runs untouched */
		atomic_store(&rt_fast, false);
		atomic_store(&rt_state, RT_DISABLED);
		return;
	}
	if (rt_opt.suppressions[0])
		load_suppressions(rt_opt.suppressions);
	stack_init();
	rt_reserve_init();
	report_init();
	prime_init();
	if (strcmp(rt_opt.prime, "builtin") && strcmp(rt_opt.prime, "none") &&
	    prime_load_file(rt_opt.prime, err, sizeof(err)))
		rt_fatal_config("%s", err);
	watchdog_init();
	pthread_key_create(&thread_key, thread_key_destructor);
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	rt_pid = getpid();
	atomic_store(&rt_state, RT_READY);
	atomic_store(&rt_fast, !rt_watchdog_ns);
}

/*
 * The arguments as the program got them, copied before its main() runs: a
 * program may write over its own (pigz clears them, a daemon sets its
 * title there), and the report names the command that was run.
 */
static void argv_capture(int argc, char **argv)
{
	char **copy = argc > 0 && argv ? rt_alloc((size_t)argc * sizeof(*copy)) : NULL;

	rt_argc = 0;
	rt_argv = copy;
	for (int i = 0; copy && i < argc; i++) {
		copy[i] = rt_strdup(argv[i] ? argv[i] : "");
		if (!copy[i])
			break;
		rt_argc = i + 1;
	}
}

__attribute__((constructor(101))) static void rt_constructor(int argc, char **argv, char **envp)
{
	tls_busy = 1;
	argv_capture(argc, argv);
	rt_init();
	tls_busy = 0;
}

/* Set by the first pass over an ending process (rt_exit_status). */
static atomic_bool exit_pass_done;

/* The status of a process that reported an unsuppressed finding, else -1. */
static int finding_status(void)
{
	if ((report_unsuppressed() || rt_exec_findings) && rt_opt.exitcode)
		return (int)rt_opt.exitcode;
	return -1;
}

/*
 * The runtime's last pass over a process that ends with `status`, from
 * exit() (the destructor below) or from _exit() (preload/exit.c): the last
 * JSON write, the statistics, and the status the process must end with.
 * When something was reported it becomes `exitcode`; when the reports on
 * disk lack what the process found (a full disk), 2, so that a CI gate that
 * reads them does not pass it, as for a report that cannot be created at
 * start.  Only the first caller writes; a later or concurrent one (a second
 * thread ending the process, the _exit() the destructor ends with) gets the
 * status alone.  `checks`: the checks of what a process must not leave
 * behind at exit (a published fence never signalled, an acquire context
 * never finished); not when it leaves by _exit(), which abandons what is in
 * flight as a crash would (a failed child after fork, a fatal error).  A vfork() child shares the parent's memory but is not its
 * image: its status is its own.
 */
int rt_exit_status(int status, bool checks)
{
	if (atomic_load(&rt_state) == RT_UNINIT || getpid() != rt_pid)
		return status;
	int fs = finding_status();
	if (atomic_load(&rt_state) != RT_READY) {
		/* out of memory after a finding: it is written, and it still
		 * sets the status */
		return atomic_load(&rt_oom_disabled) && fs >= 0 ? fs : status;
	}
	/* a thread inside the runtime (a signal handler that interrupted it
	 * there ends the process) may hold its locks half-way through an
	 * update: the findings are written already, the status is all that
	 * is left */
	if (tls_busy || atomic_exchange(&exit_pass_done, true))
		return fs >= 0 ? fs : status;
	tls_busy = 1;
	if (checks) {
		fence_exit_check();
		if (tls_thread && !tls_thread->dead)
			ww_exit_check(tls_thread);
	}
	report_fork(FORK_PREPARE); /* report_lock, for one last consistent write */
	report_write_json(true);
	if (rt_opt.verbosity > 1)
		report_stats_line();
	report_fork(FORK_PARENT);
	if (rt_opt.print_suppressions)
		report_suppressions_used();	/* takes report_lock: after its release */
	tls_busy = 0;
	fs = finding_status();
	if (fs >= 0)
		return fs;
	return report_lost() ? 2 : status;
}

/*
 * Runs after the program's own destructors.  When the status must change,
 * stdio is flushed first, as exit() would after this, so the program's
 * output is exactly what it would have been.
 */
__attribute__((destructor)) static void rt_destructor(void)
{
	int s = rt_exit_status(-1, true);

	if (s >= 0) {
		fflush(NULL); /* the runtime itself uses no stdio */
		_exit(s);
	}
}
