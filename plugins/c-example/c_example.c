/*
 * c-example: a radixgate plugin written in C against
 * include/radixgate_plugin.h alone.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Config (all optional):
 *   header        a response header it sets (default "X-C-Example")
 *   value         that header's value (default "hello from C")
 *   block_header  a request carrying this header gets 403 in access
 *   sleep_ms      access waits this long (on the gateway's timer, holding
 *                 no worker), then sends X-C-Slept: <ms> to the node
 *
 * It also counts requests per route in the gateway's shared store
 * (X-C-Count to the node) and in the counter c_example_requests_total.
 *
 * Build (from the repository's root; `make run` and `make test` do):
 *   cc -shared -fPIC -I include -o libradixgate_plugin_c_example.so
 *      plugins/c-example/c_example.c plugins/c-example/config.c
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "radixgate_plugin.h"

/* One config's instance: read-only after instance_new, so any number of
 * workers may run its phases at once. */
typedef struct instance {
  const rg_services *services;
  char *header;
  char *value;
  char *block_header; /* NULL: block nothing */
  uint64_t sleep_ms;
  uint32_t requests_metric;
  int has_metric;
} instance;

/* What a waiting access phase keeps until the timer fires. */
typedef struct waiting {
  uint64_t ms;
  const rg_host *host;
  const rg_services *services;
} waiting;

static const char SCHEMA[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"header\":{\"type\":\"string\",\"minLength\":1},"
    "\"value\":{\"type\":\"string\"},"
    "\"block_header\":{\"type\":\"string\",\"minLength\":1},"
    "\"sleep_ms\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":60000}"
    "},\"additionalProperties\":false}";

/* Writes a refusal into the gateway's buffer. */
static rg_result refuse(uint8_t *error, size_t error_cap, size_t *error_len, const char *text) {
  size_t n = strlen(text);
  if (n > error_cap) n = error_cap;
  memcpy(error, text, n);
  *error_len = n;
  return RG_INVALID_CONFIG;
}

static char *copy(const char *text) {
  size_t n = strlen(text) + 1;
  char *out = malloc(n);
  if (out != NULL) memcpy(out, text, n);
  return out;
}

/* Whether `name` is an HTTP header name (an RFC 9110 token). */
static int is_token(const char *name) {
  if (*name == '\0') return 0;
  for (const char *c = name; *c; c++) {
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
          strchr("!#$%&'*+-.^_`|~", *c) != NULL)) {
      return 0;
    }
  }
  return 1;
}

static void instance_free(void *p) {
  instance *self = p;
  if (self == NULL) return;
  free(self->header);
  free(self->value);
  free(self->block_header);
  free(self);
}

static rg_result instance_new(const rg_host *host, const rg_services *services,
                              const uint8_t *config, size_t config_len, void **out,
                              uint8_t *error, size_t error_cap, size_t *error_len) {
  char why[256];
  cfg_object cfg;
  if (cfg_parse(config, config_len, &cfg, why, sizeof(why)) != 0) {
    return refuse(error, error_cap, error_len, why);
  }
  const cfg_member *header = cfg_get(&cfg, "header", CFG_STRING);
  const cfg_member *value = cfg_get(&cfg, "value", CFG_STRING);
  const cfg_member *block = cfg_get(&cfg, "block_header", CFG_STRING);
  const cfg_member *sleep = cfg_get(&cfg, "sleep_ms", CFG_INTEGER);
  /* What the schema cannot say: the names must be HTTP header names. */
  const cfg_member *names[2] = {header, block};
  for (size_t i = 0; i < 2; i++) {
    if (names[i] != NULL && !is_token(names[i]->text)) {
      snprintf(why, sizeof(why), "%s: \"%s\" is not an HTTP header name", names[i]->key,
               names[i]->text);
      cfg_free(&cfg);
      return refuse(error, error_cap, error_len, why);
    }
  }
  instance *self = calloc(1, sizeof(*self));
  if (self == NULL) {
    cfg_free(&cfg);
    return refuse(error, error_cap, error_len, "out of memory");
  }
  self->services = services;
  self->header = copy(header ? header->text : "X-C-Example");
  self->value = copy(value ? value->text : "hello from C");
  self->block_header = block ? copy(block->text) : NULL;
  self->sleep_ms = sleep ? (uint64_t)sleep->integer : 0;
  cfg_free(&cfg);
  if (self->header == NULL || self->value == NULL || (block && self->block_header == NULL)) {
    instance_free(self);
    return refuse(error, error_cap, error_len, "out of memory");
  }
  static const rg_bytes labels[] = {RG_LIT("route")};
  static const char name[] = "c_example_requests_total";
  static const char help[] = "Requests c-example saw, by route";
  self->has_metric =
      host->counter_register(services, (const uint8_t *)name, strlen(name), (const uint8_t *)help,
                             strlen(help), labels, 1, &self->requests_metric) == RG_OK;
  *out = self;
  return RG_OK;
}

/* Access, after the timer: tell the node how long it waited. */
static rg_decision slept(void *p, void *state, const rg_host *host, rg_request *req,
                         const rg_op_result *result) {
  (void)p;
  waiting *w = state;
  uint64_t ms = w->ms;
  free(w);
  if (result->kind != RG_OP_DONE) {
    host->fail(req, result->data.ptr, result->data.len);
    return RG_FAIL;
  }
  char text[24];
  int n = snprintf(text, sizeof(text), "%" PRIu64, ms);
  static const char name[] = "X-C-Slept";
  host->request_header_set(req, (const uint8_t *)name, strlen(name), (const uint8_t *)text,
                           (size_t)n);
  return RG_CONTINUE;
}

/* A waiting access phase the gateway gave up on (the request timed out or
 * ended): its state is freed here, and the log says so. */
static void sleep_abandoned(void *state) {
  waiting *w = state;
  char text[64];
  int n = snprintf(text, sizeof(text), "a sleep of %" PRIu64 " ms was abandoned", w->ms);
  w->host->log(w->services, RG_LOG_INFO, (const uint8_t *)text, (size_t)n);
  free(w);
}

static rg_decision access(void *p, const rg_host *host, rg_request *req) {
  instance *self = p;
  rg_bytes found;
  if (self->block_header != NULL &&
      host->request_header(req, (const uint8_t *)self->block_header, strlen(self->block_header),
                           &found) == RG_OK) {
    static const char body[] = "{\"error_msg\":\"blocked by c-example\"}";
    static const char type[] = "Content-Type";
    static const char json[] = "application/json";
    host->respond(req, 403, (const uint8_t *)body, strlen(body));
    host->respond_header(req, (const uint8_t *)type, strlen(type), (const uint8_t *)json,
                         strlen(json));
    return RG_RESPOND;
  }
  /* Requests of this route so far, in the store every worker shares. */
  rg_bytes route;
  char key[300];
  int64_t count = 0;
  host->request_route_id(req, &route);
  int n = snprintf(key, sizeof(key), "c-example:%.*s", (int)route.len, (const char *)route.ptr);
  host->store_incr(self->services, (const uint8_t *)key, (size_t)n, 1, 0, &count, NULL);
  char text[24];
  int len = snprintf(text, sizeof(text), "%" PRId64, count);
  static const char counted[] = "X-C-Count";
  host->request_header_set(req, (const uint8_t *)counted, strlen(counted), (const uint8_t *)text,
                           (size_t)len);
  if (self->sleep_ms == 0) {
    return RG_CONTINUE;
  }
  waiting *w = malloc(sizeof(*w));
  if (w == NULL) {
    static const char oom[] = "out of memory";
    host->fail(req, (const uint8_t *)oom, strlen(oom));
    return RG_FAIL;
  }
  w->ms = self->sleep_ms;
  w->host = host;
  w->services = self->services;
  if (host->suspend_sleep(req, self->sleep_ms, slept, w, sleep_abandoned) != RG_OK) {
    free(w); /* refused: the state stayed ours */
    return RG_FAIL;
  }
  return RG_SUSPEND;
}

static rg_decision header_filter(void *p, const rg_host *host, rg_request *req) {
  instance *self = p;
  host->response_header_set(req, (const uint8_t *)self->header, strlen(self->header),
                            (const uint8_t *)self->value, strlen(self->value));
  return RG_CONTINUE;
}

static rg_decision log_phase(void *p, const rg_host *host, rg_request *req) {
  instance *self = p;
  rg_bytes route;
  if (self->has_metric && host->request_route_id(req, &route) == RG_OK) {
    host->counter_add(self->services, self->requests_metric, &route, 1, 1);
  }
  return RG_CONTINUE;
}

static const rg_plugin declaration = {
    .abi_version = RG_PLUGIN_ABI_VERSION,
    .size = sizeof(rg_plugin),
    .name = RG_LIT("c-example"),
    .version = RG_LIT("0.1.0"),
    .priority = 1010,
    .phases = RG_PHASE_ACCESS | RG_PHASE_HEADER_FILTER | RG_PHASE_LOG,
    .flags = 0,
    .route_schema = {(const uint8_t *)SCHEMA, sizeof(SCHEMA) - 1},
    .consumer_schema = {NULL, 0},
    .metadata_schema = {NULL, 0},
    .instance_new = instance_new,
    .instance_drop = instance_free,
    .rewrite = NULL,
    .access = access,
    .before_proxy = NULL,
    .header_filter = header_filter,
    .body_filter = NULL,
    .log = log_phase,
};

RG_DECLARE_PLUGIN(declaration)
