-- Hosts, methods, remote_addrs, vars and filter_fun (docs/router.md "Routes",
-- "Hosts", "Conditions and fall-through" and "vars"), under plain luajit
-- with opts.vars tables.
local T = require("t")
local radix = require("resty.radixtree")
local ffi = require("ffi")

T.routing(radix, {
    { "exact host",
        routes = { { paths = "/aa*", hosts = { "foo.com" }, metadata = "foo" } },
        { "/aa/bb", { host = "foo.com" }, "foo", { _path = "/aa*", _host = "foo.com" } },
        { "/aa/bb", { host = "FOO.com" }, "foo", { _path = "/aa*", _host = "foo.com" } },
        { "/aa/bb", { host = "www.foo.com" }, nil },
        { "/aa/bb", {}, nil },
    },
    { "host as a string, several hosts",
        routes = {
            { paths = "/s", hosts = "foo.com", metadata = "string" },
            { paths = "/m", hosts = { "foo.com", "*.bar.com" }, metadata = "multi" },
        },
        { "/s", { host = "foo.com" }, "string" },
        { "/s", { host = "bar.com" }, nil },
        { "/m", { host = "foo.com" }, "multi" },
        { "/m", { host = "bar.com" }, nil },
        { "/m", { host = "www.bar.com" }, "multi", { _path = "/m", _host = "*.bar.com" } },
        { "/m", { host = "ggg.com" }, nil },
    },
    { "wildcard host",
        routes = { { paths = "/aa*", hosts = "*.foo.com", metadata = "wild" } },
        { "/aa/bb", { host = "foo.com" }, nil },
        { "/aa/bb", { host = ".foo.com" }, "wild" },
        { "/aa/bb", { host = "www.foo.com" }, "wild", { _path = "/aa*", _host = "*.foo.com" } },
        { "/aa/bb", { host = "a.b.foo.com" }, "wild" },
        { "/aa/bb", { host = "www.foo.com.cn" }, nil },
    },
    { "host *",
        routes = { { paths = "/any", hosts = "*", metadata = "star" } },
        { "/any", { host = "whatever.org" }, "star", { _path = "/any", _host = "*" } },
        { "/any", {}, nil },
    },
    { "host:port compares the raw Host header (opts.vars.http_host)",
        routes = {
            { paths = "/p", hosts = "foo.com:8080", metadata = "port" },
            { paths = "/p", hosts = "foo.com", metadata = "noport" },
        },
        { "/p", { host = "foo.com", vars = { http_host = "foo.com:8080" } }, "port" },
        { "/p", { host = "foo.com", vars = { http_host = "foo.com:9090" } }, "noport" },
        { "/p", { host = "foo.com" }, "noport" },
        { "/p", { host = "bar.com", vars = { http_host = "bar.com:8080" } }, nil },
    },
    { "methods",
        routes = {
            { paths = "/m", methods = { "GET", "POST" }, metadata = "get-post" },
            { paths = "/purge", methods = "PURGE", metadata = "purge" },
            { paths = "/all", methods = { "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD",
                "OPTIONS", "CONNECT", "TRACE", "PURGE" }, metadata = "all" },
        },
        { "/m", { method = "GET" }, "get-post", { _path = "/m", _method = "GET" } },
        { "/m", { method = "POST" }, "get-post" },
        { "/m", { method = "PUT" }, nil },
        { "/m", { method = "get" }, nil },
        { "/m", {}, nil },
        { "/purge", { method = "PURGE" }, "purge" },
        { "/purge", { method = "GET" }, nil },
        { "/all", { method = "TRACE" }, "all" },
        { "/all", { method = "BREW" }, nil },
    },
    { "remote_addrs",
        routes = {
            { paths = "/v4", remote_addrs = "127.0.0.1", metadata = "one" },
            { paths = "/cidr", remote_addrs = { "192.168.0.0/16", "10.0.0.1" }, metadata = "cidr" },
            { paths = "/v6", remote_addrs = { "::1", "fe80::/32", "[2001:db8::1]" }, metadata = "v6" },
            { paths = "/v4all", remote_addrs = "0.0.0.0/0", metadata = "v4all" },
        },
        { "/v4", { remote_addr = "127.0.0.1" }, "one" },
        { "/v4", { remote_addr = "127.0.0.2" }, nil },
        { "/v4", {}, nil },
        { "/v4", { remote_addr = "bogus" }, nil },
        { "/cidr", { remote_addr = "192.168.3.4" }, "cidr" },
        { "/cidr", { remote_addr = "10.0.0.1" }, "cidr" },
        { "/cidr", { remote_addr = "10.0.0.2" }, nil },
        { "/v6", { remote_addr = "::1" }, "v6" },
        { "/v6", { remote_addr = "fe80::1" }, "v6" },
        { "/v6", { remote_addr = "fe81::1" }, nil },
        { "/v6", { remote_addr = "2001:db8::1" }, "v6" },
        { "/v4all", { remote_addr = "8.8.8.8" }, "v4all" },
        { "/v4all", { remote_addr = "::1" }, nil },
    },
})

-- vars: one router per rule, checked against several variable sets.
local function vars_case(name, rule, checks)
    local case = { name, routes = { { paths = "/v", vars = rule, metadata = "yes" } } }
    for _, c in ipairs(checks) do
        case[#case + 1] = { "/v", { vars = c[1] }, c[2] and "yes" or nil }
    end
    return case
end

T.routing(radix, {
    vars_case("== string", { { "arg_name", "==", "json" } }, {
        { { arg_name = "json" }, true }, { { arg_name = "xml" }, false }, { {}, false },
    }),
    vars_case("[var, value] means ==", { { "arg_name", "json" } }, {
        { { arg_name = "json" }, true }, { { arg_name = "JSON" }, false },
    }),
    vars_case("~= string, missing var holds", { { "arg_name", "~=", "json" } }, {
        { { arg_name = "xml" }, true }, { { arg_name = "json" }, false }, { {}, true },
    }),
    vars_case("== number compares as numbers", { { "arg_n", "==", 5 } }, {
        { { arg_n = "5" }, true }, { { arg_n = "5.0" }, true }, { { arg_n = "abc" }, false },
        { { arg_n = 5 }, true },
    }),
    vars_case("~= number", { { "arg_n", "~=", 5 } }, {
        { { arg_n = "6" }, true }, { { arg_n = "5" }, false },
    }),
    vars_case("> and <= (numbers)", { { "arg_w", ">", 10 }, { "arg_w", "<=", "20" } }, {
        { { arg_w = "15" }, true }, { { arg_w = "20" }, true }, { { arg_w = "10" }, false },
        { { arg_w = "21" }, false }, { { arg_w = "abc" }, false }, { {}, false },
        { { arg_w = 12 }, true },
    }),
    vars_case(">= and <", { { "arg_w", ">=", 10 }, { "arg_w", "<", 20 } }, {
        { { arg_w = "10" }, true }, { { arg_w = "19.5" }, true }, { { arg_w = "20" }, false },
        { { arg_w = "9" }, false },
    }),
    vars_case("~~ regex", { { "http_x", "~~", "^a[0-9]+$" } }, {
        { { http_x = "a12" }, true }, { { http_x = "A12" }, false }, { { http_x = "a1b" }, false },
        { {}, false },
    }),
    vars_case("~* case-insensitive regex", { { "http_x", "~*", "^a[0-9]+$" } }, {
        { { http_x = "A12" }, true }, { { http_x = "b12" }, false },
    }),
    vars_case("in", { { "arg_a", "in", { "x", "y" } } }, {
        { { arg_a = "y" }, true }, { { arg_a = "z" }, false }, { {}, false },
    }),
    vars_case("IN and IPMATCH (operators are case-insensitive)", {
        { "arg_a", "IN", { "x" } }, { "remote_addr", "IPMATCH", { "10.0.0.0/8" } },
    }, {
        { { arg_a = "x", remote_addr = "10.1.2.3" }, true },
        { { arg_a = "x", remote_addr = "11.0.0.1" }, false },
    }),
    vars_case("ipmatch", { { "remote_addr", "ipmatch", { "10.0.0.0/8", "::1" } } }, {
        { { remote_addr = "10.1.2.3" }, true }, { { remote_addr = "::1" }, true },
        { { remote_addr = "11.0.0.1" }, false }, { { remote_addr = "bogus" }, false },
    }),
    vars_case("! negates", { { "arg_name", "!", "==", "json" } }, {
        { { arg_name = "xml" }, true }, { { arg_name = "json" }, false },
    }),
    vars_case("has with a text variable is false", { { "arg_tags", "has", "x" } }, {
        { { arg_tags = "x" }, false },
    }),
    vars_case("has with a list variable", { { "arg_tags", "has", "x" } }, {
        { { arg_tags = { "w", "x" } }, true }, { { arg_tags = { "w" } }, false },
        { { arg_tags = {} }, false }, { {}, false },
    }),
    vars_case("rules are ANDed", { { "arg_a", "1" }, { "arg_b", "2" } }, {
        { { arg_a = "1", arg_b = "2" }, true }, { { arg_a = "1", arg_b = "3" }, false },
    }),
    vars_case("OR", { "OR", { "arg_a", "1" }, { "arg_b", "2" } }, {
        { { arg_a = "1" }, true }, { { arg_b = "2" }, true }, { { arg_a = "2" }, false },
    }),
    vars_case("AND", { "AND", { "arg_a", "1" }, { "arg_b", "2" } }, {
        { { arg_a = "1", arg_b = "2" }, true }, { { arg_a = "1" }, false },
    }),
    vars_case("!AND", { "!AND", { "arg_a", "1" }, { "arg_b", "2" } }, {
        { { arg_a = "1", arg_b = "2" }, false }, { { arg_a = "1" }, true }, { {}, true },
    }),
    vars_case("!OR", { "!OR", { "arg_a", "1" }, { "arg_b", "2" } }, {
        { { arg_a = "1" }, false }, { { arg_b = "2" }, false }, { { arg_a = "3" }, true },
    }),
    vars_case("nested logic", { { "arg_a", "1" }, { "OR", { "arg_b", "9" }, { "!AND", { "arg_c", "1" } } } }, {
        { { arg_a = "1", arg_b = "9" }, true }, { { arg_a = "1", arg_c = "2" }, true },
        { { arg_a = "1", arg_c = "1" }, false }, { { arg_b = "9" }, false },
    }),
    vars_case("== null (a NULL pointer, as cjson.null) matches a missing variable",
        { { "arg_x", "==", ffi.cast("void *", nil) } }, {
        { {}, true }, { { arg_x = "a" }, false },
    }),
    vars_case("empty vars hold", {}, { { {}, true } }),
})

-- A vars route that fails falls through to the next candidate.
do
    local rx = radix.new({
        { paths = "/f", vars = { { "arg_k", "v" } }, metadata = "vars", priority = 1 },
        { paths = "/f", metadata = "plain" },
    })
    T.eq("vars fall-through hit", rx:match("/f", { vars = { arg_k = "v" } }), "vars")
    T.eq("vars fall-through miss", rx:match("/f", { vars = { arg_k = "w" } }), "plain")
    T.eq("vars without opts.vars", rx:match("/f", {}), "plain")
    T.eq("vars without opts", rx:match("/f"), "plain")
end

-- vars tables with a metatable (like ngx.var) are read through __index.
do
    local rx = radix.new({ { paths = "/mt", vars = { { "http_x_user", "==", "ann" } }, metadata = "mt" } })
    local reads = {}
    local vars = setmetatable({}, { __index = function(_, k)
        reads[#reads + 1] = k
        return k == "http_x_user" and "ann" or nil
    end })
    T.eq("vars through __index", rx:match("/mt", { vars = vars }), "mt")
    T.eq("vars read lazily by name", reads, { "http_x_user" })
    local bad = setmetatable({}, { __index = function() error("boom in vars") end })
    T.raises("an error reading vars propagates", "boom in vars", rx.match, rx, "/mt", { vars = bad })
    T.eq("router usable after an error", rx:match("/mt", { vars = { http_x_user = "ann" } }), "mt")
end

-- filter_fun gets (vars, opts, ...dispatch args) and is the last check.
do
    local seen = {}
    local handled = {}
    local rx = radix.new({
        {
            paths = "/ff",
            metadata = "filtered",
            filter_fun = function(vars, opts, a, b)
                seen = { vars = vars, opts = opts, a = a, b = b }
                return vars.arg_k == "v"
            end,
            handler = function(...) handled = { n = select("#", ...), ... } end,
        },
        { paths = "/ff", metadata = "fallback", priority = -1,
          handler = function() handled = { "fallback" } end },
    })
    local vars = { arg_k = "v" }
    local opts = { vars = vars }
    T.eq("filter accepts", rx:match("/ff", opts), "filtered")
    T.ok("filter got opts.vars", seen.vars == vars)
    T.ok("filter got opts", seen.opts == opts)
    T.eq("filter rejects -> next route", rx:match("/ff", { vars = { arg_k = "x" } }), "fallback")

    T.eq("dispatch returns true", rx:dispatch("/ff", opts, "x", "y"), true)
    T.eq("dispatch args reach filter_fun", { seen.a, seen.b }, { "x", "y" })
    T.ok("dispatch passes opts to filter_fun", seen.opts == opts)
    T.eq("dispatch args reach handler", handled, { n = 2, "x", "y" })
    T.eq("dispatch falls through", rx:dispatch("/ff", { vars = {} }, 1), true)
    T.eq("dispatch fallback handler", handled, { "fallback" })
    T.eq("dispatch nil args", rx:dispatch("/ff", opts, nil, "b"), true)
    T.eq("dispatch nil args reach handler", handled, { n = 2, nil, "b" })
    T.eq("dispatch no match", rx:dispatch("/nope", opts), nil)
end

-- A filter_fun error propagates; a filter_fun may match again (reentrancy).
do
    local inner = radix.new({ { paths = "/in", vars = { { "arg_a", "1" } }, metadata = "inner" } })
    local rx
    rx = radix.new({
        { paths = "/err", metadata = "err", filter_fun = function() error("filter exploded") end },
        { paths = "/nest", metadata = "nest", filter_fun = function(vars)
            return inner:match("/in", { vars = vars }) == "inner"
                and rx:match("/self", { vars = vars }) == "self"
        end },
        { paths = "/self", metadata = "self", filter_fun = function() return true end },
    })
    T.raises("filter_fun error propagates", "filter exploded", rx.match, rx, "/err", {})
    T.eq("nested match from filter_fun", rx:match("/nest", { vars = { arg_a = "1" } }), "nest")
    T.eq("nested match from filter_fun (miss)", rx:match("/nest", { vars = { arg_a = "2" } }), nil)
end

-- A hot loop over a callback router: callbacks must never run inside a trace.
do
    local rx = radix.new({
        { paths = "/hot/:id", vars = { { "arg_a", "==", "1" } }, metadata = "hot",
          filter_fun = function(vars) return vars.arg_b ~= "no" end },
        { paths = "/hot/*", metadata = "cold" },
    })
    local hits, misses = 0, 0
    local yes = { vars = { arg_a = "1" } }
    local no = { vars = { arg_a = "1", arg_b = "no" } }
    local matched = {}
    local withm = { vars = { arg_a = "1" }, matched = matched }
    for i = 1, 3000 do
        if rx:match("/hot/" .. (i % 7), yes) == "hot" then hits = hits + 1 end
        if rx:match("/hot/x", no) == "cold" then misses = misses + 1 end
        rx:match("/hot/5", withm)
    end
    T.eq("hot loop hits", hits, 3000)
    T.eq("hot loop fall-through", misses, 3000)
    T.eq("hot loop matched", matched, { _path = "/hot/:id", id = "5" })
end

T.done()
