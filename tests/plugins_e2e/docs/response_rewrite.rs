//! response-rewrite's documented examples: a new body and headers (with
//! variables) under a `vars` condition on the status, `filters` replacing
//! in the node's body (`global` and `once`, captures), `body_base64`,
//! `headers` `add` / `remove`, and `status_code` with `body` rewriting
//! even the 401 key-auth answered.

use radixgate_test_support::Node;

use super::{get, run, Check, Row};
use crate::harness;

type Headers = &'static [(&'static str, &'static str)];

/// A GET row with these request headers and checks.
const fn row(
    doc: &'static str,
    path: &'static str,
    headers: Headers,
    status: u16,
    checks: &'static [Check],
) -> Row {
    Row {
        headers,
        checks,
        ..get(doc, path, status)
    }
}

fn loopback_addr(v: &str) -> bool {
    v.strip_prefix("127.0.0.1:")
        .is_some_and(|port| port.parse::<u16>().is_ok_and(|p| p > 0))
}

const HEADER_AND_BODY: &str = "Rewrite Header and Body";
const FILTER: &str = "Rewrite Header With RegEx Filter";
const PHASES: &str = "Rewrite Response and Its Connection with Execution Phases";
const NEW_BODY: &str = r#"{"code": 200, "msg": "success"}"#;

const ROWS: &[Row] = &[
    row(
        HEADER_AND_BODY,
        "/headers",
        &[],
        200,
        &[
            Check::Header("X-Server-id", "3"),
            Check::Header("X-Server-status", "on"),
            Check::HeaderIs(
                "X-Server-balancer-addr",
                "the node's 127.0.0.1:port",
                loopback_addr,
            ),
            Check::Body(r#"{"code":"ok","message":"new json body"}"#),
        ],
    ),
    row(
        "vars: the status is not 200, nothing is rewritten",
        "/missing",
        &[],
        404,
        &[
            Check::NoHeader("X-Server-id"),
            Check::BodyHas("path=/missing"),
            Check::BodyLacks("new json body"),
        ],
    ),
    row(
        FILTER,
        "/filters?from=x-amzn-trace-id",
        &[("X-Amzn-Trace-Id", "Root=1-6500095d")],
        200,
        &[
            Check::BodyHas("x-amzn-trace-id-replace: Root=1-6500095d"),
            Check::BodyHas("path=/filters?from=x-amzn-trace-id-replace\n"),
            Check::BodyLacks("x-amzn-trace-id: "),
        ],
    ),
    row(
        "filters: scope once replaces the first match only",
        "/once",
        &[("X-A", "hello"), ("X-B", "hello")],
        200,
        &[Check::BodyHas("x-a: bye\nx-b: hello\n")],
    ),
    row(
        "filters: captures and options",
        "/captures",
        &[("X-Word", "HELLO")],
        200,
        &[
            Check::BodyHas("node=u_node\n"),
            Check::BodyHas("x-word: [HELLO]"),
        ],
    ),
    row(
        "Decode Body from Base64",
        "/get",
        &[],
        200,
        &[Check::Body("Hello World")],
    ),
    row(
        "headers: add and remove",
        "/add-remove",
        &[],
        200,
        &[
            Check::Header("X-Added", "one"),
            Check::NoHeader("X-Upstream"),
            Check::BodyHas("upstream=u"),
        ],
    ),
    row(
        PHASES,
        "/auth",
        &[("apikey", "jack-key")],
        200,
        &[Check::Body(NEW_BODY)],
    ),
    row(PHASES, "/auth", &[], 200, &[Check::Body(NEW_BODY)]),
];

fn config(node: &str) -> String {
    format!(
        r#"upstreams:
  - {{id: u, nodes: {{"{node}": 1}}}}
consumers:
  - {{username: jack}}
  - {{id: jack/credentials/cred-jack-key-auth, plugins: {{key-auth: {{key: jack-key}}}}}}
routes:
  - id: response-rewrite-route
    uris: [/headers, /missing]
    upstream_id: u
    plugins:
      response-rewrite:
        body: "{{\"code\":\"ok\",\"message\":\"new json body\"}}"
        headers:
          set:
            X-Server-id: 3
            X-Server-status: "on"
            X-Server-balancer-addr: "$balancer_ip:$balancer_port"
        vars: [["status", "==", 200]]
  - id: filters
    uri: /filters
    upstream_id: u
    plugins:
      response-rewrite:
        filters: [{{regex: "x-amzn-trace-id", scope: global, replace: "x-amzn-trace-id-replace"}}]
  - {{id: once, uri: /once, upstream_id: u, plugins: {{response-rewrite: {{filters: [{{regex: hello, replace: bye}}]}}}}}}
  - id: captures
    uri: /captures
    upstream_id: u
    plugins:
      response-rewrite:
        filters:
          - {{regex: "upstream=(\\w+)", replace: "node=$1_node"}}
          - {{regex: "x-word: (hello)", replace: "x-word: [$1]", options: "ijo"}}
  - {{id: base64, uri: /get, upstream_id: u, plugins: {{response-rewrite: {{body: "SGVsbG8gV29ybGQ=", body_base64: true}}}}}}
  - id: add-remove
    uri: /add-remove
    upstream_id: u
    plugins:
      response-rewrite: {{headers: {{add: ["X-Added: one"], remove: [X-Upstream]}}}}
  - id: auth
    uri: /auth
    upstream_id: u
    plugins:
      key-auth: {{}}
      response-rewrite: {{status_code: 200, body: "{{\"code\": 200, \"msg\": \"success\"}}"}}
#END
"#
    )
}

#[test]
fn response_rewrite_doc_examples() {
    let up = Node::start("u");
    up.set_status_of("/missing", 404);
    let gw = harness::start_with(&config(&up.addr()), &["response-rewrite", "key-auth"]);
    run(&gw, ROWS);
}
