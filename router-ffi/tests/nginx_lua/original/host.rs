//! `t/host.t`: exact and wildcard hosts, case, `_host` in opts.matched.

use super::{case, Case};

/// A `/aa*` route with `$hosts`, then `ngx.say(rx:match(...))` for each host.
macro_rules! hosts {
    ($name:literal, $hosts:literal, [$($host:literal),*], $tail:literal, $body:literal) => {
        case(
            $name,
            concat!(
                r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    { paths = {"/aa*"}, metadata = "metadata /aa", hosts = "#,
                $hosts,
                " },\n})\n",
                $("ngx.say(rx:match(\"/aa/bb\", {host = \"", $host, "\"}))\n",)*
                $tail
            ),
            $body,
        )
    };
}

pub const CASES: &[Case] = &[
    hosts!(
        "TEST 1: sanity",
        r#"{"foo.com"}"#,
        ["foo.com", "www.foo.com"],
        r#"local opts = {host = "foo.com", matched = {}}
rx:match("/aa/bb", opts)
ngx.say("matched: ", opts.matched._host)"#,
        "metadata /aa\nnil\nmatched: foo.com\n"
    ),
    hosts!(
        "TEST 2: wildcard",
        r#"{"*.foo.com"}"#,
        ["foo.com", ".foo.com", "www.foo.com", "www.bar.foo.com"],
        r#"local opts = {host = "www.foo.com", matched = {}}
rx:match("/aa/bb", opts)
ngx.say("matched: ", opts.matched._host)"#,
        "nil\nmetadata /aa\nmetadata /aa\nmetadata /aa\nmatched: *.foo.com\n"
    ),
    hosts!(
        "TEST 3: mutiple domain",
        r#"{"foo.com", "bar.com"}"#,
        ["foo.com", "bar.com", "ggg.com"],
        "",
        "metadata /aa\nmetadata /aa\nnil\n"
    ),
    hosts!(
        "TEST 4: mutiple domain (wildcard domain)",
        r#"{"foo.com", "*.bar.com"}"#,
        ["foo.com", "bar.com", "www.bar.com", "ggg.com"],
        "",
        "metadata /aa\nnil\nmetadata /aa\nnil\n"
    ),
    hosts!(
        "TEST 5: hosts in string type",
        r#""foo.com""#,
        ["foo.com", "www.foo.com"],
        "",
        "metadata /aa\nnil\n"
    ),
    hosts!(
        "TEST 6: wildcard hosts in string type",
        r#""*.foo.com""#,
        ["foo.com", ".foo.com", "www.foo.com", "www.bar.foo.com"],
        "",
        "nil\nmetadata /aa\nmetadata /aa\nmetadata /aa\n"
    ),
    hosts!(
        "TEST 7: hosts contains uppercase",
        r#"{"foo.cOm"}"#,
        ["foo.com", "www.foo.com"],
        r#"local opts = {host = "foo.com", matched = {}}
rx:match("/aa/bb", opts)
ngx.say("matched: ", opts.matched._host)"#,
        "metadata /aa\nnil\nmatched: foo.com\n"
    ),
    hosts!(
        "TEST 8: opt.host contains uppercase",
        r#"{"foo.com"}"#,
        ["foo.com", "www.foo.com"],
        r#"local opts = {host = "foo.cOm", matched = {}}
rx:match("/aa/bb", opts)
ngx.say("matched: ", opts.matched._host)"#,
        "metadata /aa\nnil\nmatched: foo.com\n"
    ),
];
