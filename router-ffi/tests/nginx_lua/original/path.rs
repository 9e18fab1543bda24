//! `t/path.t`: single and several paths, overlapping prefixes.

use super::{case, Case};

pub const CASES: &[Case] = &[
    case(
        "TEST 1: single path",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({ { paths = "/", metadata = "metadata /" } })
ngx.say(rx:match("/xx"))
ngx.say(rx:match("/"))
"#,
        "nil\nmetadata /\n",
    ),
    case(
        "TEST 2: multiple path",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    { paths = {"/", "/aa", "/bb"}, metadata = "metadata multipe path 1" },
    { paths = {"/cc"}, metadata = "metadata multipe path 2" },
})
for _, p in ipairs({"/", "/aa", "/bb", "/cc", "/dd", "/ee"}) do
    ngx.say(rx:match(p))
end
"#,
        "metadata multipe path 1\nmetadata multipe path 1\nmetadata multipe path 1\n\
         metadata multipe path 2\nnil\nnil\n",
    ),
    // The original also checks that its debug line `pcre pat:` is absent
    // (prefixes need no regex there); this module logs no such line.
    case(
        "TEST 3: multiple path with overlap",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    { paths = {"/equal*"}, metadata = "metadata multipe path 1" },
    { paths = {"/equal123*"}, metadata = "metadata multipe path 2" },
})
for _, p in ipairs({"/equal1", "/equal12", "/equal123", "/equal1234"}) do
    ngx.say(rx:match(p))
end
"#,
        "metadata multipe path 1\nmetadata multipe path 1\nmetadata multipe path 2\n\
         metadata multipe path 2\n",
    )
    .no_log(&["[error]", "pcre pat:"]),
];
