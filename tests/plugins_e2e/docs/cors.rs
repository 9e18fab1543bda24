//! cors' documented examples: `allow_origins` as a list (with
//! `allow_credential`, `expose_headers`, `max_age`), `allow_origins_by_regex`,
//! the defaults, `**` (echo the origin, every method, the requested
//! headers), `timing_allow_origins`, and the preflight `OPTIONS` answered
//! by the gateway without reaching the node.

use radixgate_test_support::Node;

use super::{get, run, Check, Row};
use crate::harness;

type Headers = &'static [(&'static str, &'static str)];

/// A row of `method` with these request headers.
const fn req(
    doc: &'static str,
    method: &'static str,
    path: &'static str,
    headers: Headers,
    checks: &'static [Check],
) -> Row {
    Row {
        method,
        headers,
        checks,
        ..get(doc, path, 200)
    }
}

const FOR_A_ROUTE: &str = "Enable CORS for a Route";
const BY_REGEX: &str = "Use RegEx to Match Origin";

/// Every Access-Control header is absent.
const NO_CORS: [Check; 6] = [
    Check::NoHeader("Access-Control-Allow-Origin"),
    Check::NoHeader("Access-Control-Allow-Methods"),
    Check::NoHeader("Access-Control-Allow-Headers"),
    Check::NoHeader("Access-Control-Expose-Headers"),
    Check::NoHeader("Access-Control-Max-Age"),
    Check::NoHeader("Access-Control-Allow-Credentials"),
];

const ROWS: &[Row] = &[
    req(
        FOR_A_ROUTE,
        "GET",
        "/anything",
        &[("Origin", "http://sub2.domain.com")],
        &[
            Check::Header("Access-Control-Allow-Origin", "http://sub2.domain.com"),
            Check::Header("Access-Control-Allow-Credentials", "true"),
            Check::Header("Vary", "Origin"),
            Check::Header("Access-Control-Allow-Methods", "GET,POST"),
            Check::Header("Access-Control-Max-Age", "50"),
            Check::Header("Access-Control-Expose-Headers", "ex-headr1,ex-headr2"),
            Check::Header("Access-Control-Allow-Headers", "headr1,headr2"),
            Check::Sent("path", "/anything"),
        ],
    ),
    req(
        FOR_A_ROUTE,
        "GET",
        "/anything",
        &[("Origin", "http://sub3.domain.com")],
        &[
            NO_CORS[0],
            NO_CORS[1],
            NO_CORS[2],
            NO_CORS[3],
            NO_CORS[4],
            NO_CORS[5],
            Check::Header("Vary", "Origin"),
        ],
    ),
    req(
        "preflight: answered by the gateway",
        "OPTIONS",
        "/anything",
        &[
            ("Origin", "http://sub.domain.com"),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "headr1"),
        ],
        &[
            Check::Header("Access-Control-Allow-Origin", "http://sub.domain.com"),
            Check::Header("Access-Control-Allow-Methods", "GET,POST"),
            Check::Header("Access-Control-Allow-Headers", "headr1,headr2"),
            Check::Header("Access-Control-Max-Age", "50"),
            Check::Header("Access-Control-Allow-Credentials", "true"),
            Check::Body(""),
        ],
    ),
    req(
        "preflight from an origin not allowed",
        "OPTIONS",
        "/anything",
        &[
            ("Origin", "http://evil.com"),
            ("Access-Control-Request-Method", "POST"),
        ],
        &[
            Check::NoHeader("Access-Control-Allow-Origin"),
            Check::NoHeader("Access-Control-Allow-Methods"),
        ],
    ),
    req(
        BY_REGEX,
        "GET",
        "/regex",
        &[("Origin", "http://a.test.com")],
        &[
            Check::Header("Access-Control-Allow-Origin", "http://a.test.com"),
            Check::Header("Vary", "Origin"),
            Check::Header("Access-Control-Allow-Methods", "GET,POST"),
            Check::Header("Access-Control-Max-Age", "50"),
            Check::Header("Access-Control-Expose-Headers", "ex-headr1,ex-headr2"),
            Check::Header("Access-Control-Allow-Headers", "headr1,headr2"),
            Check::NoHeader("Access-Control-Allow-Credentials"),
        ],
    ),
    req(
        BY_REGEX,
        "GET",
        "/regex",
        &[("Origin", "http://a.test2.com")],
        &[
            NO_CORS[0],
            NO_CORS[1],
            NO_CORS[2],
            NO_CORS[3],
            NO_CORS[4],
            Check::Header("Vary", "Origin"),
        ],
    ),
    req(
        "the defaults: any origin, no Vary",
        "GET",
        "/default",
        &[("Origin", "http://any.org")],
        &[
            Check::Header("Access-Control-Allow-Origin", "*"),
            Check::Header("Access-Control-Allow-Methods", "*"),
            Check::Header("Access-Control-Allow-Headers", "*"),
            Check::Header("Access-Control-Max-Age", "5"),
            Check::NoHeader("Access-Control-Expose-Headers"),
            Check::NoHeader("Access-Control-Allow-Credentials"),
            Check::NoHeader("Vary"),
        ],
    ),
    req(
        "** with allow_credential: the origin and requested headers echoed",
        "OPTIONS",
        "/star",
        &[
            ("Origin", "http://sub.domain.com"),
            ("Access-Control-Request-Method", "DELETE"),
            ("Access-Control-Request-Headers", "x-one,x-two"),
        ],
        &[
            Check::Header("Access-Control-Allow-Origin", "http://sub.domain.com"),
            Check::Header(
                "Access-Control-Allow-Methods",
                "GET,POST,PUT,DELETE,PATCH,HEAD,OPTIONS,CONNECT,TRACE",
            ),
            Check::Header("Access-Control-Allow-Headers", "x-one,x-two"),
            Check::Header("Access-Control-Allow-Credentials", "true"),
            Check::Header("Access-Control-Max-Age", "3500"),
        ],
    ),
    req(
        "timing_allow_origins",
        "GET",
        "/timing",
        &[("Origin", "http://sub.domain.com")],
        &[
            Check::Header("Access-Control-Allow-Origin", "http://sub.domain.com"),
            Check::Header("Timing-Allow-Origin", "http://sub.domain.com"),
        ],
    ),
    req(
        "timing_allow_origins: another origin",
        "GET",
        "/timing",
        &[("Origin", "http://other.domain.com")],
        &[
            Check::Header("Access-Control-Allow-Origin", "http://other.domain.com"),
            Check::NoHeader("Timing-Allow-Origin"),
        ],
    ),
];

fn config(node: &str) -> String {
    format!(
        r#"upstreams:
  - {{id: u, nodes: {{"{node}": 1}}}}
routes:
  - id: cors-route
    uri: /anything
    upstream_id: u
    plugins:
      cors:
        allow_origins: "http://sub.domain.com,http://sub2.domain.com"
        allow_methods: "GET,POST"
        allow_headers: "headr1,headr2"
        expose_headers: "ex-headr1,ex-headr2"
        max_age: 50
        allow_credential: true
  - id: regex
    uri: /regex
    upstream_id: u
    plugins:
      cors:
        allow_methods: "GET,POST"
        allow_headers: "headr1,headr2"
        expose_headers: "ex-headr1,ex-headr2"
        max_age: 50
        allow_origins_by_regex: [ ".*\\.test.com$" ]
  - {{id: default, uri: /default, upstream_id: u, plugins: {{cors: {{}}}}}}
  - id: star
    uri: /star
    upstream_id: u
    plugins:
      cors: {{allow_origins: "**", allow_methods: "**", allow_headers: "**", allow_credential: true, max_age: 3500}}
  - id: timing
    uri: /timing
    upstream_id: u
    plugins:
      cors: {{allow_origins: "**", timing_allow_origins: "http://sub.domain.com"}}
#END
"#
    )
}

#[test]
fn cors_doc_examples() {
    let up = Node::start("u");
    let gw = harness::start_with(&config(&up.addr()), &["cors"]);
    run(&gw, ROWS);
    // The node saw the seven GETs, never a preflight.
    assert_eq!(up.hits(), 7, "a preflight reached the node");
}
