/* Aggregation: an open-addressing hash table of byte keys with a count and a small value.
 * Adding a key that is already there allocates nothing. */
#include "sensor.h"

#include <stdlib.h>
#include <string.h>

static void grow(struct agg *t)
{
	size_t cap = t->cap ? t->cap * 2 : 1024;
	struct agg_entry *slots = xcalloc(cap, sizeof *slots);
	for (size_t i = 0; i < t->cap; i++) {
		struct agg_entry *e = &t->slots[i];
		if (!e->key)
			continue;
		size_t j = e->hash & (cap - 1);
		while (slots[j].key)
			j = (j + 1) & (cap - 1);
		slots[j] = *e;
	}
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
}

/* Eight bytes at a time (paths are hashed at every path access): multiply and fold, then a
 * final mix so the low bits (the slot) depend on every byte. */
static uint64_t key_hash(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ len;
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
		p += 8;
		len -= 8;
	}
	uint64_t w = 0;
	memcpy(&w, p, len);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 29;
	h *= 0xff51afd7ed558ccdull;
	return h ^ (h >> 32);
}

static int same_key(const char *a, const unsigned char *b, size_t len)
{
	for (; len >= 8; a += 8, b += 8, len -= 8) {
		uint64_t x, y;
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		if (x != y)
			return 0;
	}
	while (len--)
		if ((unsigned char)*a++ != *b++)
			return 0;
	return 1;
}

struct agg_entry *agg_add(struct agg *t, const void *key, uint32_t len, uint64_t n)
{
	if ((t->used + 1) * 4 >= t->cap * 3)
		grow(t);
	uint64_t h = key_hash(key, len);
	size_t i = h & (t->cap - 1);
	for (;;) {
		struct agg_entry *e = &t->slots[i];
		if (!e->key) {
			e->key = xmalloc(len + 1);
			memcpy(e->key, key, len);
			e->key[len] = 0;
			e->len = len;
			e->hash = h;
			e->count = n;
			e->extra = 0;
			t->used++;
			return e;
		}
		if (e->hash == h && e->len == len && same_key(e->key, key, len)) {
			e->count += n;
			return e;
		}
		i = (i + 1) & (t->cap - 1);
	}
}
