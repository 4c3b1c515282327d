/*
 * kinds.h - the finding kinds as `fencedep report` presents them: a title,
 * a sentence of help and a fix hint each, in the order of fencedep(7).
 */
#ifndef FDEP_KINDS_H
#define FDEP_KINDS_H

#include <stddef.h>

struct kind_info {
	const char *kind;
	const char *title;	/* the runtime's one-line title */
	const char *help;	/* what it means and what to do */
	const char *level;	/* SARIF level: "error" or "warning" */
	const char *fix;	/* how such a finding is usually fixed */
};

extern const struct kind_info kind_table[];
extern const size_t kind_count;

/* The entry of kind, or NULL for a kind this version does not know. */
const struct kind_info *kind_lookup(const char *kind);

#endif
