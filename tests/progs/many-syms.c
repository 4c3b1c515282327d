/*
 * many-syms.c - a program of more than a thousand functions, whose symbol
 * table the runtime searches through its sorted index instead of libdw's
 * walk of every symbol: class names, static lock names and frames must
 * name the right functions and objects all the same.
 *
 *   many-syms inverted   heap locks made in make_alpha() and make_beta(),
 *                        static alpha_lock and beta_lock, both pairs taken
 *                        in both orders: two lock-order-inversions
 *   many-syms clean      the same locks, always alpha before beta
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PAD(n) __attribute__((noinline, used)) int pad_##n(int x) { return x * n + 1; }
#define PAD10(n) PAD(n##0) PAD(n##1) PAD(n##2) PAD(n##3) PAD(n##4) \
	PAD(n##5) PAD(n##6) PAD(n##7) PAD(n##8) PAD(n##9)
#define PAD100(n) PAD10(n##0) PAD10(n##1) PAD10(n##2) PAD10(n##3) PAD10(n##4) \
	PAD10(n##5) PAD10(n##6) PAD10(n##7) PAD10(n##8) PAD10(n##9)

PAD100(1) PAD100(2) PAD100(3) PAD100(4) PAD100(5)

static pthread_mutex_t alpha_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t beta_lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((noipa)) static pthread_mutex_t *make_alpha(void)
{
	pthread_mutex_t *m = malloc(sizeof(*m));
	pthread_mutex_init(m, NULL);
	return m;
}

PAD100(6) PAD100(7)

__attribute__((noipa)) static pthread_mutex_t *make_beta(void)
{
	pthread_mutex_t *m = malloc(sizeof(*m));
	pthread_mutex_init(m, NULL);
	return m;
}

PAD100(8) PAD100(9)

__attribute__((noipa)) static void take_in_order(pthread_mutex_t *first, pthread_mutex_t *second)
{
	pthread_mutex_lock(first);
	pthread_mutex_lock(second);
	pthread_mutex_unlock(second);
	pthread_mutex_unlock(first);
}

__attribute__((noipa)) static void take_beta_then_alpha(pthread_mutex_t *a, pthread_mutex_t *b)
{
	take_in_order(b, a);
	take_in_order(&beta_lock, &alpha_lock);
}

int main(int argc, char **argv)
{
	pthread_mutex_t *a = make_alpha(), *b = make_beta();

	if (argc < 2)
		return 2;
	take_in_order(a, b);
	take_in_order(&alpha_lock, &beta_lock);
	if (!strcmp(argv[1], "inverted"))
		take_beta_then_alpha(a, b);
	else if (strcmp(argv[1], "clean"))
		return 2;
	pthread_mutex_destroy(a);
	pthread_mutex_destroy(b);
	free(a);
	free(b);
	return 0;
}
