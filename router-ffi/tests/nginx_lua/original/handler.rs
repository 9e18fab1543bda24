//! `t/handler.t`: dispatch calls the handler and returns true.

use super::{case, Case};

pub const CASES: &[Case] = &[
    case(
        "TEST 1: sanity",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    { paths = "/", handler = function (ctx) ngx.say("handler /") end },
    { paths = "/*", handler = function (ctx) ngx.say("handler /*") end },
    { paths = "/aa", handler = function (ctx) ngx.say("handler /aa") end },
    { paths = "/aa*", handler = function (ctx) ngx.say("handler /aa*") end },
})
ngx.say(rx:dispatch("/aa/bb"))
ngx.say(rx:dispatch("/aa"))
ngx.say(rx:dispatch("/xx"))
ngx.say(rx:dispatch("/"))
"#,
        "handler /aa*\ntrue\nhandler /aa\ntrue\nhandler /*\ntrue\nhandler /\ntrue\n",
    ),
    case(
        "TEST 2: prefix",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    { paths = "/aa*", handler = function (n) ngx.say("handler /aa*", n) end },
})
ngx.say(rx:dispatch("/aa/bb", nil, 1))
ngx.say(rx:dispatch("/aa", nil, 2))
ngx.say(rx:dispatch("/", nil, 3))
"#,
        "handler /aa*1\ntrue\nhandler /aa*2\ntrue\nnil\n",
    ),
    case(
        "TEST 3: multiple route",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    { paths = "/aa*", handler = function () ngx.say("handler /aa*") end },
    { paths = "/bb*", handler = function () ngx.say("handler /bb*") end },
})
ngx.say(rx:dispatch("/"))
ngx.say(rx:dispatch("/aa"))
ngx.say(rx:dispatch("/aa/"))
ngx.say(rx:dispatch("/aa/bb"))
"#,
        "nil\nhandler /aa*\ntrue\nhandler /aa*\ntrue\nhandler /aa*\ntrue\n",
    ),
    case(
        "TEST 4: multiple route",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    { paths = "/aa", handler = function () ngx.say("handler /aa") end },
    { paths = "/aa/bb", handler = function () ngx.say("handler /bb") end },
    { paths = "/aa/bb/cc", handler = function () ngx.say("handler /aa/bb/cc") end },
})
ngx.say(rx:dispatch("/aa/bb/cc"))
"#,
        "handler /aa/bb/cc\ntrue\n",
    ),
    case(
        "TEST 5: use `method` to filter route(prefix path)",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    { paths = "/aa*", handler = function () ngx.say("handler /aa*") end },
    { paths = "/aa/bb*", handler = function () ngx.say("handler /aa/bb*") end },
    { paths = "/aa/bb/cc*", methods = {"POST", "PUT"},
      handler = function () ngx.say("handler /aa/bb/cc*") end },
})
ngx.say(rx:dispatch("/aa/bb/cc", {method = "GET"}))
ngx.say(rx:dispatch("/aa/bb/cc", {method = "OPTIONS"}))
ngx.say(rx:dispatch("/aa/bb/cc", {method = "POST"}))
"#,
        "handler /aa/bb*\ntrue\nhandler /aa/bb*\ntrue\nhandler /aa/bb/cc*\ntrue\n",
    ),
    case(
        "TEST 6: use `method` to filter route(path)",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    { paths = "/aa", handler = function () ngx.say("handler /aa") end },
    { paths = "/aa/bb", handler = function () ngx.say("handler /aa/bb") end },
    { paths = "/aa/bb/cc", methods = {"POST", "PUT"},
      handler = function () ngx.say("handler /aa/bb/cc") end },
})
ngx.say(rx:dispatch("/aa/bb/cc", {method = "GET"}))
ngx.say(rx:dispatch("/aa/bb/cc", {method = "OPTIONS"}))
ngx.say(rx:dispatch("/aa/bb/cc", {method = "POST"}))
"#,
        "nil\nnil\nhandler /aa/bb/cc\ntrue\n",
    ),
];
