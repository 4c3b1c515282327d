/*
 * strtab.c - byte strings to indices, a uthash table (see strtab.h).
 */
#include "strtab.h"

#include <stdlib.h>
#include <string.h>

/* an allocation failing inside uthash undoes the add and sets this */
static int add_oom;
#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(e) (add_oom = 1)
#include <uthash.h>

struct strtab_entry {
	UT_hash_handle hh;
	size_t len;
	size_t value;
	char key[];			/* len bytes and a NUL */
};

void strtab_init(struct strtab *t)
{
	t->head = NULL;
	t->n = 0;
}

void strtab_free(struct strtab *t)
{
	struct strtab_entry *e, *tmp;

	HASH_ITER(hh, t->head, e, tmp) {
		HASH_DEL(t->head, e);
		free(e);
	}
	strtab_init(t);
}

static struct strtab_entry *find(const struct strtab *t, const void *key,
				 size_t len)
{
	struct strtab_entry *e = NULL;

	HASH_FIND(hh, t->head, key, len, e);
	return e;
}

bool strtab_get(const struct strtab *t, const void *key, size_t len, size_t *value)
{
	struct strtab_entry *e = find(t, key, len);

	if (e && value)
		*value = e->value;
	return e != NULL;
}

static struct strtab_entry *add(struct strtab *t, const void *key, size_t len,
				size_t value)
{
	struct strtab_entry *e = malloc(sizeof(*e) + len + 1);

	if (!e)
		return NULL;
	e->len = len;
	e->value = value;
	memcpy(e->key, key, len);
	e->key[len] = '\0';
	add_oom = 0;
	HASH_ADD_KEYPTR(hh, t->head, e->key, len, e);
	if (add_oom) {
		free(e);
		return NULL;
	}
	t->n++;
	return e;
}

int strtab_put(struct strtab *t, const void *key, size_t len, size_t value)
{
	if (find(t, key, len))
		return 0;
	return add(t, key, len, value) ? 0 : -1;
}

const char *strtab_intern(struct strtab *t, const void *key, size_t len)
{
	struct strtab_entry *e = find(t, key, len);

	if (!e)
		e = add(t, key, len, 0);
	return e ? e->key : NULL;
}
