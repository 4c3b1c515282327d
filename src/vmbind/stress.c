/*
 * stress.c - vmbind-stress: clients bind, exec and unbind on their own
 * VMs while the core mm invalidates their userptr ranges and memory
 * pressure evicts their objects.  See vmbind-stress(1).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmbind.h"

#define LOCAL_BOS 4
#define EXT_BOS 2
#define BO_PAGES 8
#define RANGES 4
#define RANGE_PAGES 4
#define SLOTS 16
#define MAX_THREADS 64

struct client {
	int idx;
	pthread_t thread;
	uint64_t rng;
	struct gpu_vm *vm;
	struct gem_object *local[LOCAL_BOS];
	struct gem_object *ext[EXT_BOS];
	struct gem_object *exported;
	struct gem_object *imported;
	struct mm_range *ranges;
	bool range_bound[RANGES];
	struct gpu_vma *slots[SLOTS];
	struct dma_fence *inflight[2];
	unsigned long long ops;
};

static struct {
	unsigned threads;
	double seconds;
	unsigned long long iterations;
	unsigned long long seed;
	struct mm_struct mm;
	struct client clients[MAX_THREADS];
	atomic_bool stop;
	pthread_t mm_thread;
	pthread_t kswapd_thread;
} st;

static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static void usage(FILE *f)
{
	fputs("usage: vmbind-stress [--threads N] [--seconds S | --iterations N] [--seed N]\n"
	      "                     [--bug NAME] [--list-bugs]\n",
	      f);
}

static void bad_arg(const char *what, const char *arg)
{
	fprintf(stderr, "vmbind-stress: invalid %s: '%s'\n", what, arg);
	exit(2);
}

static unsigned long long parse_ull(const char *what, const char *arg, unsigned long long min,
				    unsigned long long max)
{
	unsigned long long v;
	char *end;

	if (!*arg || *arg == '-')
		bad_arg(what, arg);
	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || *end || v < min || v > max)
		bad_arg(what, arg);
	return v;
}

static void parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "threads", required_argument, NULL, 't' },
		{ "seconds", required_argument, NULL, 's' },
		{ "iterations", required_argument, NULL, 'i' },
		{ "seed", required_argument, NULL, 'S' },
		{ "bug", required_argument, NULL, 'b' },
		{ "list-bugs", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool have_seconds = false;
	char *end;
	int c, b;

	st.threads = 4;
	st.seconds = 2.0;
	st.seed = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			st.threads = (unsigned)parse_ull("thread count", optarg, 1, MAX_THREADS);
			break;
		case 's':
			errno = 0;
			st.seconds = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(st.seconds > 0) || st.seconds > 86400)
				bad_arg("number of seconds", optarg);
			have_seconds = true;
			break;
		case 'i':
			st.iterations = parse_ull("iteration count", optarg, 1, ULLONG_MAX / 2);
			break;
		case 'S':
			st.seed = parse_ull("seed", optarg, 0, ULLONG_MAX);
			break;
		case 'b':
			b = vmb_bug_lookup(optarg);
			if (b < 0) {
				fprintf(stderr, "vmbind-stress: unknown bug '%s' (see --list-bugs)\n",
					optarg);
				exit(2);
			}
			vmb_active_bug = (enum vmb_bug)b;
			break;
		case 'l':
			for (int i = 1; i < BUG_COUNT; i++)
				printf("%s\n", vmb_bugs[i].name);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			if (optopt)
				fprintf(stderr, "vmbind-stress: option '%s' needs a valid argument\n",
					argv[optind - 1]);
			else
				fprintf(stderr, "vmbind-stress: unknown option '%s'\n",
					argv[optind - 1]);
			exit(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vmbind-stress: unexpected argument '%s'\n", argv[optind]);
		exit(2);
	}
	if (have_seconds && st.iterations) {
		fprintf(stderr, "vmbind-stress: --seconds and --iterations exclude each other\n");
		exit(2);
	}
}

/* ---- clients ---------------------------------------------------------- */

static int free_slot(struct client *c, unsigned first)
{
	unsigned start = first + (unsigned)(rnd(&c->rng) % (SLOTS - first));

	for (unsigned i = 0; i < SLOTS - first; i++) {
		unsigned s = first + (start - first + i) % (SLOTS - first);

		if (!c->slots[s])
			return (int)s;
	}
	return -1;
}

static int bound_slot(struct client *c, unsigned first, bool userptr)
{
	unsigned start = first + (unsigned)(rnd(&c->rng) % (SLOTS - first));

	for (unsigned i = 0; i < SLOTS - first; i++) {
		unsigned s = first + (start - first + i) % (SLOTS - first);

		if (c->slots[s] && c->slots[s]->userptr == userptr)
			return (int)s;
	}
	return -1;
}

static void client_exec(struct client *c)
{
	struct dma_fence *f = NULL;

	if (c->vm->long_running) {
		/* no fence to wait for: bound the queue, unless it is preempted */
		for (int i = 0; i < 200 && sched_entity_queued(&c->vm->exec_entity) > 16; i++) {
			if (c->vm->preempt_fence && dma_fence_is_signaled(c->vm->preempt_fence))
				break;
			vmb_sleep_us(50);
		}
		vm_exec(c->vm, &f);
		dma_fence_put(f);
		return;
	}
	vm_exec(c->vm, &f);
	if (c->inflight[0]) {
		dma_fence_wait(c->inflight[0]);
		dma_fence_put(c->inflight[0]);
	}
	c->inflight[0] = c->inflight[1];
	c->inflight[1] = f;
}

static void client_bind_bo(struct client *c)
{
	struct gem_object *objs[LOCAL_BOS + EXT_BOS + 2];
	unsigned n = 0;
	int s = free_slot(c, 2);

	if (s < 0)
		return;
	for (unsigned i = 0; i < LOCAL_BOS; i++)
		objs[n++] = c->local[i];
	for (unsigned i = 0; i < EXT_BOS; i++)
		objs[n++] = c->ext[i];
	objs[n++] = c->exported;
	if (c->imported)
		objs[n++] = c->imported;
	c->slots[s] = vm_bind_bo(c->vm, objs[rnd(&c->rng) % n], (unsigned)s, rnd(&c->rng) & 1);
}

static void client_unbind(struct client *c, bool userptr)
{
	int s = bound_slot(c, 2, userptr);
	struct gpu_vma *vma;

	if (s < 0)
		return;
	vma = c->slots[s];
	c->slots[s] = NULL;
	if (userptr)
		c->range_bound[vma->range - c->ranges] = false;
	vm_unbind(vma, rnd(&c->rng) & 1);
}

static void client_bind_userptr(struct client *c)
{
	int s = free_slot(c, 2);
	unsigned r = 1 + (unsigned)(rnd(&c->rng) % (RANGES - 1));

	if (s < 0 || c->range_bound[r])
		return;
	c->range_bound[r] = true;
	c->slots[s] = vm_bind_userptr(c->vm, &c->ranges[r], (unsigned)s);
}

static void *client_main(void *arg)
{
	struct client *c = arg;

	while (!atomic_load(&st.stop) && (!st.iterations || c->ops < st.iterations)) {
		unsigned r = (unsigned)(rnd(&c->rng) % 100);

		vmb_gate_enter(&c->vm->client_gate);
		if (r < 45)
			client_exec(c);
		else if (r < 60)
			client_bind_bo(c);
		else if (r < 73)
			client_unbind(c, false);
		else if (r < 83)
			client_bind_userptr(c);
		else if (r < 93)
			client_unbind(c, true);
		else if (c->imported)
			vm_migrate_imported(c->imported);
		else
			client_exec(c);
		vmb_gate_exit(&c->vm->client_gate);
		c->ops++;
	}
	return NULL;
}

/* ---- the core mm and memory pressure --------------------------------- */

static void *mm_main(void *arg)
{
	uint64_t rng = st.seed * 7919 + 17;

	(void)arg;
	while (!atomic_load(&st.stop)) {
		struct mm_range *r = &st.mm.ranges[rnd(&rng) % st.mm.nranges];

		if (rnd(&rng) & 1)
			mm_munmap(&st.mm, r);
		else
			mm_page_out(&st.mm, r);
		vmb_sleep_us(50 + (unsigned)(rnd(&rng) % 150));
	}
	return NULL;
}

static void *kswapd_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&st.stop)) {
		if (mem_over_budget(8)) {
			fdep_reclaim_begin();
			shrinker_scan(4, false);
			fdep_reclaim_end();
		}
		vmb_sleep_us(200);
	}
	return NULL;
}

/* ---- setup and teardown ----------------------------------------------- */

static void client_setup(struct client *c, int idx)
{
	int id = idx * 100;

	c->idx = idx;
	c->rng = (st.seed + 1) * 0x9e3779b97f4a7c15ull + (uint64_t)idx * 0x632be59bd9b4e019ull;
	if (!c->rng)
		c->rng = 1;
	/* every other VM is long-running, guarded by preempt fences */
	c->vm = vm_create(idx, &st.mm, idx % 2 == 1);
	for (unsigned i = 0; i < LOCAL_BOS; i++)
		c->local[i] = bo_create(id + (int)i, BO_PAGES, c->vm);
	for (unsigned i = 0; i < EXT_BOS; i++)
		c->ext[i] = bo_create(id + 10 + (int)i, BO_PAGES, NULL);
	c->exported = bo_create(id + 20, BO_PAGES, NULL);
	c->ranges = &st.mm.ranges[idx * RANGES];
}

static void client_first_binds(struct client *c)
{
	/* a userptr and a buffer that stay bound for the whole run */
	c->range_bound[0] = true;
	c->slots[0] = vm_bind_userptr(c->vm, &c->ranges[0], 0);
	c->slots[1] = vm_bind_bo(c->vm, c->local[0], 1, true);
}

static void client_teardown(struct client *c)
{
	vmb_gate_enter(&c->vm->client_gate);
	for (unsigned i = 0; i < 2; i++) {
		if (c->inflight[i]) {
			dma_fence_wait(c->inflight[i]);
			dma_fence_put(c->inflight[i]);
		}
	}
	vm_destroy(c->vm);
	vmb_gate_exit(&c->vm->client_gate);
}

static void client_free(struct client *c)
{
	for (unsigned i = 0; i < LOCAL_BOS; i++)
		bo_destroy(c->local[i]);
	for (unsigned i = 0; i < EXT_BOS; i++)
		bo_destroy(c->ext[i]);
	bo_destroy(c->exported);
	vm_free(c->vm);
}

int main(int argc, char **argv)
{
	unsigned demand, n;
	unsigned long long ops = 0;
	uint64_t t0, t1;
	double secs;

	parse_args(argc, argv);
	n = st.threads;
	/* what every object and range would use if all were resident */
	demand = n * ((LOCAL_BOS + EXT_BOS + 1) * BO_PAGES + RANGES * RANGE_PAGES + 1);
	mem_init(demand * 2 + 256, demand * 2 / 3);
	bo_init_lru();
	sched_init();
	gpu_init();
	preempt_init();
	evict_init();
	mm_init(&st.mm, n * RANGES, RANGE_PAGES);

	for (unsigned i = 0; i < n; i++)
		client_setup(&st.clients[i], (int)i);
	/* each client imports the object its neighbour exports */
	for (unsigned i = 0; n > 1 && i < n; i++) {
		struct client *c = &st.clients[i];

		c->imported = st.clients[(i + n - 1) % n].exported;
		bo_attach(c->imported, c->vm);
	}
	for (unsigned i = 0; i < n; i++)
		client_first_binds(&st.clients[i]);
	/* the reclaim thread's first pass, before the clients start */
	fdep_reclaim_begin();
	shrinker_scan(1, false);
	fdep_reclaim_end();

	t0 = vmb_now_us();
	atomic_store(&st.stop, false);
	if (pthread_create(&st.mm_thread, NULL, mm_main, NULL) ||
	    pthread_create(&st.kswapd_thread, NULL, kswapd_main, NULL))
		vmb_fatal(1, "cannot start the mm threads");
	for (unsigned i = 0; i < n; i++) {
		if (pthread_create(&st.clients[i].thread, NULL, client_main, &st.clients[i]))
			vmb_fatal(1, "cannot start client %u", i);
	}
	if (!st.iterations) {
		vmb_sleep_us((unsigned)(st.seconds * 1e6));
		atomic_store(&st.stop, true);
	}
	for (unsigned i = 0; i < n; i++) {
		pthread_join(st.clients[i].thread, NULL);
		ops += st.clients[i].ops;
	}
	t1 = vmb_now_us();
	atomic_store(&st.stop, true);
	pthread_join(st.mm_thread, NULL);
	pthread_join(st.kswapd_thread, NULL);

	for (unsigned i = 0; i < n; i++)
		client_teardown(&st.clients[i]);
	/* the last evictions wait for the GPU, which is still running */
	evict_fini();
	for (unsigned i = 0; i < n; i++)
		client_free(&st.clients[i]);
	preempt_fini();
	sched_fini();
	gpu_fini();
	mm_fini(&st.mm);
	mem_fini();

	secs = (double)(t1 - t0) / 1e6;
	if (secs <= 0)
		secs = 1e-6;
	printf("threads=%u ops=%llu gpu_jobs=%llu invalidations=%llu repins=%llu "
	       "evictions=%llu preemptions=%llu timeouts=%llu backoffs=%llu\n",
	       n, ops, (unsigned long long)atomic_load(&gpu_jobs_run),
	       (unsigned long long)atomic_load(&stat_invalidations),
	       (unsigned long long)atomic_load(&stat_repins),
	       (unsigned long long)atomic_load(&shrinker_evictions),
	       (unsigned long long)atomic_load(&preempt_count),
	       (unsigned long long)atomic_load(&sched_timeouts),
	       (unsigned long long)atomic_load(&stat_backoffs));
	if (vmb_bugs[vmb_active_bug].gated)
		printf("gated_hits=%llu\n", (unsigned long long)atomic_load(&vmb_gated_hits));
	printf("ops_per_sec=%.0f\n", (double)ops / secs);
	return 0;
}
