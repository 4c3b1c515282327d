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
 */
#include <glib.h>
#include <stdio.h>
#include <string.h>

static GMutex mutex_a, mutex_b;
static GRecMutex rec_a, rec_b;
static GRWLock rw_a, rw_b;

struct pair {
	GMutex a, b;
};

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
	else if (!strcmp(mode, "trylock"))
		mutexes(second ? &mutex_b : &mutex_a, second ? &mutex_a : &mutex_b, !second);
	return NULL;
}

int main(int argc, char **argv)
{
	static const char *const modes[] = { "mutex-bug", "mutex-clean", "heap-bug", "heap-clean",
					     "rec-bug",   "rec-clean",   "rw-bug",   "rw-clean",
					     "readers",   "trylock" };
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
