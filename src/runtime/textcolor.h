/*
 * textcolor.h - the colours of the text report, one per kind of line, for
 * the runtime's text and fencedep report's: the same lines, the same
 * colours.  The text is sanitised first, so these are its only escapes.
 */
#ifndef FDEP_TEXTCOLOR_H
#define FDEP_TEXTCOLOR_H

#include <stddef.h>
#include <string.h>

#define TEXT_COLOR_OFF "\033[0m"

/* The escape that starts line s[0..n), or NULL for no colour. */
static inline const char *text_line_color(const char *s, size_t n)
{
	if (n >= 10 && !memcmp(s, "fencedep: ", 10))
		return "\033[1;31m";		/* bold red: what happened */
	if (n >= 9 && !memcmp(s, "SUMMARY: ", 9))
		return "\033[1m";
	if (n > 4 && !memcmp(s, "  ", 2) && s[2] != ' ' && s[2] != '(' && memmem(s, n, " -(", 3) && memmem(s, n, ")-> ", 4))
		return "\033[1;34m";		/* a dependency of the cycle */
	if (memmem(s, n, "*** DEADLOCK ***", 16))
		return "\033[1;31m";
	return NULL;
}

#endif
