/* Aggregation: an open-addressing hash table of byte keys with a count and a small value. */
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

struct agg_entry *agg_add(struct agg *t, const void *key, uint32_t len, uint64_t n)
{
	if ((t->used + 1) * 4 >= t->cap * 3)
		grow(t);
	uint64_t h = fnv1a(key, len);
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
		if (e->hash == h && e->len == len && memcmp(e->key, key, len) == 0) {
			e->count += n;
			return e;
		}
		i = (i + 1) & (t->cap - 1);
	}
}
