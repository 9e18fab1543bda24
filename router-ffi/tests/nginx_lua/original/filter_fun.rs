//! `t/filter-fun.t`: filter_fun gets (vars, opts, ...dispatch arguments).

use super::{case, Case};

pub const CASES: &[Case] = &[
    case(
        "TEST 1: sanity",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    {
        paths = "/aa",
        metadata = "metadata /aa",
        filter_fun = function(vars)
            ngx.log(ngx.WARN, "start to filter")
            return vars['arg_k'] == 'v'
        end
    }
})
ngx.say(rx:match("/aa", {vars = ngx.var}))
ngx.say(rx:match("/aa", {}))
"#,
        "metadata /aa\nmetadata /aa\n",
    )
    .request("GET /t?k=v")
    .log(&["start to filter"]),
    case(
        "TEST 2: not hit",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    {
        paths = "/aa",
        metadata = "metadata /aa",
        filter_fun = function(vars)
            ngx.log(ngx.WARN, "start to filter")
            return vars['arg_k'] == 'v'
        end
    }
})
ngx.say(rx:match("/aa", {vars = ngx.var}))
ngx.say(rx:match("/aa", {}))
"#,
        "nil\nnil\n",
    )
    .request("GET /t?k=not-hit")
    .log(&["start to filter"]),
    case(
        "TEST 3: match(path, opts)",
        r#"
local opts = {vars = ngx.var}
local radix = require("resty.radixtree")
local rx = radix.new({
    {
        paths = "/aa",
        metadata = "metadata /aa",
        filter_fun = function(vars, opt, ...)
            ngx.log(ngx.WARN, "start to filter, opt: ", opts == opt)
            return vars['arg_k'] == 'v'
        end
    }
})
ngx.say(rx:match("/aa", opts))
ngx.say(rx:match("/aa", {}))
"#,
        "metadata /aa\nmetadata /aa\n",
    )
    .request("GET /t?k=v")
    .log(&["start to filter, opt: true", "start to filter, opt: false"]),
    case(
        "TEST 4: dispatch(path, opt, ...)",
        r#"
local opts = {vars = ngx.var}
local radix = require("resty.radixtree")
local rx = radix.new({
    {
        paths = "/aa",
        filter_fun = function(vars, opt, ...)
            ngx.log(ngx.WARN, "start to filter, opt: ", opt == opts)
            return vars['arg_k'] == 'v'
        end,
        handler = function (...)
            ngx.say("handler /aa")
        end,
    }
})
ngx.say(rx:dispatch("/aa", opts))
ngx.say(rx:dispatch("/aa", {}))
"#,
        "handler /aa\ntrue\nhandler /aa\ntrue\n",
    )
    .request("GET /t?k=v")
    .log(&["start to filter, opt: true", "start to filter, opt: false"]),
    case(
        "TEST 5: dispatch(path, opt, ...) with nil arg",
        r#"
local opts = {vars = ngx.var}
local radix = require("resty.radixtree")
local rx = radix.new({
    {
        paths = "/aa",
        filter_fun = function(vars, opt, a, b, c)
            ngx.log(ngx.WARN, "get arguments: ", a, ",", b, ",", c)
            return true
        end,
        handler = function (...)
            ngx.say("handler /aa")
        end,
    }
})
ngx.say(rx:dispatch("/aa", opts, 1, nil, 3))
"#,
        "handler /aa\ntrue\n",
    )
    .log(&["get arguments: 1,nil,3"]),
];
