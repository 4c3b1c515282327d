/*
 * fencedep.h - annotation API of fencedep, the runtime dependency checker
 * for locks, fences and reclaim contexts.  See fencedep(3) and fencedep(7).
 *
 * Every handle is the address of one of the program's own objects.  Class
 * names are identities, interned on first use.
 *
 * Every call is a no-op when libfencedep is not loaded: the functions are
 * weak references, and each call below is wrapped in a macro that tests the
 * reference first, so an annotated program runs at full speed without the
 * runtime (and needs no -lfencedep to link).  Define FDEP_NO_WRAPPERS before
 * including this header to get the plain declarations (the runtime does).
 */
#ifndef FENCEDEP_H
#define FENCEDEP_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Flags of fdep_acquire(). */
#define FDEP_EXCLUSIVE 0x0u  /* a writer, or a plain lock */
#define FDEP_SHARED 0x1u     /* a non-recursive reader */
#define FDEP_RECURSIVE 0x2u  /* a recursive reader */
#define FDEP_TRY 0x4u        /* a trylock that succeeded: adds no edge into it */
#define FDEP_SPIN 0x8u       /* a spinning lock: nothing may block under it */
#define FDEP_SUBCLASS(n) (((unsigned)(n)&0xffu) << 8)
#define FDEP_SUBCLASS_OF(flags) (((flags) >> 8) & 0xffu)

#if defined(__GNUC__) && !defined(FDEP_NO_WEAK)
#define FDEP_WEAK __attribute__((weak))
#else
#define FDEP_WEAK
#endif

/* Locks. */
void fdep_lock_class(const void *lock, const char *class_name, unsigned subclass) FDEP_WEAK;
void fdep_acquire(const void *lock, const char *class_name, unsigned flags) FDEP_WEAK;
void fdep_acquire_nest(const void *lock, const char *class_name, unsigned flags,
		       const void *nest) FDEP_WEAK;
void fdep_release(const void *lock) FDEP_WEAK;
void fdep_assert_held(const void *lock) FDEP_WEAK;
void fdep_assert_not_held(const void *lock) FDEP_WEAK;

/* Wound/wait acquire contexts. */
void fdep_ww_init(const void *ctx, const char *ww_class) FDEP_WEAK;
void fdep_ww_contended(const void *ctx, const void *lock) FDEP_WEAK;
void fdep_ww_fini(const void *ctx) FDEP_WEAK;
/* ww_acquire_done: the context takes no more locks. */
void fdep_ww_done(const void *ctx) FDEP_WEAK;
/* True: pretend this acquisition returned -EDEADLK (option ww_inject=N).
 * Call it before each lock of a context; on true, report it with
 * fdep_ww_contended() and back off as for a real -EDEADLK. */
bool fdep_ww_inject(const void *ctx) FDEP_WEAK;

/* Reclaim. */
void fdep_might_alloc(void) FDEP_WEAK;
void fdep_reclaim_begin(void) FDEP_WEAK;
void fdep_reclaim_end(void) FDEP_WEAK;
unsigned fdep_noreclaim_save(void) FDEP_WEAK;
void fdep_noreclaim_restore(unsigned saved) FDEP_WEAK;

/* Fences. */
void fdep_fence_init(const void *fence, const char *fence_class) FDEP_WEAK;
void fdep_fence_publish(const void *fence) FDEP_WEAK;
void fdep_fence_handoff(const void *fence) FDEP_WEAK;
void fdep_fence_adopt(const void *fence) FDEP_WEAK;
void fdep_fence_signal(const void *fence) FDEP_WEAK;
void fdep_fence_wait(const void *fence) FDEP_WEAK;
void fdep_fence_destroy(const void *fence) FDEP_WEAK;
bool fdep_signalling_begin(void) FDEP_WEAK;
void fdep_signalling_end(bool cookie) FDEP_WEAK;

/* Events: waits the runtime cannot see (eventfd, pipes, futexes, a
 * program's own completions).  Call fdep_event_wait() before blocking and
 * fdep_event_signal() when the event happens. */
void fdep_event_init(const void *ev, const char *event_class) FDEP_WEAK;
void fdep_event_wait(const void *ev) FDEP_WEAK;
void fdep_event_signal(const void *ev) FDEP_WEAK;

/* Documented orders. */
void fdep_prime(const char *first_class, const char *second_class) FDEP_WEAK;

#if defined(__GNUC__) && !defined(FDEP_NO_WRAPPERS) && !defined(FDEP_NO_WEAK)
/*
 * A function-like macro is not expanded again inside its own expansion, so
 * the name there is the weak function itself: null when the runtime is not
 * loaded.  The address, tested anyway, is called through: without the
 * empty asm the compiler would call the name again, through the PLT.
 */
#define FDEP__CALL(fn, ...) \
	__extension__({ \
		__typeof__(&fn) fdep__fn = &fn; \
		__asm__("" : "+r"(fdep__fn)); \
		fdep__fn ? fdep__fn(__VA_ARGS__) : (void)0; \
	})
#define FDEP__CALL0(fn) \
	__extension__({ \
		__typeof__(&fn) fdep__fn = &fn; \
		__asm__("" : "+r"(fdep__fn)); \
		fdep__fn ? fdep__fn() : (void)0; \
	})
#define fdep_lock_class(...) FDEP__CALL(fdep_lock_class, __VA_ARGS__)
#define fdep_acquire(...) FDEP__CALL(fdep_acquire, __VA_ARGS__)
#define fdep_acquire_nest(...) FDEP__CALL(fdep_acquire_nest, __VA_ARGS__)
#define fdep_release(...) FDEP__CALL(fdep_release, __VA_ARGS__)
#define fdep_assert_held(...) FDEP__CALL(fdep_assert_held, __VA_ARGS__)
#define fdep_assert_not_held(...) FDEP__CALL(fdep_assert_not_held, __VA_ARGS__)
#define fdep_ww_init(...) FDEP__CALL(fdep_ww_init, __VA_ARGS__)
#define fdep_ww_contended(...) FDEP__CALL(fdep_ww_contended, __VA_ARGS__)
#define fdep_ww_fini(...) FDEP__CALL(fdep_ww_fini, __VA_ARGS__)
#define fdep_ww_done(...) FDEP__CALL(fdep_ww_done, __VA_ARGS__)
#define fdep_ww_inject(...) (fdep_ww_inject ? fdep_ww_inject(__VA_ARGS__) : false)
#define fdep_might_alloc() FDEP__CALL0(fdep_might_alloc)
#define fdep_reclaim_begin() FDEP__CALL0(fdep_reclaim_begin)
#define fdep_reclaim_end() FDEP__CALL0(fdep_reclaim_end)
#define fdep_noreclaim_save() (fdep_noreclaim_save ? fdep_noreclaim_save() : 0u)
#define fdep_noreclaim_restore(...) FDEP__CALL(fdep_noreclaim_restore, __VA_ARGS__)
#define fdep_fence_init(...) FDEP__CALL(fdep_fence_init, __VA_ARGS__)
#define fdep_fence_publish(...) FDEP__CALL(fdep_fence_publish, __VA_ARGS__)
#define fdep_fence_handoff(...) FDEP__CALL(fdep_fence_handoff, __VA_ARGS__)
#define fdep_fence_adopt(...) FDEP__CALL(fdep_fence_adopt, __VA_ARGS__)
#define fdep_fence_signal(...) FDEP__CALL(fdep_fence_signal, __VA_ARGS__)
#define fdep_fence_wait(...) FDEP__CALL(fdep_fence_wait, __VA_ARGS__)
#define fdep_fence_destroy(...) FDEP__CALL(fdep_fence_destroy, __VA_ARGS__)
#define fdep_signalling_begin() (fdep_signalling_begin ? fdep_signalling_begin() : false)
#define fdep_signalling_end(...) FDEP__CALL(fdep_signalling_end, __VA_ARGS__)
#define fdep_event_init(...) FDEP__CALL(fdep_event_init, __VA_ARGS__)
#define fdep_event_wait(...) FDEP__CALL(fdep_event_wait, __VA_ARGS__)
#define fdep_event_signal(...) FDEP__CALL(fdep_event_signal, __VA_ARGS__)
#define fdep_prime(...) FDEP__CALL(fdep_prime, __VA_ARGS__)
#endif

#ifdef __cplusplus
}
#endif

#endif /* FENCEDEP_H */
