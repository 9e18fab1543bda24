/*
 * match.c: build a router through the C ABI, match a few requests, print
 * what each match reports.
 *
 *   cargo build -p radix-router
 *   cc -std=c11 -Wall -Wextra -Iinclude router-ffi/examples/match.c \
 *      target/debug/libradix_router.so -Wl,-rpath,target/debug -o match
 *   ./match
 *
 * tests/c_example.rs compiles and runs it and checks its output.
 */
#include "radix_router.h"

#include <stdio.h>
#include <string.h>

#define S(text) (const uint8_t *)(text), strlen(text)

/* Stops the example with the router's own explanation. */
static int fail(const rr_router *router, const char *what, rr_result r) {
  uint8_t buf[256];
  size_t len = 0;
  if (router == NULL || rr_router_last_error(router, buf, sizeof buf, &len) != RR_OK) {
    len = 0;
  }
  fprintf(stderr, "%s: %s %.*s\n", what, rr_result_name(r), (int)len, (const char *)buf);
  return 1;
}

struct spec {
  const char *id;
  uint64_t value;
  const char *path;
  const char *host;   /* NULL: any host */
  const char *method; /* NULL: any method */
};

static const struct spec ROUTES[] = {
    {"exact", 1, "/api/users", NULL, NULL},
    {"prefix", 2, "/static/*", NULL, NULL},
    {"param", 3, "/api/users/:id/*rest", NULL, NULL},
    {"host", 4, "/", "*.example.com", NULL},
    {"method", 5, "/api/users", NULL, "POST"},
};

static rr_result add(rr_router *router, const struct spec *s) {
  rr_route *route = NULL;
  rr_result r = rr_route_new(S(s->id), s->value, &route);
  if (r != RR_OK) {
    return r;
  }
  r = rr_route_add_path(route, S(s->path));
  if (r == RR_OK && s->host != NULL) {
    r = rr_route_add_host(route, S(s->host));
  }
  if (r == RR_OK && s->method != NULL) {
    r = rr_route_add_method(route, S(s->method));
  }
  /* An exact path with a method wins over the same path without one. */
  if (r == RR_OK && s->method != NULL) {
    r = rr_route_set_priority(route, 10);
  }
  if (r == RR_OK) {
    r = rr_router_insert(router, route);
  }
  rr_route_free(route);
  return r;
}

/* Matches one request and prints one line: what matched, or "no match". */
static int show(const rr_router *router, const char *method, const char *host, const char *path) {
  rr_request req = {0};
  req.path = (const uint8_t *)path;
  req.path_len = strlen(path);
  if (method != NULL) {
    req.method = (const uint8_t *)method;
    req.method_len = strlen(method);
  }
  if (host != NULL) {
    req.host = (const uint8_t *)host;
    req.host_len = strlen(host);
  }
  rr_match m;
  rr_result r = rr_router_match(router, &req, &m);
  printf("%s %s%s ->", method ? method : "-", host ? host : "", path);
  if (r == RR_NO_MATCH) {
    printf(" no match\n");
    return 0;
  }
  if (r != RR_OK) {
    printf(" %s\n", rr_result_name(r));
    return 1;
  }
  printf(" value=%llu id=%.*s pattern=%.*s", (unsigned long long)m.value, (int)m.id_len,
         (const char *)m.id, (int)m.pattern_len, (const char *)m.pattern);
  if (m.host_kind == RR_HOST_WILDCARD) {
    printf(" host=*%.*s", (int)m.host_suffix_len, (const char *)m.host_suffix);
  }
  for (size_t i = 0; i < m.param_count; i++) {
    const rr_param *p = &m.params[i];
    printf(" %.*s=%.*s", (int)p->name_len, (const char *)p->name, (int)(p->end - p->start),
           path + p->start);
  }
  printf("\n");
  return 0;
}

int main(void) {
  rr_router *router = NULL;
  rr_result r = rr_router_new(0, &router);
  if (r != RR_OK) {
    return fail(NULL, "rr_router_new", r);
  }
  for (size_t i = 0; i < sizeof ROUTES / sizeof ROUTES[0]; i++) {
    r = add(router, &ROUTES[i]);
    if (r != RR_OK) {
      int rc = fail(router, ROUTES[i].id, r);
      rr_router_free(router);
      return rc;
    }
  }
  printf("radix_router %s, %zu routes\n", rr_version(), rr_router_len(router));

  int bad = 0;
  bad |= show(router, "GET", NULL, "/api/users");
  bad |= show(router, "POST", NULL, "/api/users");
  bad |= show(router, "GET", NULL, "/static/css/site.css");
  bad |= show(router, "GET", NULL, "/api/users/42/posts/7");
  bad |= show(router, "GET", "www.example.com", "/");
  bad |= show(router, "GET", "example.org", "/");
  bad |= show(router, "GET", NULL, "/nothing");

  rr_router_free(router);
  return bad;
}
