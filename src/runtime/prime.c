/*
 * prime.c - priming: documented lock orders recorded before they are seen.
 *
 * At start the runtime records the order the kernel primes in
 * dma_resv_lockdep(): reclaim may wait for fences (fs_reclaim ->
 * mmu_notifier -> every fence class), and mmap_lock -> reservation_ww_class
 * -> fs_reclaim, the whole chain from the start as kernel lockdep has it:
 * a program that takes mmap_lock on a signalling path is told so even if
 * it never uses reservation_ww_class.  One wrong edge
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

/*
 * A new class: record every rule that names it and whose other class is in
 * use.  Rules are only ever added, at the head of the list, and never
 * changed or freed: the list as it is when the class is created is walked
 * without prime_lock (prime_edge takes graph_lock, which nests outside it).
 */
void prime_class_created(struct lock_class *c)
{
	const char *name = atomic_load(&c->name);
	struct prime_rule *head;

	if (!priming)
		return;
	if (c->kind == CK_FENCE && cls_mmu_notifier && !c->primed) {
		c->primed = true;
		prime_edge(cls_mmu_notifier, c);
	}
	rt_lock(&prime_lock);
	head = rules;
	rt_unlock(&prime_lock);
	for (struct prime_rule *r = head; r; r = r->next) {
		if (strcmp(r->first, name) && strcmp(r->second, name))
			continue;
		/* both ends must be in use: a rule names classes, it creates none */
		struct lock_class *a = class_find(r->first), *b = class_find(r->second);
		if (a && b && a != b)
			prime_edge(a, b);
	}
}

static bool prime_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* The next blank-separated word of *p (NUL-ended in place), or NULL. */
static char *prime_word(char **p)
{
	char *s = *p, *w;

	while (prime_blank(*s))
		s++;
	if (!*s)
		return NULL;
	w = s;
	while (*s && !prime_blank(*s))
		s++;
	if (*s)
		*s++ = 0;
	*p = s;
	return w;
}

/* The whole file, any length of line or name: "first second" per line,
 * '#' starts a comment. */
int prime_load_file(const char *path, char *err, size_t errlen)
{
	size_t len, cap;
	char *buf = rt_read_file(path, &len, &cap);

	if (!buf) {
		snprintf(err, errlen, "prime file '%s': %s", path, strerror(errno));
		return -1;
	}
	if (strlen(buf) != len) {
		snprintf(err, errlen, "prime file '%s': NUL byte in file", path);
		rt_free(buf, cap);
		return -1;
	}
	int lineno = 0, rc = 0;
	for (char *line = buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		char *p = line, *a = prime_word(&p), *b = prime_word(&p);
		if (!a)
			continue;
		if (!b || prime_word(&p)) {
			snprintf(err, errlen, "prime file '%s', line %d: expected 'first second'",
				 path, lineno);
			rc = -1;
			break;
		}
		prime_pair(a, b, false);
	}
	rt_free(buf, cap);
	return rc;
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
	/* the chain's classes exist from the start (a map class takes the kind
	 * of its first real use) */
	class_intern("mmap_lock", 0, CK_MAP);
	class_intern("reservation_ww_class", 0, CK_MAP);
	prime_pair("mmap_lock", "reservation_ww_class", true);
	prime_pair("reservation_ww_class", "fs_reclaim", true);
}

void prime_fork(int phase)
{
	rt_lock_fork(&prime_lock, phase);
}
