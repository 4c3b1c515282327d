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
static bool strings_suppressed(const struct finding *f, const char *const *s, size_t n)
{
	return suppress_match(&rt_suppressions, kind_names[f->kind], s, n) != NULL;
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

void report_finding(struct rt_thread *t, const struct finding_in *in)
{
	struct finding *f = rt_alloc(sizeof(*f));

	if (!f)
		return;
	finding_fill(f, t, in);
	rt_lock(&report_lock);
	for (struct finding *o = findings_head; o; o = o->next) {
		if (!strcmp(o->fingerprint, f->fingerprint) && !strcmp(o->exact, f->exact)) {
			o->count++;
			rt_unlock(&report_lock);
			rt_free(f->dump, f->dump_len);
			rt_free(f, sizeof(*f));
			return;
		}
	}
	if (finding_suppressed(f)) {
		nsuppressed++;
		rt_unlock(&report_lock);
		rt_free(f->dump, f->dump_len);
		rt_free(f, sizeof(*f));
		return;
	}
	*findings_tail = f;
	findings_tail = &f->next;
	nunsuppressed++;
	if (rt_opt.verbosity > 0) {
		struct rt_buf b = { 0 };
		report_text(&b, f);
		if (b.data)
			write_all(report_out(true), b.data, b.len);
		buf_release(&b);
	}
	report_write_json(false);
	rt_unlock(&report_lock);
	if (rt_opt.abort_on_report)
		abort();
}

size_t report_unsuppressed(void)
{
	return nunsuppressed;
}

/*
 * The log file is opened once, at start (it must still open after a chroot
 * or a drop of privileges), under a high number.  A program may close every
 * descriptor it did not open (a daemon, closefrom() before exec) and have a
 * file of its own under that number later: before each write, report_out()
 * checks that the descriptor is still the log, and opens the log again when
 * it is not.
 */
static dev_t log_dev;
static ino_t log_ino;

static int open_log(const char *path)
{
	char full[4096];
	struct stat st;

	if (!strcmp(path, "stderr"))
		return 2;
	if (!strcmp(path, "stdout"))
		return 1;
	snprintf(full, sizeof(full), "%s.%d.log", path, (int)getpid());
	int fd = open(full, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		rt_warn("cannot open log_path '%s': %s; reporting on stderr", full, strerror(errno));
		return 2;
	}
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
	report_fd = open_log(rt_opt.log_path); /* the old number is the program's now */
	return report_fd;
}

void report_init(void)
{
	report_fd = open_log(rt_opt.log_path);
}

/* The child of fork() reports for itself, from scratch. */
void report_fork(int phase)
{
	rt_lock_fork(&report_lock, phase);
	if (phase != FORK_CHILD)
		return;
	findings_head = NULL;
	findings_tail = &findings_head;
	nunsuppressed = nsuppressed = 0;
	if (report_fd > 2) {
		if (log_is_ours())
			close(report_fd);
		report_fd = open_log(rt_opt.log_path);
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
