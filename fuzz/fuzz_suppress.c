/*
 * fuzz_suppress.c - libFuzzer harness for the suppression-file parser and
 * the glob matcher the runtime shares with `fencedep report`, and for the
 * baseline-file parser.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report_model.h"
#include "suppress.h"

static void *alloc_plain(size_t n)
{
	return malloc(n);
}

/* Match every rule against strings cut from the input itself. */
static void match_some(const struct suppress_set *set, const uint8_t *data,
		       size_t size)
{
	char buf[64];
	const char *strs[1] = { buf };
	size_t n = size < sizeof(buf) - 1 ? size : sizeof(buf) - 1;

	memcpy(buf, data + size - n, n);
	buf[n] = '\0';
	suppress_match(set, "lock-order-inversion", strs, 1);
	suppress_match(set, NULL, strs, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct suppress_set set;
	struct suppress_error err;
	struct read_error berr;
	struct strtab fps;

	if (!suppress_parse((const char *)data, size, alloc_plain, &set, &err)) {
		match_some(&set, data, size);
		free(set.mem);
	}
	strtab_init(&fps);
	baseline_parse((const char *)data, size, &fps, &berr);
	strtab_free(&fps);
	return 0;
}
