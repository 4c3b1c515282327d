/*
 * thread.c - thread life: a thread that ends (by returning or by
 * pthread_exit) holding locks is reported; its state is freed by a key
 * destructor once nothing of the thread can run any more (init.c).  fork()
 * is handled by the runtime's atfork handlers (init.c); dlclose() forgets
 * the locks of the module it unloads, and is counted, for what remembers
 * addresses in modules.
 */
#include <link.h>
#include <stdio.h>
#include <string.h>

#include "preload.h"

REAL_DECL(int, pthread_create, pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
REAL_DECL(void, pthread_exit, void *);
REAL_DECL(int, dlclose, void *);

struct start {
	void *(*fn)(void *);
	void *arg;
	uintptr_t site;
	struct lock_class *life; /* thread@<creation site> */
	size_t stacksize;         /* asked for in the attributes, when small */
};

void preload_thread_end(void)
{
	struct rt_thread *t = thread_enter();

	if (!t)
		return;
	pylock_thread_end(t);
	thread_exit_check(t);
	/* what runs after this (key destructors) leads to no exit of the
	 * thread's any more: its class may go from here on */
	bool life = t->nctx != 0;
	event_context_leave_all(t);
	thread_leave();
	if (life)
		waits_thread_exited(pthread_self());
}

void preload_thread_begin(uintptr_t site, struct lock_class *life)
{
	struct rt_thread *t = thread_enter();

	if (t) {
		t->create_site = site;
		/* the mask it began with, when signals have handlers */
		if (atomic_load_explicit(&sig_handled, memory_order_relaxed))
			sig_refresh(t);
		/* its whole life leads to its exit, which joiners wait for */
		if (rt_opt.join_life)
			event_context_enter(t, life, false);
		thread_leave();
	}
}

static void *thread_start(void *p)
{
	struct start s = *(struct start *)p;

	rt_free(p, sizeof(s));
	/* glibc puts the thread's descriptor (the thread pointer) and its
	 * static TLS at the top of the stack it was given: the lowest usable
	 * byte is stacksize below the descriptor's end, a page of margin for
	 * the descriptor's own size */
	if (s.stacksize)
		tls_stack_lo = (uintptr_t)pthread_self() - s.stacksize + 4096;
	preload_thread_begin(s.site, s.life);
	void *r = s.fn(s.arg);
	preload_thread_end();
	return r;
}

RT_EXPORT int pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
			     void *arg)
{
	struct start *s = NULL;

	if (unlikely(tls_private_heap & PH_SIGNAL))
		sig_unsafe_call("pthread_create", RT_CALLER);
	if (atomic_load(&rt_state) == RT_READY)
		s = rt_alloc(sizeof(*s));
	if (!s)
		return REAL(pthread_create)(th, attr, fn, arg);
	*s = (struct start){ fn, arg, RT_CALLER, NULL, 0 };
	size_t stacksize;
	if (attr && !pthread_attr_getstacksize(attr, &stacksize) && stacksize < STACK_SMALL)
		s->stacksize = stacksize;
	struct rt_thread *t = thread_enter();
	if (t) {
		s->life = event_thread_class(s, s->site);
		thread_leave();
	}
	struct lock_class *life = s->life; /* s is the new thread's once it runs */
	int detached = PTHREAD_CREATE_JOINABLE;
	if (attr)
		pthread_attr_getdetachstate(attr, &detached);
	int r = REAL(pthread_create)(th, attr, thread_start, s);
	if (r)
		rt_free(s, sizeof(*s));
	else if (life)
		waits_thread_created(*th, life, detached == PTHREAD_CREATE_DETACHED);
	return r;
}

RT_EXPORT void pthread_exit(void *ret)
{
	preload_thread_end();
	REAL(pthread_exit)(ret);
	__builtin_unreachable();
}

/*
 * The writable segments of a module, where its static locks and fences
 * live, found by its load address and name (dl_iterate_phdr).
 */
#define MODULE_RANGES 8

struct module_seek {
	uintptr_t base;
	const char *name;
	bool found;
	int n;
	uintptr_t lo[MODULE_RANGES], len[MODULE_RANGES];
};

static int module_seek_one(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct module_seek *m = arg;

	(void)size;
	if (info->dlpi_addr != m->base || strcmp(info->dlpi_name ? info->dlpi_name : "", m->name))
		return 0;
	m->found = true;
	for (int i = 0; i < info->dlpi_phnum && m->n < MODULE_RANGES; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W) && ph->p_memsz) {
			m->lo[m->n] = m->base + ph->p_vaddr;
			m->len[m->n++] = ph->p_memsz;
		}
	}
	return 1;
}

static bool module_seek(struct module_seek *m)
{
	m->found = false;
	m->n = 0;
	dl_iterate_phdr(module_seek_one, m);
	return m->found;
}

/*
 * An unloaded module takes its static locks and fences with it: they are
 * forgotten, as freed memory is, so that a module mapped at the same
 * address later has locks of its own.  And it takes its literals: fence
 * class names remembered by pointer (fence.c) are compared by text again.
 */
RT_EXPORT int dlclose(void *handle)
{
	if (unlikely(tls_private_heap & PH_SIGNAL))
		sig_unsafe_call("dlclose", RT_CALLER);
	struct link_map *lm = NULL;
	struct module_seek m = { 0 };
	char name[1024] = "";

	if (dlinfo(handle, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name) {
		snprintf(name, sizeof(name), "%s", lm->l_name);
		m.base = lm->l_addr;
		m.name = name;
		module_seek(&m);
	}
	int r = REAL(dlclose)(handle);
	struct module_seek still = { .base = m.base, .name = name };
	if (m.n && !module_seek(&still)) {
		struct rt_thread *t = thread_enter();
		if (t) {
			for (int i = 0; i < m.n; i++)
				instance_forget_range((void *)m.lo[i], m.len[i], RT_CALLER);
			thread_leave();
		}
	}
	atomic_fetch_add_explicit(&rt_unload_gen, 1, memory_order_acq_rel);
	return r;
}
