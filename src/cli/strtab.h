/*
 * strtab.h - a hash table from byte strings to indices, for interning class
 * names and class pairs and for sets of fingerprints.
 */
#ifndef FDEP_STRTAB_H
#define FDEP_STRTAB_H

#include <stdbool.h>
#include <stddef.h>

struct strtab_slot {
	char *key;			/* owned copy, NULL: empty */
	size_t len;
	size_t value;
};

struct strtab {
	struct strtab_slot *slots;
	size_t cap, n;
};

void strtab_init(struct strtab *t);
void strtab_free(struct strtab *t);
/* The value of key, or false when absent. */
bool strtab_get(const struct strtab *t, const void *key, size_t len, size_t *value);
/* Insert key with value unless present; returns -1 when out of memory. */
int strtab_put(struct strtab *t, const void *key, size_t len, size_t value);

#endif
