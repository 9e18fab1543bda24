//! `t/add.t`: add_route (with its own options), hosts with a port.

use super::{case, Case};

/// The route of the original's synopsis, used by add.t, update.t, delete.t.
macro_rules! synopsis_router {
    () => {
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    {
        paths = {"/aa", "/bb*", "/name/:name/*other"},
        hosts = {"*.bar.com", "foo.com"},
        methods = {"GET", "POST", "PUT"},
        remote_addrs = {"127.0.0.1","192.168.0.0/16", "::1", "fe80::/32"},
        vars = {
            {"arg_name", "==", "json"},
            {"arg_weight", ">", 10},
        },
        filter_fun = function(vars, opts)
            return vars["arg_name"] == "json"
        end,
        metadata = "metadata /bb",
    }
})
local router_opts = { no_param_match = true }
local add_opts = {
    id = "00000000000024216171",
    paths = {"/abc/123*", "/def"},
    hosts = {"*.love.com", "angel.com"},
    methods = {"GET", "POST", "PUT"},
    remote_addrs = {"127.0.0.1","192.168.0.0/16", "::1", "fe80::/32"},
    vars = {
        {"arg_name", "==", "json"},
        {"arg_weight", ">", 10},
    },
    filter_fun = function(vars, opts)
        return vars["arg_name"] == "json"
    end,
    metadata = "metadata add route succeed.",
}
rx:add_route(add_opts, router_opts)
"#
    };
}
pub(crate) use synopsis_router;

/// One host:port case: `hosts` and opts' `http_host`, dispatch's output.
macro_rules! host_port {
    ($name:literal, $http_host:literal, $host:literal, $hosts:literal, $body:literal) => {
        case(
            $name,
            concat!(
                r#"
local opts = {vars = {http_host = ""#,
                $http_host,
                r#""}, host = ""#,
                $host,
                r#""}
local radix = require("resty.radixtree")
local rx = radix.new({
    {
        paths = {"/aa*"},
        hosts = "#,
                $hosts,
                r#",
        handler = function (ctx)
            ngx.say("pass")
        end
    }
})
ngx.say(rx:dispatch("/aa", opts))
"#
            ),
            $body,
        )
    };
}

pub const CASES: &[Case] = &[
    case(
        "TEST 1: test add",
        concat!(
            synopsis_router!(),
            r#"
local opts = {
    host = "abc.love.com",
    method = "GET",
    remote_addr = "127.0.0.1",
    vars = ngx.var,
}
ngx.log(ngx.ERR, "check:", add_opts["hosts"][1], add_opts["paths"][1], opts["host"])
ngx.say(rx:match("/abc/123456aa", opts))
"#
        ),
        "metadata add route succeed.\n",
    )
    .request("GET /t?name=json&weight=20")
    .log(&["check:*.love.com/abc/123*abc.love.com"])
    .no_log(&[]),
    host_port!(
        "TEST 2: test host and port",
        "127.0.0.1:9080",
        "127.0.0.1",
        r#"{"127.0.0.1:9080"}"#,
        "pass\ntrue\n"
    ),
    host_port!(
        "TEST 3: test domain and port",
        "www.foo.com:9080",
        "www.foo.com",
        r#""www.foo.com:9080""#,
        "pass\ntrue\n"
    ),
    host_port!(
        "TEST 4: match failed",
        "127.0.0.1",
        "127.0.0.1",
        r#""127.0.0.1:9080""#,
        "nil\n"
    ),
    host_port!(
        "TEST 5: match success",
        "127.0.0.1:9080",
        "127.0.0.1",
        r#""127.0.0.1""#,
        "pass\ntrue\n"
    ),
    host_port!(
        "TEST 6: match many host",
        "127.0.0.1:9980",
        "127.0.0.1",
        r#"{"www.foo.com:9080", "127.0.0.1:9991", "www.bar.com:9200", "127.0.0.1"}"#,
        "pass\ntrue\n"
    ),
];
