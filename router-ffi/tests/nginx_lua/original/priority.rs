//! `t/priority.t`: equal priorities keep insertion order; higher first.

use super::{case, Case};

macro_rules! two {
    ($name:literal, $path:literal, $p1:literal, $p2:literal, $req:literal, $body:literal) => {
        case(
            $name,
            concat!(
                r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    { paths = {""#,
                $path,
                r#""}, metadata = "metadata 1", priority = "#,
                $p1,
                r#" },
    { paths = {""#,
                $path,
                r#""}, metadata = "metadata 2", priority = "#,
                $p2,
                r#" },
})
ngx.say(rx:match(""#,
                $req,
                r#""))
"#
            ),
            $body,
        )
    };
}

pub const CASES: &[Case] = &[
    two!(
        "TEST 1: multiple route (same priority)",
        "/aa",
        "nil",
        "nil",
        "/aa",
        "metadata 1\n"
    ),
    two!(
        "TEST 2: multiple route (different priority)",
        "/aa",
        "1",
        "2",
        "/aa",
        "metadata 2\n"
    ),
    two!(
        "TEST 3: multiple route (same priority)",
        "/aa*",
        "nil",
        "nil",
        "/aa/bb",
        "metadata 1\n"
    ),
    two!(
        "TEST 4: multiple route (different priority)",
        "/aa*",
        "nil",
        "1",
        "/aa/bb",
        "metadata 2\n"
    ),
];
