-- The no-vars/no-filter path compiles and allocates nothing; the callback
-- path stays out of traces. Run under luajit with the JIT on.
local T = require("t")
local radix = require("resty.radixtree")

T.ok("jit is on", (jit.status()))

local rx = radix.new({
    { paths = "/api/:version/users/:id", metadata = "user", hosts = "*.foo.com", methods = "GET" },
    { paths = "/static/*", metadata = "static" },
    { paths = "/exact", metadata = "exact", remote_addrs = "10.0.0.0/8" },
})

local aborts = {}
jit.attach(function(what, tr, func, pc, code, reason)
    if what == "abort" then
        local info = require("jit.util").funcinfo(func, pc)
        local src = info.source or "?"
        if src:find("radixtree.lua", 1, true) then
            aborts[#aborts + 1] = string.format("%s:%s: %s", src, tostring(info.currentline),
                type(reason) == "number" and require("jit.vmdef").traceerr[code] or tostring(code))
        end
    end
end, "trace")

local opts = { host = "a.foo.com", method = "GET", remote_addr = "10.1.1.1" }
local function loop(n)
    local hits = 0
    for _ = 1, n do
        if rx:match("/api/v1/users/42", opts) == "user" then hits = hits + 1 end
        if rx:match("/static/a/b.css", opts) == "static" then hits = hits + 1 end
        if rx:match("/exact", opts) == "exact" then hits = hits + 1 end
        if rx:match("/none", opts) == nil then hits = hits + 1 end
    end
    return hits
end

T.eq("warm-up", loop(2000), 8000)
collectgarbage()
collectgarbage("stop")
local before = collectgarbage("count")
T.eq("measured loop", loop(20000), 80000)
local grew = (collectgarbage("count") - before) * 1024
collectgarbage("restart")
jit.attach(function() end)
-- Interpreted, each match would box a uint64_t (about 32 bytes): 80,000
-- matches would allocate megabytes. Compiled, nothing.
T.ok("no allocation per match (" .. math.floor(grew) .. " bytes)", grew < 64 * 1024)
T.eq("no trace aborts in the module", aborts, {})

-- The callback path: a hot loop through jit.off code must just work.
local cb = radix.new({
    { paths = "/v/:id", vars = { { "arg_a", "==", "1" } }, metadata = "vars" },
    { paths = "/v/*", metadata = "fallback" },
})
local vopts = { vars = { arg_a = "1" } }
local nopts = { vars = { arg_a = "2" } }
local ok, hits = pcall(function()
    local h = 0
    for i = 1, 20000 do
        if cb:match("/v/" .. (i % 10), vopts) == "vars" then h = h + 1 end
        if cb:match("/v/x", nopts) == "fallback" then h = h + 1 end
    end
    return h
end)
T.ok("callback path in a hot loop", ok, tostring(hits))
T.eq("callback path results", hits, 40000)

T.done()
