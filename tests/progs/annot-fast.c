/*
 * annot-fast - annotated spinning locks and ww acquire contexts taken again
 * and again, so that after the first time they are on the annotation API's
 * fast paths (a class the thread's caches know, a chain seen before), and
 * then the step that must still be seen.  Class names are literals, as a
 * program's are: the fast paths know a class by its name's address.
 *
 *   annot-fast spin-sleep   a spinning section a few times under an outer
 *                           lock, then a sleeping lock inside it
 *   annot-fast spin-clean   the same, the sleeping lock after the section
 *   annot-fast spin-abba    two spinning locks nested one way a few times,
 *                           then the other way
 *   annot-fast spin-same    always the same way
 *   annot-fast lock-abba    two plain (sleeping) locks nested one way a few
 *                           times, then the other way
 *   annot-fast lock-same    always the same way
 *   annot-fast thread-abba  lock-abba's pairs named by the main thread, then
 *                           taken by a second thread: one way a few times
 *                           (its name cache learns the names), then the other
 *   annot-fast thread-same  the second thread always the same way
 *   annot-fast ww-abba      a few transactions that take lock x under their
 *                           ww locks, then x taken before a transaction
 *   annot-fast ww-same      x always under the ww locks
 *   annot-fast ww-edeadlk   a few transactions, then one that goes on
 *                           locking after -EDEADLK without backing off
 *   annot-fast ww-backoff   the same transaction backing off as it must
 *   annot-fast alloc-spin   an allocation under a lock a few times, then
 *                           inside a spinning section under it
 *   annot-fast alloc-clean  the same, the allocation after the section
 *   annot-fast assert-held  a held lock asserted a few times, then the
 *                           same assertion after its release
 *   annot-fast assert-clean the assertions while it is held only
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "fencedep.h"

/* each object in a line of its own */
static _Alignas(64) char outer, sec, mtx, s1, s2, x, ctx, a, b, c;

#define WW "fast_ww_class"

static unsigned pair_flags = FDEP_SPIN;

static void spin_pair(const void *first, const char *fname, const void *second,
		      const char *sname)
{
	fdep_acquire(first, fname, pair_flags);
	fdep_acquire(second, sname, pair_flags);
	fdep_release(second);
	fdep_release(first);
}

static void transaction(bool take_x)
{
	fdep_ww_init(&ctx, WW);
	fdep_acquire_nest(&a, WW, 0, &ctx);
	fdep_acquire_nest(&b, WW, 0, &ctx);
	fdep_ww_done(&ctx);
	if (take_x) {
		fdep_acquire(&x, "x", 0);
		fdep_release(&x);
	}
	fdep_release(&b);
	fdep_release(&a);
	fdep_ww_fini(&ctx);
}

static int spin(const char *mode)
{
	/* the section under a lock, as in the model: its chain is two long;
	 * not the pairs, whose orders it would gate */
	bool section = !strcmp(mode, "spin-sleep") || !strcmp(mode, "spin-clean");

	if (section)
		fdep_acquire(&outer, "outer", 0);
	for (int i = 0; i < 4; i++) {
		if (section) {
			/* the model's fence-callback section: a spinning trylock */
			fdep_acquire(&sec, "sec", FDEP_SPIN | FDEP_TRY);
			fdep_release(&sec);
		} else {
			spin_pair(&s1, "s1", &s2, "s2");
		}
	}
	if (!strcmp(mode, "spin-sleep")) {
		fdep_acquire(&sec, "sec", FDEP_SPIN | FDEP_TRY);
		fdep_acquire(&mtx, "mtx", 0);
		fdep_release(&mtx);
		fdep_release(&sec);
	} else if (!strcmp(mode, "spin-clean")) {
		fdep_acquire(&sec, "sec", FDEP_SPIN | FDEP_TRY);
		fdep_release(&sec);
		fdep_acquire(&mtx, "mtx", 0);
		fdep_release(&mtx);
	} else if (!strcmp(mode, "spin-abba")) {
		spin_pair(&s2, "s2", &s1, "s1");
	} else {
		spin_pair(&s1, "s1", &s2, "s2");
	}
	if (section)
		fdep_release(&outer);
	return 0;
}

static int ww(const char *mode)
{
	bool take_x = !strcmp(mode, "ww-abba") || !strcmp(mode, "ww-same");

	for (int i = 0; i < 4; i++)
		transaction(take_x);
	if (!strcmp(mode, "ww-abba")) {
		fdep_acquire(&x, "x", 0);
		transaction(false);
		fdep_release(&x);
	} else if (!strcmp(mode, "ww-same")) {
		transaction(true);
	} else {
		bool backoff = !strcmp(mode, "ww-backoff");
		fdep_ww_init(&ctx, WW);
		fdep_acquire_nest(&a, WW, 0, &ctx);
		/* b is held by an older transaction: -EDEADLK */
		fdep_ww_contended(&ctx, &b);
		if (backoff) {
			fdep_release(&a);
			fdep_acquire_nest(&b, WW, 0, &ctx);
			fdep_acquire_nest(&a, WW, 0, &ctx);
		} else {
			fdep_acquire_nest(&c, WW, 0, &ctx);
			fdep_release(&c);
		}
		fdep_acquire_nest(&c, WW, 0, &ctx);
		fdep_release(&c);
		if (backoff)
			fdep_release(&b);
		fdep_release(&a);
		fdep_ww_fini(&ctx);
	}
	return 0;
}

static void *second_thread(void *arg)
{
	const char *mode = arg;

	for (int i = 0; i < 4; i++)
		spin_pair(&s1, "s1", &s2, "s2");
	if (!strcmp(mode, "thread-abba"))
		spin_pair(&s2, "s2", &s1, "s1");
	else
		spin_pair(&s1, "s1", &s2, "s2");
	return NULL;
}

/* The classes interned by the main thread (the instances get them there),
 * the acquisitions that matter made by another thread, whose own cache of
 * names has never seen them. */
static int threads(const char *mode)
{
	pthread_t th;

	pair_flags = 0;
	spin_pair(&s1, "s1", &s2, "s2");
	if (pthread_create(&th, NULL, second_thread, (void *)mode) || pthread_join(th, NULL))
		return 1;
	return 0;
}

/* fdep_might_alloc and fdep_assert_held, whose answer the thread's own
 * state gives without entering the runtime */
static int other(const char *mode)
{
	fdep_acquire(&outer, "outer", 0);
	for (int i = 0; i < 4; i++) {
		if (!strncmp(mode, "alloc", 5)) {
			fdep_might_alloc();
			fdep_acquire(&sec, "sec", FDEP_SPIN | FDEP_TRY);
			fdep_release(&sec);
		} else {
			fdep_assert_held(&outer);
		}
	}
	if (!strcmp(mode, "alloc-spin")) {
		fdep_acquire(&sec, "sec", FDEP_SPIN | FDEP_TRY);
		fdep_might_alloc();
		fdep_release(&sec);
	} else if (!strcmp(mode, "alloc-clean")) {
		fdep_acquire(&sec, "sec", FDEP_SPIN | FDEP_TRY);
		fdep_release(&sec);
		fdep_might_alloc();
	}
	fdep_release(&outer);
	if (!strcmp(mode, "assert-held"))
		fdep_assert_held(&outer);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc == 2 ? argv[1] : "";
	int r = 2;

	if (!strcmp(mode, "spin-sleep") || !strcmp(mode, "spin-clean") ||
	    !strcmp(mode, "spin-abba") || !strcmp(mode, "spin-same"))
		r = spin(mode);
	else if (!strcmp(mode, "lock-abba") || !strcmp(mode, "lock-same")) {
		pair_flags = 0;
		r = spin(!strcmp(mode, "lock-abba") ? "spin-abba" : "spin-same");
	} else if (!strcmp(mode, "thread-abba") || !strcmp(mode, "thread-same")) {
		r = threads(mode);
	} else if (!strcmp(mode, "ww-abba") || !strcmp(mode, "ww-same") ||
		 !strcmp(mode, "ww-edeadlk") || !strcmp(mode, "ww-backoff"))
		r = ww(mode);
	else if (!strcmp(mode, "alloc-spin") || !strcmp(mode, "alloc-clean") ||
		 !strcmp(mode, "assert-held") || !strcmp(mode, "assert-clean"))
		r = other(mode);
	else
		fprintf(stderr, "usage: annot-fast spin-sleep|spin-clean|spin-abba|spin-same|"
				"lock-abba|lock-same|thread-abba|thread-same|"
				"ww-abba|ww-same|ww-edeadlk|ww-backoff|alloc-spin|alloc-clean|"
				"assert-held|assert-clean\n");
	if (!r)
		puts("done");
	return r;
}
