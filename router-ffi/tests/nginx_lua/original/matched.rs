//! `t/matched.t`: prefix routes with conditions and opts.matched; paths
//! holding a newline.

use super::{case, Case};

pub const CASES: &[Case] = &[
    case(
        "TEST 1: prefix matching with method, and matched is not nil.",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    { paths = "/hello*", methods = {"GET"},
      metadata = "metadata prefix matching with GET, matched = {}" },
})
local opts = {method = "GET", matched = {}}
ngx.say(rx:match("/hello1", opts))
"#,
        "metadata prefix matching with GET, matched = {}\n",
    ),
    case(
        "TEST 2: prefix matching with host, and matched is not nil.",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    { paths = "/hello*", hosts = {"foo.com"},
      metadata = "metadata prefix matching with host, matched = {}" },
})
local opts = {host = "foo.com", matched = {}}
ngx.say(rx:match("/hello1", opts))
"#,
        "metadata prefix matching with host, matched = {}\n",
    ),
    case(
        "TEST 3: prefix matching with vars, and matched is not nil.",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    { paths = "/hello*", vars = { {"arg_k", "==", "v"} },
      metadata = "metadata prefix matching with host, matched = {}" },
})
local opts = {vars = ngx.var, matched = {}}
ngx.say(rx:match("/hello1", opts))
"#,
        "metadata prefix matching with host, matched = {}\n",
    )
    .request("GET /t?k=v"),
    case(
        "TEST 4: prefix matching with method, host, vars and matched is not nil.",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    { paths = "/hello*", hosts = {"foo.com"}, methods = {"GET"},
      vars = { {"arg_k", "==", "v"} },
      metadata = "metadata prefix matching with method, host, vars, matched = {}" },
})
local opts = { method = "GET", host = "foo.com", vars = ngx.var, matched = {} }
ngx.say(rx:match("/hello1", opts))
"#,
        "metadata prefix matching with method, host, vars, matched = {}\n",
    )
    .request("GET /t?k=v"),
    case(
        "TEST 5: get matched when callback route.handler after dispatch success",
        r#"
local json = require("toolkit.json")
local radix = require("resty.radixtree")
local rx = radix.new({
    { paths = "/hello*", hosts = {"foo.com"}, methods = {"GET"},
      vars = { {"arg_k", "==", "v"} },
      handler = function (opts)
          ngx.say("after dispatch success get matched: ", json.encode(opts.matched))
      end },
})
local opts = { method = "GET", host = "foo.com", vars = ngx.var, matched = {} }
rx:dispatch("/hello1", opts, opts)
"#,
        "after dispatch success get matched: {\"_host\":\"foo.com\",\"_method\":\"GET\",\"_path\":\"/hello*\"}\n",
    )
    .request("GET /t?k=v"),
    case(
        "TEST 6: match uri with '\\n'",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({ { paths = "*", metadata = "OK" } })
local opts = {method = "GET", matched = {}}
ngx.say(rx:match("/ip\nA", opts))
"#,
        "OK\n",
    ),
    case(
        "TEST 7: match uri with multiple '\\n'",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({ { paths = "*", metadata = "OK" } })
local opts = {method = "GET", matched = {}}
ngx.say(rx:match("/ip\ni\ni", opts))
"#,
        "OK\n",
    ),
];
