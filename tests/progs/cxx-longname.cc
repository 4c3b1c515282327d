/*
 * cxx-longname - a finding reported from a thread with a small stack,
 * whose stack names a C++ function with a long mangled name (a template
 * over a pack of twelve long class names, some 490 characters mangled).
 * Demangling such a name takes tens of kilobytes of work space: it must not
 * come from the reporting thread's stack.
 *
 *   cxx-longname STACK_KIB   the inversion's second half runs on a thread
 *                            whose stack is STACK_KIB KiB, with a guard
 *                            below it; prints how much of that stack the
 *                            thread used ("used N KiB") to stderr, and
 *                            "done" on stdout
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;

#define LONG_CLASS(n) struct a_long_component_class_name_number_##n {};
LONG_CLASS(0) LONG_CLASS(1) LONG_CLASS(2) LONG_CLASS(3) LONG_CLASS(4)
LONG_CLASS(5) LONG_CLASS(6) LONG_CLASS(7) LONG_CLASS(8) LONG_CLASS(9)
LONG_CLASS(10) LONG_CLASS(11)
template <typename... T> struct pack {};
#define C(n) a_long_component_class_name_number_##n
typedef pack<C(0), C(1), C(2), C(3), C(4), C(5), C(6), C(7), C(8), C(9), C(10), C(11)>
	long_pack;

template <typename P> __attribute__((noinline)) void take_b_then_a(P)
{
	pthread_mutex_lock(&lock_b);
	pthread_mutex_lock(&lock_a);
	pthread_mutex_unlock(&lock_a);
	pthread_mutex_unlock(&lock_b);
	__asm__ volatile("" ::: "memory");
}

static void *second_half(void *)
{
	take_b_then_a(long_pack());
	return NULL;
}

int main(int argc, char **argv)
{
	size_t kib = argc == 2 ? strtoul(argv[1], NULL, 10) : 0;
	if (kib < 16 || kib > 65536) {
		fprintf(stderr, "usage: cxx-longname STACK_KIB (16 to 65536)\n");
		return 2;
	}
	size_t size = kib * 1024, guard = 65536;
	/* a guard below the stack: an overflow faults, never writes past it */
	char *base = (char *)mmap(NULL, guard + size, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (base == MAP_FAILED || mprotect(base, guard, PROT_NONE))
		return 3;
	char *stack = base + guard;
	memset(stack, 0xa5, size);
	/* the first half: a, then b */
	pthread_mutex_lock(&lock_a);
	pthread_mutex_lock(&lock_b);
	pthread_mutex_unlock(&lock_b);
	pthread_mutex_unlock(&lock_a);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstack(&attr, stack, size);
	pthread_t t;
	if (pthread_create(&t, &attr, second_half, NULL))
		return 3;
	pthread_join(t, NULL);
	size_t untouched = 0;
	while (untouched < size && (unsigned char)stack[untouched] == 0xa5)
		untouched++;
	fprintf(stderr, "used %zu KiB\n", (size - untouched + 1023) / 1024);
	puts("done");
	return 0;
}
