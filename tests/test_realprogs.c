/*
 * test_realprogs.c - multi-threaded programs from Debian's packages, which
 * no one here wrote, run natively and under the preloaded runtime: the
 * output must be identical byte for byte, with no finding and no crash.
 * A program that is not installed is skipped.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define ARGV(...) ((char *const[]){ __VA_ARGS__, NULL })
#define INPUT_BYTES (6u << 20)
#define TIME_LIMIT 60

static char dir[64];

static void cleanup(void)
{
	char cmd[128];

	if (!dir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/fdep-real-XXXXXX");
	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	/* the same collation natively and under the runtime, whatever the caller's */
	setenv("LC_ALL", "C", 1);
	harness_timeout_s = TIME_LIMIT;
}

TestSuite(realprogs, .init = setup, .fini = cleanup);

static char *path_in(const char *name)
{
	static char bufs[4][256];
	static int next;
	char *p = bufs[next++ % 4];

	snprintf(p, sizeof(bufs[0]), "%s/%s", dir, name);
	return p;
}

static void need(const char *prog)
{
	if (access(prog, X_OK))
		cr_skip_test("%s is not installed", prog);
}

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *data = malloc((size_t)n + 1);
	cr_assert_eq(fread(data, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	data[n] = 0;
	*len = (size_t)n;
	return data;
}

/*
 * Text of random words from a fixed seed, INPUT_BYTES long: lines of one
 * to eight words out of 5,000, about 30 bytes each, so that it compresses
 * like text and sorts with many equal keys.
 */
static char *make_text(size_t *len)
{
	static char words[5000][10];
	uint64_t s = 0x2545f4914f6cdd1dull;
	char *text = malloc(INPUT_BYTES + 128);
	size_t n = 0;

#define NEXT() (s ^= s << 13, s ^= s >> 7, s ^= s << 17, s)
	for (int i = 0; i < 5000; i++) {
		int l = 2 + (int)(NEXT() % 8);
		for (int j = 0; j < l; j++)
			words[i][j] = (char)('a' + NEXT() % 26);
		words[i][l] = 0;
	}
	while (n < INPUT_BYTES) {
		int nw = 1 + (int)(NEXT() % 8);
		for (int w = 0; w < nw; w++)
			n += (size_t)sprintf(text + n, "%s%s", w ? " " : "", words[NEXT() % 5000]);
		text[n++] = '\n';
	}
#undef NEXT
	text[n] = 0;
	*len = n;
	return text;
}

/* The input text, written to <dir>/<name>. */
static char *input_text(const char *name, size_t *len)
{
	char *text = make_text(len);

	write_file(path_in(name), text, *len);
	return text;
}

/* One run under the runtime: it ended by itself, cleanly, with no finding. */
static void expect_silent(const struct harness_run *r, const char *what)
{
	cr_assert_neq(r->status, 128 + SIGKILL, "%s: killed after %d s", what, TIME_LIMIT);
	cr_expect_eq(r->status, 0, "%s: status %d\nstderr: %s", what, r->status, r->err);
	cr_expect_eq(r->nreports, 1, "%s: %d reports", what, r->nreports);
	cr_expect_eq(harness_findings(r->json), 0, "%s: findings\n%s", what, r->log);
}

/* The same command natively and preloaded: same status and stdout. */
static void run_both(char *const argv[], struct harness_run *native, struct harness_run *checked)
{
	cr_assert_eq(harness_run_opts(0, NULL, argv, native), 0);
	cr_assert_eq(native->status, 0, "%s natively: status %d\n%s", argv[0], native->status,
		     native->err);
	cr_assert_eq(harness_run(NULL, argv, checked), 0);
	expect_silent(checked, argv[0]);
	cr_expect_str_eq(checked->out, native->out);
}

static void expect_same_files(const char *a, const char *b)
{
	size_t la, lb;
	char *da = read_file(a, &la), *db = read_file(b, &lb);

	cr_expect_eq(la, lb, "%s: %zu bytes, %s: %zu bytes", a, la, b, lb);
	cr_expect(la == lb && !memcmp(da, db, la), "%s and %s differ", a, b);
	free(da);
	free(db);
}

/* xz with two threads and 1 MiB blocks: six blocks compressed in parallel,
 * then decompressed with two threads. */
Test(realprogs, xz_two_threads_same_output_no_finding)
{
	struct harness_run native, checked, unpacked;
	size_t len;

	need("/usr/bin/xz");
	char *text = input_text("native.txt", &len);
	write_file(path_in("checked.txt"), text, len);
	cr_assert_eq(harness_run_opts(0, NULL,
				      ARGV("/usr/bin/xz", "-T2", "--block-size=1MiB", "-2", "-k",
					   "-q", path_in("native.txt")),
				      &native),
		     0);
	cr_assert_eq(native.status, 0, "%s", native.err);
	cr_assert_eq(harness_run(NULL,
				 ARGV("/usr/bin/xz", "-T2", "--block-size=1MiB", "-2", "-k", "-q",
				      path_in("checked.txt")),
				 &checked),
		     0);
	expect_silent(&checked, "xz -T2");
	expect_same_files(path_in("native.txt.xz"), path_in("checked.txt.xz"));
	cr_assert_eq(harness_run(NULL, ARGV("/usr/bin/xz", "-d", "-T2", "-c",
					    path_in("checked.txt.xz")),
				 &unpacked),
		     0);
	expect_silent(&unpacked, "xz -d -T2");
	cr_expect(strlen(unpacked.out) == len && !memcmp(unpacked.out, text, len),
		  "xz -d -T2 did not give the input back");
	harness_free(&native);
	harness_free(&checked);
	harness_free(&unpacked);
	free(text);
}

/* zstd with two worker threads and 1 MiB jobs. */
Test(realprogs, zstd_two_threads_same_output_no_finding)
{
	struct harness_run native, checked, unpacked;
	size_t len;

	need("/usr/bin/zstd");
	char *text = input_text("input.txt", &len);
	cr_assert_eq(harness_run_opts(0, NULL,
				      ARGV("/usr/bin/zstd", "-T2", "-B1MiB", "-q", "-f",
					   path_in("input.txt"), "-o", path_in("native.zst")),
				      &native),
		     0);
	cr_assert_eq(native.status, 0, "%s", native.err);
	cr_assert_eq(harness_run(NULL,
				 ARGV("/usr/bin/zstd", "-T2", "-B1MiB", "-q", "-f",
				      path_in("input.txt"), "-o", path_in("checked.zst")),
				 &checked),
		     0);
	expect_silent(&checked, "zstd -T2");
	expect_same_files(path_in("native.zst"), path_in("checked.zst"));
	cr_assert_eq(harness_run(NULL, ARGV("/usr/bin/zstd", "-d", "-T2", "-q", "-c",
					    path_in("checked.zst")),
				 &unpacked),
		     0);
	expect_silent(&unpacked, "zstd -d");
	cr_expect(strlen(unpacked.out) == len && !memcmp(unpacked.out, text, len),
		  "zstd -d did not give the input back");
	harness_free(&native);
	harness_free(&checked);
	harness_free(&unpacked);
	free(text);
}

/*
 * sort with two threads and a 12 MiB buffer: GNU sort splits a buffer
 * between threads only from 128 Ki lines, and the buffer must still be
 * too small for the whole input, so that sorted runs are spilled to
 * temporary files and merged.
 */
Test(realprogs, sort_parallel_two_same_output_no_finding)
{
	struct harness_run native, checked;
	size_t len;

	need("/usr/bin/sort");
	free(input_text("input.txt", &len));
	cr_assert_eq(harness_run_opts(0, NULL,
				      ARGV("/usr/bin/sort", "--parallel=2", "-S", "12M", "-T", dir,
					   "-o", path_in("native.out"), path_in("input.txt")),
				      &native),
		     0);
	cr_assert_eq(native.status, 0, "%s", native.err);
	cr_assert_eq(harness_run(NULL,
				 ARGV("/usr/bin/sort", "--parallel=2", "-S", "12M", "-T", dir,
				      "-o", path_in("checked.out"), path_in("input.txt")),
				 &checked),
		     0);
	expect_silent(&checked, "sort --parallel=2");
	expect_same_files(path_in("native.out"), path_in("checked.out"));
	harness_free(&native);
	harness_free(&checked);
}

static const char python_script[] =
	"import hashlib, queue, threading\n"
	"from concurrent.futures import ThreadPoolExecutor\n"
	"\n"
	"tasks = queue.Queue(maxsize=64)\n"
	"results = queue.Queue()\n"
	"lock = threading.Lock()\n"
	"rlock = threading.RLock()\n"
	"sem = threading.Semaphore(3)\n"
	"counts = {}\n"
	"\n"
	"def worker(name):\n"
	"    while True:\n"
	"        item = tasks.get()\n"
	"        if item is None:\n"
	"            tasks.task_done()\n"
	"            return\n"
	"        h = hashlib.sha256(('item %d' % item).encode() * 50).hexdigest()\n"
	"        with lock:\n"
	"            counts[name] = counts.get(name, 0) + 1\n"
	"        with sem, rlock, rlock:\n"
	"            results.put((item, h))\n"
	"        tasks.task_done()\n"
	"\n"
	"workers = [threading.Thread(target=worker, args=('w%d' % i,)) for i in range(4)]\n"
	"for w in workers:\n"
	"    w.start()\n"
	"for i in range(20000):\n"
	"    tasks.put(i)\n"
	"for _ in workers:\n"
	"    tasks.put(None)\n"
	"tasks.join()\n"
	"for w in workers:\n"
	"    w.join()\n"
	"out = sorted(results.get() for _ in range(results.qsize()))\n"
	"print('items', len(out), 'handled', sum(counts.values()))\n"
	"print('digest', hashlib.sha256(''.join(h for _, h in out).encode()).hexdigest())\n"
	"with ThreadPoolExecutor(max_workers=3) as pool:\n"
	"    print('pool', sum(pool.map(lambda x: x * x, range(5000))))\n"
	"cond = threading.Condition()\n"
	"box = []\n"
	"def producer():\n"
	"    for i in range(1000):\n"
	"        with cond:\n"
	"            box.append(i)\n"
	"            cond.notify()\n"
	"def consumer():\n"
	"    for _ in range(1000):\n"
	"        with cond:\n"
	"            while not box:\n"
	"                cond.wait()\n"
	"            box.pop()\n"
	"threads = [threading.Thread(target=consumer), threading.Thread(target=producer)]\n"
	"for t in threads:\n"
	"    t.start()\n"
	"for t in threads:\n"
	"    t.join()\n"
	"print('condition', len(box))\n";

/* Four workers on a queue.Queue, a Lock, an RLock, a Semaphore, a thread
 * pool and a Condition. */
Test(realprogs, python_threading_same_output_no_finding)
{
	struct harness_run native, checked;

	need("/usr/bin/python3");
	write_file(path_in("threads.py"), python_script, sizeof(python_script) - 1);
	run_both(ARGV("/usr/bin/python3", path_in("threads.py")), &native, &checked);
	cr_expect(strstr(native.out, "items 20000 handled 20000\n"), "%s", native.out);
	cr_expect(strstr(native.out, "pool 41654167500\ncondition 0\n"), "%s", native.out);
	harness_free(&native);
	harness_free(&checked);
}

static const char node_script[] =
	"'use strict';\n"
	"const { Worker, isMainThread, parentPort } = require('worker_threads');\n"
	"const crypto = require('crypto');\n"
	"const zlib = require('zlib');\n"
	"\n"
	"function work(n) {\n"
	"  const h = crypto.createHash('sha256');\n"
	"  for (let i = 0; i < 200; i++) h.update(`task ${n} round ${i}\\n`);\n"
	"  return h.digest('hex');\n"
	"}\n"
	"\n"
	"if (!isMainThread) {\n"
	"  parentPort.on('message', (msg) => {\n"
	"    if (msg.stop) { parentPort.close(); return; }\n"
	"    Atomics.add(new Int32Array(msg.shared), 0, 1);\n"
	"    parentPort.postMessage({ id: msg.id, hash: work(msg.id) });\n"
	"  });\n"
	"} else {\n"
	"  const WORKERS = 2, TASKS = 400;\n"
	"  const shared = new SharedArrayBuffer(4);\n"
	"  const results = new Array(TASKS);\n"
	"  const pool = [];\n"
	"  let next = 0, finished = 0;\n"
	"  const done = new Promise((resolve) => {\n"
	"    for (let w = 0; w < WORKERS; w++) {\n"
	"      const worker = new Worker(__filename);\n"
	"      worker.on('message', (r) => {\n"
	"        results[r.id] = r.hash;\n"
	"        finished++;\n"
	"        if (next < TASKS) worker.postMessage({ id: next++, shared });\n"
	"        else if (finished === TASKS) resolve();\n"
	"      });\n"
	"      pool.push(worker);\n"
	"    }\n"
	"    for (const worker of pool) worker.postMessage({ id: next++, shared });\n"
	"  });\n"
	"  const zipped = Promise.all([0, 1, 2, 3].map((i) => new Promise((res, rej) =>\n"
	"    zlib.gzip(Buffer.from(`chunk ${i} `.repeat(20000)), (e, b) => e ? rej(e) :\n"
	"      zlib.gunzip(b, (e2, u) => e2 ? rej(e2) : res(u.length))))));\n"
	"  Promise.all([done, zipped]).then(([, sizes]) => {\n"
	"    for (const worker of pool) worker.postMessage({ stop: true });\n"
	"    const all = crypto.createHash('sha256').update(results.join('')).digest('hex');\n"
	"    console.log(`tasks ${finished} counted ${new Int32Array(shared)[0]}`);\n"
	"    console.log(`digest ${all}`);\n"
	"    console.log(`gzip round trips ${sizes.join(' ')}`);\n"
	"  });\n"
	"}\n";

/* A pool of two worker_threads fed through messages, a SharedArrayBuffer
 * counter, and zlib jobs on libuv's thread pool. */
Test(realprogs, node_worker_threads_pool_same_output_no_finding)
{
	struct harness_run native, checked;

	need("/usr/bin/node");
	write_file(path_in("pool.js"), node_script, sizeof(node_script) - 1);
	run_both(ARGV("/usr/bin/node", path_in("pool.js")), &native, &checked);
	cr_expect(strstr(native.out, "tasks 400 counted 400\n"), "%s", native.out);
	cr_expect(strstr(native.out, "gzip round trips 160000 160000 160000 160000\n"), "%s",
		  native.out);
	harness_free(&native);
	harness_free(&checked);
}
