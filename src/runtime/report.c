/*
 * report.c - findings: named, fingerprinted, deduplicated, suppressed, and
 * written the moment they are found (text, then the JSON file), so that a
 * process that then blocks or is killed still leaves them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fingerprint.h"
#include "finding.h"
#include "suppress.h"

struct finding *findings_head;
static struct finding **findings_tail = &findings_head;
static int report_fd = 2;
static struct rt_lock report_lock = RT_LOCK_INIT;
static size_t nunsuppressed, nsuppressed;
size_t rt_exec_findings;
struct suppress_set rt_suppressions;

static const char *const kind_names[FK_COUNT] = {
	[FK_LOCK_ORDER_INVERSION] = "lock-order-inversion",
	[FK_ALLOC_IN_SIGNALLING_PATH] = "alloc-in-signalling-path",
	[FK_FENCE_LOCK_INVERSION] = "fence-lock-inversion",
	[FK_RECLAIM_LOCK_INVERSION] = "reclaim-lock-inversion",
	[FK_RECURSIVE_LOCKING] = "recursive-locking",
	[FK_FENCE_SELF_WAIT] = "fence-self-wait",
	[FK_UNPUBLISHED_FENCE_WAIT] = "unpublished-fence-wait",
	[FK_FENCE_DOUBLE_SIGNAL] = "fence-double-signal",
	[FK_FENCE_NEVER_SIGNALLED] = "fence-never-signalled",
	[FK_INVALID_WAIT_CONTEXT] = "invalid-wait-context",
	[FK_WW_PROTOCOL_VIOLATION] = "ww-protocol-violation",
	[FK_BAD_UNLOCK_BALANCE] = "bad-unlock-balance",
	[FK_HELD_LOCK_FREED] = "held-lock-freed",
	[FK_LOCK_HELD_AT_THREAD_EXIT] = "lock-held-at-thread-exit",
	[FK_ASSERTION_FAILED] = "assertion-failed",
	[FK_HANG] = "hang",
	[FK_SIGNAL_UNSAFE_LOCK] = "signal-unsafe-lock",
	[FK_SIGNAL_UNSAFE_CALL] = "signal-unsafe-call",
	[FK_EVENT_LOCK_INVERSION] = "event-lock-inversion",
};

const char *finding_kind_name(int kind)
{
	return kind_names[kind];
}

const char *hold_mode_name(int mode)
{
	return mode == HM_EXCLUSIVE ? "exclusive" : mode == HM_SHARED ? "shared" : "recursive";
}

static void thread_name(pid_t tid, char *out, size_t len)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d/comm", (int)tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	out[0] = 0;
	if (fd < 0)
		return;
	ssize_t n = read(fd, out, len - 1);
	close(fd);
	if (n <= 0)
		n = 0;
	out[n] = 0;
	char *nl = strchr(out, '\n');
	if (nl)
		*nl = 0;
}

/* The functions of a stack that a fingerprint keeps (fingerprint.h). */
static void fp_functions(struct fdep_fp_item *it, uint32_t stack)
{
	uintptr_t pcs[STACK_MAX];
	uint32_t n = stack_get(stack, pcs, STACK_MAX);
	struct frame fr;

	for (uint32_t i = 0; i < n && it->nfuncs < FDEP_FP_FRAMES; i++) {
		stack_symbolize(pcs[i], &fr);
		if (fdep_fp_module_counts(fr.module))
			fdep_fp_add_function(it, fr.function);
	}
}

/* Fill the stored finding from what the engine found. */
static void finding_fill(struct finding *f, struct rt_thread *t, const struct finding_in *in)
{
	const char *names[CYCLE_MAX];
	struct fdep_fp_item items[CYCLE_MAX];
	size_t n = 0;

	memset(items, 0, sizeof(items));
	f->kind = in->kind;
	f->sig = in->sig;
	f->title = in->title;
	f->detail = in->detail;
	f->count = 1;
	f->stack = in->stack;
	f->tid = t ? t->tid : rt_gettid();
	f->thread_site = t ? t->create_site : 0;
	thread_name(f->tid, f->thread_name, sizeof(f->thread_name));
	if (in->cycle) {
		f->ncycle = in->cycle->n;
		f->cycle_total = in->cycle->total ? in->cycle->total : in->cycle->n;
		for (uint32_t i = 0; i < f->ncycle; i++) {
			f->cycle[i].from = class_name(in->cycle->e[i].from);
			f->cycle[i].to = class_name(in->cycle->e[i].to);
			f->cycle[i].from_kind = in->cycle->e[i].from->kind;
			f->cycle[i].to_kind = in->cycle->e[i].to->kind;
			f->cycle[i].type = in->cycle->e[i].type;
			f->cycle[i].primed = in->cycle->e[i].primed;
			f->cycle[i].stack = in->cycle->e[i].stack;
			items[n].name = f->cycle[i].from;
			fp_functions(&items[n], f->cycle[i].stack);
			names[n++] = f->cycle[i].from;
		}
	}
	for (int i = 0; i < 2; i++) {
		f->subject[i] = in->subject[i] ? class_name(in->subject[i]) : NULL;
		if (f->subject[i] && !in->cycle)
			items[n].name = names[n] = f->subject[i], n++;
	}
	if (!in->cycle && !n)
		items[n].name = names[n] = "?", n++;
	/* a finding of one place: the functions of where it happened */
	if (!in->cycle)
		fp_functions(&items[0], in->stack);
	for (uint32_t i = 0; t && i < t->depth && f->nheld < FINDING_HELD_MAX; i++) {
		struct held *h = &t->held[i];
		f->held[f->nheld].cls = class_name(h->cls);
		f->held[f->nheld].mode = h->mode;
		f->held[f->nheld].flags = h->flags;
		f->held[f->nheld++].ip = h->ip;
	}
	if (in->dump) {
		f->dump_len = strlen(in->dump) + 1;
		f->dump = rt_alloc(f->dump_len);
		if (f->dump)
			memcpy(f->dump, in->dump, f->dump_len);
	}
	for (uint32_t i = 0; i < in->nnotes; i++)
		f->notes[f->nnotes++] = (typeof(f->notes[0])){ in->notes[i].label, in->notes[i].stack };
	fdep_fingerprint(kind_names[f->kind], items, n, in->cycle != NULL, f->fingerprint);
	/* the exact classes: two findings of one fingerprint are one only when
	 * they are about the same locks */
	fdep_fingerprint_v1(kind_names[f->kind], names, n, f->exact);
}

/*
 * Does a suppression rule of f's kind match any of these strings?  The
 * strings are checked a group at a time (one stack, one cycle edge), so
 * that what is kept at once is bounded by one stack whatever the length of
 * the cycle or the depth of its stacks.
 */
/* The rule that hid the last finding suppressed (report_lock held). */
static const struct suppress_rule *rule_matched;
/* Per rule of rt_suppressions: how many findings it hid (print_suppressions). */
static unsigned long *rule_hits;

static bool strings_suppressed(const struct finding *f, const char *const *s, size_t n)
{
	const struct suppress_rule *r = suppress_match(&rt_suppressions, kind_names[f->kind], s, n);

	if (r)
		rule_matched = r;
	return r != NULL;
}

static void count_rule_hit(void)
{
	size_t i;

	if (!rule_matched || !rt_opt.print_suppressions)
		return;
	if (!rule_hits)
		rule_hits = rt_alloc(rt_suppressions.n * sizeof(*rule_hits));
	i = (size_t)(rule_matched - rt_suppressions.rules);
	if (rule_hits && i < rt_suppressions.n)
		rule_hits[i]++;
}

void report_suppressions_used(void)
{
	struct rt_buf b = { 0 };

	rt_lock(&report_lock);
	for (size_t i = 0; rule_hits && i < rt_suppressions.n; i++) {
		const struct suppress_rule *r = &rt_suppressions.rules[i];

		if (!rule_hits[i])
			continue;
		if (!b.len)
			buf_puts(&b, "fencedep: suppressions used:\n  count rule (line of the file)\n");
		buf_printf(&b, "  %5lu %s:%s (line %u)\n", rule_hits[i], r->kind ? r->kind : "*",
			   r->pattern, r->line);
	}
	rt_unlock(&report_lock);
	if (b.data) {
		struct rt_buf safe = { 0 };

		buf_put_text(&safe, b.data, b.len);
		if (safe.data)
			write_all(report_out(true), safe.data, safe.len);
		buf_release(&safe);
	}
	buf_release(&b);
}

static bool stack_suppressed(const struct finding *f, uint32_t stack)
{
	uintptr_t pcs[STACK_MAX];
	const char *s[3 * STACK_MAX];
	uint32_t np = stack_get(stack, pcs, STACK_MAX);
	size_t n = 0;
	struct frame fr;

	for (uint32_t i = 0; i < np && i < STACK_MAX; i++) {
		stack_symbolize(pcs[i], &fr);
		s[n++] = fr.function;
		s[n++] = fr.file;
		s[n++] = fr.module;
	}
	return strings_suppressed(f, s, n);
}

static bool finding_suppressed(const struct finding *f)
{
	const char *s[3];
	char fp[32];

	if (!rt_suppressions.n)
		return false;
	snprintf(fp, sizeof(fp), "fingerprint:%s", f->fingerprint);
	s[0] = fp; /* a rule may name the finding itself */
	s[1] = f->subject[0];
	s[2] = f->subject[1];
	if (strings_suppressed(f, s, 3))
		return true;
	for (uint32_t i = 0; i < f->ncycle; i++)
		if (strings_suppressed(f, &f->cycle[i].from, 1) ||
		    stack_suppressed(f, f->cycle[i].stack))
			return true;
	if (stack_suppressed(f, f->stack))
		return true;
	for (uint32_t i = 0; i < f->nnotes; i++)
		if (stack_suppressed(f, f->notes[i].stack))
			return true;
	return false;
}

bool write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static void log_lost(int fd);
static char *log_name;

static void report_finding_now(struct rt_thread *t, const struct finding_in *in);

struct report_call {
	struct rt_thread *t;
	const struct finding_in *in;
};

static void report_work(void *arg)
{
	struct report_call *c = arg;

	report_finding_now(c->t, c->in);
}

/* A report takes some 20 KiB of stack (symbolising runs on a stack of its
 * own): a thread made with a small stack, with less than this left,
 * writes it on a stack mapped for the report. */
#define REPORT_ROOM (32 * 1024)
#define REPORT_STACK_SIZE (256 * 1024)

void report_finding(struct rt_thread *t, const struct finding_in *in)
{
	int old = rt_cancel_off(); /* its writes are cancellation points */
	char here;

	if (tls_stack_lo && (uintptr_t)&here < tls_stack_lo + REPORT_ROOM) {
		char *stack = rt_alloc(REPORT_STACK_SIZE);
		if (stack) {
			struct report_call c = { t, in };
			stack_call_on(stack, REPORT_STACK_SIZE, report_work, &c);
			rt_free(stack, REPORT_STACK_SIZE);
			rt_cancel_restore(old);
			return;
		}
	}
	report_finding_now(t, in);
	rt_cancel_restore(old);
}

static void report_finding_now(struct rt_thread *t, const struct finding_in *in)
{
	/* what writing it takes comes from the reserve if memory runs out */
	rt_reserve_enter();
	struct finding *f = rt_alloc(sizeof(*f));

	if (!f) {
		rt_reserve_leave();
		return;
	}
	graph_readers_enter(); /* the cycle's class records stay while named */
	finding_fill(f, t, in);
	graph_readers_leave();
	rt_lock(&report_lock);
	for (struct finding *o = findings_head; o; o = o->next) {
		if (!strcmp(o->fingerprint, f->fingerprint) && !strcmp(o->exact, f->exact)) {
			o->count++;
			rt_unlock(&report_lock);
			rt_free(f->dump, f->dump_len);
			rt_free(f, sizeof(*f));
			rt_reserve_leave();
			return;
		}
	}
	rule_matched = NULL;
	if (finding_suppressed(f)) {
		count_rule_hit();
		nsuppressed++;
		rt_unlock(&report_lock);
		rt_free(f->dump, f->dump_len);
		rt_free(f, sizeof(*f));
		rt_reserve_leave();
		return;
	}
	*findings_tail = f;
	findings_tail = &f->next;
	nunsuppressed++;
	if (rt_opt.verbosity > 0) {
		struct rt_buf b = { 0 };
		report_text(&b, f);
		int fd = report_out(true);
		if (!b.data || !write_all(fd, b.data, b.len))
			log_lost(fd);
		buf_release(&b);
	}
	report_write_json(false);
	rt_unlock(&report_lock);
	rt_reserve_leave();
	if (rt_opt.abort_on_report)
		abort();
}

/* A finding's text that did not reach the log file (a full disk, a file
 * size limit): said once; the exit status says so (init.c). */
static bool text_lost;

static void log_lost(int fd)
{
	if (fd <= 2 || text_lost)
		return; /* the program's own stderr or stdout: not a report file */
	text_lost = true;
	rt_warn("cannot write the log '%s': %s", log_name ? log_name : rt_opt.log_path,
		strerror(errno));
}

bool report_lost(void)
{
	return text_lost || report_json_lost();
}

size_t report_unsuppressed(void)
{
	return nunsuppressed;
}

/*
 * Report files are created, never opened: a report directory may be
 * shared (/tmp) and anyone may have put a file, a FIFO or a link at the
 * name a process will use.  report_create() makes a new file with O_EXCL
 * (no link followed, no FIFO opened, O_NONBLOCK in case) under the first
 * free name of PREFIX.<pid>EXT, PREFIX.<pid>.1EXT, PREFIX.<pid>.2EXT ...:
 * the new image of a process after exec() and a process of the same pid in
 * another pid namespace thus never write over another's report.  Returns
 * the descriptor and the name (runtime memory, *name_size bytes), or -1.
 */
int report_create(const char *prefix, const char *ext, char **name, size_t *name_size)
{
	size_t size = strlen(prefix) + strlen(ext) + 48;
	char *path = rt_alloc(size);
	struct stat st;
	int pid = (int)getpid();

	if (!path)
		return -1;
	for (unsigned n = 0; n < 10000; n++) {
		if (n)
			snprintf(path, size, "%s.%d.%u%s", prefix, pid, n, ext);
		else
			snprintf(path, size, "%s.%d%s", prefix, pid, ext);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
			      0600);
		if (fd < 0 && errno == EEXIST) {
			static bool warned;
			if (n == 0 && !warned && lstat(path, &st) == 0 && st.st_uid != geteuid()) {
				warned = true;
				rt_warn("'%s' exists and is not this user's: reports go beside it", path);
			}
			continue;
		}
		if (fd < 0)
			break;
		if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
			close(fd); /* cannot be: O_EXCL created it */
			errno = EPERM;
			break;
		}
		*name = path;
		*name_size = size;
		return fd;
	}
	int e = errno;
	rt_free(path, size);
	errno = e;
	return -1;
}

/*
 * The text log, PATH.<pid>.log, is created at start (it must still open
 * after a chroot or a drop of privileges) under a high descriptor number.
 * A program may close every descriptor it did not open (a daemon,
 * closefrom() before exec) and have a file of its own under that number
 * later: before each write, report_out() checks that the descriptor is
 * still the log, and opens the log again by its name when it is not -
 * the very file it created (same device and inode), or else a new one.
 */
static char *log_name;
static size_t log_name_size;
static dev_t log_dev;
static ino_t log_ino;
static bool log_warned;

static int log_high(int fd)
{
	struct stat st;
	int high = fcntl(fd, F_DUPFD_CLOEXEC, 512);

	if (high >= 0) {
		close(fd);
		fd = high;
	}
	if (fstat(fd, &st) == 0) {
		log_dev = st.st_dev;
		log_ino = st.st_ino;
	}
	return fd;
}

/* The log again, by the name this process created it under. */
static int log_reopen(void)
{
	struct stat st;
	int fd;

	if (!log_name)
		return -1;
	fd = open(log_name, O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || st.st_dev != log_dev || st.st_ino != log_ino) {
		close(fd);
		return -1;
	}
	return log_high(fd);
}

/* The log's descriptor, -1 (errno set) when it cannot be created. */
static int open_log(const char *path)
{
	int fd;

	if (!strcmp(path, "stderr"))
		return 2;
	if (!strcmp(path, "stdout"))
		return 1;
	fd = log_reopen();
	if (fd >= 0)
		return fd;
	if (log_name)
		rt_free(log_name, log_name_size);
	log_name = NULL;
	fd = report_create(path, ".log", &log_name, &log_name_size);
	if (fd < 0)
		return -1;
	fcntl(fd, F_SETFL, O_APPEND);
	return log_high(fd);
}

/* After start: a log that cannot be created is said once, and stderr
 * takes the reports. */
static int open_log_or_stderr(const char *path)
{
	int fd = open_log(path);

	if (fd >= 0)
		return fd;
	if (!log_warned)
		rt_warn("cannot create the log '%s.%d.log': %s; reporting on stderr", path,
			(int)getpid(), strerror(errno));
	log_warned = true;
	return 2;
}

/* Is report_fd still the log file this process opened? */
static bool log_is_ours(void)
{
	struct stat st;

	return report_fd <= 2 ||
	       (fstat(report_fd, &st) == 0 && st.st_dev == log_dev && st.st_ino == log_ino);
}

int report_out(bool may_open)
{
	if (log_is_ours())
		return report_fd;
	if (!may_open)
		return 2; /* a signal handler: no open(), stderr */
	report_fd = open_log_or_stderr(rt_opt.log_path); /* the old number is the program's */
	return report_fd;
}

/* At start, a report that cannot be created is a configuration error
 * (status 2, before the program runs), as a file that cannot be read. */
void report_init(void)
{
	report_fd = open_log(rt_opt.log_path);
	if (report_fd < 0)
		rt_fatal_config("log_path: cannot create '%s.%d.log': %s", rt_opt.log_path,
				(int)getpid(), strerror(errno));
	report_json_init();
}

void report_fork(int phase)
{
	rt_lock_fork(&report_lock, phase);
}

/* The child of fork() reports for itself, from scratch, in files of its
 * own: once every runtime lock is usable again (creating a file's name
 * allocates). */
void report_fork_child(void)
{
	findings_head = NULL;
	findings_tail = &findings_head;
	nunsuppressed = nsuppressed = 0;
	rt_exec_findings = 0;
	text_lost = false;
	report_json_fork_child();
	if (report_fd > 2) {
		if (log_is_ours())
			close(report_fd);
		if (log_name)
			rt_free(log_name, log_name_size);
		log_name = NULL;
		log_warned = false;
		report_fd = open_log_or_stderr(rt_opt.log_path);
	}
}

/* The statistics line of verbosity=2, as fencedep(1) shows it: the same
 * names and numbers as the JSON report's "stats" (report_lock held). */
void report_stats_line(void)
{
	char line[320];
	uint64_t acq = 0, hits = 0;
	size_t classes, edges;

	acq = atomic_load(&stats_acquisitions_done);
	hits = atomic_load(&stats_chain_hits_done);
	rt_lock(&threads_lock);
	for (struct rt_thread *t = threads_list; t; t = t->next) {
		acq += t->acquisitions + t->fast_hits;
		hits += t->chain_hits + t->fast_hits;
	}
	rt_unlock(&threads_lock);
	report_listed_counts(&classes, &edges);
	int n = snprintf(line, sizeof(line),
			 "fencedep: stats: findings=%zu suppressed=%zu classes=%zu edges=%zu "
			 "chains=%zu acquisitions=%llu chain_hits=%llu\n",
			 nunsuppressed, nsuppressed, classes, edges, chain_count(),
			 (unsigned long long)acq, (unsigned long long)hits);
	write_all(report_out(true), line, (size_t)n);
}
