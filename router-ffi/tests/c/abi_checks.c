/*
 * abi_checks.c: the C ABI's error paths and callbacks, as a C caller sees
 * them. Run by tests/c_example.rs; prints one line per check ("ok ..." or
 * "FAIL ...") and the texts the router reported, and exits non-zero on a
 * failed check.
 */
#include "radix_router.h"

#include <stdio.h>
#include <string.h>

#define S(text) (const uint8_t *)(text), strlen(text)

static int failures = 0;

static void check(int ok, const char *what, rr_result got) {
  printf("%s %s (%s)\n", ok ? "ok" : "FAIL", what, rr_result_name(got));
  failures += !ok;
}

#define EXPECT(call, want)                                                                         \
  do {                                                                                             \
    rr_result got_ = (call);                                                                       \
    check(got_ == (want), #call, got_);                                                            \
  } while (0)

/* Prints the router's last error and problem texts. */
static void print_last(const rr_router *router) {
  uint8_t buf[256];
  size_t len = 0;
  EXPECT(rr_router_last_error(router, buf, sizeof buf, &len), RR_OK);
  printf("error: %.*s\n", (int)len, (const char *)buf);
  EXPECT(rr_router_last_problem(router, buf, sizeof buf, &len), RR_OK);
  printf("problem: %.*s\n", (int)len, (const char *)buf);
}

/* Variables for vars expressions: arg_id=42, everything else missing. */
static int vars(void *ctx, const uint8_t *name, size_t name_len, const uint8_t **value,
                size_t *value_len) {
  int *calls = ctx;
  *calls += 1;
  if (name_len == 6 && memcmp(name, "arg_id", 6) == 0) {
    *value = (const uint8_t *)"42";
    *value_len = 2;
    return 1;
  }
  return 0;
}

/* Typed variables: tags = ["b", "a", 1], flag = true. */
static int values(void *ctx, const uint8_t *name, size_t name_len, rr_value *out) {
  static rr_value items[3];
  (void)ctx;
  if (out->kind != RR_VALUE_MISSING) return 0;
  if (name_len == 4 && memcmp(name, "tags", 4) == 0) {
    items[0].kind = RR_VALUE_TEXT;
    items[0].text = (const uint8_t *)"b";
    items[0].text_len = 1;
    items[1] = items[0];
    items[1].text = (const uint8_t *)"a";
    items[2].kind = RR_VALUE_NUMBER;
    items[2].number = 1;
    out->kind = RR_VALUE_LIST;
    out->items = items;
    out->items_len = 3;
    return 1;
  }
  if (name_len == 4 && memcmp(name, "flag", 4) == 0) {
    out->kind = RR_VALUE_BOOL;
    out->boolean = true;
    return 1;
  }
  return 0;
}

/* Accepts every route value but the one ctx points to. */
static bool filter(void *ctx, uint64_t value) { return value != *(const uint64_t *)ctx; }

static rr_result match_value(const rr_router *router, const char *path, rr_var_fn v, void *vctx,
                             rr_filter_fn f, void *fctx, uint64_t *value) {
  rr_request req = {0};
  req.path = (const uint8_t *)path;
  req.path_len = strlen(path);
  rr_match m;
  m.value = 12345;
  rr_result r = rr_router_match_with(router, &req, v, vctx, f, fctx, &m);
  *value = m.value; /* stays 12345 unless r == RR_OK */
  return r;
}

int main(void) {
  rr_router *router = NULL;
  rr_route *route = NULL;
  rr_match m;
  rr_request req = {0};
  size_t len = 0;

  /* NULL pointers. */
  EXPECT(rr_router_new(0, NULL), RR_NULL_PARAMETER);
  EXPECT(rr_router_new(0, &router), RR_OK);
  EXPECT(rr_route_new(NULL, 0, 1, &route), RR_NULL_PARAMETER);
  EXPECT(rr_route_add_path(NULL, S("/a")), RR_NULL_PARAMETER);
  EXPECT(rr_router_insert(router, NULL), RR_NULL_PARAMETER);
  EXPECT(rr_router_insert(NULL, NULL), RR_NULL_PARAMETER);
  EXPECT(rr_router_match(router, NULL, &m), RR_NULL_PARAMETER);
  EXPECT(rr_router_match(router, &req, &m), RR_NULL_PARAMETER); /* req.path is NULL */
  req.path = (const uint8_t *)"/a";
  req.path_len = 2;
  EXPECT(rr_router_match(router, &req, NULL), RR_NULL_PARAMETER);
  EXPECT(rr_router_match(router, &req, &m), RR_NO_MATCH);
  EXPECT(rr_router_last_error(router, NULL, 0, NULL), RR_NULL_PARAMETER);
  check(rr_router_len(NULL) == 0, "rr_router_len(NULL) == 0", RR_OK);
  rr_route_free(NULL);
  rr_router_free(NULL);

  /* Invalid UTF-8 in a path pattern: the setter and the insert refuse it. */
  EXPECT(rr_route_new(S("utf8"), 1, &route), RR_OK);
  EXPECT(rr_route_add_path(route, (const uint8_t *)"/caf\xe9", 5), RR_INVALID_UTF8);
  EXPECT(rr_router_insert(router, route), RR_INVALID_UTF8);
  rr_route_free(route);
  print_last(router);

  /* Vars JSON that does not parse. */
  EXPECT(rr_route_new(S("json"), 1, &route), RR_OK);
  EXPECT(rr_route_add_path(route, S("/v")), RR_OK);
  EXPECT(rr_route_set_vars_json(route, S("[[\"arg_id\", \"==\"")), RR_INVALID_VARS);
  EXPECT(rr_router_insert(router, route), RR_INVALID_VARS);
  rr_route_free(route);
  print_last(router);

  /* Vars JSON with an unknown operator: refused at insert. */
  EXPECT(rr_route_new(S("7"), 1, &route), RR_OK);
  EXPECT(rr_route_add_path(route, S("/v")), RR_OK);
  EXPECT(rr_route_set_vars_json(route, S("[[\"arg_id\", \"xyz\", \"1\"]]")), RR_OK);
  EXPECT(rr_router_insert(router, route), RR_INVALID_VARS);
  rr_route_free(route);
  print_last(router);

  /* A buffer too small: nothing copied, the needed length reported. */
  uint8_t small[4] = {'#', '#', '#', '#'};
  EXPECT(rr_router_last_problem(router, small, sizeof small, &len), RR_BUFFER_TOO_SMALL);
  check(len == strlen("invalid operator 'xyz'") && small[0] == '#', "needed length, no copy",
        RR_BUFFER_TOO_SMALL);
  EXPECT(rr_router_last_problem(router, NULL, 0, &len), RR_BUFFER_TOO_SMALL);

  /* A vars route, a filtered route, a fallback. */
  EXPECT(rr_route_new(S("vars"), 1, &route), RR_OK);
  EXPECT(rr_route_add_path(route, S("/v")), RR_OK);
  EXPECT(rr_route_set_vars_json(route, S("[[\"arg_id\", \">\", 40]]")), RR_OK);
  EXPECT(rr_router_insert(router, route), RR_OK);
  EXPECT(rr_router_insert(router, route), RR_DUPLICATE_ID);
  rr_route_free(route);
  EXPECT(rr_route_new(S("filtered"), 2, &route), RR_OK);
  EXPECT(rr_route_add_path(route, S("/f/:x")), RR_OK);
  EXPECT(rr_route_set_filter(route, true), RR_OK);
  EXPECT(rr_router_insert(router, route), RR_OK);
  rr_route_free(route);
  EXPECT(rr_route_new(S("fallback"), 3, &route), RR_OK);
  EXPECT(rr_route_add_path(route, S("/*")), RR_OK);
  EXPECT(rr_router_insert(router, route), RR_OK);
  rr_route_free(route);
  check(rr_router_len(router) == 3, "3 routes", RR_OK);

  int calls = 0;
  uint64_t reject = 2, got = 0;
  EXPECT(match_value(router, "/v", vars, &calls, NULL, NULL, &got), RR_OK);
  check(got == 1 && calls == 1, "vars callback: arg_id=42 > 40 matches the vars route", RR_OK);
  EXPECT(match_value(router, "/v", NULL, NULL, NULL, NULL, &got), RR_OK);
  check(got == 3, "no vars callback: the vars route fails, the fallback wins", RR_OK);
  EXPECT(match_value(router, "/f/x", NULL, NULL, filter, &reject, &got), RR_OK);
  check(got == 3, "filter rejecting 2: the fallback wins", RR_OK);
  reject = 0;
  EXPECT(match_value(router, "/f/x", NULL, NULL, filter, &reject, &got), RR_OK);
  check(got == 2, "filter accepting 2: the filtered route wins", RR_OK);

  /* Remove, update and the errors they report. */
  EXPECT(rr_router_remove(router, S("nope")), RR_ROUTE_NOT_FOUND);
  print_last(router);
  EXPECT(rr_router_remove(router, S("fallback")), RR_OK);
  EXPECT(match_value(router, "/zzz", NULL, NULL, NULL, NULL, &got), RR_NO_MATCH);
  check(got == 12345, "out untouched on RR_NO_MATCH", RR_NO_MATCH);
  check(strcmp(rr_result_name(4242), "RR_UNKNOWN") == 0, "unknown code name", RR_UNKNOWN);

  /* Update and upsert: by id; a new value shows in the next match. */
  EXPECT(rr_route_new(S("vars"), 10, &route), RR_OK);
  EXPECT(rr_route_add_path(route, S("/v")), RR_OK);
  EXPECT(rr_router_update(router, route), RR_OK);
  rr_route_free(route);
  EXPECT(match_value(router, "/v", NULL, NULL, NULL, NULL, &got), RR_OK);
  check(got == 10, "updated route has its new value and no vars", RR_OK);
  EXPECT(rr_route_new(S("new"), 11, &route), RR_OK);
  EXPECT(rr_route_add_path(route, S("/n")), RR_OK);
  EXPECT(rr_router_update(router, route), RR_ROUTE_NOT_FOUND);
  EXPECT(rr_router_upsert(router, route), RR_OK);
  EXPECT(rr_router_upsert(router, route), RR_OK);
  rr_route_free(route);
  check(rr_router_len(router) == 3, "upsert added one route", RR_OK);
  rr_router_free(router);

  /* RR_OPT_NO_PARAM_MATCH: ':' is literal text. */
  EXPECT(rr_router_new(RR_OPT_NO_PARAM_MATCH, &router), RR_OK);
  EXPECT(rr_route_new(S("lit"), 1, &route), RR_OK);
  EXPECT(rr_route_add_path(route, S("/u/:id")), RR_OK);
  EXPECT(rr_router_insert(router, route), RR_OK);
  rr_route_free(route);
  EXPECT(match_value(router, "/u/:id", NULL, NULL, NULL, NULL, &got), RR_OK);
  EXPECT(match_value(router, "/u/7", NULL, NULL, NULL, NULL, &got), RR_NO_MATCH);
  /* ... unless the route says otherwise. */
  EXPECT(rr_route_new(S("own"), 2, &route), RR_OK);
  EXPECT(rr_route_add_path(route, S("/p/:id")), RR_OK);
  EXPECT(rr_route_set_no_param_match(route, false), RR_OK);
  EXPECT(rr_router_insert(router, route), RR_OK);
  rr_route_free(route);
  EXPECT(match_value(router, "/p/7", NULL, NULL, NULL, NULL, &got), RR_OK);
  check(got == 2, "a route's own no_param_match", RR_OK);
  rr_router_free(router);

  /* Typed variables: `has` on a list, `==` on a boolean. */
  EXPECT(rr_router_new(0, &router), RR_OK);
  EXPECT(rr_route_new(S("has"), 1, &route), RR_OK);
  EXPECT(rr_route_add_path(route, S("/has")), RR_OK);
  EXPECT(rr_route_set_vars_json(route, S("[[\"tags\", \"has\", \"a\"], [\"flag\", true]]")), RR_OK);
  EXPECT(rr_router_insert(router, route), RR_OK);
  rr_route_free(route);
  req.path = (const uint8_t *)"/has";
  req.path_len = 4;
  EXPECT(rr_router_match_values(router, &req, values, NULL, NULL, NULL, &m), RR_OK);
  EXPECT(rr_router_match_values(router, &req, NULL, NULL, NULL, NULL, &m), RR_NO_MATCH);
  rr_router_free(router);

  /* Tolerant mode: the route is added, the warnings say what was let pass. */
  EXPECT(rr_router_new(RR_OPT_TOLERANT, &router), RR_OK);
  EXPECT(rr_route_new(S("tol"), 1, &route), RR_OK);
  EXPECT(rr_route_add_path(route, S("/t")), RR_OK);
  EXPECT(rr_route_set_vars_json(route, S("[[\"arg_k\", \"~~\", \"[0\"]]")), RR_OK);
  EXPECT(rr_router_insert(router, route), RR_OK);
  rr_route_free(route);
  uint8_t warn[256];
  EXPECT(rr_router_last_warnings(router, warn, sizeof warn, &len), RR_OK);
  printf("warnings: %.*s\n", (int)len, (const char *)warn);
  req.path = (const uint8_t *)"/t";
  req.path_len = 2;
  EXPECT(rr_router_match(router, &req, &m), RR_NO_MATCH);

  rr_router_free(router);
  printf("%s: %d failed\n", failures ? "FAILED" : "PASSED", failures);
  return failures != 0;
}
