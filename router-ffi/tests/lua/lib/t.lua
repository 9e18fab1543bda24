-- A tiny test helper for the resty.radixtree scripts: records failures,
-- prints each one, and exits non-zero at the end when any case failed.

local T = { failed = 0, passed = 0, n_pending = 0 }

local function show(v, depth)
    depth = depth or 0
    if type(v) == "string" then
        return string.format("%q", v)
    end
    if type(v) ~= "table" or depth > 3 then
        return tostring(v)
    end
    local keys = {}
    for k in pairs(v) do
        keys[#keys + 1] = k
    end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    local parts = {}
    for _, k in ipairs(keys) do
        parts[#parts + 1] = "[" .. show(k) .. "]=" .. show(v[k], depth + 1)
    end
    return "{" .. table.concat(parts, ", ") .. "}"
end
T.show = show

local function deep_eq(a, b)
    if type(a) ~= "table" or type(b) ~= "table" then
        return a == b
    end
    for k, v in pairs(a) do
        if not deep_eq(v, b[k]) then return false end
    end
    for k in pairs(b) do
        if a[k] == nil then return false end
    end
    return true
end
T.deep_eq = deep_eq

function T.fail(name, msg)
    T.failed = T.failed + 1
    io.stdout:write("FAIL ", name, ": ", msg, "\n")
end

function T.ok(name, cond, msg)
    if cond then
        T.passed = T.passed + 1
    else
        T.fail(name, msg or "condition is false")
    end
end

function T.eq(name, got, want)
    if deep_eq(got, want) then
        T.passed = T.passed + 1
    else
        T.fail(name, "got " .. show(got) .. ", want " .. show(want))
    end
end

-- `fn` must raise an error whose text contains `want` (plain text).
function T.raises(name, want, fn, ...)
    local ok, err = pcall(fn, ...)
    if ok then
        T.fail(name, "no error, want one containing " .. show(want))
    elseif not string.find(tostring(err), want, 1, true) then
        T.fail(name, "error " .. show(err) .. ", want one containing " .. show(want))
    else
        T.passed = T.passed + 1
    end
    return err
end

-- A case that documents a known gap: printed, never failing the run.
function T.pending(name, why)
    T.n_pending = T.n_pending + 1
    io.stdout:write("PENDING ", name, ": ", why, "\n")
end

-- Runs a table of routing cases. Each case:
--   { "name", routes = {...}, ropts = {...} (router options),
--     { path, opts, want [, matched] }, ... }
-- `want` is the metadata expected (nil for no match); when `matched` is
-- given, opts.matched must equal it after the call.
function T.routing(radix, cases)
    for _, case in ipairs(cases) do
        local name = case[1]
        local ok, rx = pcall(radix.new, case.routes, case.ropts)
        if not ok then
            T.fail(name, "new() raised " .. show(rx))
        else
            for i = 2, #case do
                local c = case[i]
                local path, opts, want, matched = c[1], c[2] or {}, c[3], c[4]
                if matched ~= nil then
                    opts.matched = {}
                end
                local label = name .. " #" .. (i - 1) .. " " .. show(path)
                local mok, got = pcall(rx.match, rx, path, opts)
                if not mok then
                    T.fail(label, "match raised " .. show(got))
                elseif got ~= want then
                    T.fail(label, "got " .. show(got) .. ", want " .. show(want))
                elseif matched ~= nil and not deep_eq(opts.matched, matched) then
                    T.fail(label, "matched " .. show(opts.matched) .. ", want " .. show(matched))
                else
                    T.passed = T.passed + 1
                end
            end
        end
    end
end

function T.done()
    io.stdout:write(string.format("%s: %d passed, %d failed, %d pending\n",
        arg and arg[0] or "?", T.passed, T.failed, T.n_pending))
    os.exit(T.failed == 0 and 0 or 1)
end

return T
