/*
 * resv.c - dma_resv: a wound/wait mutex of reservation_ww_class and the
 * usage-tagged fences of one buffer (or of one gpu_vm and its local
 * objects).
 *
 * The ww mutex is wait-die: a transaction (acquire context) that already
 * holds locks and finds a lock held by an older transaction gets -EDEADLK
 * and must back off; an older one waits.  Stamps grow monotonically, so
 * every wait is from older to younger and no cycle of waits can form.
 *
 * Fence slots are reserved ahead with dma_resv_reserve_fences(), which may
 * allocate: it belongs before the fence is published.  dma_resv_add_fence()
 * never allocates, so it may run on a signalling path.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmbind.h"

#define WW_CLASS "reservation_ww_class"

static atomic_ullong ww_stamp_next = 1;
atomic_ullong stat_backoffs;

/* The leaf lock of the ww state: a few instructions are held under it, so
 * a waiter spins, and yields the processor when the holder was preempted. */
static void resv_lock(struct dma_resv *r)
{
	for (unsigned i = 0; atomic_flag_test_and_set_explicit(&r->lock, memory_order_acquire);
	     i++) {
		if (i >= 100)
			sched_yield();
#if defined(__x86_64__) || defined(__i386__)
		else
			__builtin_ia32_pause();
#endif
	}
}

static void resv_unlock(struct dma_resv *r)
{
	atomic_flag_clear_explicit(&r->lock, memory_order_release);
}

void dma_resv_init(struct dma_resv *r)
{
	atomic_flag_clear(&r->lock);
	pthread_mutex_init(&r->sleep_mutex, NULL);
	fdep_lock_class(&r->sleep_mutex, "dma_resv->mutex", 0);
	atomic_init(&r->wake_gen, 0);
	pthread_cond_init(&r->cond, NULL);
	/* one class for every object's wait queue, as the kernel's init site
	 * gives one: a class per object would make new dependencies (and
	 * their checks) for every buffer object created */
	fdep_lock_class(&r->cond, "dma_resv->cond", 0);
	r->held = false;
	r->waiters = 0;
	r->ctx = NULL;
	atomic_init(&r->owner, NULL);
	r->slots = NULL;
	r->num = 0;
	r->max = 0;
}

void dma_resv_fini(struct dma_resv *r)
{
	for (unsigned i = 0; i < r->num; i++)
		dma_fence_put(r->slots[i].fence);
	free(r->slots);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->sleep_mutex);
}

void ww_acquire_init(struct ww_acquire_ctx *ctx)
{
	ctx->stamp = atomic_fetch_add(&ww_stamp_next, 1);
	ctx->acquired = 0;
	fdep_ww_init(ctx, WW_CLASS);
}

/* Every lock of the transaction is taken: no more in this context. */
void ww_acquire_done(struct ww_acquire_ctx *ctx)
{
	fdep_ww_done(ctx);
}

void ww_acquire_fini(struct ww_acquire_ctx *ctx)
{
	fdep_ww_fini(ctx);
}

/* This thread's tag: an address no other thread has. */
static const void *vmb_self(void)
{
	static __thread char tag;

	return &tag;
}

static void resv_take(struct dma_resv *r, struct ww_acquire_ctx *ctx)
{
	r->held = true;
	r->ctx = ctx;
	atomic_store_explicit(&r->owner, vmb_self(), memory_order_relaxed);
}

/*
 * `lock` held, and dropped while asleep: sleep until an unlock that comes
 * after this call (or until ts, when given).  The unlock that sees a
 * sleeper counts a generation under the wait queue's mutex, so a wake-up
 * between dropping `lock` and sleeping is not lost.
 */
static int resv_sleep(struct dma_resv *r, const struct timespec *ts)
{
	unsigned gen = atomic_load(&r->wake_gen);
	int ret = 0;

	r->waiters++;
	resv_unlock(r);
	pthread_mutex_lock(&r->sleep_mutex);
	while (atomic_load(&r->wake_gen) == gen && ret != ETIMEDOUT)
		ret = ts ? pthread_cond_timedwait(&r->cond, &r->sleep_mutex, ts)
			 : pthread_cond_wait(&r->cond, &r->sleep_mutex);
	pthread_mutex_unlock(&r->sleep_mutex);
	resv_lock(r);
	r->waiters--;
	return ret;
}

int dma_resv_lock(struct dma_resv *r, struct ww_acquire_ctx *ctx)
{
	resv_lock(r);
	if (r->held && ctx && r->ctx == ctx) {
		resv_unlock(r);
		return -EALREADY;
	}
	/* ww_inject=N: the runtime makes this acquisition back off, as the
	 * kernel's DEBUG_WW_MUTEX_SLOWPATH does, so every back-off path runs */
	if (ctx && ctx->acquired > 0 && fdep_ww_inject(ctx)) {
		resv_unlock(r);
		fdep_ww_contended(ctx, r);
		atomic_fetch_add(&stat_backoffs, 1);
		return -EDEADLK;
	}
	while (r->held) {
		/* die: we hold locks and the holder is older than us */
		if (ctx && ctx->acquired > 0 && r->ctx && r->ctx->stamp < ctx->stamp) {
			resv_unlock(r);
			fdep_ww_contended(ctx, r);
			atomic_fetch_add(&stat_backoffs, 1);
			return -EDEADLK;
		}
		resv_sleep(r, NULL);
	}
	resv_take(r, ctx);
	resv_unlock(r);
	if (ctx) {
		ctx->acquired++;
		fdep_acquire_nest(r, WW_CLASS, 0, ctx);
	} else {
		fdep_acquire(r, WW_CLASS, 0);
	}
	return 0;
}

/* After backing off: wait for the contended lock without dying. */
void dma_resv_lock_slow(struct dma_resv *r, struct ww_acquire_ctx *ctx)
{
	resv_lock(r);
	while (r->held)
		resv_sleep(r, NULL);
	resv_take(r, ctx);
	resv_unlock(r);
	ctx->acquired++;
	fdep_acquire_nest(r, WW_CLASS, 0, ctx);
}

bool dma_resv_trylock(struct dma_resv *r)
{
	bool got = false;

	resv_lock(r);
	if (!r->held) {
		resv_take(r, NULL);
		got = true;
	}
	resv_unlock(r);
	if (got)
		fdep_acquire(r, WW_CLASS, FDEP_TRY);
	return got;
}

/*
 * A blocking lock without a transaction that gives up after ms.  Only the
 * injected mistakes use it: they block on a resv where the model must not,
 * and the time limit lets a run that really deadlocked still end.
 */
bool dma_resv_lock_timeout(struct dma_resv *r, unsigned ms)
{
	struct timespec ts;
	bool got = true;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += (long)ms * 1000000L;
	while (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	resv_lock(r);
	while (r->held) {
		if (resv_sleep(r, &ts) == ETIMEDOUT && r->held) {
			got = false;
			break;
		}
	}
	if (got)
		resv_take(r, NULL);
	resv_unlock(r);
	if (got)
		fdep_acquire(r, WW_CLASS, 0);
	return got;
}

void dma_resv_unlock(struct dma_resv *r)
{
	struct ww_acquire_ctx *ctx = r->ctx;
	unsigned sleepers;

	fdep_release(r);
	if (ctx)
		ctx->acquired--;
	atomic_store_explicit(&r->owner, NULL, memory_order_relaxed);
	resv_lock(r);
	r->held = false;
	r->ctx = NULL;
	sleepers = r->waiters;
	resv_unlock(r);
	/* as a kernel mutex, the unlock wakes only when someone sleeps */
	if (sleepers) {
		pthread_mutex_lock(&r->sleep_mutex);
		atomic_fetch_add(&r->wake_gen, 1);
		pthread_cond_broadcast(&r->cond);
		pthread_mutex_unlock(&r->sleep_mutex);
	}
}

/* Only the holder finds its own tag: no mutex needed to ask. */
bool dma_resv_is_locked_by_me(struct dma_resv *r)
{
	return atomic_load_explicit(&r->owner, memory_order_relaxed) == vmb_self();
}

void dma_resv_assert_held(struct dma_resv *r)
{
	fdep_assert_held(r);
}

/*
 * Make room for n more fences.  Signalled fences are dropped first; the
 * array only grows here, under the ww lock, so dma_resv_add_fence() never
 * needs memory.
 */
int dma_resv_reserve_fences(struct dma_resv *r, unsigned n)
{
	struct dma_fence *drop[16];
	unsigned ndrop = 0, keep = 0;
	struct dma_resv_slot *old = NULL, *slots;

	dma_resv_assert_held(r);
	fdep_might_alloc();

	resv_lock(r);
	for (unsigned i = 0; i < r->num; i++) {
		struct dma_fence *f = r->slots[i].fence;

		if (ndrop < 16 && dma_fence_is_signaled(f))
			drop[ndrop++] = f;
		else
			r->slots[keep++] = r->slots[i];
	}
	r->num = keep;
	resv_unlock(r);
	for (unsigned i = 0; i < ndrop; i++)
		dma_fence_put(drop[i]);

	if (r->num + n <= r->max)
		return 0;
	slots = malloc(sizeof(*slots) * (r->num + n + 4));
	if (!slots)
		return -ENOMEM;
	resv_lock(r);
	if (r->num)
		memcpy(slots, r->slots, sizeof(*slots) * r->num);
	old = r->slots;
	r->slots = slots;
	r->max = r->num + n + 4;
	resv_unlock(r);
	free(old);
	return 0;
}

void dma_resv_add_fence(struct dma_resv *r, struct dma_fence *f, enum dma_resv_usage usage)
{
	struct dma_fence *replaced = NULL;
	unsigned i;

	dma_resv_assert_held(r);
	dma_fence_get(f);
	resv_lock(r);
	/* a later fence of the same timeline and usage supersedes the earlier */
	for (i = 0; i < r->num; i++) {
		if (r->slots[i].fence->context == f->context && r->slots[i].usage == usage) {
			replaced = r->slots[i].fence;
			r->slots[i].fence = f;
			break;
		}
	}
	if (!replaced) {
		if (r->num >= r->max) {
			resv_unlock(r);
			vmb_fatal(5, "dma_resv_add_fence without a reserved slot");
		}
		r->slots[r->num].fence = f;
		r->slots[r->num].usage = usage;
		r->num++;
	}
	resv_unlock(r);
	dma_fence_put(replaced);
}

static struct dma_fence *resv_next_unsignaled(struct dma_resv *r, enum dma_resv_usage usage,
					      unsigned *pos)
{
	for (; *pos < r->num; (*pos)++) {
		struct dma_resv_slot *s = &r->slots[*pos];

		if (s->usage <= usage && !dma_fence_is_signaled(s->fence)) {
			(*pos)++;
			return dma_fence_get(s->fence);
		}
	}
	return NULL;
}

/* The holder's walk: every writer of the slots holds the ww lock, so
 * holding it is enough to read them, as dma_resv_for_each_fence() in the
 * kernel needs the resv locked and nothing else. */
struct dma_fence *dma_resv_next_unsignaled(struct dma_resv *r, enum dma_resv_usage usage,
					   unsigned *pos)
{
	if (!*pos)
		dma_resv_assert_held(r);
	return resv_next_unsignaled(r, usage, pos);
}

/*
 * Wait for every fence of at most that usage; no allocation, no lock held
 * while waiting, so it may run in reclaim.  Signalled fences are waited for
 * too (at no cost): the wait is announced to the checker every time, not
 * only when the timing makes it block.
 */
void dma_resv_wait(struct dma_resv *r, enum dma_resv_usage usage)
{
	struct dma_fence *f;
	unsigned pos = 0;

	for (;;) {
		f = NULL;
		resv_lock(r);
		for (; pos < r->num; pos++) {
			if (r->slots[pos].usage <= usage) {
				f = dma_fence_get(r->slots[pos++].fence);
				break;
			}
		}
		resv_unlock(r);
		if (!f)
			break;
		dma_fence_wait(f);
		dma_fence_put(f);
	}
	/* fences added meanwhile */
	for (;;) {
		pos = 0;
		resv_lock(r);
		f = resv_next_unsignaled(r, usage, &pos);
		resv_unlock(r);
		if (!f)
			break;
		dma_fence_wait(f);
		dma_fence_put(f);
	}
}
