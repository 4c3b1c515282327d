/*
 * sanitize.h - strings from input reports, made safe where they are
 * written: invalid UTF-8 never reaches a strict parser, and no escape
 * sequence or control character reaches a terminal.
 */
#ifndef FDEP_SANITIZE_H
#define FDEP_SANITIZE_H

#include <stddef.h>
#include <stdio.h>

#include "utf8.h"


/*
 * s as text for a terminal or a log: well-formed printable UTF-8 as it
 * is; control characters (C0, DEL, C1: ESC, CSI, OSC...) and bytes of
 * malformed UTF-8 as \xNN.  Returns s itself when it needs nothing, else a
 * copy that lives until eight more calls have been made.
 */
const char *text_safe(const char *s);

/* The same, written to out. */
void text_put(FILE *out, const char *s);

#endif
