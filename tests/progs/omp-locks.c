/*
 * omp-locks - OpenMP locks and critical sections taken in two orders by the
 * two threads of a team, one after the other (no real deadlock), or in one
 * order (the clean twins):
 *
 *   omp-locks lock-bug | lock-clean           omp_lock_t a and b
 *   omp-locks nest-bug | nest-clean           a nest lock, relocked, and a
 *   omp-locks critical-bug | critical-clean   critical(alpha) and lock a
 *   omp-locks unnamed-bug | unnamed-clean     an unnamed critical and lock a
 *   omp-locks criticals                       critical(alpha) inside critical(beta)
 *                                             in both threads: clean
 *   omp-locks test                            the second order by omp_test_lock: clean
 *   omp-locks reenter                         critical(alpha) entered again inside
 *                                             itself: a real deadlock
 *   omp-locks warm-bug | warm-clean           thread 0 takes the nest lock (relocked),
 *                                             critical(alpha), a and b nested, 500
 *                                             times over (the fast paths of a seen
 *                                             chain), then c alone; thread 1 takes
 *                                             c, then b and a (or all of it as
 *                                             thread 0 did)
 *   omp-locks barrier-bug | barrier-clean     thread 1 takes and releases a in a
 *                                             phase; thread 0 then arrives at the
 *                                             barrier that ends it holding a (or
 *                                             having let a go)
 */
#include <omp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static omp_lock_t a, b, c;
static omp_nest_lock_t n;
static const char *mode;
static int swap;

static void locks(omp_lock_t *first, omp_lock_t *second, int test)
{
	omp_set_lock(first);
	if (test) {
		if (omp_test_lock(second))
			omp_unset_lock(second);
	} else {
		omp_set_lock(second);
		omp_unset_lock(second);
	}
	omp_unset_lock(first);
}

static void nest_then_a(void)
{
	omp_set_nest_lock(&n);
	omp_set_nest_lock(&n);
	omp_set_lock(&a);
	omp_unset_lock(&a);
	omp_unset_nest_lock(&n);
	omp_unset_nest_lock(&n);
}

static void a_then_nest(void)
{
	omp_set_lock(&a);
	omp_set_nest_lock(&n);
	omp_unset_nest_lock(&n);
	omp_unset_lock(&a);
}

static void critical_then_a(void)
{
#pragma omp critical(alpha)
	{
		omp_set_lock(&a);
		omp_unset_lock(&a);
	}
}

static void a_then_critical(void)
{
	omp_set_lock(&a);
#pragma omp critical(alpha)
	swap += 0;
	omp_unset_lock(&a);
}

static void unnamed_then_a(void)
{
#pragma omp critical
	{
		omp_set_lock(&a);
		omp_unset_lock(&a);
	}
}

static void a_then_unnamed(void)
{
	omp_set_lock(&a);
#pragma omp critical
	swap += 0;
	omp_unset_lock(&a);
}

static void reenter(void)
{
#pragma omp critical(alpha)
	critical_then_a();
}

static void criticals(void)
{
#pragma omp critical(beta)
	{
#pragma omp critical(alpha)
		swap += 0;
	}
}

#define WARM_ROUNDS 500

static void warm_round(void)
{
	omp_set_nest_lock(&n);
	omp_set_nest_lock(&n);
#pragma omp critical(alpha)
	{
		omp_set_lock(&a);
		omp_set_lock(&b);
		swap += 0;
		omp_unset_lock(&b);
		omp_unset_lock(&a);
	}
	omp_unset_nest_lock(&n);
	omp_unset_nest_lock(&n);
}

/* After its rounds thread 0 holds nothing: c alone adds no edge from a lock
 * still counted held, which c -> n or c -> a in thread 1 would close into a cycle. */
static void warm(int id, int rev)
{
	if (id)
		omp_set_lock(&c);
	for (int i = 0; i < (rev ? 0 : WARM_ROUNDS); i++)
		warm_round();
	if (rev) {
		omp_set_lock(&b);
		omp_set_lock(&a);
		omp_unset_lock(&a);
		omp_unset_lock(&b);
	}
	if (!id)
		omp_set_lock(&c);
	omp_unset_lock(&c);
}

/* Thread `id` of the team: the second reverses the order in a bug mode. */
static void step(int id)
{
	int rev = id == 1 && swap;

	if (!strncmp(mode, "lock-", 5))
		locks(rev ? &b : &a, rev ? &a : &b, 0);
	else if (!strncmp(mode, "nest-", 5))
		rev ? a_then_nest() : nest_then_a();
	else if (!strncmp(mode, "critical-", 9))
		rev ? a_then_critical() : critical_then_a();
	else if (!strncmp(mode, "unnamed-", 8))
		rev ? a_then_unnamed() : unnamed_then_a();
	else if (!strncmp(mode, "warm-", 5))
		warm(id, rev);
	else if (!strcmp(mode, "criticals"))
		criticals();
	else if (!strcmp(mode, "test"))
		locks(id ? &b : &a, id ? &a : &b, !id);
}

/* Barrier phases: thread 1 needs a in the phase thread 0 ends holding it. */
static atomic_int released;

static void barrier_phases(int bug)
{
#pragma omp parallel num_threads(2)
	{
#pragma omp barrier
		if (omp_get_thread_num() == 1) {
			omp_set_lock(&a);
			omp_unset_lock(&a);
			atomic_store(&released, 1);
		} else {
			while (!atomic_load(&released))
				;
			omp_set_lock(&a);
			if (!bug)
				omp_unset_lock(&a);
		}
#pragma omp barrier
		if (bug && omp_get_thread_num() == 0)
			omp_unset_lock(&a);
	}
	/* serial again: the master's phases are over */
	omp_set_lock(&a);
	omp_unset_lock(&a);
}

int main(int argc, char **argv)
{
	static const char *const modes[] = { "lock-bug",     "lock-clean",     "nest-bug",
					     "nest-clean",   "critical-bug",   "critical-clean",
					     "unnamed-bug",  "unnamed-clean",  "criticals",
					     "test",         "reenter",        "barrier-bug",
					     "barrier-clean", "warm-bug",       "warm-clean" };
	int known = 0, threads = 0;

	for (size_t i = 0; argc == 2 && i < sizeof(modes) / sizeof(modes[0]); i++)
		known |= !strcmp(argv[1], modes[i]);
	if (!known) {
		fprintf(stderr, "usage: omp-locks MODE (see the source)\n");
		return 2;
	}
	mode = argv[1];
	swap = strstr(mode, "-bug") != NULL;
	omp_init_lock(&a);
	omp_init_lock(&b);
	omp_init_lock(&c);
	omp_init_nest_lock(&n);
	if (!strcmp(mode, "reenter"))
		reenter();
	if (!strncmp(mode, "barrier-", 8))
		barrier_phases(swap);
#pragma omp parallel num_threads(2)
	{
#pragma omp single
		threads = omp_get_num_threads();
		/* thread 0 first, then thread 1: one order after the other */
		if (omp_get_thread_num() == 0)
			step(0);
#pragma omp barrier
		if (omp_get_thread_num() == 1)
			step(1);
	}
	omp_destroy_lock(&a);
	omp_destroy_lock(&b);
	omp_destroy_lock(&c);
	omp_destroy_nest_lock(&n);
	if (threads != 2) {
		fprintf(stderr, "omp-locks: a team of %d threads, not 2\n", threads);
		return 1;
	}
	puts("done");
	return 0;
}
