-- resty.radixtree.clib: the C declarations of include/radix_router.h and
-- the loading of libradix_router, for resty.radixtree.
--
-- The library is found as OpenResty modules find theirs: RADIX_ROUTER_LIB
-- (a full path) first, then `libradix_router.so` in every directory of
-- package.cpath; when none exists the error lists every path tried.

local ffi = require("ffi")

local concat = table.concat

-- Kept in step with include/radix_router.h; tests/lua.rs checks every
-- declaration below against the header.
local CDEF = [[
enum rr_result {
  RR_OK = 0,
  RR_NO_MATCH = 1,
  RR_NULL_PARAMETER = 100,
  RR_INVALID_UTF8 = 101,
  RR_BUFFER_TOO_SMALL = 102,
  RR_INVALID_PATH = 200,
  RR_INVALID_HOST = 201,
  RR_INVALID_METHOD = 202,
  RR_INVALID_REMOTE_ADDR = 203,
  RR_INVALID_VARS = 204,
  RR_INVALID_ID = 205,
  RR_DUPLICATE_ID = 210,
  RR_ROUTE_NOT_FOUND = 211,
  RR_ROUTER_FULL = 212,
  RR_PANIC = 900,
  RR_UNKNOWN = 999
};
typedef uint32_t rr_result;

typedef enum rr_host_kind {
  RR_HOST_UNRESTRICTED = 0,
  RR_HOST_REQUEST = 1,
  RR_HOST_WILDCARD = 2
} rr_host_kind;

typedef struct rr_router rr_router;
typedef struct rr_route rr_route;

typedef struct rr_request {
  const uint8_t *path;
  size_t path_len;
  const uint8_t *host;
  size_t host_len;
  const uint8_t *http_host;
  size_t http_host_len;
  const uint8_t *method;
  size_t method_len;
  const uint8_t *remote_addr;
  size_t remote_addr_len;
} rr_request;

typedef struct rr_param {
  const uint8_t *name;
  size_t name_len;
  size_t start;
  size_t end;
} rr_param;

typedef struct rr_match {
  uint64_t value;
  const uint8_t *id;
  size_t id_len;
  const uint8_t *pattern;
  size_t pattern_len;
  enum rr_host_kind host_kind;
  const uint8_t *host_suffix;
  size_t host_suffix_len;
  size_t param_count;
  struct rr_param params[16];
} rr_match;

typedef int (*rr_var_fn)(void *ctx, const uint8_t *name, size_t name_len, const uint8_t **value, size_t *value_len);
typedef bool (*rr_filter_fn)(void *ctx, uint64_t value);

typedef struct rr_value {
  uint32_t kind;
  const uint8_t *text;
  size_t text_len;
  double number;
  bool boolean;
  const struct rr_value *items;
  size_t items_len;
} rr_value;

typedef int (*rr_value_fn)(void *ctx, const uint8_t *name, size_t name_len, struct rr_value *out);

const char *rr_result_name(uint32_t result);
const char *rr_version(void);

rr_result rr_router_new(uint32_t flags, rr_router **out);
void rr_router_free(rr_router *router);

rr_result rr_route_new(const uint8_t *id, size_t id_len, uint64_t value, rr_route **out);
void rr_route_free(rr_route *route);
rr_result rr_route_add_path(rr_route *route, const uint8_t *path, size_t path_len);
rr_result rr_route_add_host(rr_route *route, const uint8_t *host, size_t host_len);
rr_result rr_route_add_method(rr_route *route, const uint8_t *method, size_t method_len);
rr_result rr_route_add_remote_addr(rr_route *route, const uint8_t *addr, size_t addr_len);
rr_result rr_route_set_vars_json(rr_route *route, const uint8_t *json, size_t json_len);
rr_result rr_route_set_priority(rr_route *route, int32_t priority);
rr_result rr_route_set_filter(rr_route *route, bool filter);
rr_result rr_route_set_no_param_match(rr_route *route, bool no_param_match);

rr_result rr_router_insert(rr_router *router, const rr_route *route);
rr_result rr_router_update(rr_router *router, const rr_route *route);
rr_result rr_router_upsert(rr_router *router, const rr_route *route);
rr_result rr_router_remove(rr_router *router, const uint8_t *id, size_t id_len);
size_t rr_router_len(const rr_router *router);

rr_result rr_router_last_error(const rr_router *router, uint8_t *buf, size_t buf_len, size_t *out_len);
rr_result rr_router_last_problem(const rr_router *router, uint8_t *buf, size_t buf_len, size_t *out_len);
rr_result rr_router_last_warnings(const rr_router *router, uint8_t *buf, size_t buf_len, size_t *out_len);

rr_result rr_router_match(const rr_router *router, const rr_request *request, rr_match *out);
rr_result rr_router_match_with(const rr_router *router, const rr_request *request, rr_var_fn vars, void *vars_ctx, rr_filter_fn filter, void *filter_ctx, rr_match *out);
rr_result rr_router_match_values(const rr_router *router, const rr_request *request, rr_value_fn vars, void *vars_ctx, rr_filter_fn filter, void *filter_ctx, rr_match *out);
]]

-- Another copy of this module (loaded under a second name) may have
-- declared the types already; ffi.cdef refuses redefinitions.
if not pcall(ffi.typeof, "rr_match") then
    ffi.cdef(CDEF)
end

local LIB_NAME = ffi.os == "OSX" and "libradix_router.dylib" or "libradix_router.so"

local function file_exists(path)
    local f = io.open(path, "rb")
    if f then
        f:close()
        return true
    end
    return false
end

-- RADIX_ROUTER_LIB (a full path) first, then every directory of
-- package.cpath, as lua-resty-radixtree does; the error lists every path tried.
local function load_library()
    local tried = {}
    local override = os.getenv("RADIX_ROUTER_LIB")
    if override and override ~= "" then
        if file_exists(override) then
            return ffi.load(override)
        end
        tried[#tried + 1] = override .. " (RADIX_ROUTER_LIB: no such file)"
    end
    for entry in package.cpath:gmatch("[^;]+") do
        local dir = entry:match("^(.*/)") or "./"
        local path = dir .. LIB_NAME
        if file_exists(path) then
            return ffi.load(path)
        end
        tried[#tried + 1] = path
    end
    tried[#tried + 1] = "tried the paths above but cannot load " .. LIB_NAME
    error(concat(tried, "\n"), 2)
end

return {
    lib = load_library(),
    CDEF = CDEF,
}
