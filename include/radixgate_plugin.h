/*
 * radixgate_plugin.h: the C ABI of radixgate's plugins (C plugin ABI 1).
 * SPDX-License-Identifier: Apache-2.0
 *
 * A C plugin is a shared library exporting one function,
 * radixgate_plugin_c_v1 (write it with RG_DECLARE_PLUGIN), that returns the
 * plugin's declaration: an rg_plugin with its name, version, priority,
 * phases, schemas and the functions the gateway calls. Build one from its
 * .c files and this header alone:
 *
 *     cc -shared -fPIC -I include -o libmy_plugin.so my_plugin.c
 *
 * The gateway loads it from its plugin directory beside the Rust plugins,
 * tells the two apart by that symbol, and checks it as it checks them.
 *
 * Conventions (those of radix_router.h)
 * - Versions and sizes. rg_plugin starts with abi_version
 *   (RG_PLUGIN_ABI_VERSION) and size (sizeof(rg_plugin) as this header
 *   declares it): the gateway refuses a plugin of another version, or whose
 *   size is smaller than the rg_plugin it knows. rg_host, the gateway's
 *   function table, starts with the same two fields: a later version of
 *   this header only appends functions to it, and RG_HOST_HAS(host, field)
 *   tells whether the running gateway has one.
 * - Results. Host functions return an rg_result: RG_OK (0), RG_NONE (1:
 *   what was asked for does not exist; not an error), 1xx the arguments,
 *   2xx the request or the phase, 3xx a plugin's own answers, 9xx failures
 *   of the gateway. Numbers never change or get reused. rg_result is 32
 *   bits wide so that any number can go to host->result_name. Out-params
 *   are written only on RG_OK (and *out_len on RG_BUFFER_TOO_SMALL).
 * - Buffers are (const uint8_t *ptr, size_t len), or an rg_bytes holding
 *   the two, and need no NUL. Names (of headers, variables, store keys,
 *   metrics), URIs, methods and usernames are required: never NULL, even
 *   when empty. Other buffers may be (NULL, 0) for empty. Text must be
 *   UTF-8 (else RG_INVALID_UTF8).
 * - Ownership: whoever allocates frees. The gateway copies what a plugin
 *   hands it (buffers, calls, replies) before the function returns. What it
 *   hands out is borrowed: views of the request until the request changes
 *   or the phase call returns, an rg_op_result for its resume call. What it
 *   copies out (store values, metadata) goes into the caller's buffer
 *   (buf, buf_len, *out_len): RG_BUFFER_TOO_SMALL writes the needed length
 *   to *out_len, and (NULL, 0) asks for it. A plugin's instance is freed by
 *   its instance_drop; a suspended phase's state by exactly one call of its
 *   resume function or its state_drop function.
 * - Failures never cross as unwinding: no host function lets a failure of
 *   the gateway reach C (it returns RG_PANIC, or 0 or nothing for functions
 *   returning those), and a plugin's functions must not unwind (a C++
 *   exception, longjmp) into the gateway.
 *
 * Threads
 * - One instance serves every request of every worker thread: its phase
 *   and resume functions may run on many threads at once, and must not
 *   block (wait for I/O or time through host->suspend_*).
 * - An rg_request is valid during the phase or resume call it is passed to,
 *   on that thread only.
 * - An rg_services is valid from the instance_new call that receives it
 *   until that instance's instance_drop returns, on any thread.
 * - A suspended phase's state may be resumed or dropped on another thread
 *   than the one that suspended it, never twice, never concurrently.
 */

#ifndef RADIXGATE_PLUGIN_H
#define RADIXGATE_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The C plugin ABI version this header declares: rg_plugin.abi_version. */
#define RG_PLUGIN_ABI_VERSION 1u

/** The symbol the gateway looks for: a C plugin's only export. */
#define RG_PLUGIN_SYMBOL "radixgate_plugin_c_v1"

/**
 * What a host function did. 0 is success; numbers are grouped by kind and
 * never change or get reused.
 */
enum rg_result_code {
  /** Success. */
  RG_OK = 0,
  /** What was asked for (a header, a variable, a key) does not exist. Not
   * an error; out-params are untouched. */
  RG_NONE = 1,
  /** A pointer argument was NULL (or a buffer was NULL with a non-zero
   * length, or longer than PTRDIFF_MAX). */
  RG_NULL_PARAMETER = 100,
  /** Text that must be UTF-8 is not. */
  RG_INVALID_UTF8 = 101,
  /** The output buffer is too small; *out_len holds the needed length. */
  RG_BUFFER_TOO_SMALL = 102,
  /** An argument is out of its range: a status outside 100..599, a header
   * name or value that is not valid HTTP, a URI not starting with "/", a
   * method that is not a token, an unknown log level. */
  RG_INVALID_ARGUMENT = 103,
  /** Not in this phase: respond outside rewrite and access, body_* outside
   * body_filter, suspend_* in body_filter. */
  RG_WRONG_PHASE = 200,
  /** The call already suspended: one host operation at a time. */
  RG_ALREADY_SUSPENDED = 201,
  /** The gateway refused a metric (another kind or labels under that
   * name, a bad name); the reason is in its log. */
  RG_METRIC_REFUSED = 202,
  /** instance_new: the plugin refuses the config (its message says why). */
  RG_INVALID_CONFIG = 300,
  /** The gateway failed (a bug); the call did nothing. */
  RG_PANIC = 900,
  /** A number this version of the gateway does not know. */
  RG_UNKNOWN = 999
};
typedef uint32_t rg_result;

/**
 * What a phase (or resume) function decided. Returned as a plain number:
 * anything else fails the request.
 */
enum rg_decision_code {
  /** Go on with the next plugin and phase. */
  RG_CONTINUE = 0,
  /** Answer the request with the reply made by host->respond (rewrite and
   * access only). */
  RG_RESPOND = 1,
  /** Fail the request: 500, logged with the plugin's name and the message
   * given to host->fail, if any. */
  RG_FAIL = 2,
  /** Wait for the host operation asked for by host->suspend_*; the
   * gateway calls its resume function with the result. */
  RG_SUSPEND = 3
};
typedef uint32_t rg_decision;

/** The phases, as bits of rg_plugin.phases. */
enum rg_phase_bit {
  /** Before any access check: rewrite the request; may answer it. */
  RG_PHASE_REWRITE = 1 << 0,
  /** Authentication, authorization, rate limits; may answer the request. */
  RG_PHASE_ACCESS = 1 << 1,
  /** After the balancer chose a node, again before each retry. */
  RG_PHASE_BEFORE_PROXY = 1 << 2,
  /** The response status and headers are known; may change them. */
  RG_PHASE_HEADER_FILTER = 1 << 3,
  /** Each chunk of the response body; may replace it. */
  RG_PHASE_BODY_FILTER = 1 << 4,
  /** After the response is handed over. */
  RG_PHASE_LOG = 1 << 5
};

/** Bits of rg_plugin.flags. */
enum rg_plugin_flag {
  /** APISIX's run_policy "prefer_route": a global rule's instance is
   * skipped for a request whose route runs the plugin too. */
  RG_PLUGIN_PREFER_ROUTE = 1 << 0
};

/** Log levels for host->log. */
enum rg_log_level {
  RG_LOG_TRACE = 0,
  RG_LOG_DEBUG = 1,
  RG_LOG_INFO = 2,
  RG_LOG_WARN = 3,
  RG_LOG_ERROR = 4
};

/** What an rg_op_result holds. */
enum rg_op_kind {
  /** A sleep ended. */
  RG_OP_DONE = 0,
  /** An HTTP response: status, headers, data (the body). */
  RG_OP_HTTP = 1,
  /** A Redis reply, RESP-encoded, in data (a Redis error reply is a
   * reply, not a failure). */
  RG_OP_REDIS = 2,
  /** The operation failed or timed out; data says why. */
  RG_OP_FAILED = 3
};

/** A byte buffer: ptr may be NULL only when len is 0. */
typedef struct rg_bytes {
  const uint8_t *ptr;
  size_t len;
} rg_bytes;

/** An rg_bytes of a string literal (without its NUL), for initializers. */
#define RG_LIT(s) { (const uint8_t *)(s), sizeof(s) - 1 }

/** A header line. */
typedef struct rg_header {
  rg_bytes name;
  rg_bytes value;
} rg_header;

/** The client's address: IPv4 as its IPv4-mapped IPv6 form. */
typedef struct rg_client_addr {
  uint8_t ip[16];
  uint16_t port;
  /** True when the client connected over IPv4. */
  bool is_v4;
} rg_client_addr;

/** An outbound HTTP request for host->suspend_http. */
typedef struct rg_http_call {
  /** The method ("GET"). Required. */
  rg_bytes method;
  /** An absolute http:// or https:// URL. Required. */
  rg_bytes url;
  /** Request header lines, in order (NULL when header_count is 0). */
  const rg_header *headers;
  size_t header_count;
  /** The request body; (NULL, 0) for none. */
  rg_bytes body;
  /** The whole exchange's budget in milliseconds (0: the gateway's default). */
  uint64_t timeout_ms;
  /** Whether an https server's certificate is verified. */
  bool verify_tls;
} rg_http_call;

/** A Redis command for host->suspend_redis, to one server or a cluster. */
typedef struct rg_redis_call {
  /** "host:port" of the server, or of the cluster's seed nodes. */
  const rg_bytes *nodes;
  size_t node_count;
  /** The command and its arguments ("INCR", "key"). */
  const rg_bytes *args;
  size_t arg_count;
  /** ACL user name and password; (NULL, 0) for none. */
  rg_bytes username;
  rg_bytes password;
  /** The command's budget, connecting included, in milliseconds (0: the
   * gateway's default). */
  uint64_t timeout_ms;
  /** The database (single server only). */
  uint32_t database;
  /** Whether nodes are seeds of a Redis Cluster. */
  bool cluster;
} rg_redis_call;

/** The result a suspended phase is resumed with; borrowed for the resume
 * call only. */
typedef struct rg_op_result {
  /** An rg_op_kind. */
  uint32_t kind;
  /** RG_OP_HTTP: the status; else 0. */
  uint16_t status;
  /** RG_OP_HTTP: the response header lines; else NULL and 0. */
  const rg_header *headers;
  size_t header_count;
  /** The HTTP body, the Redis reply, or why the operation failed. */
  rg_bytes data;
} rg_op_result;

/** The request as one phase or resume call sees it (opaque, borrowed). */
typedef struct rg_request rg_request;

/** The gateway's services for one instance (opaque, borrowed): store,
 * metadata, clock, log, metrics. */
typedef struct rg_services rg_services;

struct rg_host;

/**
 * Resumes a suspended phase with the result of its host operation; takes
 * `state` back (the plugin frees it, or hands it to another suspend_*).
 * Decides like a phase function, and may suspend again.
 */
typedef rg_decision (*rg_resume_fn)(void *instance, void *state, const struct rg_host *host,
                                    rg_request *req, const rg_op_result *result);

/** Frees a suspended phase's state that will never be resumed (the
 * request was cut off by its timeout, or ended). */
typedef void (*rg_state_drop_fn)(void *state);

/**
 * Builds an instance from one config: `config` is the config's JSON text
 * (UTF-8, compact: no whitespace between tokens, no NUL; already checked
 * against route_schema or consumer_schema, `_meta` removed).
 * Called when an object is loaded, never per request.
 *
 * Returns RG_OK and writes *instance (which may stay NULL for a plugin
 * without state), or refuses the config with any other number (usually
 * RG_INVALID_CONFIG), having written its reason (naming the field, as
 * "header: \"x y\" is not an HTTP header name") into (error, error_cap)
 * and its length into *error_len; the gateway then refuses the object
 * with that message. `services` stays valid until this instance's
 * instance_drop returns: keep it for the store, the log and metrics (after
 * a refusal, keep nothing).
 */
typedef rg_result (*rg_instance_new_fn)(const struct rg_host *host, const rg_services *services,
                                        const uint8_t *config, size_t config_len, void **instance,
                                        uint8_t *error, size_t error_cap, size_t *error_len);

/** Frees an instance once no phase runs on it and none will (and no
 * suspended phase of it waits). NULL in rg_plugin: nothing to free. */
typedef void (*rg_instance_drop_fn)(void *instance);

/**
 * One phase of one request: read and change the request through `host`
 * and `req`, then decide. RG_RESPOND after host->respond, RG_FAIL
 * (after host->fail for a message), RG_SUSPEND after host->suspend_*.
 */
typedef rg_decision (*rg_phase_fn)(void *instance, const struct rg_host *host, rg_request *req);

/**
 * A C plugin's declaration, returned by radixgate_plugin_c_v1. Static: the
 * gateway reads it once, at load, and keeps no pointer into it but the
 * strings and functions, which must live as long as the library.
 */
typedef struct rg_plugin {
  /** RG_PLUGIN_ABI_VERSION. */
  uint32_t abi_version;
  /** sizeof(rg_plugin). */
  uint32_t size;
  /** The name configs use ("c-example"); unique among loaded plugins. */
  rg_bytes name;
  /** The plugin's own version, for logs. */
  rg_bytes version;
  /** Run order within a phase: higher first (APISIX's numbers). */
  int32_t priority;
  /** The phases it implements (RG_PHASE_* bits); each needs its function. */
  uint32_t phases;
  /** RG_PLUGIN_* bits. */
  uint32_t flags;
  /** JSON Schema (draft 7, JSON text) of its config on a route, service,
   * plugin_config or global rule. Required. */
  rg_bytes route_schema;
  /** JSON Schema of its consumer config (auth plugins); (NULL, 0): none. */
  rg_bytes consumer_schema;
  /** JSON Schema of its plugin_metadata; (NULL, 0): none. */
  rg_bytes metadata_schema;
  /** Builds instances. Required. */
  rg_instance_new_fn instance_new;
  /** Frees instances; NULL when there is nothing to free. */
  rg_instance_drop_fn instance_drop;
  /** One function per declared phase (NULL for the others). body_filter
   * reads and replaces the chunk with host->body_chunk and body_replace. */
  rg_phase_fn rewrite;
  rg_phase_fn access;
  rg_phase_fn before_proxy;
  rg_phase_fn header_filter;
  rg_phase_fn body_filter;
  rg_phase_fn log;
} rg_plugin;

/**
 * The gateway's functions, passed to every plugin call; static, valid for
 * the life of the process. Request functions take the call's rg_request;
 * views they write (rg_bytes) borrow the request until it changes or the
 * call returns. Services functions take the instance's rg_services.
 */
typedef struct rg_host {
  /** RG_PLUGIN_ABI_VERSION. */
  uint32_t abi_version;
  /** sizeof(rg_host) as the gateway was built: see RG_HOST_HAS. */
  uint32_t size;

  /** The name of a result ("RG_OK", ...; "RG_UNKNOWN" for a number it does
   * not know): static, NUL-terminated, never NULL. */
  const char *(*result_name)(rg_result result);

  /* The request. */
  /** The method ("GET"). */
  rg_result (*request_method)(const rg_request *req, rg_bytes *out);
  /** The path, without the query. */
  rg_result (*request_path)(const rg_request *req, rg_bytes *out);
  /** The raw query string without "?" (empty when none). */
  rg_result (*request_query)(const rg_request *req, rg_bytes *out);
  /** The first raw (not percent-decoded) value of query arg `name`;
   * RG_NONE when absent. */
  rg_result (*request_query_arg)(const rg_request *req, const uint8_t *name, size_t name_len,
                                 rg_bytes *out);
  /** The first value of request header `name` (any case); RG_NONE when
   * absent. */
  rg_result (*request_header)(const rg_request *req, const uint8_t *name, size_t name_len,
                              rg_bytes *out);
  /** The number of request header lines (0 for NULL). */
  size_t (*request_header_count)(const rg_request *req);
  /** Request header line `index`, in order; RG_NONE past the last. */
  rg_result (*request_header_at)(const rg_request *req, size_t index, rg_header *out);
  /** Appends a request header line. */
  rg_result (*request_header_add)(rg_request *req, const uint8_t *name, size_t name_len,
                                  const uint8_t *value, size_t value_len);
  /** Replaces every value of a request header with one. */
  rg_result (*request_header_set)(rg_request *req, const uint8_t *name, size_t name_len,
                                  const uint8_t *value, size_t value_len);
  /** Removes a request header. */
  rg_result (*request_header_remove)(rg_request *req, const uint8_t *name, size_t name_len);
  /** Replaces the path and query ("/a/b?x=1") sent to the node. */
  rg_result (*request_set_uri)(rg_request *req, const uint8_t *uri, size_t uri_len);
  /** Replaces the method sent to the node. */
  rg_result (*request_set_method)(rg_request *req, const uint8_t *method, size_t method_len);
  /** The client's address. */
  rg_result (*request_client_addr)(const rg_request *req, rg_client_addr *out);
  /** The matched route's id (empty when no route matched). */
  rg_result (*request_route_id)(const rg_request *req, rg_bytes *out);
  /** Route path parameter `name`; RG_NONE when absent. */
  rg_result (*request_route_param)(const rg_request *req, const uint8_t *name, size_t name_len,
                                   rg_bytes *out);
  /** The consumer's username, once an auth plugin set it; else RG_NONE. */
  rg_result (*request_consumer)(const rg_request *req, rg_bytes *out);
  /** Sets the consumer (auth plugins). */
  rg_result (*request_set_consumer)(rg_request *req, const uint8_t *username,
                                    size_t username_len);
  /** Per-request variable `name`, shared between plugins; RG_NONE when
   * unset. */
  rg_result (*request_var)(const rg_request *req, const uint8_t *name, size_t name_len,
                           rg_bytes *out);
  /** Sets per-request variable `name`. `remote_addr` (an IP, or ip:port)
   * instead replaces the client's address, as real-ip does. */
  rg_result (*request_set_var)(rg_request *req, const uint8_t *name, size_t name_len,
                               const uint8_t *value, size_t value_len);

  /* The response (header_filter, body_filter, log). */
  /** The response status (0 before a response exists, or for NULL). */
  uint16_t (*response_status)(const rg_request *req);
  /** Replaces the status sent to the client (100..599). */
  rg_result (*response_set_status)(rg_request *req, uint16_t status);
  /** The first value of response header `name`; RG_NONE when absent. */
  rg_result (*response_header)(const rg_request *req, const uint8_t *name, size_t name_len,
                               rg_bytes *out);
  /** Appends a response header line. */
  rg_result (*response_header_add)(rg_request *req, const uint8_t *name, size_t name_len,
                                   const uint8_t *value, size_t value_len);
  /** Replaces every value of a response header with one. */
  rg_result (*response_header_set)(rg_request *req, const uint8_t *name, size_t name_len,
                                   const uint8_t *value, size_t value_len);
  /** Removes a response header. */
  rg_result (*response_header_remove)(rg_request *req, const uint8_t *name, size_t name_len);

  /* body_filter. */
  /** The chunk as the previous plugin (or this call) left it, and whether
   * it is the last. RG_WRONG_PHASE outside body_filter. */
  rg_result (*body_chunk)(const rg_request *req, rg_bytes *out, bool *last);
  /** Replaces the chunk (later plugins see the copy). */
  rg_result (*body_replace)(rg_request *req, const uint8_t *data, size_t len);

  /* Decisions. */
  /** Makes the reply RG_RESPOND answers with (rewrite and access only);
   * replaces an earlier one's status and body. */
  rg_result (*respond)(rg_request *req, uint16_t status, const uint8_t *body, size_t body_len);
  /** Adds a header line to that reply (before or after respond). */
  rg_result (*respond_header)(rg_request *req, const uint8_t *name, size_t name_len,
                              const uint8_t *value, size_t value_len);
  /** The message RG_FAIL is logged with. */
  rg_result (*fail)(rg_request *req, const uint8_t *message, size_t message_len);
  /**
   * Asks for a host operation; the phase then returns RG_SUSPEND. The
   * gateway runs it without holding a worker and calls `resume` with its
   * result, on the same request. On RG_OK the gateway owns `state` until it
   * hands it back to `resume` or frees it with `state_drop` (NULL: nothing
   * to free); on any other result the plugin keeps it. RG_WRONG_PHASE in
   * body_filter; RG_ALREADY_SUSPENDED when this call asked already;
   * RG_NULL_PARAMETER without `resume`. A phase still waiting after the
   * route's read timeout is dropped (its state_drop runs) and the request
   * gets 500.
   */
  rg_result (*suspend_sleep)(rg_request *req, uint64_t ms, rg_resume_fn resume, void *state,
                             rg_state_drop_fn state_drop);
  /** As suspend_sleep, for an HTTP request (copied before it returns). */
  rg_result (*suspend_http)(rg_request *req, const rg_http_call *call, rg_resume_fn resume,
                            void *state, rg_state_drop_fn state_drop);
  /** As suspend_sleep, for a Redis command (copied before it returns). */
  rg_result (*suspend_redis)(rg_request *req, const rg_redis_call *call, rg_resume_fn resume,
                             void *state, rg_state_drop_fn state_drop);

  /* Services: quick, never blocking on I/O, callable from any thread. */
  /** Adds `delta` to counter `key` atomically; a missing or expired counter
   * starts from 0 and expires ttl_ms from now (0: never). Writes the new
   * value and its expiry (unix ms; 0: never); either out may be NULL. */
  rg_result (*store_incr)(const rg_services *s, const uint8_t *key, size_t key_len, int64_t delta,
                          uint64_t ttl_ms, int64_t *value, uint64_t *expires_at_ms);
  /** Copies the value under `key` (a counter as its decimal text);
   * RG_NONE when missing or expired. */
  rg_result (*store_get)(const rg_services *s, const uint8_t *key, size_t key_len, uint8_t *buf,
                         size_t buf_len, size_t *out_len);
  /** Stores `value` under `key`, expiring ttl_ms from now (0: never). */
  rg_result (*store_set)(const rg_services *s, const uint8_t *key, size_t key_len,
                         const uint8_t *value, size_t value_len, uint64_t ttl_ms);
  /** Copies plugin `plugin`'s plugin_metadata JSON; RG_NONE when none. */
  rg_result (*plugin_metadata)(const rg_services *s, const uint8_t *plugin, size_t plugin_len,
                               uint8_t *buf, size_t buf_len, size_t *out_len);
  /** Wall-clock time, unix milliseconds (0 for NULL). */
  uint64_t (*now_unix_ms)(const rg_services *s);
  /** Monotonic time in nanoseconds since an arbitrary start (0 for NULL). */
  uint64_t (*monotonic_ns)(const rg_services *s);
  /** Writes a log line at `level` (an rg_log_level), with the plugin's name. */
  rg_result (*log)(const rg_services *s, uint32_t level, const uint8_t *message,
                   size_t message_len);
  /** Registers (or finds) counter `name` with these label names; writes
   * its id. */
  rg_result (*counter_register)(const rg_services *s, const uint8_t *name, size_t name_len,
                                const uint8_t *help, size_t help_len, const rg_bytes *labels,
                                size_t label_count, uint32_t *id);
  /** Registers (or finds) histogram `name` with these labels and bucket
   * bounds; writes its id. */
  rg_result (*histogram_register)(const rg_services *s, const uint8_t *name, size_t name_len,
                                  const uint8_t *help, size_t help_len, const rg_bytes *labels,
                                  size_t label_count, const double *buckets, size_t bucket_count,
                                  uint32_t *id);
  /** Adds `value` to a counter's series for these label values. */
  rg_result (*counter_add)(const rg_services *s, uint32_t id, const rg_bytes *label_values,
                           size_t label_count, uint64_t value);
  /** Records `value` in a histogram's series for these label values. */
  rg_result (*histogram_observe)(const rg_services *s, uint32_t id, const rg_bytes *label_values,
                                 size_t label_count, double value);
} rg_host;

/** Whether the running gateway's rg_host has function `field`. */
#define RG_HOST_HAS(host, field) \
  ((host)->size >= offsetof(rg_host, field) + sizeof((host)->field) && (host)->field != NULL)

#ifdef __cplusplus
#define RG_EXTERN_C extern "C"
#else
#define RG_EXTERN_C
#endif

/**
 * Defines radixgate_plugin_c_v1, exported, returning a pointer to the
 * static rg_plugin `declaration`. Use it once per library.
 */
#define RG_DECLARE_PLUGIN(declaration)                                                   \
  RG_EXTERN_C __attribute__((visibility("default"))) const rg_plugin *radixgate_plugin_c_v1( \
      void);                                                                             \
  RG_EXTERN_C __attribute__((visibility("default"))) const rg_plugin *radixgate_plugin_c_v1( \
      void) {                                                                            \
    return &(declaration);                                                               \
  }

#ifdef __cplusplus
}  // extern "C"
#endif

#endif /* RADIXGATE_PLUGIN_H */
