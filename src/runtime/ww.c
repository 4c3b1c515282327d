/*
 * ww.c - wound/wait acquire contexts.
 *
 * An acquire context is held as a pseudo-lock of class "<ww class>_acquire"
 * (so a second context of the same class in one thread is a recursion), and
 * its locks are taken with it as nest lock: same-class locks under one
 * context, in any order, are legal.  After a lock returned -EDEADLK
 * (fdep_ww_contended), the protocol is: release every lock of the context,
 * then slow-lock the contended one first.
 */

#include "runtime.h"

static struct ww_ctx *ww_find(struct rt_thread *t, const void *ctx)
{
	for (uint32_t i = 0; i < t->nww; i++)
		if (t->ww[i].ctx == ctx)
			return &t->ww[i];
	return NULL;
}

static void ww_violation(struct rt_thread *t, struct lock_class *c, const char *title,
			 uintptr_t ip)
{
	struct finding_in f = {
		.kind = FK_WW_PROTOCOL_VIOLATION,
		.title = title,
		.detail = title,
		.subject = { c },
		.stack = stack_capture(ip),
	};

	report_finding(t, &f);
}

static uint32_t ww_locks_held(struct rt_thread *t, const void *ctx)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < t->depth; i++)
		n += t->held[i].nest == ctx;
	return n;
}

void ww_acquire_check(struct rt_thread *t, const void *nest, const void *lock, uintptr_t ip)
{
	struct ww_ctx *w = ww_find(t, nest);

	if (!w || !w->contended)
		return;
	if (ww_locks_held(t, nest))
		ww_violation(t, w->cls, "locking on after -EDEADLK without backing off", ip);
	else if (lock != w->contended)
		ww_violation(t, w->cls, "slow-locking a lock other than the contended one", ip);
	w->contended = NULL;
}

RT_EXPORT void fdep_ww_init(const void *ctx, const char *ww_class)
{
	struct rt_thread *t = thread_enter();
	char name[256];

	if (!t)
		return;
	const char *cname = ww_class ? ww_class : "reservation_ww_class";
	name_cat(name, sizeof(name), name_cat(name, sizeof(name), 0, cname), "_acquire");
	struct lock_class *ctx_cls = class_intern(name, 0, CK_WW);
	struct lock_class *cls = class_intern(cname, 0, CK_WW);
	if (ctx_cls && cls) {
		if (t->nww == t->capww) {
			uint32_t cap = t->capww ? t->capww * 2 : 4;
			struct ww_ctx *n = rt_realloc_array(t->ww, t->capww, cap, sizeof(*n));
			if (!n) {
				thread_leave();
				return;
			}
			t->ww = n;
			t->capww = cap;
		}
		t->ww[t->nww++] = (struct ww_ctx){ ctx, cls, NULL, RT_CALLER };
		rt_acquire(t, ctx_cls, ctx, HM_EXCLUSIVE, HF_WWCTX, NULL, RT_CALLER);
	}
	thread_leave();
}

RT_EXPORT void fdep_ww_contended(const void *ctx, const void *lock)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	struct ww_ctx *w = ww_find(t, ctx);
	if (w) {
		w->contended = lock;
		/* a lock annotated before its -EDEADLK was not acquired after all */
		struct held *h = held_find(t, lock);
		if (h && h->nest == ctx)
			held_remove(t, h);
	}
	thread_leave();
}

RT_EXPORT void fdep_ww_fini(const void *ctx)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	struct ww_ctx *w = ww_find(t, ctx);
	if (w) {
		if (ww_locks_held(t, ctx))
			ww_violation(t, w->cls, "acquire context finished with its locks held",
				     RT_CALLER);
		*w = t->ww[--t->nww];
		struct held *h = held_find(t, ctx);
		if (h)
			held_remove(t, h);
	}
	thread_leave();
}

void ww_exit_check(struct rt_thread *t)
{
	for (uint32_t i = 0; i < t->nww; i++)
		ww_violation(t, t->ww[i].cls, "acquire context never finished", t->ww[i].ip);
	t->nww = 0;
}
