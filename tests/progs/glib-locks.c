/*
 * glib-locks - GLib's locks taken in two orders by two GLib threads, one
 * after the other (no real deadlock), or in one order (the clean twins):
 *
 *   glib-locks mutex-bug | mutex-clean     static GMutexes
 *   glib-locks heap-bug | heap-clean       GMutexes in memory, g_mutex_init
 *   glib-locks rec-bug | rec-clean         GRecMutexes, the first relocked
 *   glib-locks rw-bug | rw-clean           GRWLock writers
 *   glib-locks readers                     GRWLock readers in both orders: clean
 *   glib-locks trylock                     the second order by trylock: clean
 *   glib-locks warm-bug | warm-clean       the first thread takes a GRecMutex
 *                                          (relocked), GRWLock writer and reader
 *                                          and another GRecMutex nested, 500
 *                                          times over (the fast paths of a seen
 *                                          chain), then a GMutex alone; the second
 *                                          takes the GMutex, then the writer and
 *                                          the first GRecMutex in the other order
 *                                          (or all of it in the same, 500 times)
 *   glib-locks signal                      the warm rounds, while a fast interval
 *                                          timer's handler takes a GMutex only it
 *                                          takes (at least 100 times): it lands
 *                                          inside the fast paths' pushes and pops,
 *                                          and nothing is found
 *   glib-locks cond-bug | cond-clean       a GCond waited for holding GMutex l,
 *                                          and later signalled holding l (or not)
 *   glib-locks join-bug | join-clean       a GThread takes l; it is joined with l
 *                                          held (or not)
 *   glib-locks once-deadlock | once-clean  g_once_init_enter called holding l
 *                                          (or not) while another thread
 *                                          initialises, taking l: a real deadlock
 *   glib-locks gonce-bug | gonce-clean     g_once: its routine takes and releases
 *                                          l in another thread; this one, holding
 *                                          l (or not), waits for the routine to end
 */
#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

static GMutex mutex_a, mutex_b;
static GRecMutex rec_a, rec_b;
static GRWLock rw_a, rw_b;

struct pair {
	GMutex a, b;
};

static GMutex l, m;
static GCond c;
static gboolean ready;
static gsize once_value;

static struct pair *heap;
static const char *mode;

static void mutexes(GMutex *first, GMutex *second, gboolean try_second)
{
	g_mutex_lock(first);
	if (try_second) {
		if (g_mutex_trylock(second))
			g_mutex_unlock(second);
	} else {
		g_mutex_lock(second);
		g_mutex_unlock(second);
	}
	g_mutex_unlock(first);
}

static void recs(GRecMutex *first, GRecMutex *second)
{
	g_rec_mutex_lock(first);
	g_rec_mutex_lock(first);
	g_rec_mutex_lock(second);
	g_rec_mutex_unlock(second);
	g_rec_mutex_unlock(first);
	g_rec_mutex_unlock(first);
}

static void writers(GRWLock *first, GRWLock *second)
{
	g_rw_lock_writer_lock(first);
	g_rw_lock_writer_lock(second);
	g_rw_lock_writer_unlock(second);
	g_rw_lock_writer_unlock(first);
}

static void readers(GRWLock *first, GRWLock *second)
{
	g_rw_lock_reader_lock(first);
	g_rw_lock_reader_lock(second);
	g_rw_lock_reader_unlock(second);
	g_rw_lock_reader_unlock(first);
}

#define WARM_ROUNDS 500

/* warm: one round of the nested locks, in the first thread's order */
static void warm_round(void)
{
	g_rec_mutex_lock(&rec_a);
	g_rec_mutex_lock(&rec_a);
	g_rw_lock_writer_lock(&rw_a);
	g_rw_lock_reader_lock(&rw_b);
	g_rec_mutex_lock(&rec_b);
	g_rec_mutex_unlock(&rec_b);
	g_rw_lock_reader_unlock(&rw_b);
	g_rw_lock_writer_unlock(&rw_a);
	g_rec_mutex_unlock(&rec_a);
	g_rec_mutex_unlock(&rec_a);
}

/* After the rounds the held stack is empty again: mutex_a alone leaves no
 * edge from a lock still counted held, which mutex_a -> rec_a in the
 * second thread would close into a cycle. */
static void warm(gboolean second, gboolean swap)
{
	if (second)
		g_mutex_lock(&mutex_a);
	for (int i = 0; i < (swap ? 0 : WARM_ROUNDS); i++)
		warm_round();
	if (swap) {
		g_rw_lock_writer_lock(&rw_a);
		g_rec_mutex_lock(&rec_a);
		g_rec_mutex_unlock(&rec_a);
		g_rw_lock_writer_unlock(&rw_a);
	}
	if (second) {
		g_mutex_unlock(&mutex_a);
	} else {
		g_mutex_lock(&mutex_a);
		g_mutex_unlock(&mutex_a);
	}
}

/* signal: the handler's lock is never held by the code it interrupts */
static GMutex sig_m;
static volatile sig_atomic_t handled;

static void on_signal(int sig)
{
	(void)sig;
	g_mutex_lock(&sig_m);
	handled = handled + 1;
	g_mutex_unlock(&sig_m);
}

static void signal_case(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct itimerval every = { { 0, 50 }, { 0, 50 } }, off = { { 0, 0 }, { 0, 0 } };

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &every, NULL);
	for (int i = 0; i < 40 * WARM_ROUNDS || handled < 100; i++) {
		warm_round();
		g_mutex_lock(&mutex_a);
		g_mutex_unlock(&mutex_a);
	}
	setitimer(ITIMER_REAL, &off, NULL);
}

static gint waiting, taken, initialising, entering;

/* cond: the waiter holds l across its wait when the mode is a bug */
static gpointer cond_waiter(gpointer arg)
{
	gboolean bug = GPOINTER_TO_INT(arg);

	if (bug)
		g_mutex_lock(&l);
	g_mutex_lock(&m);
	waiting = TRUE;
	while (!ready)
		g_cond_wait(&c, &m);
	g_mutex_unlock(&m);
	if (bug)
		g_mutex_unlock(&l);
	return NULL;
}

static void cond_case(gboolean bug)
{
	GThread *w = g_thread_new("waiter", cond_waiter, GINT_TO_POINTER(bug));

	/* once it waits (it has let go of m), wake it without l */
	for (gboolean woken = FALSE; !woken; g_usleep(1000)) {
		g_mutex_lock(&m);
		if (waiting) {
			ready = woken = TRUE;
			g_cond_signal(&c);
		}
		g_mutex_unlock(&m);
	}
	g_thread_join(w);
	/* later, a signal under l: the waiter's wait would have needed l */
	g_mutex_lock(&l);
	g_mutex_lock(&m);
	g_cond_broadcast(&c);
	g_mutex_unlock(&m);
	g_mutex_unlock(&l);
}

static gpointer take_l(gpointer arg)
{
	(void)arg;
	g_mutex_lock(&l);
	g_mutex_unlock(&l);
	g_atomic_int_set(&taken, 1);
	return NULL;
}

static void join_case(gboolean bug)
{
	GThread *th = g_thread_new("taker", take_l, NULL);

	while (!g_atomic_int_get(&taken))
		g_usleep(1000);
	if (bug)
		g_mutex_lock(&l);
	g_thread_join(th);
	if (bug)
		g_mutex_unlock(&l);
}

/* The initialiser: once the other thread is about to enter, it takes l. */
static gpointer once_initialiser(gpointer arg)
{
	(void)arg;
	if (g_once_init_enter(&once_value)) {
		g_atomic_int_set(&initialising, 1);
		while (!g_atomic_int_get(&entering))
			g_usleep(1000);
		g_usleep(100000);
		g_mutex_lock(&l);
		g_mutex_unlock(&l);
		g_once_init_leave(&once_value, 1);
	}
	return NULL;
}

static void once_case(gboolean bug)
{
	GThread *th = g_thread_new("initialiser", once_initialiser, NULL);

	while (!g_atomic_int_get(&initialising))
		g_usleep(1000);
	if (bug)
		g_mutex_lock(&l);
	g_atomic_int_set(&entering, 1);
	if (g_once_init_enter(&once_value))
		g_once_init_leave(&once_value, 2);
	if (bug)
		g_mutex_unlock(&l);
	g_thread_join(th);
}

/* g_once: the routine takes l and lets it go, then runs on until the other
 * thread has called g_once too (holding l in the bug twin). */
static GOnce gonce = G_ONCE_INIT;
static gint gonce_released, gonce_entering;

static gpointer gonce_routine(gpointer arg)
{
	g_mutex_lock(&l);
	g_mutex_unlock(&l);
	g_atomic_int_set(&gonce_released, 1);
	while (!g_atomic_int_get(&gonce_entering))
		g_usleep(1000);
	g_usleep(100000);
	return arg;
}

static gpointer gonce_runner(gpointer arg)
{
	(void)arg;
	return g_once(&gonce, gonce_routine, GINT_TO_POINTER(7));
}

static void gonce_case(gboolean bug)
{
	GThread *th = g_thread_new("gonce", gonce_runner, NULL);

	while (!g_atomic_int_get(&gonce_released))
		g_usleep(1000);
	if (bug)
		g_mutex_lock(&l);
	g_atomic_int_set(&gonce_entering, 1);
	gpointer r = g_once(&gonce, gonce_routine, GINT_TO_POINTER(8));
	if (bug)
		g_mutex_unlock(&l);
	g_thread_join(th);
	printf("once %d\n", GPOINTER_TO_INT(r));
}

/* Thread `n` (0 or 1): the second takes the locks in the other order
 * unless the mode is a clean twin. */
static gpointer run(gpointer arg)
{
	gboolean second = GPOINTER_TO_INT(arg);
	gboolean swap = second && !g_str_has_suffix(mode, "-clean");

	if (g_str_has_prefix(mode, "mutex-"))
		mutexes(swap ? &mutex_b : &mutex_a, swap ? &mutex_a : &mutex_b, FALSE);
	else if (g_str_has_prefix(mode, "heap-"))
		mutexes(swap ? &heap->b : &heap->a, swap ? &heap->a : &heap->b, FALSE);
	else if (g_str_has_prefix(mode, "rec-"))
		recs(swap ? &rec_b : &rec_a, swap ? &rec_a : &rec_b);
	else if (g_str_has_prefix(mode, "rw-"))
		writers(swap ? &rw_b : &rw_a, swap ? &rw_a : &rw_b);
	else if (!strcmp(mode, "readers"))
		readers(swap ? &rw_b : &rw_a, swap ? &rw_a : &rw_b);
	else if (g_str_has_prefix(mode, "warm-"))
		warm(second, swap);
	else if (!strcmp(mode, "trylock"))
		mutexes(second ? &mutex_b : &mutex_a, second ? &mutex_a : &mutex_b, !second);
	return NULL;
}

int main(int argc, char **argv)
{
	static const char *const modes[] = { "mutex-bug", "mutex-clean", "heap-bug", "heap-clean",
					     "rec-bug",   "rec-clean",   "rw-bug",   "rw-clean",
					     "readers",   "trylock",     "cond-bug", "cond-clean",
					     "join-bug",  "join-clean",  "once-deadlock", "once-clean",
					     "gonce-bug", "gonce-clean", "warm-bug",    "warm-clean",
					     "signal" };
	gboolean known = FALSE;

	for (size_t i = 0; argc == 2 && i < G_N_ELEMENTS(modes); i++)
		known |= !strcmp(argv[1], modes[i]);
	if (!known) {
		fprintf(stderr, "usage: glib-locks MODE (see the source)\n");
		return 2;
	}
	mode = argv[1];
	heap = g_new0(struct pair, 1);
	g_mutex_init(&heap->a);
	g_mutex_init(&heap->b);
	g_rec_mutex_init(&rec_a);
	g_rw_lock_init(&rw_a);
	if (g_str_has_prefix(mode, "cond-"))
		cond_case(!strcmp(mode, "cond-bug"));
	else if (g_str_has_prefix(mode, "join-"))
		join_case(!strcmp(mode, "join-bug"));
	else if (g_str_has_prefix(mode, "gonce-"))
		gonce_case(!strcmp(mode, "gonce-bug"));
	else if (!strcmp(mode, "signal"))
		signal_case();
	else if (g_str_has_prefix(mode, "once-"))
		once_case(!strcmp(mode, "once-deadlock"));
	else
		for (int n = 0; n < 2; n++)
			g_thread_join(g_thread_new("glib-locks", run, GINT_TO_POINTER(n)));
	g_mutex_clear(&heap->a);
	g_mutex_clear(&heap->b);
	g_free(heap);
	g_rec_mutex_clear(&rec_a);
	g_rw_lock_clear(&rw_a);
	puts("done");
	return 0;
}
