//! `t/multiple.t`: several paths, hosts and addresses in one route.

use super::{case, Case};

pub const CASES: &[Case] = &[
    case(
        "TEST 1: paths",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    { paths = {"/", "/*", "/aa"}, metadata = "metadata multipe", path = "/aa*" },
})
ngx.say(rx:match("/aa/bb"))
ngx.say(rx:match("/aa"))
ngx.say(rx:match("/xx"))
ngx.say(rx:match("/"))
"#,
        "metadata multipe\nmetadata multipe\nmetadata multipe\nmetadata multipe\n",
    ),
    case(
        "TEST 2: hosts",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    { paths = {"/aa*"}, metadata = "metadata /aa", hosts = {"foo.com", "*.bar.com"} },
})
ngx.say(rx:match("/aa/bb", {host = "foo.com"}))
ngx.say(rx:match("/aa/bb", {host = "bar.com"}))
ngx.say(rx:match("/aa/bb", {host = "www.bar.com"}))
ngx.say(rx:match("/aa/bb", {host = "ggg.com"}))
"#,
        "metadata /aa\nnil\nmetadata /aa\nnil\n",
    ),
    case(
        "TEST 3: remote_addrs",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    { paths = {"/aa"}, metadata = "metadata /aa",
      remote_addrs = {"127.0.0.1", "127.0.0.3", "::1", "::2", "192.168.0.0/16", "fe80::/16"} },
})
for _, addr in ipairs({"127.0.0.1", "127.0.0.2", "::2", "::3", "192.168.1.1",
                       "192.138.1.1", "fe80::1", "fe81::1"}) do
    ngx.say(rx:match("/aa", {remote_addr = addr}))
end
"#,
        "metadata /aa\nnil\nmetadata /aa\nnil\nmetadata /aa\nnil\nmetadata /aa\nnil\n",
    ),
];
