/*
 * sanitize.c - strings from input reports, safe for their readers (see
 * sanitize.h).
 */
#include "sanitize.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* A code point to write as it is, on a terminal. */
static bool printable(unsigned cp)
{
	return cp >= 0x20 && cp != 0x7f && !(cp >= 0x80 && cp <= 0x9f);
}

/* The length of s as text_put writes it; 0 when s needs no change. */
static size_t safe_len(const char *s)
{
	size_t n = 0, k, i;
	bool changed = false;
	unsigned cp;

	for (i = 0; s[i]; i += k) {
		k = utf8_seq(s + i, &cp);
		if (k && printable(cp)) {
			n += k;
		} else {
			if (!k)
				k = 1;
			n += 4 * k;
			changed = true;
		}
	}
	return changed ? n : 0;
}

static void safe_copy(char *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t k, i, j;
	unsigned cp;

	for (i = 0; s[i]; i += k) {
		k = utf8_seq(s + i, &cp);
		if (k && printable(cp)) {
			memcpy(out, s + i, k);
			out += k;
			continue;
		}
		if (!k)
			k = 1;
		for (j = 0; j < k; j++) {
			unsigned char c = (unsigned char)s[i + j];

			*out++ = '\\';
			*out++ = 'x';
			*out++ = hex[c >> 4];
			*out++ = hex[c & 15];
		}
	}
	*out = '\0';
}

const char *text_safe(const char *s)
{
	static char *ring[8];
	static unsigned next;
	size_t n;
	char *copy;

	if (!s || !(n = safe_len(s)))
		return s;
	copy = malloc(n + 1);
	if (!copy)
		return "(unprintable)";
	safe_copy(copy, s);
	free(ring[next % 8]);
	ring[next++ % 8] = copy;
	return copy;
}

void text_put(FILE *out, const char *s)
{
	fputs(text_safe(s), out);
}
