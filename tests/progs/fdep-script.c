/*
 * fdep-script - run a sequence of annotation calls given as arguments, so
 * that a test states a locking scenario in one line:
 *
 *   +A      acquire A exclusive        +A:r  recursive reader   +A:s  shared
 *   +A:t    trylock                    +A:1  subclass 1         +A@C  nest lock C
 *   +A:spin spinning lock              -A    release
 *   alloc   malloc+free                might_alloc
 *   rb/re   reclaim begin/end          nrs/nrr  noreclaim save/restore
 *   sb/se   signalling begin/end       init:F[:class]  publish:F  handoff:F
 *   adopt:F signal:F wait:F destroy:F  prime:A:B
 *   ww_init:C[:class] (class R when not given) ww_contended:C:L ww_fini:C
 *   ww_done:C  ww_inject:C (prints 1 when it answers true, else 0)
 *   held:A notheld:A
 *   spawn ... join   the ops between run in a new thread (then joined)
 *   bg ... fg        the ops between run in a new thread alongside the
 *                    ones after fg; it is joined when the script ends
 *   post:N pend:N    post and wait for event N (a semaphore: not a lock)
 *   name:N  name the current thread N (pthread_setname_np)
 *   _exit:N end the process at once with _exit(N)
 *
 * Every name is its own lock instance, of the class of the same name;
 * "+x=A" acquires instance x in class A.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fencedep.h"

#define MAXN 256
static char names[MAXN][64];
static char objs[MAXN][8];
static int nnames;
static bool cookies[64];
static int ncookies;
static unsigned saved[64];
static int nsaved;

/* Threads of bg blocks look names up at once: a spinlock of atomics (a
 * pthread lock would be one more lock in every scenario). */
static char names_busy;

static void *obj(const char *name)
{
	void *o = NULL;

	while (__atomic_test_and_set(&names_busy, __ATOMIC_ACQUIRE))
		;
	for (int i = 0; i < nnames && !o; i++)
		if (!strcmp(names[i], name))
			o = objs[i];
	if (!o) {
		if (nnames == MAXN)
			exit(3);
		snprintf(names[nnames], sizeof(names[0]), "%s", name);
		o = objs[nnames++];
	}
	__atomic_clear(&names_busy, __ATOMIC_RELEASE);
	return o;
}

static const char *interned(const char *name)
{
	return names[(char(*)[8])obj(name) - objs];
}

static void acquire(char *spec)
{
	char *nest = strchr(spec, '@');
	char *mod = strchr(spec, ':');
	unsigned flags = 0;

	if (nest)
		*nest++ = 0;
	if (mod)
		*mod++ = 0;
	char *cls = strchr(spec, '=');
	if (cls)
		*cls++ = 0;
	else
		cls = spec;
	if (mod) {
		if (!strcmp(mod, "r"))
			flags = FDEP_RECURSIVE;
		else if (!strcmp(mod, "s"))
			flags = FDEP_SHARED;
		else if (!strcmp(mod, "t"))
			flags = FDEP_TRY;
		else if (!strcmp(mod, "spin"))
			flags = FDEP_SPIN;
		else
			flags = FDEP_SUBCLASS(atoi(mod));
	}
	if (nest)
		fdep_acquire_nest(obj(spec), interned(cls), flags, obj(nest));
	else
		fdep_acquire(obj(spec), interned(cls), flags);
}

static char *arg2(char *op)
{
	char *c = strchr(op, ':');
	return c ? c + 1 : NULL;
}

static void run(char **ops, int n);

static sem_t sems[MAXN];
static pthread_t bg_threads[16];
static int nbg;

/* The semaphore of event `name`. */
static sem_t *event(const char *name)
{
	return &sems[(char(*)[8])obj(name) - objs];
}

/* The index of the op that closes the block opened at ops[i]. */
static int block_end(char **ops, int n, int i, const char *open, const char *close)
{
	int depth = 1, j = i + 1;

	for (; j < n && depth; j++)
		depth += !strcmp(ops[j], open) - !strcmp(ops[j], close);
	return j - 1;
}

struct span {
	char **ops;
	int n;
};

static void *thread_main(void *p)
{
	struct span *s = p;
	run(s->ops, s->n);
	return NULL;
}

static void run(char **ops, int n)
{
	for (int i = 0; i < n; i++) {
		char *op = ops[i];
		char *a = arg2(op);
		if (!strcmp(op, "spawn")) {
			int end = block_end(ops, n, i, "spawn", "join");
			struct span s = { ops + i + 1, end - i - 1 };
			pthread_t th;
			pthread_create(&th, NULL, thread_main, &s);
			pthread_join(th, NULL);
			i = end;
		} else if (!strcmp(op, "bg")) {
			int end = block_end(ops, n, i, "bg", "fg");
			static struct span spans[16];
			if (nbg == 16)
				exit(3);
			spans[nbg] = (struct span){ ops + i + 1, end - i - 1 };
			pthread_create(&bg_threads[nbg], NULL, thread_main, &spans[nbg]);
			nbg++;
			i = end;
		} else if (!strncmp(op, "post:", 5)) {
			sem_post(event(a));
		} else if (!strncmp(op, "pend:", 5)) {
			sem_wait(event(a));
		} else if (op[0] == '+') {
			acquire(op + 1);
		} else if (op[0] == '-') {
			fdep_release(obj(op + 1));
		} else if (!strncmp(op, "_exit:", 6)) {
			_exit(atoi(op + 6));
		} else if (!strcmp(op, "alloc")) {
			void *volatile p = malloc(64);
			free(p);
		} else if (!strcmp(op, "might_alloc")) {
			fdep_might_alloc();
		} else if (!strcmp(op, "rb")) {
			fdep_reclaim_begin();
		} else if (!strcmp(op, "re")) {
			fdep_reclaim_end();
		} else if (!strcmp(op, "nrs")) {
			saved[nsaved++] = fdep_noreclaim_save();
		} else if (!strcmp(op, "nrr")) {
			fdep_noreclaim_restore(saved[--nsaved]);
		} else if (!strcmp(op, "sb")) {
			cookies[ncookies++] = fdep_signalling_begin();
		} else if (!strcmp(op, "se")) {
			fdep_signalling_end(cookies[--ncookies]);
		} else if (!strncmp(op, "init:", 5)) {
			char *cls = strchr(a, ':');
			if (cls)
				*cls++ = 0;
			fdep_fence_init(obj(a), cls ? interned(cls) : NULL);
		} else if (!strncmp(op, "publish:", 8)) {
			fdep_fence_publish(obj(a));
		} else if (!strncmp(op, "handoff:", 8)) {
			fdep_fence_handoff(obj(a));
		} else if (!strncmp(op, "adopt:", 6)) {
			fdep_fence_adopt(obj(a));
		} else if (!strncmp(op, "signal:", 7)) {
			fdep_fence_signal(obj(a));
		} else if (!strncmp(op, "wait:", 5)) {
			fdep_fence_wait(obj(a));
		} else if (!strncmp(op, "destroy:", 8)) {
			fdep_fence_destroy(obj(a));
		} else if (!strncmp(op, "prime:", 6)) {
			char *b = strchr(a, ':');
			*b++ = 0;
			fdep_prime(a, b);
		} else if (!strncmp(op, "ww_init:", 8)) {
			char *cls = strchr(a, ':');
			if (cls)
				*cls++ = 0;
			fdep_ww_init(obj(a), cls ? interned(cls) : "R");
		} else if (!strncmp(op, "ww_done:", 8)) {
			fdep_ww_done(obj(a));
		} else if (!strncmp(op, "ww_inject:", 10)) {
			printf("%d", fdep_ww_inject(obj(a)) ? 1 : 0);
		} else if (!strncmp(op, "ww_contended:", 13)) {
			char *l = strchr(a, ':');
			*l++ = 0;
			fdep_ww_contended(obj(a), obj(l));
		} else if (!strncmp(op, "ww_fini:", 8)) {
			fdep_ww_fini(obj(a));
		} else if (!strncmp(op, "name:", 5)) {
			pthread_setname_np(pthread_self(), a);
		} else if (!strncmp(op, "held:", 5)) {
			fdep_assert_held(obj(a));
		} else if (!strncmp(op, "notheld:", 8)) {
			fdep_assert_not_held(obj(a));
		} else {
			fprintf(stderr, "fdep-script: unknown op '%s'\n", op);
			exit(3);
		}
	}
}

int main(int argc, char **argv)
{
	for (int i = 0; i < MAXN; i++)
		sem_init(&sems[i], 0, 0);
	run(argv + 1, argc - 1);
	for (int i = 0; i < nbg; i++)
		pthread_join(bg_threads[i], NULL);
	puts("done");
	return 0;
}
