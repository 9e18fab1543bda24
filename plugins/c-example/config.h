/*
 * config.h: reads a plugin config's JSON text as a flat object of
 * strings, integers and booleans (what c-example's schema admits; the
 * gateway has checked the config against that schema before).
 * SPDX-License-Identifier: Apache-2.0
 */

#ifndef C_EXAMPLE_CONFIG_H
#define C_EXAMPLE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/** The most members an object may have. */
#define CFG_MAX_MEMBERS 16

/** What a member holds. */
typedef enum cfg_kind { CFG_STRING, CFG_INTEGER, CFG_BOOL } cfg_kind;

/** One member: its key and value (text owned by the object). */
typedef struct cfg_member {
  char key[32];
  cfg_kind kind;
  /** CFG_STRING: the decoded text, NUL-terminated (no NUL inside). */
  char *text;
  /** CFG_INTEGER: the number; CFG_BOOL: 0 or 1. */
  long long integer;
} cfg_member;

/** A parsed object. */
typedef struct cfg_object {
  cfg_member members[CFG_MAX_MEMBERS];
  size_t count;
} cfg_object;

/**
 * Parses `(json, len)` into `*out`. Returns 0, or -1 with the reason in
 * `(error, error_cap)` (NUL-terminated) and nothing to free.
 */
int cfg_parse(const uint8_t *json, size_t len, cfg_object *out, char *error, size_t error_cap);

/** The member `key` of kind `kind`, or NULL. */
const cfg_member *cfg_get(const cfg_object *object, const char *key, cfg_kind kind);

/** Frees what cfg_parse allocated. */
void cfg_free(cfg_object *object);

#endif /* C_EXAMPLE_CONFIG_H */
