//! `t/sanity.t`: exact, prefix and `*` routes, methods, missing options.

use super::{case, Case};

pub const CASES: &[Case] = &[
    case(
        "TEST 1: sanity",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    { paths = {"/"}, metadata = "metadata /" },
    { paths = {"/*"}, metadata = "metadata /*" },
    { paths = {"/aa"}, metadata = "metadata /aa" },
    { paths = {"/aa*"}, metadata = "metadata /aa*" },
})
ngx.say(rx:match("/aa/bb"))
ngx.say(rx:match("/aa"))
ngx.say(rx:match("/xx"))
ngx.say(rx:match("/"))
"#,
        "metadata /aa*\nmetadata /aa\nmetadata /*\nmetadata /\n",
    ),
    case(
        "TEST 2: prefix",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    { paths = {"/aa*"}, metadata = "metadata /aa" },
})
ngx.say(rx:match("/aa/bb"))
ngx.say(rx:match("/aa"))
ngx.say(rx:match("/"))
"#,
        "metadata /aa\nmetadata /aa\nnil\n",
    ),
    case(
        "TEST 3: multiple route",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    { paths = {"/aa*"}, metadata = "metadata /aa" },
    { paths = "/bb*", metadata = "metadata /bb" },
})
ngx.say(rx:match("/"))
ngx.say(rx:match("/aa"))
ngx.say(rx:match("/aa/"))
ngx.say(rx:match("/aa/bb"))
"#,
        "nil\nmetadata /aa\nmetadata /aa\nmetadata /aa\n",
    ),
    case(
        "TEST 4: multiple route",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    { paths = "/aa", metadata = "metadata /aa" },
    { paths = "/aa/bb", metadata = "metadata /aa/bb" },
    { paths = "/aa/bb/cc", metadata = "metadata /aa/bb/cc" },
})
ngx.say(rx:match("/aa/bb/cc"))
"#,
        "metadata /aa/bb/cc\n",
    ),
    case(
        "TEST 5: use `method` to filter route(prefix path)",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    { paths = {"/aa*"}, metadata = "metadata /aa" },
    { paths = {"/aa/bb*"}, metadata = "metadata /aa/bb" },
    { paths = {"/aa/bb/cc*"}, methods = {"POST", "PUT"}, metadata = "metadata /aa/bb/cc" },
})
ngx.say(rx:match("/aa/bb/cc", {method = "GET"}))
ngx.say(rx:match("/aa/bb/cc", {method = "OPTIONS"}))
ngx.say(rx:match("/aa/bb/cc", {method = "POST"}))
"#,
        "metadata /aa/bb\nmetadata /aa/bb\nmetadata /aa/bb/cc\n",
    ),
    case(
        "TEST 6: use `method` to filter route(path)",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    { paths = {"/aa"}, metadata = "metadata /aa" },
    { paths = {"/aa/bb"}, metadata = "metadata /aa/bb" },
    { paths = {"/aa/bb/cc"}, methods = {"POST", "PUT"}, metadata = "metadata /aa/bb/cc" },
})
ngx.say(rx:match("/aa/bb/cc", {method = "GET"}))
ngx.say(rx:match("/aa/bb/cc", {method = "OPTIONS"}))
ngx.say(rx:match("/aa/bb/cc", {method = "POST"}))
"#,
        "nil\nnil\nmetadata /aa/bb/cc\n",
    ),
    case(
        "TEST 7: missing options when matching",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    {
        paths = {"/aa"},
        hosts = {"foo.com"},
        methods = {"GET", "POST"},
        remote_addrs = {"127.0.0.1"},
        metadata = "metadata /aa",
    },
    {
        paths = {"/bb*"},
        metadata = {"metadata /bb"},
        hosts = {"*.bar.com", "gloo.com"},
        methods = {"GET", "POST", "PUT"},
        remote_addrs = "fe80:fe80::/64",
    }
})
ngx.say(rx:match("/aa", {host = "foo.com", method = "GET", remote_addr = "127.0.0.1"}))
ngx.say(rx:match("/aa", {host = "foo.com", remote_addr = "127.0.0.1"}))
ngx.say(rx:match("/aa", {method = "GET", remote_addr = "127.0.0.1"}))
ngx.say(rx:match("/aa", {host = "foo.com", method = "GET"}))
"#,
        "metadata /aa\nnil\nnil\nnil\n",
    ),
    case(
        "TEST 8: method: CONNECT",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    { paths = {"/aa"}, methods = {"CONNECT"}, metadata = "metadata /aa" },
    { paths = {"/aa*"}, methods = {"PUT"}, metadata = "metadata /aa*" },
})
ngx.say(rx:match("/aa", {method = "CONNECT"}))
ngx.say(rx:match("/aa/bb", {method = "CONNECT"}))
ngx.say(rx:match("/aa", {method = "GET"}))
ngx.say(rx:match("/aa/bb", {method = "GET"}))
"#,
        "metadata /aa\nnil\nnil\nnil\n",
    ),
    case(
        "TEST 9: method: TRACE",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    { paths = {"/aa"}, methods = {"TRACE"}, metadata = "metadata /aa" },
    { paths = {"/aa*"}, methods = {"PUT"}, metadata = "metadata /aa*" },
})
ngx.say(rx:match("/aa", {method = "TRACE"}))
ngx.say(rx:match("/aa/bb", {method = "TRACE"}))
ngx.say(rx:match("/aa", {method = "GET"}))
ngx.say(rx:match("/aa/bb", {method = "GET"}))
"#,
        "metadata /aa\nnil\nnil\nnil\n",
    ),
    case(
        "TEST 10: method: PURGE",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    { paths = {"/aa"}, methods = {"PURGE"}, metadata = "metadata /aa" },
    { paths = {"/aa*"}, methods = {"PUT"}, metadata = "metadata /aa*" },
})
ngx.say(rx:match("/aa", {method = "PURGE"}))
ngx.say(rx:match("/aa/bb", {method = "PURGE"}))
ngx.say(rx:match("/aa", {method = "GET"}))
ngx.say(rx:match("/aa/bb", {method = "GET"}))
"#,
        "metadata /aa\nnil\nnil\nnil\n",
    ),
    case(
        "TEST 11: Iterator",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    { paths = {"/*"}, metadata = "metadata /*" },
    { paths = {"/aa/*"}, metadata = "metadata /aa" },
    { paths = {"/bb/*"}, methods = {"PUT"}, metadata = "metadata /bb/*" },
    { paths = {"/bb/aa/*"}, methods = {"PUT"}, metadata = "metadata /bb/aa/*" },
})
ngx.say(rx:match("/bb/aa/bb"))
"#,
        "metadata /*\n",
    ),
];
