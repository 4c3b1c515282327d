/*
 * sites - heap locks told apart by where they are made.
 *
 *   sites two          four locks made at four lines of main; a and b taken
 *                      both ways round, then c and d: two inversions
 *   sites two-clean    the same four, each pair in one order
 *   sites xf | fx | fy x and y made in one function, f in another; one
 *                      order per process: x->f, f->x or f->y
 *   sites rank-fwd | rank-back
 *                      two locks made at one site; taken in the order they
 *                      were made, or the other way round
 *   sites static-fwd | static-back
 *                      two static locks, in one order per process
 *   sites objs         two objects of one type (locks a and b each): a->b
 *                      in the first, b->a in the second
 *   sites objs-clean   a->b in both
 *   sites parent-child a node's lock, then its child's (one site)
 *   sites addr-order   two objects' locks, lower address first, both ways
 *                      the objects are named
 *   sites wrapped      two locks made through a helper of the program's
 *                      own (my_mutex_new) at two call sites, one nested
 *                      in the other
 *   sites argv-rewrite clears its arguments (as pigz does), then nests two
 *                      static locks
 *   sites rw-proof     proof_m taken under proof_rw read, then under it
 *                      written, then proof_rw read under proof_m: the
 *                      cycle needs the write (-(EN)->), not the read
 *   sites rw-readers   the same without the write: readers only, no cycle
 *   sites init-under   global locks made in one loop under an init lock,
 *                      which takes one of them at once (as libdbus's
 *                      dbus_threads_init); later each lock of the loop is
 *                      taken after the init lock, which is taken again
 *                      under another lock of the loop: clean
 *   sites init-outside the same locks made before the init lock is taken:
 *                      the two objects of one site are predicted
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nest.h"

static pthread_mutex_t *new_lock(void)
{
	pthread_mutex_t *m = malloc(sizeof(*m));

	if (!m)
		abort();
	return m;
}

static pthread_mutex_t *a, *b, *c, *d;

static void *t_ab(void *arg)
{
	(void)arg;
	nest(a, b);
	return NULL;
}

static void *t_ba(void *arg)
{
	(void)arg;
	nest(b, a);
	return NULL;
}

static void *t_cd(void *arg)
{
	(void)arg;
	nest(c, d);
	return NULL;
}

static void *t_dc(void *arg)
{
	(void)arg;
	nest(d, c);
	return NULL;
}

static void run(void *(*fn)(void *))
{
	pthread_t t;

	pthread_create(&t, NULL, fn, NULL);
	pthread_join(t, NULL);
}

static int two(int clean)
{
	a = new_lock();
	b = new_lock();
	c = new_lock();
	d = new_lock();
	pthread_mutex_init(a, NULL);
	pthread_mutex_init(b, NULL);
	pthread_mutex_init(c, NULL);
	pthread_mutex_init(d, NULL);
	run(t_ab);
	run(clean ? t_ab : t_ba);
	run(t_cd);
	run(clean ? t_cd : t_dc);
	return 0;
}

static pthread_mutex_t *x, *y, *f;

static __attribute__((noinline)) void make_xy(void)
{
	x = new_lock();
	y = new_lock();
	pthread_mutex_init(x, NULL);
	pthread_mutex_init(y, NULL);
}

static __attribute__((noinline)) void make_f(void)
{
	f = new_lock();
	pthread_mutex_init(f, NULL);
}

static pthread_mutex_t *ranked[2];

static __attribute__((noinline)) void make_ranked(void)
{
	for (int i = 0; i < 2; i++) {
		ranked[i] = new_lock();
		pthread_mutex_init(ranked[i], NULL);
	}
}

static pthread_mutex_t s1 = PTHREAD_MUTEX_INITIALIZER, s2 = PTHREAD_MUTEX_INITIALIZER;

struct obj {
	pthread_mutex_t a, b;
};

static __attribute__((noinline)) void obj_init(struct obj *o)
{
	pthread_mutex_init(&o->a, NULL);
	pthread_mutex_init(&o->b, NULL);
}

struct node {
	pthread_mutex_t m;
	struct node *child;
};

static __attribute__((noinline)) void node_init(struct node *n, struct node *child)
{
	pthread_mutex_init(&n->m, NULL);
	n->child = child;
}

/* A helper of the program's own that makes locks: not their site. */
static __attribute__((noinline)) pthread_mutex_t *my_mutex_new(void)
{
	pthread_mutex_t *m = new_lock();

	pthread_mutex_init(m, NULL);
	return m;
}

static pthread_rwlock_t proof_rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t proof_m = PTHREAD_MUTEX_INITIALIZER;

static __attribute__((noinline)) void *reader_then_m(void *arg)
{
	(void)arg;
	pthread_rwlock_rdlock(&proof_rw);
	pthread_mutex_lock(&proof_m);
	pthread_mutex_unlock(&proof_m);
	pthread_rwlock_unlock(&proof_rw);
	return NULL;
}

static __attribute__((noinline)) void *writer_then_m(void *arg)
{
	(void)arg;
	pthread_rwlock_wrlock(&proof_rw);
	pthread_mutex_lock(&proof_m);
	pthread_mutex_unlock(&proof_m);
	pthread_rwlock_unlock(&proof_rw);
	return NULL;
}

static __attribute__((noinline)) void *m_then_reader(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&proof_m);
	pthread_rwlock_rdlock(&proof_rw);
	pthread_rwlock_unlock(&proof_rw);
	pthread_mutex_unlock(&proof_m);
	return NULL;
}

static void lock_pair_ordered(struct obj *p, struct obj *q)
{
	if (p > q) {
		struct obj *t = p;
		p = q;
		q = t;
	}
	nest(&p->a, &q->a);
}

/* libdbus's pattern: _dbus_lock(n) runs the init, then takes lock n */
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t *global_locks[4];
static int initialised;

static void global_make(void)
{
	for (int i = 0; i < 4; i++) {
		global_locks[i] = new_lock();
		pthread_mutex_init(global_locks[i], NULL);
	}
}

static void threads_init(bool make)
{
	pthread_mutex_lock(&init_lock);
	if (!initialised) {
		if (make)
			global_make();
		/* one of them at once, as libdbus registers its shutdown
		 * function under its shutdown_funcs lock */
		pthread_mutex_lock(global_locks[0]);
		pthread_mutex_unlock(global_locks[0]);
		initialised = 1;
	}
	pthread_mutex_unlock(&init_lock);
}

static void global_lock(int n, bool make)
{
	threads_init(make);
	pthread_mutex_lock(global_locks[n]);
}

static void init_pattern(bool under)
{
	if (!under)
		global_make();
	global_lock(1, under);
	global_lock(2, under); /* init_lock taken again under lock 1 */
	pthread_mutex_unlock(global_locks[2]);
	pthread_mutex_unlock(global_locks[1]);
}

int main(int argc, char **argv)
{
	const char *mode = argc == 2 ? argv[1] : "";

	if (!strcmp(mode, "two") || !strcmp(mode, "two-clean")) {
		two(!strcmp(mode, "two-clean"));
	} else if (!strcmp(mode, "xf") || !strcmp(mode, "fx") || !strcmp(mode, "fy")) {
		make_xy();
		make_f();
		if (!strcmp(mode, "xf"))
			nest(x, f);
		else if (!strcmp(mode, "fx"))
			nest(f, x);
		else
			nest(f, y);
	} else if (!strcmp(mode, "rank-fwd") || !strcmp(mode, "rank-back")) {
		make_ranked();
		if (!strcmp(mode, "rank-fwd"))
			nest(ranked[0], ranked[1]);
		else
			nest(ranked[1], ranked[0]);
	} else if (!strcmp(mode, "static-fwd")) {
		nest(&s1, &s2);
	} else if (!strcmp(mode, "static-back")) {
		nest(&s2, &s1);
	} else if (!strcmp(mode, "objs") || !strcmp(mode, "objs-clean")) {
		struct obj *o1 = malloc(sizeof(*o1)), *o2 = malloc(sizeof(*o2));
		obj_init(o1);
		obj_init(o2);
		nest(&o1->a, &o1->b);
		if (!strcmp(mode, "objs"))
			nest(&o2->b, &o2->a);
		else
			nest(&o2->a, &o2->b);
	} else if (!strcmp(mode, "parent-child")) {
		struct node *leaf = malloc(sizeof(*leaf)), *root = malloc(sizeof(*root));
		node_init(leaf, NULL);
		node_init(root, leaf);
		for (struct node *n = root; n->child; n = n->child)
			nest(&n->m, &n->child->m);
	} else if (!strcmp(mode, "addr-order")) {
		struct obj *o1 = malloc(sizeof(*o1)), *o2 = malloc(sizeof(*o2));
		obj_init(o1);
		obj_init(o2);
		lock_pair_ordered(o1, o2);
		lock_pair_ordered(o2, o1);
	} else if (!strcmp(mode, "rw-proof") || !strcmp(mode, "rw-readers")) {
		run(reader_then_m);
		if (!strcmp(mode, "rw-proof"))
			run(writer_then_m);
		run(m_then_reader);
	} else if (!strcmp(mode, "init-under") || !strcmp(mode, "init-outside")) {
		init_pattern(!strcmp(mode, "init-under"));
	} else if (!strcmp(mode, "argv-rewrite")) {
		for (int i = 0; i < argc; i++)
			memset(argv[i], 0, strlen(argv[i]));
		nest(&s1, &s2);
	} else if (!strcmp(mode, "wrapped")) {
		pthread_mutex_t *p = my_mutex_new();
		pthread_mutex_t *q = my_mutex_new();
		nest(p, q);
	} else {
		fprintf(stderr, "usage: sites MODE (see the source)\n");
		return 2;
	}
	puts("done");
	return 0;
}
