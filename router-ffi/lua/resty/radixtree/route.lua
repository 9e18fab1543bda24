-- resty.radixtree's route tables checked and compiled into route builders
-- of the C library (libradix_router), with lua-resty-radixtree's error
-- messages. Used by resty/radixtree.lua.

local ffi = require("ffi")
local clib = require("resty.radixtree.clib")
local json_encode = require("resty.radixtree.json").encode

local ffi_string = ffi.string
local ffi_new = ffi.new
local ffi_gc = ffi.gc
local type = type
local ipairs = ipairs
local str_find = string.find
local str_byte = string.byte
local str_gmatch = string.gmatch
local floor = math.floor

local SLASH = str_byte("/")
local STAR = str_byte("*")
local COLON = str_byte(":")

local RR_OK = 0

local lib = clib.lib

local _M = {}

-- The name of a result code of the C library.
local function result_name(rc)
    return ffi_string(lib.rr_result_name(rc))
end
_M.result_name = result_name

local route_out = ffi_new("rr_route *[1]")

local function list_of(v)
    if type(v) == "string" then
        return { v }
    end
    return v
end

-- Adds every string of `list` (a string or a list) with `add`.
local function add_all(builder, add, list, field)
    if list == nil then
        return true
    end
    list = list_of(list)
    if type(list) ~= "table" then
        return nil, "invalid argument " .. field
    end
    for _, v in ipairs(list) do
        if type(v) ~= "string" then
            return nil, "invalid argument " .. field
        end
        local rc = add(builder, v, #v)
        if rc ~= RR_OK then
            return nil, "invalid argument " .. field .. ": " .. result_name(rc)
        end
    end
    return true
end

local function has_port_host(hosts)
    hosts = list_of(hosts)
    if type(hosts) ~= "table" then
        return false
    end
    for _, h in ipairs(hosts) do
        if type(h) == "string" and str_find(h, ":", 1, true) then
            return true
        end
    end
    return false
end

-- True for a prefix pattern whose `*` ends a segment it does not fill
-- (`/aa*`), where lua-resty-radixtree reports no `:ext`: a pattern with no
-- param and no other `*` segment (the rule of the router's Pattern::parse).
local function hides_ext(p, npm)
    local n = #p
    if n < 2 or str_byte(p, n) ~= STAR or str_byte(p, n - 1) == SLASH then
        return false
    end
    for seg in str_gmatch(p, "[^/]+") do
        local first = str_byte(seg)
        if first == STAR then
            return false
        end
        if not npm and (first == COLON or (str_find(seg, "^{.*:.*}$"))) then
            return false
        end
    end
    return true
end

-- Checks `route` and compiles it into a route builder (freed by the caller,
-- or by the GC if an error escapes); `npm` is its no_param_match. Returns
-- builder, record or nil, error.
local function build_route(route, id, value, npm)
    if type(route) ~= "table" then
        return nil, "invalid argument route"
    end
    local paths = list_of(route.paths)
    if type(paths) ~= "table" then
        return nil, "invalid argument path"
    end
    for _, p in ipairs(paths) do
        if type(p) ~= "string" then
            return nil, "invalid argument path"
        end
    end
    if route.metadata == nil and route.handler == nil then
        return nil, "missing argument metadata or handler"
    end
    local vars_json
    if route.vars ~= nil then
        if type(route.vars) ~= "table" then
            return nil, "invalid argument vars"
        end
        local err
        vars_json, err = json_encode(route.vars)
        if not vars_json then
            return nil, "failed to handle expression: " .. err
        end
    end
    local priority = route.priority or 0
    if type(priority) ~= "number" or priority ~= floor(priority)
        or priority < -2147483648 or priority > 2147483647 then
        return nil, "invalid argument priority"
    end
    local filter_fun = route.filter_fun
    if filter_fun ~= nil and type(filter_fun) ~= "function" then
        return nil, "invalid argument filter_fun"
    end

    local rc = lib.rr_route_new(id, #id, value, route_out)
    if rc ~= RR_OK then
        return nil, "invalid route id " .. id .. ": " .. result_name(rc)
    end
    local b = ffi_gc(route_out[0], lib.rr_route_free)
    local ok, err = add_all(b, lib.rr_route_add_path, paths, "path")
    if ok then ok, err = add_all(b, lib.rr_route_add_host, route.hosts, "hosts") end
    if ok then ok, err = add_all(b, lib.rr_route_add_method, route.methods, "methods") end
    if ok then
        ok, err = add_all(b, lib.rr_route_add_remote_addr, route.remote_addrs, "remote_addrs")
    end
    if ok and vars_json then
        rc = lib.rr_route_set_vars_json(b, vars_json, #vars_json)
        if rc ~= RR_OK then
            ok, err = nil, "failed to handle expression: " .. result_name(rc)
        end
    end
    if ok then
        rc = lib.rr_route_set_priority(b, priority)
        if rc == RR_OK and filter_fun then
            rc = lib.rr_route_set_filter(b, true)
        end
        if rc == RR_OK then
            rc = lib.rr_route_set_no_param_match(b, npm and true or false)
        end
        if rc ~= RR_OK then
            ok, err = nil, "invalid route: " .. result_name(rc)
        end
    end
    if not ok then
        ffi_gc(b, nil)
        lib.rr_route_free(b)
        return nil, err
    end
    local hide_ext
    for _, p in ipairs(paths) do
        if hides_ext(p, npm) then
            hide_ext = hide_ext or {}
            hide_ext[p] = true
        end
    end
    local record = {
        metadata = route.metadata,
        handler = route.handler,
        filter_fun = filter_fun,
        cb = (vars_json ~= nil or filter_fun ~= nil) and 1 or 0,
        port_host = has_port_host(route.hosts) and 1 or 0,
        hide_ext = hide_ext,
    }
    return b, record
end

local function release_builder(b)
    ffi_gc(b, nil)
    lib.rr_route_free(b)
end

_M.build = build_route
_M.release = release_builder

return _M
