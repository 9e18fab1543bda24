//! `t/parameter.t`: `:name` and `*name` params, opts.matched, trailing `/`,
//! no_param_match, and routes under one prefix whatever their order.

use super::{case, Case};

/// `$paths` as one route `metadata /name`; the lines after are the test's.
macro_rules! param {
    ($name:literal, $paths:literal, $lines:literal, $body:literal) => {
        case(
            $name,
            concat!(
                r#"
local json = require("toolkit.json")
local radix = require("resty.radixtree")
local rx = radix.new({ { paths = {""#,
                $paths,
                r#""}, metadata = "metadata /name" } })
"#,
                $lines
            ),
            $body,
        )
    };
}

/// The original checks its debug line `pcre pat:` here (the regex it built);
/// this module runs no regex for these patterns and logs no such line.
const PCRE_PAT: &str = "the original also checks its own debug log line `pcre pat:`: skipped";

pub const CASES: &[Case] = &[
    param!(
        "TEST 1: /name/*name",
        "/name/*name",
        r#"
local opts = {matched = {}}
local meta = rx:match("/name/json", opts)
ngx.say("match meta: ", meta)
ngx.say("matched: ", json.encode(opts.matched))
meta = rx:match("/name/", opts)
ngx.say("match meta: ", meta)
ngx.say("matched: ", json.encode(opts.matched))
"#,
        "match meta: metadata /name\nmatched: {\"_path\":\"/name/*name\",\"name\":\"json\"}\n\
         match meta: metadata /name\nmatched: {\"_path\":\"/name/*name\",\"name\":\"\"}\n"
    ),
    param!(
        "TEST 2: /name/* in path",
        "/name/*",
        r#"
local opts = {matched = {}}
local meta = rx:match("/name/json/foo/bar", opts)
ngx.say("match meta: ", meta)
ngx.say("matched: ", json.encode(opts.matched))
meta = rx:match("/name/", opts)
ngx.say("match meta: ", meta)
ngx.say("matched: ", json.encode(opts.matched))
"#,
        "match meta: metadata /name\nmatched: {\":ext\":\"json/foo/bar\",\"_path\":\"/name/*\"}\n\
         match meta: metadata /name\nmatched: {\":ext\":\"\",\"_path\":\"/name/*\"}\n"
    ),
    param!(
        "TEST 3: /name/:name/id/:id",
        "/name/:name/id/:id",
        r#"
local opts = {matched = {}}
local meta = rx:match("/name/json/id/1", opts)
ngx.say("match meta: ", meta)
ngx.say("matched: ", json.encode(opts.matched))
opts.matched = {}
meta = rx:match("/name/json/id/", opts)
ngx.say("match meta: ", meta)
ngx.say("matched: ", json.encode(opts.matched))
"#,
        "match meta: metadata /name\n\
         matched: {\"_path\":\"/name/:name/id/:id\",\"id\":\"1\",\"name\":\"json\"}\n\
         match meta: nil\nmatched: []\n"
    ),
    param!(
        "TEST 4: /name/:name/id/:id/*other",
        "/name/:name/id/:id/*other",
        r#"
local opts = {matched = {}}
local meta = rx:match("/name/json/id/1/foo/bar/gloo", opts)
ngx.say("match meta: ", meta)
ngx.say("matched: ", json.encode(opts.matched))
"#,
        "match meta: metadata /name\nmatched: {\"_path\":\"/name/:name/id/:id/*other\",\
         \"id\":\"1\",\"name\":\"json\",\"other\":\"foo/bar/gloo\"}\n"
    ),
    param!(
        "TEST 5: /name/:name/id/:id (not match)",
        "/name/:name/id/:id",
        r#"
local opts = {matched = {}}
local meta = rx:match("/name/json", opts)
ngx.say("match meta: ", meta)
ngx.say("matched: ", json.encode(opts.matched))
"#,
        "match meta: nil\nmatched: []\n"
    ),
    param!(
        "TEST 6: /name/:name/foo (cached parameter)",
        "/name/:name/foo",
        r#"
local opts = {matched = {}}
local meta = rx:match("/name/json/foo", opts)
ngx.say("match meta: ", meta)
ngx.say("matched: ", json.encode(opts.matched))
meta = rx:match("/name/json", opts)
ngx.say("match meta: ", meta)
ngx.say("matched: ", json.encode(opts.matched))
"#,
        "match meta: metadata /name\nmatched: {\"_path\":\"/name/:name/foo\",\"name\":\"json\"}\n\
         match meta: nil\nmatched: []\n"
    ),
    param!(
        "TEST 7: /name/:name/foo (no cached parameter)",
        "/name/:name/foo",
        r#"
local opts = {}
local meta = rx:match("/name/json/foo", opts)
ngx.say("match meta: ", meta)
meta = rx:match("/name/json", opts)
ngx.say("match meta: ", meta)
"#,
        "match meta: metadata /name\nmatch meta: nil\n"
    )
    .differs(PCRE_PAT),
    case(
        "TEST 8: /:name/foo",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({ { paths = {"/:name/foo"}, metadata = "metadata /:name/foo" } })
local opts = {matched = {}}
for _, p in ipairs({"/json/", "/json/bar", "/json/foo", "/json/foo/bar"}) do
    ngx.say("match meta: ", rx:match(p, opts))
end
"#,
        "match meta: nil\nmatch meta: nil\nmatch meta: metadata /:name/foo\nmatch meta: nil\n",
    )
    .differs(PCRE_PAT),
    case(
        "TEST 9: disable param match",
        r#"
local json = require("toolkit.json")
local radix = require("resty.radixtree")
local rx = radix.new({
    { paths = {"/name/:name/id/:id"}, metadata = "metadata /name" },
}, { no_param_match = true })
local opts = {matched = {}}
local meta = rx:match("/name/json/id/1", opts)
ngx.say("match meta: ", meta)
ngx.say("matched: ", json.encode(opts.matched))
local meta = rx:match("/name/:name/id/:id", opts)
ngx.say("match meta: ", meta)
ngx.say("matched: ", json.encode(opts.matched))
"#,
        "match meta: nil\nmatched: []\n\
         match meta: metadata /name\nmatched: {\"_path\":\"/name/:name/id/:id\"}\n",
    ),
    case(
        "TEST 10: /file/:filename (parameter with special symbol)",
        r#"
local json = require("toolkit.json")
local radix = require("resty.radixtree")
local rx = radix.new({ { paths = {"/file/:filename"}, metadata = "metadata /file/:filename" } })
local opts = {matched = {}}
for _, p in ipairs({"/file/123&45@dd:d=test;", "/file/test_a-b+c.lua$", "/file/t!e*s't,(file)"}) do
    local meta = rx:match(p, opts)
    ngx.say("matched: ", json.encode(opts.matched))
    ngx.say("match meta: ", meta)
end
"#,
        "matched: {\"_path\":\"/file/:filename\",\"filename\":\"123&45@dd:d=test;\"}\n\
         match meta: metadata /file/:filename\n\
         matched: {\"_path\":\"/file/:filename\",\"filename\":\"test_a-b+c.lua$\"}\n\
         match meta: metadata /file/:filename\n\
         matched: {\"_path\":\"/file/:filename\",\"filename\":\"t!e*s't,(file)\"}\n\
         match meta: metadata /file/:filename\n",
    ),
    case(
        "TEST 11: no opts option should work fine",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    { paths = {"/user/:user/age/:age"}, metadata = "/user/:user/age/:age" },
    { paths = {"/user/:user"}, metadata = "/user/:user" },
})
ngx.say("match meta: ", rx:match("/user/foo"))
ngx.say("match meta: ", rx:match("/user/foo/age/26"))
"#,
        "match meta: /user/:user\nmatch meta: /user/:user/age/:age\n",
    ),
    param!(
        "TEST 12: /name/:name/ (respect trailing slash)",
        "/name/:name/",
        r#"
local opts = {matched = {}}
local meta = rx:match("/name/json/", opts)
ngx.say("match meta: ", meta)
ngx.say("matched: ", json.encode(opts.matched))
opts.matched = {}
meta = rx:match("/name/json", opts)
ngx.say("match meta: ", meta)
ngx.say("matched: ", json.encode(opts.matched))
"#,
        "match meta: metadata /name\nmatched: {\"_path\":\"/name/:name/\",\"name\":\"json\"}\n\
         match meta: nil\nmatched: []\n"
    ),
    case(
        "TEST 13: route matching for routes with params and common prefix should not be \
         dependent on registration order",
        r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    { paths = {"/api/:version/test/api/projects/:project_id/clusters/:cluster_id/nodes/?"},
      metadata = "long" },
    { paths = {"/api/:version/test/api/projects/:project_id"}, metadata = "medium" },
    { paths = {"/api/:version/test/*subpath"}, metadata = "short" },
})
ngx.say("match meta: ", rx:match("/api/v4/test/api/projects/saas/clusters/123/nodes/"))
ngx.say("match meta: ", rx:match("/api/v4/test/api"))
ngx.say("match meta: ", rx:match("/api/v4/test/api/projects/saas"))
"#,
        "match meta: long\nmatch meta: short\nmatch meta: medium\n",
    ),
];
