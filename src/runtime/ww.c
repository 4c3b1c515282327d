/*
 * ww.c - wound/wait acquire contexts.
 *
 * An acquire context is held as a pseudo-lock of class "<ww class>_acquire"
 * (so a second context of the same class in one thread is a recursion), and
 * its locks are taken with it as nest lock: same-class locks under one
 * context, in any order, are legal.  After a lock returned -EDEADLK
 * (fdep_ww_contended), the protocol is: release every lock of the context,
 * then slow-lock the contended one first.  As the kernel's DEBUG_WW_MUTEXES
 * warns, these are violations too: a lock of another ww class in the
 * context, a lock after fdep_ww_done(), done twice, and fini twice.
 *
 * ww_inject=N makes fdep_ww_inject() answer true at the Nth acquisition of
 * a context that holds a lock, then at intervals growing 3.5 times each
 * time (the kernel's DEBUG_WW_MUTEX_SLOWPATH): every back-off path runs,
 * and a transaction of any size still completes.
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

static bool ww_was_finished(struct rt_thread *t, const void *ctx)
{
	for (uint32_t i = 0; i < 4; i++)
		if (t->ww_finished[i] == ctx)
			return true;
	return false;
}

static void ww_forget_finished(struct rt_thread *t, const void *ctx)
{
	/* straight-line: a transaction's context is most often where the
	 * last one of the thread was, and found here at every init */
	const void **f = t->ww_finished;

	if (f[0] == ctx)
		f[0] = NULL;
	if (f[1] == ctx)
		f[1] = NULL;
	if (f[2] == ctx)
		f[2] = NULL;
	if (f[3] == ctx)
		f[3] = NULL;
}

void ww_acquire_check(struct rt_thread *t, const void *nest, struct lock_class *c,
		      const void *lock, uintptr_t ip)
{
	struct ww_ctx *w = ww_find(t, nest);

	if (!w) {
		if (ww_was_finished(t, nest))
			ww_violation(t, c, "locking in an acquire context that was finished", ip);
		return;
	}
	if (c != w->cls)
		ww_violation(t, c, "a lock of another ww class taken in this acquire context", ip);
	else if (w->done)
		ww_violation(t, c, "locking in an acquire context after ww_acquire_done", ip);
	if (!w->contended)
		return;
	if (ww_locks_held(t, nest))
		ww_violation(t, w->cls, "locking on after -EDEADLK without backing off", ip);
	else if (lock != w->contended)
		ww_violation(t, w->cls, "slow-locking a lock other than the contended one", ip);
	w->contended = NULL;
}

/*
 * The acquisition of a lock in a live acquire context, when there is
 * nothing to report and nothing new to check: the lock of the context's own
 * class, the context not done and no -EDEADLK pending (its back-off is
 * checked by ww_acquire_check), no spinning lock held, no signalling path
 * to sweep; and either another lock of the context held already (the
 * acquisition merges with it, as rt_acquire_slow merges: one step of the
 * chain for the whole set) or a chain the cache has seen.  False: nothing
 * done, rt_acquire_slow decides.
 */
bool ww_push_fast(struct rt_thread *t, struct lock_class *c, const void *lock, int mode,
		  unsigned hflags, const void *nest, uintptr_t ip)
{
	if (unlikely(held_special(t)) && (t->spin_depth || paths_stale(t)))
		return false;
	if (unlikely(t->depth >= t->fast_cap || (hflags & HF_SPIN)))
		return false;
	struct ww_ctx *w = ww_find(t, nest);
	if (!w || w->cls != c || w->done || w->contended)
		return false;
	uint64_t key = held_key(t);
	/* the context's locks lie above its own entry */
	for (uint32_t i = t->depth; i-- > 0 && t->held[i].instance != nest;) {
		if (t->held[i].cls == c && t->held[i].nest == nest) {
			hflags |= HF_MERGED;
			break;
		}
	}
	if (!(hflags & HF_MERGED)) {
		key = chain_step(key, c, mode, hflags);
		if (!chain_seen(t, key))
			return false;
	}
	held_push_checked(t, c, lock, mode, hflags, ip, key)->nest = nest;
	return true;
}

RT_EXPORT void fdep_ww_init(const void *ctx, const char *ww_class)
{
	struct rt_thread *t = thread_enter();
	char name[256];

	if (!t)
		return;
	const char *cname = ww_class ? ww_class : "reservation_ww_class";
	struct lock_class *ctx_cls, *cls;
	uint64_t gen = atomic_load_explicit(&rt_unload_gen, memory_order_acquire);
	/* the literal of the last context again: its classes (named classes
	 * are never freed), without making the context's name */
	if (likely(cname == t->ww_name_last && gen == t->ww_gen_last)) {
		ctx_cls = t->ww_ctx_cls_last;
		cls = t->ww_cls_last;
	} else {
		name_cat(name, sizeof(name), name_cat(name, sizeof(name), 0, cname), "_acquire");
		ctx_cls = class_intern(name, 0, CK_WW);
		cls = class_intern(cname, 0, CK_WW);
		bool keep = ctx_cls && cls && stack_addr_is_readonly(cname);
		t->ww_name_last = keep ? cname : NULL;
		t->ww_gen_last = gen;
		t->ww_ctx_cls_last = ctx_cls;
		t->ww_cls_last = cls;
	}
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
		uint32_t every = (uint32_t)rt_opt.ww_inject;
		ww_forget_finished(t, ctx);
		t->ww[t->nww++] = (struct ww_ctx){ .ctx = ctx, .cls = cls, .ip = RT_CALLER,
						   .inject_countdown = every,
						   .inject_interval = every };
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
		/* the common end: the context's entry on top of the held stack,
		 * so none of its locks (they lie above it) is held; a pop */
		if (!t->depth || held_top(t)->instance != ctx ||
		    !(held_top(t)->flags & HF_WWCTX) || !rt_release_top(t, ctx)) {
			if (ww_locks_held(t, ctx))
				ww_violation(t, w->cls,
					     "acquire context finished with its locks held",
					     RT_CALLER);
			struct held *h = held_find(t, ctx);
			if (h)
				held_remove(t, h);
		}
		*w = t->ww[--t->nww];
		t->ww_finished[t->ww_finished_next++ % 4] = ctx;
	} else if (ww_was_finished(t, ctx)) {
		struct instance *in = instance_find(ctx);
		ww_violation(t, in ? in->cls : NULL, "acquire context finished twice", RT_CALLER);
		ww_forget_finished(t, ctx); /* once */
	}
	thread_leave();
}

RT_EXPORT void fdep_ww_done(const void *ctx)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	struct ww_ctx *w = ww_find(t, ctx);
	if (w) {
		if (w->done)
			ww_violation(t, w->cls, "ww_acquire_done called twice on one context",
				     RT_CALLER);
		w->done = true;
	}
	thread_leave();
}

RT_EXPORT bool fdep_ww_inject(const void *ctx)
{
	bool inject = false;
	struct rt_thread *t = thread_enter();

	if (!t)
		return false;
	struct ww_ctx *w = rt_opt.ww_inject ? ww_find(t, ctx) : NULL;
	if (w && !w->done && w->inject_interval && ww_locks_held(t, ctx) &&
	    --w->inject_countdown == 0) {
		uint32_t next = w->inject_interval;
		next = next > UINT32_MAX / 4 ? UINT32_MAX : next * 3 + next / 2;
		w->inject_interval = next;
		w->inject_countdown = next;
		inject = true;
	}
	thread_leave();
	return inject;
}

void ww_exit_check(struct rt_thread *t)
{
	for (uint32_t i = 0; i < t->nww; i++)
		ww_violation(t, t->ww[i].cls, "acquire context never finished", t->ww[i].ip);
	t->nww = 0;
}
