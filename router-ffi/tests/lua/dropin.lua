-- What code written for lua-resty-radixtree notices: how many values each
-- public function returns (hits, misses, errors), tolerated regexes with
-- their warnings, typed vars for `has`, no_param_match per call.
local T = require("t")
local radix = require("resty.radixtree")

-- select('#', ...) of a call, and its values.
local function count(...)
    return { n = select("#", ...), ... }
end

-- Return counts, with and without the callback path (vars/filter_fun).
for _, with_cb in ipairs({ false, true }) do
    local tag = with_cb and " (callbacks)" or ""
    local vars = with_cb and { { "arg_a", "~=", "x" } } or nil
    local rx = radix.new({
        { paths = "/m", metadata = "m", vars = vars },
        { paths = "/h/:id", handler = function() end, vars = vars },
        { paths = "/nohandler", metadata = "x" },
        { paths = "/nil-metadata", handler = function() end },
    })
    T.eq("match hit" .. tag, count(rx:match("/m")), { n = 1, "m" })
    T.eq("match hit, no metadata" .. tag, count(rx:match("/nil-metadata")), { n = 1 })
    T.eq("match miss" .. tag, count(rx:match("/none")), { n = 1 })
    T.eq("match miss with opts" .. tag, count(rx:match("/none", { matched = {}, vars = {} })), { n = 1 })
    T.eq("dispatch hit" .. tag, count(rx:dispatch("/h/1", nil, "arg")), { n = 1, true })
    T.eq("dispatch miss" .. tag, count(rx:dispatch("/none")), { n = 1 })
    T.eq("dispatch without handler" .. tag, count(rx:dispatch("/nohandler")),
        { n = 2, nil, "missing handler" })
    T.eq("add_route" .. tag, count(rx:add_route({ id = "a", paths = "/a", metadata = "a" })), { n = 1 })
    T.eq("add_route(nil)" .. tag, count(rx:add_route(nil)), { n = 1, "illegal route" })
    T.eq("update_route" .. tag, count(rx:update_route({ id = "a" }, { id = "a", paths = "/a2", metadata = "a2" })),
        { n = 0 })
    T.eq("update_route(nil)" .. tag, count(rx:update_route(nil, nil)), { n = 1, "illegal argument." })
    T.eq("delete_route" .. tag, count(rx:delete_route({ id = "a" })), { n = 1 })
    T.eq("delete_route(nil)" .. tag, count(rx:delete_route(nil)), { n = 1, "illegal route" })
    T.eq("free" .. tag, count(rx:free()), { n = 0 })
    T.eq("match after free" .. tag, count(rx:match("/m")), { n = 2, nil, "failed to match" })
    T.eq("dispatch after free" .. tag, count(rx:dispatch("/h/1")), { n = 2, nil, "failed to match" })
end
T.eq("new(nil)", count(radix.new(nil)), { n = 2, nil, "missing argument route" })
T.eq("new(routes)", count(radix.new({})).n, 1)
T.eq("new(nil) through pcall", count(pcall(radix.new, nil)), { n = 3, true, nil, "missing argument route" })
-- `ngx.say(rx:match(...))` style: a miss prints "nil", not "nilnil".
do
    local rx = radix.new({ { paths = "/x", metadata = "x" } })
    local printed = table.concat((function(...)
        local out = {}
        for i = 1, select("#", ...) do
            out[i] = tostring((select(i, ...)))
        end
        return out
    end)(rx:match("/y")))
    T.eq("a miss prints as one nil", printed, "nil")
end

-- Tolerated regexes: the route is built, the bad expression never
-- matches, the other routes work, a warning names the route and the
-- expression (lua-resty-radixtree logs nothing; `[0` never matches there).
do
    local warned = {}
    radix._log_warn = function(msg) warned[#warned + 1] = msg end
    local routes = {}
    for i, reg in ipairs({ "[0-9]+", "^1[0-9]+", "[1-3]+$", "[0" }) do
        routes[i] = { paths = "/" .. i, metadata = "m" .. i, vars = { { "arg_k", "~~", reg } } }
    end
    routes[5] = { id = "neg", paths = "/5", metadata = "m5", vars = { { "arg_k", "!", "~~", "(" } } }
    routes[6] = { id = "path", paths = { "/p/:id/(x", "/p/:id/y" }, metadata = "m6" }
    local rx = radix.new(routes)
    radix._log_warn = nil
    local v = { vars = { arg_k = "1234" } }
    T.eq("tolerated: the others match", { rx:match("/1", v), rx:match("/2", v), rx:match("/3", v) },
        { "m1", "m2" })
    T.eq("tolerated: the bad regex never matches", rx:match("/4", v), nil)
    T.eq("tolerated: ! negates the false comparison (as lua-resty-expr)", rx:match("/5", v), "m5")
    T.eq("tolerated: the bad path never matches", rx:match("/p/1/(x"), nil)
    T.eq("tolerated: the route's other path works", rx:match("/p/1/y"), "m6")
    T.eq("tolerated: three warnings", #warned, 3)
    T.eq("warning names a route without id by its paths", warned[1],
        'resty.radixtree: route with paths /4: field vars: ["arg_k","~~","[0"]: invalid regex "[0": '
            .. "unclosed character class (tolerated: this comparison is always false)")
    T.ok("warning names the route by id", warned[2] and warned[2]:find('route "neg": field vars: ["arg_k","!","~~","("]', 1, true),
        tostring(warned[2]))
    T.eq("warning names the path", warned[3],
        'resty.radixtree: route "path": field paths: /p/:id/(x: invalid regex: unclosed group '
            .. "(tolerated: this path never matches)")
    -- Errors lua-resty-radixtree raises too are still raised.
    T.raises("unknown operator still raises", "failed to handle expression: invalid operator 'xyz'",
        radix.new, { { paths = "/a", metadata = 1, vars = { { "arg_a", "xyz", 1 } } } })
    -- A tolerated route added later, and by update_route, warns too.
    warned = {}
    radix._log_warn = function(msg) warned[#warned + 1] = msg end
    rx:add_route({ id = "later", paths = "/later", metadata = 1, vars = { { "a", "~*", "+" } } })
    rx:update_route({ id = "later" }, { id = "later", paths = "/later", metadata = 2, vars = { { "a", "~~", "(" } } })
    radix._log_warn = nil
    T.eq("add_route and update_route warn", #warned, 2)
end

-- Typed vars: `has` on lists, numbers and booleans as lua-resty-expr
-- compares them (the callback hands them over typed).
T.routing(radix, {
    { "has (lua-resty-radixtree's vars.t)",
        routes = { { paths = "/aa", metadata = "metadata /aa", vars = { { "x", "has", "a" } } } },
        { "/aa", { vars = { x = { "a", "b" } } }, "metadata /aa" },
        { "/aa", { vars = { x = { "a" } } }, "metadata /aa" },
        { "/aa", { vars = { x = { "b" } } }, nil },
        { "/aa", { vars = { x = {} } }, nil },
        { "/aa", { vars = { x = "a" } }, nil },
        { "/aa", { vars = {} }, nil },
    },
    { "has compares as Lua does",
        routes = { { paths = "/n", metadata = "n", vars = { { "x", "has", 1 } } } },
        { "/n", { vars = { x = { 2, 1 } } }, "n" },
        { "/n", { vars = { x = { "1" } } }, nil },
        { "/n", { vars = { x = { { 1 } } } }, nil },
    },
    { "booleans and numbers",
        routes = {
            { paths = "/b", metadata = "b", vars = { { "flag", "==", true } } },
            { paths = "/ne", metadata = "ne", vars = { { "n", "~=", "5" } } },
            { paths = "/null", metadata = "null", vars = { { "x", "==", ngx and ngx.null or require("ffi").cast("void *", nil) } } },
        },
        { "/b", { vars = { flag = true } }, "b" },
        { "/b", { vars = { flag = "true" } }, nil },
        -- Lua: 5 ~= "5" holds.
        { "/ne", { vars = { n = 5 } }, "ne" },
        { "/ne", { vars = { n = "5" } }, nil },
        { "/null", { vars = {} }, "null" },
        { "/null", { vars = { x = print } }, nil },
    },
    { "{var, op, nil}: the operator with a nil value (vars.t TEST 17)",
        routes = { { paths = "/aa", metadata = "aa", vars = { { "arg_k", "~=", nil } } } },
        { "/aa", { vars = { arg_k = "v" } }, "aa" },
        { "/aa", { vars = {} }, nil },
    },
})

-- no_param_match per call, as lua-resty-radixtree takes it: new()'s for
-- its routes, add_route's for the added one (false when not given).
do
    local rx = radix.new({ { paths = "/t/:id", metadata = "text" } }, { no_param_match = true })
    rx:add_route({ paths = "/p/:id", metadata = "param" })
    rx:add_route({ paths = "/q/:id", metadata = "qtext" }, { no_param_match = true })
    T.eq("new's no_param_match", { rx:match("/t/:id"), rx:match("/t/1") }, { "text" })
    T.eq("add_route without opts: params", rx:match("/p/1"), "param")
    T.eq("add_route's no_param_match", { rx:match("/q/:id"), rx:match("/q/1") }, { "qtext" })
end

-- :ext: a prefix pattern whose `*` fills no segment reports none; a `*`
-- segment does, in the middle too.
T.routing(radix, {
    { ":ext",
        routes = {
            { paths = "/aa*", metadata = "aa" },
            { paths = "/m/*/b*", metadata = "mid" },
        },
        { "/aa/x", nil, "aa", { _path = "/aa*" } },
        { "/m/x/bbb", nil, "mid", { _path = "/m/*/b*", [":ext"] = "x" } },
    },
})

T.done()
