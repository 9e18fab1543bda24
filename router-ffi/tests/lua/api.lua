-- The module's API: errors, add/update/delete, opts.matched, dispatch,
-- free and GC, the vars JSON encoder and library loading.
local T = require("t")
local radix = require("resty.radixtree")

local THIS = "api.lua:" -- errors raised at level 2 name this file

-- Error messages, as lua-resty-radixtree words them.
do
    local rx, err = radix.new(nil)
    T.eq("new(nil)", { rx, err }, { nil, "missing argument route" })

    local e = T.raises("path not a string", "invalid argument path", radix.new,
        { { paths = 1, metadata = 1 } })
    T.raises("bad path in a list", "invalid argument path", radix.new,
        { { paths = { "/a", 2 }, metadata = 1 } })
    T.raises("missing paths", "invalid argument path", radix.new, { { metadata = 1 } })
    T.raises("missing metadata and handler", "missing argument metadata or handler",
        radix.new, { { paths = "/a" } })
    T.raises("vars not a table", "invalid argument vars", radix.new,
        { { paths = "/a", metadata = 1, vars = "x" } })
    T.raises("unknown vars operator", "failed to handle expression: invalid operator 'xyz'",
        radix.new, { { paths = "/a", metadata = 1, vars = { { "arg_a", "xyz", 1 } } } })
    T.raises("vars not wrapped", "failed to handle expression: rule should be wrapped inside brackets",
        radix.new, { { paths = "/a", metadata = 1, vars = { "arg_a", "==", 1 } } })
    T.raises("bad remote_addr", "invalid IP address: bogus", radix.new,
        { { paths = "/a", metadata = 1, remote_addrs = { "127.0.0.1", "bogus" } } })
    local m = T.raises("bad method: the router's full text", 'route "m1": field methods', radix.new,
        { { id = "m1", paths = "/a", metadata = 1, methods = { "get" } } })
    T.ok("bad method names it", m and m:find('"get"', 1, true), tostring(m))
    T.raises("bad path pattern", "field paths", radix.new,
        { { paths = "/a/:", metadata = 1 } })
    T.raises("bad host", "field hosts", radix.new,
        { { paths = "/a", metadata = 1, hosts = "a.*.com" } })
    T.raises("duplicate id", 'route "same": a route with this id already exists', radix.new, {
        { id = "same", paths = "/a", metadata = 1 },
        { id = "same", paths = "/b", metadata = 2 },
    })
    T.raises("bad priority", "invalid argument priority", radix.new,
        { { paths = "/a", metadata = 1, priority = 1.5 } })

    -- level 2: the error points at the caller, not at the module
    local _, e1 = pcall(function() local r = radix.new({ { paths = 1, metadata = 1 } }); return r end)
    T.ok("new error names the caller", e1 and e1:find(THIS, 1, true), tostring(e1))
    T.ok("error text alone", e == "invalid argument path", tostring(e))
    local r = radix.new({ { paths = "/a", metadata = 1 } })
    local e2 = T.raises("match(non-string)", "invalid argument path", r.match, r, 123)
    T.ok("match error is raised at level 2", e2 and not e2:find("radixtree.lua", 1, true), tostring(e2))
    T.raises("dispatch(non-string)", "invalid argument path", r.dispatch, r, nil)
    local ok3, e3 = pcall(function() r:add_route({ paths = "/x" }) end)
    T.ok("add_route error names the caller", not ok3 and e3:find(THIS, 1, true), tostring(e3))
end

-- add_route, update_route, delete_route
do
    local rx = radix.new({ { id = "r1", paths = "/old", metadata = "r1" } })
    T.eq("len", rx:len(), 1)
    T.eq("add_route returns nil", rx:add_route({ id = "r2", paths = { "/two", "/2/*" }, metadata = "r2" }), nil)
    T.eq("add_route(nil)", rx:add_route(nil), "illegal route")
    T.eq("added", rx:match("/2/x"), "r2")
    T.eq("len after add", rx:len(), 2)

    -- update in place (same id)
    T.eq("update returns nil", rx:update_route({ id = "r1", paths = "/old" },
        { id = "r1", paths = "/new", metadata = "r1-new" }), nil)
    T.eq("old path gone", rx:match("/old"), nil)
    T.eq("new path", rx:match("/new"), "r1-new")
    T.eq("len after update", rx:len(), 2)

    -- a refused update keeps the old route
    T.raises("refused update", "invalid IP address: nope", rx.update_route, rx,
        { id = "r1" }, { id = "r1", paths = "/newer", metadata = 1, remote_addrs = "nope" })
    T.eq("old route kept", rx:match("/new"), "r1-new")
    T.eq("refused path absent", rx:match("/newer"), nil)

    -- update to another id
    T.eq("update to a new id", rx:update_route({ id = "r1" },
        { id = "r3", paths = "/three", metadata = "r3" }), nil)
    T.eq("renamed route matches", rx:match("/three"), "r3")
    T.eq("renamed old route gone", rx:match("/new"), nil)
    T.raises("update to a taken id", "already exists", rx.update_route, rx,
        { id = "r3" }, { id = "r2", paths = "/x", metadata = 1 })
    T.eq("taken-id update kept r3", rx:match("/three"), "r3")
    T.eq("update(nil)", rx:update_route(nil, {}), "illegal argument.")
    -- An unknown route to update: warned about, the new route is added.
    local warned = {}
    radix._log_warn = function(msg) warned[#warned + 1] = msg end
    T.eq("update of an unknown route returns nothing",
        select("#", rx:update_route({ id = "zz" }, { id = "zz", paths = "/z", metadata = "zz" })), 0)
    T.eq("update of an unknown route adds it", rx:match("/z"), "zz")
    T.eq("update of an unknown route warns", warned,
        { 'resty.radixtree: update_route: no route "zz" to update; the new route is added' })
    radix._log_warn = nil
    T.eq("delete the added one", rx:delete_route({ id = "zz" }), nil)

    -- updates change conditions and callbacks too
    rx:update_route({ id = "r3" }, { id = "r3", paths = "/three", metadata = "r3v",
        vars = { { "arg_a", "1" } } })
    T.eq("update adds vars", rx:match("/three", { vars = { arg_a = "1" } }), "r3v")
    T.eq("update adds vars (miss)", rx:match("/three", { vars = { arg_a = "2" } }), nil)
    rx:update_route({ id = "r3" }, { id = "r3", paths = "/three", metadata = "r3plain" })
    T.eq("update drops vars", rx:match("/three"), "r3plain")

    -- delete
    T.eq("delete returns nil", rx:delete_route({ id = "r2", paths = { "/two", "/2/*" } }), nil)
    T.eq("deleted", rx:match("/two"), nil)
    T.eq("deleted prefix", rx:match("/2/x"), nil)
    T.eq("len after delete", rx:len(), 1)
    -- lua-resty-radixtree returns nil for a route it does not hold (and logs).
    local warned = {}
    radix._log_warn = function(msg) warned[#warned + 1] = msg end
    T.eq("delete unknown returns one nil", { n = select("#", rx:delete_route({ id = "r2" })) }, { n = 1 })
    T.eq("delete unknown warns", warned, { 'resty.radixtree: delete_route: no route "r2" to delete' })
    radix._log_warn = nil
    T.eq("delete(nil)", rx:delete_route(nil), "illegal route")

    -- routes without id: found again by their table
    local anon = { paths = "/anon", metadata = "anon" }
    rx:add_route(anon)
    local anon2 = { paths = "/anon", metadata = "anon2", priority = -5 }
    rx:add_route(anon2)
    T.eq("anonymous added", rx:match("/anon"), "anon")
    local newer = { paths = "/anon-new", metadata = "anon-new" }
    T.eq("anonymous update", rx:update_route(anon, newer), nil)
    T.eq("anonymous old gone", rx:match("/anon"), "anon2")
    T.eq("anonymous new", rx:match("/anon-new"), "anon-new")
    T.eq("anonymous delete by the new table", rx:delete_route(newer), nil)
    T.eq("anonymous deleted", rx:match("/anon-new"), nil)
    radix._log_warn = function() end
    T.eq("anonymous copy is unknown", rx:delete_route({ paths = "/anon", metadata = "anon2" }), nil)
    T.eq("anonymous copy is not deleted", rx:match("/anon"), "anon2")
    radix._log_warn = nil
    T.eq("anonymous delete", rx:delete_route(anon2), nil)
    T.eq("len at the end", rx:len(), 1)

    -- many adds and deletes reuse value slots
    for i = 1, 200 do
        rx:add_route({ id = "tmp" .. i, paths = "/tmp/" .. i, metadata = i })
    end
    for i = 1, 200, 2 do
        rx:delete_route({ id = "tmp" .. i })
    end
    local good = 0
    for i = 1, 200 do
        local want = (i % 2 == 0) and i or nil
        if rx:match("/tmp/" .. i) == want then good = good + 1 end
    end
    T.eq("200 adds, 100 deletes", good, 200)

    -- a route table changed after add_route does not change the router
    local r = { id = "mut", paths = "/mut", metadata = "before" }
    rx:add_route(r)
    r.metadata = "after"
    T.eq("routes are copied", rx:match("/mut"), "before")
end

-- opts.matched
do
    local rx = radix.new({
        { paths = "/aa", methods = { "GET" }, hosts = "foo.com", metadata = "aa" },
        { paths = "/u/:id/*rest", hosts = "*.bar.com", metadata = "u" },
        { paths = "/plain/*", metadata = "plain" },
    })
    local matched = { stale = true }
    local opts = { method = "GET", host = "Foo.COM", matched = matched }
    T.eq("matched exact", rx:match("/aa", opts), "aa")
    T.eq("matched exact contents", matched, { _path = "/aa", _method = "GET", _host = "foo.com" })
    T.ok("matched is the same table", opts.matched == matched)
    opts = { host = "x.bar.com", matched = matched }
    T.eq("matched params", rx:match("/u/7/a/b", opts), "u")
    T.eq("matched params contents", matched, { _path = "/u/:id/*rest", _host = "*.bar.com", id = "7", rest = "a/b" })
    opts = { method = "DELETE", matched = matched }
    rx:match("/plain/x", opts)
    T.eq("matched: _method is the request's, no _host without hosts", matched,
        { _path = "/plain/*", _method = "DELETE", [":ext"] = "x" })
    T.eq("no match", rx:match("/none", opts), nil)
    T.eq("matched cleared on no match", matched, {})

    -- matched through dispatch, with the callback path
    local got
    local rx2 = radix.new({ {
        paths = "/hello*", hosts = { "foo.com" }, methods = { "GET" },
        vars = { { "arg_k", "==", "v" } },
        handler = function(o) got = o.matched end,
    } })
    local o = { method = "GET", host = "foo.com", vars = { arg_k = "v" }, matched = {} }
    T.eq("dispatch with matched", rx2:dispatch("/hello1", o, o), true)
    T.eq("dispatch matched contents", got, { _host = "foo.com", _method = "GET", _path = "/hello*" })
end

-- dispatch
do
    local calls = {}
    local rx = radix.new({
        { paths = "/h", handler = function(...) calls[#calls + 1] = { ... } end },
        { paths = "/m", metadata = "only metadata" },
    })
    T.eq("dispatch", rx:dispatch("/h", nil, 1, 2), true)
    T.eq("handler args", calls, { { 1, 2 } })
    T.eq("match on a handler route", rx:match("/h"), nil)
    T.eq("dispatch without handler", { rx:dispatch("/m") }, { nil, "missing handler" })
    T.eq("dispatch no match", { rx:dispatch("/zz", {}) }, {})
end

-- free and GC
do
    local rx = radix.new({ { paths = "/a", metadata = 1 } })
    T.eq("free returns nothing", select("#", rx:free()), 0)
    T.eq("match after free", { rx:match("/a") }, { nil, "failed to match" })
    T.eq("dispatch after free", { rx:dispatch("/a") }, { nil, "failed to match" })
    rx:free()
    T.ok("free twice is fine", true)
    T.raises("add after free", "router is freed", rx.add_route, rx, { paths = "/b", metadata = 1 })
    T.eq("len after free", rx:len(), 0)
    for i = 1, 300 do
        local r = radix.new({ { paths = "/x/" .. i, metadata = i, vars = { { "arg_a", "1" } } } })
        r:match("/x/" .. i, { vars = { arg_a = "1" } })
    end
    collectgarbage()
    collectgarbage()
    T.ok("300 routers collected", true)

    -- no change while a filter_fun runs
    local rx2
    rx2 = radix.new({ { paths = "/busy", metadata = 1, filter_fun = function()
        rx2:add_route({ paths = "/other", metadata = 2 })
        return true
    end } })
    T.raises("add_route from filter_fun", "router is being matched", rx2.match, rx2, "/busy")
    T.eq("router usable after", rx2:len(), 1)
end

-- the vars JSON encoder
do
    local enc = radix._json_encode
    T.eq("json strings", enc({ "a\"b\\c\n\t\1" }), '["a\\"b\\\\c\\n\\t\\u0001"]')
    T.eq("json numbers", enc({ 1, -2, 0.5, 1e300, 2 ^ 53 }), "[1,-2,0.5,1.0000000000000001e+300,9007199254740992]")
    T.eq("json booleans", enc({ true, false }), "[true,false]")
    T.eq("json nested", enc({ { "a", "in", { "x", "y" } }, {} }), '[["a","in",["x","y"]],[]]')
    T.eq("json object", enc({ k = "v" }), '{"k":"v"}')
    T.eq("json utf-8 passes through", enc({ "é" }), '["é"]')
    local ffi = require("ffi")
    T.eq("json null", enc({ ffi.cast("void *", nil) }), "[null]")
    T.eq("json nan refused", select(2, enc({ 0 / 0 })) ~= nil, true)
    T.eq("json function refused", select(2, enc({ print })) ~= nil, true)
    local loop = {}
    loop[1] = loop
    T.eq("json cycle refused", select(2, enc(loop)) ~= nil, true)
end

-- library loading: RADIX_ROUTER_LIB first, then package.cpath; errors list every path
do
    local lib = os.getenv("RADIX_ROUTER_LIB")
    local luajit = arg[-1] or "luajit"
    local lpath = package.path
    local function run(env, code)
        local cmd = string.format("%s LUA_PATH=%q %s -e %q 2>&1", env, lpath, luajit, code)
        local p = io.popen(cmd)
        local out = p:read("*a")
        p:close()
        return out
    end
    local out = run("RADIX_ROUTER_LIB=/nonexistent/override.so LUA_CPATH='/nowhere/a/?.so;/nowhere/b/?.so'",
        'local ok, e = pcall(require, "resty.radixtree") print(ok, e)')
    T.ok("load failure lists the override", out:find("/nonexistent/override.so", 1, true), out)
    T.ok("load failure lists cpath a", out:find("/nowhere/a/libradix_router.so", 1, true), out)
    T.ok("load failure lists cpath b", out:find("/nowhere/b/libradix_router.so", 1, true), out)
    T.ok("load failure says so", out:find("cannot load libradix_router", 1, true), out)
    if lib then
        local dir = lib:match("^(.*/)")
        out = run(string.format("RADIX_ROUTER_LIB= LUA_CPATH='/nowhere/?.so;%s?.so'", dir),
            'local r = require("resty.radixtree") print(r.new({{paths="/a",metadata="cpath-ok"}}):match("/a"))')
        T.eq("loads through package.cpath", out, "cpath-ok\n")
    end
    -- a second copy of the module (another name) shares the declarations
    local path = package.searchpath("resty.radixtree", package.path)
    local copy = dofile(path)
    T.eq("second copy works", copy.new({ { paths = "/c", metadata = "copy" } }):match("/c"), "copy")
    T.ok("lib_version", type(radix.lib_version()) == "string" and #radix.lib_version() > 0)
end

T.done()
