/*
 * waits SCENARIO - waits for events (condition variables, semaphores,
 * joins, barriers, once routines, C11 threads, the program's own events)
 * against the locks their signallers need.  Each finding scenario is
 * ordered so that the run itself never deadlocks: the dependency that
 * closes the cycle is recorded before the thread would block, and the
 * event then comes from a path that does not need the lock.
 *
 * Findings (event-lock-inversion):
 *   cond      a cv is signalled under A; later a thread waits on it holding A
 *   sem       a semaphore is posted under A; later waited for holding A
 *   join      a thread takes A in its life; it is joined with A held
 *   barrier   a participant takes A in a phase; another arrives holding A
 *   barrier-sem  a semaphore used as a lock held across an arrival; another
 *             participant waits for it in a phase
 *   once      the once routine takes B; a caller holding B waits for it
 *   event     fdep_event_* on an eventfd: signalled under A, waited holding A
 *   c11-cond  cond, with mtx_t/cnd_t/thrd_t
 *   c11-join  join, with thrd_join
 * Clean twins: cond-clean sem-clean join-clean barrier-clean once-clean
 *   event-clean c11-clean, and the idioms:
 *   own-mutex     the waiter holds only the cv's mutex, the signaller too
 *   pool          a thread pool: tasks under a queue cv, stats lock in
 *                 tasks, shutdown by broadcast and join
 *   sem-lock      a binary semaphore used as a lock inside another lock,
 *                 and alone around another lock
 *   phases        barrier phases, locks taken and released in each
 *   barrier-ownsem    threads between barrier arrivals post their own
 *                     semaphore and wait for it (barrier-owncond: signal
 *                     their own cv, then wait on it for another thread;
 *                     barrier-ownevent: their own eventfd, fdep_event_*)
 *   timed         timed and try waits holding the lock their signaller takes
 *   handshake     a thread signals a cv under an outer lock, then waits on it
 *                 under that lock for another thread's signal
 *   pingpong N    N round trips by cv and by semaphore between two threads
 * Findings under signal_context=wait (event-lock-inversion), with twins:
 *   sem-inner     a binary semaphore as a lock, A taken inside it, and A
 *                 held around a wait for it (sem-inner-clean: A after it)
 *   cvlock        a lock made of a cv, the same (cvlock-clean)
 *   cvwindow      a thread takes a cv lock, takes A in its window, gives the
 *                 lock back under the cv's mutex alone, as another thread
 *                 gave it before; that one waits for the cv lock holding A
 *                 (cvwindow-clean: A after the give)
 * Futexes (futex=1): futex - syscall(SYS_futex) woken under A, waited for
 *   holding A (event-lock-inversion); futex-clean - woken without A;
 *   futex-lock - the word as a lock around nothing, under A.
 * Thread records: threads N detached|detach|cancel|cancel-detached - N
 *   threads never joined or cancelled; prints the peak resident size.
 * Hang (for the watchdog): hang - blocked for good in a cv wait, a
 *   sem_wait and a join of the thread in sem_wait.
 * Misuse (bad-unlock-balance):
 *   cond-unheld   pthread_cond_wait with an error-checking mutex nobody holds
 *   cond-foreign  the same mutex held by another thread
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#include "fencedep.h"

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cv_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static sem_t sem, started;
static int ready, waiting;
static int clean;

static void lock(pthread_mutex_t *m)
{
	pthread_mutex_lock(m);
}

static void unlock(pthread_mutex_t *m)
{
	pthread_mutex_unlock(m);
}

/* ---- cond ---- */

static void *cond_waiter(void *arg)
{
	(void)arg;
	if (!clean)
		lock(&lock_a);
	lock(&cv_mutex);
	waiting = 1;
	while (!ready)
		pthread_cond_wait(&cv, &cv_mutex);
	unlock(&cv_mutex);
	if (!clean)
		unlock(&lock_a);
	return NULL;
}

static int run_cond(void)
{
	pthread_t t;

	/* a signal under A: the cv's event needs A */
	lock(&lock_a);
	lock(&cv_mutex);
	pthread_cond_signal(&cv);
	unlock(&cv_mutex);
	unlock(&lock_a);
	pthread_create(&t, NULL, cond_waiter, NULL);
	/* waiting is set under the mutex the wait releases: seen, the waiter waits */
	for (;;) {
		lock(&cv_mutex);
		if (waiting) {
			ready = 1;
			pthread_cond_signal(&cv);
			unlock(&cv_mutex);
			break;
		}
		unlock(&cv_mutex);
		sched_yield();
	}
	pthread_join(t, NULL);
	return 0;
}

/* ---- sem ---- */

static void *sem_waiter(void *arg)
{
	(void)arg;
	lock(&lock_a);
	sem_wait(&sem); /* posted already: does not block */
	unlock(&lock_a);
	return NULL;
}

static int run_sem(void)
{
	pthread_t t;

	sem_init(&sem, 0, 0);
	if (!clean)
		lock(&lock_a);
	sem_post(&sem);
	if (!clean)
		unlock(&lock_a);
	pthread_create(&t, NULL, sem_waiter, NULL);
	pthread_join(t, NULL);
	sem_destroy(&sem);
	return 0;
}

/* ---- join ---- */

static void *join_worker(void *arg)
{
	(void)arg;
	lock(&lock_a);
	unlock(&lock_a);
	sem_post(&started);
	return NULL;
}

static int run_join(void)
{
	pthread_t t;

	sem_init(&started, 0, 0);
	pthread_create(&t, NULL, join_worker, NULL);
	sem_wait(&started);
	lock(&lock_a);
	if (clean)
		unlock(&lock_a);
	pthread_join(t, NULL);
	if (!clean)
		unlock(&lock_a);
	return 0;
}

/* ---- barrier ---- */

static pthread_barrier_t barrier;

static void *barrier_taker(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&barrier);
	/* phase 2: A taken and released, then the arrival */
	lock(&lock_a);
	unlock(&lock_a);
	sem_post(&started);
	pthread_barrier_wait(&barrier);
	return NULL;
}

static int run_barrier(void)
{
	pthread_t t;

	sem_init(&started, 0, 0);
	pthread_barrier_init(&barrier, NULL, 2);
	pthread_create(&t, NULL, barrier_taker, NULL);
	pthread_barrier_wait(&barrier);
	sem_wait(&started);
	lock(&lock_a);
	if (clean)
		unlock(&lock_a);
	pthread_barrier_wait(&barrier);
	if (!clean)
		unlock(&lock_a);
	pthread_join(t, NULL);
	pthread_barrier_destroy(&barrier);
	return 0;
}

/*
 * ---- barrier phases and a thread's own event ----
 *
 * Each thread arrives at a barrier, then posts its own semaphore and waits
 * for it (the wait takes back the thread's own post: it waits for no other
 * thread), and arrives again; a warm-up of the same before the first
 * arrival.  This cannot deadlock.  barrier-owncond: the same with the
 * thread's own condition variable, signalled by itself, then waited on for
 * the other thread's signal; barrier-ownevent: with an eventfd of its own
 * (fdep_event_*).  barrier-sem, the finding: a semaphore used as a lock
 * held across an arrival by one thread, waited for in a phase by another.
 */
#define OWN_THREADS 2
#define OWN_ROUNDS 4

static pthread_barrier_t own_barrier;
static int own_kind; /* 0 semaphore, 1 condition variable, 2 eventfd */

static struct own {
	sem_t sem;
	pthread_mutex_t m;
	pthread_cond_t cv;
	int efd;
	int tick;
} owns[OWN_THREADS];

/* The other thread's tick k for o: its signal, under o's mutex. */
static void own_tick(struct own *o, int k)
{
	lock(&o->m);
	o->tick = k;
	pthread_cond_signal(&o->cv);
	unlock(&o->m);
}

static void own_round(struct own *o, struct own *other, int k)
{
	uint64_t v = 1;

	switch (own_kind) {
	case 0:
		sem_post(&o->sem);
		sem_wait(&o->sem);
		break;
	case 1:
		/* its own signal first, then a wait the other thread ends */
		lock(&o->m);
		pthread_cond_signal(&o->cv);
		unlock(&o->m);
		if (o < other)
			usleep(2000); /* so that the other one surely waits */
		own_tick(other, k);
		lock(&o->m);
		while (o->tick < k)
			pthread_cond_wait(&o->cv, &o->m);
		unlock(&o->m);
		break;
	default:
		fdep_event_signal(&o->efd);
		if (write(o->efd, &v, sizeof(v)) != sizeof(v))
			abort();
		fdep_event_wait(&o->efd);
		if (read(o->efd, &v, sizeof(v)) != sizeof(v))
			abort();
		break;
	}
}

static void *own_worker(void *arg)
{
	struct own *o = arg, *other = o == &owns[0] ? &owns[1] : &owns[0];

	if (own_kind == 0)
		for (int i = 0; i < OWN_ROUNDS; i++)
			own_round(o, other, 0); /* warm-up */
	for (int k = 1; k <= OWN_ROUNDS; k++) {
		pthread_barrier_wait(&own_barrier);
		own_round(o, other, k);
	}
	pthread_barrier_wait(&own_barrier);
	return NULL;
}

static int run_barrier_own(int kind)
{
	pthread_t t[OWN_THREADS];

	own_kind = kind;
	pthread_barrier_init(&own_barrier, NULL, OWN_THREADS);
	for (int i = 0; i < OWN_THREADS; i++) {
		sem_init(&owns[i].sem, 0, 0);
		pthread_mutex_init(&owns[i].m, NULL);
		pthread_cond_init(&owns[i].cv, NULL);
		owns[i].efd = eventfd(0, 0);
		fdep_event_init(&owns[i].efd, "own_event");
	}
	for (int i = 0; i < OWN_THREADS; i++)
		pthread_create(&t[i], NULL, own_worker, &owns[i]);
	for (int i = 0; i < OWN_THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < OWN_THREADS; i++) {
		sem_destroy(&owns[i].sem);
		close(owns[i].efd);
	}
	pthread_barrier_destroy(&own_barrier);
	return 0;
}

/* T1 holds the semaphore (a lock) across its first arrival; T2 waits for
 * it in the phase that follows.  No hang: T1 posts after the arrival. */
static sem_t lock_sem;

static void *barrier_sem_holder(void *arg)
{
	(void)arg;
	sem_wait(&lock_sem);
	pthread_barrier_wait(&own_barrier);
	sem_post(&lock_sem);
	pthread_barrier_wait(&own_barrier);
	return NULL;
}

static int run_barrier_sem(void)
{
	pthread_t t;

	sem_init(&lock_sem, 0, 1);
	pthread_barrier_init(&own_barrier, NULL, 2);
	pthread_create(&t, NULL, barrier_sem_holder, NULL);
	/* the holder has the semaphore before this thread arrives */
	while (sem_trywait(&lock_sem) == 0) {
		sem_post(&lock_sem);
		usleep(1000);
	}
	pthread_barrier_wait(&own_barrier);
	sem_wait(&lock_sem);
	sem_post(&lock_sem);
	pthread_barrier_wait(&own_barrier);
	pthread_join(t, NULL);
	pthread_barrier_destroy(&own_barrier);
	sem_destroy(&lock_sem);
	return 0;
}

/* ---- once ---- */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static _Atomic int about_to_wait;
static _Atomic pid_t main_tid;

/* Is thread tid blocked in a futex call now (/proc/self/task/TID/syscall)? */
static int in_futex(pid_t tid)
{
	char path[64], buf[64] = "";
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return atoi(buf) == SYS_futex;
}

static void once_init(void)
{
	lock(&lock_b);
	unlock(&lock_b);
	if (clean)
		return;
	sem_post(&started);
	/* return only once the main thread waits in pthread_once */
	while (!atomic_load(&about_to_wait))
		sched_yield();
	for (int i = 0; i < 2000; i++) {
		int r = in_futex(atomic_load(&main_tid));
		if (r)
			break;
		usleep(1000);
	}
	usleep(20000);
}

static void *once_runner(void *arg)
{
	(void)arg;
	pthread_once(&once, once_init);
	return NULL;
}

static int run_once(void)
{
	pthread_t t;

	sem_init(&started, 0, 0);
	atomic_store(&main_tid, (pid_t)syscall(SYS_gettid));
	if (clean) {
		/* the callers hold nothing; the routine takes B */
		pthread_create(&t, NULL, once_runner, NULL);
		pthread_once(&once, once_init);
		pthread_join(t, NULL);
		lock(&lock_b);
		pthread_once(&once, once_init); /* done: no wait */
		unlock(&lock_b);
		return 0;
	}
	pthread_create(&t, NULL, once_runner, NULL);
	sem_wait(&started);
	lock(&lock_b);
	atomic_store(&about_to_wait, 1);
	pthread_once(&once, once_init);
	unlock(&lock_b);
	pthread_join(t, NULL);
	return 0;
}

/* ---- the program's own event: an eventfd ---- */

static int efd;

static void *event_waiter(void *arg)
{
	uint64_t v;

	(void)arg;
	lock(&lock_a);
	fdep_event_wait(&efd);
	if (read(efd, &v, sizeof(v)) != sizeof(v))
		abort();
	unlock(&lock_a);
	return NULL;
}

static int run_event(void)
{
	pthread_t t;
	uint64_t one = 1;

	efd = eventfd(0, 0);
	fdep_event_init(&efd, "job_done");
	if (!clean)
		lock(&lock_a);
	fdep_event_signal(&efd);
	if (write(efd, &one, sizeof(one)) != sizeof(one))
		abort();
	if (!clean)
		unlock(&lock_a);
	pthread_create(&t, NULL, event_waiter, NULL);
	pthread_join(t, NULL);
	close(efd);
	return 0;
}

/* ---- C11 ---- */

static mtx_t c11_a, c11_m;
static cnd_t c11_cv;
static int c11_ready, c11_waiting;

static int c11_waiter(void *arg)
{
	(void)arg;
	if (!clean)
		mtx_lock(&c11_a);
	mtx_lock(&c11_m);
	c11_waiting = 1;
	while (!c11_ready)
		cnd_wait(&c11_cv, &c11_m);
	mtx_unlock(&c11_m);
	if (!clean)
		mtx_unlock(&c11_a);
	return 7;
}

static _Atomic int c11_taken;

static int c11_taker(void *arg)
{
	(void)arg;
	mtx_lock(&c11_a);
	mtx_unlock(&c11_a);
	atomic_store(&c11_taken, 1);
	return 0;
}

static once_flag c11_once = ONCE_FLAG_INIT;
static int c11_once_runs;

static void c11_once_init(void)
{
	mtx_lock(&c11_a);
	c11_once_runs++;
	mtx_unlock(&c11_a);
}

static int run_c11(int join)
{
	thrd_t t;
	int res = 0;

	mtx_init(&c11_a, mtx_plain);
	mtx_init(&c11_m, mtx_plain);
	cnd_init(&c11_cv);
	if (join) {
		thrd_create(&t, c11_taker, NULL);
		while (!atomic_load(&c11_taken))
			thrd_yield();
		mtx_lock(&c11_a);
		thrd_join(t, &res);
		mtx_unlock(&c11_a);
		return res;
	}
	mtx_lock(&c11_a);
	mtx_lock(&c11_m);
	if (!clean)
		cnd_signal(&c11_cv);
	mtx_unlock(&c11_m);
	mtx_unlock(&c11_a);
	thrd_create(&t, c11_waiter, NULL);
	for (;;) {
		mtx_lock(&c11_m);
		if (c11_waiting) {
			c11_ready = 1;
			cnd_broadcast(&c11_cv);
			mtx_unlock(&c11_m);
			break;
		}
		mtx_unlock(&c11_m);
		thrd_yield();
	}
	thrd_join(t, &res);
	call_once(&c11_once, c11_once_init);
	call_once(&c11_once, c11_once_init);
	cnd_destroy(&c11_cv);
	mtx_destroy(&c11_m);
	mtx_destroy(&c11_a);
	return res == 7 && c11_once_runs == 1 ? 0 : 1;
}

/* ---- idioms that must stay clean ---- */

#define POOL_THREADS 4
#define POOL_TASKS 2000
static int queue[POOL_TASKS], qhead, qtail, stop;
static long done_sum;
static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;

static void *pool_worker(void *arg)
{
	(void)arg;
	for (;;) {
		lock(&cv_mutex);
		while (qhead == qtail && !stop)
			pthread_cond_wait(&cv, &cv_mutex);
		if (qhead == qtail && stop) {
			unlock(&cv_mutex);
			return NULL;
		}
		int task = queue[qhead++];
		unlock(&cv_mutex);
		lock(&stats_lock);
		done_sum += task;
		unlock(&stats_lock);
	}
}

static int run_pool(void)
{
	pthread_t t[POOL_THREADS];

	for (int i = 0; i < POOL_THREADS; i++)
		pthread_create(&t[i], NULL, pool_worker, NULL);
	for (int i = 0; i < POOL_TASKS; i++) {
		lock(&cv_mutex);
		queue[qtail++] = i;
		pthread_cond_signal(&cv);
		unlock(&cv_mutex);
	}
	lock(&cv_mutex);
	stop = 1;
	pthread_cond_broadcast(&cv);
	unlock(&cv_mutex);
	for (int i = 0; i < POOL_THREADS; i++)
		pthread_join(t[i], NULL);
	printf("sum %ld\n", done_sum);
	return done_sum == (long)POOL_TASKS * (POOL_TASKS - 1) / 2 ? 0 : 1;
}

/* Both sides hold only the cv's mutex: the waiter's is released in the wait. */
static void *own_mutex_waiter(void *arg)
{
	(void)arg;
	lock(&cv_mutex);
	waiting = 1;
	while (!ready)
		pthread_cond_wait(&cv, &cv_mutex);
	unlock(&cv_mutex);
	return NULL;
}

static int run_own_mutex(void)
{
	pthread_t t;

	pthread_create(&t, NULL, own_mutex_waiter, NULL);
	for (;;) {
		lock(&cv_mutex);
		if (waiting) {
			ready = 1;
			pthread_cond_signal(&cv);
			unlock(&cv_mutex);
			break;
		}
		unlock(&cv_mutex);
		sched_yield();
	}
	pthread_join(t, NULL);
	return 0;
}

/* A binary semaphore as a lock: under another lock, and around another. */
static long counter;

static void *sem_lock_user(void *arg)
{
	for (int i = 0; i < 2000; i++) {
		if (arg) {
			lock(&lock_a);
			sem_wait(&sem);
			counter++;
			sem_post(&sem);
			unlock(&lock_a);
		} else {
			sem_wait(&sem);
			lock(&lock_b);
			counter++;
			unlock(&lock_b);
			sem_post(&sem);
		}
	}
	return NULL;
}

static int run_sem_lock(void)
{
	pthread_t t[3];

	sem_init(&sem, 0, 1);
	pthread_create(&t[0], NULL, sem_lock_user, &t);
	pthread_create(&t[1], NULL, sem_lock_user, &t);
	pthread_create(&t[2], NULL, sem_lock_user, NULL);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	sem_destroy(&sem);
	return counter == 6000 ? 0 : 1;
}

/*
 * A binary semaphore as a lock around A (taken and released inside it),
 * and A held around a wait for it: under signal_context=wait the post ends
 * a window that took A, so sem -> A, and the wait makes A -> sem.  Run one
 * after the other, it never blocks.  The clean twin takes A only after the
 * post, outside the semaphore.
 */
static void *sem_lock_inner(void *arg)
{
	(void)arg;
	sem_wait(&sem);
	if (!clean)
		lock(&lock_a);
	counter++;
	if (!clean)
		unlock(&lock_a);
	sem_post(&sem);
	if (clean) {
		lock(&lock_a);
		counter++;
		unlock(&lock_a);
	}
	return NULL;
}

static int run_sem_lock_inner(void)
{
	pthread_t t;

	sem_init(&sem, 0, 1);
	pthread_create(&t, NULL, sem_lock_inner, NULL);
	pthread_join(t, NULL);
	lock(&lock_a);
	sem_wait(&sem);
	counter++;
	sem_post(&sem);
	unlock(&lock_a);
	sem_destroy(&sem);
	return counter == (clean ? 3 : 2) ? 0 : 1;
}

/*
 * A lock made of a cv: busy under cv_mutex, waited for while set, cleared
 * and broadcast.  The holder takes A inside it; another thread waits for it
 * holding A.  The clean twin takes A after it has let the cv lock go.
 */
static int busy, cv_waiters;

static void cvlock_take(void)
{
	lock(&cv_mutex);
	while (busy) {
		cv_waiters++;
		pthread_cond_wait(&cv, &cv_mutex);
	}
	busy = 1;
	unlock(&cv_mutex);
}

static void cvlock_give(void)
{
	lock(&cv_mutex);
	busy = 0;
	pthread_cond_broadcast(&cv);
	unlock(&cv_mutex);
}

static void *cvlock_user(void *arg)
{
	(void)arg;
	cvlock_take();
	if (!clean)
		lock(&lock_a);
	counter++;
	if (!clean)
		unlock(&lock_a);
	cvlock_give();
	if (clean) {
		lock(&lock_a);
		counter++;
		unlock(&lock_a);
	}
	return NULL;
}

/* Gives the cv lock back once n waits for it have begun. */
static void *cvlock_give_after(void *arg)
{
	for (int seen = 0; seen < (int)(intptr_t)arg; sched_yield()) {
		lock(&cv_mutex);
		seen = cv_waiters;
		unlock(&cv_mutex);
	}
	cvlock_give();
	return NULL;
}

static int run_cvlock(void)
{
	pthread_t t;

	/* a wait first, so the user's take waits on the cv too */
	cvlock_take();
	pthread_create(&t, NULL, cvlock_user, NULL);
	cvlock_give_after((void *)(intptr_t)1);
	pthread_join(t, NULL);
	/* taken by someone else now: this thread waits for it holding A */
	busy = 1;
	pthread_create(&t, NULL, cvlock_give_after, (void *)(intptr_t)2);
	lock(&lock_a);
	cvlock_take();
	counter++;
	cvlock_give();
	unlock(&lock_a);
	pthread_join(t, NULL);
	return counter == (clean ? 3 : 2) ? 0 : 1;
}

/*
 * cvwindow: the only edge out of the cv is the one its window keeps back,
 * committed by the user's give (under cv_mutex alone, as main's give was).
 * The user takes the cv lock from main, takes A (or, clean, not yet), waits
 * until main waits for the cv lock holding A, and gives it back.
 */
static atomic_int window_a_done;

static void *cvwindow_user(void *arg)
{
	(void)arg;
	cvlock_take(); /* waits: main has it */
	if (!clean) {
		lock(&lock_a);
		counter++;
		unlock(&lock_a);
	}
	atomic_store(&window_a_done, 1);
	for (int seen = 0; seen < 2; sched_yield()) {
		lock(&cv_mutex);
		seen = cv_waiters;
		unlock(&cv_mutex);
	}
	cvlock_give();
	if (clean) {
		lock(&lock_a);
		counter++;
		unlock(&lock_a);
	}
	return NULL;
}

static int run_cvwindow(void)
{
	pthread_t t;

	busy = 1; /* main has the cv lock */
	pthread_create(&t, NULL, cvwindow_user, NULL);
	cvlock_give_after((void *)(intptr_t)1);
	while (!atomic_load(&window_a_done))
		sched_yield();
	lock(&lock_a);
	cvlock_take(); /* waits for the user's give, holding A */
	counter++;
	busy = 0;
	unlock(&lock_a);
	pthread_join(t, NULL);
	return counter == 2 ? 0 : 1;
}

/* Barrier phases: each phase takes locks and releases them before arriving. */
static void *phase_worker(void *arg)
{
	for (int phase = 0; phase < 50; phase++) {
		lock(arg ? &lock_a : &lock_b);
		lock(&stats_lock);
		counter++;
		unlock(&stats_lock);
		unlock(arg ? &lock_a : &lock_b);
		pthread_barrier_wait(&barrier);
	}
	return NULL;
}

static int run_phases(void)
{
	pthread_t t[3];

	pthread_barrier_init(&barrier, NULL, 3);
	pthread_create(&t[0], NULL, phase_worker, &t);
	pthread_create(&t[1], NULL, phase_worker, NULL);
	pthread_create(&t[2], NULL, phase_worker, &t);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&barrier);
	return counter == 150 ? 0 : 1;
}

/* Timed and try waits record nothing, whatever is held. */
static void *timed_taker(void *arg)
{
	(void)arg;
	lock(&lock_a);
	unlock(&lock_a);
	return NULL;
}

static int run_timed(void)
{
	struct timespec ts;
	pthread_t t;

	sem_init(&sem, 0, 0);
	lock(&lock_a);
	lock(&cv_mutex);
	pthread_cond_signal(&cv);
	unlock(&cv_mutex);
	sem_post(&sem);
	unlock(&lock_a);
	lock(&lock_a);
	lock(&cv_mutex);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 10 * 1000 * 1000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&cv, &cv_mutex, &ts);
	unlock(&cv_mutex);
	sem_trywait(&sem);
	sem_trywait(&sem);
	sem_timedwait(&sem, &ts);
	unlock(&lock_a);
	pthread_create(&t, NULL, timed_taker, NULL);
	usleep(10000);
	lock(&lock_a);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	int r = pthread_timedjoin_np(t, NULL, &ts);
	unlock(&lock_a);
	if (r)
		pthread_join(t, NULL);
	sem_destroy(&sem);
	return 0;
}

/* Ping-pong: round trips by condition variable, then by semaphore. */
static int turn, rounds;
static sem_t ping, pong;

static void *ponger(void *arg)
{
	(void)arg;
	for (int i = 0; i < rounds; i++) {
		lock(&cv_mutex);
		while (turn != 1)
			pthread_cond_wait(&cv, &cv_mutex);
		turn = 0;
		pthread_cond_signal(&cv);
		unlock(&cv_mutex);
	}
	for (int i = 0; i < rounds; i++) {
		sem_wait(&ping);
		sem_post(&pong);
	}
	return NULL;
}

static int run_pingpong(int n)
{
	pthread_t t;

	rounds = n;
	sem_init(&ping, 0, 0);
	sem_init(&pong, 0, 0);
	pthread_create(&t, NULL, ponger, NULL);
	for (int i = 0; i < rounds; i++) {
		lock(&cv_mutex);
		turn = 1;
		pthread_cond_signal(&cv);
		while (turn != 0)
			pthread_cond_wait(&cv, &cv_mutex);
		unlock(&cv_mutex);
	}
	for (int i = 0; i < rounds; i++) {
		sem_post(&ping);
		sem_wait(&pong);
	}
	pthread_join(t, NULL);
	printf("%d round trips\n", rounds);
	return 0;
}

/* ---- misuse: waiting with a mutex the thread does not hold ---- */

static pthread_mutex_t ec;

static void *hold_ec(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&ec);
	sem_post(&started);
	sem_wait(&sem);
	pthread_mutex_unlock(&ec);
	return NULL;
}

static int run_cond_unheld(int foreign)
{
	pthread_mutexattr_t attr;
	pthread_t t;

	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&ec, &attr);
	sem_init(&started, 0, 0);
	sem_init(&sem, 0, 0);
	if (foreign) {
		pthread_create(&t, NULL, hold_ec, NULL);
		sem_wait(&started);
	}
	int r = pthread_cond_wait(&cv, &ec); /* an error-checking mutex: EPERM */
	if (foreign) {
		sem_post(&sem);
		pthread_join(t, NULL);
	}
	return r == EPERM ? 0 : 1;
}

/* ---- hang: threads blocked for good in a cv, a semaphore and a join ---- */

static sem_t never;

static void *hang_sem(void *arg)
{
	(void)arg;
	sem_wait(&never);
	return NULL;
}

static void *hang_join(void *arg)
{
	pthread_join(*(pthread_t *)arg, NULL);
	return NULL;
}

static __attribute__((noinline)) int run_hang(void)
{
	static pthread_t t1, t2;

	sem_init(&never, 0, 0);
	pthread_create(&t1, NULL, hang_sem, NULL);
	pthread_create(&t2, NULL, hang_join, &t1);
	lock(&cv_mutex);
	pthread_cond_signal(&cv); /* nobody waits yet: the dump names this signal */
	while (!ready)
		pthread_cond_wait(&cv, &cv_mutex);
	unlock(&cv_mutex);
	return 1;
}

/*
 * A handshake under an outer lock (pigz's decompressor): the main thread
 * signals the cv holding B (outer) and the cv's mutex, before it ever waits
 * on it; later it waits on the cv holding B for the helper, which signals
 * holding only the cv's mutex.  The main thread does not wait for its own
 * signal: silent.
 */
static int handshake_flag;

static void *handshake_helper(void *arg)
{
	(void)arg;
	lock(&cv_mutex);
	handshake_flag = 1;
	pthread_cond_broadcast(&cv);
	unlock(&cv_mutex);
	return NULL;
}

static int run_handshake(void)
{
	pthread_t t;

	lock(&lock_b);
	lock(&cv_mutex);
	pthread_cond_broadcast(&cv); /* nobody waits yet */
	unlock(&cv_mutex);
	unlock(&lock_b);
	lock(&lock_b);
	lock(&cv_mutex);
	pthread_create(&t, NULL, handshake_helper, NULL);
	while (!handshake_flag)
		pthread_cond_wait(&cv, &cv_mutex);
	unlock(&cv_mutex);
	unlock(&lock_b);
	pthread_join(t, NULL);
	return 0;
}

/*
 * The program's own futex, through syscall(): woken by a thread holding A
 * (futex) or not (futex-clean); then waited for by a thread holding A, with
 * an expected value the word no longer has, so the wait returns at once.
 * futex-lock: the word used as a lock by one thread, A held around it: the
 * lock-like wait and wake under A is no cycle.
 */
static _Atomic int word;

static long futex(int op, int val)
{
	return syscall(SYS_futex, &word, op, val, NULL, NULL, 0);
}

static void *futex_waker(void *arg)
{
	(void)arg;
	if (!clean)
		lock(&lock_a);
	atomic_store(&word, 1);
	futex(FUTEX_WAKE_PRIVATE, 1);
	if (!clean)
		unlock(&lock_a);
	return NULL;
}

static int run_futex(int as_lock)
{
	pthread_t t;

	if (as_lock) {
		lock(&lock_a);
		futex(FUTEX_WAIT_PRIVATE, 1); /* the word is 0: returns at once */
		futex(FUTEX_WAKE_PRIVATE, 1);
		unlock(&lock_a);
		return 0;
	}
	pthread_create(&t, NULL, futex_waker, NULL);
	pthread_join(t, NULL);
	lock(&lock_a);
	long r = futex(FUTEX_WAIT_PRIVATE, 0); /* the word is 1: EAGAIN */
	unlock(&lock_a);
	printf("wait %ld\n", r);
	return 0;
}

/*
 * Thread records: n threads that are never joined (created detached, or
 * detached after), or cancelled (joined, or detached), each taking a lock
 * once; at most 64 alive at a time.  Prints the peak resident size, which
 * must not grow with n.
 */
static _Atomic long churned; /* threads that reached their end */

static void churn_end(void *arg)
{
	(void)arg;
	churned++;
}

static void *churn_thread(void *arg)
{
	lock(&lock_a);
	unlock(&lock_a);
	pthread_cleanup_push(churn_end, NULL);
	if (arg)
		for (;;)
			pause(); /* until cancelled */
	pthread_cleanup_pop(1);
	return NULL;
}

static int run_thread_churn(long n, const char *how)
{
	pthread_attr_t attr;
	int cancel = !strncmp(how, "cancel", 6), detach = !strcmp(how, "detach") ||
						      !strcmp(how, "cancel-detached");

	pthread_attr_init(&attr);
	if (!strcmp(how, "detached"))
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (long i = 0; i < n; i++) {
		pthread_t t;
		/* at most 64 alive, whatever the load: the peak is then the
		 * program's and the runtime's, not the scheduler's */
		while (i - churned > 64)
			usleep(50);
		if (pthread_create(&t, &attr, churn_thread, cancel ? &t : NULL)) {
			usleep(1000); /* too many alive yet: again */
			i--;
			continue;
		}
		if (detach)
			pthread_detach(t);
		if (cancel)
			pthread_cancel(t);
		if (cancel && !detach)
			pthread_join(t, NULL);
	}
	while (churned < n)
		usleep(100);
	usleep(20000); /* the last ones leave their stacks */
	pthread_attr_destroy(&attr);
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmHWM:", 6))
			printf("%ld threads %s, peak %s", n, how, line + 6);
	if (f)
		fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	const char *s = argc > 1 ? argv[1] : "";
	size_t n = strlen(s);

	clean = n > 6 && !strcmp(s + n - 6, "-clean");
	if (!strncmp(s, "cond-unheld", 11))
		return run_cond_unheld(0);
	if (!strncmp(s, "cond-foreign", 12))
		return run_cond_unheld(1);
	if (!strncmp(s, "cond", 4))
		return run_cond();
	if (!strncmp(s, "sem-inner", 9))
		return run_sem_lock_inner();
	if (!strncmp(s, "cvlock", 6))
		return run_cvlock();
	if (!strncmp(s, "cvwindow", 8))
		return run_cvwindow();
	if (!strncmp(s, "sem-lock", 8))
		return run_sem_lock();
	if (!strncmp(s, "sem", 3))
		return run_sem();
	if (!strncmp(s, "join", 4))
		return run_join();
	if (!strcmp(s, "barrier-ownsem"))
		return run_barrier_own(0);
	if (!strcmp(s, "barrier-owncond"))
		return run_barrier_own(1);
	if (!strcmp(s, "barrier-ownevent"))
		return run_barrier_own(2);
	if (!strcmp(s, "barrier-sem"))
		return run_barrier_sem();
	if (!strncmp(s, "barrier", 7))
		return run_barrier();
	if (!strncmp(s, "once", 4))
		return run_once();
	if (!strncmp(s, "event", 5))
		return run_event();
	if (!strcmp(s, "c11-join"))
		return run_c11(1);
	if (!strncmp(s, "c11", 3))
		return run_c11(0);
	if (!strcmp(s, "hang"))
		return run_hang();
	if (!strcmp(s, "handshake"))
		return run_handshake();
	if (!strcmp(s, "futex-lock"))
		return run_futex(1);
	if (!strncmp(s, "futex", 5))
		return run_futex(0);
	if (!strcmp(s, "threads") && argc > 3)
		return run_thread_churn(atol(argv[2]), argv[3]);
	if (!strcmp(s, "pool"))
		return run_pool();
	if (!strcmp(s, "own-mutex"))
		return run_own_mutex();
	if (!strcmp(s, "phases"))
		return run_phases();
	if (!strcmp(s, "timed"))
		return run_timed();
	if (!strcmp(s, "pingpong"))
		return run_pingpong(argc > 2 ? atoi(argv[2]) : 10000);
	fprintf(stderr, "usage: waits SCENARIO (see the source)\n");
	return 2;
}
