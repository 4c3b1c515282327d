/*
 * fingerprint.c - FNV-1a 64 fingerprint of a finding (see fingerprint.h).
 */
#include "fingerprint.h"

#include <stdint.h>

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static uint64_t fnv_str(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= FNV_PRIME;
	}
	return h;
}

static uint64_t fnv_byte(uint64_t h, unsigned char c)
{
	h ^= c;
	return h * FNV_PRIME;
}

static int name_cmp(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

/*
 * Compare the rotations of names starting at i and at j, name by name, so
 * that a repeated smallest name is broken by what follows it.
 */
static int rotation_cmp(const char *const *names, size_t n, size_t i, size_t j)
{
	size_t k;
	int c;

	for (k = 0; k < n; k++) {
		c = name_cmp(names[(i + k) % n], names[(j + k) % n]);
		if (c)
			return c;
	}
	return 0;
}

static size_t smallest_rotation(const char *const *names, size_t n)
{
	size_t best = 0, i;

	for (i = 1; i < n; i++)
		if (rotation_cmp(names, n, i, best) < 0)
			best = i;
	return best;
}

void fdep_fingerprint(const char *kind, const char *const *names, size_t n,
		      char out[17])
{
	static const char hex[] = "0123456789abcdef";
	uint64_t h = FNV_OFFSET;
	size_t start, k;
	int i;

	h = fnv_byte(fnv_str(h, kind ? kind : ""), '\n');
	start = n ? smallest_rotation(names, n) : 0;
	for (k = 0; k < n; k++) {
		const char *name = names[(start + k) % n];

		h = fnv_byte(fnv_str(h, name ? name : ""), '\n');
	}
	for (i = FDEP_FINGERPRINT_LEN - 1; i >= 0; i--) {
		out[i] = hex[h & 0xf];
		h >>= 4;
	}
	out[FDEP_FINGERPRINT_LEN] = '\0';
}
