-- resty.radixtree.json: the JSON text of a `vars` expression (the router
-- takes vars as JSON). Strings (escaped), finite numbers, booleans, arrays,
-- string-keyed tables, and nil/ngx.null/cjson.null as null.

local ffi = require("ffi")

local ffi_cast = ffi.cast
local type = type
local tostring = tostring
local pcall = pcall
local pairs = pairs
local str_format = string.format
local str_gsub = string.gsub
local concat = table.concat
local floor = math.floor
local huge = math.huge

local ngx = ngx -- nil outside nginx
local ngx_null = ngx and ngx.null

local escapes = {
    ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f',
    ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t',
}

local function escape_char(c)
    return escapes[c] or str_format("\\u%04x", c:byte())
end

local function is_null(v)
    if v == nil or (ngx_null ~= nil and v == ngx_null) then
        return true
    end
    -- cjson.null and ngx.null are lightuserdata NULL.
    local tv = type(v)
    if tv == "userdata" then
        local ok, p = pcall(ffi_cast, "void *", v)
        return ok and p == nil
    end
    if tv == "cdata" then
        return v == nil
    end
    return false
end

local encode_value

local function encode_table(t, out, depth)
    if depth > 64 then
        return nil, "vars nested too deeply"
    end
    local max, count = 0, 0
    for k in pairs(t) do
        count = count + 1
        if type(k) == "number" and k > 0 and k == floor(k) then
            if k > max then max = k end
        else
            max = -1
            break
        end
    end
    if count == 0 or max >= 0 then
        if max > 2 * count + 16 then
            return nil, "vars hold a sparse array"
        end
        out[#out + 1] = "["
        for i = 1, max do
            if i > 1 then out[#out + 1] = "," end
            local ok, err = encode_value(t[i], out, depth + 1)
            if not ok then return nil, err end
        end
        out[#out + 1] = "]"
        return true
    end
    out[#out + 1] = "{"
    local first = true
    for k, v in pairs(t) do
        if type(k) ~= "string" then
            return nil, "vars hold a table with mixed keys"
        end
        if not first then out[#out + 1] = "," end
        first = false
        out[#out + 1] = '"' .. str_gsub(k, '[%c"\\]', escape_char) .. '":'
        local ok, err = encode_value(v, out, depth + 1)
        if not ok then return nil, err end
    end
    out[#out + 1] = "}"
    return true
end

function encode_value(v, out, depth)
    local tv = type(v)
    if tv == "string" then
        out[#out + 1] = '"' .. str_gsub(v, '[%c"\\]', escape_char) .. '"'
    elseif tv == "number" then
        if v ~= v or v == huge or v == -huge then
            return nil, "vars hold the number " .. tostring(v) .. ", which JSON cannot carry"
        end
        if v == floor(v) and v > -2 ^ 53 and v < 2 ^ 53 then
            out[#out + 1] = str_format("%d", v)
        else
            out[#out + 1] = str_format("%.17g", v)
        end
    elseif tv == "boolean" then
        out[#out + 1] = v and "true" or "false"
    elseif tv == "table" then
        return encode_table(v, out, depth)
    elseif is_null(v) then
        out[#out + 1] = "null"
    else
        return nil, "vars hold a " .. tv .. ", which JSON cannot carry"
    end
    return true
end

-- JSON text of a Lua value (strings, numbers, booleans, arrays, string-keyed
-- tables, nil/ngx.null/cjson.null), or nil and the problem.
local function json_encode(v)
    local out = {}
    local ok, err = encode_value(v, out, 0)
    if not ok then
        return nil, err
    end
    return concat(out)
end

return { encode = json_encode }
