//! `t/vars.t`: vars expressions on ngx.var and on tables: ==, ~=, >, ~~,
//! in, has, invalid operators and regexes.

use super::{case, Case};

/// One `/aa` route with `$vars`, then `ngx.say(rx:match("/aa", $opts))`
/// for each opts.
macro_rules! vars {
    ($name:literal, $vars:literal, [$($opts:literal),*], $body:literal) => {
        case(
            $name,
            concat!(
                r#"
local radix = require("resty.radixtree")
local rx = radix.new({ { paths = "/aa", metadata = "metadata /aa", vars = "#,
                $vars,
                " } })\n",
                $("ngx.say(rx:match(\"/aa\", ", $opts, "))\n",)*
            ),
            $body,
        )
    };
}

pub const CASES: &[Case] = &[
    vars!(
        "TEST 1: uri args",
        r#"{ {"arg_k", "==", "v"} }"#,
        ["{vars = ngx.var}"],
        "metadata /aa\n"
    )
    .request("GET /t?k=v"),
    vars!(
        "TEST 2: uri args(not hit)",
        r#"{ {"arg_k", "v"} }"#,
        ["{vars = ngx.var}"],
        "nil\n"
    )
    .request("GET /t?k=not_hit"),
    vars!(
        "TEST 3: http header",
        r#"{ {"http_test", "==", "v"} }"#,
        ["{vars = ngx.var}"],
        "metadata /aa\n"
    )
    .headers(&["test: v"]),
    vars!(
        "TEST 4: http header(not hit)",
        r#"{ {"http_test", "v"} }"#,
        ["{vars = ngx.var}"],
        "nil\n"
    )
    .headers(&["test: not-hit"]),
    vars!(
        "TEST 5: uri args + header + server_port",
        r#"{ {"arg_k", "==", "v"}, {"host", "==", "localhost"}, {"server_port", "==", "$PORT"} }"#,
        ["{vars = ngx.var}"],
        "metadata /aa\n"
    )
    .request("GET /t?k=v"),
    vars!(
        "TEST 6: uri args + header + server_port (not hit)",
        r#"{ {"arg_k", "v"}, {"host", "localhost"}, {"server_port", "1984-not"} }"#,
        ["{vars = ngx.var}"],
        "nil\n"
    )
    .request("GET /t?k=v"),
    vars!(
        "TEST 7: uri args + header + server_port (default to use ngx.var)",
        r#"{ {"arg_k", "==", "v"}, {"host", "==", "localhost"}, {"server_port", "==", "$PORT"} }"#,
        ["{}"],
        "metadata /aa\n"
    )
    .request("GET /t?k=v"),
    vars!(
        "TEST 8: ~=: not hit",
        r#"{ {"arg_k", "~=", "v"} }"#,
        ["{vars = ngx.var}"],
        "nil\n"
    )
    .request("GET /t?k=v"),
    vars!(
        "TEST 9: ~=: hit",
        r#"{ {"arg_k", "~=", "************"} }"#,
        ["{vars = ngx.var}"],
        "metadata /aa\n"
    )
    .request("GET /t?k=v"),
    vars!(
        "TEST 10: argument `a` > 10",
        r#"{ {"arg_k", ">", 10} }"#,
        ["{vars = ngx.var}"],
        "metadata /aa\n"
    )
    .request("GET /t?k=11"),
    vars!(
        "TEST 11: argument `a` > 10",
        r#"{ {"arg_k", ">", 10} }"#,
        ["{vars = ngx.var}"],
        "nil\n"
    )
    .request("GET /t?k=9"),
    case(
        "TEST 12: invalid operator",
        r#"
local radix = require("resty.radixtree")
local ok, err = pcall(radix.new, {
    { paths = "/aa", metadata = "metadata /aa", vars = { {"arg_k", "invalid", 10} } },
})
ngx.say(ok, " ", err)
"#,
        "failed to handle expression: invalid operator 'invalid'",
    )
    .like()
    .request("GET /t?k=9"),
    case(
        "TEST 13: uri args",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    { paths = "/aa", metadata = "metadata /aa", vars = { {"arg_k", "==", "v"} } },
    { paths = "/aa", metadata = "metadata /aa2", vars = { {"arg_k", "~=", "not hit"} } },
})
ngx.say(rx:match("/aa", {vars = ngx.var}))
"#,
        "metadata /aa\n",
    )
    .request("GET /t?k=v"),
    case(
        "TEST 14: uri args",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    { paths = "/aa", metadata = "metadata /aa", vars = { {"arg_k", "v"} } },
    { paths = "/aa", metadata = "metadata /aa2", vars = { {"arg_k", "~=", "not hit"} } },
})
ngx.say(rx:match("/aa", {vars = ngx.var}))
"#,
        "metadata /aa2\n",
    )
    .request("GET /t?k=xxxx"),
    case(
        "TEST 15: uri args",
        r#"
local radix = require("resty.radixtree")
local routes = {}
for i, reg in ipairs({"[0-9]+", "^1[0-9]+", "[1-3]+", "^[1-3]+",
                      "^2[0-9]+", "[1-3]+$", "[a-z]+", "[0"}) do
    routes[i] = {
        paths = "/" .. i,
        metadata = "metadata /" .. i,
        vars = { {"arg_k", "~~", reg} },
    }
end
local rx = radix.new(routes)
for i = 1, 8 do
    ngx.say(rx:match("/" .. i, {vars = ngx.var}))
end
"#,
        "metadata /1\nmetadata /2\nmetadata /3\nmetadata /4\nnil\nnil\nnil\nnil\n",
    )
    .request("GET /t?k=1234")
    .log(&[
        "[warn]",
        r#"resty.radixtree: route with paths /8: field vars: ["arg_k","~~","[0"]: invalid regex"#,
    ])
    .differs(
        "the invalid regex `[0` is tolerated as there (the route is built, the comparison \
         is false); this module also warns, naming the route and the expression, where the \
         original says nothing",
    ),
    vars!(
        "TEST 16: have no uri args",
        r#"{ {"arg_k", ">", 10} }"#,
        ["{vars = {}}"],
        "nil\n"
    ),
    vars!(
        "TEST 17: ~= nil",
        r#"{ {"arg_k", "~=", nil} }"#,
        ["{vars = ngx.var}"],
        "metadata /aa\n"
    )
    .request("GET /t?k=v"),
    vars!(
        "TEST 18: IN: hit",
        r#"{ {"arg_k", "in", {'1','2'}} }"#,
        [
            "{vars = ngx.var}",
            "{vars = {arg_k='2'}}",
            "{vars = {arg_k='4'}}",
            "{vars = {}}",
            "{vars = {arg_k=nil}}"
        ],
        "metadata /aa\nmetadata /aa\nnil\nnil\nnil\n"
    )
    .request("GET /t?k=1"),
    vars!(
        "TEST 19: operator has",
        r#"{ {"x", "has", "a"} }"#,
        [
            "{vars = {x = {'a', 'b'}}}",
            "{vars = {x = {'a'}}}",
            "{vars = {x = {'b'}}}",
            "{vars = {x = {}}}"
        ],
        "metadata /aa\nmetadata /aa\nnil\nnil\n"
    ),
];
