/*
 * fingerprint.h - the stable identity of a finding.
 *
 * A fingerprint names a finding across runs, builds and processes: it is
 * computed from the finding's kind and class names only, never from
 * addresses.  For a cycle, the class names are taken in cycle order,
 * starting at the lexicographically smallest one, so that every rotation of
 * the same cycle has the same fingerprint:
 *
 *	fingerprint = FNV-1a 64 of  kind "\n" name_0 "\n" ... name_n-1 "\n"
 *
 * printed as 16 lowercase hexadecimal digits.  Pure code: no allocation, no
 * libc calls, so that both the runtime and the command link it.
 */
#ifndef FDEP_FINGERPRINT_H
#define FDEP_FINGERPRINT_H

#include <stddef.h>

#define FDEP_FINGERPRINT_LEN 16

void fdep_fingerprint(const char *kind, const char *const *names, size_t n,
		      char out[17]);

#endif
