-- resty.radixtree on libradix_router: a drop-in for api7/lua-resty-radixtree.
--
-- The routes live in the Rust router (include/radix_router.h). Lua keeps
-- what C cannot hold (metadata, handler, filter_fun) in `self.records`,
-- indexed by the integer the router returns as the match's value.
--
--   local radix = require("resty.radixtree")
--   local rx = radix.new({
--       {paths = {"/user/:name"}, hosts = {"*.foo.com"}, metadata = "user"},
--   })
--   local matched = {}
--   rx:match("/user/ann", {host = "a.foo.com", matched = matched})
--   --> "user"; matched = {_path = "/user/:name", _host = "*.foo.com", name = "ann"}
--
-- Matching a router without `vars` and `filter_fun` routes makes no
-- callback and allocates nothing unless `opts.matched` is given, so it
-- compiles into traces. A router with such routes is matched through
-- `match_with_callbacks`, which is kept out of the JIT (`jit.off`): LuaJIT
-- must not run a C function that calls back into Lua inside a trace.

local ffi = require("ffi")
local jit = require("jit")
local clib = require("resty.radixtree.clib")
local json_encode = require("resty.radixtree.json").encode

local ffi_string = ffi.string
local ffi_cast = ffi.cast
local ffi_new = ffi.new
local ffi_gc = ffi.gc
local type = type
local tostring = tostring
local tonumber = tonumber
local error = error
local pcall = pcall
local select = select
local unpack = unpack
local pairs = pairs
local ipairs = ipairs
local setmetatable = setmetatable
local str_lower = string.lower
local str_sub = string.sub
local str_find = string.find
local str_byte = string.byte
local SLASH = str_byte("/")
local floor = math.floor

-- OpenResty's LuaJIT has table.clear (compiled); plain LuaJIT may not.
local ok_clear, clear_tab = pcall(require, "table.clear")
if not ok_clear then
    clear_tab = function(t)
        for k in pairs(t) do
            t[k] = nil
        end
    end
end

-- Result codes used below (enum rr_result of clib.lua, as Lua numbers).
local RR_OK = 0
local RR_NO_MATCH = 1
local RR_BUFFER_TOO_SMALL = 102
local RR_INVALID_REMOTE_ADDR = 203
local RR_INVALID_VARS = 204
local RR_HOST_REQUEST = 1
local RR_HOST_WILDCARD = 2
local RR_OPT_NO_PARAM_MATCH = 1

local lib = clib.lib

local ngx = ngx -- nil outside nginx

local _M = { _VERSION = 1.7, _lib = lib, _json_encode = json_encode }

local mt = { __index = _M }

local empty_table = setmetatable({}, {
    __newindex = function() error("empty_table can not be changed", 2) end,
})

-------------------------------------------------------------------------------
-- Errors
-------------------------------------------------------------------------------

local err_len = ffi_new("size_t[1]")

local function router_text(fn, handle)
    local buf = ffi_new("uint8_t[?]", 256)
    local rc = fn(handle, buf, 256, err_len)
    if rc == RR_BUFFER_TOO_SMALL then
        local n = tonumber(err_len[0])
        buf = ffi_new("uint8_t[?]", n)
        rc = fn(handle, buf, n, err_len)
    end
    if rc ~= RR_OK then
        return nil
    end
    return ffi_string(buf, err_len[0])
end

local route_builder = require("resty.radixtree.route")
local result_name = route_builder.result_name
local build_route = route_builder.build
local release_builder = route_builder.release

-- The message for a refused router change, worded as lua-resty-radixtree's.
local function change_error(self, rc)
    if rc == RR_INVALID_VARS then
        return "failed to handle expression: "
            .. (router_text(lib.rr_router_last_problem, self.handle) or result_name(rc))
    end
    if rc == RR_INVALID_REMOTE_ADDR then
        return router_text(lib.rr_router_last_problem, self.handle)
            or ("invalid IP address: " .. result_name(rc))
    end
    return router_text(lib.rr_router_last_error, self.handle) or result_name(rc)
end

-- The router's id of a route table: its own `id`, or the one generated
-- when it was added without one.
local function id_of(self, route)
    if route.id ~= nil then
        return tostring(route.id)
    end
    return self.auto_ids[route]
end

local function new_id(self, route)
    if route.id ~= nil then
        return tostring(route.id)
    end
    local id
    repeat
        self.auto_seq = self.auto_seq + 1
        id = "#auto-" .. self.auto_seq
    until self.ids[id] == nil
    return id
end

local function alloc_index(self)
    local free = self.free_idx
    local n = #free
    if n > 0 then
        local i = free[n]
        free[n] = nil
        return i
    end
    self.next_idx = self.next_idx + 1
    return self.next_idx
end

local function account(self, record, sign)
    self.n_cb = self.n_cb + sign * record.cb
    self.n_port_hosts = self.n_port_hosts + sign * record.port_host
end

-- A change while a filter_fun runs would pull the routes from under the
-- match in progress.
local function check_usable(self)
    if self.handle == nil then
        return nil, "router is freed"
    end
    if self.busy > 0 then
        return nil, "router is being matched: change it after match/dispatch returns"
    end
    return true
end

local function insert_route(self, route)
    local usable, why = check_usable(self)
    if not usable then
        return nil, why
    end
    if type(route) ~= "table" then
        return nil, "invalid argument route"
    end
    local id = new_id(self, route)
    local idx = alloc_index(self)
    local b, record = build_route(route, id, idx)
    if not b then
        self.free_idx[#self.free_idx + 1] = idx
        return nil, record
    end
    local rc = lib.rr_router_insert(self.handle, b)
    release_builder(b)
    if rc ~= RR_OK then
        self.free_idx[#self.free_idx + 1] = idx
        return nil, change_error(self, rc)
    end
    self.records[idx] = record
    self.ids[id] = idx
    if route.id == nil then
        self.auto_ids[route] = id
    end
    account(self, record, 1)
    return true
end

local function remove_by_id(self, id)
    local rc = lib.rr_router_remove(self.handle, id, #id)
    if rc ~= RR_OK then
        return nil, change_error(self, rc)
    end
    local idx = self.ids[id]
    if idx then
        account(self, self.records[idx], -1)
        self.records[idx] = nil
        self.ids[id] = nil
        self.free_idx[#self.free_idx + 1] = idx
    end
    return true
end

-------------------------------------------------------------------------------
-- Public API: building and changing
-------------------------------------------------------------------------------

local router_out = ffi_new("rr_router *[1]")

-- new(routes, opts): opts.no_param_match makes `:` ordinary text in paths.
-- A refused route raises an error (the router is freed).
function _M.new(routes, opts)
    if not routes then
        return nil, "missing argument route"
    end
    opts = opts or empty_table
    local flags = opts.no_param_match and RR_OPT_NO_PARAM_MATCH or 0
    local rc = lib.rr_router_new(flags, router_out)
    if rc ~= RR_OK then
        error("failed to create the router: " .. result_name(rc), 2)
    end
    local self = setmetatable({
        handle = ffi_gc(router_out[0], lib.rr_router_free),
        req = ffi_new("rr_request"),
        m = ffi_new("rr_match"),
        records = {},    -- value index -> {metadata, handler, filter_fun, cb, port_host}
        ids = {},        -- router id -> value index
        auto_ids = setmetatable({}, { __mode = "k" }), -- route table -> generated id
        auto_seq = 0,
        next_idx = 0,
        free_idx = {},
        n_cb = 0,        -- routes with vars or filter_fun
        n_port_hosts = 0, -- routes with a host:port host
        no_param_match = opts.no_param_match and true or false,
        busy = 0,        -- match_with_callbacks calls in progress
    }, mt)
    for i = 1, #routes do
        local ok, err = insert_route(self, routes[i])
        if not ok then
            self:free()
            error(err, 2)
        end
    end
    return self
end

-- Frees the router now (the GC would otherwise). Using it afterwards is an error.
function _M.free(self)
    local h = self.handle
    if h ~= nil then
        if self.busy > 0 then
            error("router is being matched: free it after match/dispatch returns", 2)
        end
        self.handle = nil
        ffi_gc(h, nil)
        lib.rr_router_free(h)
    end
end

-- add_route(route): nil on success; a refused route raises an error.
function _M.add_route(self, route, opts)
    if route == nil then
        return "illegal route"
    end
    local ok, err = insert_route(self, route)
    if not ok then
        error(err, 2)
    end
    return nil
end

-- update_route(pre_route, route): replaces the route added as `pre_route`
-- (found by its id, or by the table itself when it had none). nil on
-- success; a refused route raises an error and keeps the old one; an
-- unknown `pre_route` is returned as an error message.
function _M.update_route(self, pre_route, route, opts)
    if pre_route == nil or route == nil then
        return "illegal argument."
    end
    local usable, why = check_usable(self)
    if not usable then
        error(why, 2)
    end
    if type(pre_route) ~= "table" or type(route) ~= "table" then
        error("invalid argument route", 2)
    end
    local old_id = id_of(self, pre_route)
    local old_idx = old_id and self.ids[old_id]
    if not old_idx then
        return old_id and ("no route with id " .. old_id)
            or "no such route (it has no id and is not a table this router added)"
    end
    local id = route.id ~= nil and tostring(route.id) or old_id
    if id ~= old_id then
        -- A new id: add the new route first, so a refusal changes nothing.
        local ok, err = insert_route(self, route)
        if not ok then
            error(err, 2)
        end
        ok, err = remove_by_id(self, old_id)
        if not ok then
            return err
        end
        if pre_route.id == nil then
            self.auto_ids[pre_route] = nil
        end
        return nil
    end
    local b, record = build_route(route, id, old_idx)
    if not b then
        error(record, 2)
    end
    local rc = lib.rr_router_update(self.handle, b)
    release_builder(b)
    if rc ~= RR_OK then
        error(change_error(self, rc), 2)
    end
    account(self, self.records[old_idx], -1)
    self.records[old_idx] = record
    account(self, record, 1)
    if route.id == nil then
        self.auto_ids[route] = id
    end
    if pre_route ~= route and pre_route.id == nil then
        self.auto_ids[pre_route] = nil
    end
    return nil
end

-- delete_route(route): nil on success, else an error message.
function _M.delete_route(self, route, opts)
    if route == nil then
        return "illegal route"
    end
    local usable, why = check_usable(self)
    if not usable then
        error(why, 2)
    end
    if type(route) ~= "table" then
        error("invalid argument route", 2)
    end
    local id = id_of(self, route)
    if not id then
        return "no such route (it has no id and is not a table this router added)"
    end
    local ok, err = remove_by_id(self, id)
    if not ok then
        return err
    end
    if route.id == nil then
        self.auto_ids[route] = nil
    end
    return nil
end

-------------------------------------------------------------------------------
-- Matching
-------------------------------------------------------------------------------

-- Callback state: one frame per match_with_callbacks call in progress
-- (a filter_fun may match again, on this router or another).
local frames = {}
local depth = 0

local function index(t, k)
    return t[k]
end

local function var_cb(_, name, name_len, value, value_len)
    local f = frames[depth]
    if f == nil or f.err ~= nil then
        return 0
    end
    local vars = f.vars
    if vars == nil then
        return 0
    end
    local ok, v = pcall(index, vars, ffi_string(name, name_len))
    if not ok then
        f.err = v
        return 0
    end
    local tv = type(v)
    if tv == "number" or tv == "boolean" then
        v = tostring(v)
    elseif tv ~= "string" then
        -- nil, ngx.null, or a table (a list for `has`: the C ABI passes text only)
        return 0
    end
    local n = f.n_anchors + 1
    f.n_anchors = n
    f.anchors[n] = v
    value[0] = ffi_cast("const uint8_t *", v)
    value_len[0] = #v
    return 1
end

local function filter_cb(_, value)
    local f = frames[depth]
    if f == nil or f.err ~= nil then
        return false
    end
    local record = f.records[tonumber(value)]
    local fn = record and record.filter_fun
    if not fn then
        return true
    end
    local ok, res
    if f.nargs > 0 then
        ok, res = pcall(fn, f.vars, f.opts, unpack(f.args, 1, f.nargs))
    else
        ok, res = pcall(fn, f.vars, f.opts)
    end
    if not ok then
        f.err = res
        return false
    end
    return res and true or false
end

-- Made once per module: each ffi.cast callback is a permanent slot.
local var_cb_c = ffi_cast("rr_var_fn", var_cb)
local filter_cb_c = ffi_cast("rr_filter_fn", filter_cb)

-- Points `req` at the request's bytes. The strings stay referenced by
-- `path` and `opts` (and the frame, for http_host) while C reads them.
local function fill_request(req, path, opts)
    req.path = path
    req.path_len = #path
    local host = opts.host
    if host then
        req.host = host
        req.host_len = #host
    else
        req.host = nil
        req.host_len = 0
    end
    local method = opts.method
    if method then
        req.method = method
        req.method_len = #method
    else
        req.method = nil
        req.method_len = 0
    end
    local addr = opts.remote_addr
    if addr then
        req.remote_addr = addr
        req.remote_addr_len = #addr
    else
        req.remote_addr = nil
        req.remote_addr_len = 0
    end
    req.http_host = nil
    req.http_host_len = 0
end

-- Matching with the var and filter callbacks. Never compiled (jit.off).
-- Each nesting depth has its own rr_request and rr_match, so a filter_fun
-- that matches again (on any router) leaves the outer call's alone.
-- Returns the result code and the rr_match written.
local function match_with_callbacks(self, path, opts, nargs, ...)
    depth = depth + 1
    local f = frames[depth]
    if not f then
        f = {
            anchors = {},
            args = {},
            req = ffi_new("rr_request"),
            m = ffi_new("rr_match"),
        }
        frames[depth] = f
    end
    local req, m = f.req, f.m
    fill_request(req, path, opts)
    local vars = opts.vars
    if vars == nil and ngx then
        vars = ngx.var
    end
    f.vars = vars
    f.opts = opts
    f.path = path
    f.records = self.records
    f.err = nil
    f.n_anchors = 0
    f.nargs = nargs
    local args = f.args
    for i = 1, nargs do
        args[i] = select(i, ...)
    end
    if self.n_port_hosts > 0 and vars ~= nil then
        local ok, hh = pcall(index, vars, "http_host")
        if ok and type(hh) == "string" then
            f.http_host = hh
            req.http_host = hh
            req.http_host_len = #hh
        end
    end

    self.busy = self.busy + 1
    local rc = lib.rr_router_match_with(self.handle, req, var_cb_c, nil, filter_cb_c, nil, m)
    self.busy = self.busy - 1

    local err = f.err
    local anchors = f.anchors
    for i = 1, f.n_anchors do
        anchors[i] = nil
    end
    for i = 1, nargs do
        args[i] = nil
    end
    f.vars, f.opts, f.path, f.records, f.err, f.http_host = nil, nil, nil, nil, nil, nil
    depth = depth - 1
    if err ~= nil then
        error(err, 0)
    end
    return rc, m
end
jit.off(match_with_callbacks)

local function fill_matched(m, path, opts, matched)
    clear_tab(matched)
    local pattern = ffi_string(m.pattern, m.pattern_len)
    matched._path = pattern
    matched._method = opts.method
    local kind = m.host_kind
    if kind == RR_HOST_REQUEST then
        matched._host = opts.host and str_lower(opts.host)
    elseif kind == RR_HOST_WILDCARD then
        matched._host = "*" .. ffi_string(m.host_suffix, m.host_suffix_len)
    end
    for i = 0, tonumber(m.param_count) - 1 do
        local p = m.params[i]
        local name = ffi_string(p.name, p.name_len)
        -- Like lua-resty-radixtree, only a bare `*` segment reports `:ext`
        -- (`/aa*` reports none).
        if name ~= ":ext" or #pattern == 1 or str_byte(pattern, -2) == SLASH then
            matched[name] = str_sub(path, tonumber(p.start) + 1, tonumber(p["end"]))
        end
    end
end

-- The record of the route `path` and `opts` match, or nil.
local function find(self, path, opts, nargs, ...)
    local h = self.handle
    if h == nil then
        error("router is freed", 3)
    end
    local rc, m
    if self.n_cb == 0 then
        -- No callbacks: compiled, allocation-free, one rr_request/rr_match per router.
        local req = self.req
        m = self.m
        fill_request(req, path, opts)
        local hh
        if self.n_port_hosts > 0 then
            local vars = opts.vars
            if vars == nil and ngx then
                vars = ngx.var
            end
            hh = vars and vars.http_host
            if type(hh) == "string" then
                req.http_host = hh
                req.http_host_len = #hh
            end
        end
        rc = lib.rr_router_match(h, req, m)
    else
        rc, m = match_with_callbacks(self, path, opts, nargs, ...)
    end
    local matched = opts.matched
    if rc ~= RR_OK then
        if matched then
            clear_tab(matched)
        end
        if rc == RR_NO_MATCH then
            return nil
        end
        return nil, result_name(rc)
    end
    local record = self.records[tonumber(m.value)]
    if matched then
        fill_matched(m, path, opts, matched)
    end
    return record
end

-- match(path, opts): the matched route's metadata, or nil.
function _M.match(self, path, opts)
    if type(path) ~= "string" then
        error("invalid argument path", 2)
    end
    local record, err = find(self, path, opts or empty_table, 0)
    if not record then
        return nil, err
    end
    return record.metadata
end

-- dispatch(path, opts, ...): calls the matched route's handler(...) and
-- returns true; the extra arguments also reach filter_fun.
function _M.dispatch(self, path, opts, ...)
    if type(path) ~= "string" then
        error("invalid argument path", 2)
    end
    local record, err = find(self, path, opts or empty_table, select("#", ...), ...)
    if not record then
        return nil, err
    end
    local handler = record.handler
    if type(handler) ~= "function" then
        return nil, "missing handler"
    end
    handler(...)
    return true
end

-- How many routes the router holds.
function _M.len(self)
    if self.handle == nil then
        return 0
    end
    return tonumber(lib.rr_router_len(self.handle))
end

-- The library's version.
function _M.lib_version()
    return ffi_string(lib.rr_version())
end

return _M
