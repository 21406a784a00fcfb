/* SPDX-License-Identifier: MIT */
/*
 * The rule engine's open runs and bound objects: a table from a 64-bit id
 * to an allocation it owns (freed when its entry is deleted).  Open
 * addressing, backward-shift deletion (no tombstones): a deletion may move
 * a later entry into the freed slot.
 */
#ifndef PYSCOPE_RULES_TABLE_H
#define PYSCOPE_RULES_TABLE_H

#include <stddef.h>
#include <stdint.h>

struct rules_slot {
	uint64_t id;
	void *v;			/* NULL: empty */
};

/* Zeroed: empty.  Walk it as s[0 .. cap): a slot with v is an entry. */
struct rules_table {
	struct rules_slot *s;
	size_t cap, n;
};

/* Where id's value is held, or NULL. */
void **rules_table__find(struct rules_table *t, uint64_t id);
/* Add id (not there yet) with v; -ENOMEM leaves the table as it was. */
int rules_table__put(struct rules_table *t, uint64_t id, void *v);
/* Delete the entry of slot i (the slot may then hold another entry), or of id. */
void rules_table__del_at(struct rules_table *t, size_t i);
void rules_table__del(struct rules_table *t, uint64_t id);
void rules_table__free(struct rules_table *t);

#endif
