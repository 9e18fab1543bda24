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
-- Every public function returns what lua-resty-radixtree returns, value for
-- value and count for count (a miss is one `nil`). The router is tolerant,
-- as lua-resty-radixtree is: a path or `vars` regex that does not compile
-- does not refuse its route; that path never matches, that comparison is
-- always false, and a warning names the route and the expression.
--
-- Matching a router without `vars` and `filter_fun` routes makes no
-- callback and allocates nothing unless `opts.matched` is given, so it
-- compiles into traces. A router with such routes is matched through
-- resty.radixtree.callbacks, kept out of the JIT.

local ffi = require("ffi")
local clib = require("resty.radixtree.clib")
local json_encode = require("resty.radixtree.json").encode
local callbacks = require("resty.radixtree.callbacks")

local ffi_string = ffi.string
local ffi_new = ffi.new
local ffi_gc = ffi.gc
local type = type
local tostring = tostring
local tonumber = tonumber
local error = error
local select = select
local pairs = pairs
local setmetatable = setmetatable
local str_lower = string.lower
local str_sub = string.sub
local str_gsub = string.gsub
local str_gmatch = string.gmatch
local concat = table.concat
local io_stderr = io.stderr

-- OpenResty's LuaJIT has table.clear (compiled); plain LuaJIT may not.
local ok_clear, clear_tab = pcall(require, "table.clear")
if not ok_clear then
    clear_tab = function(t)
        for k in pairs(t) do
            t[k] = nil
        end
    end
end

-- Result codes and flags (include/radix_router.h), as Lua numbers.
local RR_OK = 0
local RR_NO_MATCH = 1
local RR_BUFFER_TOO_SMALL = 102
local RR_INVALID_REMOTE_ADDR = 203
local RR_INVALID_VARS = 204
local RR_HOST_REQUEST = 1
local RR_HOST_WILDCARD = 2
local RR_OPT_NO_PARAM_MATCH = 1
local RR_OPT_TOLERANT = 2

local lib = clib.lib
local fill_request = callbacks.fill_request
local match_with_callbacks = callbacks.match

local ngx = ngx -- nil outside nginx

local _M = { _VERSION = 1.7, _lib = lib, _json_encode = json_encode }

local mt = { __index = _M }

local empty_table = setmetatable({}, {
    __newindex = function() error("empty_table can not be changed", 2) end,
})

-- Warnings (a tolerated route, an unknown route to update or delete): to
-- the nginx error log at `warn`, else to stderr. Tests may set `_log_warn`.
local function warn(msg)
    msg = "resty.radixtree: " .. msg
    if _M._log_warn then
        return _M._log_warn(msg)
    end
    if ngx and ngx.log then
        return ngx.log(ngx.WARN, msg)
    end
    io_stderr:write("[warn] ", msg, "\n")
end

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

-- How a warning names `route`: by its id, or by its paths when it has none
-- (the router only knows a generated id).
local function route_name(route)
    if route.id ~= nil then
        return nil
    end
    local paths = route.paths
    if type(paths) == "table" then
        paths = concat(paths, ", ")
    end
    return "route with paths " .. tostring(paths)
end

-- Logs what the tolerant router let pass in the change just made.
local function log_tolerated(self, route)
    if lib.rr_router_last_warnings(self.handle, nil, 0, err_len) == RR_OK then
        return -- nothing (the length is 0)
    end
    local text = router_text(lib.rr_router_last_warnings, self.handle) or ""
    local name = route_name(route)
    for line in str_gmatch(text, "[^\n]+") do
        if name then
            line = str_gsub(line, '^route "#auto%-%d+"', name, 1)
        end
        warn(line)
    end
end

-------------------------------------------------------------------------------
-- Route ids and value slots
-------------------------------------------------------------------------------

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

-- `opts.no_param_match` of add_route/update_route: lua-resty-radixtree
-- takes it per call, false when not given.
local function no_param_match(opts)
    return type(opts) == "table" and opts.no_param_match and true or false
end

local function insert_route(self, route, npm)
    local usable, why = check_usable(self)
    if not usable then
        return nil, why
    end
    if type(route) ~= "table" then
        return nil, "invalid argument route"
    end
    local id = new_id(self, route)
    local idx = alloc_index(self)
    local b, record = build_route(route, id, idx, npm)
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
    log_tolerated(self, route)
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

-- new(routes, opts): opts.no_param_match makes `:` ordinary text in these
-- routes' paths. A refused route raises an error (the router is freed).
function _M.new(routes, opts)
    if not routes then
        return nil, "missing argument route"
    end
    opts = opts or empty_table
    local npm = opts.no_param_match and true or false
    local flags = RR_OPT_TOLERANT + (npm and RR_OPT_NO_PARAM_MATCH or 0)
    local rc = lib.rr_router_new(flags, router_out)
    if rc ~= RR_OK then
        error("failed to create the router: " .. result_name(rc), 2)
    end
    local self = setmetatable({
        handle = ffi_gc(router_out[0], lib.rr_router_free),
        req = ffi_new("rr_request"),
        m = ffi_new("rr_match"),
        records = {},    -- value index -> {metadata, handler, filter_fun, cb, port_host, hide_ext}
        ids = {},        -- router id -> value index
        auto_ids = setmetatable({}, { __mode = "k" }), -- route table -> generated id
        auto_seq = 0,
        next_idx = 0,
        free_idx = {},
        n_cb = 0,        -- routes with vars or filter_fun
        n_port_hosts = 0, -- routes with a host:port host
        busy = 0,        -- matches with callbacks in progress
    }, mt)
    for i = 1, #routes do
        local ok, err = insert_route(self, routes[i], npm)
        if not ok then
            self:free()
            error(err, 2)
        end
    end
    return self
end

-- Frees the router now (the GC would otherwise). Returns nothing. Matching
-- afterwards gives `nil, "failed to match"`; changing it raises an error.
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

-- add_route(route, opts): nil on success, "illegal route" without a route;
-- a refused route raises an error.
function _M.add_route(self, route, opts)
    if route == nil then
        return "illegal route"
    end
    local ok, err = insert_route(self, route, no_param_match(opts))
    if not ok then
        error(err, 2)
    end
    return nil
end

-- update_route(pre_route, route, opts): replaces the route added as
-- `pre_route` (found by its id, or by the table itself when it had none).
-- Returns nothing, "illegal argument." without both routes; a refused
-- route raises an error and keeps the old one. A `pre_route` this router
-- does not hold is warned about, and `route` is added.
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
    local npm = no_param_match(opts)
    local old_id = id_of(self, pre_route)
    local old_idx = old_id and self.ids[old_id]
    if not old_idx then
        warn("update_route: no route " .. (old_id and ('"' .. old_id .. '"') or "for this table")
            .. " to update; the new route is added")
        local ok, err = insert_route(self, route, npm)
        if not ok then
            error(err, 2)
        end
        return
    end
    local id = route.id ~= nil and tostring(route.id) or old_id
    if id ~= old_id then
        -- A new id: add the new route first, so a refusal changes nothing.
        local ok, err = insert_route(self, route, npm)
        if not ok then
            error(err, 2)
        end
        remove_by_id(self, old_id)
        if pre_route.id == nil then
            self.auto_ids[pre_route] = nil
        end
        return
    end
    local b, record = build_route(route, id, old_idx, npm)
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
    log_tolerated(self, route)
end

-- delete_route(route, opts): nil, or "illegal route" without a route. A
-- route this router does not hold is warned about.
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
    if not id or not self.ids[id] then
        warn("delete_route: no route " .. (id and ('"' .. id .. '"') or "for this table")
            .. " to delete")
        return nil
    end
    remove_by_id(self, id)
    if route.id == nil then
        self.auto_ids[route] = nil
    end
    return nil
end

-------------------------------------------------------------------------------
-- Matching
-------------------------------------------------------------------------------

local function fill_matched(m, record, path, opts, matched)
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
    -- Like lua-resty-radixtree, a prefix pattern whose `*` is no whole
    -- segment (`/aa*`) reports no `:ext`.
    local hide_ext = record.hide_ext and record.hide_ext[pattern]
    for i = 0, tonumber(m.param_count) - 1 do
        local p = m.params[i]
        local name = ffi_string(p.name, p.name_len)
        if not hide_ext or name ~= ":ext" then
            matched[name] = str_sub(path, tonumber(p.start) + 1, tonumber(p["end"]))
        end
    end
end

-- The record of the route `path` and `opts` match; nil on a miss; nil and
-- an error on a failure of the library.
local function find(self, path, opts, nargs, ...)
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
        rc = lib.rr_router_match(self.handle, req, m)
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
        fill_matched(m, record, path, opts, matched)
    end
    return record
end

-- match(path, opts): the matched route's metadata, or one nil on a miss
-- (`nil, "failed to match"` on a freed router, as lua-resty-radixtree).
function _M.match(self, path, opts)
    if type(path) ~= "string" then
        error("invalid argument path", 2)
    end
    if self.handle == nil then
        return nil, "failed to match"
    end
    local record, err = find(self, path, opts or empty_table, 0)
    if record then
        return record.metadata
    end
    if err then
        return nil, err
    end
    return nil
end

-- dispatch(path, opts, ...): calls the matched route's handler(...) and
-- returns true; one nil on a miss; nil and "missing handler" when the
-- route has none. The extra arguments also reach filter_fun.
function _M.dispatch(self, path, opts, ...)
    if type(path) ~= "string" then
        error("invalid argument path", 2)
    end
    if self.handle == nil then
        return nil, "failed to match"
    end
    local record, err = find(self, path, opts or empty_table, select("#", ...), ...)
    if not record then
        if err then
            return nil, err
        end
        return nil
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
