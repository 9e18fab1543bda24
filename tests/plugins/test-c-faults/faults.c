/*
 * test-c-faults: a C plugin built once per fault the gateway must refuse
 * at load, with the file and the reason in its log:
 *   -DFAULT_VERSION     test-c-version: abi_version 99
 *   -DFAULT_SIZE        test-c-size: a size smaller than rg_plugin's (as a
 *                       plugin built against a header lacking a field)
 *   -DFAULT_NULL_PHASE  test-c-null-phase: declares header_filter with a
 *                       NULL function
 *   -DFAULT_SCHEMA      test-c-schema: a route schema that is not JSON
 *   -DFAULT_DUP_NAME    test-c-dup-name: declares the name "c-example"
 * Otherwise it is a valid plugin that answers 204 in access. `make test`
 * builds each into the target dir.
 * SPDX-License-Identifier: Apache-2.0
 */

#include <stddef.h>

#include "radixgate_plugin.h"

#if defined(FAULT_VERSION)
#define NAME "test-c-version"
#elif defined(FAULT_SIZE)
#define NAME "test-c-size"
#elif defined(FAULT_NULL_PHASE)
#define NAME "test-c-null-phase"
#elif defined(FAULT_SCHEMA)
#define NAME "test-c-schema"
#elif defined(FAULT_DUP_NAME)
#define NAME "c-example"
#else
#define NAME "test-c-faultless"
#endif

static rg_result instance_new(const rg_host *host, const rg_services *services,
                              const uint8_t *config, size_t config_len, void **instance,
                              uint8_t *error, size_t error_cap, size_t *error_len) {
  (void)host; (void)services; (void)config; (void)config_len; (void)error; (void)error_cap;
  *instance = NULL;
  *error_len = 0;
  return RG_OK;
}

static rg_decision access(void *instance, const rg_host *host, rg_request *req) {
  (void)instance;
  host->respond(req, 204, NULL, 0);
  return RG_RESPOND;
}

#ifndef FAULT_NULL_PHASE
static rg_decision header_filter(void *instance, const rg_host *host, rg_request *req) {
  (void)instance; (void)host; (void)req;
  return RG_CONTINUE;
}
#endif

static const rg_plugin declaration = {
#ifdef FAULT_VERSION
    .abi_version = 99,
#else
    .abi_version = RG_PLUGIN_ABI_VERSION,
#endif
#ifdef FAULT_SIZE
    .size = sizeof(rg_plugin) - sizeof(rg_phase_fn),
#else
    .size = sizeof(rg_plugin),
#endif
    .name = RG_LIT(NAME),
    .version = RG_LIT("0.0.1"),
    .priority = 10,
    .phases = RG_PHASE_ACCESS | RG_PHASE_HEADER_FILTER,
    .flags = 0,
#ifdef FAULT_SCHEMA
    .route_schema = RG_LIT("{\"type\": \"object\""),
#else
    .route_schema = RG_LIT("{\"type\": \"object\"}"),
#endif
    .consumer_schema = {NULL, 0},
    .metadata_schema = {NULL, 0},
    .instance_new = instance_new,
    .instance_drop = NULL,
    .rewrite = NULL,
    .access = access,
    .before_proxy = NULL,
#ifdef FAULT_NULL_PHASE
    .header_filter = NULL,
#else
    .header_filter = header_filter,
#endif
    .body_filter = NULL,
    .log = NULL,
};

RG_DECLARE_PLUGIN(declaration)
