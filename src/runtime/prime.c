/*
 * prime.c - priming: documented lock orders recorded before they are seen.
 *
 * At start the runtime records the order the kernel primes in
 * dma_resv_lockdep(): reclaim may wait for fences (fs_reclaim ->
 * mmu_notifier -> every fence class), and mmap_lock -> reservation_ww_class
 * -> fs_reclaim for programs that declare those classes.  One wrong edge
 * anywhere then closes a cycle at once, without waiting to see the other
 * half happen.  Programs add their own pairs with fdep_prime() or prime=FILE.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runtime.h"

struct prime_rule {
	const char *first, *second;
	struct prime_rule *next;
};

static struct rt_lock prime_lock = RT_LOCK_INIT;
static struct prime_rule *rules;
static bool priming = true;

/* Record first -> second as a primed edge; report a cycle it closes. */
static void prime_edge(struct lock_class *a, struct lock_class *b)
{
	struct cycle cyc;
	/* mmap_lock is taken for reading where the kernel primes it */
	int type = strcmp(class_name(a), "mmap_lock") == 0 ? ET_SN : ET_EN;

	rt_lock(&graph_lock);
	bool found = graph_add_edge(a, b, type, 0, NULL, 0, true, &cyc);
	rt_unlock(&graph_lock);
	if (found) {
		struct finding_in f = {
			.kind = cycle_kind(&cyc),
			.title = "a documented lock order is contradicted by an observed one",
			.cycle = &cyc,
		};
		report_finding(tls_thread, &f);
	}
}

void prime_pair(const char *first, const char *second, bool builtin)
{
	struct prime_rule *r;

	if (!priming)
		return; /* prime=none: no order but the observed one */
	r = rt_alloc(sizeof(*r));
	if (!r)
		return;
	r->first = rt_strdup(first);
	r->second = rt_strdup(second);
	if (!r->first || !r->second)
		return;
	rt_lock(&prime_lock);
	r->next = rules;
	rules = r;
	rt_unlock(&prime_lock);
	struct lock_class *a = class_find(first), *b = class_find(second);
	if (a && b)
		prime_edge(a, b);
}

void prime_class_created(struct lock_class *c)
{
	const char *name = atomic_load(&c->name);
	const char *first[16], *second[16];
	int n = 0;

	if (!priming)
		return;
	if (c->kind == CK_FENCE && cls_mmu_notifier && !c->primed) {
		c->primed = true;
		prime_edge(cls_mmu_notifier, c);
	}
	rt_lock(&prime_lock);
	for (struct prime_rule *r = rules; r && n < 16; r = r->next) {
		if (strcmp(r->first, name) == 0 || strcmp(r->second, name) == 0) {
			first[n] = r->first;
			second[n++] = r->second;
		}
	}
	rt_unlock(&prime_lock);
	for (int i = 0; i < n; i++) {
		/* both ends must be in use: a rule names classes, it creates none */
		struct lock_class *a = class_find(first[i]), *b = class_find(second[i]);
		if (a && b && a != b)
			prime_edge(a, b);
	}
}

int prime_load_file(const char *path, char *err, size_t errlen)
{
	char buf[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "prime file '%s': %s", path, strerror(errno));
		return -1;
	}
	ssize_t len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len < 0) {
		snprintf(err, errlen, "prime file '%s': %s", path, strerror(errno));
		return -1;
	}
	buf[len] = 0;
	int lineno = 0;
	for (char *line = buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		lineno++;
		char a[256], b[256], extra[2];
		char *hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		int k = sscanf(line, "%255s %255s %1s", a, b, extra);
		if (k <= 0)
			continue;
		if (k != 2) {
			snprintf(err, errlen, "prime file '%s', line %d: expected 'first second'",
				 path, lineno);
			return -1;
		}
		prime_pair(a, b, false);
	}
	return 0;
}

void prime_init(void)
{
	priming = strcmp(rt_opt.prime, "none") != 0;
	cls_fs_reclaim = class_intern("fs_reclaim", 0, CK_RECLAIM);
	cls_mmu_notifier = class_intern("mmu_notifier", 0, CK_MMU_NOTIFIER);
	cls_dma_fence = class_intern("dma_fence", 0, CK_FENCE);
	if (!priming)
		return;
	prime_edge(cls_fs_reclaim, cls_mmu_notifier);
	prime_edge(cls_mmu_notifier, cls_dma_fence);
	cls_dma_fence->primed = true;
	prime_pair("mmap_lock", "reservation_ww_class", true);
	prime_pair("reservation_ww_class", "fs_reclaim", true);
}

void prime_fork(int phase)
{
	rt_lock_fork(&prime_lock, phase);
}
