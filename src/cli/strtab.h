/*
 * strtab.h - a hash table from byte strings to indices (uthash), for
 * interning the strings of the reports read, class names and class pairs,
 * and for sets of fingerprints.
 */
#ifndef FDEP_STRTAB_H
#define FDEP_STRTAB_H

#include <stdbool.h>
#include <stddef.h>

struct strtab_entry;

struct strtab {
	struct strtab_entry *head;	/* uthash head, NULL: empty */
	size_t n;
};

void strtab_init(struct strtab *t);
void strtab_free(struct strtab *t);
/* The value of key, or false when absent. */
bool strtab_get(const struct strtab *t, const void *key, size_t len, size_t *value);
/* Insert key with value unless present; returns -1 when out of memory. */
int strtab_put(struct strtab *t, const void *key, size_t len, size_t value);
/*
 * The table's own NUL-terminated copy of key, added when absent: one copy
 * of each distinct string, alive until strtab_free.  NULL when out of
 * memory.
 */
const char *strtab_intern(struct strtab *t, const void *key, size_t len);

#endif
