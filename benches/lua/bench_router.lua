-- Lookups per second through resty.radixtree (router-ffi/lua, LuaJIT FFI on
-- libradix_router) on the route sets of lua-resty-radixtree's benchmarks.
--
--   benches/lua/run.sh            # builds the release library, runs this
--   luajit benches/lua/bench_router.lua [quick]
--
-- Needs LUA_PATH to reach router-ffi/lua and RADIX_ROUTER_LIB to name the
-- library (run.sh sets both). "quick" runs fewer lookups (a smoke test).
--
-- The lua-resty-radixtree figures printed beside ours are NOT measured by
-- this script: lua-resty-radixtree cannot be installed here. They are the
-- ones recorded in benches/README.md ("Recorded before these benches"), measured with
-- its own benchmark scripts on this kind of machine (medians of 5).
--
-- Keys: lua-resty-radixtree's scripts use ngx.md5(i), which plain LuaJIT
-- lacks. hex_key(i) is 32 hex digits from two splitmix64 outputs, the same
-- keys as benches/router/main.rs: md5's shape (length, alphabet, spread), not
-- its values.

local ffi = require("ffi")
local bit = require("bit")
local radix = require("resty.radixtree")

ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } bench_router_timespec;
int clock_gettime(int clk_id, bench_router_timespec *tp);
]])

local ts = ffi.new("bench_router_timespec")
local CLOCK_MONOTONIC = 1

local function now()
    ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
    return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local function splitmix64(x)
    local z = x + 0x9E3779B97F4A7C15ULL
    z = bit.bxor(z, bit.rshift(z, 30)) * 0xBF58476D1CE4E5B9ULL
    z = bit.bxor(z, bit.rshift(z, 27)) * 0x94D049BB133111EBULL
    return bit.bxor(z, bit.rshift(z, 31))
end

local function hex_key(i)
    local x = ffi.cast("uint64_t", 2 * i)
    return bit.tohex(splitmix64(x), 16) .. bit.tohex(splitmix64(x + 1), 16)
end

local quick = arg and arg[1] == "quick"
local RUNS = quick and 1 or 5
local LOOKUPS = quick and 10000 or 1000000

-- Times `n` lookups of (path, opts), checking each result; returns seconds.
local function time_lookups(rx, path, opts, want, n)
    local t0 = now()
    for _ = 1, n do
        local got = rx:match(path, opts)
        if got ~= want then
            error(("%s: got %s, want %s"):format(path, tostring(got), tostring(want)))
        end
    end
    return now() - t0
end

local function median(xs)
    table.sort(xs)
    return xs[math.floor((#xs + 1) / 2)]
end

local function build(n, make)
    local routes = {}
    for i = 1, n do
        routes[i] = make(i)
    end
    local t0 = now()
    local rx = radix.new(routes)
    return rx, now() - t0
end

-- Peer figures: lua-resty-radixtree, recorded in benches/README.md (not this run).
-- `rate` in lookups/s; `target` is the ratio docs/performance.md asks of us.
local results = {}

local function run(name, rx, path, opts, want, peer_rate, target)
    -- Warm up (and let the trace compile) before timing.
    time_lookups(rx, path, opts, want, math.min(LOOKUPS, 100000))
    local rates = {}
    for r = 1, RUNS do
        rates[r] = LOOKUPS / time_lookups(rx, path, opts, want, LOOKUPS)
    end
    local best = math.max(unpack(rates))
    results[#results + 1] = {
        name = name, rate = median(rates), best = best, peer = peer_rate, target = target,
    }
    io.stderr:write(("done: %s\n"):format(name))
end

local N = 100000
local mid = N / 2

do
    local rx, secs = build(N, function(i)
        return { paths = { "/" .. hex_key(i) }, metadata = i }
    end)
    io.stderr:write(("built 100k static routes in %.0f ms\n"):format(secs * 1e3))
    run("static 100k", rx, "/" .. hex_key(mid), nil, mid, 9.47e6, 1)
    rx:free()
end

do
    local rx, secs = build(N, function(i)
        return { paths = { "/" .. hex_key(i) .. "/*" }, metadata = i }
    end)
    io.stderr:write(("built 100k prefix routes in %.0f ms\n"):format(secs * 1e3))
    run("prefix hit 100k", rx, "/" .. hex_key(mid) .. "/a", nil, mid, 1.38e6, 3)
    run("prefix miss 100k", rx, "/" .. hex_key(N + 7) .. "/a", nil, nil, 1.64e6, 3)
    rx:free()
end

do
    local rx, secs = build(N, function(i)
        return { paths = { "/user" .. i .. "/:name" }, metadata = i }
    end)
    io.stderr:write(("built 100k param routes in %.0f ms\n"):format(secs * 1e3))
    run("param 100k", rx, "/user" .. mid .. "/gordon", nil, mid, 2.36e6, 3)
    -- No recorded peer figure: the same with the params copied out (opts.matched).
    run("param 100k, opts.matched", rx, "/user" .. mid .. "/gordon", { matched = {} }, mid, nil, nil)
    rx:free()
end

do
    local rx = build(1000, function(i)
        return { paths = { "/foo" }, hosts = { "host" .. i .. ".com" }, metadata = i }
    end)
    run("1k hosts", rx, "/foo", { host = "host500.com" }, 500, 151e3, 50)
    rx:free()
    rx = build(1000, function(i)
        return { paths = { "/foo" }, hosts = { "*.host" .. i .. ".com" }, metadata = i }
    end)
    run("1k wildcard hosts", rx, "/foo", { host = "www.host500.com" }, 500, 114e3, 50)
    rx:free()
end

do
    -- Equal priorities go longest pattern first, then insertion order: res9
    -- is tried last, res10000 first.
    local rx = build(10000, function(i)
        return { paths = { "/api/:version/res" .. i }, metadata = i }
    end)
    run("10k shared prefix, last (res9)", rx, "/api/v1/res9", nil, 9, 1 / 42.8e-3, nil)
    run("10k shared prefix, first (res10000)", rx, "/api/v1/res10000", nil, 10000, 1 / 0.44e-6, nil)
    rx:free()
end

local function fmt_rate(r)
    if r == nil then
        return "-"
    elseif r >= 1e6 then
        return ("%.2fM/s"):format(r / 1e6)
    elseif r >= 1e3 then
        return ("%.0fk/s"):format(r / 1e3)
    end
    return ("%.1f/s"):format(r)
end

local function fmt_time(r)
    local s = 1 / r
    if s >= 1e-3 then
        return ("%.1f ms"):format(s * 1e3)
    elseif s >= 1e-6 then
        return ("%.2f us"):format(s * 1e6)
    end
    return ("%.0f ns"):format(s * 1e9)
end

print(("resty.radixtree on libradix_router (%s), LuaJIT %s, %s"):format(
    radix.lib_version and radix.lib_version() or "?", jit.version, quick and "quick run" or
    ("median of %d runs x %d lookups"):format(RUNS, LOOKUPS)))
print("lua-resty-radixtree column: figures recorded in benches/README.md, NOT measured in this run")
print()
print("ours: median of the runs (best run in brackets); ratio and target use the median")
print(("%-36s %12s %10s %12s %16s %10s %s"):format(
    "set", "ours", "per lookup", "(best)", "lua-resty (doc)", "ratio", "target"))
for _, r in ipairs(results) do
    local ratio, target = "-", ""
    if r.peer then
        ratio = ("%.1fx"):format(r.rate / r.peer)
    end
    if r.target then
        target = (">= %gx: %s"):format(r.target, r.rate / r.peer >= r.target and "met" or "NOT met")
    elseif r.name:find("shared prefix") then
        target = ("< 2 us: %s"):format(1 / r.rate < 2e-6 and "met" or "NOT met")
    end
    print(("%-36s %12s %10s %12s %16s %10s %s"):format(
        r.name, fmt_rate(r.rate), fmt_time(r.rate), "(" .. fmt_time(r.best) .. ")",
        r.peer and fmt_rate(r.peer) or "-", ratio, target))
end
