/*
 * fingerprint.h - the stable identity of a finding.
 *
 * A fingerprint names a finding across runs, rebuilds and processes.  It
 * hashes what proves the finding, never where it was in memory or in the
 * source text (fencedep(7), FINGERPRINTS):
 *
 *   - the kind;
 *   - the class names, each without what a rebuild moves: a ":line",
 *     "+0xoffset" or "#rank" ending ("mutex@queue_init:42#3" counts as
 *     "mutex@queue_init");
 *   - the functions of the stacks that prove it: for a cycle, those of each
 *     recorded dependency (primed ones have none), for any other finding,
 *     those of its own stack; the first FDEP_FP_FRAMES function of each (the
 *     function that took the lock, allocated or waited: the site; the
 *     callers above it would make one mistake reached from two places two
 *     findings),
 *     leaving out the C library, the loader and the runtime, and without
 *     the compiler's clone suffixes (".constprop.0", ".cold") or symbol
 *     versions ("@@GLIBC_2.34").
 *
 * A cycle is hashed from its smallest rotation (each edge's class and
 * functions compared in turn), so every rotation of one cycle has one
 * fingerprint:
 *
 *	FNV-1a 64 of "v2\n" kind "\n" then, per item, name "\n" (fn "\t")* "\n"
 *
 * printed as 16 lowercase hexadecimal digits.  Version 1 (before 0.2)
 * hashed the kind and the whole class names only; fdep_fingerprint_v1()
 * computes it still, for baselines written then.  Pure code: no allocation,
 * no libc calls, so that both the runtime and the command link it.
 */
#ifndef FDEP_FINGERPRINT_H
#define FDEP_FINGERPRINT_H

#include <stdbool.h>
#include <stddef.h>

#define FDEP_FINGERPRINT_LEN 16
#define FDEP_FINGERPRINT_VERSION 2
#define FDEP_FP_FRAMES 1
#define FDEP_FP_NAME_MAX 256

/* One item: a class, and the functions of the stack that proves it (for a
 * cycle, of the dependency out of it). */
struct fdep_fp_item {
	const char *name;
	const char *funcs[FDEP_FP_FRAMES];
	size_t nfuncs;
};

/* Should a frame of this module (a path or base name) count? */
bool fdep_fp_module_counts(const char *module);
/* Add function fn (of a frame that counts) to item, cleaned; false once
 * the item has FDEP_FP_FRAMES of them or fn is NULL. */
bool fdep_fp_add_function(struct fdep_fp_item *item, const char *fn);
/* The class name as a fingerprint keeps it, into out. */
void fdep_fp_name(const char *name, char out[FDEP_FP_NAME_MAX]);

/* cycle: items are the edges of a cycle in order (rotations are one). */
void fdep_fingerprint(const char *kind, const struct fdep_fp_item *items, size_t n,
		      bool cycle, char out[17]);
/* The version-1 fingerprint (kind and whole class names, in cycle order). */
void fdep_fingerprint_v1(const char *kind, const char *const *names, size_t n, char out[17]);

#endif
