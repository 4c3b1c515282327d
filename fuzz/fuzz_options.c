/*
 * fuzz_options.c - libFuzzer harness for the FENCEDEP_OPTIONS parser: any
 * text gives 0 or a one-line error, never a crash.
 *
 * The parser copies string values with the runtime's own allocator; here
 * that is a bump allocator over a static arena, emptied before each input,
 * so that nothing leaks from one input to the next.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int options_parse(const char *text, char *err, size_t errlen);
void *rt_alloc(size_t size);

static unsigned char arena[1 << 20];
static size_t arena_used;

void *rt_alloc(size_t size)
{
	void *p;

	size = (size + 15) & ~(size_t)15;
	if (size > sizeof(arena) - arena_used)
		return NULL;
	p = arena + arena_used;
	arena_used += size;
	memset(p, 0, size);
	return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	char err[256];

	if (!text)
		return 0;
	arena_used = 0;
	memcpy(text, data, size);
	text[size] = '\0';
	err[0] = '\0';
	if (options_parse(text, err, sizeof(err)))
		err[sizeof(err) - 1] = '\0';
	free(text);
	return 0;
}
