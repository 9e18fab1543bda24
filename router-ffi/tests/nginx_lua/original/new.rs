//! `t/new.t`: the README's route, matched with ngx.var.

use super::{case, Case};

pub const CASES: &[Case] = &[case(
    "TEST 1: uri args",
    r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    {
        paths = {"/aa", "/bb*"},
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
local opts_check = {
    host = "foo.com",
    method = "GET",
    remote_addr = "127.0.0.1",
    vars = ngx.var,
}
ngx.say(rx:match("/aa", opts_check))
"#,
    "metadata /bb\n",
)
.request("GET /t?name=json&weight=20")
.no_log(&[])];
