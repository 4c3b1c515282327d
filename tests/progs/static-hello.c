/* static-hello - a statically linked program: the loader, and so
 * LD_PRELOAD, never runs for it (the fencedep command warns). */
#include <stdio.h>

int main(void)
{
	puts("hello");
	return 0;
}
