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

static bool starts(const char *s, const char *prefix)
{
	while (*prefix && *s == *prefix) {
		s++;
		prefix++;
	}
	return !*prefix;
}

static const char *base_name(const char *path)
{
	const char *b = path;

	for (; *path; path++)
		if (*path == '/')
			b = path + 1;
	return b;
}

bool fdep_fp_module_counts(const char *module)
{
	const char *b;

	if (!module)
		return true;
	b = base_name(module);
	return !starts(b, "libc.so") && !starts(b, "ld-linux") && !starts(b, "libpthread.so") &&
	       !starts(b, "libfencedep.so");
}

bool fdep_fp_add_function(struct fdep_fp_item *item, const char *fn)
{
	if (!fn || !*fn || item->nfuncs >= FDEP_FP_FRAMES)
		return false;
	item->funcs[item->nfuncs++] = fn;
	return true;
}

/* A function's name up to a clone suffix or a symbol version. */
static uint64_t fnv_function(uint64_t h, const char *fn)
{
	for (; *fn && *fn != '.' && *fn != '@'; fn++)
		h = fnv_byte(h, (unsigned char)*fn);
	return h;
}

static bool all_digits(const char *s, const char *end, bool hex)
{
	if (s == end)
		return false;
	for (; s < end; s++)
		if (!(*s >= '0' && *s <= '9') &&
		    !(hex && ((*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F'))))
			return false;
	return true;
}

void fdep_fp_name(const char *name, char out[FDEP_FP_NAME_MAX])
{
	size_t n = 0;
	bool cut = true;

	while (name[n] && n + 1 < FDEP_FP_NAME_MAX) {
		out[n] = name[n];
		n++;
	}
	out[n] = 0;
	/* endings a rebuild or another run moves: "#3", ":42", "+0x1c" */
	while (cut && n) {
		size_t i = n;
		cut = false;
		while (i > 0 && out[i - 1] != '#' && out[i - 1] != ':' && out[i - 1] != '+')
			i--;
		if (!i)
			break;
		char sep = out[i - 1];
		if ((sep == '#' || sep == ':') && all_digits(out + i, out + n, false))
			cut = true;
		else if (sep == '+' && n - i > 2 && out[i] == '0' && out[i + 1] == 'x' &&
			 all_digits(out + i + 2, out + n, true))
			cut = true;
		if (cut) {
			n = i - 1;
			out[n] = 0;
		}
	}
}

static int item_cmp(const struct fdep_fp_item *a, const struct fdep_fp_item *b)
{
	char na[FDEP_FP_NAME_MAX], nb[FDEP_FP_NAME_MAX];
	int c;

	fdep_fp_name(a->name ? a->name : "", na);
	fdep_fp_name(b->name ? b->name : "", nb);
	c = name_cmp(na, nb);
	for (size_t k = 0; !c && (k < a->nfuncs || k < b->nfuncs); k++)
		c = name_cmp(k < a->nfuncs ? a->funcs[k] : "", k < b->nfuncs ? b->funcs[k] : "");
	return c;
}

/* The rotation of the cycle that compares smallest, item by item. */
static size_t smallest_rotation(const struct fdep_fp_item *items, size_t n)
{
	size_t best = 0;

	for (size_t i = 1; i < n; i++) {
		for (size_t k = 0; k < n; k++) {
			int c = item_cmp(&items[(i + k) % n], &items[(best + k) % n]);
			if (c < 0)
				best = i;
			if (c)
				break;
		}
	}
	return best;
}

void fdep_fingerprint(const char *kind, const struct fdep_fp_item *items, size_t n,
		      bool cycle, char out[17])
{
	static const char hex[] = "0123456789abcdef";
	char name[FDEP_FP_NAME_MAX];
	uint64_t h = fnv_str(FNV_OFFSET, "v2\n");
	size_t start = cycle && n ? smallest_rotation(items, n) : 0;

	h = fnv_byte(fnv_str(h, kind ? kind : ""), '\n');
	for (size_t k = 0; k < n; k++) {
		const struct fdep_fp_item *it = &items[(start + k) % n];

		fdep_fp_name(it->name ? it->name : "", name);
		h = fnv_byte(fnv_str(h, name), '\n');
		for (size_t j = 0; j < it->nfuncs; j++)
			h = fnv_byte(fnv_function(h, it->funcs[j]), '\t');
		h = fnv_byte(h, '\n');
	}
	for (int i = FDEP_FINGERPRINT_LEN - 1; i >= 0; i--) {
		out[i] = hex[h & 0xf];
		h >>= 4;
	}
	out[FDEP_FINGERPRINT_LEN] = '\0';
}

/*
 * Version 1: compare the rotations of names starting at i and at j, name
 * by name, so that a repeated smallest name is broken by what follows it.
 */
static int rotation_cmp(const char *const *names, size_t n, size_t i, size_t j)
{
	for (size_t k = 0; k < n; k++) {
		int c = name_cmp(names[(i + k) % n], names[(j + k) % n]);
		if (c)
			return c;
	}
	return 0;
}

void fdep_fingerprint_v1(const char *kind, const char *const *names, size_t n, char out[17])
{
	static const char hex[] = "0123456789abcdef";
	uint64_t h = FNV_OFFSET;
	size_t start = 0;

	h = fnv_byte(fnv_str(h, kind ? kind : ""), '\n');
	for (size_t i = 1; i < n; i++)
		if (rotation_cmp(names, n, i, start) < 0)
			start = i;
	for (size_t k = 0; k < n; k++) {
		const char *name = names[(start + k) % n];

		h = fnv_byte(fnv_str(h, name ? name : ""), '\n');
	}
	for (int i = FDEP_FINGERPRINT_LEN - 1; i >= 0; i--) {
		out[i] = hex[h & 0xf];
		h >>= 4;
	}
	out[FDEP_FINGERPRINT_LEN] = '\0';
}
