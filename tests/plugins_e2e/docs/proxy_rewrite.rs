//! proxy-rewrite's documented examples, as the node receives them: `host`,
//! `uri` (with variables and its own query, the client's query appended),
//! `regex_uri` (first matching pair, captures in the path and in header
//! values), `method`, and `headers` `set` / `add` / `remove` and the older
//! flat form; and the consumer's name forwarded after key-auth.

use radixgate_test_support::Node;

use super::{get, run, Check, Row};
use crate::harness;

type Headers = &'static [(&'static str, &'static str)];

/// A GET row with these request headers and checks, answered 200.
const fn ok(
    doc: &'static str,
    path: &'static str,
    headers: Headers,
    checks: &'static [Check],
) -> Row {
    Row {
        headers,
        checks,
        ..get(doc, path, 200)
    }
}

const REGEX: &str = "Rewrite URI Using RegEx";
const PARAMS: &str = "Add URL Parameters";
const CONSUMER: &str = "Forward Consumer Names to Upstream";

const ROWS: &[Row] = &[
    ok(
        "Rewrite Host Header",
        "/headers",
        &[],
        &[
            Check::SentOnly("host", "myapisix.demo"),
            Check::Sent("path", "/headers"),
        ],
    ),
    ok(
        "Rewrite URI And Set Headers",
        "/",
        &[("X-Api-Version", "v2")],
        &[
            Check::Sent("path", "/anything"),
            Check::SentOnly("x-api-version", "v1"),
            Check::SentOnly("x-api-engine", "apisix"),
        ],
    ),
    ok(
        "Rewrite URI And Append Headers",
        "/append",
        &[("X-Api-Version", "v2")],
        &[
            Check::Sent("path", "/headers"),
            Check::Sent("x-api-version", "v1"),
            Check::Sent("x-api-version", "v2"),
            Check::SentOnly("x-api-engine", "apisix"),
        ],
    ),
    ok(
        "Remove Existing Header",
        "/remove",
        &[("User-Agent", "curl/8.2.1"), ("X-Keep", "1")],
        &[Check::NotSent("user-agent"), Check::Sent("x-keep", "1")],
    ),
    ok(
        REGEX,
        "/test/user/agent",
        &[],
        &[Check::Sent("path", "/user-agent")],
    ),
    ok(
        REGEX,
        "/test/user/agent?x=1",
        &[],
        &[Check::Sent("path", "/user-agent?x=1")],
    ),
    ok(
        "regex_uri: the first pair that matches",
        "/multi/a/b",
        &[],
        &[Check::Sent("path", "/first/b")],
    ),
    ok(
        "regex_uri: the second pair when the first does not match",
        "/multi/x/y",
        &[],
        &[Check::Sent("path", "/second-x-y")],
    ),
    ok(
        "regex_uri: captures in header values",
        "/cap/one/two",
        &[],
        &[
            Check::Sent("path", "/two"),
            Check::SentOnly("x-caps", "one-two"),
        ],
    ),
    ok(
        PARAMS,
        "/get",
        &[],
        &[Check::Sent("path", "/get?arg1=apisix&arg2=plugin")],
    ),
    ok(
        PARAMS,
        "/get?mine=1",
        &[],
        &[Check::Sent("path", "/get?arg1=apisix&arg2=plugin&mine=1")],
    ),
    ok(
        "uri with a variable",
        "/var?name=abc",
        &[],
        &[Check::Sent("path", "/backend/abc?name=abc")],
    ),
    ok(
        "Rewrite HTTP Method",
        "/method",
        &[],
        &[
            Check::Sent("method", "POST"),
            Check::Sent("path", "/anything"),
        ],
    ),
    ok(
        "headers: the flat form sets",
        "/flat",
        &[("X-Flat", "client")],
        &[
            Check::SentOnly("x-flat", "1"),
            Check::SentOnly("x-engine", "apisix"),
        ],
    ),
    ok(
        CONSUMER,
        "/consumer",
        &[("apikey", "john-key")],
        &[
            Check::SentOnly("x-apisix-consumer", "JohnDoe"),
            Check::NotSent("apikey"),
        ],
    ),
    get(CONSUMER, "/consumer", 401),
];

fn config(node: &str) -> String {
    format!(
        r#"upstreams:
  - {{id: u, nodes: {{"{node}": 1}}}}
consumers:
  - {{username: JohnDoe}}
  - {{id: JohnDoe/credentials/cred-john-key-auth, plugins: {{key-auth: {{key: john-key}}}}}}
routes:
  - {{id: host, uri: /headers, methods: [GET], upstream_id: u, plugins: {{proxy-rewrite: {{host: myapisix.demo}}}}}}
  - id: set
    uri: /
    upstream_id: u
    plugins:
      proxy-rewrite: {{uri: /anything, headers: {{set: {{X-Api-Version: v1, X-Api-Engine: apisix}}}}}}
  - id: append
    uri: /append
    upstream_id: u
    plugins:
      proxy-rewrite: {{uri: /headers, headers: {{add: {{X-Api-Version: v1, X-Api-Engine: apisix}}}}}}
  - {{id: remove, uri: /remove, upstream_id: u, plugins: {{proxy-rewrite: {{headers: {{remove: [User-Agent]}}}}}}}}
  - {{id: regex, uri: /test/*, upstream_id: u, plugins: {{proxy-rewrite: {{regex_uri: ["^/test/(.*)/(.*)", "/$1-$2"]}}}}}}
  - id: multi
    uri: /multi/*
    upstream_id: u
    plugins:
      proxy-rewrite: {{regex_uri: ["^/multi/a/(.*)", "/first/$1", "^/multi/(.*)/(.*)", "/second-$1-$2"]}}
  - id: cap
    uri: /cap/*
    upstream_id: u
    plugins:
      proxy-rewrite: {{regex_uri: ["^/cap/(.*)/(.*)", "/$2"], headers: {{set: {{X-Caps: "$1-$2"}}}}}}
  - {{id: params, uri: /get, upstream_id: u, plugins: {{proxy-rewrite: {{uri: "/get?arg1=apisix&arg2=plugin"}}}}}}
  - {{id: var, uri: /var, upstream_id: u, plugins: {{proxy-rewrite: {{uri: "/backend/$arg_name"}}}}}}
  - {{id: method, uri: /method, upstream_id: u, plugins: {{proxy-rewrite: {{uri: /anything, method: POST}}}}}}
  - {{id: flat, uri: /flat, upstream_id: u, plugins: {{proxy-rewrite: {{headers: {{X-Flat: 1, X-Engine: apisix}}}}}}}}
  - id: consumer-restricted-route
    uri: /consumer
    upstream_id: u
    plugins:
      key-auth: {{}}
      proxy-rewrite:
        headers:
          set: {{X-Apisix-Consumer: "$consumer_name"}}
          remove: [Apikey]
#END
"#
    )
}

#[test]
fn proxy_rewrite_doc_examples() {
    let up = Node::start("u");
    let gw = harness::start_with(&config(&up.addr()), &["proxy-rewrite", "key-auth"]);
    run(&gw, ROWS);
}
