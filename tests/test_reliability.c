/*
 * test_reliability.c - the runtime in the corners of process life: fork
 * and exec, raw clone() threads, signal handlers that lock, dlopen and
 * dlclose, other allocators, C++ locks, setuid programs, report files and
 * running out of memory.  Every run must end on its own, print what it
 * prints natively, and report exactly what it should.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define KILLED (128 + SIGKILL)
#define FINDING_EXIT 66
#define ARGV(...) ((char *const[]){ __VA_ARGS__, NULL })

static void run(int preload, const char *opts, char *const argv[], struct harness_run *r)
{
	harness_timeout_s = 30;
	int rc = harness_run_opts(preload, opts, argv, r);
	harness_timeout_s = 0;
	cr_assert_eq(rc, 0, "cannot start %s", argv[0]);
	cr_assert_neq(r->status, KILLED, "%s %s hung (killed after 30 s)\nstderr: %s", argv[0],
		      argv[1] ? argv[1] : "", r->err);
}

/* Under the runtime: no finding at all, exit 0, the native output. */
static void expect_clean_as_native(char *const argv[])
{
	struct harness_run native, checked;

	run(0, NULL, argv, &native);
	run(1, NULL, argv, &checked);
	cr_assert_eq(native.status, 0, "natively: status %d\n%s", native.status, native.err);
	cr_expect_eq(harness_findings(checked.json), 0, "unexpected findings:\n%s", checked.log);
	cr_expect_eq(checked.status, 0, "status %d\nstderr: %s", checked.status, checked.err);
	cr_expect_str_eq(checked.out, native.out);
	cr_expect_str_eq(checked.err, native.err);
	cr_expect_geq(checked.nreports, 1, "no JSON report written");
	harness_free(&native);
	harness_free(&checked);
}

/* Exactly one finding, a lock-order inversion; output as native. */
static void expect_one_inversion(char *const argv[], struct harness_run *checked)
{
	struct harness_run native;

	run(0, NULL, argv, &native);
	run(1, NULL, argv, checked);
	cr_assert_eq(native.status, 0, "natively: status %d\n%s", native.status, native.err);
	cr_expect_eq(harness_count(checked->json, "lock-order-inversion"), 1,
		     "expected one inversion\n%s\nstderr: %s", checked->log, checked->err);
	cr_expect_eq(harness_findings(checked->json), 1, "expected one finding\n%s", checked->log);
	cr_expect_eq(checked->status, FINDING_EXIT, "status %d\nstderr: %s", checked->status,
		     checked->err);
	cr_expect_str_eq(checked->out, native.out);
	harness_free(&native);
}

/* Lock classes freed by their threads while another thread's report lists
 * every class (class_for_each), and at exit with those threads running. */
Test(reliability, classes_freed_while_reports_list_them)
{
	struct harness_run r;

	expect_one_inversion(ARGV("evict-race", "2"), &r);
	cr_expect(strstr(r.json, "{\"name\": \"a\", \"kind\": \"mutex\"}"), "%s", r.log);
	cr_expect(strstr(r.json, "{\"name\": \"b\", \"kind\": \"mutex\"}"), "%s", r.log);
	cr_expect_eq(r.nreports, 1, "%d reports", r.nreports);
	harness_free(&r);
}

static int count_lines_with(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; p && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* ---- 1. fork, vfork, posix_spawn, then exec, with another thread busy ---- */

static void spawn_case(const char *how)
{
	struct harness_run native, checked;
	char prog[4096];

	snprintf(prog, sizeof(prog), "%s", harness_prog("rel-report"));
	char *const av[] = { "rel-spawn", (char *)how, prog, "many", "1", "0", NULL };
	run(0, NULL, av, &native);
	run(1, NULL, av, &checked);
	cr_assert_eq(native.status, 0, "natively: %d %s", native.status, native.err);
	/* each of the 4 exec'd children prints "done", reports its own
	 * inversion and exits 66; the rest is as native */
	cr_expect_eq(count_lines_with(native.out, "exit 0\n"), 4, "%s", native.out);
	char expect[512] = "";
	size_t len = 0;
	for (const char *p = native.out; *p;) {
		const char *e = strstr(p, "exit 0\n");
		size_t n = e ? (size_t)(e - p) : strlen(p);
		len += (size_t)snprintf(expect + len, sizeof(expect) - len, "%.*s%s", (int)n, p,
					e ? "exit 66\n" : "");
		if (!e || len >= sizeof(expect))
			break;
		p = e + strlen("exit 0\n");
	}
	cr_expect_str_eq(checked.out, expect, "stderr: %s", checked.err);
	cr_expect_eq(checked.status, 0, "status %d\nstderr: %s", checked.status, checked.err);
	/* the parent (clean) and the four exec'd children: five valid reports */
	cr_expect_eq(checked.nreports, 5, "reports: %d\n%s", checked.nreports, checked.json);
	cr_expect_eq(count_lines_with(checked.json, "\"tool\": \"fencedep\""), 5);
	cr_expect_eq(harness_count(checked.json, "lock-order-inversion"), 4, "%s", checked.log);
	cr_expect_eq(harness_findings(checked.json), 4, "%s", checked.log);
	harness_free(&native);
	harness_free(&checked);
}

Test(reliability, fork_exec_while_locking)
{
	spawn_case("fork");
}

Test(reliability, vfork_exec_while_locking)
{
	spawn_case("vfork");
}

Test(reliability, posix_spawn_while_locking)
{
	spawn_case("spawn");
}

Test(reliability, fork_exec_true_clean)
{
	expect_clean_as_native(ARGV("rel-spawn", "fork", "/bin/true"));
	expect_clean_as_native(ARGV("rel-spawn", "vfork", "/bin/true"));
	expect_clean_as_native(ARGV("rel-spawn", "spawn", "/bin/true"));
}

/* ---- 2. raw clone() threads ---- */

Test(reliability, raw_clone_threads_run_clean)
{
	struct harness_run r;

	expect_clean_as_native(ARGV("rel-clone", "clean"));
	run(1, NULL, ARGV("rel-clone", "clean"), &r);
	cr_expect_str_eq(r.out, "sum ok\ndone\n");
	harness_free(&r);
}

/* ---- 3. a signal handler that locks ---- */

Test(reliability, locking_signal_handler_no_deadlock_no_finding)
{
	struct harness_run r;

	run(1, NULL, ARGV("rel-signal", "clean"), &r);
	cr_expect_eq(r.status, 0, "status %d\nstderr: %s", r.status, r.err);
	cr_expect_eq(harness_findings(r.json), 0, "unexpected findings:\n%s", r.log);
	cr_expect_str_eq(r.out, "counter 400000 local 200000 signals many\n", "stderr: %s", r.err);
	cr_expect_str_eq(r.err, "");
	harness_free(&r);
}

/*
 * exit() from a signal handler that interrupted the runtime, which may hold
 * its own locks there: the exit must not wait for them.  Each run lands
 * there about one time in four, so twenty runs all pass by chance with
 * odds of about 1 in 300 when it would wait.
 */
Test(reliability, exit_from_a_signal_handler_inside_the_runtime)
{
	double limit = harness_timeout_s;

	harness_timeout_s = 10;
	for (int i = 0; i < 20; i++) {
		struct harness_run r;
		run(1, NULL, ARGV("rel-signal", "exit"), &r);
		cr_expect_eq(r.status, 0, "run %d: status %d\nstderr: %s", i, r.status, r.err);
		cr_expect_eq(harness_findings(r.json), 0, "%s", r.log);
		harness_free(&r);
		if (r.status)
			break;
	}
	harness_timeout_s = limit;
}

/* rel-signal MODE under the checker, within seconds: it prints "done",
 * exits 0 and reports nothing. */
static void expect_done_clean(const char *mode, double seconds)
{
	struct harness_run r;
	double limit = harness_timeout_s;
	char arg[32];

	snprintf(arg, sizeof(arg), "%s", mode);
	harness_timeout_s = seconds;
	run(1, NULL, ARGV("rel-signal", arg), &r);
	harness_timeout_s = limit;
	cr_expect_eq(r.status, 0, "%s: status %d\nstderr: %s", mode, r.status, r.err);
	cr_expect_str_eq(r.out, "done\n");
	cr_expect_eq(harness_findings(r.json), 0, "%s", r.log);
	harness_free(&r);
}

/* fork() from a signal handler that interrupted the runtime, 100 times:
 * neither process waits for the runtime's locks. */
Test(reliability, fork_from_a_signal_handler_inside_the_runtime)
{
	expect_done_clean("fork", 20);
}

/* A signal handler allocates blocks the program frees later: none may come
 * from the runtime's private heap, which libdw allocates from while the
 * runtime symbolises (the real free() aborted on such a block when the
 * heap was also used around each stack capture). */
Test(reliability, signal_handler_allocations_are_the_programs)
{
	struct harness_run r;
	double limit = harness_timeout_s;

	harness_timeout_s = 60;
	run(1, NULL, ARGV("rel-signal", "keep"), &r);
	harness_timeout_s = limit;
	/* the handler's malloc() is itself a finding, reported once */
	cr_expect_eq(r.status, 66, "status %d\nstderr: %s", r.status, r.err);
	cr_expect_str_eq(r.out, "done\n");
	cr_expect_eq(harness_count(r.json, "signal-unsafe-call"), 1, "%s", r.log);
	cr_expect_eq(harness_findings(r.json), 1, "%s", r.log);
	harness_free(&r);
}

/* ---- 4. dlopen / dlclose ---- */

static const char *module(void)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/.libs/libdlocks.so", harness_prog("."));
	return path;
}

Test(reliability, dlopen_module_inversion_names_its_symbols)
{
	struct harness_run r;
	char mod[4096];

	snprintf(mod, sizeof(mod), "%s", module());
	cr_assert_eq(access(mod, R_OK), 0, "%s: %s", mod, strerror(errno));
	expect_one_inversion(ARGV("rel-dlopen", "bug", mod), &r);
	cr_expect_str_eq(r.out, "round 0 done\nround 1 done\n");
	/* dlclosed before exit: the names were taken while it was loaded */
	cr_expect(strstr(r.json, "\"from\": \"lib_lock_a\"") && strstr(r.json, "\"to\": \"lib_lock_a\""),
		  "cycle does not name lib_lock_a:\n%s", r.json);
	cr_expect(strstr(r.json, "\"from\": \"lib_lock_b\"") && strstr(r.json, "\"to\": \"lib_lock_b\""),
		  "cycle does not name lib_lock_b:\n%s", r.json);
	harness_free(&r);
}

/* Heap locks made in a module that is unloaded before the process ends:
 * their classes, first named when the report is written at exit, are
 * named by function and line all the same (the module's file is read by
 * its path). */
Test(reliability, dlclosed_module_heap_locks_keep_their_names)
{
	struct harness_run r;
	char mod[4096];

	snprintf(mod, sizeof(mod), "%s", module());
	run(1, NULL, ARGV("rel-dlopen", "heap", mod), &r);
	cr_expect_eq(r.status, 0, "status %d\nstderr: %s", r.status, r.err);
	cr_expect_str_eq(r.out, "done\n");
	cr_expect_eq(harness_findings(r.json), 0, "unexpected findings:\n%s", r.log);
	const char *name = "\"name\": \"mutex@heap_pair_made_here:";
	const char *first = strstr(r.json, name);
	cr_expect(first && strstr(first + 1, name), "two classes named by their lines expected:\n%s",
		  r.json);
	harness_free(&r);
}

/* Two modules, one after the other at the same address, each with a static
 * lock taken with the program's in its own order: the unloaded module's
 * lock is forgotten, not merged with the next one's. */
Test(reliability, module_mapped_where_an_unloaded_one_was_has_its_own_locks)
{
	struct harness_run r;
	char a[4096], b[4096];

	snprintf(a, sizeof(a), "%s/.libs/libdorder-a.so", harness_prog("."));
	snprintf(b, sizeof(b), "%s/.libs/libdorder-b.so", harness_prog("."));
	run(1, NULL, ARGV("rel-dlopen", "swap", a, b), &r);
	if (r.status == 3)
		cr_skip_test("the second module was not mapped where the first was");
	cr_expect_eq(harness_findings(r.json), 0, "unexpected findings:\n%s", r.log);
	cr_expect_str_eq(r.out, "done\n", "stderr: %s", r.err);
	cr_expect_eq(r.status, 0, "status %d\nstderr: %s", r.status, r.err);
	harness_free(&r);
}

Test(reliability, dlopen_module_clean)
{
	char mod[4096];

	snprintf(mod, sizeof(mod), "%s", module());
	expect_clean_as_native(ARGV("rel-dlopen", "clean", mod));
}

/*
 * A library preloaded after the runtime leaves a dlerror() message pending
 * from its constructor; the runtime's own resolution of the allocator then
 * has dlsym() free that message through the interposed free(), before free
 * itself is resolved.  That recursed until the stack overflowed.
 */
Test(reliability, preloaded_module_with_a_pending_dlerror)
{
	static char lib[4096];

	snprintf(lib, sizeof(lib), "%s/.libs/libdlerr.so", harness_prog("."));
	cr_assert_eq(access(lib, R_OK), 0, "%s: %s", lib, strerror(errno));
	harness_extra_preload = lib;
	expect_clean_as_native(ARGV("reuse", "free"));
	harness_extra_preload = NULL;
}

/*
 * The program closes every descriptor it did not open and puts a file of
 * its own under the numbers, the log's included: the report written after
 * that goes to the log, opened again, and not into the program's file.
 */
Test(reliability, log_file_survives_the_program_closing_descriptors)
{
	struct harness_run r;

	run(1, NULL, ARGV("rel-fds", "closefrom"), &r);
	cr_expect_str_eq(r.out, "file: program data\n", "stderr: %s", r.err);
	cr_expect_eq(harness_count(r.json, "lock-order-inversion"), 2, "%s", r.json);
	cr_expect_eq(count_lines_with(r.log, "fencedep: lock-order-inversion:"), 2, "log:\n%s", r.log);
	cr_expect_eq(r.status, 66, "status %d\nstderr: %s", r.status, r.err);
	harness_free(&r);
}

/* Remove every file of dir whose name starts with prefix; how many. */
static int remove_prefixed(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d))) {
		if (strncmp(e->d_name, prefix, strlen(prefix)))
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		n += unlink(path) == 0;
	}
	if (d)
		closedir(d);
	return n;
}

/* Relative report paths mean the directory the program started in, even
 * after it changed to / (as a daemon does) before its finding. */
Test(reliability, relative_report_paths_hold_after_chdir)
{
	struct harness_run r;
	char cwd[4096], prefix[64], opts[256];

	cr_assert(getcwd(cwd, sizeof(cwd)));
	snprintf(prefix, sizeof(prefix), "fdep-chdir-%d", (int)getpid());
	snprintf(opts, sizeof(opts), "log_path=%s-log:json_path=%s-json", prefix, prefix);
	run(1, opts, ARGV("rel-fds", "chdir"), &r);
	cr_expect_str_eq(r.out, "done\n", "stderr: %s", r.err);
	cr_expect_eq(r.status, 66, "status %d\nstderr: %s", r.status, r.err);
	harness_free(&r);
	int in_root = remove_prefixed("/", prefix);
	cr_expect_eq(remove_prefixed(cwd, prefix), 2, "the log and the JSON report in %s", cwd);
	cr_expect_eq(in_root, 0, "reports written to / after the chdir");
}

/* ---- 5. another allocator preloaded ---- */

static void with_allocator(const char *lib)
{
	struct harness_run r;

	if (access(lib, R_OK))
		cr_skip_test("%s is not installed", lib);
	harness_extra_preload = lib;
	expect_clean_as_native(ARGV("rel-alloc", "clean"));
	expect_one_inversion(ARGV("rel-alloc", "bug"), &r);
	cr_expect(strstr(r.json, "\"from\": \"lock_a\"") && strstr(r.json, "\"from\": \"lock_b\""),
		  "%s", r.json);
	harness_free(&r);
	harness_extra_preload = NULL;
}

/*
 * jemalloc's own start-up calls mmap() with one of its mutexes held; the
 * runtime must not come back into the allocator from there (the real
 * allocator runs untracked, preload/malloc.c).
 */
Test(reliability, jemalloc_preloaded)
{
	with_allocator("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2");
}

Test(reliability, tcmalloc_preloaded)
{
	with_allocator("/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4");
}

/* ---- 6. C++ ---- */

Test(reliability, cxx_std_mutex_inversion)
{
	struct harness_run r;

	expect_one_inversion(ARGV("rel-cxx", "bug"), &r);
	cr_expect_str_eq(r.out, "done\n");
	harness_free(&r);
}

/*
 * C++ names read as C++: the frames demangled (with parameters), the
 * classes of never-initialised std::mutex members named after the
 * program's method that first locked them (no parameters), not after the
 * standard library's __gthread_mutex_lock, and a static std::mutex in a
 * namespace by its demangled name.  At -O2 everything is inlined into
 * std::thread's _M_run and main: the frames are still the methods', at
 * their lines in the program.
 */
Test(reliability, cxx_names_demangled_and_classes_named_by_the_program)
{
	struct harness_run r;

	expect_one_inversion(ARGV("cxx-names"), &r);
	cr_expect_str_eq(r.out, "1 1\n");
	cr_expect_not_null(strstr(r.log, " bank::Ledger::credit_then_debit() ("), "%s", r.log);
	cr_expect_not_null(strstr(r.log, " bank::Ledger::debit_then_credit() ("), "%s", r.log);
	cr_expect_null(strstr(r.log, "_ZN"), "a mangled name: %s", r.log);
	cr_expect_null(strstr(r.log, "gthread"), "%s", r.log);
	/* both first locked by the thread, in debit_then_credit */
	cr_expect_not_null(strstr(r.json, "\"from\": \"mutex@bank::Ledger::debit_then_credit:31#1\""),
			   "%s", r.json);
	cr_expect_not_null(strstr(r.json, "\"from\": \"mutex@bank::Ledger::debit_then_credit:32#1\""),
			   "%s", r.json);
	cr_expect_not_null(strstr(r.json, "{\"name\": \"bank::registry_lock\""), "%s", r.json);
	cr_expect_not_null(strstr(r.json, "\"function\": \"bank::Ledger::credit_then_debit()\""),
			   "%s", r.json);
	cr_expect_not_null(strstr(r.log, "/tests/progs/cxx-names.cc:40\n"), "%s", r.log);
	harness_free(&r);
}

/*
 * Unoptimised, the standard library's wrappers are frames of their own:
 * demangled, and passed over for the class names and for the place of the
 * first and SUMMARY lines, which name the program's method, not a
 * system header's __gthread_mutex_lock.
 */
Test(reliability, cxx_names_unoptimised_place_is_the_programs)
{
	struct harness_run r;
	const char *sum, *first;
	char line[1024];

	expect_one_inversion(ARGV("cxx-names-O0"), &r);
	cr_expect_not_null(strstr(r.log, " std::mutex::lock() ("), "%s", r.log);
	cr_expect_not_null(strstr(r.log, " __gthread_mutex_lock(pthread_mutex_t*) ("), "%s", r.log);
	cr_expect_not_null(strstr(r.json, "\"from\": \"mutex@bank::Ledger::debit_then_credit:31#1\""),
			   "%s", r.json);
	sum = strstr(r.log, "\nSUMMARY: fencedep: lock-order-inversion ");
	cr_assert_not_null(sum, "%s", r.log);
	cr_expect_not_null(strstr(sum, "/tests/progs/cxx-names.cc:40 in "
				       "bank::Ledger::credit_then_debit()\n"), "%s", sum);
	first = strstr(r.log, "\nfencedep: lock-order-inversion: ");
	cr_assert_not_null(first, "%s", r.log);
	snprintf(line, sizeof(line), "%.*s", (int)strcspn(first + 1, "\n"), first + 1);
	cr_expect_not_null(strstr(line, " at /"), "%s", line);
	cr_expect_not_null(strstr(line, "/tests/progs/cxx-names.cc:40 in "
					"bank::Ledger::credit_then_debit()"), "%s", line);
	cr_expect_null(strstr(line, "/usr/include"), "%s", line);
	harness_free(&r);
}

/* The work space of symbolising (libdw's line tables, the C++ demangler on
 * a 490-character name) is the runtime's, not the reporting thread's: a
 * thread with a 64 KiB stack reports, where the report used 173 KiB of it
 * before, and overflowed into the guard. */
Test(reliability, report_from_a_small_stack_names_a_long_cxx_function)
{
	struct harness_run r;

	run(1, NULL, ARGV("cxx-longname", "64"), &r);
	cr_expect_eq(r.status, FINDING_EXIT, "status %d\nstderr: %s", r.status, r.err);
	cr_expect_str_eq(r.out, "done\n");
	cr_expect_eq(harness_count(r.json, "lock-order-inversion"), 1, "%s", r.log);
	cr_expect_eq(harness_findings(r.json), 1, "%s", r.log);
	cr_expect(strstr(r.json, "\"function\": \"void take_b_then_a<pack<"
				 "a_long_component_class_name_number_0, "),
		  "the long name, demangled:\n%s", r.log);
	unsigned used = 0;
	cr_expect(sscanf(r.err, "used %u KiB", &used) == 1 && used <= 48,
		  "the thread's stack used: %s", r.err);
	harness_free(&r);
}

/* A thread made with PTHREAD_STACK_MIN (16 KiB, glibc's descriptor and
 * static TLS at its top): the stack of the first lock's class and the
 * report of its inversion took more than that, and the program died of a
 * SIGSEGV with nothing written.  The capture keeps to the caller's frame
 * near the end, and the report is written on a stack of its own. */
Test(reliability, smallest_thread_stack_reports_its_inversion)
{
	struct harness_run r;

	run(1, NULL, ARGV("small-stack", "invert"), &r);
	cr_expect_eq(r.status, FINDING_EXIT, "status %d\nstderr: %s", r.status, r.err);
	cr_expect_str_eq(r.out, "ok\n");
	cr_expect_eq(harness_count(r.json, "lock-order-inversion"), 1, "%s", r.log);
	cr_expect_eq(harness_findings(r.json), 1, "%s", r.log);
	harness_free(&r);
}

Test(reliability, smallest_thread_stack_clean)
{
	expect_clean_as_native(ARGV("small-stack", "clean"));
}

Test(reliability, cxx_condvar_shared_mutex_clean)
{
	expect_clean_as_native(ARGV("rel-cxx", "clean"));
}

/* ---- 7. setuid: options from the environment are not honoured ---- */

static int sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static int count_files(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		if (!strncmp(e->d_name, prefix, strlen(prefix)))
			n++;
	if (d)
		closedir(d);
	return n;
}

Test(reliability, setuid_ignores_environment_options)
{
	char dir[] = "/tmp/fdep-suid-XXXXXX";

	if (geteuid() != 0)
		cr_skip_test("needs root to make a setuid program");
	if (sh("command -v setpriv >/dev/null 2>&1"))
		cr_skip_test("setpriv is not installed");
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(sh("cp '%s' %s/prog && chmod 0777 %s && chown root:root %s/prog && "
			"chmod 0755 %s/prog",
			harness_prog("rel-secure"), dir, dir, dir, dir),
		     0);
	/* control: not setuid, run as nobody, the environment is honoured */
	int st = sh("cd / && FENCEDEP_OPTIONS=json_path=%s/plain setpriv --reuid=nobody "
		    "--regid=nogroup --clear-groups %s/prog bug >%s/out 2>%s/err",
		    dir, dir, dir, dir);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == FINDING_EXIT, "control run: status %d", st);
	cr_assert_eq(count_files(dir, "plain."), 1, "control run wrote no JSON report");
	/* setuid root, run as nobody: AT_SECURE, the options are ignored */
	cr_assert_eq(sh("chmod 4755 %s/prog", dir), 0);
	st = sh("cd / && FENCEDEP_OPTIONS=json_path=%s/secure setpriv --reuid=nobody "
		"--regid=nogroup --clear-groups %s/prog bug >%s/out 2>%s/err",
		dir, dir, dir, dir);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		cr_skip_test("cannot run the setuid copy here");
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == FINDING_EXIT,
		  "setuid run: status %d (the finding still sets the exit status)", st);
	cr_expect_eq(count_files(dir, "secure"), 0, "a setuid process wrote to json_path");
	/* the finding went to the default place, stderr */
	cr_expect_eq(sh("grep -q lock-order-inversion %s/err", dir), 0,
		     "no report on stderr in the setuid run");
	sh("rm -rf %s", dir);
}

/* ---- 8. report files ---- */

/* A whole JSON document: starts with '{', ends with "}\n", braces balance
 * outside strings. */
static int json_complete(const char *s, size_t n)
{
	int depth = 0, in_str = 0;

	if (n < 3 || s[0] != '{' || s[n - 1] != '\n' || s[n - 2] != '}')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
		} else if (c == '"')
			in_str = 1;
		else if (c == '{' || c == '[')
			depth++;
		else if (c == '}' || c == ']')
			depth--;
	}
	return depth == 0 && !in_str;
}

Test(reliability, report_never_seen_partial_mode_0600)
{
	char dir[] = "/tmp/fdep-atomic-XXXXXX", opts[256], path[512] = "";
	static char buf[1 << 22];
	int reads = 0, bad = 0;

	cr_assert_not_null(getenv("FENCEDEP_LIBRARY"), "FENCEDEP_LIBRARY is not set");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(opts, sizeof(opts), "json_path=%s/r", dir);
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		setenv("LD_PRELOAD", getenv("FENCEDEP_LIBRARY"), 1);
		setenv("FENCEDEP_OPTIONS", opts, 1);
		execl(harness_prog("rel-report"), "rel-report", "many", "150", "2", (char *)NULL);
		_exit(127);
	}
	snprintf(path, sizeof(path), "%s/r.%d.json", dir, (int)pid);
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	int st;
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		int fd = open(path, O_RDONLY);
		if (fd >= 0) {
			ssize_t n = read(fd, buf, sizeof(buf));
			close(fd);
			if (n > 0) {
				reads++;
				if (!json_complete(buf, (size_t)n))
					bad++;
			}
		}
		if (w == pid)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > 30) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			cr_assert_fail("rel-report hung");
		}
	}
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == FINDING_EXIT, "status %d", st);
	cr_expect_gt(reads, 20, "only %d reads while the program ran", reads);
	cr_expect_eq(bad, 0, "%d of %d reads saw an incomplete report", bad, reads);
	struct stat sb;
	cr_assert_eq(lstat(path, &sb), 0, "%s: %s", path, strerror(errno));
	cr_expect(S_ISREG(sb.st_mode));
	cr_expect_eq(sb.st_mode & 07777, 0600, "report mode %o", sb.st_mode & 07777);
	cr_expect_eq(count_files(dir, "r."), 1, "stray files next to the report");
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "jq -e '.findings | length == 150' %s >/dev/null", path);
	if (!sh("command -v jq >/dev/null 2>&1"))
		cr_expect_eq(system(cmd), 0, "jq: the final report does not hold 150 findings");
	sh("rm -rf %s", dir);
}

Test(reliability, report_one_per_process)
{
	struct harness_run r;

	run(1, NULL, ARGV("rel-report", "fork"), &r);
	cr_expect_eq(r.nreports, 3, "reports: %d", r.nreports);
	cr_expect_eq(harness_count(r.json, "lock-order-inversion"), 3, "%s", r.log);
	/* three different pids */
	int pids[3], n = 0;
	for (const char *p = r.json; n < 3 && (p = strstr(p, "\"pid\": ")); p++)
		pids[n++] = atoi(p + 7);
	cr_assert_eq(n, 3);
	cr_expect(pids[0] != pids[1] && pids[1] != pids[2] && pids[0] != pids[2]);
	cr_expect_str_eq(r.out, "done\n");
	harness_free(&r);
}

/* Between findings the graph part may be one rendered a moment before;
 * the findings never wait, and a process killed before its exit-time
 * report leaves a whole document with every finding and at least the
 * graph of its first one. */
Test(reliability, report_of_a_killed_process_has_every_finding)
{
	struct harness_run r;

	run(1, NULL, ARGV("rel-report", "graph", "3000", "30"), &r);
	cr_expect_eq(r.status, 128 + SIGTERM, "status %d: %s", r.status, r.err);
	cr_expect_str_eq(r.out, "done\n");
	cr_assert_eq(r.nreports, 1, "%s", r.err);
	/* the harness ends each report it collects with one more newline */
	size_t len = strlen(r.json) - 1;
	cr_expect(json_complete(r.json, len), "not a whole document (%zu bytes, ends %s)", len,
		  len > 40 ? r.json + len - 40 : r.json);
	cr_expect_eq(harness_count(r.json, "lock-order-inversion"), 30, "%s", r.log);
	int edges = 0;
	for (const char *p = strstr(r.json, "\"edges\": ["); p && (p = strstr(p, "{\"from\": "));
	     p++)
		edges++;
	cr_expect_geq(edges, 3000, "edges in the graph part: %d", edges);
	harness_free(&r);
}

Test(reliability, report_does_not_follow_planted_symlinks)
{
	char dir[] = "/tmp/fdep-victim-XXXXXX", victim[256];
	struct harness_run r;
	char buf[64] = "";

	cr_assert_not_null(mkdtemp(dir));
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	FILE *f = fopen(victim, "w");
	cr_assert_not_null(f);
	fputs("precious\n", f);
	fclose(f);
	chmod(victim, 0644);
	run(1, NULL, ARGV("rel-report", "symlink", victim), &r);
	cr_expect_eq(r.status, FINDING_EXIT, "status %d\nstderr: %s", r.status, r.err);
	f = fopen(victim, "r");
	cr_assert_not_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	cr_expect_str_eq(buf, "precious\n", "the victim was written through a symlink");
	struct stat sb;
	stat(victim, &sb);
	cr_expect_eq(sb.st_mode & 07777, 0644, "the victim's mode changed");
	/* the report itself replaced the link */
	cr_expect_eq(harness_count(r.json, "lock-order-inversion"), 1, "%s", r.json);
	cr_expect_str_eq(r.out, "done\n");
	harness_free(&r);
	sh("rm -rf %s", dir);
}

/* A report that cannot be created at start is a configuration error, as
 * fencedep(1) says: one line naming it, status 2, the program not run. */
static void unwritable_at_start(const char *opts, const char *says)
{
	struct harness_run r;

	run(1, opts, ARGV("rel-report", "many", "5", "0"), &r);
	cr_expect_str_eq(r.out, "", "the program ran");
	cr_expect_eq(r.status, 2, "status %d\nstderr: %s", r.status, r.err);
	cr_expect_eq(count_lines_with(r.err, "\n"), 1, "stderr:\n%s", r.err);
	cr_expect(strstr(r.err, says) == r.err, "stderr:\n%s", r.err);
	harness_free(&r);
}

Test(reliability, unwritable_json_path_is_an_error)
{
	unwritable_at_start("json_path=/nonexistent/fdep/r",
			    "fencedep: json_path: cannot create '/nonexistent/fdep/r.");
}

Test(reliability, unwritable_log_path_is_an_error)
{
	unwritable_at_start("log_path=/nonexistent/fdep/log",
			    "fencedep: log_path: cannot create '/nonexistent/fdep/log.");
}

/* ---- 9. out of memory ---- */

Test(reliability, out_of_memory_said_once_program_runs_on)
{
	struct harness_run native, r;

	run(0, NULL, ARGV("rel-capacity", "clean"), &native);
	cr_assert_eq(native.status, 0, "natively: %d %s", native.status, native.err);
	run(1, NULL, ARGV("rel-capacity", "clean"), &r);
	cr_expect_eq(r.status, 0, "status %d\nstderr: %s", r.status, r.err);
	cr_expect_str_eq(r.out, native.out);
	cr_expect_eq(count_lines_with(r.err, "out of memory"), 1, "stderr:\n%s", r.err);
	cr_expect_eq(count_lines_with(r.err, "\n"), 1, "more than one line on stderr:\n%s", r.err);
	cr_expect_eq(harness_findings(r.json), 0, "%s", r.log);
	harness_free(&native);
	harness_free(&r);
}
