/*
 * config.c: a flat JSON object reader (see config.h).
 * SPDX-License-Identifier: Apache-2.0
 */

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct reader {
  const uint8_t *start;
  const uint8_t *at;
  const uint8_t *end;
  char *error;
  size_t error_cap;
} reader;

static int refuse(reader *r, const char *why) {
  if (r->error_cap > 0) {
    snprintf(r->error, r->error_cap, "config: %s at byte %zu", why, (size_t)(r->at - r->start));
  }
  return -1;
}

static void skip_space(reader *r) {
  while (r->at < r->end && (*r->at == ' ' || *r->at == '\t' || *r->at == '\n' || *r->at == '\r')) {
    r->at++;
  }
}

static int expect(reader *r, uint8_t c) {
  skip_space(r);
  if (r->at >= r->end || *r->at != c) {
    return -1;
  }
  r->at++;
  return 0;
}

static int hex(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Reads a string into a new NUL-terminated buffer (*out, freed by the
 * caller). Escapes decode to ASCII only: \u above 0x7f and \u0000 are
 * refused, and so are raw control bytes. */
static int read_string(reader *r, char **out) {
  if (expect(r, '"') != 0) return refuse(r, "expected a string");
  const uint8_t *start = r->at;
  char *text = malloc((size_t)(r->end - start) + 1);
  size_t n = 0;
  if (text == NULL) return refuse(r, "out of memory");
  while (r->at < r->end && *r->at != '"') {
    uint8_t c = *r->at++;
    if (c < 0x20) {
      free(text);
      return refuse(r, "a control byte in a string");
    }
    if (c == '\\') {
      if (r->at >= r->end) break;
      uint8_t e = *r->at++;
      switch (e) {
        case '"': case '\\': case '/': c = e; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        case 'u': {
          int v = 0;
          for (int i = 0; i < 4; i++) {
            int h = r->at < r->end ? hex(*r->at++) : -1;
            if (h < 0) {
              free(text);
              return refuse(r, "a bad \\u escape");
            }
            v = v * 16 + h;
          }
          if (v == 0 || v > 0x7f) {
            free(text);
            return refuse(r, "a \\u escape outside ASCII");
          }
          c = (uint8_t)v;
          break;
        }
        default:
          free(text);
          return refuse(r, "a bad escape");
      }
    }
    text[n++] = (char)c;
  }
  if (r->at >= r->end) {
    free(text);
    return refuse(r, "an unterminated string");
  }
  r->at++; /* the closing quote */
  text[n] = '\0';
  *out = text;
  return 0;
}

static int read_value(reader *r, cfg_member *m) {
  skip_space(r);
  if (r->at >= r->end) return refuse(r, "expected a value");
  if (*r->at == '"') {
    m->kind = CFG_STRING;
    return read_string(r, &m->text);
  }
  if ((size_t)(r->end - r->at) >= 4 && memcmp(r->at, "true", 4) == 0) {
    r->at += 4;
    m->kind = CFG_BOOL;
    m->integer = 1;
    return 0;
  }
  if ((size_t)(r->end - r->at) >= 5 && memcmp(r->at, "false", 5) == 0) {
    r->at += 5;
    m->kind = CFG_BOOL;
    m->integer = 0;
    return 0;
  }
  int negative = *r->at == '-';
  if (negative) r->at++;
  if (r->at >= r->end || *r->at < '0' || *r->at > '9') {
    return refuse(r, "a value that is not a string, an integer or a boolean");
  }
  long long v = 0;
  while (r->at < r->end && *r->at >= '0' && *r->at <= '9') {
    if (v > (0x7fffffffffffffffLL - 9) / 10) return refuse(r, "an integer out of range");
    v = v * 10 + (*r->at++ - '0');
  }
  if (r->at < r->end && (*r->at == '.' || *r->at == 'e' || *r->at == 'E')) {
    return refuse(r, "a number that is not an integer");
  }
  m->kind = CFG_INTEGER;
  m->integer = negative ? -v : v;
  return 0;
}

int cfg_parse(const uint8_t *json, size_t len, cfg_object *out, char *error, size_t error_cap) {
  reader r = {json, json, json + len, error, error_cap};
  memset(out, 0, sizeof(*out));
  if (error_cap > 0) error[0] = '\0';
  if (expect(&r, '{') != 0) return refuse(&r, "expected an object");
  skip_space(&r);
  if (r.at < r.end && *r.at == '}') {
    r.at++;
  } else {
    for (;;) {
      char *key = NULL;
      if (out->count == CFG_MAX_MEMBERS) {
        cfg_free(out);
        return refuse(&r, "too many members");
      }
      if (read_string(&r, &key) != 0) {
        cfg_free(out);
        return -1;
      }
      cfg_member *m = &out->members[out->count];
      if (strlen(key) >= sizeof(m->key)) {
        free(key);
        cfg_free(out);
        return refuse(&r, "a key too long");
      }
      strcpy(m->key, key);
      free(key);
      if (expect(&r, ':') != 0 || read_value(&r, m) != 0) {
        cfg_free(out);
        return (r.error_cap > 0 && r.error[0] != '\0') ? -1 : refuse(&r, "expected ':'");
      }
      out->count++;
      skip_space(&r);
      if (r.at < r.end && *r.at == ',') {
        r.at++;
        continue;
      }
      if (expect(&r, '}') != 0) {
        cfg_free(out);
        return refuse(&r, "expected ',' or '}'");
      }
      break;
    }
  }
  skip_space(&r);
  if (r.at != r.end) {
    cfg_free(out);
    return refuse(&r, "text after the object");
  }
  return 0;
}

const cfg_member *cfg_get(const cfg_object *object, const char *key, cfg_kind kind) {
  for (size_t i = 0; i < object->count; i++) {
    if (strcmp(object->members[i].key, key) == 0 && object->members[i].kind == kind) {
      return &object->members[i];
    }
  }
  return NULL;
}

void cfg_free(cfg_object *object) {
  for (size_t i = 0; i < object->count; i++) {
    free(object->members[i].text);
    object->members[i].text = NULL;
  }
  object->count = 0;
}
