/*
 * utf8.h - well-formed UTF-8, for the writers of reports (the runtime's
 * and the command's): what is not UTF-8 is never written as it is.
 */
#ifndef FDEP_UTF8_H
#define FDEP_UTF8_H

#include <stddef.h>

/*
 * The length (1-4) of the well-formed UTF-8 sequence at str, its code
 * point in *cp; 0 when str starts no well-formed sequence (a stray
 * continuation byte, an overlong form, a surrogate, beyond U+10FFFF, or
 * cut short by the NUL).
 */
static inline size_t utf8_seq(const char *str, unsigned *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned c = s[0], min, v;
	size_t n, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		v = c & 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		v = c & 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		v = c & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;	/* also stops at the NUL */
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

/* A code point a terminal shows as it is: no C0, DEL or C1 control. */
static inline int utf8_printable(unsigned cp)
{
	return cp >= 0x20 && cp != 0x7f && !(cp >= 0x80 && cp <= 0x9f);
}

#endif
