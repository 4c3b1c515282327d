/*
 * signal.c - signal handlers and signal masks, for the usage bits of
 * sigusage.c (fencedep(7), "Signal handlers").
 *
 * Every handler the program installs (sigaction, signal, bsd_signal,
 * sysv_signal, sigset) runs through trampoline(): while it runs, the
 * thread's chain key starts from a value of its own (the handler's signal,
 * the signals deliverable in it), and the held entries of the code it
 * interrupted lie below sig_floor, so that the locks a handler takes are
 * new chains, checked once by the slow path, which records the usage bits.
 * Outside handlers the key starts from the set of signals that have a
 * handler and are not blocked in the thread (0 when there is none, as
 * without this file), so a chain seen with a signal blocked is another
 * chain than the same one with the signal deliverable.  The lock and
 * malloc fast paths read nothing more.
 *
 * The program sees its own handlers: sigaction returns what it installed,
 * never the trampoline.  SIG_IGN and SIG_DFL go to the kernel as they are.
 * Masks are followed through pthread_sigmask and sigprocmask, the mask a
 * handler runs with comes from its ucontext and sa_mask, and siglongjmp or
 * longjmp out of a handler drops the handler frames it leaves (the jump
 * buffer's stack pointer says which).
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include "preload.h"

typedef void (*sighandler_fn)(int);
typedef void (*siginfo_fn)(int, siginfo_t *, void *);

REAL_DECL(int, sigaction, int, const struct sigaction *, struct sigaction *);
REAL_DECL(int, pthread_sigmask, int, const sigset_t *, sigset_t *);
REAL_DECL(int, sigprocmask, int, const sigset_t *, sigset_t *);
REAL_DECL(sighandler_fn, signal, int, sighandler_fn);
REAL_DECL(sighandler_fn, bsd_signal, int, sighandler_fn);
REAL_DECL(sighandler_fn, sysv_signal, int, sighandler_fn);
REAL_DECL(sighandler_fn, sigset, int, sighandler_fn);
REAL_DECL(int, sighold, int);
REAL_DECL(int, sigrelse, int);
REAL_DECL(void, siglongjmp, struct __jmp_buf_tag *, int);
REAL_DECL(void, longjmp, struct __jmp_buf_tag *, int);
REAL_DECL(void, _longjmp, struct __jmp_buf_tag *, int);
REAL_DECL(void, __longjmp_chk, struct __jmp_buf_tag *, int);

_Atomic uint64_t sig_handled;
_Atomic uint64_t sig_handled_gen;

#define NSIG_TRACKED 64
/* glibc's SIGCANCEL and SIGSETXID are its own: never the program's */
#define SIG_INTERNAL (SIG_BIT(32) | SIG_BIT(33))

/* What the program installed for one signal, when the trampoline is there. */
struct slot {
	_Atomic(void *) fn;
	_Atomic int flags;
	sigset_t mask;
	_Atomic bool ours;
};
static struct slot slots[NSIG_TRACKED + 1];

/* One running handler. */
struct sig_frame {
	int sig;
	int busy;           /* tls_busy when it came: it interrupted the runtime */
	const void *parked; /* the lock a slow path was waiting in, if any */
	int private_heap;
	bool tracked;       /* the thread's runtime state was switched */
	bool on_alt;        /* it runs on the alternate signal stack */
	uintptr_t sp, alt_lo, alt_hi;
	uint64_t blocked;   /* the mask of the interrupted code */
	uint64_t key;       /* its chain key, depth, floor and signal */
	uint32_t depth, floor;
	uint8_t in;
	uint64_t deliv;
};

#define FRAMES_MAX 16
struct sig_thread {
	uint64_t blocked; /* the thread's signal mask, signals 1-64 */
	bool known;       /* blocked was read or followed since the thread began */
	int depth;        /* running handlers, nested ones included */
	int lost;         /* handlers beyond FRAMES_MAX */
	struct sig_frame f[FRAMES_MAX];
};
static __thread struct sig_thread st __attribute__((tls_model("initial-exec")));

static uint64_t set_bits(const sigset_t *set)
{
	uint64_t v;

	memcpy(&v, set, sizeof(v)); /* glibc: signal s is bit s - 1 of the first word */
	return v & ~SIG_INTERNAL;
}

static bool catchable(int sig)
{
	return sig >= 1 && sig <= NSIG_TRACKED && sig != SIGKILL && sig != SIGSTOP &&
	       !(SIG_BIT(sig) & SIG_INTERNAL);
}

/*
 * A vfork() child shares the parent's memory, this file's tables and the
 * parent thread's TLS included, but not its signal dispositions or mask:
 * what it changes (Python's subprocess resets every handler before exec)
 * goes to the kernel alone.  Told apart by its pid, which the runtime
 * renews after a fork() it saw.
 */
static bool vfork_child(void)
{
	pid_t p = rt_pid;

	return p && getpid() != p;
}

/*
 * A call made while the runtime works for itself, outside any handler: the
 * libraries it uses (libunwind blocks every signal around each look-up in
 * its caches, hundreds of times for a new stack) always restore the mask
 * they found, so there is nothing to follow, and nothing to pay - neither
 * vfork_child()'s getpid() nor the tracking.
 */
static inline bool runtime_own_call(void)
{
	return tls_busy && !st.depth;
}

/*
 * The runtime's own handler (dump_signal) is not the program's: the program
 * sees SIG_DFL there, as it would without the runtime; a handler of its own
 * replaces the runtime's, and SIG_DFL brings the runtime's back.
 */
static _Atomic int runtime_sig;
static struct sigaction runtime_act;

int rt_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (act && act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN && catchable(sig)) {
		runtime_act = *act;
		atomic_store(&runtime_sig, sig);
	}
	return REAL(sigaction)(sig, act, old);
}

int rt_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	return REAL(pthread_sigmask)(how, set, old);
}

/* The thread's mask, read from the kernel the first time. */
static uint64_t blocked_now(void)
{
	if (!st.known) {
		sigset_t cur;
		if (REAL(pthread_sigmask)(SIG_BLOCK, NULL, &cur) == 0)
			st.blocked = set_bits(&cur);
		st.known = true;
	}
	return st.blocked;
}

static uint64_t deliverable(uint64_t blocked)
{
	return ~blocked & atomic_load_explicit(&sig_handled, memory_order_relaxed);
}

/* Where chain keys start in the current context: 0 outside handlers with
 * nothing deliverable, as without signals.  The callers mix in the thread's
 * event contexts (t->seed, event.c). */
static uint64_t base_key(uint64_t deliv)
{
	uint64_t h = deliv;

	for (int i = 0; i < st.depth && i < FRAMES_MAX; i++)
		h = (h ^ ((uint64_t)st.f[i].sig * 0x2545f4914f6cdd1dull + 0x9e37ull)) *
		    0xbf58476d1ce4e5b9ull;
	if (!h && !st.depth)
		return 0;
	h ^= h >> 31;
	return h ? h : 0x5167;
}

/* The keys of the entries above the floor, from a new base: the key of
 * the entry just below the floor (held[-1]'s at floor 0) is the base while
 * a handler runs above it; the frame keeps its own (frame_restore). */
static void rebase(struct rt_thread *t, uint64_t key)
{
	t->held[(int32_t)t->sig_floor - 1].key = key;
	for (uint32_t i = t->sig_floor; i < t->depth; i++) {
		struct held *e = &t->held[i];
		if (!(e->flags & HF_MERGED))
			key = chain_step(key, e->cls, e->mode, e->flags);
		e->key = key;
	}
}

/* The thread (entered) now has mask `blocked`: new base, and the locks it
 * holds are held with what became deliverable. */
static void context_changed(struct rt_thread *t, uintptr_t ip)
{
	uint64_t deliv = deliverable(blocked_now());
	uint64_t newly = deliv & ~t->sig_deliv;

	t->sig_gen = atomic_load(&sig_handled_gen);
	if (deliv == t->sig_deliv)
		return;
	t->sig_deliv = deliv;
	rebase(t, base_key(deliv) ^ t->seed);
	if (newly && t->depth > t->sig_floor)
		sig_usage_held(t, newly, ip);
}

void sig_refresh(struct rt_thread *t)
{
	if (!atomic_load(&sig_handled) && !t->sig_deliv) {
		t->sig_gen = atomic_load(&sig_handled_gen);
		return;
	}
	context_changed(t, 0);
}

static void mask_changed(uint64_t blocked, uintptr_t ip)
{
	st.blocked = blocked;
	st.known = true;
	struct rt_thread *cur = tls_thread;
	if (!atomic_load_explicit(&sig_handled, memory_order_relaxed) && (!cur || !cur->sig_deliv))
		return;
	struct rt_thread *t = thread_enter();
	if (!t)
		return;
	if (t->sig_deliv || atomic_load(&sig_handled))
		context_changed(t, ip);
	thread_leave();
}

static uint64_t mask_apply(uint64_t old, int how, const sigset_t *set)
{
	uint64_t v = set_bits(set);

	if (how == SIG_BLOCK)
		return old | v;
	if (how == SIG_UNBLOCK)
		return old & ~v;
	return v;
}

RT_EXPORT int pthread_sigmask(int how, const sigset_t *set, sigset_t *oset)
{
	sigset_t old;

	if (unlikely(runtime_own_call() || vfork_child()))
		return REAL(pthread_sigmask)(how, set, oset);
	int r = REAL(pthread_sigmask)(how, set, &old);

	if (r)
		return r;
	if (set) {
		uint64_t blocked = mask_apply(set_bits(&old), how, set);
		if (oset)
			*oset = old;
		mask_changed(blocked, RT_CALLER);
	} else {
		if (oset)
			*oset = old;
		if (!st.known)
			st.blocked = set_bits(&old), st.known = true;
	}
	return 0;
}

RT_EXPORT int sigprocmask(int how, const sigset_t *set, sigset_t *oset)
{
	sigset_t old;

	if (unlikely(runtime_own_call() || vfork_child()))
		return REAL(sigprocmask)(how, set, oset);
	int r = REAL(sigprocmask)(how, set, &old);

	if (r)
		return r;
	uint64_t blocked = set ? mask_apply(set_bits(&old), how, set) : set_bits(&old);
	if (oset)
		*oset = old;
	if (set)
		mask_changed(blocked, RT_CALLER);
	else if (!st.known)
		st.blocked = blocked, st.known = true;
	return 0;
}

/* After a call that changed the mask inside libc: read it again. */
static void mask_reread(void)
{
	sigset_t cur;

	if (REAL(pthread_sigmask)(SIG_BLOCK, NULL, &cur) == 0)
		mask_changed(set_bits(&cur), RT_CALLER);
}

/* ---- handlers ---- */

static void handled_set(int sig, bool on)
{
	uint64_t bit = SIG_BIT(sig);
	uint64_t old = on ? atomic_fetch_or(&sig_handled, bit) : atomic_fetch_and(&sig_handled, ~bit);

	if (!!(old & bit) != on)
		atomic_fetch_add(&sig_handled_gen, 1);
}

static void frame_restore(struct rt_thread *t, struct sig_frame *fr, uint64_t blocked);

/*
 * From the first handler on, free() looks at every block (release_watch),
 * where its fast path would not read the thread's private_heap word: that
 * a handler calls free() is told by that word alone.  For good, not per
 * handler: a handler may leave by longjmp, and a count would have to
 * follow it.
 */
static void sig_watch_frees(void)
{
	static _Atomic bool watching;

	if (!atomic_load_explicit(&watching, memory_order_relaxed) &&
	    !atomic_exchange(&watching, true))
		release_watch_raise();
}

/* Where the handler's signal interrupted the thread, or 0 if unknown. */
static uintptr_t interrupted_pc(const ucontext_t *uc)
{
	if (!uc)
		return 0;
#if defined(__x86_64__)
	return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
	return (uintptr_t)uc->uc_mcontext.pc;
#else
	return 0;
#endif
}

static void trampoline(int sig, siginfo_t *info, void *ucv)
{
	int saved_errno = errno;
	struct slot *s = &slots[sig];
	void *fn = atomic_load_explicit(&s->fn, memory_order_acquire);
	int flags = atomic_load_explicit(&s->flags, memory_order_relaxed);
	ucontext_t *uc = ucv;

	if (fn == (void *)SIG_IGN)
		return;
	if (!fn || fn == (void *)SIG_DFL) {
		/* replaced while this one was on its way: what the kernel
		 * would have done, once the handler returns */
		struct sigaction dfl = { .sa_handler = SIG_DFL };
		REAL(sigaction)(sig, &dfl, NULL);
		raise(sig);
		errno = saved_errno;
		return;
	}
	if (flags & SA_RESETHAND) {
		/* the kernel put SIG_DFL back as it delivered this one */
		atomic_store(&s->ours, false);
		atomic_store(&s->fn, (void *)SIG_DFL);
		handled_set(sig, false);
	}

	/* a lock fast path, which may be half-way through a push with
	 * tls_busy clear (preload.h): the handler runs as one that
	 * interrupted the runtime */
	bool in_fast = !tls_busy && fast_text_contains(interrupted_pc(uc));
	if (in_fast)
		tls_busy = 1;

	struct sig_frame *fr = NULL;
	struct rt_thread *t = NULL;
	if (st.depth < FRAMES_MAX) {
		fr = &st.f[st.depth];
		*fr = (struct sig_frame){
			.sig = sig,
			.busy = tls_busy,
			.parked = rt_tls.parked,
			.private_heap = tls_private_heap,
			.sp = (uintptr_t)__builtin_frame_address(0),
			.blocked = st.blocked,
		};
		if (flags & SA_ONSTACK) {
			stack_t ss;
			if (sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK)) {
				fr->on_alt = true;
				fr->alt_lo = (uintptr_t)ss.ss_sp;
				fr->alt_hi = (uintptr_t)ss.ss_sp + ss.ss_size;
			}
		}
		uint64_t in_handler = uc ? set_bits(&uc->uc_sigmask) : blocked_now();
		if (uc)
			fr->blocked = in_handler;
		in_handler |= set_bits(&s->mask);
		if (!(flags & SA_NODEFER))
			in_handler |= SIG_BIT(sig);
		st.blocked = in_handler;
		st.known = true;
		st.depth++;
		t = tls_thread;
		if (t && !t->dead && !tls_busy &&
		    atomic_load_explicit(&rt_state, memory_order_relaxed) == RT_READY) {
			tls_busy = 1;
			fr->tracked = true;
			fr->key = held_key(t);
			fr->depth = t->depth;
			fr->floor = t->sig_floor;
			fr->in = t->sig_in;
			fr->deliv = t->sig_deliv;
			t->sig_floor = t->depth;
			t->sig_in = (uint8_t)sig;
			t->sig_deliv = deliverable(in_handler);
			t->sig_gen = atomic_load(&sig_handled_gen);
			/* the base of the handler's entries, in the top
			 * entry's key until the frame is left */
			held_top(t)->key = base_key(t->sig_deliv) ^ t->seed;
			tls_busy = 0;
		}
		tls_private_heap |= PH_SIGNAL;
		sig_watch_frees();
		alloc_state_refresh();
	} else {
		st.lost++;
	}

	errno = saved_errno;
	((siginfo_fn)fn)(sig, info, ucv);
	saved_errno = errno;

	if (fr) {
		/* the frame may have gone with a longjmp to a point inside this
		 * handler's caller chain only if it is no longer on top */
		if (st.depth > 0 && &st.f[st.depth - 1] == fr)
			frame_restore(tls_thread, fr, uc ? set_bits(&uc->uc_sigmask) : fr->blocked);
	} else if (st.lost) {
		st.lost--;
	}
	if (in_fast)
		tls_busy = 0;
	errno = saved_errno;
}

/* Leave frame fr (the top one): the interrupted code runs again with mask
 * `blocked`. */
static void frame_restore(struct rt_thread *t, struct sig_frame *fr, uint64_t blocked)
{
	st.depth = (int)(fr - st.f);
	st.blocked = blocked;
	tls_private_heap = (tls_private_heap & ~PH_SIGNAL) | (fr->private_heap & PH_SIGNAL);
	alloc_state_refresh();
	if (!fr->tracked || !t || t->dead)
		return;
	int busy = tls_busy;
	tls_busy = 1;
	t->sig_floor = fr->floor;
	t->sig_in = fr->in;
	t->sig_deliv = fr->deliv;
	if (t->depth == fr->depth) {
		held_top(t)->key = fr->key;
	} else {
		/* the handler left locks held, or released some of the code it
		 * interrupted: the keys above the floor again */
		rebase(t, base_key(fr->deliv) ^ t->seed);
	}
	if (deliverable(blocked) != fr->deliv && !busy)
		context_changed(t, 0);
	tls_busy = busy;
}

/* ---- installing handlers ---- */

static void program_view(const struct slot *s, struct sigaction *out)
{
	memset(out, 0, sizeof(*out));
	out->sa_sigaction = (siginfo_fn)atomic_load(&s->fn);
	out->sa_flags = atomic_load(&s->flags);
	out->sa_mask = s->mask;
}

static void refresh_self(void)
{
	if (tls_busy || atomic_load(&rt_state) == RT_DISABLED)
		return;
	struct rt_thread *t = thread_enter();
	if (!t)
		return;
	sig_refresh(t);
	thread_leave();
}

static int do_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (!catchable(sig))
		return REAL(sigaction)(sig, act, old);
	struct slot *s = &slots[sig];
	if (vfork_child()) {
		/* the old handler as the program knows it, the new one as it is */
		int r = REAL(sigaction)(sig, act, old);
		if (r == 0 && old && atomic_load(&s->ours) &&
		    old->sa_sigaction == trampoline)
			program_view(s, old);
		return r;
	}
	bool was_ours = atomic_load(&s->ours);
	bool runtime = sig == atomic_load(&runtime_sig);
	struct sigaction prev;

	if (was_ours || (runtime && atomic_load(&s->fn) != (void *)SIG_IGN)) {
		program_view(s, &prev);
		was_ours = true; /* what the program sees is in the slot */
	}
	if (!act) {
		if (!was_ours)
			return REAL(sigaction)(sig, NULL, old);
		if (old)
			*old = prev;
		return 0;
	}
	struct sigaction kold;
	if (act->sa_sigaction == trampoline) {
		/* what the kernel gave back (a vfork child, another interposer):
		 * the handler stays the program's */
		if (REAL(sigaction)(sig, act, &kold))
			return -1;
	} else if (act->sa_handler == SIG_DFL || act->sa_handler == SIG_IGN) {
		if (REAL(sigaction)(sig, runtime && act->sa_handler == SIG_DFL ? &runtime_act : act,
				    &kold))
			return -1;
		atomic_store(&s->ours, false);
		atomic_store(&s->fn, (void *)act->sa_handler);
		atomic_store(&s->flags, act->sa_flags);
		s->mask = act->sa_mask;
		handled_set(sig, false);
	} else {
		struct sigaction k = *act;
		struct slot saved = { 0 };
		saved.fn = atomic_load(&s->fn);
		saved.flags = atomic_load(&s->flags);
		saved.mask = s->mask;
		/* the slot first: the trampoline may run as soon as it is in */
		s->mask = act->sa_mask;
		atomic_store(&s->flags, act->sa_flags);
		atomic_store_explicit(&s->fn, (void *)act->sa_sigaction, memory_order_release);
		k.sa_sigaction = trampoline;
		k.sa_flags |= SA_SIGINFO;
		if (REAL(sigaction)(sig, &k, &kold)) {
			int e = errno;
			s->mask = saved.mask;
			atomic_store(&s->flags, atomic_load(&saved.flags));
			atomic_store(&s->fn, atomic_load(&saved.fn));
			errno = e;
			return -1;
		}
		atomic_store(&s->ours, true);
		handled_set(sig, true);
	}
	if (old)
		*old = was_ours ? prev : kold;
	refresh_self();
	return 0;
}

RT_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return do_sigaction(sig, act, old);
}

RT_EXPORT int __sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return do_sigaction(sig, act, old);
}

/*
 * signal() and its kin: the real call installs the handler with glibc's
 * flags (siginterrupt() included); it is read back and put behind the
 * trampoline.  What is returned is the program's previous handler.
 */
static sighandler_fn wrap_simple(sighandler_fn (*real)(int, sighandler_fn), int sig,
				 sighandler_fn h, bool rereads_mask)
{
	if (!real) {
		errno = ENOSYS;
		return SIG_ERR;
	}
	if (!catchable(sig))
		return real(sig, h);
	struct slot *s = &slots[sig];
	if (vfork_child()) {
		sighandler_fn r = real(sig, h);
		return r == (sighandler_fn)(void *)trampoline ? (sighandler_fn)atomic_load(&s->fn) : r;
	}
	struct sigaction prev;
	if (do_sigaction(sig, NULL, &prev))
		return SIG_ERR;
	sighandler_fn r;
	if (h == SIG_DFL || h == SIG_IGN) {
		struct sigaction a;
		memset(&a, 0, sizeof(a));
		a.sa_handler = h;
		if (do_sigaction(sig, &a, NULL))
			return SIG_ERR;
		r = prev.sa_handler;
	} else {
		r = real(sig, h);
		if (r == SIG_ERR)
			return r;
		struct sigaction k;
		if (h != SIG_HOLD && REAL(sigaction)(sig, NULL, &k) == 0 && k.sa_handler == h)
			do_sigaction(sig, &k, NULL);
		if (r != SIG_HOLD)
			r = prev.sa_handler;
	}
	if (rereads_mask)
		mask_reread();
	return r;
}

RT_EXPORT sighandler_fn signal(int sig, sighandler_fn h)
{
	return wrap_simple(REAL(signal), sig, h, false);
}

RT_EXPORT sighandler_fn bsd_signal(int sig, sighandler_fn h)
{
	return wrap_simple(REAL(bsd_signal), sig, h, false);
}

RT_EXPORT sighandler_fn sysv_signal(int sig, sighandler_fn h)
{
	return wrap_simple(REAL(sysv_signal), sig, h, false);
}

RT_EXPORT sighandler_fn sigset(int sig, sighandler_fn h)
{
	return wrap_simple(REAL(sigset), sig, h, true);
}

RT_EXPORT int sighold(int sig)
{
	int r = REAL(sighold)(sig);

	if (r == 0)
		mask_reread();
	return r;
}

RT_EXPORT int sigrelse(int sig)
{
	int r = REAL(sigrelse)(sig);

	if (r == 0)
		mask_reread();
	return r;
}

/* ---- leaving handlers by longjmp ---- */

/* The stack pointer a jump buffer restores, or 0 when it cannot be read
 * here (then every handler frame counts as left). */
static uintptr_t jmpbuf_sp(struct __jmp_buf_tag *env)
{
#if defined(__x86_64__)
	/* glibc mangles it: xor with the pointer guard, rotate left 17 */
	uintptr_t v = (uintptr_t)env->__jmpbuf[6], guard;
	__asm__("mov %%fs:0x30, %0" : "=r"(guard));
	v = (v >> 17) | (v << 47);
	return v ^ guard;
#else
	(void)env;
	return 0;
#endif
}

static bool frame_left(const struct sig_frame *fr, uintptr_t target)
{
	if (!target)
		return true;
	if (fr->on_alt && (target < fr->alt_lo || target >= fr->alt_hi))
		return true;
	return target > fr->sp;
}

/*
 * A longjmp is about to leave the handler frames below its target: the
 * code the outermost of them interrupted is abandoned, and the runtime
 * state goes back to what it was there.  A slow path that was waiting in a
 * real lock (parked) never got it: its entry goes; one that was inside the
 * runtime's own work cannot be resumed, and the thread stays untracked.
 */
static void leave_frames(struct __jmp_buf_tag *env)
{
	if (likely(!st.depth))
		return;
	int saved_errno = errno;
	uintptr_t target = jmpbuf_sp(env);
	int keep = st.depth;

	while (keep > 0 && frame_left(&st.f[keep - 1], target))
		keep--;
	if (keep == st.depth) {
		errno = saved_errno;
		return;
	}
	struct sig_frame *fr = &st.f[keep];
	uint64_t blocked = env->__mask_was_saved ? set_bits(&env->__saved_mask) : st.blocked;
	struct rt_thread *t = tls_thread;

	st.lost = 0;
	if (fr->busy && fr->parked && t && !t->dead) {
		/* it was waiting for a lock in a slow path */
		tls_busy = 1;
		struct held *h = held_find(t, fr->parked);
		if (h && h == &t->held[t->depth - 1])
			held_remove(t, h);
		wait_end(t); /* the watchdog's record of the wait, too */
		rt_tls.parked = NULL;
		tls_busy = 0;
	} else if (!fr->busy) {
		tls_busy = 0;
	}
	frame_restore(t, fr, blocked);
	errno = saved_errno;
}

/*
 * Handler frames left by a way this file does not see (setcontext, an
 * exception unwound through the signal frame): the code that runs now is
 * not above them on their stack.  Checked where a handler's state would
 * be recorded (a new chain in a handler, a call from one); the thread is
 * entered (t) or about to be.
 */
void sig_frames_check(struct rt_thread *t)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	int keep = st.depth < FRAMES_MAX ? st.depth : FRAMES_MAX;

	while (keep > 0) {
		const struct sig_frame *fr = &st.f[keep - 1];
		bool on_alt_now = fr->on_alt && sp >= fr->alt_lo && sp < fr->alt_hi;
		if ((fr->on_alt ? on_alt_now : true) && sp < fr->sp)
			break;
		keep--;
	}
	if (keep == st.depth || keep >= FRAMES_MAX)
		return;
	sigset_t cur;
	uint64_t blocked = REAL(pthread_sigmask)(SIG_BLOCK, NULL, &cur) == 0 ? set_bits(&cur)
									   : st.blocked;
	struct sig_frame *fr = &st.f[keep];
	int busy = tls_busy;
	st.lost = 0;
	if (!fr->busy) {
		frame_restore(t, fr, blocked);
	} else {
		/* it interrupted the runtime: nothing of the thread's state was
		 * switched, only the frames go */
		st.depth = keep;
		st.blocked = blocked;
		tls_private_heap = (tls_private_heap & ~PH_SIGNAL) | (fr->private_heap & PH_SIGNAL);
		alloc_state_refresh();
	}
	tls_busy = busy;
}

RT_EXPORT void siglongjmp(sigjmp_buf env, int val)
{
	leave_frames(env);
	REAL(siglongjmp)(env, val);
	__builtin_unreachable();
}

RT_EXPORT void longjmp(jmp_buf env, int val)
{
	leave_frames(env);
	REAL(longjmp)(env, val);
	__builtin_unreachable();
}

RT_EXPORT void _longjmp(jmp_buf env, int val)
{
	leave_frames(env);
	REAL(_longjmp)(env, val);
	__builtin_unreachable();
}

RT_EXPORT void __longjmp_chk(jmp_buf env, int val)
{
	leave_frames(env);
	REAL(__longjmp_chk)(env, val);
	__builtin_unreachable();
}

/* ---- what a handler must not call ---- */

static const char *unsafe_detail(const char *what, int sig)
{
	static _Atomic(const char *) details[NSIG_TRACKED + 1][4];
	static const char *const whats[] = { "malloc", "free", "pthread_create", "dlclose" };
	unsigned w = 0;

	while (w < 3 && strcmp(whats[w], what))
		w++;
	const char *d = atomic_load(&details[sig][w]);
	if (d)
		return d;
	char buf[160];
	const char *abbrev = sigabbrev_np(sig);
	size_t n = name_cat(buf, sizeof(buf), 0, what);
	n = name_cat(buf, sizeof(buf), n, " called in a handler for SIG");
	n = name_cat(buf, sizeof(buf), n, abbrev ? abbrev : "?");
	name_cat(buf, sizeof(buf), n, ": not async-signal-safe");
	char *copy = rt_strdup(buf);
	const char *expected = NULL;
	if (copy && !atomic_compare_exchange_strong(&details[sig][w], &expected, copy))
		return expected;
	return copy ? copy : "a call that is not async-signal-safe, in a signal handler";
}

/*
 * Call sites already reported, by site, signal and call: a handler that
 * allocates on every signal costs a stack capture once, not each time (a
 * fast timer's handler slowed so would starve the code it interrupts).
 */
#define SEEN_SITES 256
static _Atomic uintptr_t seen_sites[SEEN_SITES];

static bool site_seen(uintptr_t key)
{
	unsigned i = (unsigned)((key * 0x9e3779b97f4a7c15ull) >> 56);

	for (unsigned n = 0; n < 8; n++, i = (i + 1) % SEEN_SITES) {
		uintptr_t k = atomic_load_explicit(&seen_sites[i], memory_order_relaxed);
		if (k == key)
			return true;
		if (!k) {
			uintptr_t expected = 0;
			if (atomic_compare_exchange_strong(&seen_sites[i], &expected, key))
				return false;
			if (expected == key)
				return true;
		}
	}
	return false; /* the set is full around here: report, deduplicated later */
}

void sig_unsafe_call(const char *what, uintptr_t ip)
{
	if (st.depth > 0 && !tls_busy)
		sig_frames_check(tls_thread);
	if (st.depth <= 0 || st.depth > FRAMES_MAX || !(tls_private_heap & PH_SIGNAL))
		return;
	int sig = st.f[st.depth - 1].sig;
	if (tls_busy || site_seen((ip ^ ((uintptr_t)sig << 1) ^ ((uintptr_t)what[0] << 9)) | 1))
		return;
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	struct finding_in f = {
		.kind = FK_SIGNAL_UNSAFE_CALL,
		.title = "a call that is not async-signal-safe, in a signal handler",
		.detail = unsafe_detail(what, sig),
		.stack = stack_capture(ip),
		.sig = sig,
	};
	report_finding(t, &f);
	thread_leave();
}

/* Everything a handler may need, resolved before one runs: dlsym() is not
 * async-signal-safe. */
__attribute__((constructor(102))) static void signal_resolved(void)
{
	(void)REAL(sigaction);
	(void)REAL(pthread_sigmask);
	(void)REAL(sigprocmask);
	(void)REAL(siglongjmp);
	(void)REAL(longjmp);
	(void)REAL(_longjmp);
	(void)REAL(__longjmp_chk);
}
