/*
 * strtab.c - open-addressing hash table of byte strings (see strtab.h).
 */
#include "strtab.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash_bytes(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

void strtab_init(struct strtab *t)
{
	t->slots = NULL;
	t->cap = t->n = 0;
}

void strtab_free(struct strtab *t)
{
	size_t i;

	for (i = 0; i < t->cap; i++)
		free(t->slots[i].key);
	free(t->slots);
	strtab_init(t);
}

static struct strtab_slot *find_slot(struct strtab_slot *slots, size_t cap,
				     const void *key, size_t len)
{
	size_t i = hash_bytes(key, len) & (cap - 1);

	while (slots[i].key &&
	       !(slots[i].len == len && !memcmp(slots[i].key, key, len)))
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

bool strtab_get(const struct strtab *t, const void *key, size_t len, size_t *value)
{
	struct strtab_slot *s;

	if (!t->cap)
		return false;
	s = find_slot(t->slots, t->cap, key, len);
	if (!s->key)
		return false;
	if (value)
		*value = s->value;
	return true;
}

static int rehash(struct strtab *t)
{
	size_t cap = t->cap ? t->cap * 2 : 64, i;
	struct strtab_slot *slots = calloc(cap, sizeof(*slots)), *s;

	if (!slots)
		return -1;
	for (i = 0; i < t->cap; i++) {
		if (!t->slots[i].key)
			continue;
		s = find_slot(slots, cap, t->slots[i].key, t->slots[i].len);
		*s = t->slots[i];
	}
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
	return 0;
}

int strtab_put(struct strtab *t, const void *key, size_t len, size_t value)
{
	struct strtab_slot *s;

	if ((t->n + 1) * 2 > t->cap && rehash(t))
		return -1;
	s = find_slot(t->slots, t->cap, key, len);
	if (s->key)
		return 0;
	s->key = malloc(len + 1);
	if (!s->key)
		return -1;
	memcpy(s->key, key, len);
	s->key[len] = '\0';
	s->len = len;
	s->value = value;
	t->n++;
	return 0;
}
