-- toolkit.json for the ported lua-resty-radixtree tests: encode() with the
-- keys sorted (so output is stable) and an empty table as `[]`, as the
-- original's tests expect; slashes are not escaped.
local type, pairs, tostring, concat, sort = type, pairs, tostring, table.concat, table.sort
local format, gsub = string.format, string.gsub

local _M = {}

local function str(s)
    return '"' .. gsub(s, '[%c"\\]', function(c)
        if c == '"' then return '\\"' end
        if c == "\\" then return "\\\\" end
        if c == "\n" then return "\\n" end
        return format("\\u%04x", c:byte())
    end) .. '"'
end

local function encode(v)
    local t = type(v)
    if t == "string" then
        return str(v)
    elseif t == "number" or t == "boolean" then
        return tostring(v)
    elseif t == "table" then
        if next(v) == nil then
            return "[]"
        end
        if v[1] ~= nil then
            local out = {}
            for i = 1, #v do
                out[i] = encode(v[i])
            end
            return "[" .. concat(out, ",") .. "]"
        end
        local keys = {}
        for k in pairs(v) do
            keys[#keys + 1] = tostring(k)
        end
        sort(keys)
        local out = {}
        for i, k in ipairs(keys) do
            out[i] = str(k) .. ":" .. encode(v[k])
        end
        return "{" .. concat(out, ",") .. "}"
    end
    return "null"
end

_M.encode = encode

return _M
