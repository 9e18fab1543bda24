-- Matching through the C library's callbacks, for resty.radixtree routers
-- that have `vars` or `filter_fun` routes: the variables are handed over
-- typed (rr_router_match_values: text, numbers, booleans, lists for `has`),
-- the filter_fun is called with (vars, opts, ...dispatch arguments).
--
-- `match` is kept out of the JIT (`jit.off`): LuaJIT must not run a C
-- function that calls back into Lua inside a trace. An error raised in a
-- callback is kept and re-raised once the C call returned; it never
-- unwinds through the library.

local ffi = require("ffi")
local jit = require("jit")
local clib = require("resty.radixtree.clib")

local ffi_string = ffi.string
local ffi_cast = ffi.cast
local ffi_new = ffi.new
local type = type
local pcall = pcall
local error = error
local select = select
local unpack = unpack
local tonumber = tonumber

local lib = clib.lib

-- rr_value kinds (RR_VALUE_* in include/radix_router.h).
local RR_VALUE_TEXT = 1
local RR_VALUE_NUMBER = 2
local RR_VALUE_BOOL = 3
local RR_VALUE_LIST = 4
local RR_VALUE_OTHER = 5

local ngx = ngx -- nil outside nginx

local _M = {}

-- Points `req` at the request's bytes. The strings stay referenced by
-- `path` and `opts` (and the caller, for http_host) while C reads them.
function _M.fill_request(req, path, opts)
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
local fill_request = _M.fill_request

-- Callback state: one frame per match in progress (a filter_fun may match
-- again, on this router or another).
local frames = {}
local depth = 0

local function index(t, k)
    return t[k]
end

-- Keeps `v` referenced until the match returns (C holds a pointer to it).
local function anchor(f, v)
    local n = f.n_anchors + 1
    f.n_anchors = n
    f.anchors[n] = v
end

-- Writes the scalar `v` into the rr_value `out`; false when it is no
-- text, number or boolean.
local function scalar(f, v, out)
    local tv = type(v)
    if tv == "string" then
        anchor(f, v)
        out.kind = RR_VALUE_TEXT
        out.text = v
        out.text_len = #v
    elseif tv == "number" then
        out.kind = RR_VALUE_NUMBER
        out.number = v
    elseif tv == "boolean" then
        out.kind = RR_VALUE_BOOL
        out.boolean = v
    else
        return false
    end
    return true
end

-- rr_value_fn: the variable `name` of the current frame, typed. A missing
-- variable (nil, or a NULL cdata such as cjson.null decoded by LuaJIT)
-- returns 0; a table is a list (for `has`); anything else (ngx.null, a
-- function) exists but equals nothing.
local function value_cb(_, name, name_len, out)
    local f = frames[depth]
    if f == nil or f.err ~= nil or f.vars == nil then
        return 0
    end
    local ok, v = pcall(index, f.vars, ffi_string(name, name_len))
    if not ok then
        f.err = v
        return 0
    end
    if v == nil then
        return 0
    end
    if scalar(f, v, out) then
        return 1
    end
    if type(v) == "table" then
        local n = #v
        local items = ffi_new("rr_value[?]", n > 0 and n or 1)
        anchor(f, items)
        for i = 1, n do
            if not scalar(f, v[i], items[i - 1]) then
                items[i - 1].kind = RR_VALUE_OTHER
            end
        end
        out.kind = RR_VALUE_LIST
        out.items = items
        out.items_len = n
        return 1
    end
    out.kind = RR_VALUE_OTHER
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
local value_cb_c = ffi_cast("rr_value_fn", value_cb)
local filter_cb_c = ffi_cast("rr_filter_fn", filter_cb)

-- Matches `path` and `opts` on the router `rx` (its `handle`, its
-- `records` for the filter, `n_port_hosts` for vars.http_host, `busy`
-- counting matches in progress), with the callbacks; `nargs` and `...`
-- are dispatch's arguments. Returns the result code and the rr_match
-- written. Never compiled.
function _M.match(rx, path, opts, nargs, ...)
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
    f.records = rx.records
    f.err = nil
    f.n_anchors = 0
    f.nargs = nargs
    local args = f.args
    for i = 1, nargs do
        args[i] = select(i, ...)
    end
    if rx.n_port_hosts > 0 and vars ~= nil then
        local ok, hh = pcall(index, vars, "http_host")
        if ok and type(hh) == "string" then
            anchor(f, hh)
            req.http_host = hh
            req.http_host_len = #hh
        end
    end

    rx.busy = rx.busy + 1
    local rc = lib.rr_router_match_values(rx.handle, req, value_cb_c, nil, filter_cb_c, nil, m)
    rx.busy = rx.busy - 1

    local err = f.err
    local anchors = f.anchors
    for i = 1, f.n_anchors do
        anchors[i] = nil
    end
    for i = 1, nargs do
        args[i] = nil
    end
    f.vars, f.opts, f.path, f.records, f.err = nil, nil, nil, nil, nil
    depth = depth - 1
    if err ~= nil then
        error(err, 0)
    end
    return rc, m
end
jit.off(_M.match)

return _M
