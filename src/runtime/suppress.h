/*
 * suppress.h - suppression files, shared by the runtime (suppressions=FILE)
 * and by `fencedep report --suppressions FILE`.
 *
 * A suppression file holds one rule a line:
 *
 *	kind:pattern
 *
 * where kind is a finding kind or "*" (any kind) and pattern is a glob
 * ("*", "?", "[...]", with "\" quoting the next character) matched against
 * every class name of the finding and every function, file and module of
 * every frame of its stacks (not only the top frame).  A string containing
 * "/" also matches by its last component, so "libfoo.so" matches the module
 * "/usr/lib/libfoo.so".  Blank lines and lines starting with "#" are
 * ignored; leading and trailing blanks are not part of kind or pattern.
 *
 * Pure code: parsing reads a memory buffer and makes exactly one allocation
 * through the caller's callback; the caller frees suppress_set.mem with its
 * own matching free.
 */
#ifndef FDEP_SUPPRESS_H
#define FDEP_SUPPRESS_H

#include <stdbool.h>
#include <stddef.h>

struct suppress_rule {
	const char *kind;	/* NULL: any kind */
	const char *pattern;
	unsigned line;		/* line of the file, from 1 */
};

struct suppress_set {
	struct suppress_rule *rules;
	size_t n;
	void *mem;		/* the one allocation: free it when done */
};

struct suppress_error {
	unsigned line;		/* 0 when the error is not about a line */
	char msg[160];
};

/* The finding kinds, as in the DESIGN table; NULL-terminated. */
extern const char *const suppress_kinds[];

bool suppress_kind_known(const char *kind, size_t len);

/*
 * Parse len bytes of buf.  Returns 0, or -1 with *err filled (the first bad
 * line: a line without ":", an unknown kind, an empty or malformed pattern,
 * or an allocation failure).
 */
int suppress_parse(const char *buf, size_t len, void *(*alloc)(size_t),
		   struct suppress_set *set, struct suppress_error *err);

/* Does the glob pattern match the whole of s? */
bool suppress_glob(const char *pattern, const char *s);

/*
 * The first rule of set matching a finding of that kind whose class names,
 * functions, files and modules are strings[0..n), or NULL.  NULL strings
 * are skipped.
 */
const struct suppress_rule *suppress_match(const struct suppress_set *set,
					   const char *kind,
					   const char *const *strings, size_t n);

#endif
